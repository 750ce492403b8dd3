//! Invariants over generated inputs: the built cluster does not depend on the order of the
//! documents, and no input — random bytes, or the examples mutated at random — panics.

use std::path::Path;

use kpsim::model::Admission;
use kpsim::settings::{Mode, ProxySettings};
use proptest::prelude::*;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Inputs made of several documents (a List is one document and is covered by mutation).
fn multi_document_inputs() -> Vec<String> {
    [
        "examples/kube-proxy.yaml",
        "examples/minikube-3-nodes.yaml",
        "examples/two-pods-connectivity.yaml",
        "model/scenarios/workloads/input.yaml",
        "model/scenarios/nodes-and-conditions/input.yaml",
        "model/scenarios/legacy-endpoints/input.yaml",
        "oracle/iptables/TestOverallIPTablesRules/input.yaml",
    ]
    .iter()
    .map(|p| read(p))
    .collect()
}

fn all_inputs() -> Vec<String> {
    let mut v = multi_document_inputs();
    v.push(read("model/scenarios/kubectl-get-all/input.yaml"));
    v.push(read("model/scenarios/json-list/input.yaml"));
    v
}

/// The documents of a stream, without their `---` separators.
fn documents(text: &str) -> Vec<String> {
    text.split("\n---\n").map(|d| d.trim_end_matches('\n').to_owned() + "\n").collect()
}

/// The cluster as JSON with every source position removed (positions move with the
/// documents, nothing else may).
fn without_positions(cluster: &kpsim::model::Cluster) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("span");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(cluster).expect("cluster serializes");
    strip(&mut v);
    v
}

/// Diagnostics without positions, sorted: the same findings whatever the order.
fn findings(a: &kpsim::Analysis) -> Vec<String> {
    let mut v: Vec<String> = a
        .diagnostics
        .iter()
        .map(|d| format!("{:?} {:?} {} {}", d.kind, d.object, d.field_path, d.message))
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn shuffling_documents_never_changes_the_cluster(
        input in 0..multi_document_inputs().len(),
        order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
        admission in prop_oneof![Just(Admission::Auto), Just(Admission::Cluster), Just(Admission::AsGiven)],
    ) {
        let text = &multi_document_inputs()[input];
        let mut docs = documents(text);
        // Fisher-Yates with the generated seed.
        let mut state = order;
        for i in (1..docs.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (state >> 33) as usize % (i + 1);
            docs.swap(i, j);
        }
        let shuffled = docs.join("---\n");
        let original = kpsim::analyze(text, admission);
        let reordered = kpsim::analyze(&shuffled, admission);
        prop_assert_eq!(without_positions(&original.cluster), without_positions(&reordered.cluster));
        prop_assert_eq!(findings(&original), findings(&reordered));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let a = kpsim::analyze(&text, Admission::Cluster);
        let _ = kpsim::endpoints::table::render(&kpsim::endpoints::table::rows(&a.cluster));
    }

    #[test]
    fn yaml_like_noise_never_panics(text in "[a-zA-Z0-9:\\-\\[\\]{}\"', \n#&*!|>]{0,600}") {
        let _ = kpsim::analyze(&text, Admission::Auto);
        let _ = kpsim::analyze(&format!("apiVersion: v1\nkind: List\nitems:\n{text}"), Admission::Auto);
    }

    #[test]
    fn mutated_examples_never_panic(
        input in 0..all_inputs().len(),
        edits in proptest::collection::vec((any::<u16>(), 0u8..5, "[ -~\n]{0,8}"), 1..8),
        admission in prop_oneof![Just(Admission::Auto), Just(Admission::Cluster), Just(Admission::AsGiven)],
    ) {
        let mut text: Vec<char> = all_inputs()[input].chars().collect();
        for (at, op, insert) in edits {
            if text.is_empty() {
                break;
            }
            let i = usize::from(at) % text.len();
            match op {
                // Delete a few characters.
                0 => { let end = (i + 1 + usize::from(at % 7)).min(text.len()); text.drain(i..end); }
                // Insert text.
                1 => { for (k, c) in insert.chars().enumerate() { text.insert(i + k, c); } }
                // Replace one character.
                2 => { text[i] = insert.chars().next().unwrap_or(' '); }
                // Duplicate a line.
                3 => {
                    let start = text[..i].iter().rposition(|c| *c == '\n').map_or(0, |p| p + 1);
                    let end = text[i..].iter().position(|c| *c == '\n').map_or(text.len(), |p| i + p + 1);
                    let line: Vec<char> = text[start..end].to_vec();
                    for (k, c) in line.into_iter().enumerate() { text.insert(end.min(text.len()) + k, c); }
                }
                // Change an indentation.
                _ => {
                    let start = text[..i].iter().rposition(|c| *c == '\n').map_or(0, |p| p + 1);
                    text.insert(start, ' ');
                }
            }
        }
        let text: String = text.into_iter().collect();
        let a = kpsim::analyze(&text, admission);
        let _ = kpsim::endpoints::table::render(&kpsim::endpoints::table::rows(&a.cluster));
        for d in &a.diagnostics {
            let _ = d.to_string();
        }
        // Every mode builds and renders what kube-proxy would write on the first node.
        let node = a.cluster.nodes.first().map(|n| n.name.clone()).unwrap_or_default();
        let family = a.cluster.ip_families().first().copied().unwrap_or(kpsim::net::IpFamily::V4);
        for mode in [Mode::Iptables, Mode::Nftables, Mode::Ipvs] {
            let settings = ProxySettings::for_node(&a.cluster, &node, mode, family);
            let plan = kpsim::proxy::plan(&a.cluster, &settings);
            let _ = kpsim::backend::Ruleset::build(&plan).to_string();
        }
    }
}
