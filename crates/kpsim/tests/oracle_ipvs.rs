//! The IPVS reference corpus (`tests/data/oracle/ipvs/`) and the IPVS spec cases
//! (`tests/data/spec/ipvs/`), one data-driven harness over typed values: every case folder is
//! run through the pipeline the CLI uses (manifest → model as given → settings → proxy plan →
//! `backend::ipvs::build`) and checked against its `expected.yaml` with the assertion modes of
//! `oracle/ipvs/NOTES.md`:
//!
//! - `ipvs`: `exact` (the set of virtual servers, each with scheduler, flags, timeout and its
//!   real servers as a set), `partial` (count, and the listed servers' real servers as a set),
//!   `every_virtual_server` (a field value every server has);
//! - `ipsets`: each listed set's type and entries, as an unordered collection;
//! - `iptables`: per listed chain, the nat then filter rules' jump targets and set names;
//! - `dummy_interface`: the `kube-ipvs0` addresses as a set.
//!
//! Spec cases may also hold `expected.iptables-restore` and `expected.ipvsadm`: exact text.

use std::collections::BTreeSet;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kpsim::backend::iptables::{Match, Target};
use kpsim::backend::ipvs::{self, Ruleset};
use kpsim::model::Admission;
use kpsim::net::Protocol;
use serde_norway::Value;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn cases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["oracle/ipvs", "spec/ipvs"] {
        let Ok(entries) = fs::read_dir(data().join(dir)) else { continue };
        out.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("input.yaml").is_file()),
        );
    }
    out.sort();
    out
}

fn load(case: &Path) -> Ruleset {
    let input = fs::read_to_string(case.join("input.yaml")).expect("input.yaml");
    let manifests = kpsim::manifest::parse(&input);
    let (cluster, _) = kpsim::model::build::build(&manifests, Admission::AsGiven);
    let text = fs::read_to_string(case.join("settings.yaml")).expect("settings.yaml");
    let (file, diagnostics) = kpsim::settings::parse_settings_file(&text);
    assert!(diagnostics.is_empty(), "{}: settings: {diagnostics:?}", case.display());
    let mut diagnostics = Vec::new();
    let settings = file.resolve(&cluster, &mut diagnostics);
    assert!(diagnostics.is_empty(), "{}: settings: {diagnostics:?}", case.display());
    ipvs::build(&kpsim::proxy::plan(&cluster, &settings))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn list(v: &Value) -> Vec<Value> {
    v.as_sequence().cloned().unwrap_or_default()
}

fn ip(v: &Value) -> IpAddr {
    text(v).parse().unwrap_or_else(|_| panic!("not an IP: {v:?}"))
}

/// `(address, port)` pairs of a listed virtual server's real servers (with weights when
/// `weights`).
fn listed_real_servers(vs: &Value, weights: bool) -> BTreeSet<String> {
    list(&vs["real_servers"])
        .iter()
        .map(|r| {
            let w = if weights { format!(" w{}", text(&r["weight"])) } else { String::new() };
            format!("{}:{}{w}", text(&r["address"]), text(&r["port"]))
        })
        .collect()
}

fn actual_real_servers(vs: &ipvs::VirtualServer, weights: bool) -> BTreeSet<String> {
    vs.real_servers
        .iter()
        .map(|r| {
            let w = if weights { format!(" w{}", r.weight) } else { String::new() };
            format!("{}:{}{w}", r.address, r.port)
        })
        .collect()
}

fn find<'a>(rules: &'a Ruleset, vs: &Value) -> Option<&'a ipvs::VirtualServer> {
    let protocol = Protocol::from_k8s(&text(&vs["protocol"]))?;
    let port: u16 = text(&vs["port"]).parse().ok()?;
    rules.virtual_server(ip(&vs["address"]), port, protocol)
}

fn check_ipvs(rules: &Ruleset, spec: &Value, errors: &mut Vec<String>) {
    let listed = list(&spec["virtual_servers"]);
    match text(&spec["assertion"]).as_str() {
        "exact" => {
            if listed.len() != rules.virtual_servers.len() {
                let names: Vec<String> = rules.virtual_servers.iter().map(|v| v.name()).collect();
                errors.push(format!(
                    "ipvs: {} virtual servers expected, got {}: {names:?}",
                    listed.len(),
                    rules.virtual_servers.len()
                ));
            }
            for vs in &listed {
                let Some(actual) = find(rules, vs) else {
                    errors.push(format!("ipvs: no virtual server {vs:?}"));
                    continue;
                };
                let flags: BTreeSet<String> = list(&vs["flags"]).iter().map(text).collect();
                let actual_flags: BTreeSet<String> = actual
                    .flags
                    .names()
                    .into_iter()
                    .filter(|f| *f != "hashed")
                    .map(str::to_owned)
                    .collect();
                let expected_flags: BTreeSet<String> =
                    flags.into_iter().filter(|f| f != "hashed").collect();
                let checks = [
                    ("scheduler", text(&vs["scheduler"]), actual.scheduler.to_string()),
                    ("timeout", text(&vs["timeout"]), actual.timeout.to_string()),
                    ("flags", format!("{expected_flags:?}"), format!("{actual_flags:?}")),
                    (
                        "real servers",
                        format!("{:?}", listed_real_servers(vs, true)),
                        format!("{:?}", actual_real_servers(actual, true)),
                    ),
                ];
                for (what, e, a) in checks {
                    if e != a {
                        errors
                            .push(format!("ipvs {}: {what}: expected {e}, got {a}", actual.name()));
                    }
                }
            }
        }
        "partial" => {
            if let Some(n) = spec["virtual_server_count"].as_u64()
                && n as usize != rules.virtual_servers.len()
            {
                let names: Vec<String> = rules.virtual_servers.iter().map(|v| v.name()).collect();
                errors.push(format!("ipvs: {n} virtual servers expected, got {names:?}"));
            }
            for vs in &listed {
                match find(rules, vs) {
                    None => errors.push(format!("ipvs: no virtual server {vs:?}")),
                    Some(actual) => {
                        let (e, a) =
                            (listed_real_servers(vs, false), actual_real_servers(actual, false));
                        if e != a {
                            errors.push(format!(
                                "ipvs {}: real servers: expected {e:?}, got {a:?}",
                                actual.name()
                            ));
                        }
                    }
                }
            }
        }
        "every_virtual_server" => {
            let every = &spec["every"];
            if rules.virtual_servers.is_empty() {
                errors.push("ipvs: no virtual server at all".to_owned());
            }
            for vs in &rules.virtual_servers {
                if !every["timeout"].is_null() && text(&every["timeout"]) != vs.timeout.to_string()
                {
                    errors.push(format!("ipvs {}: timeout {} expected", vs.name(), vs.timeout));
                }
            }
        }
        other => errors.push(format!("unknown ipvs assertion `{other}`")),
    }
}

fn check_ipsets(rules: &Ruleset, spec: &Value, errors: &mut Vec<String>) {
    let Some(map) = spec.as_mapping() else { return };
    for (name, set) in map {
        let name = text(name);
        let Some(actual) = rules.ipset(&name) else {
            errors.push(format!("ipset {name}: missing"));
            continue;
        };
        if actual.kind.as_str() != text(&set["type"]) {
            errors.push(format!(
                "ipset {name}: type {} expected, got {}",
                text(&set["type"]),
                actual.kind
            ));
        }
        let mut expected: Vec<String> = list(&set["entries"]).iter().map(text).collect();
        let mut got: Vec<String> = actual.entries.iter().map(|e| e.to_string()).collect();
        expected.sort();
        got.sort();
        if expected != got {
            errors.push(format!("ipset {name}: expected {expected:?}, got {got:?}"));
        }
    }
}

fn jump_of(t: Option<&Target>) -> String {
    match t {
        Some(Target::Jump { chain }) | Some(Target::Goto { chain }) => chain.to_string(),
        Some(Target::Accept) => "ACCEPT".into(),
        Some(Target::Drop) => "DROP".into(),
        Some(Target::Return) => "RETURN".into(),
        Some(Target::Reject { .. }) => "REJECT".into(),
        Some(Target::Masquerade { .. }) => "MASQUERADE".into(),
        Some(Target::Mark(_)) => "MARK".into(),
        Some(Target::Dnat { .. }) => "DNAT".into(),
        Some(Target::Other { name, .. }) => name.clone(),
        None => String::new(),
    }
}

fn check_iptables(rules: &Ruleset, spec: &Value, errors: &mut Vec<String>) {
    let Some(map) = spec.as_mapping() else { return };
    for (chain, expected) in map {
        let chain = text(chain);
        let expected = list(expected);
        let actual = rules.iptables.chain_rules(&chain);
        let summary = |t: &str, j: String, s: Option<String>| format!("{t} -j {j} set={s:?}");
        let e: Vec<String> = expected
            .iter()
            .map(|r| {
                let set = (!r["match_set"].is_null()).then(|| text(&r["match_set"]));
                summary(&text(&r["table"]), text(&r["jump"]), set)
            })
            .collect();
        let a: Vec<String> = actual
            .iter()
            .map(|(table, r)| {
                let set = r.matches.iter().find_map(|m| match m {
                    Match::Set(s) => Some(s.name.clone()),
                    _ => None,
                });
                summary(table.as_str(), jump_of(r.target.as_ref()), set)
            })
            .collect();
        if e != a {
            errors.push(format!("iptables {chain}:\n  expected {e:#?}\n  got {a:#?}"));
        }
    }
}

fn check_dummy(rules: &Ruleset, spec: &Value, errors: &mut Vec<String>) {
    let expected: BTreeSet<IpAddr> = list(&spec["addresses"]).iter().map(ip).collect();
    if expected != rules.dummy.addresses {
        errors.push(format!("kube-ipvs0: expected {expected:?}, got {:?}", rules.dummy.addresses));
    }
}

fn check_text(case: &Path, file: &str, actual: &str, errors: &mut Vec<String>) -> bool {
    let Ok(expected) = fs::read_to_string(case.join(file)) else { return false };
    if expected != actual {
        let diff = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (e, a))| e != a)
            .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
            .unwrap_or_else(|| "lengths differ".to_owned());
        errors.push(format!("{file}: {diff}\n--- actual ---\n{actual}"));
    }
    true
}

/// A check of one `expected.yaml` section.
type Check = fn(&Ruleset, &Value, &mut Vec<String>);

#[test]
fn every_ipvs_case_matches_its_expected_state() {
    let (mut checked, mut failed, mut assertions) = (0, 0, 0);
    let mut report = Vec::new();
    for case in cases() {
        let expected: Value = serde_norway::from_str(
            &fs::read_to_string(case.join("expected.yaml")).expect("expected.yaml"),
        )
        .expect("expected.yaml is YAML");
        let rules = load(&case);
        let mut errors = Vec::new();
        let sections: [(&str, Check); 4] = [
            ("ipvs", check_ipvs),
            ("ipsets", check_ipsets),
            ("iptables", check_iptables),
            ("dummy_interface", check_dummy),
        ];
        for (key, check) in sections {
            if !expected[key].is_null() {
                check(&rules, &expected[key], &mut errors);
                assertions += 1;
            }
        }
        for (file, actual) in [
            ("expected.iptables-restore", rules.iptables.to_string()),
            ("expected.ipvsadm", rules.ipvsadm().to_string()),
        ] {
            if check_text(&case, file, &actual, &mut errors) {
                assertions += 1;
            }
        }
        checked += 1;
        if !errors.is_empty() {
            failed += 1;
            report.push(format!("{}:\n  {}", case.display(), errors.join("\n  ")));
        }
    }
    println!(
        "ipvs cases: {checked} checked ({assertions} assertion sections), {} passed, {failed} failed",
        checked - failed
    );
    assert!(checked >= 16, "expected the 15 oracle cases and the spec case, found {checked}");
    assert!(report.is_empty(), "{}", report.join("\n"));
}
