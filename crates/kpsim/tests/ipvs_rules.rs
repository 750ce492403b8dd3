//! IPVS build rules the reference corpus does not exercise (spec ipvs §2–§6, the parts marked
//! **[code]**): traffic policies and their fall-backs, session affinity on every virtual server,
//! terminating endpoints, LoadBalancer source ranges, the IPv6 set names and rules, node
//! addresses, schedulers and the masquerade variants.

use std::net::IpAddr;

use kpsim::backend::iptables::Match;
use kpsim::backend::ipvs::{self, Ruleset, ServiceFlags, VirtualServerKind};
use kpsim::model::Admission;
use kpsim::net::Protocol;

const NODE: &str = "mode: ipvs\nipFamily: IPv4\nnodeName: node-a\nnodeIP: 192.168.0.10\n\
nodeInterfaces:\n  lo: [127.0.0.1/8]\n  eth0: [192.168.0.10/24]\n\
localTrafficDetector: {mode: ClusterCIDR, clusterCIDR: 10.244.0.0/16}\n";

fn rules(input: &str, settings: &str) -> Ruleset {
    let manifests = kpsim::manifest::parse(input);
    let (cluster, _) = kpsim::model::build::build(&manifests, Admission::AsGiven);
    let (file, diagnostics) = kpsim::settings::parse_settings_file(settings);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let mut diagnostics = Vec::new();
    let s = file.resolve(&cluster, &mut diagnostics);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    ipvs::build(&kpsim::proxy::plan(&cluster, &s))
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test IP")
}

/// Real servers of a virtual server as `ip:port` strings.
fn real_servers(r: &Ruleset, addr: &str, port: u16) -> Vec<String> {
    let vs = r
        .virtual_server(ip(addr), port, Protocol::Tcp)
        .unwrap_or_else(|| panic!("no virtual server {addr}:{port} in\n{r}"));
    vs.real_servers.iter().map(|s| s.endpoint_string()).collect()
}

fn entries(r: &Ruleset, set: &str) -> Vec<String> {
    r.ipset(set)
        .unwrap_or_else(|| panic!("no set {set}"))
        .entries
        .iter()
        .map(|e| e.to_string())
        .collect()
}

/// A Service and its slice: `spec` is extra Service spec (YAML, 2-space indented), the
/// endpoints `(ip, node, ready, serving, terminating)` on port 8080.
fn service(spec: &str, endpoints: &[(&str, &str, bool, bool, bool)]) -> String {
    let mut eps = String::new();
    for (addr, node, ready, serving, terminating) in endpoints {
        eps.push_str(&format!(
            "- addresses: [{addr}]\n  nodeName: {node}\n  conditions: {{ready: {ready}, serving: {serving}, terminating: {terminating}}}\n"
        ));
    }
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: ns}}\nspec:\n  clusterIP: 10.96.0.10\n  ports:\n  - {{name: p, port: 80, protocol: TCP, nodePort: 30080}}\n{spec}---\n\
apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc-1\n  namespace: ns\n  labels: {{kubernetes.io/service-name: svc}}\naddressType: IPv4\nendpoints:\n{eps}ports:\n- {{name: p, port: 8080, protocol: TCP}}\n"
    )
}

const LOCAL_AND_REMOTE: &[(&str, &str, bool, bool, bool)] =
    &[("10.244.0.5", "node-a", true, true, false), ("10.244.1.5", "node-b", true, true, false)];

#[test]
fn etp_local_nodeport_uses_only_local_endpoints_and_the_cluster_ip_all_of_them() {
    let r = rules(
        &service("  type: NodePort\n  externalTrafficPolicy: Local\n", LOCAL_AND_REMOTE),
        NODE,
    );
    assert_eq!(real_servers(&r, "10.96.0.10", 80), ["10.244.0.5:8080", "10.244.1.5:8080"]);
    assert_eq!(real_servers(&r, "192.168.0.10", 30080), ["10.244.0.5:8080"]);
    assert_eq!(entries(&r, "KUBE-NODE-PORT-LOCAL-TCP"), ["30080"]);
    assert_eq!(entries(&r, "KUBE-NODE-PORT-TCP"), ["30080"]);
    // The node IP of a NodePort is never bound to kube-ipvs0.
    assert_eq!(r.dummy.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>(), ["10.96.0.10"]);
}

#[test]
fn etp_local_without_local_endpoints_falls_back_to_every_cluster_endpoint() {
    let remote = &[("10.244.1.5", "node-b", true, true, false)];
    let r = rules(&service("  type: NodePort\n  externalTrafficPolicy: Local\n", remote), NODE);
    assert_eq!(real_servers(&r, "192.168.0.10", 30080), ["10.244.1.5:8080"]);
}

#[test]
fn itp_local_without_local_endpoints_leaves_a_cluster_only_port_without_real_servers() {
    let remote = &[("10.244.1.5", "node-b", true, true, false)];
    let plain = "  type: ClusterIP\n  internalTrafficPolicy: Local\n";
    let text = service(plain, remote).replace(", nodePort: 30080", "");
    let r = rules(&text, NODE);
    assert_eq!(real_servers(&r, "10.96.0.10", 80), Vec::<String>::new());
    // Externally accessible: the cluster endpoints are computed, and the ClusterIP falls back.
    let r = rules(&service("  type: NodePort\n  internalTrafficPolicy: Local\n", remote), NODE);
    assert_eq!(real_servers(&r, "10.96.0.10", 80), ["10.244.1.5:8080"]);
    // With a local endpoint, only that one.
    let r = rules(&service(plain, LOCAL_AND_REMOTE), NODE);
    assert_eq!(real_servers(&r, "10.96.0.10", 80), ["10.244.0.5:8080"]);
}

#[test]
fn session_affinity_makes_every_virtual_server_of_the_port_persistent() {
    let spec = "  type: LoadBalancer\n  externalIPs: [203.0.113.7]\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\nstatus: {loadBalancer: {ingress: [{ip: 198.51.100.9}]}}\n";
    let r = rules(&service(spec, LOCAL_AND_REMOTE), NODE);
    let kinds: Vec<VirtualServerKind> = r.virtual_servers.iter().map(|v| v.kind).collect();
    assert_eq!(kinds.len(), 4, "{r}");
    for vs in &r.virtual_servers {
        assert!(vs.flags.contains(ServiceFlags::PERSISTENT), "{}", vs.name());
        assert_eq!(vs.timeout, 600, "{}", vs.name());
    }
    assert!(r.ipvsadm().to_string().contains("TCP  198.51.100.9:80 rr persistent 600\n"));
}

#[test]
fn terminating_endpoints_serve_with_weight_1_only_when_none_is_ready() {
    let eps = &[
        ("10.244.0.5", "node-a", false, true, true),
        ("10.244.1.5", "node-b", false, true, true),
        ("10.244.1.6", "node-b", false, false, false),
    ];
    let r = rules(&service("  type: ClusterIP\n", eps), NODE);
    let vs = r.virtual_server(ip("10.96.0.10"), 80, Protocol::Tcp).expect("ClusterIP VS");
    let got: Vec<(String, u32)> =
        vs.real_servers.iter().map(|s| (s.endpoint_string(), s.weight)).collect();
    assert_eq!(got, [("10.244.0.5:8080".to_owned(), 1), ("10.244.1.5:8080".to_owned(), 1)]);
    // Hairpin entries: every local endpoint, whatever its readiness.
    assert_eq!(entries(&r, "KUBE-LOOP-BACK"), ["10.244.0.5,tcp:8080,10.244.0.5"]);
    let mut with_ready = eps.to_vec();
    with_ready.push(("10.244.1.7", "node-b", true, true, false));
    let r = rules(&service("  type: ClusterIP\n", &with_ready), NODE);
    assert_eq!(real_servers(&r, "10.96.0.10", 80), ["10.244.1.7:8080"]);
}

#[test]
fn source_ranges_fill_the_firewall_sets_and_block_the_node_when_it_is_outside() {
    let spec = "  type: LoadBalancer\n  loadBalancerSourceRanges: [10.0.0.0/8, 172.16.0.0/12]\nstatus: {loadBalancer: {ingress: [{ip: 198.51.100.9}]}}\n";
    let r = rules(&service(spec, LOCAL_AND_REMOTE), NODE);
    assert_eq!(entries(&r, "KUBE-LOAD-BALANCER-FW"), ["198.51.100.9,tcp:80"]);
    assert_eq!(
        entries(&r, "KUBE-LOAD-BALANCER-SOURCE-CIDR"),
        ["198.51.100.9,tcp:80,10.0.0.0/8", "198.51.100.9,tcp:80,172.16.0.0/12"]
    );
    assert!(entries(&r, "KUBE-LOAD-BALANCER-SOURCE-IP").is_empty());
    let out = r
        .iptables
        .filter
        .chain_rules("KUBE-IPVS-OUT-FILTER")
        .map(|x| x.line("KUBE-IPVS-OUT-FILTER").to_string())
        .collect::<Vec<_>>();
    assert_eq!(
        out,
        [
            "-A KUBE-IPVS-OUT-FILTER -s 198.51.100.9 -m ipvs --vaddr 198.51.100.9 --vproto tcp --vport 80 -j DROP"
        ]
    );
    // iptables-save prints the ipvs match as libxt_ipvs saves it: the protocol by number,
    // first, and the address without a host mask.
    let saved = r.kernel.save().to_string();
    assert!(
        saved.contains("-A KUBE-IPVS-OUT-FILTER -s 198.51.100.9/32 -m ipvs --vproto 6 --vaddr 198.51.100.9 --vport 80 -j DROP\n"),
        "{saved}"
    );
    let text = r.iptables.to_string();
    assert!(text.contains("-A KUBE-PROXY-FIREWALL -m comment --comment \"Kubernetes service load balancer ip + port for load balancer with sourceRange\" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL\n"), "{text}");

    // A range holding the node IP lets the node reach the VIP: SOURCE-IP entry, no DROP.
    let inside = spec.replace("172.16.0.0/12", "192.168.0.0/16");
    let r = rules(&service(&inside, LOCAL_AND_REMOTE), NODE);
    assert_eq!(entries(&r, "KUBE-LOAD-BALANCER-SOURCE-IP"), ["198.51.100.9,tcp:80,198.51.100.9"]);
    assert_eq!(r.iptables.filter.chain_rules("KUBE-IPVS-OUT-FILTER").count(), 0);
}

const IPV6: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: ns}\nspec:\n  type: NodePort\n  clusterIP: fd00:10:96::a\n  externalTrafficPolicy: Local\n  ports:\n  - {name: p, port: 80, protocol: SCTP, nodePort: 30080}\n---\n\
apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc-1\n  namespace: ns\n  labels: {kubernetes.io/service-name: svc}\naddressType: IPv6\nendpoints:\n- addresses: ['fd00:10:244::5']\n  nodeName: node-a\nports:\n- {name: p, port: 8080, protocol: SCTP}\n";

const IPV6_NODE: &str = "mode: ipvs\nipFamily: IPv6\nnodeName: node-a\nnodeInterfaces:\n  lo: ['::1/128']\n  eth0: ['fd00::10/64', 'fe80::1/64']\n";

#[test]
fn ipv6_sets_are_named_kube_6_and_cut_to_31_characters() {
    let r = rules(IPV6, IPV6_NODE);
    assert_eq!(entries(&r, "KUBE-6-CLUSTER-IP"), ["fd00:10:96::a,sctp:80"]);
    // The link-local address gets no NodePort virtual server; the global one does.
    assert_eq!(entries(&r, "KUBE-6-NODE-PORT-SCTP-HASH"), ["fd00::10,sctp:30080"]);
    assert_eq!(entries(&r, "KUBE-6-NODE-PORT-LOCAL-SCTP-HAS"), ["fd00::10,sctp:30080"]);
    assert!(r.ipset("KUBE-6-LOAD-BALANCER-SOURCE-CID").is_some());
    let text = r.iptables.to_string();
    assert!(text.contains("-A KUBE-SERVICES -s ::1/128 -j RETURN\n"), "{text}");
    assert!(text.contains("-m set --match-set KUBE-6-NODE-PORT-LOCAL-SCTP-HAS dst,dst -j RETURN"));
    assert!(r.ipvsadm().to_string().contains("SCTP [fd00:10:96::a]:80 rr\n"));
    assert!(r.ipset_restore().to_string().contains(
        "create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 65536\n"
    ));
    // The unit tests' fake keeps the IPv4 names.
    let fake = format!("{IPV6_NODE}ipvs: {{ipsetNamesUseFamilyPrefix: false}}\n");
    let r = rules(IPV6, &fake);
    assert_eq!(entries(&r, "KUBE-CLUSTER-IP"), ["fd00:10:96::a,sctp:80"]);
}

#[test]
fn an_external_ip_that_is_a_node_address_is_not_bound_to_kube_ipvs0() {
    let spec = "  type: ClusterIP\n  externalIPs: [192.168.0.10, 203.0.113.7]\n";
    let text = service(spec, LOCAL_AND_REMOTE).replace(", nodePort: 30080", "");
    let r = rules(&text, NODE);
    let bound: Vec<String> = r.dummy.addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(bound, ["10.96.0.10", "203.0.113.7"]);
    assert_eq!(entries(&r, "KUBE-IPVS-IPS"), ["10.96.0.10", "203.0.113.7"]);
    assert_eq!(entries(&r, "KUBE-EXTERNAL-IP"), ["192.168.0.10,tcp:80", "203.0.113.7,tcp:80"]);
    assert!(r.virtual_server(ip("192.168.0.10"), 80, Protocol::Tcp).is_some());
}

#[test]
fn the_mh_scheduler_adds_the_source_hash_flag() {
    let r = rules(
        &service("  type: ClusterIP\n", LOCAL_AND_REMOTE),
        &format!("{NODE}ipvs: {{scheduler: mh}}\n"),
    );
    let vs = &r.virtual_servers[0];
    assert_eq!(vs.scheduler.as_str(), "mh");
    assert_eq!(vs.flags, ServiceFlags::SOURCE_HASH);
    // ipvsadm names the flag (the kernel's second scheduler flag) after the scheduler, in
    // parentheses before the persistence.
    let sticky = "  type: ClusterIP\n  sessionAffinity: ClientIP\n";
    let r = rules(&service(sticky, LOCAL_AND_REMOTE), &format!("{NODE}ipvs: {{scheduler: mh}}\n"));
    let listing = r.ipvsadm().to_string();
    assert!(listing.contains("\nTCP  10.96.0.10:80 mh (mh-port) persistent 10800\n"), "{listing}");
}

#[test]
fn without_node_ips_a_nodeport_port_skips_its_health_check_port_too() {
    let spec =
        "  type: LoadBalancer\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 32000\n";
    let r = rules(&service(spec, LOCAL_AND_REMOTE), NODE);
    assert_eq!(entries(&r, "KUBE-HEALTH-CHECK-NODE-PORT"), ["32000"]);
    // No node address at all (the netlink handle reports none).
    let none = format!("{NODE}ipvs: {{netlinkLocalAddresses: {{eth0: []}}}}\n");
    let r = rules(&service(spec, LOCAL_AND_REMOTE), &none);
    assert!(entries(&r, "KUBE-HEALTH-CHECK-NODE-PORT").is_empty());
    assert!(entries(&r, "KUBE-NODE-PORT-TCP").is_empty());
    assert_eq!(r.virtual_servers.len(), 1);
}

/// The `--match-set` direction of the ClusterIP masquerade rule and what follows it.
fn cluster_ip_masquerade(r: &Ruleset) -> String {
    r.iptables
        .nat
        .chain_rules("KUBE-SERVICES")
        .find(|x| x.comment().is_some_and(|c| c.contains("cluster ip")))
        .map(|x| {
            x.matches
                .iter()
                .filter(|m| !matches!(m, Match::Comment { .. }))
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

#[test]
fn the_cluster_ip_masquerade_rule_follows_masquerade_all_and_the_detector() {
    let input = service("  type: ClusterIP\n", LOCAL_AND_REMOTE);
    let r = rules(&input, NODE);
    assert_eq!(
        cluster_ip_masquerade(&r),
        "-m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16"
    );
    let r = rules(&input, &format!("{NODE}masqueradeAll: true\n"));
    assert_eq!(cluster_ip_masquerade(&r), "-m set --match-set KUBE-CLUSTER-IP dst,dst");
    let none = NODE.replace("{mode: ClusterCIDR, clusterCIDR: 10.244.0.0/16}", "{mode: None}");
    let r = rules(&input, &none);
    assert_eq!(cluster_ip_masquerade(&r), "-m set --match-set KUBE-CLUSTER-IP src,dst");
    let bridge = NODE.replace(
        "{mode: ClusterCIDR, clusterCIDR: 10.244.0.0/16}",
        "{mode: BridgeInterface, interface: cbr0}",
    );
    let r = rules(&input, &bridge);
    assert_eq!(cluster_ip_masquerade(&r), "-m set --match-set KUBE-CLUSTER-IP dst,dst ! -i cbr0");
}

#[test]
fn the_built_in_chain_jumps_end_up_in_the_order_of_a_fresh_node() {
    let r = rules(&service("  type: ClusterIP\n", LOCAL_AND_REMOTE), NODE);
    let kernel = r.iptables.to_iptables();
    let targets = |table, chain: &str| -> Vec<String> {
        kernel
            .table(table)
            .and_then(|t| t.chain(chain))
            .map(|c| {
                c.rules.iter().filter_map(|x| x.target.as_ref()).map(|t| t.to_string()).collect()
            })
            .unwrap_or_default()
    };
    use kpsim::backend::iptables::TableName::Filter;
    assert_eq!(
        targets(Filter, "INPUT"),
        ["-j KUBE-IPVS-FILTER", "-j KUBE-PROXY-FIREWALL", "-j KUBE-NODE-PORT"]
    );
    assert_eq!(targets(Filter, "FORWARD"), ["-j KUBE-PROXY-FIREWALL", "-j KUBE-FORWARD"]);
}

#[test]
fn settings_without_an_ipvs_key_take_the_defaults() {
    let r = rules(&service("  type: NodePort\n", LOCAL_AND_REMOTE), NODE);
    assert!(r.virtual_servers.iter().all(|v| v.scheduler.as_str() == "rr" && v.flags.0 == 0));
    // Node addresses come from nodeInterfaces: eth0's, not loopback.
    assert!(r.virtual_server(ip("192.168.0.10"), 30080, Protocol::Tcp).is_some());
    assert!(r.virtual_server(ip("127.0.0.1"), 30080, Protocol::Tcp).is_none());
}
