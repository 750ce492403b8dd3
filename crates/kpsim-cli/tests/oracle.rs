//! The reference cases (`crates/kpsim/tests/data/oracle/{iptables,nftables}/`) and the spec
//! conformance cases (`crates/kpsim/tests/data/spec/{iptables,nftables}/`: small inputs whose
//! expectations were derived by hand from `shared/spec/`, one `NOTES.md` each citing the
//! sections checked), every one of them, through the `kpsim` binary's CLI contract: iptables
//! dumps byte for byte, nftables transactions after the upstream test's normalisation and
//! `nft list` views byte for byte, chains rule for rule, flows destination for destination.
//!
//! The harness walks the folders: any folder with a `settings.yaml` is a case; a case with a
//! `steps.yaml` (or, without one, `step*` subfolders holding an `input.yaml`) is checked step
//! folder by step folder with the case's settings. So unpublished cases of the same kind
//! dropped into the folders are checked too.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

fn data_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../kpsim/tests/data")
}

/// The case roots the harness walks: the reference corpus and the spec conformance cases.
const ROOTS: [&str; 2] = ["oracle", "spec"];

#[derive(Debug, Deserialize)]
struct Flow {
    name: String,
    source_ip: String,
    dest_ip: String,
    dest_port: u16,
    protocol: String,
    expected_output: String,
    expected_masq: bool,
}

#[derive(Debug, Deserialize)]
struct ExpectedChain {
    table: String,
    chain: String,
    rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct StepEntry {
    dir: String,
}

/// Tally of what was checked, and what failed.
#[derive(Debug, Default)]
struct Report {
    cases: usize,
    dumps: usize,
    lists: usize,
    chains: usize,
    flows: usize,
    failures: Vec<String>,
}

fn kpsim(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpsim")).args(args).output().expect("run kpsim");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

fn find_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("settings.yaml").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    entries.sort();
    for e in entries {
        find_cases(&e, out);
    }
}

/// The rules of one chain in a restore text (the lines `-A CHAIN …` inside `*table`).
fn chain_rules(restore: &str, table: &str, chain: &str) -> Vec<String> {
    let mut current = "";
    let prefix = format!("-A {chain} ");
    let mut out = Vec::new();
    for line in restore.lines() {
        if let Some(t) = line.strip_prefix('*') {
            current = t;
        } else if current == table && (line.starts_with(&prefix) || line == prefix.trim_end()) {
            out.push(line.to_owned());
        }
    }
    out
}

/// The upstream nftables test's normalisation (`assertNFTablesTransactionEqual`): drop blank
/// and `#` lines; stable-sort by object type (table, chain, rule, set, map, element), then
/// object name (5th word), then — except for rules — the whole line.
fn normalise_nft(text: &str) -> Vec<String> {
    let rank = |line: &str| match line.split(' ').nth(1).unwrap_or("") {
        "table" => 0,
        "chain" => 1,
        "rule" => 2,
        "set" => 3,
        "map" => 4,
        "element" => 5,
        _ => 6,
    };
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    lines.sort_by(|a, b| {
        let key = |l: &str| (rank(l), l.split(' ').nth(4).unwrap_or("").to_owned());
        key(a)
            .cmp(&key(b))
            .then_with(|| if rank(a) == 2 { std::cmp::Ordering::Equal } else { a.cmp(b) })
    });
    lines
}

fn check_dir(case: &Path, dir: &Path, report: &mut Report) {
    let settings = case.join("settings.yaml");
    let settings = settings.to_str().unwrap_or_default();
    let input = dir.join("input.yaml");
    let input_s = input.to_str().unwrap_or_default().to_owned();
    let rules_file = dir.join("rules.iptables-restore");
    let name = dir.strip_prefix(data_root()).unwrap_or(dir).display().to_string();

    let restore = if input.is_file() {
        let (out, err, ok) = kpsim(&["rules", "--settings", settings, &input_s]);
        if !ok {
            report.failures.push(format!("{name}: kpsim rules failed: {err}"));
        }
        Some(out)
    } else {
        None
    };

    let expected_dump = dir.join("expected.iptables-save");
    if expected_dump.is_file() {
        report.dumps += 1;
        let want = std::fs::read_to_string(&expected_dump).unwrap_or_default();
        let got = restore.clone().unwrap_or_default();
        if got != want {
            report.failures.push(format!("{name}: dump differs\n--- want\n{want}--- got\n{got}"));
        }
    }

    let expected_nft = dir.join("expected.nft");
    if expected_nft.is_file() {
        report.dumps += 1;
        let want = normalise_nft(&std::fs::read_to_string(&expected_nft).unwrap_or_default());
        let got = normalise_nft(restore.as_deref().unwrap_or(""));
        if got != want {
            let diff: Vec<String> = want
                .iter()
                .filter(|l| !got.contains(l))
                .map(|l| format!("- {l}"))
                .chain(got.iter().filter(|l| !want.contains(l)).map(|l| format!("+ {l}")))
                .collect();
            report.failures.push(format!(
                "{name}: transaction differs after normalisation\n{}",
                if diff.is_empty() {
                    "(same lines, different rule order)".to_owned()
                } else {
                    diff.join("\n")
                }
            ));
        }
    }

    let expected_list = dir.join("expected.ruleset.txt");
    if expected_list.is_file() && input.is_file() {
        report.lists += 1;
        let want: String = std::fs::read_to_string(&expected_list)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let (got, err, ok) =
            kpsim(&["rules", "--settings", settings, "--format", "list", &input_s]);
        if !ok || got != want {
            report.failures.push(format!(
                "{name}: nft list view differs {err}\n--- want\n{want}--- got\n{got}"
            ));
        }
    }

    let expected_chains = dir.join("expected-chains.yaml");
    if expected_chains.is_file() {
        let text = std::fs::read_to_string(&expected_chains).unwrap_or_default();
        let chains: Vec<ExpectedChain> =
            serde_norway::from_str(&text).expect("expected-chains.yaml");
        for c in chains {
            report.chains += 1;
            let got = chain_rules(restore.as_deref().unwrap_or(""), &c.table, &c.chain);
            if got != c.rules {
                report.failures.push(format!(
                    "{name}: {} {} differs\n  want {:#?}\n  got  {:#?}",
                    c.table, c.chain, c.rules, got
                ));
            }
        }
    }

    let flows_file = dir.join("flows.yaml");
    if flows_file.is_file() {
        let text = std::fs::read_to_string(&flows_file).unwrap_or_default();
        let flows: Vec<Flow> = serde_norway::from_str(&text).expect("flows.yaml");
        for f in flows {
            report.flows += 1;
            let to = if f.dest_ip.contains(':') {
                format!("[{}]:{}", f.dest_ip, f.dest_port)
            } else {
                format!("{}:{}", f.dest_ip, f.dest_port)
            };
            let proto = f.protocol.to_ascii_lowercase();
            let mut args = vec![
                "trace",
                "--settings",
                settings,
                "--from",
                &f.source_ip,
                "--to",
                &to,
                "--proto",
                &proto,
                "--all-branches",
                "--output",
                "json",
            ];
            let rules_s = rules_file.to_str().unwrap_or_default().to_owned();
            if input.is_file() {
                args.push(&input_s);
            } else {
                args.push("--rules");
                args.push(&rules_s);
            }
            let (out, err, ok) = kpsim(&args);
            if !ok {
                report.failures.push(format!("{name} / {}: kpsim trace failed: {err}", f.name));
                continue;
            }
            let v: serde_json::Value = match serde_json::from_str(&out) {
                Ok(v) => v,
                Err(e) => {
                    report.failures.push(format!("{name} / {}: bad JSON: {e}", f.name));
                    continue;
                }
            };
            let verdict = v["verdict"].as_str().unwrap_or_default();
            let output = match verdict {
                "dnat" => v["destinations"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|d| d.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
                "none" => String::new(),
                other => other.to_ascii_uppercase(),
            };
            let masq = v["masquerade"].as_bool().unwrap_or(false);
            if output != f.expected_output || masq != f.expected_masq {
                report.failures.push(format!(
                    "{name} / {}: want {:?} masq={}, got {:?} masq={}",
                    f.name, f.expected_output, f.expected_masq, output, masq
                ));
            }
        }
    }
}

#[test]
fn every_iptables_and_nftables_reference_and_spec_case_passes_through_the_cli() {
    let mut cases = Vec::new();
    for root in ROOTS {
        let before = cases.len();
        find_cases(&data_root().join(root).join("iptables"), &mut cases);
        find_cases(&data_root().join(root).join("nftables"), &mut cases);
        assert!(cases.len() > before, "no cases under {}", data_root().join(root).display());
    }
    // `KPSIM_CASES=<substring>` narrows the run to the case folders whose path below
    // `tests/data` contains it (e.g. `spec/nftables`), while working on them; unset, every
    // case runs.
    if let Ok(filter) = std::env::var("KPSIM_CASES") {
        let root = data_root();
        cases
            .retain(|c| c.strip_prefix(&root).unwrap_or(c).display().to_string().contains(&filter));
    }
    let mut report = Report::default();
    for case in &cases {
        report.cases += 1;
        let steps = case.join("steps.yaml");
        if steps.is_file() {
            let text = std::fs::read_to_string(&steps).unwrap_or_default();
            let steps: Vec<StepEntry> = serde_norway::from_str(&text).expect("steps.yaml");
            for s in steps {
                check_dir(case, &case.join(&s.dir), &mut report);
            }
            continue;
        }
        let mut step_dirs: Vec<PathBuf> = std::fs::read_dir(case)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        step_dirs.retain(|p| {
            p.is_dir()
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("step"))
                && p.join("input.yaml").is_file()
        });
        step_dirs.sort();
        if case.join("input.yaml").is_file()
            || case.join("rules.iptables-restore").is_file()
            || step_dirs.is_empty()
        {
            check_dir(case, case, &mut report);
        }
        for dir in &step_dirs {
            check_dir(case, dir, &mut report);
        }
    }
    eprintln!(
        "oracle: {} cases, {} dumps, {} list views, {} chains, {} flows checked, {} failures",
        report.cases,
        report.dumps,
        report.lists,
        report.chains,
        report.flows,
        report.failures.len()
    );
    assert!(report.failures.is_empty(), "{}", report.failures.join("\n\n"));
}
