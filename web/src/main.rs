//! The kpsim playground: a Yew app, compiled to WASM by Trunk, that runs the `kpsim` core in
//! the browser.
//!
//! Responsible for mounting the app. Not responsible for anything kube-proxy does: every
//! answer comes from the core ([`computed`] runs it, memoised per text); this crate turns core
//! values into rows ([`view_model`]) and rows into HTML ([`components`]). All state lives in
//! one reducer ([`state`]); [`browser`] is the only contact with storage and the URL.
//! Nothing typed into the page leaves the browser: the app makes no network requests.

mod browser;
mod cluster_tracing;
mod components;
mod computed;
mod examples;
mod state;
mod view_model;

fn main() {
    browser::install_panic_hook();
    yew::Renderer::<components::app::App>::new().render();
}
