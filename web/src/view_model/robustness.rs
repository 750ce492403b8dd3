//! Every panel's view model, computed for gallery examples the way a person mangles them
//! while typing, never panics: a panic on the page is a bug, whatever was pasted.
//!
//! This drives the same functions the components call (the analysis, per node and mode the
//! plan, ruleset, Endpoints and Rules views, the node trace, the cluster trace with its
//! diagram and histogram), natively. Not responsible for what the views say: each view
//! model's own tests check that.

use std::collections::BTreeMap;

use proptest::prelude::*;
use yew::AttrValue;

use crate::computed::Computed;
use crate::examples;
use crate::view_model::cluster::cluster_view;
use crate::view_model::cluster_trace::{
    ClusterTraceForm, acted_rules, cluster_trace_view, prepare,
};
use crate::view_model::diagnostics::diagnostics_view;
use crate::view_model::distribution;
use crate::view_model::editor::editor_view;
use crate::view_model::endpoints::endpoints_view;
use crate::view_model::objects::object_rows;
use crate::view_model::path_diagram::path_diagram;
use crate::view_model::rules::{Spelling, rules_view};
use crate::view_model::trace::{TraceForm, node_trace_view, resolve, suggestions};
use kpsim::settings::Mode;
use kpsim::sim::Choices;

/// One edit at a position: what a keystroke, a paste or a slip of the hand does.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: u16, len: u8 },
    Insert { at: u16, text: String },
    Replace { at: u16, with: char },
    DuplicateLine { at: u16 },
    Indent { at: u16 },
}

fn an_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<u16>(), 1u8..8).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<u16>(), "[ -~\n]{0,8}").prop_map(|(at, text)| Edit::Insert { at, text }),
        (any::<u16>(), proptest::char::range(' ', '~'))
            .prop_map(|(at, with)| Edit::Replace { at, with }),
        any::<u16>().prop_map(|at| Edit::DuplicateLine { at }),
        any::<u16>().prop_map(|at| Edit::Indent { at }),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text: Vec<char> = text.chars().collect();
    for edit in edits {
        if text.is_empty() {
            break;
        }
        let at = |at: &u16| usize::from(*at) % text.len();
        let line_of = |text: &[char], i: usize| {
            let start = text[..i].iter().rposition(|c| *c == '\n').map_or(0, |p| p + 1);
            let end = text[i..].iter().position(|c| *c == '\n').map_or(text.len(), |p| i + p + 1);
            (start, end)
        };
        match edit {
            Edit::Delete { at: a, len } => {
                let i = at(a);
                let end = (i + usize::from(*len)).min(text.len());
                text.drain(i..end);
            }
            Edit::Insert { at: a, text: insert } => {
                let i = at(a);
                text.splice(i..i, insert.chars());
            }
            Edit::Replace { at: a, with } => {
                let i = at(a);
                text[i] = *with;
            }
            Edit::DuplicateLine { at: a } => {
                let (start, end) = line_of(&text, at(a));
                let line: Vec<char> = text[start..end].to_vec();
                text.splice(end..end, line);
            }
            Edit::Indent { at: a } => {
                let (start, _) = line_of(&text, at(a));
                text.insert(start, ' ');
            }
        }
    }
    text.into_iter().collect()
}

/// Computes what every panel shows for `text`.
fn every_panel(text: &str) {
    let c = Computed::new(AttrValue::from(text.to_owned()));
    let analysis = &c.analysis;
    let cluster = &analysis.cluster;
    let _ = cluster_view(analysis);
    let _ = diagnostics_view(&analysis.diagnostics);
    let _ = editor_view(text, &analysis.diagnostics);
    let _ = object_rows(&analysis.manifests);
    let _ = suggestions(cluster, c.family);
    for node in c.nodes.iter().take(3) {
        for mode in [Mode::Iptables, Mode::Nftables, Mode::Ipvs] {
            let rules = c.rules(node, mode);
            let _ = endpoints_view(analysis, &rules.plan);
            for spelling in [Spelling::Written, Spelling::OnNode] {
                let ports = &rules.plan.service_ports;
                let _ = rules_view(node, &rules.ruleset, ports, spelling, &BTreeMap::new());
            }
            if let Ok(r) = resolve(&TraceForm::default(), cluster, c.family, node) {
                let rules = c.rules(&r.node, mode);
                let entry = kpsim::sim::entry_for(&rules.settings, r.packet.src);
                let t = kpsim::sim::trace_node(
                    &rules.ruleset,
                    &rules.settings,
                    r.packet,
                    entry,
                    Choices::AllBranches,
                );
                let _ = node_trace_view(&t, cluster);
            }
        }
    }
    for mode in [Mode::Iptables, Mode::Nftables, Mode::Ipvs] {
        let form = ClusterTraceForm { mode, ..ClusterTraceForm::default() };
        let Ok((request, experiments)) = prepare(&form, cluster, c.family, |_| None) else {
            continue;
        };
        let Ok(network) = kpsim::sim::cluster::ClusterNetwork::new(cluster, &experiments) else {
            continue;
        };
        if let Ok(t) = network.trace(&request) {
            let _ = cluster_trace_view(&t);
            let _ = acted_rules(&t);
            let _ = path_diagram(&t, cluster, c.family, |_| None);
        }
        let _ = distribution::run(&network, &request, 10);
    }
}

#[test]
fn every_gallery_example_computes_every_panel() {
    for example in examples::ALL {
        every_panel(example.text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn mangled_gallery_examples_never_panic_any_panel(
        example in 0..examples::ALL.len(),
        edits in proptest::collection::vec(an_edit(), 1..6),
    ) {
        every_panel(&apply(examples::ALL[example].text, &edits));
    }
}
