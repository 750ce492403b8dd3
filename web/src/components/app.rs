//! The root component: owns the reducer and lays out the panels.

use yew::prelude::*;

use crate::components::diagnostic_list::DiagnosticList;
use crate::components::editor::Editor;
use crate::components::header::Header;
use crate::components::object_list::ObjectList;
use crate::state::{Action, State};

/// The whole page.
#[component]
pub fn App() -> Html {
    let state = use_reducer(State::initial);
    let on_edit = {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(Action::Edit(text)))
    };
    let view = &state.manifests;
    html! {
        <div class="app">
            <Header />
            <main class="panels">
                <Editor text={state.text.clone()} {on_edit} />
                <section class="panel results" aria-label="What kpsim read">
                    <DiagnosticList rows={view.diagnostics.clone()} />
                    if let Some(rows) = &view.objects {
                        <ObjectList rows={rows.clone()} />
                    }
                </section>
            </main>
        </div>
    }
}
