//! Diagnostics about the editor's text: each located (`line L, column C: message`), with its
//! object, field and hint. A located one is a button that puts the caret at its place; notes
//! (how the input was read) are folded away below the problems.

use std::rc::Rc;

use kpsim::diagnostic::Severity;
use yew::prelude::*;

use crate::browser;
use crate::view_model::diagnostics::{DiagnosticRow, DiagnosticsView};
use crate::view_model::editor::caret_offset;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub view: Rc<DiagnosticsView>,
    pub text: AttrValue,
}

/// The problems, then the notes.
#[component]
pub fn DiagnosticList(props: &Props) -> Html {
    let v = &props.view;
    let summary = match (v.errors, v.warnings) {
        (0, 0) => "No problems found.".to_owned(),
        (e, w) => format!("{e} error{}, {w} warning{}", plural(e), plural(w)),
    };
    html! {
        <section class="diagnostics-pane" aria-label="Problems">
            <p id="diagnostics-summary" class={classes!("summary", (v.errors > 0).then_some("has-errors"))} role="status">
                { summary }
            </p>
            if !v.problems.is_empty() {
                <ul id="diagnostics" class="diagnostics">
                    { for v.problems.iter().map(|row| item(row, &props.text)) }
                </ul>
            }
            if !v.notes.is_empty() {
                <details class="notes">
                    <summary>{ format!("{} note{} on how the input was read", v.notes.len(), plural(v.notes.len())) }</summary>
                    <ul class="diagnostics">
                        { for v.notes.iter().map(|row| item(row, &props.text)) }
                    </ul>
                </details>
            }
        </section>
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn item(row: &DiagnosticRow, text: &AttrValue) -> Html {
    let headline = if row.is_located() {
        let (line, column) = (row.line, row.column);
        let text = text.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            browser::focus_editor_at(caret_offset(&text, line, column), line);
        });
        html! {
            <button type="button" class="headline jump" {onclick} title="Put the caret here">
                { row.headline() }
            </button>
        }
    } else {
        html! { <span class="headline">{ row.headline() }</span> }
    };
    html! {
        <li class={classes!("diagnostic", severity_class(row.severity))}>
            <span class="severity">{ row.severity.to_string() }</span>
            { " " }
            { headline }
            if !row.context.is_empty() {
                <div class="context">{ &row.context }</div>
            }
            if !row.hint.is_empty() {
                <div class="hint">{ format!("hint: {}", row.hint) }</div>
            }
        </li>
    }
}

pub fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}
