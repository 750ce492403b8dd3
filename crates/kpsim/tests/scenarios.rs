//! One scenario corpus drives every mode. Each folder of `tests/data/scenarios/` holds an
//! input (`input.yaml`, or `input.list` naming files under `tests/data/`, one per line), an
//! optional `settings.yaml`, and golden files per node and mode:
//! `iptables.<node>.restore`, `iptables.<node>.save`, `nftables.<node>.nft`,
//! `nftables.<node>.list`, `ipvs.<node>.txt` (every section of the IPVS state). With a settings file, its node is rendered; without, every node of
//! the cluster with settings derived from it.
//!
//! Goldens are rewritten only by running the tests with `KPSIM_BLESS=1`; review the diff.

use std::path::Path;

use kpsim::backend::Ruleset;
use kpsim::settings::Mode;

mod support {
    pub mod scenarios;
}
use support::scenarios::{cluster, nodes, scenario_dirs};

fn check(path: &Path, got: &str, failures: &mut Vec<String>) {
    if std::env::var("KPSIM_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(path, got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(want) if want == got => {}
        Ok(want) => failures.push(format!(
            "{} differs (rerun with KPSIM_BLESS=1 if the change is intended)\n--- want\n{want}--- got\n{got}",
            path.display()
        )),
        Err(_) => failures.push(format!("{} is missing: run with KPSIM_BLESS=1", path.display())),
    }
}

#[test]
fn every_scenario_renders_as_its_golden_files_in_every_mode() {
    let dirs = scenario_dirs();
    let mut failures = Vec::new();
    let mut rendered = 0;
    for dir in &dirs {
        let cluster = cluster(dir);
        for mode in [Mode::Iptables, Mode::Nftables, Mode::Ipvs] {
            for (node, settings) in nodes(dir, &cluster, mode) {
                let plan = kpsim::proxy::plan(&cluster, &settings);
                let outputs = match Ruleset::build(&plan) {
                    Ruleset::Iptables(r) => vec![
                        (format!("iptables.{node}.restore"), r.to_string()),
                        (format!("iptables.{node}.save"), r.save().to_string()),
                    ],
                    Ruleset::Nftables(r) => vec![
                        (format!("nftables.{node}.nft"), r.transaction().to_string()),
                        (format!("nftables.{node}.list"), r.list_view().to_string()),
                    ],
                    Ruleset::Ipvs(r) => vec![(format!("ipvs.{node}.txt"), r.to_string())],
                };
                for (file, text) in outputs {
                    check(&dir.join(file), &text, &mut failures);
                    rendered += 1;
                }
            }
        }
    }
    eprintln!("scenarios: {} folders, {rendered} golden files", dirs.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
