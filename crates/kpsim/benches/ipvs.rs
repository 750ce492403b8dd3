//! IPVS mode at scale: the node's IPVS state (kube-ipvs0, virtual servers, ipsets, iptables
//! skeleton) for 10,000 services × 10 endpoints, its text, and one all-branches trace of a
//! curl to a ClusterIP through it (ipset lookups and the IPVS stage).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kpsim::backend::ipvs;
use kpsim::net::IpFamily;
use kpsim::settings::{Mode, ProxySettings};
use kpsim::sim::{Choices, Entry, Packet, PacketProtocol};

#[path = "support/services.rs"]
mod services;

use services::{ENDPOINTS, SERVICES, manifests};

fn bench(c: &mut Criterion) {
    let text = manifests();
    let m = kpsim::manifest::parse(&text);
    let (cluster, _) = kpsim::model::build::build(&m, kpsim::model::Admission::AsGiven);
    let mut settings = ProxySettings::for_node(&cluster, "node0", Mode::Ipvs, IpFamily::V4);
    settings.node_name = "node0".into();
    let plan = kpsim::proxy::plan(&cluster, &settings);
    assert_eq!(plan.service_ports.len(), SERVICES);

    let mut g = c.benchmark_group("ipvs 10k services x 10 endpoints");
    g.sample_size(10);
    g.bench_function("build", |b| b.iter_with_large_drop(|| ipvs::build(black_box(&plan))));
    let state = ipvs::build(&plan);
    assert_eq!(state.virtual_servers.len(), SERVICES);
    g.bench_function("render every section", |b| b.iter(|| black_box(&state).to_string()));
    let curl = Packet::new(
        "10.244.0.5".parse().unwrap(),
        "172.30.20.7".parse().unwrap(),
        PacketProtocol::Tcp,
        Some(80),
    );
    let trace =
        kpsim::sim::ipvs::trace(&state, &settings, curl, Entry::Arriving, Choices::AllBranches);
    assert_eq!(trace.destinations().len(), ENDPOINTS);
    g.bench_function("one all-branches trace (index included)", |b| {
        b.iter(|| {
            kpsim::sim::ipvs::trace(
                black_box(&state),
                &settings,
                curl,
                Entry::Arriving,
                Choices::AllBranches,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
