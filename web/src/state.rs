//! All state of the page: one reducer. Components read [`State`] and send [`Action`]s; nothing
//! else holds state (DOM-only details such as scroll positions stay in the DOM).
//!
//! [`State::open`] decides what the page opens with (saved work, a share link, or the
//! walkthrough) without touching the browser, so every case is tested natively. Heavy
//! results are not state: they are computed from it (`crate::computed`). Not responsible
//! for how anything looks, nor for storage (`crate::browser` does the I/O).

pub mod doc;
pub mod link;

use std::rc::Rc;

use kpsim::settings::Mode;
use yew::Reducible;

use crate::examples;
use crate::view_model::cluster_trace::ClusterTraceForm;
use crate::view_model::kube_proxy::KubeProxyChoice;
use crate::view_model::rules::Spelling;
use crate::view_model::trace::TraceForm;
use doc::{Doc, SPLIT_MAX, SPLIT_MIN};
use link::LinkError;

/// Everything the page shows and remembers.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// What is saved and shared.
    pub doc: Rc<Doc>,
    /// A message at the top of the page, with what it can undo.
    pub notice: Option<Notice>,
    /// The previous session stopped (a bug) while computing this document: the panels wait
    /// for the user to resume, so the page cannot fail the same way before it can be edited.
    pub paused: bool,
    /// The share link made for the document, while its dialog is open.
    pub shared: Option<Shared>,
    /// The examples gallery is open.
    pub examples_open: bool,
    /// A Cluster trace hop whose rule the Rules panel should show and focus.
    pub reveal: Option<Reveal>,
}

/// "Show me the rule of hop N": `seq` tells two clicks on the same hop apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reveal {
    pub hop: usize,
    pub seq: u64,
}

/// A link made by the Share button.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    /// The full URL, fragment included.
    pub url: String,
    /// The document it carries (the address bar keeps the link while this is current).
    pub doc: Rc<Doc>,
}

/// A message about what just happened to the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// An example replaced the text; `previous` is what it replaced.
    ExampleOpened { title: &'static str, previous: Rc<Doc> },
    /// A share link replaced different saved work, kept in `previous`.
    LinkOpened { previous: Rc<Doc> },
    /// A link that could not be opened; the saved work is shown. `linked` is what could be
    /// read of it anyway.
    LinkProblem { message: String, linked: Option<Rc<Doc>> },
    /// The saved work could not be read back (it is left in place, untouched).
    SavedUnreadable(String),
}

/// Something the user did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The editor's text changed (every keystroke, paste or cut).
    Edit(String),
    OpenExample(&'static str),
    /// Undo what the notice reports (back to the text before the example or the link).
    Restore,
    /// Open the link the notice could not open, as far as it could be read.
    OpenLinkAnyway,
    Dismiss,
    SelectNode(String),
    SelectMode(Mode),
    SelectSpelling(Spelling),
    /// Open or close a chain of the jump graph (`table/chain`).
    SetChainOpen(String, bool),
    CycleTheme,
    TogglePresentation,
    /// The editor's share of the width, in percent.
    SetSplit(u8),
    /// The Share button made this URL for the current document.
    Shared(String),
    CloseShare,
    /// Compute the panels again after a paused start.
    Resume,
    /// Show or hide the examples gallery.
    ShowExamples(bool),
    /// The Trace panel's form changed.
    SetTrace(TraceForm),
    /// The Cluster trace panel's form changed.
    SetClusterTrace(ClusterTraceForm),
    /// kube-proxy on these nodes runs, never ran, or stops after syncing the text as it is
    /// now (again: a resync).
    SetKubeProxy(Vec<String>, KubeProxyChoice),
    /// Show the rule a Cluster trace hop acted by: its node and mode in the Rules panel.
    RevealHop {
        node: String,
        mode: Mode,
        hop: usize,
    },
    /// Open these chains of the jump graph (`table/chain` keys).
    OpenChains(Vec<String>),
}

impl State {
    /// A state showing `doc`.
    pub fn showing(doc: Doc) -> State {
        State {
            doc: Rc::new(doc),
            notice: None,
            paused: false,
            shared: None,
            examples_open: false,
            reveal: None,
        }
    }

    /// What the page opens with: `saved` is the autosaved document (JSON), `fragment` the
    /// URL fragment without `#`, `crashed` whether the last session stopped while computing.
    ///
    /// A good link wins over saved work (which the notice offers back); a bad link never
    /// replaces it.
    pub fn open(saved: Option<&str>, fragment: &str, crashed: bool) -> State {
        let mut notice = None;
        let saved = match saved.map(Doc::from_json) {
            Some(Ok(doc)) => Some(doc),
            Some(Err(e)) => {
                notice = Some(Notice::SavedUnreadable(e));
                None
            }
            None => None,
        };
        let (doc, link_notice) = match link::decode(fragment) {
            Ok(None) => (saved.unwrap_or_default(), None),
            Ok(Some(linked)) => match saved {
                Some(previous) if previous != linked => {
                    (linked, Some(Notice::LinkOpened { previous: Rc::new(previous) }))
                }
                _ => (linked, None),
            },
            Err(e) => {
                let linked = match &e {
                    LinkError::TooNew { doc, .. } => doc.clone().map(|d| Rc::new(*d)),
                    LinkError::Damaged(_) => None,
                };
                (
                    saved.unwrap_or_default(),
                    Some(Notice::LinkProblem { message: e.message(), linked }),
                )
            }
        };
        State {
            doc: Rc::new(doc),
            notice: link_notice.or(notice),
            paused: crashed,
            shared: None,
            examples_open: false,
            reveal: None,
        }
    }

    /// The same state with the document changed by `change`; `self` itself when nothing
    /// changed (so nothing re-renders).
    fn with_doc(self: Rc<Self>, change: impl FnOnce(&mut Doc)) -> Rc<State> {
        let mut doc = (*self.doc).clone();
        change(&mut doc);
        if doc == *self.doc {
            return self;
        }
        Rc::new(State { doc: Rc::new(doc), ..(*self).clone() })
    }

    fn replace_doc(&self, doc: Rc<Doc>, notice: Option<Notice>) -> Rc<State> {
        Rc::new(State {
            doc,
            notice,
            paused: self.paused,
            shared: None,
            examples_open: false,
            reveal: None,
        })
    }
}

impl Default for State {
    fn default() -> State {
        State::showing(Doc::default())
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::Edit(text) => self.with_doc(|d| {
                if *d.text != *text {
                    d.text = text.into();
                    d.edits += 1;
                }
            }),
            Action::OpenExample(id) => match examples::find(id) {
                Some(example) => {
                    let previous = Rc::clone(&self.doc);
                    let doc = Doc {
                        text: example.text.into(),
                        example: Some(example.id.to_owned()),
                        node: None,
                        chains: Default::default(),
                        trace: TraceForm::default(),
                        cluster_trace: ClusterTraceForm::default(),
                        ..(*self.doc).clone()
                    };
                    let notice = Notice::ExampleOpened { title: example.title, previous };
                    self.replace_doc(Rc::new(doc), Some(notice))
                }
                None => self,
            },
            Action::Restore => match &self.notice {
                Some(Notice::ExampleOpened { previous, .. } | Notice::LinkOpened { previous }) => {
                    self.replace_doc(Rc::clone(previous), None)
                }
                _ => self,
            },
            Action::OpenLinkAnyway => match &self.notice {
                Some(Notice::LinkProblem { linked: Some(linked), .. }) => {
                    let previous = Rc::clone(&self.doc);
                    self.replace_doc(Rc::clone(linked), Some(Notice::LinkOpened { previous }))
                }
                _ => self,
            },
            Action::Dismiss => Rc::new(State { notice: None, ..(*self).clone() }),
            Action::SelectNode(node) => self.with_doc(|d| d.node = Some(node)),
            Action::SelectMode(mode) => self.with_doc(|d| d.mode = mode),
            Action::SelectSpelling(s) => self.with_doc(|d| d.spelling = s),
            Action::SetChainOpen(key, open) => self.with_doc(|d| {
                d.chains.insert(key, open);
            }),
            Action::CycleTheme => self.with_doc(|d| d.theme = d.theme.next()),
            Action::TogglePresentation => self.with_doc(|d| d.presentation = !d.presentation),
            Action::SetSplit(split) => {
                self.with_doc(|d| d.split = split.clamp(SPLIT_MIN, SPLIT_MAX))
            }
            Action::Shared(url) => Rc::new(State {
                shared: Some(Shared { url, doc: Rc::clone(&self.doc) }),
                ..(*self).clone()
            }),
            Action::CloseShare => Rc::new(State { shared: None, ..(*self).clone() }),
            Action::Resume => Rc::new(State { paused: false, ..(*self).clone() }),
            Action::ShowExamples(open) => Rc::new(State { examples_open: open, ..(*self).clone() }),
            Action::SetTrace(form) => self.with_doc(|d| d.trace = form),
            Action::SetClusterTrace(form) => self.with_doc(|d| d.cluster_trace = form),
            Action::SetKubeProxy(nodes, choice) => self.with_doc(|d| {
                let now = d.snapshot();
                d.cluster_trace.set_kube_proxy(&nodes, choice, &now);
            }),
            Action::RevealHop { node, mode, hop } => {
                let seq = self.reveal.map_or(1, |r| r.seq + 1);
                let shown = self.with_doc(|d| {
                    d.node = Some(node);
                    d.mode = mode;
                });
                Rc::new(State { reveal: Some(Reveal { hop, seq }), ..(*shown).clone() })
            }
            Action::OpenChains(keys) => self.with_doc(|d| {
                for key in keys {
                    d.chains.insert(key, true);
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(state: &Rc<State>, action: Action) -> Rc<State> {
        Rc::clone(state).reduce(action)
    }

    #[test]
    fn a_first_visit_opens_the_walkthrough() {
        let s = State::open(None, "", false);
        assert_eq!(&*s.doc.text, examples::WALKTHROUGH.text);
        assert_eq!(s.notice, None);
        assert!(!s.paused);
    }

    #[test]
    fn saved_work_comes_back() {
        let saved = Doc { text: "mine: 1\n".into(), ..Doc::default() };
        let s = State::open(Some(&saved.to_json()), "", false);
        assert_eq!(*s.doc, saved);
    }

    #[test]
    fn a_link_opens_and_offers_the_different_saved_work_back() {
        let saved = Doc { text: "mine: 1\n".into(), ..Doc::default() };
        let linked = Doc { text: "theirs: 1\n".into(), ..Doc::default() };
        let s = Rc::new(State::open(Some(&saved.to_json()), &link::encode(&linked), false));
        assert_eq!(*s.doc, linked);
        assert!(matches!(&s.notice, Some(Notice::LinkOpened { previous }) if **previous == saved));
        let restored = reduce(&s, Action::Restore);
        assert_eq!(*restored.doc, saved);
        assert_eq!(restored.notice, None);
    }

    #[test]
    fn a_link_equal_to_the_saved_work_opens_quietly() {
        let doc = Doc { text: "same: 1\n".into(), ..Doc::default() };
        let s = State::open(Some(&doc.to_json()), &link::encode(&doc), false);
        assert_eq!(s.notice, None);
    }

    #[test]
    fn a_damaged_link_keeps_the_saved_work() {
        let saved = Doc { text: "mine: 1\n".into(), ..Doc::default() };
        let s = Rc::new(State::open(Some(&saved.to_json()), "v1:broken!", false));
        assert_eq!(*s.doc, saved);
        assert!(matches!(&s.notice, Some(Notice::LinkProblem { linked: None, .. })));
        assert!(Rc::ptr_eq(&s, &reduce(&s, Action::OpenLinkAnyway)), "nothing to open anyway");
    }

    #[test]
    fn a_newer_link_keeps_the_saved_work_until_opened_anyway() {
        let saved = Doc { text: "mine: 1\n".into(), ..Doc::default() };
        let linked = Doc { text: "future: 1\n".into(), ..Doc::default() };
        let fragment = link::encode(&linked).replacen("v2:", "v3:", 1);
        let s = Rc::new(State::open(Some(&saved.to_json()), &fragment, false));
        assert_eq!(*s.doc, saved);
        let Some(Notice::LinkProblem { message, linked: Some(_) }) = &s.notice else {
            panic!("{:?}", s.notice)
        };
        assert!(message.contains("newer"));
        let anyway = reduce(&s, Action::OpenLinkAnyway);
        assert_eq!(*anyway.doc, linked);
        assert_eq!(*reduce(&anyway, Action::Restore).doc, saved, "and back again");
    }

    #[test]
    fn unreadable_saved_work_is_reported() {
        let s = State::open(Some("{not json"), "", false);
        assert!(matches!(s.notice, Some(Notice::SavedUnreadable(_))));
        assert_eq!(*s.doc, Doc::default());
    }

    #[test]
    fn a_crash_while_computing_pauses_the_panels_until_resumed() {
        let s = Rc::new(State::open(None, "", true));
        assert!(s.paused);
        assert!(!reduce(&s, Action::Resume).paused);
    }

    #[test]
    fn an_edit_changes_the_text_and_an_identical_one_changes_nothing() {
        let s = Rc::new(State::default());
        let edited = reduce(&s, Action::Edit("a: 1\n".into()));
        assert_eq!(&*edited.doc.text, "a: 1\n");
        assert!(Rc::ptr_eq(&edited, &reduce(&edited, Action::Edit("a: 1\n".into()))));
    }

    #[test]
    fn opening_an_example_can_be_undone() {
        let s = reduce(&Rc::new(State::default()), Action::Edit("mine: 1\n".into()));
        let opened = reduce(&s, Action::OpenExample("nodeport"));
        assert_eq!(opened.doc.example.as_deref(), Some("nodeport"));
        assert!(opened.doc.text.contains("type: NodePort"));
        assert_eq!(&*reduce(&opened, Action::Restore).doc.text, "mine: 1\n");
        assert!(Rc::ptr_eq(&s, &reduce(&s, Action::OpenExample("no-such-example"))));
    }

    #[test]
    fn selections_and_looks_are_part_of_the_document() {
        let s = Rc::new(State::default());
        let s = reduce(&s, Action::SelectNode("minikube-m02".into()));
        let s = reduce(&s, Action::SelectMode(Mode::Nftables));
        let s = reduce(&s, Action::SelectSpelling(Spelling::OnNode));
        let s = reduce(&s, Action::SetChainOpen("nat/KUBE-SERVICES".into(), false));
        let s = reduce(&s, Action::CycleTheme);
        let s = reduce(&s, Action::TogglePresentation);
        let s = reduce(&s, Action::SetSplit(200));
        let d = &s.doc;
        assert_eq!(d.node.as_deref(), Some("minikube-m02"));
        assert_eq!((d.mode, d.spelling), (Mode::Nftables, Spelling::OnNode));
        assert_eq!(d.chains.get("nat/KUBE-SERVICES"), Some(&false));
        assert_eq!(d.theme, doc::Theme::Light);
        assert!(d.presentation);
        assert_eq!(d.split, SPLIT_MAX);
    }

    #[test]
    fn opening_an_example_closes_the_gallery() {
        let s = reduce(&Rc::new(State::default()), Action::ShowExamples(true));
        assert!(s.examples_open);
        assert!(!reduce(&s, Action::OpenExample("headless")).examples_open);
    }

    #[test]
    fn every_edit_is_counted_and_stopping_kube_proxy_after_sync_freezes_the_text_at_it() {
        let s = reduce(&Rc::new(State::default()), Action::Edit("a: 1\n".into()));
        let s = reduce(&s, Action::Edit("a: 2\n".into()));
        assert_eq!(s.doc.edits, 2);
        let nodes = vec!["minikube".to_owned(), "minikube-m02".to_owned()];
        let s = reduce(&s, Action::SetKubeProxy(nodes, KubeProxyChoice::StoppedAfterSync));
        let frozen = &s.doc.cluster_trace.frozen;
        assert_eq!(frozen.len(), 2);
        assert_eq!((&*frozen["minikube"].text, frozen["minikube"].edit), ("a: 2\n", 2));
        // Later edits do not reach the snapshot; a resync takes the text as it is then.
        let s = reduce(&s, Action::Edit("a: 3\n".into()));
        assert_eq!(&*s.doc.cluster_trace.frozen["minikube"].text, "a: 2\n");
        let resync = vec!["minikube".to_owned()];
        let s = reduce(&s, Action::SetKubeProxy(resync, KubeProxyChoice::StoppedAfterSync));
        let f = &s.doc.cluster_trace.frozen;
        assert_eq!((&*f["minikube"].text, f["minikube"].edit), ("a: 3\n", 3));
        assert_eq!(&*f["minikube-m02"].text, "a: 2\n");
        // Never ran and running replace the freeze.
        let s =
            reduce(&s, Action::SetKubeProxy(vec!["minikube".into()], KubeProxyChoice::NeverRan));
        assert!(s.doc.cluster_trace.stopped("minikube"));
        assert!(!s.doc.cluster_trace.frozen.contains_key("minikube"));
        let s =
            reduce(&s, Action::SetKubeProxy(vec!["minikube-m02".into()], KubeProxyChoice::Running));
        assert!(s.doc.cluster_trace.frozen.is_empty());
    }

    #[test]
    fn revealing_a_hop_selects_its_node_and_mode_and_counts_the_clicks() {
        let s = Rc::new(State::default());
        let hop =
            |node: &str| Action::RevealHop { node: node.into(), mode: Mode::Nftables, hop: 4 };
        let s = reduce(&s, hop("minikube-m02"));
        assert_eq!(s.doc.node.as_deref(), Some("minikube-m02"));
        assert_eq!(s.doc.mode, Mode::Nftables);
        assert_eq!(s.reveal, Some(Reveal { hop: 4, seq: 1 }));
        let again = reduce(&s, hop("minikube-m02"));
        assert_eq!(again.reveal, Some(Reveal { hop: 4, seq: 2 }), "a second click reveals again");
        let opened = reduce(&again, Action::OpenChains(vec!["nat/KUBE-SVC-X".into()]));
        assert_eq!(opened.doc.chains.get("nat/KUBE-SVC-X"), Some(&true));
    }

    #[test]
    fn sharing_remembers_the_document_it_was_made_for() {
        let s = reduce(&Rc::new(State::default()), Action::Shared("http://x/#v1:abc".into()));
        let shared = s.shared.as_ref().expect("shared");
        assert!(Rc::ptr_eq(&shared.doc, &s.doc));
        assert_eq!(reduce(&s, Action::CloseShare).shared, None);
    }
}
