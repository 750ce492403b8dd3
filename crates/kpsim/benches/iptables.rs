//! iptables mode at scale: rendering the rules of 10,000 services × 10 endpoints, and one
//! all-branches trace through that ruleset (the KUBE-SERVICES dispatch is indexed).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kpsim::backend::iptables;
use kpsim::net::IpFamily;
use kpsim::settings::{Mode, ProxySettings};
use kpsim::sim::iptables::{NodeNetwork, Tracer};
use kpsim::sim::{Choices, Packet, PacketProtocol};

#[path = "support/services.rs"]
mod services;

use services::{ENDPOINTS, SERVICES, manifests};

fn bench(c: &mut Criterion) {
    let text = manifests();
    let m = kpsim::manifest::parse(&text);
    let (cluster, _) = kpsim::model::build::build(&m, kpsim::model::Admission::AsGiven);
    let mut settings = ProxySettings::for_node(&cluster, "node0", Mode::Iptables, IpFamily::V4);
    settings.node_name = "node0".into();
    let plan = kpsim::proxy::plan(&cluster, &settings);
    assert_eq!(plan.service_ports.len(), SERVICES);

    let mut g = c.benchmark_group("iptables 10k services x 10 endpoints");
    g.sample_size(10);
    g.bench_function("plan", |b| b.iter(|| kpsim::proxy::plan(black_box(&cluster), &settings)));
    // Dropping 300,000 rules is measured apart (`iter_with_large_drop`): the CLI exits
    // without it and the page keeps the ruleset.
    g.bench_function("build + render restore text", |b| {
        b.iter_with_large_drop(|| {
            let rs = iptables::build(black_box(&plan));
            let text = rs.to_string();
            (rs, text)
        })
    });
    g.bench_function("build", |b| b.iter_with_large_drop(|| iptables::build(black_box(&plan))));
    g.bench_function("drop the ruleset", |b| {
        b.iter_batched(|| iptables::build(&plan), drop, criterion::BatchSize::LargeInput)
    });
    let ruleset = iptables::build(&plan);
    g.bench_function("render restore text", |b| b.iter(|| black_box(&ruleset).to_string()));
    g.bench_function("render save text", |b| b.iter(|| black_box(&ruleset).save().to_string()));
    let node = NodeNetwork::from_settings(&settings);
    g.bench_function("index the ruleset for tracing", |b| {
        b.iter(|| Tracer::new(black_box(&ruleset), node.clone()))
    });
    let tracer = Tracer::new(&ruleset, node);
    let packet = Packet::new(
        "10.244.0.5".parse().unwrap(),
        "172.30.20.7".parse().unwrap(),
        PacketProtocol::Tcp,
        Some(80),
    );
    let trace = tracer.trace(packet, Choices::AllBranches);
    assert_eq!(trace.destinations().len(), ENDPOINTS);
    g.bench_function("one all-branches trace", |b| {
        b.iter(|| tracer.trace(black_box(packet), Choices::AllBranches))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
