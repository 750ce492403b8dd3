//! The separator between the editor and the panels: drag it, or focus it and use the arrow
//! keys (Home/End for the extremes). It reports the editor's share of the width.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

use crate::state::doc::{SPLIT_DEFAULT, SPLIT_MAX, SPLIT_MIN};

/// Percent moved by one arrow key press.
const STEP: u8 = 2;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    /// The editor's share of the width, in percent.
    pub split: u8,
    pub on_change: Callback<u8>,
}

/// A `role="separator"` that can be dragged and moved with the keyboard.
#[component]
pub fn Splitter(props: &Props) -> Html {
    let dragging = use_mut_ref(|| false);
    let onkeydown = {
        let (split, on_change) = (props.split, props.on_change.clone());
        Callback::from(move |e: KeyboardEvent| {
            let next = match e.key().as_str() {
                "ArrowLeft" | "ArrowDown" => split.saturating_sub(STEP),
                "ArrowRight" | "ArrowUp" => split.saturating_add(STEP),
                "Home" => SPLIT_MIN,
                "End" => SPLIT_MAX,
                "Enter" => SPLIT_DEFAULT,
                _ => return,
            };
            e.prevent_default();
            on_change.emit(next.clamp(SPLIT_MIN, SPLIT_MAX));
        })
    };
    let onpointerdown = {
        let dragging = dragging.clone();
        Callback::from(move |e: PointerEvent| {
            if let Some(el) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) {
                let _ = el.set_pointer_capture(e.pointer_id());
            }
            *dragging.borrow_mut() = true;
        })
    };
    let onpointermove = {
        let (dragging, split, on_change) = (dragging.clone(), props.split, props.on_change.clone());
        Callback::from(move |e: PointerEvent| {
            if !*dragging.borrow() {
                return;
            }
            let Some(container) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlElement>().ok())
                .and_then(|el| el.parent_element())
            else {
                return;
            };
            let rect = container.get_bounding_client_rect();
            if rect.width() <= 0.0 {
                return;
            }
            let percent = ((f64::from(e.client_x()) - rect.left()) / rect.width() * 100.0).round();
            let percent = percent.clamp(f64::from(SPLIT_MIN), f64::from(SPLIT_MAX)) as u8;
            if percent != split {
                on_change.emit(percent);
            }
        })
    };
    let onpointerup = {
        let dragging = dragging.clone();
        Callback::from(move |_: PointerEvent| *dragging.borrow_mut() = false)
    };
    html! {
        <div
            id="splitter"
            class="splitter"
            role="separator"
            aria-orientation="vertical"
            aria-label="Resize the editor (arrow keys)"
            aria-controls="editor-pane"
            aria-valuemin={SPLIT_MIN.to_string()}
            aria-valuemax={SPLIT_MAX.to_string()}
            aria-valuenow={props.split.to_string()}
            tabindex="0"
            {onkeydown}
            {onpointerdown}
            {onpointermove}
            onpointerup={onpointerup.clone()}
            onpointercancel={onpointerup}
        />
    }
}
