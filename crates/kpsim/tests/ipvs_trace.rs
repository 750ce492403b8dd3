//! The IPVS packet path (spec ipvs §7) on the spec's worked example (§9) and small variants:
//! a ClusterIP connection scheduled by IPVS at LOCAL_IN, masquerade only where the table of §7
//! says, the hairpin, NodePorts with eTP=Local, node-originated traffic scheduled at
//! LOCAL_OUT, KUBE-IPVS-FILTER's rejections (a ping, a port that is not a service port), a
//! virtual server without real servers, and LoadBalancer source ranges.

use std::fs;
use std::path::Path;

use kpsim::backend::ipvs::{self, Ruleset};
use kpsim::model::Admission;
use kpsim::settings::ProxySettings;
use kpsim::sim::{Action, Choices, Entry, Packet, PacketProtocol, Trace, Verdict};

fn example() -> (Ruleset, ProxySettings) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spec/ipvs/worked-example");
    let input = fs::read_to_string(dir.join("input.yaml")).expect("input");
    let settings = fs::read_to_string(dir.join("settings.yaml")).expect("settings");
    load(&input, &settings)
}

fn load(input: &str, settings: &str) -> (Ruleset, ProxySettings) {
    let m = kpsim::manifest::parse(input);
    let (cluster, _) = kpsim::model::build::build(&m, Admission::AsGiven);
    let (file, d) = kpsim::settings::parse_settings_file(settings);
    assert!(d.is_empty(), "{d:?}");
    let s = file.resolve(&cluster, &mut Vec::new());
    (ipvs::build(&kpsim::proxy::plan(&cluster, &s)), s)
}

fn trace(r: &Ruleset, s: &ProxySettings, from: &str, to: &str, port: Option<u16>) -> Trace {
    let protocol = if port.is_some() { PacketProtocol::Tcp } else { PacketProtocol::Icmp };
    let p = Packet::new(from.parse().unwrap(), to.parse().unwrap(), protocol, port);
    let entry = kpsim::sim::entry_for(s, p.src);
    kpsim::sim::ipvs::trace(r, s, p, entry, Choices::AllBranches)
}

/// The chain and action of the step that ended the path (a DROP or REJECT).
fn ended_by(t: &Trace) -> String {
    t.paths[0]
        .steps
        .iter()
        .rev()
        .find(|s| matches!(s.action, Some(Action::Reject) | Some(Action::Drop)))
        .map(|s| format!("{} {}", s.table, s.chain))
        .unwrap_or_default()
}

#[test]
fn a_cluster_ip_connection_is_scheduled_by_ipvs_to_every_real_server() {
    let (r, s) = example();
    let t = trace(&r, &s, "10.244.3.4", "10.96.0.20", Some(80));
    assert_eq!(t.flow_output(), "10.244.0.5:8080, 10.244.1.2:8080");
    assert_eq!(t.mode, kpsim::settings::Mode::Ipvs);
    // From a pod of the cluster CIDR: not masqueraded (the detector says local).
    assert!(!t.masquerade());
    let p = t.paths.iter().map(|p| p.probability).sum::<f64>();
    assert!((p - 1.0).abs() < 1e-9);
    // Seeded: one real server.
    let packet = Packet::new(
        "10.244.3.4".parse().unwrap(),
        "10.96.0.20".parse().unwrap(),
        PacketProtocol::Tcp,
        Some(80),
    );
    let one = kpsim::sim::ipvs::trace(&r, &s, packet, Entry::Arriving, Choices::Seed(7));
    assert_eq!(one.paths.len(), 1);
    assert_eq!(one.verdict(), Verdict::Dnat);
}

#[test]
fn traffic_from_outside_the_cluster_cidr_to_a_cluster_ip_is_masqueraded() {
    let (r, s) = example();
    let t = trace(&r, &s, "192.168.0.77", "10.96.0.20", Some(80));
    assert_eq!(t.flow_output(), "10.244.0.5:8080, 10.244.1.2:8080");
    assert!(t.paths.iter().all(|p| p.masquerade));
}

#[test]
fn a_pod_reaching_itself_through_its_service_is_hairpin_masqueraded() {
    let (r, s) = example();
    let t = trace(&r, &s, "10.244.0.5", "10.96.0.20", Some(80));
    let by_dest: Vec<(String, bool)> = t
        .paths
        .iter()
        .map(|p| (p.dnat.map(|(ip, _)| ip.to_string()).unwrap_or_default(), p.masquerade))
        .collect();
    assert_eq!(by_dest, [("10.244.0.5".to_owned(), true), ("10.244.1.2".to_owned(), false)]);
}

#[test]
fn a_ping_to_a_cluster_ip_is_rejected_by_kube_ipvs_filter() {
    // The node owns the address (kube-ipvs0), but KUBE-IPVS-FILTER rejects every NEW
    // connection to a kube-ipvs0 address that is not a known service ip/port (spec §6.2 item
    // 21), an ICMP echo included.
    let (r, s) = example();
    let t = trace(&r, &s, "10.244.3.4", "10.96.0.20", None);
    assert_eq!(t.verdict(), Verdict::Reject);
    assert_eq!(ended_by(&t), "filter KUBE-IPVS-FILTER");
    let t = trace(&r, &s, "10.244.3.4", "10.96.0.20", Some(22));
    assert_eq!(t.verdict(), Verdict::Reject);
    assert_eq!(ended_by(&t), "filter KUBE-IPVS-FILTER");
}

#[test]
fn an_etp_local_node_port_goes_to_the_local_endpoint_without_masquerade() {
    let (r, s) = example();
    let t = trace(&r, &s, "203.0.113.9", "192.168.0.10", Some(30443));
    assert_eq!(t.flow_output(), "10.244.0.7:8443");
    assert!(!t.masquerade(), "KUBE-NODE-PORT-LOCAL-TCP returns before the mark");
    let persistent = t.paths[0].steps.iter().any(|s| s.why.contains("persistent 10800"));
    assert!(persistent);
}

#[test]
fn node_originated_traffic_is_scheduled_at_local_out() {
    let (r, s) = example();
    let t = trace(&r, &s, "192.168.0.10", "10.96.0.20", Some(80));
    assert_eq!(t.entry, Entry::Local);
    assert_eq!(t.flow_output(), "10.244.0.5:8080, 10.244.1.2:8080");
    let ipvs_hook = t.paths[0].steps.iter().find(|s| s.table == "ipvs").map(|s| s.hook);
    assert_eq!(ipvs_hook, Some(kpsim::sim::Hook::Output));
}

const NO_ENDPOINTS: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: empty, namespace: ns}\nspec:\n  clusterIP: 10.96.0.40\n  ports:\n  - {name: p, port: 80, protocol: TCP}\n";

#[test]
fn a_virtual_server_without_real_servers_drops_the_packet() {
    let (_, s) = example();
    let settings = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/spec/ipvs/worked-example/settings.yaml"),
    )
    .expect("settings");
    let (r, _) = load(NO_ENDPOINTS, &settings);
    let t = trace(&r, &s, "10.244.3.4", "10.96.0.40", Some(80));
    assert_eq!(t.verdict(), Verdict::Drop);
    assert_eq!(ended_by(&t), "ipvs IPVS");
}

const SOURCE_RANGES: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: lb, namespace: ns}\nspec:\n  type: LoadBalancer\n  clusterIP: 10.96.0.50\n  loadBalancerSourceRanges: [203.0.113.0/24]\n  ports:\n  - {name: p, port: 80, protocol: TCP}\nstatus: {loadBalancer: {ingress: [{ip: 198.51.100.9}]}}\n---\n\
apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: lb-1\n  namespace: ns\n  labels: {kubernetes.io/service-name: lb}\naddressType: IPv4\nendpoints:\n- addresses: [10.244.1.9]\n  nodeName: node-b\nports:\n- {name: p, port: 8080, protocol: TCP}\n";

#[test]
fn load_balancer_source_ranges_let_listed_clients_in_and_drop_the_others() {
    let settings = "mode: ipvs\nnodeName: node-a\nnodeIP: 192.168.0.10\nnodeInterfaces:\n  eth0: [192.168.0.10/24]\nlocalTrafficDetector: {mode: ClusterCIDR, clusterCIDR: 10.244.0.0/16}\n";
    let (r, s) = load(SOURCE_RANGES, settings);
    let t = trace(&r, &s, "203.0.113.5", "198.51.100.9", Some(80));
    assert_eq!(t.flow_output(), "10.244.1.9:8080");
    assert!(t.masquerade(), "KUBE-LOAD-BALANCER marks LB traffic of eTP=Cluster");
    let t = trace(&r, &s, "198.18.0.1", "198.51.100.9", Some(80));
    assert_eq!(t.verdict(), Verdict::Drop);
    assert_eq!(ended_by(&t), "filter KUBE-SOURCE-RANGES-FIREWALL");
}

#[test]
fn node_addresses_reported_by_netlink_are_local_so_their_node_ports_are_scheduled() {
    // The node's address comes only from the netlink handle (the reference tests' form): the
    // builder makes it a NodePort address, so routing must deliver packets for it to INPUT
    // and IPVS, and a packet from it is the node's own.
    let input = "apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: ns}\nspec:\n  type: NodePort\n  clusterIP: 10.96.0.60\n  ports:\n  - {name: p, port: 80, protocol: TCP, nodePort: 30080}\n---\n\
apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: np-1\n  namespace: ns\n  labels: {kubernetes.io/service-name: np}\naddressType: IPv4\nendpoints:\n- addresses: [10.244.1.9]\n  nodeName: node-b\nports:\n- {name: p, port: 8080, protocol: TCP}\n";
    let settings = "mode: ipvs\nnodeName: node-a\nnodeInterfaces: {}\nipvs:\n  netlinkLocalAddresses:\n    eth0: [192.168.0.10]\n";
    let (r, s) = load(input, settings);
    assert!(
        r.virtual_server("192.168.0.10".parse().unwrap(), 30080, kpsim::net::Protocol::Tcp)
            .is_some()
    );
    let t = trace(&r, &s, "203.0.113.5", "192.168.0.10", Some(30080));
    assert_eq!(t.flow_output(), "10.244.1.9:8080");
    assert!(t.masquerade(), "KUBE-NODE-PORT marks NodePort traffic of eTP=Cluster");
    assert_eq!(kpsim::sim::entry_for(&s, "192.168.0.10".parse().unwrap()), Entry::Local);
}
