//! The model stage against data: golden files for every walkthrough example and every
//! scenario, and the facts each scenario exists to show.
//!
//! Goldens (`cluster.golden`: the whole cluster as JSON, every value with its origin;
//! `endpoints.golden`: the `kpsim endpoints` table; `diagnostics.golden`: one line each) are
//! rewritten only by running the tests with `KPSIM_BLESS=1`, then reviewed in the diff.

use std::fs;
use std::path::{Path, PathBuf};

use kpsim::diagnostic::DiagnosticKind;
use kpsim::model::{Admission, ClusterIp, NamespacedName, Origin, SliceOrigin};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The three golden files of one input.
fn render(text: &str) -> Vec<(&'static str, String)> {
    let a = kpsim::analyze(text, Admission::Auto);
    let cluster = serde_json::to_string_pretty(&a.cluster).expect("cluster serializes") + "\n";
    let endpoints = kpsim::endpoints::table::render(&kpsim::endpoints::table::rows(&a.cluster));
    let diagnostics: String =
        a.diagnostics.iter().map(|d| format!("[{:?}] {d}\n", d.kind)).collect();
    vec![
        ("cluster.golden", cluster),
        ("endpoints.golden", endpoints),
        ("diagnostics.golden", diagnostics),
    ]
}

fn check_goldens(input: &Path, dir: &Path) -> Vec<String> {
    let bless = std::env::var("KPSIM_BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for (file, actual) in render(&read(input)) {
        let path = dir.join(file);
        if bless {
            fs::create_dir_all(dir).expect("golden dir");
            fs::write(&path, &actual).expect("write golden");
            continue;
        }
        let Ok(expected) = fs::read_to_string(&path) else {
            failures.push(format!("{}: missing (run with KPSIM_BLESS=1)", path.display()));
            continue;
        };
        if expected != actual {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(e, a)| e != a)
                .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
            failures.push(format!(
                "{} differs from line {}:\n  expected: {:?}\n  actual:   {:?}",
                path.display(),
                line + 1,
                expected.lines().nth(line).unwrap_or("<end>"),
                actual.lines().nth(line).unwrap_or("<end>"),
            ));
        }
    }
    failures
}

#[test]
fn every_example_matches_its_goldens() {
    let mut failures = Vec::new();
    let mut inputs: Vec<PathBuf> = fs::read_dir(data().join("examples"))
        .expect("examples dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    inputs.sort();
    assert_eq!(inputs.len(), 3);
    for input in inputs {
        let stem = input.file_stem().and_then(|s| s.to_str()).expect("name").to_owned();
        failures.extend(check_goldens(&input, &data().join("model/examples").join(stem)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_scenario_matches_its_goldens() {
    let mut failures = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(data().join("model/scenarios"))
        .expect("scenarios dir")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5);
    for dir in dirs {
        failures.extend(check_goldens(&dir.join("input.yaml"), &dir));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn scenario(name: &str) -> kpsim::Analysis {
    kpsim::analyze(
        &read(&data().join("model/scenarios").join(name).join("input.yaml")),
        Admission::Auto,
    )
}

fn example(name: &str) -> kpsim::Analysis {
    kpsim::analyze(&read(&data().join("examples").join(name)), Admission::Auto)
}

/// The "done when": `kpsim endpoints` on the walkthrough shows `default/service`
/// with two ready endpoints on port 80, server-pod-1 and server-pod-2, on their nodes.
#[test]
fn walkthrough_service_has_two_ready_endpoints_on_port_80() {
    let a = example("kube-proxy.yaml");
    let rows: Vec<_> = kpsim::endpoints::table::rows(&a.cluster)
        .into_iter()
        .filter(|r| r.namespace == "default" && r.service == "service")
        .collect();
    let seen: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (r.target.as_str(), r.node.as_str(), r.ports.as_str(), r.ready.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("pod/server-pod-1", "minikube-m02", "http:80/TCP", "true"),
            ("pod/server-pod-2", "minikube-m03", "http:80/TCP", "true"),
        ]
    );
    let client = a.cluster.pod("default", "pod-client").expect("client");
    assert_eq!(client.node_name.value, "minikube");
    assert_eq!(client.node_name.origin, Origin::Allocated);
}

#[test]
fn default_nodes_are_the_minikube_example() {
    let given = example("minikube-3-nodes.yaml").cluster.nodes;
    let defaulted = example("two-pods-connectivity.yaml").cluster.nodes;
    assert_eq!(given.len(), 3);
    for (g, d) in given.iter().zip(&defaulted) {
        assert_eq!((&g.name, &g.labels, &g.internal_ips), (&d.name, &d.labels, &d.internal_ips));
        assert_eq!(g.pod_cidrs.value, d.pod_cidrs.value);
        assert_eq!((g.origin, d.origin), (Origin::Given, Origin::Defaulted));
    }
}

#[test]
fn kubectl_get_all_reproduces_the_live_cluster() {
    let a = scenario("kubectl-get-all");
    let c = &a.cluster;
    assert_eq!(c.admission, Admission::Cluster);
    // Nothing was expanded or added: the Deployments', ReplicaSets' and DaemonSet's pods
    // are the given ones, CoreDNS included.
    assert_eq!(c.pods.len(), 8);
    assert!(c.pods.values().all(|p| p.node_name.origin == Origin::Given));
    assert!(c.pods.values().all(|p| p.pod_ips.origin == Origin::Given));
    let web = c.service("default", "web").expect("web");
    assert_eq!(web.cluster_ip.value, ClusterIp::Ips(vec!["10.104.181.73".parse().unwrap()]));
    assert_eq!(web.ports[0].node_port.map(|p| (p.value, p.origin)), Some((31742, Origin::Given)));
    let key = NamespacedName::new("default", "web");
    let slice = c.slices_of(&key).next().expect("web slice");
    let terminating: Vec<&str> = slice
        .endpoints
        .iter()
        .filter(|e| e.conditions.is_terminating())
        .filter_map(|e| e.target_ref.as_ref().map(|t| t.name.as_str()))
        .collect();
    assert_eq!(terminating, ["web-5d8f6c7b4d-x2kfp"]);
    assert_eq!(slice.endpoints.iter().filter(|e| e.conditions.is_ready()).count(), 2);
    // The only complaint is the CronJob nobody models.
    let warnings: Vec<_> =
        a.diagnostics.iter().filter(|d| d.severity > kpsim::diagnostic::Severity::Info).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].kind, DiagnosticKind::UnknownKind);
}

#[test]
fn workloads_expand_to_pods_with_kubectl_like_names() {
    let c = scenario("workloads").cluster;
    let names = |ns: &str, prefix: &str| -> Vec<String> {
        c.pods
            .values()
            .filter(|p| p.namespace == ns && p.name.starts_with(prefix))
            .map(|p| p.name.clone())
            .collect()
    };
    let frontend = names("default", "frontend-");
    let frontend: Vec<&String> =
        frontend.iter().filter(|n| !n.starts_with("frontend-canary")).collect();
    assert_eq!(frontend.len(), 3);
    for name in &frontend {
        // frontend-<pod-template-hash>-<5 chars>
        let parts: Vec<&str> = name.split('-').collect();
        assert_eq!(parts.len(), 3, "{name}");
        assert!((1..=10).contains(&parts[1].len()) && parts[2].len() == 5, "{name}");
        let pod = c.pod("default", name).expect("pod");
        assert_eq!(pod.labels.get("pod-template-hash").map(String::as_str), Some(parts[1]));
        assert_eq!(pod.owner.as_ref().map(|o| o.kind.as_str()), Some("ReplicaSet"));
    }
    assert_eq!(names("data", "db-"), ["db-0", "db-1"]);
    let db0 = c.pod("data", "db-0").expect("db-0");
    assert_eq!((db0.hostname.as_deref(), db0.subdomain.as_deref()), (Some("db-0"), Some("db")));
    let exporters: Vec<String> = c
        .pods
        .values()
        .filter(|p| p.namespace == "monitoring")
        .map(|p| p.node_name.value.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(exporters, ["minikube", "minikube-m02", "minikube-m03"]);
    assert_eq!(names("default", "migrate-").len(), 2);
    assert_eq!(names("default", "cache-").len(), 2);
    // The StatefulSet's endpoints carry their hostnames.
    let db = c.slices_of(&NamespacedName::new("data", "db")).next().expect("db slice");
    assert_eq!(db.endpoints[0].hostname.as_deref(), Some("db-0"));
    assert!(db.labels.contains_key("service.kubernetes.io/headless"));
}

#[test]
fn pods_exposing_different_ports_for_a_name_get_separate_slices() {
    let c = scenario("workloads").cluster;
    let key = NamespacedName::new("default", "shop");
    let mut ports: Vec<(Option<u16>, usize)> =
        c.slices_of(&key).map(|s| (s.ports[0].port, s.endpoints.len())).collect();
    ports.sort();
    assert_eq!(ports, [(Some(80), 3), (Some(8080), 1)]);
}

#[test]
fn node_ports_and_health_check_ports_are_allocated_in_range() {
    let c = scenario("workloads").cluster;
    let shop = c.service("default", "shop").expect("shop");
    let np = shop.ports[0].node_port.expect("nodePort");
    assert_eq!(np.origin, Origin::Allocated);
    assert!((30000..=32767).contains(&np.value));
    let hc = shop.health_check_node_port.expect("healthCheckNodePort");
    assert!((30000..=32767).contains(&hc.value) && hc.value != np.value);
    let cache = c.service("default", "cache").expect("cache");
    assert!(cache.ports.iter().all(|p| p.node_port.is_none()));
    let ip = cache.cluster_ip.value.primary().expect("ClusterIP");
    assert!(c.service_cidrs[0].contains(ip));
    assert_eq!(cache.cluster_ip.origin, Origin::Allocated);
}

#[test]
fn scheduling_respects_taints_cordons_and_node_selectors() {
    let c = scenario("nodes-and-conditions").cluster;
    let node = |name: &str| c.pod("default", name).expect(name).node_name.value.clone();
    assert_eq!(node("api-1"), "worker-a");
    assert_eq!(node("api-2"), "worker-b");
    assert_eq!(node("api-3"), "worker-a");
    let worker_b = c.node("worker-b").expect("worker-b");
    assert_eq!(worker_b.pod_cidrs.origin, Origin::Allocated);
    assert_eq!(worker_b.pod_cidrs.value[0].to_string(), "10.42.2.0/24");
    assert_eq!(c.pod_cidrs[0].to_string(), "10.42.0.0/16");
}

#[test]
fn endpoint_conditions_follow_readiness_termination_and_publish_not_ready() {
    let c = scenario("nodes-and-conditions").cluster;
    let conditions = |svc: &str, pod: &str| {
        let key = NamespacedName::new("default", svc);
        let e = c
            .slices_of(&key)
            .flat_map(|s| &s.endpoints)
            .find(|e| e.target_ref.as_ref().is_some_and(|t| t.name == pod))
            .expect("endpoint")
            .conditions;
        (e.is_ready(), e.is_serving(), e.is_terminating())
    };
    assert_eq!(conditions("api", "api-1"), (true, true, false));
    assert_eq!(conditions("api", "api-3"), (false, false, false));
    assert_eq!(conditions("api", "api-4"), (false, true, true));
    assert_eq!(conditions("api-peers", "api-3"), (true, false, false));
    assert_eq!(conditions("api-peers", "api-4"), (true, true, true));
    // PreferClose: ready endpoints are hinted to their own zone.
    let key = NamespacedName::new("default", "api");
    let slice = c.slices_of(&key).next().expect("slice");
    let api1 = &slice.endpoints[0];
    assert_eq!(api1.zone.as_deref(), Some("zone-a"));
    assert_eq!(api1.hints.for_zones.as_deref(), Some(&["zone-a".to_owned()][..]));
}

#[test]
fn legacy_endpoints_are_mirrored_per_family() {
    let c = scenario("legacy-endpoints").cluster;
    assert_eq!(c.admission, Admission::AsGiven);
    let slices: Vec<_> = c.endpoint_slices.values().collect();
    assert_eq!(slices.len(), 2);
    assert!(slices.iter().all(|s| s.origin == SliceOrigin::FromEndpoints));
    let v4 = slices.iter().find(|s| s.endpoints.len() == 3).expect("IPv4 slice");
    let ready: Vec<bool> = v4.endpoints.iter().map(|e| e.conditions.is_ready()).collect();
    assert_eq!(ready, [true, true, false]);
    assert_eq!(v4.endpoints[1].hostname.as_deref(), Some("replica"));
}

#[test]
fn a_hundred_and_fifty_pods_fill_two_slices() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: big}\nspec:\n  replicas: 150\n  selector: {matchLabels: {app: big}}\n  template:\n    metadata: {labels: {app: big}}\n    spec: {containers: [{name: c, image: x}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: big}\nspec:\n  selector: {app: big}\n  ports: [{port: 80}]\n";
    let c = kpsim::analyze(text, Admission::Auto).cluster;
    let mut sizes: Vec<usize> =
        c.slices_of(&NamespacedName::new("default", "big")).map(|s| s.endpoints.len()).collect();
    sizes.sort();
    assert_eq!(sizes, [50, 100]);
}

#[test]
fn reference_inputs_are_taken_as_given() {
    let mut inputs = Vec::new();
    let mut stack = vec![data().join("oracle")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("oracle dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "input.yaml") {
                inputs.push(path);
            }
        }
    }
    assert!(inputs.len() > 50);
    for input in inputs {
        let a = kpsim::analyze(&read(&input), Admission::Auto);
        let c = &a.cluster;
        assert_eq!(c.admission, Admission::AsGiven, "{}", input.display());
        assert!(!a.has_errors(), "{}: {:?}", input.display(), a.diagnostics);
        assert!(c.service_cidrs.is_empty() && c.pod_cidrs.is_empty() && c.nodes.is_empty());
        assert!(c.pods.is_empty());
        for svc in c.services.values() {
            assert_eq!(svc.cluster_ip.origin, Origin::Given, "{}", input.display());
            assert!(
                svc.ports.iter().all(|p| p.node_port.is_none_or(|n| n.origin == Origin::Given))
            );
        }
        assert!(c.endpoint_slices.values().all(|s| s.origin == SliceOrigin::Given));
    }
}

#[test]
fn a_pod_ip_tells_where_an_unbound_pod_runs() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: 10.244.2.77}\n";
    let c = kpsim::analyze(text, Admission::Auto).cluster;
    let pod = c.pod("default", "p").expect("pod");
    assert_eq!(
        (pod.node_name.value.as_str(), pod.node_name.origin),
        ("minikube-m03", Origin::Derived)
    );
    assert_eq!(pod.host_ip.map(|ip| ip.to_string()).as_deref(), Some("192.168.49.4"));
}
