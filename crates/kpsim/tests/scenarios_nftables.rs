//! Golden files of the `nft-*` scenarios (`tests/data/scenarios/<name>/`): the transaction
//! (`nftables.<node>.nft`) and the `nft list` view (`nftables.<node>.list`) of the node named
//! by the scenario's `settings.yaml`. Run with `KPSIM_BLESS=1` to rewrite them, then review
//! the diff.

use std::fs;

mod support {
    pub mod nftables;
}
use support::nftables::{load, name, nft_scenarios};

#[test]
fn nft_scenarios_render_as_their_golden_files() {
    let bless = std::env::var("KPSIM_BLESS").is_ok_and(|v| v == "1");
    let scenarios = nft_scenarios();
    assert!(!scenarios.is_empty(), "no nft-* scenario in tests/data/scenarios");
    let mut failures = Vec::new();
    for dir in &scenarios {
        let (ruleset, settings) = load(dir);
        let outputs = [
            (format!("nftables.{}.nft", settings.node_name), ruleset.transaction().to_string()),
            (format!("nftables.{}.list", settings.node_name), ruleset.list_view().to_string()),
        ];
        for (file, actual) in outputs {
            let path = dir.join(&file);
            if bless {
                fs::write(&path, &actual).expect("write golden file");
                continue;
            }
            match fs::read_to_string(&path) {
                Ok(expected) if expected == actual => {}
                Ok(_) => failures
                    .push(format!("{}/{file} differs (KPSIM_BLESS=1 rewrites it)", name(dir))),
                Err(_) => failures
                    .push(format!("{}/{file} is missing (KPSIM_BLESS=1 writes it)", name(dir))),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
