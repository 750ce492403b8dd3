//! Installing the tools the chores need, each only when missing or at the wrong version:
//! the wasm32 target, Trunk, wasm-bindgen-cli at Cargo.lock's version, the npm tools
//! (wasm-opt, playwright-core), Debian's Chromium, and iptables/nftables/iproute2/nfacct/ipset.
//!
//! Not responsible for the Rust toolchain itself (rustup provides it) or Node.js (on the
//! machine image). Every install is a step of its own, so the run shows what it cost.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use crate::Result;
use crate::lockfile::{locked_version, toml_value};
use crate::process::Env;
use crate::step::Steps;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const TRUNK_VERSION: &str = "0.21.14";

/// `cargo xtask install`: what `cargo xtask test` needs.
pub fn for_tests(root: &Path) -> Result {
    let env = Env::new(root);
    let mut steps = Steps::new();
    let result = Installer::new(&env).for_tests(&mut steps);
    steps.summary();
    result
}

/// Installs tools through the given [`Env`], running `apt-get update` at most once.
#[derive(Debug)]
pub struct Installer<'a> {
    env: &'a Env,
    apt_updated: bool,
}

impl<'a> Installer<'a> {
    pub fn new(env: &'a Env) -> Installer<'a> {
        Installer { env, apt_updated: false }
    }

    /// What building and serving the page needs.
    pub fn for_web(&mut self, steps: &mut Steps) -> Result {
        self.wasm_target(steps)?;
        self.trunk(steps)?;
        self.wasm_bindgen(steps)?;
        self.npm_tools(steps)
    }

    /// Everything `cargo xtask test` runs: the web tools, the browser, and the netfilter
    /// tools that the real-kernel tests of `cargo test` call.
    pub fn for_tests(&mut self, steps: &mut Steps) -> Result {
        self.for_web(steps)?;
        self.chromium(steps)?;
        self.netfilter(steps)
    }

    fn wasm_target(&mut self, steps: &mut Steps) -> Result {
        let name = "install: rust target wasm32-unknown-unknown";
        let installed = self
            .env
            .stdout_of("rustup", &["target", "list", "--installed"])
            .is_some_and(|out| out.lines().any(|l| l.trim() == WASM_TARGET));
        if installed {
            steps.skip(name, "present");
            return Ok(());
        }
        steps.run(name, || {
            self.env.run(self.env.command("rustup").args(["target", "add", WASM_TARGET]))
        })
    }

    fn trunk(&mut self, steps: &mut Steps) -> Result {
        let name = format!("install: trunk {TRUNK_VERSION}");
        let found = self.env.probe("trunk", &["--version"]);
        if let Some(version) = found.as_deref().and_then(|v| v.strip_prefix("trunk "))
            && trunk_is_compatible(version)
        {
            steps.skip(&name, &format!("trunk {version} present"));
            return Ok(());
        }
        steps.run(&name, || {
            self.env.run(self.env.command("cargo").args([
                "install",
                "--locked",
                &format!("trunk@{TRUNK_VERSION}"),
            ]))
        })
    }

    fn wasm_bindgen(&mut self, steps: &mut Steps) -> Result {
        let version = self.locked_wasm_bindgen()?;
        let name = format!("install: wasm-bindgen-cli {version}");
        if self.env.probe("wasm-bindgen", &["--version"]) == Some(format!("wasm-bindgen {version}"))
        {
            steps.skip(&name, "present");
            return Ok(());
        }
        steps.run(&name, || {
            let spec = format!("wasm-bindgen-cli@{version}");
            let locked =
                self.env.run(self.env.command("cargo").args(["install", "--locked", &spec]));
            if locked.is_ok() {
                return Ok(());
            }
            // Its own lockfile can pin crates our registry lacks (webpki-roots 1.0.11 for
            // 0.2.130, see toolchain.md): resolve afresh.
            println!("`--locked` failed; retrying without it");
            self.env.run(self.env.command("cargo").args(["install", &spec]))
        })
    }

    /// The wasm-bindgen version of Cargo.lock, checked against Trunk.toml's pin.
    fn locked_wasm_bindgen(&self) -> Result<String> {
        let lock = read(&self.env.root.join("Cargo.lock"))?;
        let trunk = read(&self.env.root.join("Trunk.toml"))?;
        let locked = locked_version(&lock, "wasm-bindgen")
            .ok_or("Cargo.lock has no wasm-bindgen; is the web crate a workspace member?")?;
        match toml_value(&trunk, "tools", "wasm_bindgen") {
            Some(pinned) if pinned == locked => Ok(locked),
            pinned => Err(format!(
                "Trunk.toml pins wasm_bindgen = {pinned:?} but Cargo.lock has {locked}; set \
                 `[tools] wasm_bindgen = \"{locked}\"` in Trunk.toml (else Trunk downloads one)"
            )),
        }
    }

    fn npm_tools(&mut self, steps: &mut Steps) -> Result {
        let name = "install: npm tools (binaryen wasm-opt, playwright-core)";
        let tools = self.env.root.join("tools");
        if npm_tools_current(&tools) {
            steps.skip(name, "tools/node_modules is up to date");
        } else {
            if !self.env.has("npm") {
                return Err("npm is missing: install Node.js 20 or newer with npm".into());
            }
            steps.run(name, || {
                self.env.run(self.env.command("npm").current_dir(&tools).args([
                    "ci",
                    "--no-audit",
                    "--no-fund",
                ]))
            })?;
        }
        match self.env.probe("wasm-opt", &["--version"]) {
            Some(v) if v.contains("version 132") => Ok(()),
            other => Err(format!(
                "wasm-opt on PATH is {other:?}, expected version 132 from npm binaryen"
            )),
        }
    }

    fn chromium(&mut self, steps: &mut Steps) -> Result {
        let name = "install: chromium, chromium-driver (apt)";
        if Path::new("/usr/bin/chromium").is_file() {
            steps.skip(name, "/usr/bin/chromium present");
            return Ok(());
        }
        steps.run(name, || self.apt_install(&["chromium", "chromium-driver"]))
    }

    fn netfilter(&mut self, steps: &mut Steps) -> Result {
        let name = "install: iptables, nftables, iproute2, nfacct, ipset (apt)";
        let missing: Vec<&str> = ["iptables", "nft", "ip", "nfacct", "ipset"]
            .into_iter()
            .filter(|p| !self.env.has(p))
            .collect();
        if missing.is_empty() {
            steps.skip(name, "iptables, nft, ip, nfacct and ipset present");
            return Ok(());
        }
        println!("missing: {}", missing.join(", "));
        steps.run(name, || {
            self.apt_install(&["iptables", "nftables", "iproute2", "nfacct", "ipset"])
        })
    }

    fn apt_install(&mut self, packages: &[&str]) -> Result {
        if !self.apt_updated {
            self.env.run(
                self.env.command("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"),
            )?;
            self.apt_updated = true;
        }
        self.env.run(
            self.env
                .command("apt-get")
                .args(["install", "-y"])
                .args(packages)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    }
}

/// Trunk.toml asks for `^0.21.14`: 0.21.x with x ≥ 14 (0.22 needs a newer rustc).
fn trunk_is_compatible(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(Some(0)), Some(Some(21)), Some(Some(patch))) if patch >= 14
    )
}

/// `npm ci` writes `node_modules/.package-lock.json`; it is current when it is newer than
/// both `package.json` and `package-lock.json`.
fn npm_tools_current(tools: &Path) -> bool {
    let installed = modified(&tools.join("node_modules/.package-lock.json"));
    let wanted =
        [modified(&tools.join("package.json")), modified(&tools.join("package-lock.json"))];
    match installed {
        Some(installed) => wanted.iter().all(|w| w.is_some_and(|w| w <= installed)),
        None => false,
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_versions_follow_the_trunk_toml_requirement() {
        assert!(trunk_is_compatible("0.21.14"));
        assert!(trunk_is_compatible("0.21.20"));
        assert!(!trunk_is_compatible("0.21.13"));
        assert!(!trunk_is_compatible("0.22.0"));
        assert!(!trunk_is_compatible("garbage"));
    }
}
