//! How YAML is read into Kubernetes objects: anchors, flow and block styles, scalar
//! resolution (quoted vs plain numbers, null forms), error messages with nested paths and
//! positions, unknown fields inside lists, duplicate keys, and the limits that keep a hostile
//! paste from hanging the page. The manifest stage alone, through its public API.

use kpsim::diagnostic::{Diagnostic, DiagnosticKind};
use kpsim::manifest::{Manifests, Resource, parse};

fn pod(m: &Manifests) -> &k8s_openapi::api::core::v1::Pod {
    match &m.objects.first().expect("an object").resource {
        Resource::Pod(p) => p,
        other => panic!("not a Pod: {}", other.kind()),
    }
}

fn service(m: &Manifests) -> &k8s_openapi::api::core::v1::Service {
    match &m.objects.first().expect("an object").resource {
        Resource::Service(s) => s,
        other => panic!("not a Service: {}", other.kind()),
    }
}

fn only(m: &Manifests) -> &Diagnostic {
    assert_eq!(m.diagnostics.len(), 1, "{:#?}", m.diagnostics);
    &m.diagnostics[0]
}

fn at(d: &Diagnostic) -> (usize, usize) {
    (d.location.line, d.location.column)
}

const SERVICE_HEAD: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n";

#[test]
fn anchors_and_aliases_are_followed() {
    let m = parse(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels: &app {app: web}\nspec:\n  selector: *app\n  ports:\n  - &http {name: http, port: 80}\n",
    );
    assert!(m.diagnostics.is_empty(), "{:#?}", m.diagnostics);
    let spec = service(&m).spec.as_ref().expect("spec");
    assert_eq!(spec.selector.as_ref().and_then(|s| s.get("app")).map(String::as_str), Some("web"));
    assert_eq!(spec.ports.as_ref().map(|p| p[0].port), Some(80));
}

#[test]
fn flow_style_documents_decode_like_block_style() {
    let m = parse(
        "{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 80, targetPort: web}]}}\n",
    );
    assert!(m.diagnostics.is_empty(), "{:#?}", m.diagnostics);
    let port = &service(&m).spec.as_ref().and_then(|s| s.ports.as_ref()).expect("ports")[0];
    assert_eq!(port.port, 80);
    assert_eq!(
        port.target_port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("web".into()))
    );
}

#[test]
fn block_scalars_are_strings() {
    let m = parse(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    note: |\n      two\n      lines\n    folded: >\n      one\n      line\n",
    );
    assert!(m.diagnostics.is_empty(), "{:#?}", m.diagnostics);
    let notes = pod(&m).metadata.annotations.as_ref().expect("annotations");
    assert_eq!(notes["note"], "two\nlines\n");
    assert_eq!(notes["folded"], "one line\n");
}

#[test]
fn plain_scalars_read_as_strings_keep_their_text() {
    // A label value written `1.10` is the string "1.10", not the float 1.1.
    let m = parse(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: 0x1F\n  labels: {version: 1.10, enabled: yes, on: true, empty: \"\"}\n",
    );
    assert!(m.diagnostics.is_empty(), "{:#?}", m.diagnostics);
    let meta = &pod(&m).metadata;
    assert_eq!(meta.name.as_deref(), Some("0x1F"));
    let labels = meta.labels.as_ref().expect("labels");
    assert_eq!(labels["version"], "1.10");
    assert_eq!(labels["enabled"], "yes");
    assert_eq!(labels["on"], "true");
    assert_eq!(labels["empty"], "");
}

#[test]
fn plain_numbers_in_any_base_are_integers() {
    let m = parse(&format!("{SERVICE_HEAD}spec:\n  ports:\n  - port: 0x50\n  - port: +443\n"));
    assert!(m.diagnostics.is_empty(), "{:#?}", m.diagnostics);
    let ports = service(&m).spec.as_ref().and_then(|s| s.ports.as_ref()).expect("ports");
    assert_eq!(ports.iter().map(|p| p.port).collect::<Vec<_>>(), [80, 443]);
}

#[test]
fn quoted_number_for_an_integer_field_is_a_wrong_type_at_the_quote() {
    let m = parse(&format!("{SERVICE_HEAD}spec:\n  ports:\n  - port: \"80\"\n"));
    let d = only(&m);
    assert_eq!(d.kind, DiagnosticKind::WrongType);
    assert_eq!(
        d.message,
        "Service: invalid type: string \"80\", expected i32; the object is skipped"
    );
    assert_eq!(d.field_path, "spec.ports[0].port");
    assert_eq!(at(d), (7, 11));
}

#[test]
fn wrong_types_name_what_was_found() {
    let cases = [
        ("port: 80.5", "invalid type: floating point `80.5`, expected i32"),
        ("port: true", "invalid type: boolean `true`, expected i32"),
        ("port: [80]", "invalid type: sequence, expected i32"),
        ("port: {a: 1}", "invalid type: map, expected i32"),
        ("port: 99999999999", "invalid value: integer `99999999999`, expected i32"),
    ];
    for (line, want) in cases {
        let m = parse(&format!("{SERVICE_HEAD}spec:\n  ports:\n  - {line}\n"));
        let d = only(&m);
        assert_eq!(d.message, format!("Service: {want}; the object is skipped"), "{line}");
        assert_eq!(d.field_path, "spec.ports[0].port", "{line}");
    }
}

#[test]
fn null_forms_leave_optional_fields_unset() {
    for null in ["~", "null", "Null", "NULL", ""] {
        let m = parse(&format!("{SERVICE_HEAD}spec:\n  clusterIP: {null}\n  type: ClusterIP\n"));
        assert!(m.diagnostics.is_empty(), "{null}: {:#?}", m.diagnostics);
        let spec = service(&m).spec.as_ref().expect("spec");
        assert_eq!(spec.cluster_ip, None, "{null}");
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    }
    // Quoted, a null is text.
    let m = parse(&format!("{SERVICE_HEAD}spec:\n  clusterIP: \"~\"\n"));
    assert_eq!(service(&m).spec.as_ref().and_then(|s| s.cluster_ip.as_deref()), Some("~"));
}

#[test]
fn errors_deep_inside_a_workload_carry_the_full_path() {
    let m = parse(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector: {matchLabels: {app: x}}\n  template:\n    spec:\n      containers:\n      - name: c\n        ports:\n        - containerPort: http\n",
    );
    let d = only(&m);
    assert_eq!(d.field_path, "spec.template.spec.containers[0].ports[0].containerPort");
    assert_eq!(at(d), (12, 26));
}

#[test]
fn list_items_of_the_wrong_shape_are_reported_on_items() {
    let m = parse("apiVersion: v1\nkind: List\nitems:\n  a: 1\n");
    let d = only(&m);
    assert_eq!(d.kind, DiagnosticKind::WrongType);
    assert_eq!(d.message, "List: invalid type: map, expected a sequence; the object is skipped");
    assert_eq!(d.field_path, "items");
    assert_eq!(at(d), (4, 3));
}

#[test]
fn a_document_that_is_not_a_mapping_says_what_it_is() {
    let m = parse("just text\n");
    let d = only(&m);
    assert_eq!(d.kind, DiagnosticKind::MissingTypeMeta);
    assert_eq!(
        d.message,
        "document 1: invalid type: string \"just text\", expected struct TypeMeta"
    );
}

#[test]
fn unknown_fields_inside_lists_are_warned_with_an_indexed_path() {
    let m = parse(&format!(
        "{SERVICE_HEAD}spec:\n  ports:\n  - port: 80\n  - port: 443\n    prot: TCP\n"
    ));
    assert_eq!(m.objects.len(), 1);
    let d = only(&m);
    assert_eq!(d.kind, DiagnosticKind::UnknownField);
    assert_eq!(d.field_path, "spec.ports[1].prot");
    assert_eq!(d.location.line, 9);
}

#[test]
fn duplicate_keys_are_an_error_at_the_second_key() {
    let m = parse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n");
    assert!(m.objects.is_empty());
    let d = only(&m);
    assert_eq!(d.message, "Pod: duplicate entry with key \"name\"; the object is skipped");
    assert_eq!(d.field_path, "metadata");
    assert_eq!(at(d), (5, 3));
}

#[test]
fn syntax_errors_say_what_and_where() {
    let m = parse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n labels: {}\n");
    let d = only(&m);
    assert_eq!(d.kind, DiagnosticKind::Syntax);
    assert!(d.message.starts_with("document 1: "), "{}", d.message);
    assert_eq!(d.location.line, 5);
}

/// A Pod whose `managedFields[0].fieldsV1` (a field that takes any YAML) is `body`, each
/// line of which is indented under it.
fn pod_with_free_form_field(body: &[String]) -> String {
    let mut text = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  managedFields:\n  - fieldsV1:\n",
    );
    for line in body {
        text.push_str("      ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[test]
fn alias_expansion_is_bounded() {
    // Nine levels of ten aliases each would be 10^9 nodes.
    let mut body = vec!["l0: &l0 [x, x, x, x, x, x, x, x, x, x]".to_owned()];
    for i in 1..9 {
        let items = vec![format!("*l{}", i - 1); 10].join(", ");
        body.push(format!("l{i}: &l{i} [{items}]"));
    }
    let m = parse(&pod_with_free_form_field(&body));
    assert!(only(&m).message.contains("repetition limit exceeded"), "{:?}", m.diagnostics);
}

#[test]
fn deep_block_nesting_is_an_error_not_a_stack_overflow() {
    let body: Vec<String> = (0..300).map(|depth| format!("{}a:", " ".repeat(depth))).collect();
    let m = parse(&pod_with_free_form_field(&body));
    assert!(only(&m).message.contains("recursion limit exceeded"), "{:?}", m.diagnostics);
}

#[test]
fn workload_status_is_not_read() {
    let m = parse(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: x}}\n  template: {metadata: {labels: {app: x}}}\nstatus: {replicas: many, conditions: oops}\n",
    );
    assert!(m.diagnostics.is_empty(), "{:#?}", m.diagnostics);
    match &m.objects[0].resource {
        Resource::Deployment(d) => {
            assert_eq!(d.spec.replicas, Some(2));
            assert!(d.status.is_none());
        }
        other => panic!("not a Deployment: {}", other.kind()),
    }
}

#[test]
fn workload_api_version_must_be_the_one_k8s_openapi_reads() {
    let m = parse("apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: d}\n");
    let d = only(&m);
    assert_eq!(
        d.message,
        "Deployment: invalid value: string \"apps/v1beta1\", expected apps/v1; the object is skipped"
    );
    assert_eq!(at(d), (1, 1));
}

#[test]
fn pod_status_keeps_what_the_model_reads() {
    let m = parse(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  phase: Running\n  podIP: 10.0.0.5\n  podIPs: [{ip: 10.0.0.5}]\n  hostIP: 192.168.0.2\n  conditions: [{type: Ready, status: \"True\"}]\n  containerStatuses: [{name: c, ready: maybe}]\n",
    );
    assert!(m.diagnostics.is_empty(), "{:#?}", m.diagnostics);
    let status = pod(&m).status.as_ref().expect("status");
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.pod_ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(status.pod_ips.as_ref().map(Vec::len), Some(1));
    assert_eq!(status.host_ip.as_deref(), Some("192.168.0.2"));
    assert_eq!(status.conditions.as_ref().map(|c| c[0].status.as_str()), Some("True"));
    assert!(status.container_statuses.is_none());
}
