//! IPVS mode against the real kernel, in a scratch network namespace: for every IPVS reference
//! and spec case and every scenario, the ipsets are made with `ipset restore` from our
//! `ipset restore` view (and `ipset save` must list exactly our entries), the iptables skeleton
//! loads with `iptables-restore --noflush` (after `--test`), the jumps from the built-in chains
//! are inserted as kube-proxy inserts them, and `iptables-save` must print our `save` view.
//!
//! Not checked here: IPVS itself (no `ip_vs` module in this sandbox); where the kernel lacks
//! `xt_ipvs`, the `-m ipvs` rules of `KUBE-IPVS-OUT-FILTER`; and `hash:ip,port,net` entries
//! with a zero-length network (a `0.0.0.0/0` source range), which the kernel refuses
//! ("The value of the CIDR parameter of the IP address is invalid") — kube-proxy asks for
//! them, one `ipset add` each, and that add fails on a node. Both are left out of the load and
//! of the comparison, and counted in the summary line. Needs root, `ip`, `iptables`/`ip6tables` and `ipset`
//! (`cargo xtask test` installs them); `KPSIM_SKIP_KERNEL_TESTS=1` skips it, loudly.

mod support {
    pub mod netns;
    pub mod scenarios;
}

use support::netns::{Netns, argv, have};

use std::path::{Path, PathBuf};
use std::process::Command;

use kpsim::backend::iptables::Match;
use kpsim::backend::ipvs::{self, IpSetEntry, Ruleset};
use kpsim::model::Admission;
use kpsim::net::IpFamily;
use kpsim::settings::Mode;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn load_case(dir: &Path) -> Ruleset {
    let text = std::fs::read_to_string(dir.join("input.yaml")).unwrap_or_default();
    let settings_text = std::fs::read_to_string(dir.join("settings.yaml")).unwrap_or_default();
    let m = kpsim::manifest::parse(&text);
    let (cluster, _) = kpsim::model::build::build(&m, Admission::AsGiven);
    let (file, d) = kpsim::settings::parse_settings_file(&settings_text);
    assert!(d.is_empty(), "{}: {d:?}", dir.display());
    let settings = file.resolve(&cluster, &mut Vec::new());
    ipvs::build(&kpsim::proxy::plan(&cluster, &settings))
}

/// Every IPVS state to check: (name, ruleset).
fn cases() -> Vec<(String, Ruleset)> {
    let mut out = Vec::new();
    for dir in ["oracle/ipvs", "spec/ipvs"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(data().join(dir))
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.retain(|d| d.join("input.yaml").is_file());
        dirs.sort();
        for d in dirs {
            let name = d.strip_prefix(data()).unwrap_or(&d).display().to_string();
            out.push((name, load_case(&d)));
        }
    }
    for (name, _, ruleset) in support::scenarios::rulesets(Mode::Ipvs) {
        if let kpsim::backend::Ruleset::Ipvs(r) = ruleset {
            out.push((format!("scenario {name}"), r));
        }
    }
    out
}

/// The `add` lines of an `ipset save`/`restore` text, sorted.
fn adds(text: &str) -> Vec<String> {
    let mut v: Vec<String> =
        text.lines().filter(|l| l.starts_with("add ")).map(str::to_owned).collect();
    v.sort();
    v
}

/// What a round trip had to leave out: `-m ipvs` rules, zero-length-network set entries.
#[derive(Default)]
struct LeftOut {
    ipvs_rules: usize,
    zero_nets: usize,
}

fn round_trip(name: &str, ruleset: &Ruleset, xt_ipvs: bool) -> Result<LeftOut, String> {
    let ns = Netns::new("kpsim-ipvs");
    let (tool, restore_tool, save_tool) = match ruleset.family {
        IpFamily::V4 => ("iptables", "iptables-restore", "iptables-save"),
        IpFamily::V6 => ("ip6tables", "ip6tables-restore", "ip6tables-save"),
    };
    let mut left_out = LeftOut::default();
    let mut loadable = ruleset.clone();
    for set in &mut loadable.ipsets {
        let before = set.entries.len();
        set.entries
            .retain(|e| !matches!(e, IpSetEntry::IpPortNet { net, .. } if net.prefix_len() == 0));
        left_out.zero_nets += before - set.entries.len();
    }
    let sets = loadable.ipset_restore().to_string();
    let (ok, _, err) = ns.run("ipset", &["restore"], Some(&sets));
    if !ok {
        return Err(format!("{name}: ipset restore rejected the sets: {err}\n{sets}"));
    }
    let (_, saved_sets, _) = ns.run("ipset", &["save"], None);
    if adds(&saved_sets) != adds(&sets) {
        return Err(format!(
            "{name}: ipset save differs\n--- kernel\n{saved_sets}--- kpsim\n{sets}"
        ));
    }
    // Without xt_ipvs, the `-m ipvs` rules cannot load: both sides leave them out.
    let mut skeleton = ruleset.iptables.clone();
    let before = skeleton.filter.rules.len();
    if !xt_ipvs {
        skeleton
            .filter
            .rules
            .retain(|(_, r)| !r.matches.iter().any(|m| matches!(m, Match::Ipvs(_))));
    }
    left_out.ipvs_rules = before - skeleton.filter.rules.len();
    let restore = skeleton.to_string();
    for args in [&["--noflush", "--test"][..], &["--noflush"][..]] {
        let (ok, _, err) = ns.run(restore_tool, args, Some(&restore));
        if !ok {
            return Err(format!(
                "{name}: {restore_tool} {args:?} rejected the rules: {err}\n{restore}"
            ));
        }
    }
    for j in &skeleton.jumps {
        let line = j.rule.line(&j.chain).to_string();
        let words = argv(&line);
        let mut args = vec!["-w", "-t", j.table.as_str(), "-I"];
        args.extend(words[1..].iter().map(String::as_str));
        let (ok, _, err) = ns.run(tool, &args, None);
        if !ok {
            return Err(format!("{name}: {tool} {args:?}: {err}"));
        }
    }
    let (ok, saved, err) = ns.run::<&str>(save_tool, &[], None);
    if !ok {
        return Err(format!("{name}: {save_tool} failed: {err}"));
    }
    let real: String =
        saved.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    let ours = skeleton.to_iptables().save().to_string();
    if real != ours {
        return Err(format!(
            "{name}: save rendering differs from the kernel's\n--- kernel\n{real}--- kpsim\n{ours}"
        ));
    }
    Ok(left_out)
}

/// True when the kernel accepts `-m ipvs` (module `xt_ipvs`).
fn kernel_has_xt_ipvs() -> bool {
    let ns = Netns::new("kpsim-ipvs");
    let rules = "*filter\n:T - [0:0]\n-A T -m ipvs --vaddr 10.0.0.1 --vproto tcp --vport 80 -j DROP\nCOMMIT\n";
    ns.run("iptables-restore", &["--noflush"], Some(rules)).0
}

#[test]
fn ipvs_sets_and_iptables_skeleton_load_into_the_kernel_and_save_as_rendered() {
    if std::env::var("KPSIM_SKIP_KERNEL_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("!!!!! SKIPPED: IPVS kernel round-trip test (KPSIM_SKIP_KERNEL_TESTS=1) !!!!!");
        return;
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let missing: Vec<&str> = ["ip", "iptables-restore", "ip6tables-restore", "ipset"]
        .into_iter()
        .filter(|p| !have(p))
        .collect();
    assert!(
        root && missing.is_empty(),
        "the IPVS kernel round-trip test needs root and {missing:?}: run `cargo xtask test` (it \
         installs iptables, iproute2 and ipset from Debian), or `apt-get install -y iptables \
         iproute2 ipset`; set KPSIM_SKIP_KERNEL_TESTS=1 to skip it"
    );
    let xt_ipvs = kernel_has_xt_ipvs();
    let cases = cases();
    let mut failures = Vec::new();
    let (mut ipvs_rules, mut zero_nets) = (0, 0);
    for (name, ruleset) in &cases {
        match round_trip(name, ruleset, xt_ipvs) {
            Ok(l) => {
                ipvs_rules += l.ipvs_rules;
                zero_nets += l.zero_nets;
            }
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "IPVS kernel round trip: {} states, {} failures; left out: {zero_nets} zero-length-network \
         set entries{}",
        cases.len(),
        failures.len(),
        if xt_ipvs {
            String::new()
        } else {
            format!(", {ipvs_rules} `-m ipvs` rules (no xt_ipvs in this kernel)")
        }
    );
    assert!(cases.len() >= 16, "expected the IPVS corpus, spec cases and scenarios");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
