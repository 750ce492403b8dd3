//! Shared by the nftables test targets: where the cases are and the pipeline the CLI runs on
//! them (manifest → model as given → settings → proxy plan → `backend::nftables::build`).

#![allow(dead_code)] // each test target uses a different part
use std::fs;
use std::path::{Path, PathBuf};

use kpsim::backend::nftables::{self, Ruleset};
use kpsim::model::Admission;
use kpsim::settings::ProxySettings;

pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn folders_with_input(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("input.yaml").is_file())
        .collect();
    out.sort();
    out
}

/// Every case of the nftables reference corpus: folders with an `input.yaml`, and the
/// `stepNN-*` folders of multi-step cases (settings in the case folder).
pub fn oracle_cases() -> Vec<PathBuf> {
    let root = data().join("oracle/nftables");
    let mut cases = folders_with_input(&root);
    if let Ok(entries) = fs::read_dir(&root) {
        let mut multi: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && !p.join("input.yaml").is_file())
            .flat_map(|p| folders_with_input(&p))
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("step")))
            .collect();
        cases.append(&mut multi);
        cases.sort();
    }
    assert!(!cases.is_empty(), "the nftables corpus is in tests/data/oracle/nftables");
    cases
}

/// Runs a case folder through the pipeline: its ruleset and the settings it was built with.
pub fn load(case: &Path) -> (Ruleset, ProxySettings) {
    let input = fs::read_to_string(case.join("input.yaml")).expect("input.yaml");
    let manifests = kpsim::manifest::parse(&input);
    let (cluster, _) = kpsim::model::build::build(&manifests, Admission::AsGiven);
    // A step of a multi-step case takes the settings of its case folder.
    let settings_text = fs::read_to_string(case.join("settings.yaml"))
        .or_else(|_| fs::read_to_string(case.parent().unwrap_or(case).join("settings.yaml")))
        .unwrap_or_default();
    let (file, diagnostics) = kpsim::settings::parse_settings_file(&settings_text);
    assert!(diagnostics.is_empty(), "{}: settings: {diagnostics:?}", case.display());
    let mut diagnostics = Vec::new();
    let settings = file.resolve(&cluster, &mut diagnostics);
    assert!(diagnostics.is_empty(), "{}: settings: {diagnostics:?}", case.display());
    let plan = kpsim::proxy::plan(&cluster, &settings);
    (nftables::build(&plan), settings)
}

pub fn name(case: &Path) -> String {
    case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}
