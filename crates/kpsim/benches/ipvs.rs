//! IPVS mode at scale: the node's IPVS state (kube-ipvs0, virtual servers, ipsets, iptables
//! skeleton) for 10,000 services × 10 endpoints, its text, and one all-branches trace of a
//! curl to a ClusterIP through it (ipset lookups and the IPVS stage).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kpsim::backend::ipvs;
use kpsim::net::IpFamily;
use kpsim::settings::{Mode, ProxySettings};
use kpsim::sim::{Choices, Entry, Packet, PacketProtocol};

const SERVICES: usize = 10_000;
const ENDPOINTS: usize = 10;

/// Services and their EndpointSlices, as YAML (the same cluster as the iptables bench).
fn manifests() -> String {
    let mut s = String::new();
    for i in 0..SERVICES {
        let (a, b) = (i / 250, i % 250);
        let _ = write!(
            s,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc{i}, namespace: ns{}}}\nspec:\n  clusterIP: 172.30.{a}.{b}\n  ports: [{{name: p80, port: 80, protocol: TCP}}]\n",
            i % 100
        );
        let _ = write!(
            s,
            "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: svc{i}-1, namespace: ns{}, labels: {{kubernetes.io/service-name: svc{i}}}}}\naddressType: IPv4\nports: [{{name: p80, port: 8080, protocol: TCP}}]\nendpoints:\n",
            i % 100
        );
        for e in 0..ENDPOINTS {
            let _ =
                writeln!(s, "- addresses: [10.{}.{}.{}]\n  nodeName: node{}", 100 + e, a, b, e % 3);
        }
    }
    s
}

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
