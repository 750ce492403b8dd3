//! The page's only contact with the browser beyond the DOM Yew manages: localStorage, the
//! URL fragment, the clipboard, downloads, the theme attributes, the panic hook, and moving
//! the editor's caret.
//!
//! Every function here is a thin, failure-tolerant wrapper (a browser without storage or
//! clipboard still runs the page); decisions live in `state` and `view_model`, which are
//! tested natively. Nothing here sends anything anywhere: the page makes no request.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlElement, HtmlTextAreaElement, Storage};

/// localStorage keys. Versioned like share links, so a later format can read old work.
const DOC_KEY: &str = "kpsim.v1.doc";
const COMPUTING_KEY: &str = "kpsim.v1.computing";
const BEFORE_LINK_KEY: &str = "kpsim.v1.before-link";

fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

fn root() -> Option<HtmlElement> {
    document()?.document_element()?.dyn_into::<HtmlElement>().ok()
}

/// The autosaved document (JSON), if any.
pub fn saved_doc() -> Option<String> {
    storage()?.get_item(DOC_KEY).ok().flatten()
}

/// Saves the document (JSON); the error says why the browser refused (quota, private mode).
pub fn save_doc(json: &str) -> Result<(), String> {
    let storage = storage().ok_or("this browser offers no localStorage")?;
    storage.set_item(DOC_KEY, json).map_err(|e| describe(&e))
}

/// Keeps the work a share link replaced, so it survives even if the page is closed.
pub fn save_before_link(json: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(BEFORE_LINK_KEY, json);
    }
}

/// Marks (or clears) "the page is computing": a mark left behind means the last session
/// stopped while computing, and the next one opens with its panels paused.
pub fn set_computing(on: bool) {
    if let Some(s) = storage() {
        let _ = if on { s.set_item(COMPUTING_KEY, "1") } else { s.remove_item(COMPUTING_KEY) };
    }
}

/// True when the last session stopped while computing.
pub fn was_computing() -> bool {
    storage().and_then(|s| s.get_item(COMPUTING_KEY).ok().flatten()).is_some()
}

/// The URL fragment without `#`.
pub fn fragment() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .map(|h| h.trim_start_matches('#').to_owned())
        .unwrap_or_default()
}

/// The page's URL with `fragment` (none when empty), without reloading or adding history.
pub fn replace_fragment(fragment: &str) -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let base = format!("{}{}", location.pathname().ok()?, location.search().ok()?);
    let url = if fragment.is_empty() { base } else { format!("{base}#{fragment}") };
    window.history().ok()?.replace_state_with_url(&JsValue::NULL, "", Some(&url)).ok()?;
    window.location().href().ok()
}

/// Puts `text` on the clipboard (silently does nothing where the clipboard is unavailable).
pub fn copy_text(text: &str) {
    let Some(window) = web_sys::window() else { return };
    let promise = window.navigator().clipboard().write_text(text);
    // A refused clipboard is not an error of the page: swallow the rejection.
    let ignore = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
    let _ = promise.catch(&ignore);
    ignore.forget();
}

/// Offers `text` as a file download (a Blob URL and an `<a download>`; no request leaves
/// the page).
pub fn download(file_name: &str, text: &str) -> Result<(), String> {
    let document = document().ok_or("no document")?;
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| describe(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| describe(&e))?;
    let anchor = document
        .create_element("a")
        .map_err(|e| describe(&e))?
        .dyn_into::<web_sys::HtmlAnchorElement>()
        .map_err(|_| "not an anchor")?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Applies the theme (`data-theme` on `<html>`; none follows the system) and the
/// presentation size (a class on `<html>`).
pub fn apply_looks(theme: Option<&str>, presentation: bool) {
    let Some(root) = root() else { return };
    let _ = match theme {
        Some(t) => root.set_attribute("data-theme", t),
        None => root.remove_attribute("data-theme"),
    };
    let _ = root.class_list().toggle_with_force("presentation", presentation);
}

/// Sets the editor's share of the width (`--split` on `<html>`, through the CSSOM: the CSP
/// forbids inline style attributes, not style properties set by script).
pub fn apply_split(percent: u8) {
    if let Some(root) = root() {
        let _ = root.style().set_property("--split", &format!("{percent}%"));
    }
}

/// Moves the editor's caret to `offset` (UTF-16 units), scrolls it into view and focuses it.
pub fn focus_editor_at(offset: u32, line: usize) {
    let Some(area) = document()
        .and_then(|d| d.get_element_by_id(crate::components::editor::TEXTAREA_ID))
        .and_then(|e| e.dyn_into::<HtmlTextAreaElement>().ok())
    else {
        return;
    };
    // Caret first, then focus: the editor reads the caret's line and column on focus.
    let _ = area.set_selection_range(offset, offset);
    let _ = area.focus();
    let line_height = line_height(&area);
    let top = (line.saturating_sub(1) as f64) * line_height;
    let visible = f64::from(area.client_height());
    if top < f64::from(area.scroll_top())
        || top + line_height > f64::from(area.scroll_top()) + visible
    {
        area.set_scroll_top((top - visible / 3.0).max(0.0) as i32);
    }
}

/// The textarea's line height in pixels (from its computed style; 20 if unknown).
pub fn line_height(area: &HtmlTextAreaElement) -> f64 {
    web_sys::window()
        .and_then(|w| w.get_computed_style(area).ok().flatten())
        .and_then(|s| s.get_property_value("line-height").ok())
        .and_then(|v| v.trim_end_matches("px").parse::<f64>().ok())
        .filter(|h| *h > 0.0)
        .unwrap_or(20.0)
}

/// Moves keyboard focus to the element with `id` and scrolls to it.
pub fn focus_id(id: &str) {
    if let Some(el) = document()
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    {
        let _ = el.focus();
        el.scroll_into_view();
    }
}

/// Moves keyboard focus to the first element matching `selector` and scrolls to it; whether
/// there was one.
pub fn focus_selector(selector: &str) -> bool {
    match document()
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    {
        Some(el) => {
            // Centred: the results bar sticks to the top and would hide an element put there.
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            let _ = el.focus();
            el.scroll_into_view_with_scroll_into_view_options(&options);
            true
        }
        None => false,
    }
}

/// Makes a Rust panic visible: the message goes to the console and to
/// `data-kpsim-panic` on `<html>`, where `boot.js` shows it in its error banner. (The
/// release build aborts after the hook: the module traps, and `boot.js` catches that.)
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&JsValue::from_str(&format!("kpsim panicked: {message}")));
        if let Some(root) = root() {
            let _ = root.set_attribute("data-kpsim-panic", &message);
        }
    }));
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
