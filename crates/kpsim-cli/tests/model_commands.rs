//! `kpsim check` and `kpsim endpoints`, run as a user runs them: the real binary, files or
//! stdin in, text out, exit codes.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../kpsim/tests/data/examples")
}

fn kpsim(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kpsim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kpsim runs");
    if let Some(text) = stdin {
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("kpsim finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn walkthrough() -> String {
    examples().join("kube-proxy.yaml").display().to_string()
}

/// A temporary file that removes itself.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, content: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("kpsim-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, content).expect("write temp file");
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn endpoints_shows_the_walkthrough_service_with_two_ready_endpoints_on_port_80() {
    let out = kpsim(&["endpoints", &walkthrough()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let header: Vec<&str> = stdout.lines().next().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "SERVICE",
            "ENDPOINTSLICE",
            "ADDRESSTYPE",
            "PORTS",
            "ENDPOINT",
            "READY",
            "SERVING",
            "TERMINATING",
            "NODE",
            "TARGET"
        ]
    );
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c[0] == "default" && c[1] == "service")
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for (row, (pod, node)) in
        rows.iter().zip([("server-pod-1", "minikube-m02"), ("server-pod-2", "minikube-m03")])
    {
        assert_eq!(
            (row[4], row[6], row[9], row[10]),
            ("http:80/TCP", "true", node, &*format!("pod/{pod}"))
        );
    }
}

#[test]
fn endpoints_json_lists_the_slices() {
    let out = kpsim(&["endpoints", "--output", "json", &walkthrough()], None);
    assert!(out.status.success());
    let slices: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = slices
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["service_name"].as_str())
        .collect();
    assert_eq!(names, ["kubernetes", "service", "kube-dns"]);
}

#[test]
fn endpoints_as_given_adds_nothing() {
    let out = kpsim(&["endpoints", "--admission", "as-given", &walkthrough()], None);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    // No nodes and no pod IPs: the controller's slice is a placeholder.
    assert!(!stdout.contains("kube-dns") && !stdout.contains("kubernetes"), "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("service-") && l.contains("<none>")), "{stdout}");
}

#[test]
fn check_lists_the_objects_and_explains_the_admission() {
    let out = kpsim(&["check", &walkthrough()], None);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "Pod default/pod-client\nPod default/server-pod-1\nPod default/server-pod-2\nService default/service\n"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("{}: info: admission cluster", walkthrough())), "{stderr}");
}

#[test]
fn check_reports_every_error_as_file_line_column_and_exits_1() {
    let good = TempFile::new(
        "good.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: x}]}\n",
    );
    let bad = TempFile::new(
        "bad.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: \"eighty\"\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: x}]}\n",
    );
    let out = kpsim(&["check", good.path(), bad.path()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{}:7:11: error: Service: invalid type", bad.path()))),
        "{stderr}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("{}:11:", bad.path()))
            && l.contains("error: Pod default/a is defined twice")),
        "{stderr}"
    );
}

#[test]
fn check_reads_stdin_with_a_dash_or_no_file() {
    let input = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n";
    for args in [&["check", "-"][..], &["check"][..]] {
        let out = kpsim(args, Some(input));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "Namespace shop\n");
    }
}

#[test]
fn check_warnings_alone_do_not_fail() {
    let out =
        kpsim(&["check", "-"], Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"));
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains("<stdin>:1:1: warning: v1 ConfigMap"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unknown_admission_is_a_usage_error() {
    let out = kpsim(&["endpoints", "--admission", "sometimes", &walkthrough()], None);
    assert_eq!(out.status.code(), Some(2));
}
