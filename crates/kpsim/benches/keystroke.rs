//! The core's share of one keystroke in the playground with the browser timing test's
//! 1,000-Service paste (one pod, a thousand ClusterIP Services selecting it, minikube's
//! default nodes): analysis (manifests, then the model), the selected node's plan and
//! ruleset, and the cluster trace's network (whose node rulesets are built only when a
//! trace needs them). The page's own stages (view models, Yew) are not measured here.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kpsim::backend::Ruleset;
use kpsim::model::Admission;
use kpsim::net::IpFamily;
use kpsim::settings::{Mode, ProxySettings};
use kpsim::sim::cluster::{ClusterNetwork, Experiments, TraceRequest};

const SERVICES: usize = 1_000;

/// What `web/tests/e2e/timing.test.mjs` pastes.
fn paste() -> String {
    let mut docs = vec![
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, labels: {app: web}}\nspec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]}\n".to_owned(),
    ];
    for i in 0..SERVICES {
        let mut d = String::new();
        let _ = write!(
            d,
            "apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}}}\nspec:\n  selector: {{app: web}}\n  ports: [{{port: 80}}]\n"
        );
        docs.push(d);
    }
    docs.join("---\n")
}

fn bench(c: &mut Criterion) {
    let text = paste();
    let analysis = kpsim::analyze(&text, Admission::Auto);
    let cluster = &analysis.cluster;
    assert!(cluster.services.len() > SERVICES, "{} Services", cluster.services.len());
    let node = cluster.nodes.first().map(|n| n.name.clone()).unwrap_or_default();
    let family = cluster.ip_families().first().copied().unwrap_or(IpFamily::V4);
    let settings = ProxySettings::for_node(cluster, &node, Mode::Iptables, family);
    let plan = kpsim::proxy::plan(cluster, &settings);
    let experiments = Experiments::in_mode(Mode::Iptables);

    let mut g = c.benchmark_group("keystroke with 1,000 Services");
    g.sample_size(20);
    g.bench_function("manifest::parse", |b| b.iter(|| kpsim::manifest::parse(black_box(&text))));
    g.bench_function("model::build", |b| {
        b.iter(|| kpsim::model::build::build(black_box(&analysis.manifests), Admission::Auto))
    });
    g.bench_function("analyze (parse + model)", |b| {
        b.iter(|| kpsim::analyze(black_box(&text), Admission::Auto))
    });
    g.bench_function("cluster == cluster (the page's same-cluster check)", |b| {
        let copy = cluster.clone();
        b.iter(|| black_box(cluster) == black_box(&copy))
    });
    g.bench_function("plan (selected node)", |b| {
        b.iter(|| kpsim::proxy::plan(black_box(cluster), &settings))
    });
    g.bench_function("iptables ruleset + restore text (selected node)", |b| {
        b.iter(|| Ruleset::build(black_box(&plan)).to_string())
    });
    g.bench_function("ClusterNetwork::new", |b| {
        b.iter(|| ClusterNetwork::new(black_box(cluster), &experiments))
    });
    g.bench_function("ClusterNetwork::new + a trace to a Service", |b| {
        let request = TraceRequest::parse("web-0", "svc-999");
        b.iter(|| {
            let net = ClusterNetwork::new(black_box(cluster), &experiments)?;
            let request = request.as_ref().map_err(Clone::clone)?;
            net.trace(request)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
