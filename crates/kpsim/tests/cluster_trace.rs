//! The walkthrough's experiments answered by the cluster trace (`kpsim::sim::cluster`), each
//! test named after what it proves, in every proxy mode where the modes agree (IPVS's own
//! answers where spec ipvs §4/§7 make it differ); and the
//! golden stories of `tests/data/cluster-traces/` (rewritten only with `KPSIM_BLESS=1`).

use std::net::IpAddr;
use std::path::Path;

use kpsim::model::{Admission, Cluster, NamespacedName};
use kpsim::settings::Mode;
use kpsim::sim::cluster::{
    ClusterNetwork, ClusterTrace, Experiments, HopKind, KubeProxy, Outcome, Place, TraceRequest,
};
use kpsim::sim::{Action, Choices, PacketProtocol};

const MODES: [Mode; 3] = [Mode::Iptables, Mode::Nftables, Mode::Ipvs];
const CLUSTER_IP: &str = "10.100.253.115";

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cluster_of(text: &str) -> Cluster {
    let analysis = kpsim::analyze(text, Admission::Auto);
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity == kpsim::diagnostic::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    analysis.cluster
}

fn walkthrough() -> Cluster {
    cluster_of(&read("examples/kube-proxy.yaml"))
}

fn trace_in(cluster: &Cluster, e: &Experiments, from: &str, to: &str) -> ClusterTrace {
    let request = TraceRequest::parse(from, to).expect("request parses");
    ClusterNetwork::new(cluster, e).expect("network").trace(&request).expect("traced")
}

fn ping_in(cluster: &Cluster, e: &Experiments, from: &str, to: &str) -> ClusterTrace {
    let mut request = TraceRequest::parse(from, to).expect("request parses");
    request.protocol = Some(PacketProtocol::Icmp);
    ClusterNetwork::new(cluster, e).expect("network").trace(&request).expect("traced")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an IP")
}

/// The node a hop of `kind` happened on, with its text.
fn hops_of(t: &ClusterTrace, kind: HopKind) -> Vec<(String, String)> {
    t.hops()
        .iter()
        .filter(|h| h.kind == kind)
        .map(|h| (h.place.to_string(), h.text.clone()))
        .collect()
}

fn dnat_hops(t: &ClusterTrace) -> Vec<(String, IpAddr, Option<u16>)> {
    t.hops()
        .iter()
        .filter_map(|h| match h.rule.as_ref().and_then(|r| r.action.as_ref()) {
            Some(Action::Dnat { ip, port }) => Some((h.place.to_string(), *ip, *port)),
            _ => None,
        })
        .collect()
}

fn without_kube_proxy(mode: Mode) -> Experiments {
    Experiments { kube_proxy: KubeProxy::NeverRan, ..Experiments::in_mode(mode) }
}

fn without_kube_proxy_on(mode: Mode, node: &str) -> Experiments {
    let mut e = Experiments::in_mode(mode);
    e.kube_proxy_on.insert(node.to_owned(), KubeProxy::NeverRan);
    e
}

#[test]
fn curl_to_the_service_by_name_is_dnated_on_the_clients_node_and_answered_from_the_cluster_ip() {
    let c = walkthrough();
    for mode in MODES {
        let t = trace_in(&c, &Experiments::in_mode(mode), "pod-client", "service:8080");
        assert_eq!(t.outcome, Outcome::Delivered, "{mode}: {t}");
        let to = t.delivered_to.clone().unwrap_or_default();
        assert!(to == "default/server-pod-1" || to == "default/server-pod-2", "{mode}: {to}");
        // The name went through cluster DNS, whose query was itself DNATed to CoreDNS.
        let dns = t.dns.as_ref().expect("a lookup");
        assert_eq!(dns.addresses, [ip(CLUSTER_IP)], "{mode}");
        let query = dns.exchange.as_ref().expect("the query was traced");
        assert_eq!(query.outcome, Outcome::Delivered, "{mode}");
        assert!(
            query.delivered_to.as_deref().unwrap_or_default().starts_with("kube-system/coredns")
        );
        // One DNAT, on the client's node, to a server pod on port 80.
        let dnat = dnat_hops(&t);
        assert_eq!(dnat.len(), 1, "{mode}: {dnat:?}");
        assert_eq!(dnat[0].0, "minikube", "{mode}");
        assert_eq!(dnat[0].2, Some(80), "{mode}");
        let deliver = t.hops().iter().find(|h| h.kind == HopKind::Deliver).expect("delivered");
        assert_eq!((deliver.after.dst, deliver.after.dport), (dnat[0].1, Some(80)), "{mode}");
        // No masquerade: the server sees the client's own address.
        assert_eq!(deliver.after.src, ip("10.244.0.3"), "{mode}");
        // The reply is un-DNATed by minikube's conntrack: the client sees ClusterIP:8080.
        let last = t.hops().last().expect("hops");
        assert_eq!(last.kind, HopKind::Receive, "{mode}");
        assert_eq!((last.after.src, last.after.sport), (ip(CLUSTER_IP), Some(8080)), "{mode}");
        let entry = t.flows[0].conntrack.iter().find(|e| e.node == "minikube").expect("entry");
        assert!(entry.dnat && !entry.snat, "{mode}: {entry}");
        // The node-level view: the first node pass DNATs.
        let first = t.first_node_trace().expect("a node pass");
        assert_eq!(first.node, "minikube");
        assert_eq!(first.destinations(), [format!("{}:80", dnat[0].1)], "{mode}");
    }
}

#[test]
fn the_service_answers_the_same_by_cluster_ip_by_fqdn_by_namespaced_name_and_by_short_name() {
    let c = walkthrough();
    for mode in MODES {
        let e = Experiments::in_mode(mode);
        for to in [
            "service:8080",
            "service",
            "service.default:8080",
            "service.default.svc.cluster.local:8080",
            "svc/default/service:8080",
            "default/service",
            "10.100.253.115:8080",
        ] {
            let t = trace_in(&c, &e, "pod-client", to);
            assert_eq!(t.outcome, Outcome::Delivered, "{mode} {to}: {t}");
            assert_eq!(t.target.ip, Some(ip(CLUSTER_IP)), "{mode} {to}");
            assert_eq!(t.target.port, Some(8080), "{mode} {to}");
            let by_name = !to.starts_with("10.") && !to.contains('/');
            assert_eq!(t.dns.is_some(), by_name, "{mode} {to}: only names are looked up");
        }
    }
}

#[test]
fn all_branches_reach_each_server_pod_with_probability_one_half() {
    let c = walkthrough();
    for mode in MODES {
        let net = ClusterNetwork::new(&c, &Experiments::in_mode(mode)).expect("network");
        let mut r = TraceRequest::parse("pod-client", "svc/default/service").expect("parses");
        r.choices = Choices::AllBranches;
        let t = net.trace(&r).expect("traced");
        let mut got: Vec<(String, f64)> = t
            .flows
            .iter()
            .map(|f| (f.delivered_to.clone().unwrap_or_default(), f.probability))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got.len(), 2, "{mode}: {got:?}");
        assert_eq!(got[0].0, "default/server-pod-1");
        assert_eq!(got[1].0, "default/server-pod-2");
        assert!(got.iter().all(|(_, p)| (p - 0.5).abs() < 1e-9), "{mode}: {got:?}");
    }
}

#[test]
fn a_thousand_connections_spread_over_both_server_pods_and_all_are_delivered() {
    let c = walkthrough();
    for mode in MODES {
        let net = ClusterNetwork::new(&c, &Experiments::in_mode(mode)).expect("network");
        let r = TraceRequest::parse("pod-client", "svc/default/service").expect("parses");
        let d = net.distribution(&r, 1000).expect("traced");
        assert_eq!(d.outcomes.get(&Outcome::Delivered), Some(&1000), "{mode}");
        let one = d.delivered.get("default/server-pod-1").copied().unwrap_or(0);
        let two = d.delivered.get("default/server-pod-2").copied().unwrap_or(0);
        assert_eq!(one + two, 1000, "{mode}");
        assert!((400..=600).contains(&one), "{mode}: {one} of 1000 to server-pod-1");
    }
}

#[test]
fn pod_to_pod_on_another_node_is_delivered_with_and_without_kube_proxy() {
    let c = walkthrough();
    for mode in MODES {
        for e in [Experiments::in_mode(mode), without_kube_proxy(mode)] {
            let t = trace_in(&c, &e, "pod-client", "pod/server-pod-2:80");
            assert_eq!(t.outcome, Outcome::Delivered, "{mode}: {t}");
            assert_eq!(t.delivered_to.as_deref(), Some("default/server-pod-2"));
            assert!(dnat_hops(&t).is_empty(), "{mode}: pod traffic is not NATed");
            // The CNI's host-gw route carries it to the server's node.
            let routes = hops_of(&t, HopKind::Route);
            assert!(routes.iter().any(|(n, r)| n == "minikube" && r.contains("via 192.168.49.4")));
            let p = ping_in(&c, &e, "pod-client", "pod/server-pod-2");
            assert_eq!(p.outcome, Outcome::Delivered, "{mode}: {p}");
        }
    }
}

#[test]
fn without_kube_proxy_anywhere_the_service_times_out_through_the_default_gateway() {
    let c = walkthrough();
    for mode in MODES {
        let t = trace_in(&c, &without_kube_proxy(mode), "pod-client", "svc/default/service:8080");
        assert_eq!(t.outcome, Outcome::Timeout, "{mode}: {t}");
        assert!(dnat_hops(&t).is_empty());
        let leave = hops_of(&t, HopKind::Leave);
        assert_eq!(leave.len(), 1, "{mode}: {t}");
        assert!(leave[0].1.contains("gateway 192.168.49.1"), "{leave:?}");
        assert!(t.summary.contains("nothing answers"), "{}", t.summary);
    }
}

#[test]
fn without_kube_proxy_on_the_clients_node_only_its_service_traffic_times_out() {
    let c = walkthrough();
    for mode in MODES {
        let e = without_kube_proxy_on(mode, "minikube");
        let from_client = trace_in(&c, &e, "pod-client", "svc/default/service:8080");
        assert_eq!(from_client.outcome, Outcome::Timeout, "{mode}: {from_client}");
        // Pods still reach pods, and pinging a server pod still works.
        let direct = trace_in(&c, &e, "pod-client", "pod/server-pod-1:80");
        assert_eq!(direct.outcome, Outcome::Delivered, "{mode}: {direct}");
        let ping = ping_in(&c, &e, "pod-client", "pod/server-pod-1");
        assert_eq!(ping.outcome, Outcome::Delivered, "{mode}: {ping}");
        // A client on a node whose kube-proxy runs still gets through.
        let from_m02 = trace_in(&c, &e, "server-pod-1", "svc/default/service:8080");
        assert_eq!(from_m02.outcome, Outcome::Delivered, "{mode}: {from_m02}");
    }
}

#[test]
fn pinging_the_cluster_ip_times_out_in_iptables_mode_and_is_rejected_in_nftables_mode() {
    let c = walkthrough();
    let t = ping_in(&c, &Experiments::in_mode(Mode::Iptables), "pod-client", "svc/default/service");
    assert_eq!(t.outcome, Outcome::Timeout, "{t}");
    assert!(dnat_hops(&t).is_empty(), "no rule matches ICMP");
    let t = ping_in(&c, &Experiments::in_mode(Mode::Nftables), "pod-client", "svc/default/service");
    assert_eq!(t.outcome, Outcome::Refused, "{t}");
    let refused = hops_of(&t, HopKind::Refuse);
    assert!(
        refused.iter().any(|(n, r)| n == "minikube" && r.contains("cluster-ips")),
        "{refused:?}"
    );
}

#[test]
fn in_ipvs_mode_the_node_owns_the_cluster_ip_but_kube_ipvs_filter_rejects_a_ping_and_unknown_ports()
{
    // kube-ipvs0 holds the ClusterIP, so the packet is for the node itself (INPUT), where
    // KUBE-IPVS-FILTER rejects NEW connections to kube-ipvs0 addresses that are not a
    // service ip,port (spec ipvs §6.2 item 21, §7) — an ICMP echo has no port.
    let c = walkthrough();
    let e = Experiments::in_mode(Mode::Ipvs);
    for t in [
        ping_in(&c, &e, "pod-client", "svc/default/service"),
        trace_in(&c, &e, "pod-client", "service:9999"),
    ] {
        assert_eq!(t.outcome, Outcome::Refused, "{t}");
        assert!(dnat_hops(&t).is_empty());
        let refused = hops_of(&t, HopKind::Refuse);
        assert!(
            refused.iter().any(|(n, r)| n == "minikube" && r.contains("KUBE-IPVS-FILTER")),
            "{refused:?}"
        );
    }
}

#[test]
fn in_ipvs_mode_the_curl_is_routed_to_kube_ipvs0_rewritten_at_local_in_then_routed_to_the_pod() {
    let c = walkthrough();
    let t = trace_in(&c, &Experiments::in_mode(Mode::Ipvs), "pod-client", "10.100.253.115:8080");
    assert_eq!(t.outcome, Outcome::Delivered, "{t}");
    let on_client_node: Vec<&str> = t
        .hops()
        .iter()
        .filter(|h| h.place.to_string() == "minikube")
        .filter(|h| h.kind == HopKind::Route || h.rule.is_some())
        .map(|h| h.text.as_str())
        .collect();
    let local =
        on_client_node.iter().position(|h| h.contains("local 10.100.253.115 dev kube-ipvs0"));
    let rewrite = on_client_node.iter().position(|h| h.contains("IPVS: DNAT 10.100.253.115:8080"));
    let onward = on_client_node.iter().position(|h| h.starts_with("main table: `10.244."));
    assert!(
        matches!((local, rewrite, onward), (Some(a), Some(b), Some(c)) if a < b && b < c),
        "{on_client_node:#?}"
    );
}

#[test]
fn a_port_the_service_does_not_expose_is_not_dnated() {
    let c = walkthrough();
    let t = trace_in(&c, &Experiments::in_mode(Mode::Iptables), "pod-client", "service:9999");
    assert_eq!(t.outcome, Outcome::Timeout, "{t}");
    assert!(dnat_hops(&t).is_empty());
    // nftables rejects traffic to ClusterIP ports it does not know.
    let t = trace_in(&c, &Experiments::in_mode(Mode::Nftables), "pod-client", "service:9999");
    assert_eq!(t.outcome, Outcome::Refused, "{t}");
    assert!(dnat_hops(&t).is_empty());
}

#[test]
fn a_service_without_ready_endpoints_is_refused_by_kube_proxys_reject_rule_or_dropped_by_ipvs() {
    let c = walkthrough();
    for mode in MODES {
        let mut e = Experiments::in_mode(mode);
        e.not_ready.insert(NamespacedName::new("default", "server-pod-1"));
        e.not_ready.insert(NamespacedName::new("default", "server-pod-2"));
        let t = trace_in(&c, &e, "pod-client", "svc/default/service:8080");
        if mode == Mode::Ipvs {
            // IPVS has no REJECT rule for it: the virtual server has no real server, and the
            // kernel drops the packet (spec ipvs §7).
            assert_eq!(t.outcome, Outcome::Timeout, "{mode}: {t}");
            let dropped = hops_of(&t, HopKind::Drop);
            assert!(dropped.iter().any(|(n, _)| n == "minikube"), "{dropped:?}");
        } else {
            assert_eq!(t.outcome, Outcome::Refused, "{mode}: {t}");
            let refused = hops_of(&t, HopKind::Refuse);
            assert!(
                refused.iter().any(|(n, r)| n == "minikube" && r.contains("REJECT")),
                "{refused:?}"
            );
        }
        // One pod not ready: the other takes every connection.
        let mut e = Experiments::in_mode(mode);
        e.not_ready.insert(NamespacedName::new("default", "server-pod-1"));
        let net = ClusterNetwork::new(&c, &e).expect("network");
        let r = TraceRequest::parse("pod-client", "svc/default/service").expect("parses");
        let d = net.distribution(&r, 20).expect("traced");
        assert_eq!(d.delivered.get("default/server-pod-2"), Some(&20), "{mode}: {d:?}");
    }
}

#[test]
fn internal_traffic_policy_local_without_a_local_endpoint_is_dropped() {
    let text = read("examples/kube-proxy.yaml")
        .replace("spec:\n  selector:", "spec:\n  internalTrafficPolicy: Local\n  selector:");
    let c = cluster_of(&text);
    for mode in MODES {
        let t = trace_in(&c, &Experiments::in_mode(mode), "pod-client", "svc/default/service:8080");
        assert_eq!(t.outcome, Outcome::Timeout, "{mode}: {t}");
        assert!(!hops_of(&t, HopKind::Drop).is_empty(), "{mode}: {t}");
        // server-pod-1 has a local endpoint: itself.
        let t = trace_in(&c, &Experiments::in_mode(mode), "server-pod-1", "svc/default/service");
        assert_eq!(t.delivered_to.as_deref(), Some("default/server-pod-1"), "{mode}: {t}");
    }
}

#[test]
fn a_server_pod_reaching_its_own_service_can_land_on_itself_and_is_masqueraded() {
    let c = walkthrough();
    for mode in MODES {
        let net = ClusterNetwork::new(&c, &Experiments::in_mode(mode)).expect("network");
        let mut r = TraceRequest::parse("server-pod-1", "svc/default/service").expect("parses");
        r.choices = Choices::AllBranches;
        let t = net.trace(&r).expect("traced");
        let hairpin = t
            .flows
            .iter()
            .find(|f| f.delivered_to.as_deref() == Some("default/server-pod-1"))
            .expect("one branch lands on itself");
        assert_eq!(hairpin.outcome, Outcome::Delivered, "{mode}");
        let deliver = hairpin.hops.iter().find(|h| h.kind == HopKind::Deliver).expect("deliver");
        // MASQUERADE to the bridge's address, so the reply comes back through the node.
        assert_eq!(deliver.after.src, ip("10.244.1.1"), "{mode}");
        let entry = &hairpin.conntrack[0];
        assert!(entry.dnat && entry.snat, "{mode}: {entry}");
        let last = hairpin.hops.last().expect("hops");
        assert_eq!(last.after.src, ip(CLUSTER_IP), "{mode}");
    }
}

#[test]
fn frozen_rules_from_an_older_sync_do_not_know_a_newer_service() {
    let older = read("examples/kube-proxy.yaml");
    let newer = format!(
        "{older}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: newer\nspec:\n  selector:\n    app.kubernetes.io/name: server\n  ports:\n  - port: 9090\n    targetPort: 80\n"
    );
    let (older, newer) = (cluster_of(&older), cluster_of(&newer));
    for mode in MODES {
        let running =
            trace_in(&newer, &Experiments::in_mode(mode), "pod-client", "svc/default/newer");
        assert_eq!(running.outcome, Outcome::Delivered, "{mode}: {running}");
        let e = Experiments {
            kube_proxy: KubeProxy::StoppedAfterSync(Box::new(older.clone())),
            ..Experiments::in_mode(mode)
        };
        let frozen = trace_in(&newer, &e, "pod-client", "svc/default/newer");
        assert_ne!(frozen.outcome, Outcome::Delivered, "{mode}: {frozen}");
        // The older Service is still served by the frozen rules.
        let old = trace_in(&newer, &e, "pod-client", "svc/default/service");
        assert_eq!(old.outcome, Outcome::Delivered, "{mode}: {old}");
    }
}

#[test]
fn a_node_without_the_cnis_routes_cannot_reach_pods_on_other_nodes() {
    let c = walkthrough();
    for mode in MODES {
        let mut e = Experiments::in_mode(mode);
        e.no_routes.insert("minikube".to_owned());
        let t = trace_in(&c, &e, "pod-client", "pod/server-pod-2:80");
        assert_ne!(t.outcome, Outcome::Delivered, "{mode}: {t}");
        // With no host-gw route, the pod address follows the default route off the cluster.
        let left = t.hops().iter().find(|h| h.kind == HopKind::Leave).expect("left the cluster");
        assert_eq!(left.place, Place::Node { name: "minikube".into() }, "{mode}: {t}");
    }
}

#[test]
fn a_node_and_an_outside_client_do_not_resolve_cluster_names() {
    let c = walkthrough();
    let e = Experiments::default();
    let t = trace_in(&c, &e, "node/minikube", "service:8080");
    assert_eq!(t.outcome, Outcome::Unreachable, "{t}");
    assert!(t.flows.is_empty());
    // By ClusterIP the node's own packet goes through OUTPUT and is DNATed.
    let t = trace_in(&c, &e, "node/minikube", "svc/default/service");
    assert_eq!(t.outcome, Outcome::Delivered, "{t}");
}

/// The golden stories: request, switches and the file they are checked against.
#[test]
fn the_walkthrough_stories_match_their_golden_files_in_both_modes() {
    let c = walkthrough();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cluster-traces");
    let bless = std::env::var("KPSIM_BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    type Case = (&'static str, &'static str, &'static str, bool, fn(Mode) -> Experiments);
    let cases: [Case; 4] = [
        ("curl-service", "pod-client", "service:8080", false, Experiments::in_mode),
        ("ping-cluster-ip", "pod-client", "10.100.253.115", true, Experiments::in_mode),
        (
            "no-kube-proxy-curl-service",
            "pod-client",
            "10.100.253.115:8080",
            false,
            without_kube_proxy,
        ),
        ("no-kube-proxy-curl-pod", "pod-client", "pod/server-pod-2:80", false, without_kube_proxy),
    ];
    for (name, from, to, icmp, experiments) in cases {
        for mode in MODES {
            let e = experiments(mode);
            let t = if icmp { ping_in(&c, &e, from, to) } else { trace_in(&c, &e, from, to) };
            let got = t.to_string();
            let path = dir.join(format!("{name}.{mode}.txt"));
            if bless {
                std::fs::create_dir_all(&dir).expect("mkdir");
                std::fs::write(&path, &got).expect("write golden");
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(want) if want == got => {}
                Ok(want) => failures.push(format!(
                    "{} differs (rerun with KPSIM_BLESS=1 if intended)\n--- want\n{want}--- got\n{got}",
                    path.display()
                )),
                Err(_) => failures.push(format!("{} is missing: run with KPSIM_BLESS=1", path.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The walkthrough's Service as a NodePort (30080) with this `externalTrafficPolicy`.
fn node_port_service(etp: &str) -> Cluster {
    let text = read("examples/kube-proxy.yaml")
        .replace(
            "spec:\n  selector:",
            &format!("spec:\n  type: NodePort\n  externalTrafficPolicy: {etp}\n  selector:"),
        )
        .replace(
            "    targetPort: http-web-svc",
            "    targetPort: http-web-svc\n    nodePort: 30080",
        );
    cluster_of(&text)
}

#[test]
fn a_node_port_from_outside_with_etp_cluster_is_masqueraded_and_may_hop_to_another_node() {
    let c = node_port_service("Cluster");
    for mode in MODES {
        let net = ClusterNetwork::new(&c, &Experiments::in_mode(mode)).expect("network");
        let mut r = TraceRequest::parse("203.0.113.7", "node/minikube:30080").expect("parses");
        r.choices = Choices::AllBranches;
        let t = net.trace(&r).expect("traced");
        assert_eq!(t.flows.len(), 2, "{mode}: {t}");
        for f in &t.flows {
            assert_eq!(f.outcome, Outcome::Delivered, "{mode}: {t}");
            let deliver = f.hops.iter().find(|h| h.kind == HopKind::Deliver).expect("deliver");
            // minikube has no server pod: both branches cross to another node, masqueraded
            // to minikube's eth0 address so the reply comes back through it.
            assert_eq!(deliver.after.src, ip("192.168.49.2"), "{mode}: {t}");
            let last = f.hops.last().expect("hops");
            assert_eq!((last.after.src, last.after.sport), (ip("192.168.49.2"), Some(30080)));
            assert_eq!(last.after.dst, ip("203.0.113.7"), "{mode}");
        }
    }
}

#[test]
fn a_node_port_from_outside_with_etp_local_keeps_the_client_ip_and_only_serves_local_pods() {
    let c = node_port_service("Local");
    for mode in MODES {
        let e = Experiments::in_mode(mode);
        let t = trace_in(&c, &e, "203.0.113.7", "node/minikube-m02:30080");
        assert_eq!(t.delivered_to.as_deref(), Some("default/server-pod-1"), "{mode}: {t}");
        let deliver = t.hops().iter().find(|h| h.kind == HopKind::Deliver).expect("deliver");
        assert_eq!(deliver.after.src, ip("203.0.113.7"), "{mode}: the client IP is kept");
        let t = trace_in(&c, &e, "203.0.113.7", "192.168.49.4:30080");
        assert_eq!(t.delivered_to.as_deref(), Some("default/server-pod-2"), "{mode}: {t}");
        let t = trace_in(&c, &e, "203.0.113.7", "node/minikube:30080");
        assert_eq!(t.outcome, Outcome::Timeout, "{mode}: {t}");
        if mode == Mode::Ipvs {
            // IPVS falls back to the cluster endpoints and forwards without masquerade
            // (spec ipvs §4): the server answers the client directly, which does not know
            // that source.
            assert_eq!(dnat_hops(&t).len(), 1, "{mode}: {t}");
            assert!(t.summary.contains("does not recognise it"), "{mode}: {}", t.summary);
        } else {
            // A node without a local endpoint drops it.
            assert!(!hops_of(&t, HopKind::Drop).is_empty(), "{mode}: {t}");
        }
    }
}

#[test]
fn pod_1_pings_pod_2_on_another_node_with_and_without_kube_proxy() {
    let c = cluster_of(&read("examples/two-pods-connectivity.yaml"));
    for mode in MODES {
        for e in [Experiments::in_mode(mode), without_kube_proxy(mode)] {
            let t = ping_in(&c, &e, "pod-1", "pod/pod-2");
            assert_eq!(t.outcome, Outcome::Delivered, "{mode}: {t}");
            assert_eq!(t.delivered_to.as_deref(), Some("default/pod-2"));
            let nodes: Vec<&str> = t.flows[0].conntrack.iter().map(|e| e.node.as_str()).collect();
            assert_eq!(nodes.len(), 2, "{mode}: both nodes track the ping: {nodes:?}");
            assert_ne!(nodes[0], nodes[1]);
        }
    }
}

/// The walkthrough with two more Services over the same pods: `headless` (`clusterIP: None`)
/// and `external` (ExternalName `example.com`).
fn walkthrough_with_headless_and_external_name() -> Cluster {
    let extra = "---
apiVersion: v1
kind: Service
metadata:
  name: headless
spec:
  clusterIP: None
  selector:
    app.kubernetes.io/name: server
  ports:
  - name: http
    port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: external
spec:
  type: ExternalName
  externalName: example.com
";
    cluster_of(&format!("{}\n{extra}", read("examples/kube-proxy.yaml")))
}

#[test]
fn a_headless_service_name_answers_pod_ips_and_the_connection_goes_straight_to_a_pod() {
    let c = walkthrough_with_headless_and_external_name();
    for mode in MODES {
        let t = trace_in(&c, &Experiments::in_mode(mode), "pod-client", "headless:80");
        let dns = t.dns.as_ref().expect("the name went through cluster DNS");
        let mut addresses = dns.addresses.clone();
        addresses.sort();
        assert_eq!(addresses, vec![ip("10.244.1.2"), ip("10.244.2.2")], "{t}");
        assert_eq!(t.outcome, Outcome::Delivered, "{mode:?}: {t}");
        let to = t.delivered_to.as_deref().unwrap_or_default();
        assert!(to.starts_with("default/server-pod-"), "{t}");
        assert!(dnat_hops(&t).is_empty(), "no kube-proxy DNAT for a headless Service: {t}");
    }
}

#[test]
fn an_external_name_service_answers_its_cname_and_the_name_leads_out_of_the_cluster() {
    let c = walkthrough_with_headless_and_external_name();
    for mode in MODES {
        let t = trace_in(&c, &Experiments::in_mode(mode), "pod-client", "external:80");
        let dns = t.dns.as_ref().expect("the name went through cluster DNS");
        let story = t.to_string();
        assert!(story.contains("example.com"), "the CNAME is shown: {story}");
        assert!(dns.addresses.is_empty() || t.outcome != Outcome::Delivered, "{story}");
        assert_ne!(t.outcome, Outcome::Delivered, "{mode:?}: {story}");
        assert!(dnat_hops(&t).is_empty(), "kube-proxy writes no rules for ExternalName: {story}");
    }
}
