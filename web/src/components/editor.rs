//! The YAML editor: a plain textarea; every input event sends the whole text up.

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    /// The text to show.
    pub text: AttrValue,
    /// Called with the full text after every change.
    pub on_edit: Callback<String>,
}

/// Where the user pastes or types Kubernetes YAML.
#[component]
pub fn Editor(props: &Props) -> Html {
    let oninput = {
        let on_edit = props.on_edit.clone();
        Callback::from(move |e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            on_edit.emit(area.value());
        })
    };
    html! {
        <section class="panel editor">
            <label for="manifest-editor">{ "Kubernetes YAML" }</label>
            <textarea
                id="manifest-editor"
                value={props.text.clone()}
                {oninput}
                spellcheck="false"
                autocomplete="off"
                autocapitalize="off"
                wrap="off"
            />
        </section>
    }
}
