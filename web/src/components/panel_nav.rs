//! Buttons that move focus to each result panel (the panels are stacked; on a projector
//! they are far apart).

use yew::prelude::*;

use crate::browser;

/// `(heading id, label)` of every panel, in page order.
pub const PANELS: [(&str, &str); 5] = [
    ("panel-cluster-title", "Cluster"),
    ("panel-endpoints-title", "Endpoints"),
    ("panel-rules-title", "Rules"),
    ("panel-trace-title", "Trace"),
    ("panel-cluster-trace-title", "Cluster trace"),
];

/// The panel buttons.
#[component]
pub fn PanelNav() -> Html {
    html! {
        <nav class="panel-nav" aria-label="Panels">
            { for PANELS.iter().map(|(id, label)| {
                let onclick = Callback::from(move |_: MouseEvent| browser::focus_id(id));
                html! { <button type="button" class="nav-link" {onclick}>{ *label }</button> }
            }) }
        </nav>
    }
}
