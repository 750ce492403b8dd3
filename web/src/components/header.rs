//! The page header: what this is, the promise that nothing typed leaves the browser, and the
//! toolbar (examples, share, theme, presentation size).

use yew::prelude::*;

use crate::state::doc::Theme;

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub theme: Theme,
    pub presentation: bool,
    pub on_examples: Callback<()>,
    pub on_share: Callback<()>,
    pub on_theme: Callback<()>,
    pub on_presentation: Callback<()>,
}

/// Title, privacy note and toolbar.
#[component]
pub fn Header(props: &Props) -> Html {
    let click = |cb: &Callback<()>| {
        let cb = cb.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    html! {
        <header class="header">
            <div class="title">
                <h1>{ "kpsim" }<span class="tagline">{ " — the kube-proxy playground" }</span></h1>
                <p id="privacy-note" class="privacy-note">
                    { "Everything runs in your browser: nothing you type or paste leaves this page." }
                </p>
            </div>
            <nav class="toolbar" aria-label="Playground">
                <button id="open-examples" type="button" onclick={click(&props.on_examples)}>
                    { "Examples" }
                </button>
                <button id="share" type="button" onclick={click(&props.on_share)}
                        title="Put the whole page (text, selections, experiments) in a link">
                    { "Share" }
                </button>
                <button id="theme" type="button" onclick={click(&props.on_theme)}
                        title="System, light or dark colours">
                    { props.theme.label() }
                </button>
                <button id="presentation" type="button" aria-pressed={props.presentation.to_string()}
                        onclick={click(&props.on_presentation)}
                        title="Larger type, for projectors">
                    { "Presentation size" }
                </button>
            </nav>
        </header>
    }
}
