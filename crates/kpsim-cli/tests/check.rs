//! `kpsim check` run as a program: what it prints on stdout and stderr, and its exit code.
//!
//! The page shows the same objects and the same located errors (both come from
//! `kpsim::manifest::parse`); these tests pin the command-line face.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const WALKTHROUGH: &str = include_str!("../../kpsim/tests/data/examples/kube-proxy.yaml");

fn walkthrough_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../kpsim/tests/data/examples/kube-proxy.yaml")
}

/// Writes `text` to a file of this test's own (tests run in parallel).
fn file(name: &str, text: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("write test input");
    path
}

fn kpsim(args: &[&Path], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kpsim"))
        .arg("check")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kpsim");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin.unwrap_or("").as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("run kpsim")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// stderr without the `info:` notes (how the input was admitted): the warnings and errors.
fn findings(bytes: &[u8]) -> String {
    text(bytes).lines().filter(|l| !l.contains(": info: ")).map(|l| format!("{l}\n")).collect()
}

#[test]
fn lists_the_walkthrough_objects_and_exits_0() {
    let out = kpsim(&[&walkthrough_path()], None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Pod default/pod-client\nPod default/server-pod-1\nPod default/server-pod-2\nService default/service\n"
    );
    // Nothing but the note saying how the input was admitted.
    assert_eq!(findings(&out.stderr), "");
    assert!(text(&out.stderr).contains(": info: admission cluster:"), "{}", text(&out.stderr));
}

#[test]
fn a_syntax_error_prints_file_line_and_column_instead_of_the_list_and_exits_1() {
    let broken = WALKTHROUGH.replace("\n  selector:\n", "\n  selector\n");
    let path = file("check-syntax-error.yaml", &broken);
    let out = kpsim(&[&path], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    let stderr = findings(&out.stderr);
    let expected = format!(
        "{}:48:27: error: document 4: mapping values are not allowed in this context",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "stderr: {stderr}");
}

#[test]
fn every_broken_document_is_reported_not_just_the_first() {
    let text_in = "kind: [\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Service\nspec:\n  ports:\n  - port: \"eighty\"\n";
    let path = file("check-two-errors.yaml", text_in);
    let out = kpsim(&[&path], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 2, "stderr: {stderr}");
    assert!(errors[0].starts_with(&format!("{}:2:1: error:", path.display())), "{}", errors[0]);
    assert!(errors[1].starts_with(&format!("{}:11:11: error:", path.display())), "{}", errors[1]);
    assert!(errors[1].contains("spec.ports[0].port"), "{}", errors[1]);
}

#[test]
fn reads_stdin_without_files() {
    let out = kpsim(&[], Some("apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n"));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Node worker-1\n");
}

#[test]
fn errors_in_the_second_file_point_into_that_file() {
    let first = file("check-first.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n");
    let second = file("check-second.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n");
    let out = kpsim(&[&first, &second], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = findings(&out.stderr);
    assert!(stderr.starts_with(&format!("{}:4:", second.display())), "stderr: {stderr}");
}

#[test]
fn warnings_do_not_fail_the_check() {
    let path = file(
        "check-warning.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  lables: {app: x}\n",
    );
    let out = kpsim(&[&path], None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "Pod default/a\n");
    let stderr = findings(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:5:", path.display())) && stderr.contains("warning"),
        "stderr: {stderr}"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-does-not-exist.yaml");
    let out = kpsim(&[&path], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert!(text(&out.stderr).starts_with(&format!("kpsim: {}:", path.display())));
}
