//! The YAML editor: a `<textarea>` (which owns the text, the caret, undo, selection and
//! accessibility) over a highlighted `<pre>` with exactly the same font metrics, scrolled
//! together with it, beside a gutter of line numbers with diagnostic markers.
//!
//! Only the lines on screen (plus a margin) are highlighted, so a 10,000-line paste costs
//! what a screenful does; the rest of the layer is empty lines of the same height. Tab and
//! Shift-Tab indent; Escape then Tab leaves the editor (keyboard users are never trapped).
//! User text only ever reaches the DOM as text nodes.

use std::ops::Range;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlDocument, HtmlElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::browser;
use crate::view_model::editor::{EditorView, IndentEdit, indent_edit, line_column, visible_lines};
use kpsim::diagnostic::Severity;

/// The textarea's id (tests and the diagnostics list find it by this).
pub const TEXTAREA_ID: &str = "manifest-editor";

/// Lines drawn above and below the visible ones.
const MARGIN: usize = 40;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub text: AttrValue,
    /// The text highlighted, with its diagnostics (memoised per text by the parent).
    pub view: Rc<EditorView>,
    /// Called with the full text after every change.
    pub on_edit: Callback<String>,
}

/// Where the user pastes or types Kubernetes YAML.
#[component]
pub fn Editor(props: &Props) -> Html {
    let pre = use_node_ref();
    let gutter = use_node_ref();
    let window = use_state(|| 0..(2 * MARGIN + 60));
    let caret = use_state(|| (1usize, 1usize));
    let escaped = use_mut_ref(|| false);
    let total = props.view.lines.len();

    let onscroll = {
        let (pre, gutter, window) = (pre.clone(), gutter.clone(), window.clone());
        Callback::from(move |e: Event| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            if let Some(p) = pre.cast::<HtmlElement>() {
                p.set_scroll_top(area.scroll_top());
                p.set_scroll_left(area.scroll_left());
            }
            if let Some(g) = gutter.cast::<HtmlElement>() {
                g.set_scroll_top(area.scroll_top());
            }
            let line = browser::line_height(&area);
            let top = f64::from(area.scroll_top());
            let height = f64::from(area.client_height());
            let seen = visible_lines(total, top, height, line, 0);
            if seen.start < window.start || seen.end > window.end {
                window.set(visible_lines(total, top, height, line, MARGIN));
            }
        })
    };
    let oninput = {
        let on_edit = props.on_edit.clone();
        Callback::from(move |e: InputEvent| {
            let area: HtmlTextAreaElement = e.target_unchecked_into();
            on_edit.emit(area.value());
        })
    };
    let onkeydown = {
        let (escaped, on_edit) = (escaped.clone(), props.on_edit.clone());
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Escape" => *escaped.borrow_mut() = true,
            "Tab" if e.ctrl_key() || e.alt_key() || e.meta_key() => {}
            "Tab" => {
                if std::mem::take(&mut *escaped.borrow_mut()) {
                    return; // leave the editor: the browser moves focus on
                }
                e.prevent_default();
                let area: HtmlTextAreaElement = e.target_unchecked_into();
                let start = area.selection_start().ok().flatten().unwrap_or(0);
                let end = area.selection_end().ok().flatten().unwrap_or(start);
                if let Some(edit) = indent_edit(&area.value(), start, end, e.shift_key()) {
                    apply(&area, &edit, &on_edit);
                }
            }
            "Shift" | "Control" | "Alt" | "Meta" => {}
            _ => *escaped.borrow_mut() = false,
        })
    };
    let track_caret = {
        let caret = caret.clone();
        move |area: HtmlTextAreaElement| {
            let offset = area.selection_start().ok().flatten().unwrap_or(0);
            let at = line_column(&area.value(), offset);
            if *caret != at {
                caret.set(at);
            }
        }
    };
    let onkeyup = {
        let track = track_caret.clone();
        Callback::from(move |e: KeyboardEvent| track(e.target_unchecked_into()))
    };
    let onclick = {
        let track = track_caret.clone();
        Callback::from(move |e: MouseEvent| track(e.target_unchecked_into()))
    };
    let onfocus = {
        let escaped = escaped.clone();
        Callback::from(move |e: FocusEvent| {
            *escaped.borrow_mut() = false;
            track_caret(e.target_unchecked_into());
        })
    };

    // Never empty (a text has at least one line), whatever the window was for an older text.
    let start = window.start.min(total.saturating_sub(1));
    let drawn = start..window.end.min(total).max(start + 1).min(total);
    let digits = total.max(1).to_string().len().clamp(2, 7);
    let (line, column) = *caret;
    let here = props.view.messages(line.saturating_sub(1));
    html! {
        <div class="editor">
            <label for={TEXTAREA_ID} class="editor-label">{ "Kubernetes YAML" }</label>
            <div class="code">
                <div class={classes!("gutter", format!("digits-{digits}"))} ref={gutter} aria-hidden="true">
                    { gutter_lines(&props.view, drawn.clone(), total) }
                </div>
                <div class="code-area">
                    <pre class="highlight" ref={pre} aria-hidden="true">
                        { highlight_lines(&props.text, &props.view, drawn, total) }
                    </pre>
                    <textarea
                        id={TEXTAREA_ID}
                        value={props.text.clone()}
                        {oninput}
                        {onscroll}
                        {onkeydown}
                        {onkeyup}
                        {onclick}
                        {onfocus}
                        spellcheck="false"
                        autocomplete="off"
                        autocapitalize="off"
                        wrap="off"
                        aria-describedby="editor-status editor-keys"
                    />
                </div>
            </div>
            <div class="editor-status">
                <span id="editor-status" class="position" aria-live="polite">
                    { format!("Line {line}, column {column}") }
                    if !here.is_empty() {
                        <span class="here">{ format!(" — {}", here.lines().next().unwrap_or_default()) }</span>
                    }
                </span>
                <span id="editor-keys" class="keys">
                    { "Tab indents, Shift-Tab outdents; press Esc then Tab to leave the editor." }
                </span>
            </div>
        </div>
    }
}

/// Replaces a range as typing would (keeps the browser's undo history when it can), then
/// selects the result.
fn apply(area: &HtmlTextAreaElement, edit: &IndentEdit, on_edit: &Callback<String>) {
    let _ = area.set_selection_range(edit.start, edit.end);
    let typed = area
        .owner_document()
        .and_then(|d| d.dyn_into::<HtmlDocument>().ok())
        .and_then(|d| {
            d.exec_command_with_show_ui_and_value("insertText", false, &edit.replacement).ok()
        })
        .unwrap_or(false);
    if !typed {
        let _ = area.set_range_text_with_start_and_end(&edit.replacement, edit.start, edit.end);
        on_edit.emit(area.value());
    }
    let _ = area.set_selection_range(edit.select.0, edit.select.1);
}

/// The highlight layer: empty lines outside `drawn`, highlighted lines inside, then a last
/// line as wide as the longest (so the layer scrolls as far as the textarea).
fn highlight_lines(text: &str, view: &EditorView, drawn: Range<usize>, total: usize) -> Html {
    let before = "\n".repeat(drawn.start);
    // Lines after the window, each but the last followed by a newline.
    let after = "\n".repeat(total.saturating_sub(1).saturating_sub(drawn.end));
    let lines = drawn.map(|i| {
        let spans = view.spans(text, i);
        let newline = if i + 1 < total { "\n" } else { "" };
        html! {
            <>
                { for spans.into_iter().map(|s| {
                    let flag = s.flagged.map(|sev| match sev {
                        Severity::Error => "flag-error",
                        Severity::Warning => "flag-warning",
                        Severity::Info => "flag-info",
                    });
                    let class = s.kind.class();
                    if class.is_empty() && flag.is_none() {
                        html! { { s.text } }
                    } else {
                        html! { <span class={classes!(class, flag)}>{ s.text }</span> }
                    }
                }) }
                { newline }
            </>
        }
    });
    let widest = " ".repeat(view.longest + 1);
    html! {
        <>
            { before }
            { for lines }
            { after }
            { widest }
        </>
    }
}

/// Line numbers for `drawn`, each marked with its worst diagnostic (message on hover).
fn gutter_lines(view: &EditorView, drawn: Range<usize>, total: usize) -> Html {
    let before = "\n".repeat(drawn.start);
    let after = "\n".repeat(total.saturating_sub(1).saturating_sub(drawn.end));
    let lines = drawn.map(|i| {
        let worst = view.worst(i).map(|s| match s {
            Severity::Error => "mark-error",
            Severity::Warning => "mark-warning",
            Severity::Info => "mark-info",
        });
        let newline = if i + 1 < total { "\n" } else { "" };
        match worst {
            Some(class) => html! {
                <><span class={classes!("ln", class)} title={view.messages(i)}>{ i + 1 }</span>{ newline }</>
            },
            None => html! { <>{ i + 1 }{ newline }</> },
        }
    });
    // A last empty line like the highlight layer's, so both scroll as far.
    html! { <>{ before }{ for lines }{ after }{ "\n " }</> }
}
