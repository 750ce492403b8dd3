//! What the kernel tests share: a scratch network namespace to run iptables, ipset and nfacct
//! in (deleted when dropped, also when a test fails), whether a program is installed, and a
//! rendered rule split into the argument vector iptables receives.

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch network namespace, deleted when dropped.
pub struct Netns(String);

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Netns {
    /// A new namespace named `<prefix>-<pid>-<n>`.
    pub fn new(prefix: &str) -> Netns {
        let name =
            format!("{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let ok =
            Command::new("ip").args(["netns", "add", &name]).status().is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name} failed");
        Netns(name)
    }

    /// Runs a command in the namespace; returns (success, stdout, stderr).
    pub fn run<S: AsRef<OsStr>>(
        &self,
        program: &str,
        args: &[S],
        stdin: Option<&str>,
    ) -> (bool, String, String) {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0, program]).args(args);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {program}: {e}"));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write as _;
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.0]).status();
    }
}

/// Whether `program` is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Splits a rendered rule into the argument vector iptables receives.
pub fn argv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut word = String::new();
        let mut any = false;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            any = true;
            chars.next();
            if c == '"' {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => word.extend(chars.next()),
                        '"' => break,
                        c => word.push(c),
                    }
                }
            } else {
                word.push(c);
            }
        }
        if any {
            out.push(word);
        }
    }
    out
}
