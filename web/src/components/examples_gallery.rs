//! The examples gallery: every example with its title and what to try; opening one replaces
//! the text (the notice offers the previous text back).

use yew::prelude::*;

use crate::components::modal::Modal;
use crate::examples;
use crate::state::Action;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub open: bool,
    /// The example the text came from, if any.
    pub current: Option<AttrValue>,
    pub dispatch: Callback<Action>,
}

/// The gallery dialog.
#[component]
pub fn ExamplesGallery(props: &Props) -> Html {
    let on_close = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |()| dispatch.emit(Action::ShowExamples(false)))
    };
    html! {
        <Modal id="examples" title="Examples" open={props.open} {on_close}>
            <p class="modal-lead">{ "Each opens in the editor (your text can be brought back). Then try what it suggests." }</p>
            <ul class="gallery">
                { for examples::ALL.iter().map(|example| {
                    let dispatch = props.dispatch.clone();
                    let id = example.id;
                    let onclick = Callback::from(move |_: MouseEvent| dispatch.emit(Action::OpenExample(id)));
                    let current = props.current.as_deref() == Some(id);
                    html! {
                        <li class={classes!("example", current.then_some("current"))}>
                            <h3>{ example.title }</h3>
                            <p class="try">{ example.try_this }</p>
                            <button type="button" class="open-example" data-example={id} {onclick}>
                                { if current { "Open again" } else { "Open" } }
                            </button>
                        </li>
                    }
                }) }
            </ul>
        </Modal>
    }
}
