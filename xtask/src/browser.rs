//! The browser tests: serve the release `dist/` on 127.0.0.1 and run `node --test` on
//! `web/tests/e2e/*.test.mjs` (playwright-core driving Debian's headless Chromium).
//!
//! Starts and stops the static servers: one serves `dist/` at `/`, a second serves a copy of it
//! under [`SUB_PATH`] only (nothing else exists on that server, so an asset URL that is not
//! relative to the page fails to load). The tests themselves live in `web/tests/e2e/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::Result;
use crate::process::{Background, Env, free_port};

/// Where the second server publishes the copy of `dist/`, as a site published under a
/// sub-path would (`https://example.org/workshop/kpsim/`).
const SUB_PATH: &str = "workshop/kpsim";

pub fn run(env: &Env) -> Result {
    let dist = env.root.join("dist");
    if !dist.join("index.html").is_file() {
        return Err(format!("{} has no index.html: run the release build first", dist.display()));
    }
    let tests = test_files(env)?;
    let screenshots = env.root.join("web/tests/e2e/screenshots");
    // Old screenshots would mix with this run's.
    let _ = fs::remove_dir_all(&screenshots);
    fs::create_dir_all(&screenshots).map_err(|e| format!("{}: {e}", screenshots.display()))?;

    // Rebuilt on every run, so it always holds this build and nothing older.
    let site = env.root.join("target/e2e-subpath-site");
    if site.exists() {
        fs::remove_dir_all(&site).map_err(|e| format!("{}: {e}", site.display()))?;
    }
    copy_dir(&dist, &site.join(SUB_PATH))?;

    let (server, port) = static_server(env, &dist)?;
    let (sub_server, sub_port) = static_server(env, &site)?;
    let url = format!("http://127.0.0.1:{port}/");
    let sub_url = format!("http://127.0.0.1:{sub_port}/{SUB_PATH}/");
    println!(
        "page: {url}\npage under a sub-path: {sub_url}\nscreenshots: {}",
        screenshots.display()
    );
    let result = env.run(
        env.command("node")
            .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
            .args(&tests)
            .env("KPSIM_E2E_URL", &url)
            .env("KPSIM_E2E_SUBPATH_URL", &sub_url)
            .env("KPSIM_E2E_SCREENSHOTS", &screenshots),
    );
    drop(server);
    drop(sub_server);
    println!("screenshots of the browser tests: {}", screenshots.display());
    result
}

/// `python3 -m http.server` serving `dir` on a free port of 127.0.0.1, once it listens.
fn static_server(env: &Env, dir: &Path) -> Result<(Background, u16)> {
    let port = free_port()?;
    let mut server = Background::spawn(
        "python3 -m http.server",
        env.command("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    server.wait_for_port(port, Duration::from_secs(30))?;
    Ok((server, port))
}

/// Copies the directory tree `from` to `to` (created, with its parents).
fn copy_dir(from: &Path, to: &Path) -> Result {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            copy_dir(&source, &target)?;
        } else {
            fs::copy(&source, &target).map_err(|e| format!("{}: {e}", source.display()))?;
        }
    }
    Ok(())
}

/// `web/tests/e2e/*.test.mjs`, sorted.
fn test_files(env: &Env) -> Result<Vec<PathBuf>> {
    let dir = env.root.join("web/tests/e2e");
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.test.mjs in {}", dir.display()));
    }
    Ok(files)
}
