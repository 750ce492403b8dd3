//! A value with its badge: `10.96.0.12 [allocated]`, the badge's tooltip saying who filled
//! it in.

use yew::prelude::*;

use crate::view_model::origin::Valued;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub value: Valued,
}

/// The value's text, then its badge if it was not written in the input.
#[component]
pub fn ValuedText(props: &Props) -> Html {
    let v = &props.value;
    html! {
        <span class="valued">
            { &v.text }
            if let Some(b) = &v.badge {
                { " " }
                <span class={classes!("badge", b.class)} title={b.tooltip.clone()} tabindex="0"
                      aria-label={format!("{}: {}", b.label, b.tooltip)}>
                    { b.label }
                </span>
            }
        </span>
    }
}
