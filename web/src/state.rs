//! All state of the page: one reducer. Components read [`State`] and send [`Action`]s; nothing
//! else holds state.
//!
//! Derived values (the parsed manifests and their rows) are recomputed here once per edit, not
//! in components on every render. Not responsible for how anything looks.

use std::rc::Rc;

use yew::{AttrValue, Reducible};

use crate::example;
use crate::view_model::{ManifestView, manifest_view};

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The YAML in the editor, exactly as typed.
    pub text: AttrValue,
    /// What the core read from `text`.
    pub manifests: Rc<ManifestView>,
}

/// Something the user did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The editor's text changed (every keystroke, paste or cut).
    Edit(String),
}

impl State {
    /// The state for a given editor text.
    pub fn with_text(text: impl Into<AttrValue>) -> State {
        let text = text.into();
        let manifests = Rc::new(manifest_view(&kpsim::manifest::parse(&text)));
        State { text, manifests }
    }

    /// The page as it opens: the walkthrough example.
    pub fn initial() -> State {
        State::with_text(example::WALKTHROUGH)
    }
}

impl Default for State {
    fn default() -> State {
        State::initial()
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::Edit(text) if *self.text == *text => self,
            Action::Edit(text) => Rc::new(State::with_text(text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_with_the_walkthrough_objects() {
        let state = State::initial();
        assert_eq!(&*state.text, example::WALKTHROUGH);
        assert_eq!(state.manifests.objects.as_ref().map(Vec::len), Some(4));
    }

    #[test]
    fn an_edit_recomputes_the_objects() {
        let state = Rc::new(State::initial());
        let edited =
            state.reduce(Action::Edit("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n".into()));
        let labels: Vec<_> = edited
            .manifests
            .objects
            .iter()
            .flatten()
            .map(|row| format!("{} {}", row.kind, row.name))
            .collect();
        assert_eq!(labels, ["Node n1"]);
    }

    #[test]
    fn an_edit_that_changes_nothing_keeps_the_state() {
        let state = Rc::new(State::initial());
        let same = Rc::clone(&state).reduce(Action::Edit(example::WALKTHROUGH.to_owned()));
        assert!(Rc::ptr_eq(&state, &same));
    }
}
