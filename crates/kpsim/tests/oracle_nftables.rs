//! The nftables reference corpus (`tests/data/oracle/nftables/`), one data-driven harness:
//! every case folder is run through the pipeline the CLI uses (manifest → model as given →
//! settings → proxy plan → `backend::nftables::build`) and checked against whatever the case
//! asserts: the transaction (`expected.nft`, compared after the upstream test's
//! normalisation), the `nft list` view (`expected.ruleset.txt`), and packet flows
//! (`flows.yaml`, traced through the typed ruleset with every random branch followed).

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use kpsim::backend::nftables;
use kpsim::sim::{Choices, Packet, PacketProtocol, nftables as tracer};
use serde::Deserialize;

mod support {
    pub mod nft_normalise;
    pub mod nftables;
}
use support::nft_normalise::normalise;
use support::nftables::{load, oracle_cases as cases};

fn first_difference(expected: &[String], actual: &[String]) -> String {
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if e != a {
            return format!("line {i}:\n  expected: {e}\n  actual:   {a}");
        }
    }
    format!("lengths differ: expected {} lines, actual {}", expected.len(), actual.len())
}

#[test]
fn transactions_equal_expected_nft_after_normalisation() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in cases() {
        let Ok(expected) = fs::read_to_string(case.join("expected.nft")) else { continue };
        let (ruleset, _) = load(&case);
        let actual = ruleset.transaction().to_string();
        let (e, a) = (normalise(&expected), normalise(&actual));
        if e != a {
            failures.push(format!("{}: {}", case.display(), first_difference(&e, &a)));
        }
        checked += 1;
    }
    println!("nftables transactions: {checked} cases checked, {} failed", failures.len());
    assert!(checked > 0, "no case with expected.nft found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `expected.ruleset.txt` without its `#` header.
fn ruleset_text(case: &Path) -> Option<String> {
    let text = fs::read_to_string(case.join("expected.ruleset.txt")).ok()?;
    Some(text.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect())
}

#[test]
fn list_views_equal_expected_ruleset_txt() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in cases() {
        let Some(expected) = ruleset_text(&case) else { continue };
        let (ruleset, _) = load(&case);
        let actual = ruleset.list_view().to_string();
        if expected != actual {
            let e: Vec<String> = expected.lines().map(str::to_owned).collect();
            let a: Vec<String> = actual.lines().map(str::to_owned).collect();
            failures.push(format!("{}: {}", case.display(), first_difference(&e, &a)));
        }
        checked += 1;
    }
    println!("nftables list views: {checked} cases checked, {} failed", failures.len());
    assert!(checked > 0, "no case with expected.ruleset.txt found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One entry of `flows.yaml`.
#[derive(Debug, Deserialize)]
struct Flow {
    name: String,
    source_ip: String,
    dest_ip: String,
    dest_port: Option<u16>,
    protocol: String,
    expected_output: String,
    expected_masq: bool,
}

#[test]
fn every_flow_traced_with_all_branches_gives_the_expected_output_and_masquerade() {
    let (mut cases_checked, mut flows_checked) = (0, 0);
    let mut failures = Vec::new();
    for case in cases() {
        let Ok(text) = fs::read_to_string(case.join("flows.yaml")) else { continue };
        let flows: Vec<Flow> = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: flows.yaml: {e}", case.display()));
        let (ruleset, settings) = load(&case);
        for flow in &flows {
            let src: IpAddr = flow.source_ip.parse().expect("source_ip");
            let dst: IpAddr = flow.dest_ip.parse().expect("dest_ip");
            let protocol = PacketProtocol::parse(&flow.protocol).expect("protocol");
            let packet = Packet::new(src, dst, protocol, flow.dest_port);
            let entry = tracer::entry_for(&settings, src);
            let trace = tracer::trace(&ruleset, &settings, packet, entry, Choices::AllBranches);
            let (output, masq) = (trace.flow_output(), trace.masquerade());
            if output != flow.expected_output || masq != flow.expected_masq {
                failures.push(format!(
                    "{} / {}: got {output:?} masq={masq}, expected {:?} masq={}",
                    case.display(),
                    flow.name,
                    flow.expected_output,
                    flow.expected_masq
                ));
            }
            flows_checked += 1;
        }
        cases_checked += 1;
    }
    println!(
        "nftables flows: {flows_checked} flows in {cases_checked} cases checked, {} failed",
        failures.len()
    );
    assert!(flows_checked > 0, "no flows.yaml found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parsing_expected_ruleset_txt_gives_the_built_ruleset_as_loaded() {
    let mut checked = 0;
    for case in cases() {
        let Some(text) = ruleset_text(&case) else { continue };
        let (ruleset, _) = load(&case);
        let parsed =
            nftables::parse_list(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(parsed, ruleset.as_loaded(), "{}", case.display());
        checked += 1;
    }
    assert!(checked > 0);
}
