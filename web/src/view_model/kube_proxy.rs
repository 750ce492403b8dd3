//! The "kube-proxy per node" experiment of the Cluster trace: running, never ran (no rules at
//! all), or stopped after a sync — its rules frozen at the manifests as they were when the
//! user chose it ([`FrozenRules`]: a snapshot of the editor's text and the edit it was taken
//! at). What a node's state is ([`NodeKubeProxy`]), and how a frozen node is described
//! ("frozen at edit 12 · 3 edits since · 2 lines differ").
//!
//! Saved with the document (in [`super::cluster_trace::ClusterTraceForm`]). Not responsible
//! for building the older cluster (the page's `computed` cache analyses the snapshot) or for
//! the rules themselves (the core's `KubeProxy::StoppedAfterSync`).

use std::rc::Rc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// kube-proxy's rules on a node, frozen when it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenRules {
    /// The editor's text when kube-proxy stopped: its last sync saw these manifests.
    #[serde(serialize_with = "text_out", deserialize_with = "text_in")]
    pub text: Rc<str>,
    /// The document's edit count then ([`crate::state::doc::Doc::edits`]).
    pub edit: u64,
}

/// The snapshot is shared, never copied, as forms are cloned on every change.
fn text_out<S: Serializer>(text: &Rc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(text)
}

fn text_in<'de, D: Deserializer<'de>>(d: D) -> Result<Rc<str>, D::Error> {
    String::deserialize(d).map(Rc::from)
}

/// What kube-proxy does on one node, as the page offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeProxyChoice {
    Running,
    /// Never ran: no KUBE-* chains at all.
    NeverRan,
    /// Stopped after syncing the manifests as they are now (choosing it again resyncs).
    StoppedAfterSync,
}

impl KubeProxyChoice {
    pub const ALL: [KubeProxyChoice; 3] =
        [KubeProxyChoice::Running, KubeProxyChoice::NeverRan, KubeProxyChoice::StoppedAfterSync];

    /// The `<option>` value.
    pub fn id(self) -> &'static str {
        match self {
            KubeProxyChoice::Running => "running",
            KubeProxyChoice::NeverRan => "never-ran",
            KubeProxyChoice::StoppedAfterSync => "stopped-after-sync",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KubeProxyChoice::Running => "running",
            KubeProxyChoice::NeverRan => "never ran (no rules)",
            KubeProxyChoice::StoppedAfterSync => "stopped after sync (rules frozen)",
        }
    }

    pub fn from_id(id: &str) -> Option<KubeProxyChoice> {
        KubeProxyChoice::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// A node's kube-proxy, as the form says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKubeProxy<'a> {
    Running,
    NeverRan,
    Frozen(&'a FrozenRules),
}

impl NodeKubeProxy<'_> {
    pub fn choice(self) -> KubeProxyChoice {
        match self {
            NodeKubeProxy::Running => KubeProxyChoice::Running,
            NodeKubeProxy::NeverRan => KubeProxyChoice::NeverRan,
            NodeKubeProxy::Frozen(_) => KubeProxyChoice::StoppedAfterSync,
        }
    }

    /// A few words for the path diagram's node box, or `None` when running.
    pub fn diagram_note(self) -> Option<String> {
        match self {
            NodeKubeProxy::Running => None,
            NodeKubeProxy::NeverRan => Some("no kube-proxy".to_owned()),
            NodeKubeProxy::Frozen(f) => Some(format!("frozen at edit {}", f.edit)),
        }
    }
}

/// How old frozen rules are: `frozen at edit 12 · 3 edits since · 2 lines differ`, or
/// `… · the manifests have not changed since` (the rules are then what kube-proxy would
/// write anyway).
pub fn frozen_status(frozen: &FrozenRules, text: &str, edits: u64) -> String {
    let since = edits.saturating_sub(frozen.edit);
    let lines = changed_lines(&frozen.text, text);
    if lines == 0 {
        return format!("frozen at edit {} · the manifests have not changed since", frozen.edit);
    }
    let edits_word = if since == 1 { "edit" } else { "edits" };
    let lines_word = if lines == 1 { "line differs" } else { "lines differ" };
    format!("frozen at edit {} · {since} {edits_word} since · {lines} {lines_word}", frozen.edit)
}

/// Lines that differ between `a` and `b` once their common first and last lines are set
/// aside: the size of the changed region, cheap enough for every keystroke on a large paste
/// (a whole diff is not needed to say "something changed, about this much").
pub fn changed_lines(a: &str, b: &str) -> usize {
    if a == b {
        return 0;
    }
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix =
        a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    // Text that differs only in a final newline still differs by one line.
    (a.len() - prefix - suffix).max(b.len() - prefix - suffix).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_lines_measure_the_region_that_differs() {
        assert_eq!(changed_lines("a\nb\nc\n", "a\nb\nc\n"), 0);
        assert_eq!(changed_lines("a\nb\nc\n", "a\nB\nc\n"), 1);
        assert_eq!(changed_lines("a\nb\nc\nd\n", "a\nd\n"), 2, "two lines deleted");
        assert_eq!(changed_lines("a\n", "a\nb\nc\n"), 2, "two lines added");
        assert_eq!(changed_lines("a", "a\n"), 1);
        assert_eq!(changed_lines("", "x"), 1);
    }

    #[test]
    fn the_status_says_when_the_rules_were_frozen_and_how_much_changed_since() {
        let f = FrozenRules { text: "a: 1\nb: 2\n".into(), edit: 12 };
        assert_eq!(
            frozen_status(&f, "a: 1\nb: 2\n", 12),
            "frozen at edit 12 · the manifests have not changed since"
        );
        assert_eq!(
            frozen_status(&f, "a: 1\nb: 3\n", 13),
            "frozen at edit 12 · 1 edit since · 1 line differs"
        );
        assert_eq!(
            frozen_status(&f, "z\n", 20),
            "frozen at edit 12 · 8 edits since · 2 lines differ"
        );
    }

    #[test]
    fn choices_round_trip_through_their_ids() {
        for c in KubeProxyChoice::ALL {
            assert_eq!(KubeProxyChoice::from_id(c.id()), Some(c));
        }
        assert_eq!(KubeProxyChoice::from_id("ipvs"), None);
        let f = FrozenRules { text: "".into(), edit: 3 };
        assert_eq!(NodeKubeProxy::Frozen(&f).choice(), KubeProxyChoice::StoppedAfterSync);
        assert_eq!(NodeKubeProxy::Frozen(&f).diagram_note().as_deref(), Some("frozen at edit 3"));
        assert_eq!(NodeKubeProxy::Running.diagram_note(), None);
    }
}
