//! Diagnostics about the editor's text: each located (`line L, column C: message`), with its
//! object, field and hint.

use kpsim::diagnostic::Severity;
use yew::prelude::*;

use crate::view_model::DiagnosticRow;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub rows: Vec<DiagnosticRow>,
}

/// The list of diagnostics; nothing when there are none.
#[component]
pub fn DiagnosticList(props: &Props) -> Html {
    if props.rows.is_empty() {
        return html! {};
    }
    html! {
        <ul id="diagnostics" class="diagnostics" role="status">
            { for props.rows.iter().map(|row| html! {
                <li class={classes!("diagnostic", severity_class(row.severity))}>
                    <span class="severity">{ row.severity.to_string() }</span>
                    { " " }
                    <span class="headline">{ row.headline() }</span>
                    if !row.context.is_empty() {
                        <div class="context">{ &row.context }</div>
                    }
                    if !row.hint.is_empty() {
                        <div class="hint">{ format!("hint: {}", row.hint) }</div>
                    }
                </li>
            }) }
        </ul>
    }
}

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}
