//! A native `<dialog>` shown modally while `open` is true: the browser traps focus inside it,
//! Escape closes it (reported through `on_close`), and focus returns where it was.

use wasm_bindgen::JsCast;
use web_sys::HtmlDialogElement;
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub id: AttrValue,
    pub title: AttrValue,
    pub open: bool,
    pub on_close: Callback<()>,
    pub children: Html,
}

/// The dialog and its heading; the content comes from `children`.
#[component]
pub fn Modal(props: &Props) -> Html {
    let dialog = use_node_ref();
    {
        let dialog = dialog.clone();
        use_effect_with(props.open, move |open| {
            if let Some(d) = dialog.get().and_then(|d| d.dyn_into::<HtmlDialogElement>().ok()) {
                if *open && !d.open() {
                    let _ = d.show_modal();
                } else if !*open && d.open() {
                    d.close();
                }
            }
        });
    }
    let onclose = {
        let on_close = props.on_close.clone();
        Callback::from(move |_: Event| on_close.emit(()))
    };
    let close = {
        let on_close = props.on_close.clone();
        Callback::from(move |_: MouseEvent| on_close.emit(()))
    };
    let heading = format!("{}-title", props.id);
    html! {
        <dialog id={props.id.clone()} class="modal" ref={dialog} {onclose}
                aria-labelledby={heading.clone()}>
            <div class="modal-head">
                <h2 id={heading}>{ &props.title }</h2>
                <button type="button" class="close" onclick={close} aria-label="Close">{ "×" }</button>
            </div>
            { props.children.clone() }
        </dialog>
    }
}
