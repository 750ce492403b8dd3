//! The real kernel as the judge of both renderings: every oracle case and every scenario
//! (each node) is loaded into a scratch network namespace with the real `nft` (nftables 1.0.6 on
//! Debian 12): the transaction must pass `nft -c -f` and `nft -f`, and `nft list table` must
//! print exactly our list view, and parsing that listing must give the ruleset as loaded. The namespace is always deleted.
//!
//! Needs root, `ip` (iproute2) and `nft` (nftables). `KPSIM_SKIP_KERNEL_TESTS=1` skips it
//! loudly on machines without them.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

mod support {
    pub mod nftables;
    pub mod scenarios;
}
use kpsim::backend::nftables::Ruleset;
use support::nftables::{load, name, oracle_cases};

const INSTALL_HINT: &str = "install them with `apt-get install nftables iproute2` (or run \
`cargo xtask test`, which installs them) and run the tests as root; set \
KPSIM_SKIP_KERNEL_TESTS=1 to skip the kernel tests";

/// `None` when the kernel tests may run; `Some(reason)` when they are skipped on request.
fn preconditions() -> Option<String> {
    let skip = std::env::var("KPSIM_SKIP_KERNEL_TESTS").is_ok_and(|v| v == "1");
    let mut missing = Vec::new();
    for tool in ["nft", "ip"] {
        let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
            || Command::new(tool).arg("-V").output().is_ok_and(|o| o.status.success());
        if !found {
            missing.push(format!("`{tool}` is not installed"));
        }
    }
    let uid = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:").map(|r| r.split_whitespace().next().map(str::to_owned))
            })
        })
        .flatten();
    if uid.as_deref() != Some("0") {
        missing.push("not running as root".to_owned());
    }
    if missing.is_empty() {
        return None;
    }
    let reason = missing.join(", ");
    assert!(skip, "kernel nftables tests cannot run: {reason}; {INSTALL_HINT}");
    Some(reason)
}

/// A scratch network namespace, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("kpsim-nft-{}-{tag}", std::process::id());
        let out = Command::new("ip").args(["netns", "add", &name]).output().expect("ip netns add");
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Netns(name)
    }

    fn nft(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, "nft"])
            .args(args)
            .output()
            .expect("ip netns exec … nft")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.0]).output();
    }
}

fn check_ruleset(ruleset: &Ruleset, index: usize) -> Result<(), String> {
    let transaction = ruleset.transaction().to_string();
    let file: PathBuf =
        std::env::temp_dir().join(format!("kpsim-nft-{}-{index}.nft", std::process::id()));
    fs::write(&file, &transaction).map_err(|e| e.to_string())?;
    let file_arg = file.to_string_lossy().into_owned();
    let ns = Netns::new(&index.to_string());
    let result = (|| {
        for args in [vec!["-c", "-f", file_arg.as_str()], vec!["-f", file_arg.as_str()]] {
            let out = ns.nft(&args);
            if !out.status.success() {
                return Err(format!(
                    "nft {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let mut listed = String::new();
        for table in &ruleset.tables {
            let out = ns.nft(&["list", "table", table.family.as_str(), &table.name]);
            if !out.status.success() {
                return Err(format!("nft list table: {}", String::from_utf8_lossy(&out.stderr)));
            }
            listed.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        let ours = ruleset.list_view().to_string();
        if listed != ours {
            let diff = listed
                .lines()
                .zip(ours.lines())
                .enumerate()
                .find(|(_, (k, o))| k != o)
                .map(|(i, (k, o))| format!("line {}:\n  kernel: {k}\n  ours:   {o}", i + 1))
                .unwrap_or_else(|| "one is a prefix of the other".to_owned());
            return Err(format!(
                "nft list differs from our list view at {diff}\n--- kernel ---\n{listed}"
            ));
        }
        Ok(())
    })();
    let _ = fs::remove_file(&file);
    result
}

#[test]
fn transactions_load_into_the_kernel_and_list_as_our_list_view() {
    if let Some(reason) = preconditions() {
        eprintln!(
            "\n!!!!! SKIPPED kernel nftables tests (KPSIM_SKIP_KERNEL_TESTS=1): {reason} !!!!!\n"
        );
        return;
    }
    let mut rulesets: Vec<(String, Ruleset)> =
        oracle_cases().iter().map(|case| (name(case), load(case).0)).collect();
    for (name, _, ruleset) in support::scenarios::rulesets(kpsim::settings::Mode::Nftables) {
        if let kpsim::backend::Ruleset::Nftables(r) = ruleset {
            rulesets.push((format!("scenario {name}"), r));
        }
    }
    let mut failures = Vec::new();
    for (i, (name, ruleset)) in rulesets.iter().enumerate() {
        if let Err(e) = check_ruleset(ruleset, i) {
            failures.push(format!("{name}: {e}"));
        }
    }
    println!(
        "kernel nftables: {} rulesets loaded and listed, {} failed",
        rulesets.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
