//! Plan → IPVS state: what one `syncProxyRules` of kube-proxy's IPVS proxier leaves on a
//! node (spec ipvs §2–§6): the `kube-ipvs0` addresses, the virtual servers and their real
//! servers, the ipset entries, and the iptables skeleton.
//!
//! Only the state after a sync is built: the graceful termination of removed real servers,
//! the clean-up of stale virtual servers (`--ipvs-exclude-cidrs`) and the sysctls depend on
//! the node's history or are not part of that state.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::ipset::{IpSet, IpSetEntry, SetId};
use super::ruleset::{
    DUMMY_INTERFACE, DummyInterface, RealServer, Ruleset, ServiceFlags, VirtualServer,
    VirtualServerKind,
};
use super::skeleton::{BuiltinJump, Skeleton, SkeletonTable};
use crate::backend::iptables::{
    AddrTypeSpec, Address, ChainName, CtState, IpvsMatch, MarkOp, Match, Rule, SetDirection,
    SetMatch, TableName, Target,
};
use crate::net::{Cidr, IpFamily, Protocol};
use crate::proxy::{ProxyPlan, ServicePortPlan};
use crate::settings::{LocalTrafficDetector, ProxySettings, Scheduler};

const KUBE_SERVICES: ChainName = ChainName::from_static("KUBE-SERVICES");
const KUBE_POSTROUTING: ChainName = ChainName::from_static("KUBE-POSTROUTING");
const KUBE_NODE_PORT: ChainName = ChainName::from_static("KUBE-NODE-PORT");
const KUBE_LOAD_BALANCER: ChainName = ChainName::from_static("KUBE-LOAD-BALANCER");
const KUBE_MARK_MASQ: ChainName = ChainName::from_static("KUBE-MARK-MASQ");
const KUBE_FORWARD: ChainName = ChainName::from_static("KUBE-FORWARD");
const KUBE_PROXY_FIREWALL: ChainName = ChainName::from_static("KUBE-PROXY-FIREWALL");
const KUBE_SOURCE_RANGES_FIREWALL: ChainName =
    ChainName::from_static("KUBE-SOURCE-RANGES-FIREWALL");
const KUBE_IPVS_FILTER: ChainName = ChainName::from_static("KUBE-IPVS-FILTER");
const KUBE_IPVS_OUT_FILTER: ChainName = ChainName::from_static("KUBE-IPVS-OUT-FILTER");

/// The nat chains kube-proxy restores, in declaration order.
pub const NAT_CHAINS: [&str; 5] =
    ["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-NODE-PORT", "KUBE-LOAD-BALANCER", "KUBE-MARK-MASQ"];
/// The filter chains kube-proxy restores, in declaration order.
pub const FILTER_CHAINS: [&str; 6] = [
    "KUBE-FORWARD",
    "KUBE-NODE-PORT",
    "KUBE-PROXY-FIREWALL",
    "KUBE-SOURCE-RANGES-FIREWALL",
    "KUBE-IPVS-FILTER",
    "KUBE-IPVS-OUT-FILTER",
];

/// Builds the IPVS state of the plan's node and family.
///
/// ```
/// let text = include_str!("../../../tests/data/spec/ipvs/worked-example/input.yaml");
/// let analysis = kpsim::analyze(text, kpsim::model::Admission::AsGiven);
/// let settings_text = include_str!("../../../tests/data/spec/ipvs/worked-example/settings.yaml");
/// let (file, _) = kpsim::settings::parse_settings_file(settings_text);
/// let settings = file.resolve(&analysis.cluster, &mut Vec::new());
/// let rules = kpsim::backend::ipvs::build(&kpsim::proxy::plan(&analysis.cluster, &settings));
/// let bound: Vec<String> = rules.dummy.addresses.iter().map(|a| a.to_string()).collect();
/// assert_eq!(bound, ["10.96.0.20", "10.96.0.30"]);
/// assert_eq!(rules.virtual_servers.len(), 3);
/// ```
pub fn build(plan: &ProxyPlan) -> Ruleset {
    let settings = &plan.settings;
    let family = settings.family;
    let node_addresses = node_addresses(settings);
    let node_ips = if plan.service_ports.iter().any(|sp| node_port(sp).is_some()) {
        node_port_ips(settings, &node_addresses)
    } else {
        BTreeSet::new()
    };
    let mut state = State::new(settings);
    for sp in &plan.service_ports {
        state.service_port(sp, &node_addresses, &node_ips);
    }
    let State { sets, servers, bound, out_filter, .. } = state;
    let mut ipsets: Vec<IpSet> = SetId::ALL
        .into_iter()
        .map(|id| IpSet::new(id, family, settings.ipvs.ipset_names_use_family_prefix))
        .collect();
    for set in &mut ipsets {
        if let Some(entries) = sets.get(&set.id) {
            set.entries = entries.clone();
        }
        if set.id == SetId::IpvsIps {
            set.entries = bound.iter().map(|ip| IpSetEntry::Ip(*ip)).collect();
        }
    }
    let iptables = skeleton(settings, &ipsets, &out_filter);
    Ruleset {
        family,
        dummy: DummyInterface { addresses: bound },
        virtual_servers: servers.into_values().collect(),
        ipsets,
        kernel: iptables.to_iptables(),
        iptables,
    }
}

/// A service port's nodePort, when it has one (0 counts as none).
fn node_port(sp: &ServicePortPlan) -> Option<u16> {
    sp.node_port.filter(|p| *p != 0)
}

/// Addresses kube-proxy never uses as node addresses: loopback, IPv6 link-local.
fn usable(ip: IpAddr) -> bool {
    let link_local = match ip {
        IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(_) => false,
    };
    !ip.is_loopback() && !link_local
}

/// The node's addresses (spec ipvs §2): every address of the family on every interface but
/// `kube-ipvs0`, without loopback and IPv6 link-local — as the netlink handle reports them
/// (`ipvs.netlinkLocalAddresses`), else from `nodeInterfaces`.
pub fn node_addresses(settings: &ProxySettings) -> BTreeSet<IpAddr> {
    let family = settings.family;
    let all: Vec<IpAddr> = match &settings.ipvs.netlink_local_addresses {
        Some(ifaces) => ifaces
            .iter()
            .filter(|(name, _)| name.as_str() != DUMMY_INTERFACE)
            .flat_map(|(_, addrs)| addrs.iter().copied())
            .collect(),
        None => settings
            .node_interfaces
            .iter()
            .filter(|(name, _)| name.as_str() != DUMMY_INTERFACE)
            .flat_map(|(_, addrs)| addrs.iter().map(|a| a.addr))
            .collect(),
    };
    all.into_iter().filter(|ip| IpFamily::of(*ip) == family && usable(*ip)).collect()
}

/// The addresses that get NodePort virtual servers (spec ipvs §3.1): every node address when
/// `--nodeport-addresses` has no CIDR of the family or a zero-length one; otherwise the
/// addresses of every listed interface (`kube-ipvs0` included, when the settings list it)
/// inside one of the CIDRs, without loopback.
pub fn node_port_ips(
    settings: &ProxySettings,
    node_addresses: &BTreeSet<IpAddr>,
) -> BTreeSet<IpAddr> {
    let cidrs: Vec<&Cidr> =
        settings.node_port_addresses.iter().filter(|c| c.family() == settings.family).collect();
    if cidrs.is_empty() || cidrs.iter().any(|c| c.prefix_len() == 0) {
        return node_addresses.clone();
    }
    settings
        .node_interfaces
        .values()
        .flatten()
        .map(|a| a.addr)
        .filter(|ip| cidrs.iter().any(|c| c.contains(*ip)) && !ip.is_loopback())
        .collect()
}

/// What the loop over service ports accumulates.
struct State<'a> {
    settings: &'a ProxySettings,
    sets: BTreeMap<SetId, BTreeSet<IpSetEntry>>,
    /// Keyed by (address, port, protocol): a later service port with the same key replaces
    /// an earlier one (kube-proxy's map order decides on a node; plan order decides here).
    servers: BTreeMap<(IpAddr, u16, Protocol), VirtualServer>,
    /// activeBindAddrs: the addresses on `kube-ipvs0`.
    bound: BTreeSet<IpAddr>,
    /// LB VIPs with source ranges none of which contains the node IP:
    /// `KUBE-IPVS-OUT-FILTER` drops node-originated traffic to them.
    out_filter: Vec<IpvsMatch>,
}

impl<'a> State<'a> {
    fn new(settings: &'a ProxySettings) -> State<'a> {
        State {
            settings,
            sets: BTreeMap::new(),
            servers: BTreeMap::new(),
            bound: BTreeSet::new(),
            out_filter: Vec::new(),
        }
    }

    fn add(&mut self, set: SetId, entry: IpSetEntry) {
        self.sets.entry(set).or_default().insert(entry);
    }

    fn virtual_server(
        &mut self,
        sp: &ServicePortPlan,
        address: IpAddr,
        port: u16,
        kind: VirtualServerKind,
    ) {
        let scheduler = self.settings.ipvs.scheduler;
        let mut flags = ServiceFlags::default();
        let mut timeout = 0;
        if let Some(t) = sp.session_affinity_timeout {
            flags.insert(ServiceFlags::PERSISTENT);
            timeout = t;
        }
        if scheduler == Scheduler::Mh {
            flags.insert(ServiceFlags::SOURCE_HASH);
        }
        let vs = VirtualServer {
            address,
            port,
            protocol: sp.protocol,
            scheduler,
            flags,
            timeout,
            real_servers: real_servers(sp, kind),
            service: sp.name.clone(),
            kind,
        };
        self.servers.insert(vs.key(), vs);
    }

    fn service_port(
        &mut self,
        sp: &ServicePortPlan,
        node_addresses: &BTreeSet<IpAddr>,
        node_ips: &BTreeSet<IpAddr>,
    ) {
        let protocol = sp.protocol;
        // Hairpin: every local endpoint, whatever its readiness.
        for e in sp.endpoints.iter().filter(|e| e.is_local && e.port != 0) {
            let entry = IpSetEntry::IpPortIp { ip: e.ip, protocol, port: e.port, ip2: e.ip };
            self.add(SetId::LoopBack, entry);
        }
        let ip_port = |ip: IpAddr| IpSetEntry::IpPort { ip, protocol, port: sp.port };

        self.add(SetId::ClusterIp, ip_port(sp.cluster_ip));
        self.virtual_server(sp, sp.cluster_ip, sp.port, VirtualServerKind::ClusterIp);
        self.bound.insert(sp.cluster_ip);

        for &ip in &sp.external_ips {
            let set =
                if sp.external_policy_local { SetId::ExternalIpLocal } else { SetId::ExternalIp };
            self.add(set, ip_port(ip));
            self.virtual_server(sp, ip, sp.port, VirtualServerKind::ExternalIp);
            if !node_addresses.contains(&ip) {
                self.bound.insert(ip);
            }
        }

        for &vip in &sp.load_balancer_vips {
            self.add(SetId::LoadBalancer, ip_port(vip));
            if sp.external_policy_local {
                self.add(SetId::LoadBalancerLocal, ip_port(vip));
            }
            if !sp.load_balancer_source_ranges.is_empty() {
                self.add(SetId::LoadBalancerFw, ip_port(vip));
                let mut allow_from_node = false;
                for &net in &sp.load_balancer_source_ranges {
                    let entry = IpSetEntry::IpPortNet { ip: vip, protocol, port: sp.port, net };
                    self.add(SetId::LoadBalancerSourceCidr, entry);
                    allow_from_node |= self.settings.node_ip.is_some_and(|n| net.contains(n));
                }
                if allow_from_node {
                    let entry = IpSetEntry::IpPortIp { ip: vip, protocol, port: sp.port, ip2: vip };
                    self.add(SetId::LoadBalancerSourceIp, entry);
                } else {
                    self.out_filter.push(IpvsMatch {
                        vaddr: vip,
                        vproto: protocol,
                        vport: sp.port,
                    });
                }
            }
            self.virtual_server(sp, vip, sp.port, VirtualServerKind::LoadBalancer);
            if !node_addresses.contains(&vip) {
                self.bound.insert(vip);
            }
        }

        if let Some(np) = node_port(sp) {
            // No usable node IP: kube-proxy skips the rest of the service port, its
            // health-check node port included (an early `continue`).
            if node_ips.is_empty() {
                return;
            }
            let (set, local_set, entries): (SetId, SetId, Vec<IpSetEntry>) = match protocol {
                Protocol::Tcp => {
                    (SetId::NodePortTcp, SetId::NodePortLocalTcp, vec![IpSetEntry::Port(np)])
                }
                Protocol::Udp => {
                    (SetId::NodePortUdp, SetId::NodePortLocalUdp, vec![IpSetEntry::Port(np)])
                }
                Protocol::Sctp => (
                    SetId::NodePortSctp,
                    SetId::NodePortLocalSctp,
                    node_ips
                        .iter()
                        .map(|&ip| IpSetEntry::IpPort { ip, protocol, port: np })
                        .collect(),
                ),
            };
            for e in &entries {
                self.add(set, *e);
                if sp.external_policy_local {
                    self.add(local_set, *e);
                }
            }
            for &ip in node_ips {
                self.virtual_server(sp, ip, np, VirtualServerKind::NodePort);
            }
        }

        if let Some(hc) = sp.health_check_node_port.filter(|p| *p != 0) {
            self.add(SetId::HealthCheckNodePort, IpSetEntry::Port(hc));
        }
    }
}

/// The real servers of one virtual server (spec ipvs §4): the local endpoints when the
/// policy for its kind of address is Local and there are some, else the cluster endpoints;
/// weight 1 each, sorted by address and port.
fn real_servers(sp: &ServicePortPlan, kind: VirtualServerKind) -> Vec<RealServer> {
    let local_only =
        if kind.is_external() { sp.external_policy_local } else { sp.internal_policy_local };
    let c = &sp.categorized;
    let picked = if local_only && !c.local.is_empty() { &c.local } else { &c.cluster };
    let set: BTreeSet<RealServer> =
        sp.pick(picked).map(|e| RealServer { address: e.ip, port: e.port, weight: 1 }).collect();
    set.into_iter().collect()
}

fn set_match(sets: &[IpSet], id: SetId, dirs: &[SetDirection]) -> Match {
    let name = sets.iter().find(|s| s.id == id).map(|s| s.name.as_str()).unwrap_or("");
    Match::Set(Box::new(SetMatch::new(name, dirs)))
}

fn comment(id: SetId) -> Match {
    Match::Comment { text: id.comment().into() }
}

fn jump(chain: ChainName) -> Option<Target> {
    Some(Target::Jump { chain })
}

/// One row of kube-proxy's `ipsetWithIptablesChain`: a rule written only when its set has
/// entries.
struct SetRule {
    set: SetId,
    table: TableName,
    from: ChainName,
    target: Target,
    dirs: &'static [SetDirection],
    protocol: Option<Protocol>,
}

use SetDirection::{Dst, Src};

fn set_rules() -> Vec<SetRule> {
    let row = |set, table, from, target, dirs, protocol| SetRule {
        set,
        table,
        from,
        target,
        dirs,
        protocol,
    };
    let mark = || Target::Jump { chain: KUBE_MARK_MASQ };
    let (nat, filter) = (TableName::Nat, TableName::Filter);
    let (tcp, udp, sctp) = (Some(Protocol::Tcp), Some(Protocol::Udp), Some(Protocol::Sctp));
    let masquerade = Target::Masquerade { random_fully: false, to_ports: None };
    vec![
        row(SetId::LoopBack, nat, KUBE_POSTROUTING, masquerade, &[Dst, Dst, Src], None),
        row(
            SetId::LoadBalancer,
            nat,
            KUBE_SERVICES,
            Target::Jump { chain: KUBE_LOAD_BALANCER },
            &[Dst, Dst],
            None,
        ),
        row(SetId::LoadBalancerLocal, nat, KUBE_LOAD_BALANCER, Target::Return, &[Dst, Dst], None),
        row(SetId::NodePortLocalTcp, nat, KUBE_NODE_PORT, Target::Return, &[Dst], tcp),
        row(SetId::NodePortTcp, nat, KUBE_NODE_PORT, mark(), &[Dst], tcp),
        row(SetId::NodePortLocalUdp, nat, KUBE_NODE_PORT, Target::Return, &[Dst], udp),
        row(SetId::NodePortUdp, nat, KUBE_NODE_PORT, mark(), &[Dst], udp),
        row(SetId::NodePortLocalSctp, nat, KUBE_NODE_PORT, Target::Return, &[Dst, Dst], sctp),
        row(SetId::NodePortSctp, nat, KUBE_NODE_PORT, mark(), &[Dst, Dst], sctp),
        row(
            SetId::LoadBalancerFw,
            filter,
            KUBE_PROXY_FIREWALL,
            Target::Jump { chain: KUBE_SOURCE_RANGES_FIREWALL },
            &[Dst, Dst],
            None,
        ),
        row(
            SetId::LoadBalancerSourceCidr,
            filter,
            KUBE_SOURCE_RANGES_FIREWALL,
            Target::Return,
            &[Dst, Dst, Src],
            None,
        ),
        row(
            SetId::LoadBalancerSourceIp,
            filter,
            KUBE_SOURCE_RANGES_FIREWALL,
            Target::Return,
            &[Dst, Dst, Src],
            None,
        ),
    ]
}

/// The detector's "not local" match (`! -s CIDR`, `! -i IFACE`, `! -i PREFIX+`).
fn not_local(d: &LocalTrafficDetector) -> Option<Match> {
    match d {
        LocalTrafficDetector::None => None,
        LocalTrafficDetector::ClusterCidr(c) | LocalTrafficDetector::NodeCidr(c) => {
            Some(Match::Source { negated: true, address: Address::network(*c) })
        }
        LocalTrafficDetector::BridgeInterface(name) => {
            Some(Match::InInterface { negated: true, name: name.clone() })
        }
        LocalTrafficDetector::InterfaceNamePrefix(p) => {
            Some(Match::InInterface { negated: true, name: format!("{p}+") })
        }
    }
}

fn addrtype(source: Option<(bool, &str)>, destination: Option<(bool, &str)>) -> Match {
    let spec =
        |(negated, t): (bool, &str)| Box::new(AddrTypeSpec { negated, types: vec![t.to_owned()] });
    Match::AddrType { source: source.map(spec), destination: destination.map(spec) }
}

/// The iptables skeleton (spec ipvs §6.2), rules in kube-proxy's generation order.
fn skeleton(settings: &ProxySettings, sets: &[IpSet], out_filter: &[IpvsMatch]) -> Skeleton {
    let mut nat = SkeletonTable::new(TableName::Nat, &NAT_CHAINS);
    let mut filter = SkeletonTable::new(TableName::Filter, &FILTER_CHAINS);
    let non_empty = |id: SetId| sets.iter().any(|s| s.id == id && !s.is_empty());
    let mark = settings.masquerade_mark.clone();
    let loopback = match settings.family {
        IpFamily::V4 => "127.0.0.0/8",
        IpFamily::V6 => "::1/128",
    };

    // 1. Connections from localhost return early.
    let mut first = Vec::new();
    if let Some(lo) = Cidr::parse_sloppy(loopback) {
        first.push(Match::Source { negated: false, address: Address::network(lo) });
    }
    nat.append(KUBE_SERVICES, Rule::new(first, Some(Target::Return)));

    // 2–9. One rule per non-empty set of `ipsetWithIptablesChain`.
    for r in set_rules() {
        if !non_empty(r.set) {
            continue;
        }
        let mut m = Vec::new();
        if let Some(p) = r.protocol {
            m.push(Match::Protocol { negated: false, protocol: p.into() });
        }
        m.push(comment(r.set));
        m.push(set_match(sets, r.set, r.dirs));
        // The hairpin MASQUERADE is written without --random-fully.
        let rule = Rule::new(m, Some(r.target));
        match r.table {
            TableName::Filter => filter.append(r.from, rule),
            _ => nat.append(r.from, rule),
        }
    }

    // 10. ClusterIP masquerade.
    if non_empty(SetId::ClusterIp) {
        let mut m = vec![comment(SetId::ClusterIp)];
        let detector = not_local(&settings.local_traffic_detector);
        if settings.masquerade_all {
            m.push(set_match(sets, SetId::ClusterIp, &[Dst, Dst]));
        } else if let Some(not_local) = detector {
            m.push(set_match(sets, SetId::ClusterIp, &[Dst, Dst]));
            m.push(not_local);
        } else {
            m.push(set_match(sets, SetId::ClusterIp, &[Src, Dst]));
        }
        nat.append(KUBE_SERVICES, Rule::new(m, jump(KUBE_MARK_MASQ)));
    }

    // 11–12. External IPs: masquerade (eTP=Cluster only), then accept off-node traffic and
    // traffic to local addresses.
    for (id, masquerade) in [(SetId::ExternalIp, true), (SetId::ExternalIpLocal, false)] {
        if !non_empty(id) {
            continue;
        }
        let base = vec![comment(id), set_match(sets, id, &[Dst, Dst])];
        if masquerade {
            nat.append(KUBE_SERVICES, Rule::new(base.clone(), jump(KUBE_MARK_MASQ)));
        }
        let mut off_node = base.clone();
        off_node.push(Match::PhysdevIsIn { negated: true });
        off_node.push(addrtype(Some((true, "LOCAL")), None));
        nat.append(KUBE_SERVICES, Rule::new(off_node, Some(Target::Accept)));
        let mut to_local = base;
        to_local.push(addrtype(None, Some((false, "LOCAL"))));
        nat.append(KUBE_SERVICES, Rule::new(to_local, Some(Target::Accept)));
    }

    // 13. NodePorts: anything to a local address.
    nat.append(
        KUBE_SERVICES,
        Rule::new(vec![addrtype(None, Some((false, "LOCAL")))], jump(KUBE_NODE_PORT)),
    );
    // 14–15.
    nat.append(KUBE_LOAD_BALANCER, Rule::new(Vec::new(), jump(KUBE_MARK_MASQ)));
    filter.append(KUBE_SOURCE_RANGES_FIREWALL, Rule::new(Vec::new(), Some(Target::Drop)));

    // 16. No access from the node itself to LB VIPs whose source ranges exclude it.
    for e in out_filter {
        let m = vec![
            Match::Source { negated: false, address: Address::host(e.vaddr) },
            Match::Ipvs(Box::new(e.clone())),
        ];
        filter.append(KUBE_IPVS_OUT_FILTER, Rule::new(m, Some(Target::Drop)));
    }

    // 17. Accept what IPVS will take (must be last in KUBE-SERVICES).
    for id in [SetId::ClusterIp, SetId::LoadBalancer] {
        if non_empty(id) {
            let m = vec![set_match(sets, id, &[Dst, Dst])];
            nat.append(KUBE_SERVICES, Rule::new(m, Some(Target::Accept)));
        }
    }

    // 18–19. Forwarding of marked and established traffic.
    let mark_mask = format!("{mark}/{mark}");
    filter.append(
        KUBE_FORWARD,
        Rule::new(
            vec![
                Match::Comment { text: "kubernetes forwarding rules".into() },
                Match::Mark { negated: false, mark: mark_mask.clone() },
            ],
            Some(Target::Accept),
        ),
    );
    filter.append(
        KUBE_FORWARD,
        Rule::new(
            vec![
                Match::Comment { text: "kubernetes forwarding conntrack rule".into() },
                Match::Conntrack {
                    negated: false,
                    states: vec![CtState::Related, CtState::Established],
                },
            ],
            Some(Target::Accept),
        ),
    );

    // 20. Health-check node ports (always).
    filter.append(
        KUBE_NODE_PORT,
        Rule::new(
            vec![
                comment(SetId::HealthCheckNodePort),
                set_match(sets, SetId::HealthCheckNodePort, &[Dst]),
            ],
            Some(Target::Accept),
        ),
    );

    // 21. KUBE-IPVS-FILTER: known service addresses and ports pass, other new connections
    // to kube-ipvs0 addresses are rejected.
    for id in [SetId::LoadBalancer, SetId::ClusterIp, SetId::ExternalIp, SetId::ExternalIpLocal] {
        let m = vec![set_match(sets, id, &[Dst, Dst])];
        filter.append(KUBE_IPVS_FILTER, Rule::new(m, Some(Target::Return)));
    }
    filter.append(
        KUBE_IPVS_FILTER,
        Rule::new(vec![set_match(sets, SetId::HealthCheckNodePort, &[Dst])], Some(Target::Return)),
    );
    filter.append(
        KUBE_IPVS_FILTER,
        Rule::new(
            vec![
                Match::Conntrack { negated: false, states: vec![CtState::New] },
                set_match(sets, SetId::IpvsIps, &[Dst]),
            ],
            Some(Target::Reject { with: None }),
        ),
    );

    // 22–25. Masquerade what was marked, once.
    nat.append(
        KUBE_POSTROUTING,
        Rule::new(vec![Match::Mark { negated: true, mark: mark_mask }], Some(Target::Return)),
    );
    nat.append(
        KUBE_POSTROUTING,
        Rule::new(Vec::new(), Some(Target::Mark(MarkOp::Xor(mark.clone())))),
    );
    nat.append(
        KUBE_POSTROUTING,
        Rule::new(
            vec![Match::Comment { text: "kubernetes service traffic requiring SNAT".into() }],
            Some(Target::Masquerade { random_fully: settings.random_fully, to_ports: None }),
        ),
    );
    nat.append(KUBE_MARK_MASQ, Rule::new(Vec::new(), Some(Target::Mark(MarkOp::Or(mark)))));

    Skeleton { family: settings.family, nat, filter, jumps: builtin_jumps() }
}

/// The jumps from the built-in chains (spec ipvs §6.1), in the order kube-proxy ensures them.
fn builtin_jumps() -> Vec<BuiltinJump> {
    let rows: [(TableName, &'static str, &'static str, &str); 9] = [
        (TableName::Nat, "OUTPUT", "KUBE-SERVICES", "kubernetes service portals"),
        (TableName::Nat, "PREROUTING", "KUBE-SERVICES", "kubernetes service portals"),
        (TableName::Nat, "POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules"),
        (TableName::Filter, "FORWARD", "KUBE-FORWARD", "kubernetes forwarding rules"),
        (TableName::Filter, "INPUT", "KUBE-NODE-PORT", "kubernetes health check rules"),
        (TableName::Filter, "INPUT", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules"),
        (TableName::Filter, "FORWARD", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules"),
        (TableName::Filter, "INPUT", "KUBE-IPVS-FILTER", "kubernetes ipvs access filter"),
        (TableName::Filter, "OUTPUT", "KUBE-IPVS-OUT-FILTER", "kubernetes ipvs access filter"),
    ];
    rows.into_iter()
        .map(|(table, from, to, text)| BuiltinJump {
            table,
            chain: ChainName::from_static(from),
            rule: Rule::new(
                vec![Match::Comment { text: text.into() }],
                jump(ChainName::from_static(to)),
            ),
        })
        .collect()
}
