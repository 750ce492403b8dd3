//! How long a big paste takes: a 10,000-object `kind: List` (as `kubectl get nodes,all -A -o
//! yaml` prints it: nodes, Services, Deployments, ReplicaSets and pods with status) through
//! the manifest stage alone, and through the whole model stage (`kpsim::analyze`).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kpsim::model::Admission;

/// Objects per application: a Service, a Deployment, its ReplicaSet and two pods.
const PER_APP: usize = 5;
const NODES: usize = 20;

/// A List of `NODES` nodes and `(objects - NODES) / PER_APP` applications.
fn big_list(objects: usize) -> String {
    let apps = (objects - NODES) / PER_APP;
    let mut s =
        String::from("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n");
    for n in 0..NODES {
        let _ = write!(
            s,
            "- apiVersion: v1\n  kind: Node\n  metadata:\n    name: node-{n}\n    labels:\n      kubernetes.io/hostname: node-{n}\n      topology.kubernetes.io/zone: zone-{z}\n    resourceVersion: \"{n}7\"\n  spec:\n    podCIDR: 10.244.{n}.0/24\n    podCIDRs: [10.244.{n}.0/24]\n  status:\n    addresses:\n    - {{type: InternalIP, address: 192.168.49.{ip}}}\n    - {{type: Hostname, address: node-{n}}}\n",
            z = n % 3,
            ip = n + 2
        );
    }
    for a in 0..apps {
        let ns = format!("team-{}", a % 50);
        let _ = write!(
            s,
            "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: app-{a}\n    namespace: {ns}\n    resourceVersion: \"{a}1\"\n    uid: 00000000-0000-4000-8000-{a:012}\n  spec:\n    clusterIP: 10.{hi}.{lo}.{x}\n    clusterIPs: [10.{hi}.{lo}.{x}]\n    ipFamilies: [IPv4]\n    ipFamilyPolicy: SingleStack\n    ports:\n    - name: http\n      port: 80\n      protocol: TCP\n      targetPort: http\n    selector:\n      app: app-{a}\n    sessionAffinity: None\n    type: ClusterIP\n  status:\n    loadBalancer: {{}}\n",
            hi = 100 + (a / 65536) % 8,
            lo = (a / 256) % 256,
            x = a % 256
        );
        let _ = write!(
            s,
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: app-{a}\n    namespace: {ns}\n    generation: 1\n    managedFields:\n    - apiVersion: apps/v1\n      fieldsType: FieldsV1\n      fieldsV1:\n        f:spec:\n          f:replicas: {{}}\n      manager: kubectl-create\n      operation: Update\n  spec:\n    replicas: 2\n    selector:\n      matchLabels: {{app: app-{a}}}\n    template:\n      metadata:\n        labels: {{app: app-{a}}}\n      spec:\n        containers:\n        - name: web\n          image: nginx:1.27\n          ports:\n          - {{name: http, containerPort: 8080, protocol: TCP}}\n  status:\n    availableReplicas: 2\n    readyReplicas: 2\n    replicas: 2\n"
        );
        let _ = write!(
            s,
            "- apiVersion: apps/v1\n  kind: ReplicaSet\n  metadata:\n    name: app-{a}-5d8f6c7b4d\n    namespace: {ns}\n    ownerReferences:\n    - {{apiVersion: apps/v1, controller: true, kind: Deployment, name: app-{a}, uid: 00000000-0000-4000-9000-{a:012}}}\n  spec:\n    replicas: 2\n    selector:\n      matchLabels: {{app: app-{a}, pod-template-hash: 5d8f6c7b4d}}\n    template:\n      metadata:\n        labels: {{app: app-{a}, pod-template-hash: 5d8f6c7b4d}}\n      spec:\n        containers:\n        - name: web\n          image: nginx:1.27\n  status:\n    replicas: 2\n"
        );
        for r in 0..2 {
            let pod = a * 2 + r;
            let node = pod % NODES;
            let host = 2 + pod / NODES;
            let _ = write!(
                s,
                "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: app-{a}-5d8f6c7b4d-x{r}k2p\n    namespace: {ns}\n    labels:\n      app: app-{a}\n      pod-template-hash: 5d8f6c7b4d\n    ownerReferences:\n    - {{apiVersion: apps/v1, controller: true, kind: ReplicaSet, name: app-{a}-5d8f6c7b4d, uid: 00000000-0000-4000-9000-{a:012}}}\n    resourceVersion: \"{pod}9\"\n  spec:\n    containers:\n    - name: web\n      image: nginx:1.27\n      ports:\n      - {{name: http, containerPort: 8080, protocol: TCP}}\n    nodeName: node-{node}\n  status:\n    conditions:\n    - {{type: Ready, status: \"True\", lastTransitionTime: \"2026-11-20T10:02:14Z\"}}\n    hostIP: 192.168.49.{hip}\n    phase: Running\n    podIP: 10.244.{node}.{host}\n    podIPs:\n    - ip: 10.244.{node}.{host}\n",
                hip = node + 2
            );
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = big_list(10_000);
    let objects = kpsim::manifest::parse(&text).objects.len();
    assert_eq!(objects, 10_000);
    let analysis = kpsim::analyze(&text, Admission::Auto);
    let noisy: Vec<String> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity != kpsim::diagnostic::Severity::Info)
        .map(ToString::to_string)
        .take(5)
        .collect();
    assert!(noisy.is_empty(), "{noisy:#?}");
    // 3,992 given pods and the built-in CoreDNS pod.
    assert_eq!(analysis.cluster.pods.len(), 3_993);
    let mut group = c.benchmark_group("list-10000-objects");
    group.sample_size(10);
    group
        .bench_function("manifest::parse", |b| b.iter(|| kpsim::manifest::parse(black_box(&text))));
    group.bench_function("analyze", |b| {
        b.iter(|| kpsim::analyze(black_box(&text), Admission::Auto))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
