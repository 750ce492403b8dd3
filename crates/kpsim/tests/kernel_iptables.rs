//! The kernel round trip: for every reference case with manifests (and the walkthrough
//! example), load the generated restore text into the real `iptables-restore` inside a
//! scratch network namespace — after the commands kubelet and kube-proxy run outside the
//! restore input — and check that the real `iptables-save` prints exactly our `save`
//! rendering.
//!
//! Needs root, `ip`, `iptables`/`ip6tables` (nf_tables) and `nfacct` (`cargo xtask test`
//! installs them). `KPSIM_SKIP_KERNEL_TESTS=1` skips it, loudly.

mod support {
    pub mod netns;
    pub mod scenarios;
}

use support::netns::{Netns, argv, have};

use std::path::{Path, PathBuf};
use std::process::Command;

use kpsim::backend::iptables::{self, CommandKind, Ruleset, TableName};
use kpsim::model::Admission;
use kpsim::net::IpFamily;
use kpsim::settings::{Mode, ProxySettings};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every ruleset to check: (name, settings, ruleset).
fn cases() -> Vec<(String, ProxySettings, Ruleset)> {
    let mut out = Vec::new();
    let mut dirs = Vec::new();
    collect(&data().join("oracle/iptables"), &mut dirs);
    for dir in dirs {
        let input = dir.join("input.yaml");
        let case = if dir.join("settings.yaml").is_file() {
            dir.clone()
        } else {
            dir.parent().unwrap_or(&dir).to_path_buf()
        };
        let settings_text = std::fs::read_to_string(case.join("settings.yaml")).unwrap_or_default();
        let text = std::fs::read_to_string(&input).unwrap_or_default();
        let m = kpsim::manifest::parse(&text);
        let (cluster, _) = kpsim::model::build::build(&m, Admission::Auto);
        let (file, d) = kpsim::settings::parse_settings_file(&settings_text);
        assert!(d.is_empty(), "{}: {d:?}", case.display());
        let mut diags = Vec::new();
        let settings = file.resolve(&cluster, &mut diags);
        let plan = kpsim::proxy::plan(&cluster, &settings);
        let name = dir.strip_prefix(data()).unwrap_or(&dir).display().to_string();
        out.push((name, settings, iptables::build(&plan)));
    }
    // Every scenario, on each of its nodes (the walkthrough among them).
    for (name, settings, ruleset) in support::scenarios::rulesets(Mode::Iptables) {
        if let kpsim::backend::Ruleset::Iptables(r) = ruleset {
            out.push((format!("scenario {name}"), settings, r));
        }
    }
    out
}

/// Folders holding an `input.yaml` (cases and steps).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("input.yaml").is_file() {
        out.push(dir.to_path_buf());
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    subdirs.sort();
    for d in subdirs {
        collect(&d, out);
    }
}

fn round_trip(name: &str, settings: &ProxySettings, ruleset: &Ruleset) -> Result<(), String> {
    let ns = Netns::new("kpsim-test");
    let (tool, restore_tool, save_tool) = match settings.family {
        IpFamily::V4 => ("iptables", "iptables-restore", "iptables-save"),
        IpFamily::V6 => ("ip6tables", "ip6tables-restore", "ip6tables-save"),
    };
    for counter in &settings.nfacct_counters {
        let (ok, _, err) = ns.run("nfacct", &["add".to_owned(), counter.clone()], None);
        if !ok {
            return Err(format!("{name}: nfacct add {counter}: {err}"));
        }
    }
    for c in iptables::node_commands(settings.family) {
        let table = c.table.as_str().to_owned();
        let rule_args =
            |rule: &iptables::Rule| argv(&rule.line(&c.chain).to_string())[2..].to_vec();
        let base = vec!["-w".to_owned(), "-t".to_owned(), table];
        let run = |op: &str, extra: Vec<String>| {
            let mut a = base.clone();
            a.push(op.to_owned());
            a.push(c.chain.to_string());
            a.extend(extra);
            ns.run(tool, &a, None)
        };
        let result = match &c.kind {
            CommandKind::NewChain => {
                let _ = run("-N", vec![]);
                (true, String::new(), String::new())
            }
            CommandKind::Insert(r) => run("-I", rule_args(r)),
            CommandKind::Append(r) => run("-A", rule_args(r)),
            CommandKind::EnsureFirst(r) => {
                if run("-C", rule_args(r)).0 {
                    (true, String::new(), String::new())
                } else {
                    run("-I", rule_args(r))
                }
            }
        };
        if !result.0 {
            return Err(format!("{name}: {tool} {:?} on {}: {}", c.kind, c.chain, result.2));
        }
    }
    let restore = ruleset.to_string();
    let (ok, _, err) = ns.run(restore_tool, &["--noflush", "--test"], Some(&restore));
    if !ok {
        return Err(format!("{name}: {restore_tool} --test rejected the rules: {err}\n{restore}"));
    }
    let (ok, _, err) = ns.run(restore_tool, &["--noflush", "--counters"], Some(&restore));
    if !ok {
        return Err(format!("{name}: {restore_tool} failed: {err}\n{restore}"));
    }
    let (ok, saved, err) = ns.run::<&str>(save_tool, &[], None);
    if !ok {
        return Err(format!("{name}: {save_tool} failed: {err}"));
    }
    let real: String =
        saved.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    let ours = ruleset.save().to_string();
    if real != ours {
        let diff: Vec<String> = real
            .lines()
            .zip(ours.lines().chain(std::iter::repeat("<missing>")))
            .filter(|(a, b)| a != b)
            .take(5)
            .map(|(a, b)| format!("  kernel: {a}\n  kpsim:  {b}"))
            .collect();
        return Err(format!(
            "{name}: save rendering differs from the kernel's\n{}\n--- kernel\n{real}--- kpsim\n{ours}",
            diff.join("\n")
        ));
    }
    Ok(())
}

#[test]
fn generated_rules_load_into_the_kernel_and_save_renders_what_iptables_save_prints() {
    if std::env::var("KPSIM_SKIP_KERNEL_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("!!!!! SKIPPED: kernel round-trip test (KPSIM_SKIP_KERNEL_TESTS=1) !!!!!");
        return;
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let missing: Vec<&str> =
        ["ip", "iptables-restore", "iptables-save", "ip6tables-restore", "nfacct"]
            .into_iter()
            .filter(|p| !have(p))
            .collect();
    assert!(
        root && missing.is_empty(),
        "the kernel round-trip test needs root and {missing:?}: run `cargo xtask test` (it installs \
         iptables, iproute2 and nfacct from Debian), or `apt-get install -y iptables iproute2 nfacct`; \
         set KPSIM_SKIP_KERNEL_TESTS=1 to skip it"
    );
    let cases = cases();
    let mut failures = Vec::new();
    for (name, settings, ruleset) in &cases {
        if let Err(e) = round_trip(name, settings, ruleset) {
            failures.push(e);
        }
        assert!(ruleset.table(TableName::Nat).is_some(), "{name}: no nat table");
    }
    eprintln!("kernel round trip: {} rulesets, {} failures", cases.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
