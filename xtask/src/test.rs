//! `cargo xtask test`: everything CI checks, in order, stopping at the first failure.
//!
//! installs → `cargo fmt --check` → clippy (`-D warnings`) → `cargo test --workspace` →
//! `cargo check -p kpsim` for wasm32 → the core's dependency tree is pure → release
//! `trunk build` (and the WASM size) → browser tests against that build.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Result;
use crate::browser;
use crate::install::Installer;
use crate::process::Env;
use crate::step::Steps;

/// Crates the core must never depend on (nor on their `-*` family): web, async, OS randomness.
const FORBIDDEN_IN_CORE: [&str; 6] =
    ["yew", "web-sys", "wasm-bindgen", "gloo", "tokio", "getrandom"];

pub fn run(root: &Path) -> Result {
    let env = Env::new(root);
    let mut steps = Steps::new();
    let result = all_steps(&env, &mut steps);
    steps.summary();
    if result.is_ok() {
        println!("\nxtask test: every check passed");
    }
    result
}

fn all_steps(env: &Env, steps: &mut Steps) -> Result {
    Installer::new(env).for_tests(steps)?;
    let cargo = |args: &[&str]| env.run(env.command("cargo").args(args));
    steps.run("cargo fmt --check", || cargo(&["fmt", "--all", "--check"]))?;
    steps.run("cargo clippy --workspace --all-targets -D warnings", || {
        cargo(&["clippy", "--locked", "--workspace", "--all-targets", "--", "-D", "warnings"])
    })?;
    steps.run("cargo test --workspace", || cargo(&["test", "--locked", "--workspace"]))?;
    steps.run("cargo check -p kpsim --target wasm32-unknown-unknown", || {
        cargo(&["check", "--locked", "-p", "kpsim", "--target", "wasm32-unknown-unknown"])
    })?;
    steps.run("the core's dependencies are pure (cargo tree -p kpsim -e normal)", || {
        core_is_pure(env)
    })?;
    steps.run("release build (trunk build --release)", || release_build(env))?;
    steps.run("release WASM size", || report_wasm_size(&env.root.join("dist")))?;
    steps.run("browser tests (headless Chromium, playwright-core)", || browser::run(env))
}

/// `cargo tree` of the core's normal dependencies, for every target, names none of
/// [`FORBIDDEN_IN_CORE`].
fn core_is_pure(env: &Env) -> Result {
    let tree = env.output(env.command("cargo").args([
        "tree", "--locked", "-p", "kpsim", "-e", "normal", "--target", "all", "--prefix", "none",
        "--format", "{p}",
    ]))?;
    let bad = forbidden_crates(&tree);
    if bad.is_empty() {
        println!("{} crates, none of {}", tree.lines().count(), FORBIDDEN_IN_CORE.join(", "));
        Ok(())
    } else {
        Err(format!(
            "the core depends on {}; it must stay free of web, async and OS randomness crates",
            bad.join(", ")
        ))
    }
}

/// The forbidden crate names in `cargo tree --prefix none --format {p}` output.
fn forbidden_crates(tree: &str) -> Vec<String> {
    let mut bad: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| {
            FORBIDDEN_IN_CORE.iter().any(|f| {
                *name == *f || name.strip_prefix(f).is_some_and(|rest| rest.starts_with('-'))
            })
        })
        .map(str::to_owned)
        .collect();
    bad.sort();
    bad.dedup();
    bad
}

/// `cargo fetch` (so the offline build finds every crate), then Trunk's release build with
/// no network: the pinned wasm-bindgen and wasm-opt are on PATH.
fn release_build(env: &Env) -> Result {
    env.run(env.command("cargo").args(["fetch", "--locked"]))?;
    env.run(env.command("trunk").args([
        "build",
        "--release",
        "--locked",
        "--offline",
        "--skip-version-check",
    ]))
}

/// Prints the size of the release WASM, raw and gzipped.
fn report_wasm_size(dist: &Path) -> Result {
    let wasm = find_wasm(dist)?;
    let bytes = fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    let gzipped = gzip_size(&bytes);
    println!(
        "release WASM {}: {} raw, {} gzipped",
        wasm.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        kib(bytes.len()),
        kib(gzipped)
    );
    Ok(())
}

fn find_wasm(dist: &Path) -> Result<PathBuf> {
    let entries = fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let mut wasm: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    match wasm.len() {
        1 => Ok(wasm.remove(0)),
        n => Err(format!("expected one .wasm in {}, found {n}", dist.display())),
    }
}

/// Size of the gzip file of `bytes`: best deflate plus gzip's 18 bytes of header and trailer.
fn gzip_size(bytes: &[u8]) -> usize {
    miniz_oxide::deflate::compress_to_vec(bytes, 9).len() + 18
}

fn kib(bytes: usize) -> String {
    format!("{bytes} bytes ({:.0} KiB)", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_crates_are_found_by_name_and_family() {
        let tree = "kpsim v0.1.0 (/x)\nserde v1.0.0\ngloo-utils v0.2.0\nwasm-bindgen v0.2.1\nwasm-bindgen v0.2.1 (*)\ntokio-util-like v0.1.0\ngetrandomness v1.0.0\n";
        assert_eq!(forbidden_crates(tree), ["gloo-utils", "tokio-util-like", "wasm-bindgen"]);
    }

    #[test]
    fn a_pure_tree_has_no_forbidden_crates() {
        assert!(
            forbidden_crates("kpsim v0.1.0\nserde_norway v0.9.42\nk8s-openapi v0.29.0\n")
                .is_empty()
        );
    }

    #[test]
    fn gzip_size_shrinks_repetitive_input() {
        let bytes = vec![b'a'; 100_000];
        let size = gzip_size(&bytes);
        assert!(size > 18 && size < 1_000, "{size}");
    }
}
