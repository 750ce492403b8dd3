//! `kpsim rules --mode ipvs` and `kpsim trace` in IPVS mode, run as a user runs them: the
//! spec's worked example (spec ipvs §9) through the real binary, each section on its own, and
//! a node-level trace through the virtual server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn case() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../kpsim/tests/data/spec/ipvs/worked-example")
}

fn kpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kpsim")).args(args).output().expect("kpsim runs")
}

fn rules(extra: &[&str]) -> Output {
    let settings = case().join("settings.yaml").display().to_string();
    let input = case().join("input.yaml").display().to_string();
    let mut args = vec!["rules", "--settings", settings.as_str()];
    args.extend(extra);
    args.push(input.as_str());
    kpsim(&args)
}

fn expected(file: &str) -> String {
    std::fs::read_to_string(case().join(file)).expect("expected file")
}

#[test]
fn each_section_prints_alone_as_the_spec_example_shows_it() {
    let out = rules(&["--format", "restore"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected("expected.iptables-restore"));
    let out = rules(&["--format", "ipvsadm"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected("expected.ipvsadm"));
    let out = rules(&["--format", "ipset"]);
    let sets = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(sets.contains("add KUBE-NODE-PORT-LOCAL-TCP 30443\n"), "{sets}");
}

#[test]
fn the_default_output_holds_every_section_in_order() {
    let out = rules(&[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("no {needle} in\n{text}"));
    assert!(at("# kube-ipvs0 addresses\n10.96.0.20/32\n10.96.0.30/32\n") < at("IP Virtual Server"));
    assert!(at("IP Virtual Server") < at("create KUBE-CLUSTER-IP"));
    assert!(at("create KUBE-CLUSTER-IP") < at("*nat\n"));
    assert!(at("*filter\n") < at("iptables -t filter -I INPUT"));
}

#[test]
fn mode_ipvs_on_the_command_line_overrides_the_settings_file() {
    let settings = case().join("settings.yaml").display().to_string();
    let input = case().join("input.yaml").display().to_string();
    let out = kpsim(&["rules", "--settings", &settings, "--mode", "nftables", &input]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("add table ip kube-proxy"));
    let out =
        kpsim(&["rules", "--settings", &settings, "--mode", "ipvs", "--format", "list", &input]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ipvsadm, ipset, restore or save"));
}

#[test]
fn a_node_trace_in_ipvs_mode_goes_through_the_virtual_server() {
    let settings = case().join("settings.yaml").display().to_string();
    let input = case().join("input.yaml").display().to_string();
    let out = kpsim(&[
        "trace",
        "--settings",
        &settings,
        "--from",
        "10.244.3.4",
        "--to",
        "10.96.0.20:80",
        "--all-branches",
        &input,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("INPUT ipvs IPVS  TCP 10.96.0.20:80 rr"), "{text}");
    assert!(
        text.contains("verdict: dnat → 10.244.0.5:8080, 10.244.1.2:8080; masquerade: no"),
        "{text}"
    );
}

#[test]
fn a_pasted_ruleset_cannot_be_traced_in_ipvs_mode() {
    let settings = case().join("settings.yaml").display().to_string();
    let rules = case().join("expected.iptables-restore").display().to_string();
    let out = kpsim(&[
        "trace",
        "--settings",
        &settings,
        "--mode",
        "ipvs",
        "--rules",
        &rules,
        "--from",
        "10.244.0.9",
        "--to",
        "10.96.0.20:80",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(err.contains("IPVS node is traced from its manifests"), "{err}");
}

#[test]
fn a_cluster_trace_in_ipvs_mode_is_scheduled_by_ipvs_and_a_ping_is_rejected() {
    let walkthrough = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kpsim/tests/data/examples/kube-proxy.yaml")
        .display()
        .to_string();
    let args = ["trace", "--mode", "ipvs", "--from", "pod-client", "--to", "service:8080"];
    let out = kpsim(&[&args[..], &[walkthrough.as_str()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("INPUT ipvs IPVS: DNAT 10.100.253.115:8080 → 10.244."), "{text}");
    assert!(text.contains("outcome: delivered to default/server-pod-"), "{text}");
    let ping = ["trace", "--mode", "ipvs", "--proto", "icmp", "--from", "pod-client", "--to"];
    let out = kpsim(&[&ping[..], &["svc/default/service", walkthrough.as_str()]].concat());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("local 10.100.253.115 dev kube-ipvs0"), "{text}");
    assert!(text.contains("outcome: refused"), "{text}");
}
