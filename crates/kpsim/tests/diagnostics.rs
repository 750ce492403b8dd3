//! Every kind of user mistake the first stages report, each at its line and column, with
//! object, field path, severity and a hint; and all of them at once.

use kpsim::diagnostic::{Diagnostic, DiagnosticKind, Severity};
use kpsim::model::Admission;

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    kpsim::analyze(text, Admission::Auto).diagnostics
}

/// The one diagnostic of `kind`; fails when there is none or more than one.
fn only(text: &str, kind: DiagnosticKind) -> Diagnostic {
    let all = diagnostics(text);
    let found: Vec<&Diagnostic> = all.iter().filter(|d| d.kind == kind).collect();
    assert_eq!(found.len(), 1, "expected one {kind:?} in {all:#?}");
    let d = found[0].clone();
    assert!(!d.hint.is_empty(), "{d:?} has no hint");
    d
}

fn at(d: &Diagnostic) -> (usize, usize) {
    (d.location.line, d.location.column)
}

const SERVER_PODS: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web}
spec:
  containers:
  - name: nginx
    image: nginx
    ports:
    - {name: http, containerPort: 80}
";

#[test]
fn syntax_error_is_located_and_does_not_stop_the_other_documents() {
    let text = format!(
        "{SERVER_PODS}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels: {{app: x\nspec: {{}}\n"
    );
    let a = kpsim::analyze(&text, Admission::Auto);
    let d = a.diagnostics.iter().find(|d| d.kind == DiagnosticKind::Syntax).expect("syntax error");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.location.document, 1);
    assert_eq!(at(d), (18, 5));
    assert!(a.cluster.pod("default", "web-1").is_some());
}

#[test]
fn wrong_type_port_eighty_is_located_at_the_value() {
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: \"eighty\"\n";
    let d = only(text, DiagnosticKind::WrongType);
    assert_eq!(at(&d), (7, 11));
    assert_eq!(d.field_path, "spec.ports[0].port");
    assert_eq!(d.severity, Severity::Error);
}

#[test]
fn selector_matching_no_pod_is_located_at_the_selector() {
    let text = format!(
        "{SERVER_PODS}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: wbe\n  ports:\n  - port: 80\n"
    );
    let d = only(&text, DiagnosticKind::SelectorMatchesNothing);
    assert_eq!(at(&d), (18, 3));
    assert_eq!(d.field_path, "spec.selector");
    assert_eq!(d.object.as_ref().map(ToString::to_string).as_deref(), Some("Service default/web"));
    assert_eq!(d.severity, Severity::Warning);
}

#[test]
fn selector_matching_nothing_is_not_reported_without_pods() {
    // kube-proxy's own kind of input: no pods to compare with.
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: 10.96.0.20\n  selector: {app: web}\n  ports:\n  - port: 80\n";
    assert!(diagnostics(text).iter().all(|d| d.kind != DiagnosticKind::SelectorMatchesNothing));
}

#[test]
fn selector_matching_pods_only_in_another_namespace_is_called_out() {
    let text = format!(
        "{SERVER_PODS}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n"
    );
    let d = only(&text, DiagnosticKind::SelectorMatchesOtherNamespace);
    assert_eq!(at(&d), (19, 3));
    assert!(d.message.contains("default"), "{}", d.message);
    assert!(d.hint.contains("default"), "{}", d.hint);
}

#[test]
fn named_target_port_no_pod_exposes_is_located_at_the_target_port() {
    let text = format!(
        "{SERVER_PODS}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {{app: web}}\n  ports:\n  - name: http\n    port: 80\n    targetPort: web-http\n"
    );
    let d = only(&text, DiagnosticKind::NamedPortNotFound);
    assert_eq!(at(&d), (22, 17));
    assert_eq!(d.field_path, "spec.ports[0].targetPort");
}

#[test]
fn named_target_port_with_the_wrong_protocol_says_so() {
    let text = format!(
        "{SERVER_PODS}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {{app: web}}\n  ports:\n  - port: 80\n    protocol: UDP\n    targetPort: http\n"
    );
    let d = only(&text, DiagnosticKind::NamedPortNotFound);
    assert_eq!(at(&d), (22, 17));
    assert!(d.hint.contains("protocol"), "{}", d.hint);
}

#[test]
fn duplicate_objects_are_located_at_the_second_name() {
    let text = format!("{SERVER_PODS}---\n{SERVER_PODS}");
    let d = only(&text, DiagnosticKind::Duplicate);
    assert_eq!(at(&d), (16, 9));
    assert_eq!(d.location.document, 1);
    assert_eq!(d.field_path, "metadata.name");
    assert_eq!(d.severity, Severity::Error);
}

#[test]
fn invalid_ips_and_cidrs_are_located_at_the_value() {
    let text = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\nspec:\n  podCIDR: 10.244.0.0/33\nstatus:\n  addresses:\n  - type: InternalIP\n    address: 192.168.49.256\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  clusterIP: 10.96.0.010\n  ports:\n  - port: 80\n";
    let all = diagnostics(text);
    let addr: Vec<(usize, usize, Severity, &str)> = all
        .iter()
        .filter(|d| d.kind == DiagnosticKind::InvalidAddress)
        .map(|d| (d.location.line, d.location.column, d.severity, d.field_path.as_str()))
        .collect();
    assert_eq!(
        addr,
        [
            (6, 12, Severity::Error, "spec.podCIDR"),
            (10, 14, Severity::Error, "status.addresses[0].address"),
            (17, 14, Severity::Warning, "spec.clusterIP"),
        ]
    );
}

#[test]
fn pod_ip_outside_its_node_pod_cidr_is_located_at_the_pod_ip() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  nodeName: minikube-m02\n  containers: [{name: c, image: x}]\nstatus:\n  podIP: 10.244.0.7\n";
    let d = only(text, DiagnosticKind::PodIpOutsideNodeCidr);
    assert_eq!(at(&d), (9, 10));
    assert_eq!(d.field_path, "status.podIP");
    assert!(d.message.contains("10.244.1.0/24"), "{}", d.message);
}

#[test]
fn pod_on_an_unknown_node_is_located_at_its_node_name() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  nodeName: worker-9\n  containers: [{name: c, image: x}]\n";
    let d = only(text, DiagnosticKind::UnknownNode);
    assert_eq!(at(&d), (6, 13));
    assert!(d.hint.contains("minikube"), "{}", d.hint);
}

#[test]
fn pod_ip_exhaustion_is_an_error_at_the_pod_that_gets_none() {
    // A /30 has one usable pod address: .0 is the network, .1 the bridge, .3 broadcast.
    let text = "apiVersion: v1\nkind: Node\nmetadata: {name: tiny}\nspec: {podCIDR: 10.1.0.0/30}\nstatus:\n  addresses: [{type: InternalIP, address: 192.168.1.2}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers: [{name: c, image: x}]\n";
    let a = kpsim::analyze(text, Admission::Auto);
    let exhausted: Vec<&Diagnostic> =
        a.diagnostics.iter().filter(|d| d.kind == DiagnosticKind::AllocationExhausted).collect();
    // The built-in CoreDNS pod takes the one address first.
    assert_eq!(exhausted.len(), 2, "{:#?}", a.diagnostics);
    assert_eq!(exhausted.iter().map(|d| at(d)).collect::<Vec<_>>(), [(8, 1), (13, 1)]);
    assert!(exhausted.iter().all(|d| d.severity == Severity::Error));
    assert!(a.cluster.pod("default", "b").is_some_and(|p| p.pod_ips.value.is_empty()));
}

#[test]
fn unknown_kinds_and_fields_are_warnings_not_errors() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  lables: {a: b}\nspec: {containers: [{name: c, image: x}]}\n";
    let a = kpsim::analyze(text, Admission::Auto);
    assert!(!a.has_errors());
    let kind = only(text, DiagnosticKind::UnknownKind);
    assert_eq!((at(&kind), kind.severity), ((1, 1), Severity::Warning));
    let field = only(text, DiagnosticKind::UnknownField);
    assert_eq!((at(&field), field.severity), ((9, 3), Severity::Warning));
}

#[test]
fn every_problem_is_reported_at_once_in_input_order() {
    let text = format!(
        "{SERVER_PODS}---\n{SERVER_PODS}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  selector: {{app: nope}}\n  clusterIP: 10.96.0.300\n  ports:\n  - port: 80\n---\nkind: [\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\nspec:\n  ports:\n  - port: eighty\n"
    );
    let all = diagnostics(&text);
    let kinds: Vec<DiagnosticKind> =
        all.iter().filter(|d| d.location.line != 0).map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DiagnosticKind::Duplicate,
            DiagnosticKind::SelectorMatchesNothing,
            DiagnosticKind::InvalidAddress,
            DiagnosticKind::Syntax,
            DiagnosticKind::WrongType,
        ]
    );
    let lines: Vec<usize> = all.iter().map(|d| d.location.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}

#[test]
fn unparsable_source_range_is_an_error_through_the_api_server_and_a_skipped_entry_as_given() {
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: lb\n  namespace: ns1\nspec:\n  type: LoadBalancer\n  clusterIP: 172.30.0.41\n  ports:\n  - {port: 80, nodePort: 30080}\n  loadBalancerSourceRanges:\n  - 203.0.113.0/25\n  - not-a-cidr\n";
    let find = |admission| {
        let a = kpsim::analyze(text, admission);
        let found: Vec<Diagnostic> = a
            .diagnostics
            .into_iter()
            .filter(|d| d.kind == DiagnosticKind::InvalidAddress)
            .collect();
        assert_eq!(found.len(), 1, "{found:#?}");
        let svc = a.cluster.service("ns1", "lb").expect("the Service is kept");
        assert_eq!(svc.load_balancer_source_ranges.len(), 1, "the good entry is kept");
        found[0].clone()
    };
    let given = find(Admission::AsGiven);
    assert_eq!(given.severity, Severity::Warning);
    assert!(given.message.contains("kube-proxy skips this entry"), "{given:?}");
    assert_eq!(at(&given), (13, 5));
    assert_eq!(given.field_path, "spec.loadBalancerSourceRanges[1]");
    let cluster = find(Admission::Cluster);
    assert_eq!(cluster.severity, Severity::Error);
    assert_eq!(at(&cluster), (13, 5));
}

#[test]
fn an_address_of_the_other_family_is_flagged_where_it_is_written() {
    let text = "apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: s-1
  labels: {kubernetes.io/service-name: s}
addressType: IPv4
endpoints:
- addresses: [10.0.0.1]
- addresses: [\"fd00::5\"]
ports:
- {name: http, port: 80, protocol: TCP}
";
    let d = only(text, DiagnosticKind::InvalidAddress);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.field_path, "endpoints[1].addresses[0]");
    assert_eq!(at(&d), (9, 15));
    assert!(d.message.contains("IPv6 address in an `addressType: IPv4` slice"), "{}", d.message);
    assert!(d.message.contains("neither family"), "{}", d.message);
    // The same, written as a plain scalar inside a block item's flow list.
    let plain = text.replace("[10.0.0.1]", "[10.0.0.1, fd00::7]");
    let all = diagnostics(&plain);
    let d = all.iter().find(|d| d.field_path == "endpoints[0].addresses[1]").expect("flagged");
    assert_eq!(at(d), (8, 25));
    assert!(d.message.contains("only an endpoint's first address"), "{}", d.message);
}
