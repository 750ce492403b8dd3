//! `cargo xtask`: the project's chores as Rust, so they run the same on every machine.
//!
//! - `cargo xtask serve [--port N] [--release]`: installs what is missing, then serves the
//!   playground on 127.0.0.1 with Trunk.
//! - `cargo xtask test`: everything CI checks, in order (see [`test`]).
//! - `cargo xtask install`: only the installs of `test`.
//! - `cargo xtask e2e`: only the browser tests of `test`, against the `dist/` already built.
//!
//! Not part of the product: nothing here is shipped, and the core never depends on it.

mod browser;
mod install;
mod lockfile;
mod process;
mod serve;
mod step;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What a chore returns; the message says what failed and what to do.
pub type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  serve [--port N] [--release]  install what is missing, build, and serve the playground
                                on http://127.0.0.1:N/ (default 8080)
  test                          run everything CI runs (fmt, clippy, tests, wasm checks,
                                release build, browser tests)
  install                       install the tools `test` needs, skipping those present
  e2e                           only the browser tests, against the dist/ already built
                                (`trunk build --release` first)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve::Options::parse(&args[1..]).and_then(|o| serve::run(&root, &o)),
        Some("test") if args.len() == 1 => test::run(&root),
        Some("install") if args.len() == 1 => install::for_tests(&root),
        Some("e2e") if args.len() == 1 => browser::run(&process::Env::new(&root)),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown arguments {args:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's folder.
fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
