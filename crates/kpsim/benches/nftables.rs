//! nftables mode at scale: 10,000 Services × 10 endpoints. Building the ruleset from the
//! plan and rendering kube-proxy's transaction, indexing it for the tracer, and one
//! all-branches trace through it (map lookups keep dispatch independent of the Service count).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kpsim::backend::nftables;
use kpsim::model::Admission;
use kpsim::sim::{Choices, Entry, Packet, PacketProtocol, nftables as tracer};

const SERVICES: usize = 10_000;
const ENDPOINTS: usize = 10;

fn manifests() -> String {
    let mut out = String::new();
    for i in 0..SERVICES {
        let (hi, lo) = (i / 250, i % 250);
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc{i}, namespace: ns{}}}\nspec:\n  type: NodePort\n  clusterIP: 10.96.{hi}.{}\n  ports:\n  - {{name: http, port: 80, protocol: TCP, nodePort: {}}}\n",
            i % 50,
            lo + 1,
            30000 + (i % 2700)
        );
        let _ = write!(
            out,
            "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc{i}-1\n  namespace: ns{}\n  labels: {{kubernetes.io/service-name: svc{i}}}\naddressType: IPv4\nendpoints:\n",
            i % 50
        );
        for e in 0..ENDPOINTS {
            let _ = writeln!(
                out,
                "- {{addresses: [10.{}.{hi}.{}], nodeName: node-{e}}}",
                128 + e, // pod IPs outside the ServiceCIDR 10.96.0.0/12
                lo + 1
            );
        }
        out.push_str("ports:\n- {name: http, port: 8080, protocol: TCP}\n");
    }
    out
}

const SETTINGS: &str = "mode: nftables\nipFamily: IPv4\nnodeName: node-0\nnodeIP: 192.168.0.2\nnodeInterfaces:\n  lo: [127.0.0.1/8]\n  eth0: [192.168.0.2/24]\nnodePortAddresses: [192.168.0.0/24]\nlocalTrafficDetector: {mode: ClusterCIDR, clusterCIDR: 10.0.0.0/8}\nserviceCIDRs: [10.96.0.0/12]\n";

fn bench(c: &mut Criterion) {
    let text = manifests();
    let (cluster, _) =
        kpsim::model::build::build(&kpsim::manifest::parse(&text), Admission::AsGiven);
    let settings =
        kpsim::settings::parse_settings_file(SETTINGS).0.resolve(&cluster, &mut Vec::new());
    let plan = kpsim::proxy::plan(&cluster, &settings);
    assert_eq!(plan.service_ports.len(), SERVICES);

    let mut group = c.benchmark_group("nftables 10k services x 10 endpoints");
    group.sample_size(10);
    group.bench_function("build + render transaction", |b| {
        b.iter(|| black_box(nftables::build(black_box(&plan)).transaction().to_string()))
    });
    let ruleset = nftables::build(&plan);
    group.bench_function("render list view", |b| {
        b.iter(|| black_box(ruleset.list_view().to_string()))
    });
    group.bench_function("index for tracing", |b| {
        b.iter(|| black_box(tracer::Tracer::new(black_box(&ruleset), &settings)))
    });
    let indexed = tracer::Tracer::new(&ruleset, &settings);
    let last = format!("10.96.{}.{}", (SERVICES - 1) / 250, (SERVICES - 1) % 250 + 1);
    let packet = Packet::new(
        "10.244.0.5".parse().unwrap(),
        last.parse().unwrap(),
        PacketProtocol::Tcp,
        Some(80),
    );
    let trace = indexed.trace(packet, Entry::Arriving, Choices::AllBranches);
    assert_eq!(trace.destinations().len(), ENDPOINTS);
    group.bench_function("one all-branches trace (indexed)", |b| {
        b.iter(|| {
            black_box(indexed.trace(black_box(packet), Entry::Arriving, Choices::AllBranches))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
