//! The cluster trace never panics, whatever the source, target, port, protocol, experiments
//! and choices — on the examples and on examples with lines dropped at random — and what it
//! says holds together: a delivered connection names who answered and ends with the client
//! receiving a reply from the address it connected to; every flow has a probability in (0, 1].

use std::path::Path;

use kpsim::model::{Admission, Cluster, NamespacedName};
use kpsim::settings::Mode;
use kpsim::sim::cluster::{
    ClusterNetwork, Experiments, HopKind, KubeProxy, Outcome, Source, Target, TraceRequest,
};
use kpsim::sim::{Choices, PacketProtocol};
use proptest::prelude::*;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn inputs() -> Vec<String> {
    let walkthrough = read("examples/kube-proxy.yaml");
    let three_nodes = read("examples/minikube-3-nodes.yaml");
    vec![
        walkthrough.clone(),
        format!("{three_nodes}\n---\n{walkthrough}"),
        read("examples/two-pods-connectivity.yaml"),
        read("model/scenarios/workloads/input.yaml"),
        read("model/scenarios/nodes-and-conditions/input.yaml"),
    ]
}

/// Spellings of sources and targets, some of them valid for the cluster at hand.
fn words(cluster: &Cluster) -> Vec<String> {
    let mut w: Vec<String> = Vec::new();
    for k in cluster.pods.keys() {
        w.push(k.name.clone());
        w.push(format!("{}/{}", k.namespace, k.name));
        w.push(format!("pod/{}/{}", k.namespace, k.name));
    }
    for (k, s) in &cluster.services {
        w.push(k.name.clone());
        w.push(format!("svc/{}/{}", k.namespace, k.name));
        w.push(format!("{}.{}.svc.cluster.local", k.name, k.namespace));
        if let Some(ip) = s.cluster_ip.value.primary() {
            w.push(ip.to_string());
        }
    }
    for n in &cluster.nodes {
        w.push(format!("node/{}", n.name));
        w.extend(n.internal_ips.iter().map(ToString::to_string));
    }
    w.extend(["203.0.113.7", "10.244.9.9", "fd00::1", "nosuch", "a.b"].map(String::from));
    w
}

fn protocol(i: u8) -> Option<PacketProtocol> {
    match i % 5 {
        0 => None,
        1 => Some(PacketProtocol::Tcp),
        2 => Some(PacketProtocol::Udp),
        3 => Some(PacketProtocol::Sctp),
        _ => Some(PacketProtocol::Icmp),
    }
}

#[derive(Debug, Clone)]
struct Pick {
    input: usize,
    drop_line: Option<usize>,
    from: usize,
    to: usize,
    port: Option<u16>,
    proto: u8,
    /// The proxy mode: iptables, nftables, ipvs (modulo 3).
    mode: u8,
    kube_proxy: u8,
    not_ready: Option<usize>,
    no_routes: Option<usize>,
    seed: Option<u64>,
}

fn pick() -> impl Strategy<Value = Pick> {
    (
        (0usize..5, proptest::option::of(0usize..200), 0usize..64, 0usize..64),
        (proptest::option::of(prop_oneof![Just(53u16), Just(80), Just(8080), 1u16..]), any::<u8>()),
        (any::<u8>(), any::<u8>(), proptest::option::of(0usize..8)),
        (proptest::option::of(0usize..4), proptest::option::of(0u64..16)),
    )
        .prop_map(
            |(
                (input, drop_line, from, to),
                (port, proto),
                (mode, kube_proxy, not_ready),
                (no_routes, seed),
            )| Pick {
                input,
                drop_line,
                from,
                to,
                port,
                proto,
                mode,
                kube_proxy,
                not_ready,
                no_routes,
                seed,
            },
        )
}

fn check(inputs: &[String], p: &Pick) {
    let mut text = inputs[p.input % inputs.len()].clone();
    if let Some(n) = p.drop_line {
        let lines: Vec<&str> = text.lines().collect();
        let n = n % lines.len().max(1);
        text = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != n)
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join("\n");
    }
    let cluster = kpsim::analyze(&text, Admission::Auto).cluster;
    let w = words(&cluster);
    let from = &w[p.from % w.len()];
    let to = &w[p.to % w.len()];
    let modes = [Mode::Iptables, Mode::Nftables, Mode::Ipvs];
    let mut e = Experiments::in_mode(modes[usize::from(p.mode) % modes.len()]);
    let nodes: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
    match p.kube_proxy % 4 {
        1 => e.kube_proxy = KubeProxy::NeverRan,
        2 => {
            if let Some(n) = nodes.first() {
                e.kube_proxy_on.insert(n.clone(), KubeProxy::NeverRan);
            }
        }
        3 => e.kube_proxy = KubeProxy::StoppedAfterSync(Box::default()),
        _ => {}
    }
    let pods: Vec<NamespacedName> = cluster.pods.keys().cloned().collect();
    if let Some(i) = p.not_ready.filter(|_| !pods.is_empty()) {
        e.not_ready.insert(pods[i % pods.len()].clone());
    }
    if let Some(i) = p.no_routes.filter(|_| !nodes.is_empty()) {
        e.no_routes.insert(nodes[i % nodes.len()].clone());
    }
    let Ok(net) = ClusterNetwork::new(&cluster, &e) else { return };
    let source = Source::parse(from);
    let target = Target::parse(to);
    let (Ok(from), Ok((to, port))) = (source, target) else { return };
    let request = TraceRequest {
        from,
        to,
        port: p.port.or(port),
        protocol: protocol(p.proto),
        choices: p.seed.map(Choices::Seed).unwrap_or(Choices::AllBranches),
    };
    let Ok(t) = net.trace(&request) else { return };
    let _ = t.to_string();
    for f in &t.flows {
        assert!(f.probability > 0.0 && f.probability <= 1.0 + 1e-9, "{}", f.probability);
        if f.outcome == Outcome::Delivered {
            assert!(f.delivered_to.is_some(), "{t}");
            let last = f.hops.last().expect("hops");
            assert_eq!(last.kind, HopKind::Receive, "{t}");
            assert_eq!(last.after.src, f.packet.dst, "{t}");
        } else {
            assert!(f.delivered_to.is_none(), "{t}");
        }
    }
    assert_eq!(t.outcome == Outcome::Delivered, t.delivered_to.is_some(), "{t}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_cluster_trace_never_panics_and_its_outcomes_hold_together(p in pick()) {
        let inputs = inputs();
        check(&inputs, &p);
    }
}

#[test]
fn every_source_to_every_target_of_the_walkthrough_is_traced_without_panicking() {
    let inputs = inputs();
    let cluster = kpsim::analyze(&inputs[0], Admission::Auto).cluster;
    let n = words(&cluster).len();
    for from in 0..n {
        for to in 0..n {
            let p = Pick {
                input: 0,
                drop_line: None,
                from,
                to,
                port: None,
                proto: (from + to) as u8,
                mode: ((from + to) % 3) as u8,
                kube_proxy: 0,
                not_ready: None,
                no_routes: None,
                seed: Some(0),
            };
            check(&inputs, &p);
        }
    }
}
