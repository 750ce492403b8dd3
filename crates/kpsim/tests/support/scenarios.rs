//! The scenario corpus (`tests/data/scenarios/`), shared by every test target that renders
//! it: where the folders are, how a folder's input is assembled (`input.yaml`, or the files
//! `input.list` names under `tests/data/`), and which nodes are rendered (the settings file's
//! node, or every node of the cluster with settings derived from it).

#![allow(dead_code)] // each test target uses a different part
use std::path::{Path, PathBuf};

use kpsim::backend::Ruleset;
use kpsim::model::{Admission, Cluster};
use kpsim::net::IpFamily;
use kpsim::settings::{Mode, ProxySettings};

pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every scenario folder, sorted.
pub fn scenario_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(data().join("scenarios"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("input.yaml").is_file() || p.join("input.list").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    assert!(!dirs.is_empty(), "no scenario under tests/data/scenarios");
    dirs
}

pub fn name(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The scenario's input text: `input.yaml`, or the files `input.list` names, joined.
pub fn input_text(dir: &Path) -> String {
    if let Ok(text) = std::fs::read_to_string(dir.join("input.yaml")) {
        return text;
    }
    let list = std::fs::read_to_string(dir.join("input.list")).expect("input.list");
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|rel| {
            std::fs::read_to_string(data().join(rel))
                .unwrap_or_else(|e| panic!("{}: {rel}: {e}", dir.display()))
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// The scenario's cluster (admission decided from the input, as the CLI does).
pub fn cluster(dir: &Path) -> Cluster {
    kpsim::analyze(&input_text(dir), Admission::Auto).cluster
}

/// (node, settings) pairs to render for a scenario, in `mode`.
pub fn nodes(dir: &Path, cluster: &Cluster, mode: Mode) -> Vec<(String, ProxySettings)> {
    if let Ok(text) = std::fs::read_to_string(dir.join("settings.yaml")) {
        let (mut file, d) = kpsim::settings::parse_settings_file(&text);
        assert!(d.is_empty(), "{}: {d:?}", dir.display());
        file.mode = Some(mode);
        let s = file.resolve(cluster, &mut Vec::new());
        return vec![(s.node_name.clone(), s)];
    }
    let family = cluster.ip_families().first().copied().unwrap_or(IpFamily::V4);
    let mut names: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
    if names.is_empty() {
        names.push("node".to_owned());
    }
    names
        .into_iter()
        .map(|n| {
            let s = ProxySettings::for_node(cluster, &n, mode, family);
            (n, s)
        })
        .collect()
}

/// Every (scenario, node) ruleset in `mode`: `("<scenario> on <node>", settings, ruleset)`.
pub fn rulesets(mode: Mode) -> Vec<(String, ProxySettings, Ruleset)> {
    let mut out = Vec::new();
    for dir in scenario_dirs() {
        let cluster = cluster(&dir);
        for (node, settings) in nodes(&dir, &cluster, mode) {
            let plan = kpsim::proxy::plan(&cluster, &settings);
            let ruleset = Ruleset::build(&plan);
            out.push((format!("{} on {node}", name(&dir)), settings, ruleset));
        }
    }
    out
}
