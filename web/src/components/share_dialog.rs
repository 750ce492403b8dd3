//! The share dialog: the link that carries the whole page, ready to copy. The link is also
//! in the address bar until the document changes.

use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser;
use crate::components::modal::Modal;
use crate::state::Action;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    /// The link, while the dialog is open.
    pub url: Option<AttrValue>,
    pub dispatch: Callback<Action>,
}

/// The dialog with the link and a Copy button.
#[component]
pub fn ShareDialog(props: &Props) -> Html {
    let url = props.url.clone().unwrap_or_default();
    let on_close = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |()| dispatch.emit(Action::CloseShare))
    };
    let copy = {
        let url = url.clone();
        Callback::from(move |_: MouseEvent| browser::copy_text(&url))
    };
    let select_all = Callback::from(|e: FocusEvent| {
        if let Some(input) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
            input.select();
        }
    });
    let kib = url.len() as f64 / 1024.0;
    html! {
        <Modal id="share-dialog" title="Share this page" open={props.url.is_some()} {on_close}>
            <p class="modal-lead">
                { "The link holds everything on the page — the text, your selections and experiments — compressed into its #fragment. Browsers do not send the fragment to any server." }
            </p>
            <div class="share-row">
                <input id="share-url" type="text" readonly=true value={url.clone()} onfocus={select_all}
                       aria-label="Share link" />
                <button id="copy-link" type="button" onclick={copy}>{ "Copy" }</button>
            </div>
            <p class="muted">{ format!("{kib:.1} KiB") }</p>
        </Modal>
    }
}
