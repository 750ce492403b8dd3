//! The message at the top of the page about what just happened to the document — an example
//! or a link replaced it (with a way back), a link could not be opened, saving failed — and
//! the banner of a paused start.

use yew::prelude::*;

use crate::state::{Action, Notice};

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub notice: Option<Notice>,
    /// The browser refused to save, and why.
    pub save_error: Option<String>,
    pub paused: bool,
    pub dispatch: Callback<Action>,
}

/// Zero or more banners.
#[component]
pub fn NoticeBar(props: &Props) -> Html {
    let send = |action: Action| {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(action.clone()))
    };
    let notice = props.notice.as_ref().map(|notice| match notice {
        Notice::ExampleOpened { title, .. } => html! {
            <div id="notice" class="notice info" role="status">
                <span>{ format!("Opened the example “{title}”.") }</span>
                <button type="button" onclick={send(Action::Restore)}>{ "Back to my text" }</button>
                <button type="button" onclick={send(Action::Dismiss)}>{ "OK" }</button>
            </div>
        },
        Notice::LinkOpened { .. } => html! {
            <div id="notice" class="notice info" role="status">
                <span>{ "Opened a shared link. Your own work is kept." }</span>
                <button id="restore-mine" type="button" onclick={send(Action::Restore)}>
                    { "Back to my work" }
                </button>
                <button type="button" onclick={send(Action::Dismiss)}>{ "OK" }</button>
            </div>
        },
        Notice::LinkProblem { message, linked } => html! {
            <div id="notice" class="notice error" role="alert">
                <span>{ format!("{message} Your saved work is unchanged.") }</span>
                if linked.is_some() {
                    <button id="open-anyway" type="button" onclick={send(Action::OpenLinkAnyway)}>
                        { "Load it anyway" }
                    </button>
                }
                <button id="keep-mine" type="button" onclick={send(Action::Dismiss)}>
                    { "Keep mine" }
                </button>
            </div>
        },
        Notice::SavedUnreadable(why) => html! {
            <div id="notice" class="notice error" role="alert">
                <span>{ format!("Your saved work could not be read ({why}); the walkthrough is shown instead.") }</span>
                <button type="button" onclick={send(Action::Dismiss)}>{ "OK" }</button>
            </div>
        },
    });
    html! {
        <>
            { for notice }
            if let Some(why) = &props.save_error {
                <div id="save-error" class="notice error" role="alert">
                    { format!("Your work is not being saved in this browser: {why}. Use Share or copy the text to keep it.") }
                </div>
            }
            if props.paused {
                <div id="paused" class="notice error" role="alert">
                    <span>
                        { "kpsim stopped while computing this page last time (a bug). Your work is here; the panels wait so you can edit it first." }
                    </span>
                    <button id="resume" type="button" onclick={send(Action::Resume)}>
                        { "Compute the panels" }
                    </button>
                </div>
            }
        </>
    }
}
