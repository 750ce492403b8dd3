//! Running external programs: a PATH that finds the project's pinned tools first, every
//! command echoed before it runs, and background servers stopped when dropped.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// Where commands run and what they find on PATH.
#[derive(Debug, Clone)]
pub struct Env {
    pub root: PathBuf,
    path: OsString,
}

impl Env {
    /// PATH = `tools/node_modules/.bin` (wasm-opt from npm binaryen, never Debian's),
    /// `$CARGO_HOME/bin` (where `cargo install` puts trunk and wasm-bindgen), then the rest.
    pub fn new(root: &Path) -> Env {
        let mut dirs = vec![root.join("tools/node_modules/.bin"), cargo_home().join("bin")];
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        // Debian keeps iptables, nft and ip in sbin, which a non-login PATH may lack.
        for sbin in ["/usr/sbin", "/sbin"] {
            if !dirs.iter().any(|d| d == Path::new(sbin)) {
                dirs.push(PathBuf::from(sbin));
            }
        }
        let path = std::env::join_paths(dirs).unwrap_or_else(|_| OsString::from("/usr/bin:/bin"));
        Env { root: root.to_path_buf(), path }
    }

    /// A command run from the repository root with this PATH.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.root).env("PATH", &self.path);
        command
    }

    /// Runs a command to completion, echoing it first; an error unless it exits with 0.
    pub fn run(&self, command: &mut Command) -> Result {
        println!("$ {}", describe(command));
        let status =
            command.status().map_err(|e| format!("cannot run {}: {e}", program(command)))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` exited with {status}", describe(command)))
        }
    }

    /// Runs a command quietly and returns its stdout; an error unless it exits with 0.
    pub fn output(&self, command: &mut Command) -> Result<String> {
        let out = command
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program(command)))?;
        if !out.status.success() {
            return Err(format!("`{}` exited with {}", describe(command), out.status));
        }
        String::from_utf8(out.stdout)
            .map_err(|_| format!("`{}` printed non-UTF-8", describe(command)))
    }

    /// The first line a program prints for `args` (e.g. `--version`), or `None` when it is
    /// missing or fails.
    pub fn probe(&self, program: &str, args: &[&str]) -> Option<String> {
        self.stdout_of(program, args)?.lines().next().map(|l| l.trim().to_owned())
    }

    /// All a program prints for `args`, or `None` when it is missing or fails.
    pub fn stdout_of(&self, program: &str, args: &[&str]) -> Option<String> {
        let out = self.command(program).args(args).stderr(Stdio::null()).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()
    }

    /// True when `program` is found on this PATH.
    pub fn has(&self, program: &str) -> bool {
        std::env::split_paths(&self.path).any(|dir| dir.join(program).is_file())
    }
}

/// A child process (a server) that is killed and reaped when this is dropped.
#[derive(Debug)]
pub struct Background {
    child: Child,
    name: String,
}

impl Background {
    pub fn spawn(name: &str, command: &mut Command) -> Result<Background> {
        println!("$ {} &", describe(command));
        let child = command.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Background { child, name: name.to_owned() })
    }

    /// Waits until something accepts connections on 127.0.0.1:`port`.
    pub fn wait_for_port(&mut self, port: u16, timeout: Duration) -> Result {
        let deadline = Instant::now() + timeout;
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        loop {
            if TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} exited with {status} before listening", self.name));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not listen on port {port} within {timeout:?}",
                    self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // Killing an already-exited child fails harmlessly; wait reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
        println!("stopped {}", self.name);
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("cannot find a free port: {e}"))
}

/// `$CARGO_HOME`, or `~/.cargo`.
pub fn cargo_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home);
    }
    let home =
        std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cargo")
}

fn program(command: &Command) -> String {
    command.get_program().to_string_lossy().into_owned()
}

fn describe(command: &Command) -> String {
    let mut line = program(command);
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}
