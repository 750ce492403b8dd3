//! The browser tests: serve the release `dist/` on 127.0.0.1 and run `node --test` on
//! `web/tests/e2e/*.test.mjs` (playwright-core driving Debian's headless Chromium).
//!
//! Starts and stops the static server; the tests themselves live in `web/tests/e2e/`.

use std::fs;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::Result;
use crate::process::{Background, Env, free_port};

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

    let port = free_port()?;
    let mut server = Background::spawn(
        "python3 -m http.server",
        env.command("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(&dist)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    server.wait_for_port(port, Duration::from_secs(30))?;

    let url = format!("http://127.0.0.1:{port}/");
    println!("page: {url}\nscreenshots: {}", screenshots.display());
    let result = env.run(
        env.command("node")
            .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
            .args(&tests)
            .env("KPSIM_E2E_URL", &url)
            .env("KPSIM_E2E_SCREENSHOTS", &screenshots),
    );
    drop(server);
    println!("screenshots of the browser tests: {}", screenshots.display());
    result
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
