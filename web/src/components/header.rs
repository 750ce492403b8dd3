//! The page header: what this is, and the promise that nothing typed leaves the browser.

use yew::prelude::*;

/// Title and privacy note.
#[component]
pub fn Header() -> Html {
    html! {
        <header class="header">
            <h1>{ "kpsim" }<span class="tagline">{ " — the kube-proxy playground" }</span></h1>
            <p id="privacy-note" class="privacy-note">
                { "Everything runs in your browser: nothing you type or paste leaves this page." }
            </p>
        </header>
    }
}
