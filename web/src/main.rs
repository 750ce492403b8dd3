//! The kpsim playground: a Yew app, compiled to WASM by Trunk, that runs the `kpsim` core in
//! the browser.
//!
//! Responsible for mounting the app. Not responsible for anything kube-proxy does: every
//! answer comes from the core; this crate turns core values into rows ([`view_model`]) and
//! rows into HTML ([`components`]). All state lives in one reducer ([`state`]).
//! Nothing typed into the page leaves the browser: the app makes no network requests.

mod components;
mod example;
mod state;
mod view_model;

fn main() {
    yew::Renderer::<components::app::App>::new().render();
}
