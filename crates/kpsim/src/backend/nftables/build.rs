//! Builds kube-proxy's nftables table for one node from the proxy plan: the static skeleton
//! (base chains, dispatch maps, the masquerade and no-endpoint machinery) and, per service
//! port, its elements, chains and rules (spec `nftables.md` §4 and §6).
//!
//! nftables-only readings of the plan live here: NodePort addresses as "match-all" or a
//! `nodeport-ips` set, a zero-length source range disabling the firewall, the
//! `cluster-ips-check` drop of unallocated ClusterIPs, and the local-traffic detector's
//! nftables spelling. Rendering is not done here.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::net::IpAddr;

use super::ruleset::{
    AddrField, AddrType, AnonSet, BaseChain, Chain, ChainType, CtState, DataType, Element, Family,
    Hook, Integer, MarkUpdate, Match, Op, Operand, Policy, Rule, Ruleset, Selector, Separator, Set,
    SetFlag, Statement, Table, Value, Verdict, VmapSource,
};
use super::{Map, names};
use crate::naming::{NameHasher, nft_endpoint_base, nft_service_base};
use crate::net::{Cidr, IpFamily};
use crate::proxy::{ProxyPlan, ServicePortPlan};
use crate::settings::{LocalTrafficDetector, ProxySettings};

/// Builds the `ip kube-proxy` (IPv4) or `ip6 kube-proxy` (IPv6) table for the plan's node.
pub fn build(plan: &ProxyPlan) -> Ruleset {
    let mut b = Builder::new(&plan.settings);
    b.skeleton();
    for sp in &plan.service_ports {
        b.service_port(sp);
    }
    Ruleset { tables: vec![b.table] }
}

/// How kube-proxy reads `--nodeport-addresses` in nftables mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodePortAddresses {
    /// No CIDR of the family, or one of length 0: every local address but loopback.
    MatchAll,
    /// The node's addresses inside the CIDRs (loopback skipped), deduplicated.
    Specific(Vec<IpAddr>),
}

/// Resolves `--nodeport-addresses` against the node's interfaces (spec §4.4).
pub fn node_port_addresses(settings: &ProxySettings) -> NodePortAddresses {
    let cidrs: Vec<Cidr> = settings
        .node_port_addresses
        .iter()
        .copied()
        .filter(|c| c.family() == settings.family)
        .collect();
    if cidrs.is_empty() || cidrs.iter().any(|c| c.prefix_len() == 0) {
        return NodePortAddresses::MatchAll;
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    for addr in settings.node_interfaces.values().flatten() {
        let ip = addr.addr;
        if ip.is_loopback() || !cidrs.iter().any(|c| c.contains(ip)) || ips.contains(&ip) {
            continue;
        }
        ips.push(ip);
    }
    NodePortAddresses::Specific(ips)
}

/// The local-traffic detector in nftables spelling: the match for "from a local pod" and for
/// "not from a local pod"; `None` for the no-op detector.
fn detector(settings: &ProxySettings) -> Option<(Match, Match)> {
    let family = settings.family;
    match &settings.local_traffic_detector {
        LocalTrafficDetector::None => None,
        LocalTrafficDetector::ClusterCidr(c) | LocalTrafficDetector::NodeCidr(c) => {
            (c.family() == family).then(|| {
                let sel = Selector::Addr { family, field: AddrField::Saddr };
                let v = Operand::Value(Value::Prefix(*c));
                (Match::eq(sel, v.clone()), Match::ne(sel, v))
            })
        }
        LocalTrafficDetector::BridgeInterface(name) => {
            let v = Operand::Value(Value::Ifname(name.clone()));
            Some((Match::eq(Selector::Iifname, v.clone()), Match::ne(Selector::Iifname, v)))
        }
        LocalTrafficDetector::InterfaceNamePrefix(prefix) => {
            let v = Operand::Value(Value::Ifname(format!("{prefix}*")));
            Some((Match::eq(Selector::Iifname, v.clone()), Match::ne(Selector::Iifname, v)))
        }
    }
}

/// The masquerade mark as the settings spell it.
fn masquerade_mark(settings: &ProxySettings) -> Integer {
    Integer::parse(&settings.masquerade_mark)
        .unwrap_or(Integer { value: settings.masquerade_mark_value(), hex_digits: Some(8) })
}

struct Builder<'a> {
    settings: &'a ProxySettings,
    family: IpFamily,
    table: Table,
    detector: Option<(Match, Match)>,
    /// Chain name → index in `table.chains` (a table holds one chain per endpoint). Lookups
    /// only: never iterated.
    chains: HashMap<String, usize, FastHash>,
    /// Set or map name → (is a map, index), and the keys each already holds (lookups only).
    collections: HashMap<String, (bool, usize), FastHash>,
    keys: HashSet<(bool, usize, Vec<Value>), FastHash>,
}

type FastHash = BuildHasherDefault<NameHasher>;

fn rule(statements: Vec<Statement>) -> Rule {
    Rule::new(statements)
}

fn jump(chain: &str) -> Statement {
    Statement::Verdict(Verdict::Jump(chain.to_owned()))
}

fn goto(chain: &str) -> Statement {
    Statement::Verdict(Verdict::Goto(chain.to_owned()))
}

fn ct_new() -> Statement {
    Statement::Match(Match::eq(Selector::CtState, Operand::Value(Value::CtState(CtState::New))))
}

impl<'a> Builder<'a> {
    fn new(settings: &'a ProxySettings) -> Builder<'a> {
        let mut table = Table::new(Family::for_ip_family(settings.family), names::TABLE);
        table.comment = Some("rules for kube-proxy".to_owned());
        Builder {
            settings,
            family: settings.family,
            table,
            detector: detector(settings),
            chains: HashMap::default(),
            collections: HashMap::default(),
            keys: HashSet::default(),
        }
    }

    fn addr(&self, field: AddrField) -> Selector {
        Selector::Addr { family: self.family, field }
    }

    /// `ipX daddr . meta l4proto . th dport`.
    fn service_key(&self) -> Vec<Selector> {
        vec![self.addr(AddrField::Daddr), Selector::L4Proto, Selector::ThDport]
    }

    fn addr_type(&self) -> DataType {
        DataType::addr(self.family)
    }

    fn chain_mut(&mut self, name: &str) -> &mut Chain {
        let index = match self.chains.get(name) {
            Some(&i) => i,
            None => {
                self.table.chains.push(Chain::regular(name));
                let i = self.table.chains.len() - 1;
                self.chains.insert(name.to_owned(), i);
                i
            }
        };
        &mut self.table.chains[index]
    }

    fn add_rule(&mut self, chain: &str, rule: Rule) {
        self.chain_mut(chain).rules.push(rule);
    }

    fn base_chain(&mut self, name: &str, chain_type: ChainType, hook: Hook, priority: i32) {
        let base = BaseChain { chain_type, hook, priority, policy: Policy::Accept };
        self.chain_mut(name).base = Some(base);
    }

    fn push_set(&mut self, set: Set) {
        self.collections.insert(set.name.clone(), (false, self.table.sets.len()));
        self.table.sets.push(set);
    }

    fn push_map(&mut self, map: Map) {
        self.collections.insert(map.name.clone(), (true, self.table.maps.len()));
        self.table.maps.push(map);
    }

    /// Adds an element unless one with the same key is there (several ports of a Service
    /// share its ClusterIP; the kernel keeps one element per key).
    fn add_element(&mut self, set: &str, element: Element) {
        let Some(&(is_map, index)) = self.collections.get(set) else { return };
        if !self.keys.insert((is_map, index, element.key.clone())) {
            return;
        }
        if is_map {
            self.table.maps[index].elements.push(element);
        } else {
            self.table.sets[index].elements.push(element);
        }
    }

    /// The table skeleton of §4, in the layout of kube-proxy's own test expectations.
    fn skeleton(&mut self) {
        use names::*;
        let addr = self.addr_type();
        let service_key = vec![addr.clone(), DataType::InetProto, DataType::InetService];
        let port_key = vec![DataType::InetProto, DataType::InetService];
        let node_ports = node_port_addresses(self.settings);

        let mut cluster_ips = Set::new(CLUSTER_IPS, vec![addr.clone()]);
        cluster_ips.comment = Some("Active ClusterIPs".to_owned());
        self.push_set(cluster_ips);
        if let NodePortAddresses::Specific(ips) = &node_ports {
            let mut set = Set::new(NODEPORT_IPS, vec![addr.clone()]);
            set.comment = Some("IPs that accept NodePort traffic".to_owned());
            self.push_set(set);
            for ip in ips {
                self.add_element(NODEPORT_IPS, Element::key(vec![Value::Addr(*ip)]));
            }
        }
        let maps = [
            (
                FIREWALL_IPS,
                &service_key,
                "destinations that are subject to LoadBalancerSourceRanges",
            ),
            (
                NO_ENDPOINT_NODEPORTS,
                &port_key,
                "vmap to drop or reject packets to service nodeports with no endpoints",
            ),
            (
                NO_ENDPOINT_SERVICES,
                &service_key,
                "vmap to drop or reject packets to services with no endpoints",
            ),
            (SERVICE_IPS, &service_key, "ClusterIP, ExternalIP and LoadBalancer IP traffic"),
            (SERVICE_NODEPORTS, &port_key, "NodePort traffic"),
        ];
        for (name, key, comment) in maps {
            let mut map = Map::new(name, key.clone(), DataType::Verdict);
            map.comment = Some(comment.to_owned());
            self.push_map(map);
        }

        // Chain declarations, in the order kube-proxy's tests write them.
        self.chain_mut(CLUSTER_IPS_CHECK);
        self.base_chain(FILTER_PREROUTING_PRE_DNAT, ChainType::Filter, Hook::Prerouting, -110);
        self.base_chain(FILTER_OUTPUT_PRE_DNAT, ChainType::Filter, Hook::Output, -110);
        self.base_chain(FILTER_FORWARD, ChainType::Filter, Hook::Forward, 0);
        self.base_chain(FILTER_INPUT, ChainType::Filter, Hook::Input, 0);
        self.base_chain(FILTER_OUTPUT, ChainType::Filter, Hook::Output, 0);
        self.chain_mut(FIREWALL_CHECK);
        self.chain_mut(MARK_FOR_MASQUERADE);
        self.chain_mut(MASQUERADING);
        self.base_chain(NAT_OUTPUT, ChainType::Nat, Hook::Output, -100);
        self.base_chain(NAT_POSTROUTING, ChainType::Nat, Hook::Postrouting, 100);
        self.base_chain(NAT_PREROUTING, ChainType::Nat, Hook::Prerouting, -100);
        self.chain_mut(NODEPORT_ENDPOINTS_CHECK);
        self.chain_mut(REJECT_CHAIN).comment =
            Some("helper for @no-endpoint-services / @no-endpoint-nodeports".to_owned());
        self.chain_mut(SERVICES);
        self.chain_mut(SERVICE_ENDPOINTS_CHECK);

        let daddr = self.addr(AddrField::Daddr);
        self.add_rule(
            CLUSTER_IPS_CHECK,
            Rule::commented(
                vec![
                    Statement::Match(Match::eq(daddr, Operand::Named(CLUSTER_IPS.to_owned()))),
                    Statement::Verdict(Verdict::Reject),
                ],
                "Reject traffic to invalid ports of ClusterIPs",
            ),
        );
        let service_cidrs: Vec<Value> = self
            .settings
            .service_cidrs
            .iter()
            .filter(|c| c.family() == self.family)
            .map(|c| Value::Prefix(*c))
            .collect();
        if !service_cidrs.is_empty() {
            let set = AnonSet { elements: service_cidrs, separator: Separator::Bare };
            self.add_rule(
                CLUSTER_IPS_CHECK,
                Rule::commented(
                    vec![
                        Statement::Match(Match::eq(daddr, Operand::Set(set))),
                        Statement::Verdict(Verdict::Drop),
                    ],
                    "Drop traffic to unallocated ClusterIPs",
                ),
            );
        }
        for (from, to) in [
            (FILTER_PREROUTING_PRE_DNAT, FIREWALL_CHECK),
            (FILTER_OUTPUT_PRE_DNAT, FIREWALL_CHECK),
            (FILTER_FORWARD, SERVICE_ENDPOINTS_CHECK),
            (FILTER_FORWARD, CLUSTER_IPS_CHECK),
            (FILTER_INPUT, NODEPORT_ENDPOINTS_CHECK),
            (FILTER_INPUT, SERVICE_ENDPOINTS_CHECK),
            (FILTER_OUTPUT, SERVICE_ENDPOINTS_CHECK),
            (FILTER_OUTPUT, CLUSTER_IPS_CHECK),
        ] {
            self.add_rule(from, rule(vec![ct_new(), jump(to)]));
        }
        let vmap = |key: Vec<Selector>, map: &str| Statement::Vmap {
            key,
            map: VmapSource::Named(map.to_owned()),
        };
        self.add_rule(FIREWALL_CHECK, rule(vec![vmap(self.service_key(), FIREWALL_IPS)]));
        let mark = masquerade_mark(self.settings);
        self.add_rule(MARK_FOR_MASQUERADE, rule(vec![Statement::SetMark(MarkUpdate::Or(mark))]));
        let unmarked = Match {
            left: vec![Selector::Mark],
            mask: Some(mark),
            op: Op::Eq,
            right: Operand::Value(Value::Integer(Integer::decimal(0))),
        };
        self.add_rule(
            MASQUERADING,
            rule(vec![Statement::Match(unmarked), Statement::Verdict(Verdict::Return)]),
        );
        self.add_rule(MASQUERADING, rule(vec![Statement::SetMark(MarkUpdate::Xor(mark))]));
        self.add_rule(MASQUERADING, rule(vec![Statement::Masquerade { fully_random: true }]));
        self.add_rule(NAT_OUTPUT, rule(vec![jump(SERVICES)]));
        self.add_rule(NAT_POSTROUTING, rule(vec![jump(MASQUERADING)]));
        self.add_rule(NAT_PREROUTING, rule(vec![jump(SERVICES)]));

        // NodePort destinations: the nodeport-ips set, or any local address but loopback.
        let port_key_sel = vec![Selector::L4Proto, Selector::ThDport];
        let node_port_dest: Vec<Statement> = match &node_ports {
            NodePortAddresses::Specific(_) => {
                vec![Statement::Match(Match::eq(daddr, Operand::Named(NODEPORT_IPS.to_owned())))]
            }
            NodePortAddresses::MatchAll => vec![
                Statement::Match(Match::eq(
                    Selector::FibType(AddrField::Daddr),
                    Operand::Value(Value::AddrType(AddrType::Local)),
                )),
                Statement::Match(Match::ne(daddr, Operand::Value(self.not_loopback()))),
            ],
        };
        let mut np_check = node_port_dest.clone();
        np_check.push(vmap(port_key_sel.clone(), NO_ENDPOINT_NODEPORTS));
        match &node_ports {
            NodePortAddresses::Specific(_) => {
                self.add_rule(NODEPORT_ENDPOINTS_CHECK, rule(np_check));
            }
            // Match-all: `NOLH meta l4proto . th dport vmap @no-endpoint-nodeports`.
            NodePortAddresses::MatchAll => {
                self.add_rule(NODEPORT_ENDPOINTS_CHECK, rule(np_check[1..].to_vec()));
            }
        }
        self.add_rule(REJECT_CHAIN, rule(vec![Statement::Verdict(Verdict::Reject)]));
        self.add_rule(SERVICES, rule(vec![vmap(self.service_key(), SERVICE_IPS)]));
        let mut np_dispatch = node_port_dest;
        np_dispatch.push(vmap(port_key_sel, SERVICE_NODEPORTS));
        self.add_rule(SERVICES, rule(np_dispatch));
        self.add_rule(
            SERVICE_ENDPOINTS_CHECK,
            rule(vec![vmap(self.service_key(), NO_ENDPOINT_SERVICES)]),
        );
    }

    /// `127.0.0.0/8` or `::1`: what NodePorts are never served on.
    fn not_loopback(&self) -> Value {
        match self.family {
            IpFamily::V4 => Cidr::new(IpFamily::V4.loopback(), 8)
                .map(Value::Prefix)
                .unwrap_or(Value::Addr(IpFamily::V4.loopback())),
            IpFamily::V6 => Value::Addr(IpFamily::V6.loopback()),
        }
    }

    fn key(&self, ip: IpAddr, sp: &ServicePortPlan) -> Vec<Value> {
        vec![Value::Addr(ip), Value::Proto(sp.protocol.into()), Value::Port(sp.port)]
    }

    /// Everything one service port adds (§6).
    fn service_port(&mut self, sp: &ServicePortPlan) {
        use names::*;
        let base = nft_service_base(&sp.name);
        let cluster_chain = format!("service-{base}");
        let local_chain = format!("local-{base}");
        let external_chain = format!("external-{base}");
        let firewall_chain = format!("firewall-{base}");
        let cat = &sp.categorized;
        // Endpoint chain/set bases, computed once per endpoint that gets rules.
        let mut bases: Vec<Option<String>> = vec![None; sp.endpoints.len()];
        for &i in cat.reachable.iter().chain(&cat.cluster).chain(&cat.local) {
            if bases[i].is_none() {
                let ep = &sp.endpoints[i];
                bases[i] = Some(nft_endpoint_base(&sp.name, ep.ip, ep.port));
            }
        }
        let endpoint_base = |i: usize| bases[i].as_deref().unwrap_or_default();

        let has_any = cat.has_any_endpoints;
        let uses_cluster = !cat.cluster.is_empty() && sp.uses_cluster_endpoints();
        let uses_local = !cat.local.is_empty() && sp.uses_local_endpoints();
        let internal_chain = if sp.internal_policy_local { &local_chain } else { &cluster_chain };
        let external_target = if sp.external_policy_local { &local_chain } else { &cluster_chain };
        let has_internal = sp.has_internal();
        let has_external = sp.has_external();
        let uses_external = has_any && sp.externally_accessible();
        let (internal_verdict, external_verdict) = if has_any {
            (Verdict::Drop, Verdict::Drop)
        } else {
            (Verdict::Goto(REJECT_CHAIN.to_owned()), Verdict::Goto(REJECT_CHAIN.to_owned()))
        };
        // A zero-length source range means "from anywhere": no firewall at all.
        let source_ranges: Vec<Cidr> =
            if sp.load_balancer_source_ranges.iter().any(|c| c.prefix_len() == 0) {
                Vec::new()
            } else {
                sp.load_balancer_source_ranges
                    .iter()
                    .copied()
                    .filter(|c| c.family() == self.family)
                    .collect()
            };
        let uses_firewall = !sp.load_balancer_vips.is_empty() && !source_ranges.is_empty();
        let comment = sp.name_string();

        // Chains, in the layout of kube-proxy's test expectations.
        if uses_cluster {
            self.chain_mut(&cluster_chain);
        }
        if uses_local {
            self.chain_mut(&local_chain);
        }
        if uses_external {
            self.chain_mut(&external_chain);
        }
        let mut endpoint_chains: Vec<String> =
            cat.reachable.iter().map(|&i| format!("endpoint-{}", endpoint_base(i))).collect();
        endpoint_chains.sort();
        for chain in &endpoint_chains {
            self.chain_mut(chain);
        }
        if uses_firewall {
            self.chain_mut(&firewall_chain);
        }

        // Elements.
        self.add_element(CLUSTER_IPS, Element::key(vec![Value::Addr(sp.cluster_ip)]));
        let cluster_key = self.key(sp.cluster_ip, sp);
        if has_internal {
            self.add_element(
                SERVICE_IPS,
                Element::mapping(cluster_key, Verdict::Goto(internal_chain.clone())),
            );
        } else {
            self.add_element(
                NO_ENDPOINT_SERVICES,
                Element::mapping(cluster_key, internal_verdict).with_comment(&comment),
            );
        }
        for ip in &sp.external_ips {
            let key = self.key(*ip, sp);
            if has_any {
                self.add_element(
                    SERVICE_IPS,
                    Element::mapping(key.clone(), Verdict::Goto(external_chain.clone())),
                );
            }
            if !has_external {
                self.add_element(
                    NO_ENDPOINT_SERVICES,
                    Element::mapping(key, external_verdict.clone()).with_comment(&comment),
                );
            }
        }
        for ip in &sp.load_balancer_vips {
            let key = self.key(*ip, sp);
            if has_any {
                self.add_element(
                    SERVICE_IPS,
                    Element::mapping(key.clone(), Verdict::Goto(external_chain.clone())),
                );
            }
            if uses_firewall {
                self.add_element(
                    FIREWALL_IPS,
                    Element::mapping(key.clone(), Verdict::Goto(firewall_chain.clone())),
                );
            }
            if !has_external {
                self.add_element(
                    NO_ENDPOINT_SERVICES,
                    Element::mapping(key, external_verdict.clone()).with_comment(&comment),
                );
            }
        }
        if let Some(node_port) = sp.node_port {
            let key = vec![Value::Proto(sp.protocol.into()), Value::Port(node_port)];
            if has_any {
                self.add_element(
                    SERVICE_NODEPORTS,
                    Element::mapping(key.clone(), Verdict::Goto(external_chain.clone())),
                );
            }
            if !has_external {
                self.add_element(
                    NO_ENDPOINT_NODEPORTS,
                    Element::mapping(key, external_verdict.clone()).with_comment(&comment),
                );
            }
        }

        // 1. Internal masquerade, in the internal target chain.
        if has_internal {
            let to_cluster_ip = Statement::Match(Match::eq(
                self.addr(AddrField::Daddr),
                Operand::Value(Value::Addr(sp.cluster_ip)),
            ));
            if self.settings.masquerade_all {
                self.add_rule(internal_chain, rule(vec![to_cluster_ip, jump(MARK_FOR_MASQUERADE)]));
            } else if let Some((_, not_local)) = &self.detector {
                let not_local = Statement::Match(not_local.clone());
                self.add_rule(
                    internal_chain,
                    rule(vec![to_cluster_ip, not_local, jump(MARK_FOR_MASQUERADE)]),
                );
            }
        }
        // 2. The external chain.
        if uses_external {
            if sp.external_policy_local {
                if let Some((local, _)) = &self.detector {
                    let local = Statement::Match(local.clone());
                    self.add_rule(
                        &external_chain,
                        Rule::commented(
                            vec![local, goto(&cluster_chain)],
                            "short-circuit pod traffic",
                        ),
                    );
                }
                let from_node = Statement::Match(Match::eq(
                    Selector::FibType(AddrField::Saddr),
                    Operand::Value(Value::AddrType(AddrType::Local)),
                ));
                self.add_rule(
                    &external_chain,
                    Rule::commented(
                        vec![from_node.clone(), jump(MARK_FOR_MASQUERADE)],
                        "masquerade local traffic",
                    ),
                );
                self.add_rule(
                    &external_chain,
                    Rule::commented(
                        vec![from_node, goto(&cluster_chain)],
                        "short-circuit local traffic",
                    ),
                );
            } else {
                self.add_rule(&external_chain, rule(vec![jump(MARK_FOR_MASQUERADE)]));
            }
            if has_external {
                self.add_rule(&external_chain, rule(vec![goto(external_target)]));
            }
        }
        // 3. The firewall chain.
        if uses_firewall {
            let mut allowed: Vec<Value> = source_ranges.iter().map(|c| Value::Prefix(*c)).collect();
            let node_ip_allowed = self
                .settings
                .node_ip
                .is_some_and(|ip| source_ranges.iter().any(|c| c.contains(ip)));
            if node_ip_allowed {
                allowed.extend(sp.load_balancer_vips.iter().map(|ip| Value::Addr(*ip)));
            }
            let set = AnonSet { elements: allowed, separator: Separator::Spaced };
            self.add_rule(
                &firewall_chain,
                rule(vec![
                    Statement::Match(Match::ne(self.addr(AddrField::Saddr), Operand::Set(set))),
                    Statement::Verdict(Verdict::Drop),
                ]),
            );
        }
        // 4. Affinity sets.
        if let Some(timeout) = sp.session_affinity_timeout {
            for &i in &cat.reachable {
                let mut set =
                    Set::new(format!("affinity-{}", endpoint_base(i)), vec![self.addr_type()]);
                set.flags = vec![SetFlag::Dynamic, SetFlag::Timeout];
                set.timeout_ms = Some(u64::from(timeout) * 1000);
                self.push_set(set);
            }
        }
        // 5. Endpoint dispatch in the cluster and local chains.
        if uses_cluster {
            self.dispatch(&cluster_chain, sp, &cat.cluster, &endpoint_base);
        }
        if uses_local {
            self.dispatch(&local_chain, sp, &cat.local, &endpoint_base);
        }
        // 6. Endpoint chains.
        for &i in &cat.reachable {
            let ep = &sp.endpoints[i];
            let ep_base = endpoint_base(i);
            let chain = format!("endpoint-{ep_base}");
            let saddr = self.addr(AddrField::Saddr);
            self.add_rule(
                &chain,
                rule(vec![
                    Statement::Match(Match::eq(saddr, Operand::Value(Value::Addr(ep.ip)))),
                    jump(MARK_FOR_MASQUERADE),
                ]),
            );
            if sp.session_affinity_timeout.is_some() {
                self.add_rule(
                    &chain,
                    rule(vec![Statement::Update {
                        set: format!("affinity-{ep_base}"),
                        key: vec![saddr],
                    }]),
                );
            }
            self.add_rule(
                &chain,
                rule(vec![
                    Statement::Match(Match::eq(
                        Selector::L4Proto,
                        Operand::Value(Value::Proto(sp.protocol.into())),
                    )),
                    Statement::Dnat { addr: ep.ip, port: Some(ep.port) },
                ]),
            );
        }
    }

    /// Affinity lookups, then `numgen random mod N vmap { … }` over `endpoints`.
    fn dispatch<'b>(
        &mut self,
        chain: &str,
        sp: &ServicePortPlan,
        endpoints: &[usize],
        endpoint_base: &dyn Fn(usize) -> &'b str,
    ) {
        let bases: Vec<&str> = endpoints.iter().map(|&i| endpoint_base(i)).collect();
        if sp.session_affinity_timeout.is_some() {
            for base in &bases {
                let lookup = Match::eq(
                    self.addr(AddrField::Saddr),
                    Operand::Named(format!("affinity-{base}")),
                );
                self.add_rule(
                    chain,
                    rule(vec![Statement::Match(lookup), goto(&format!("endpoint-{base}"))]),
                );
            }
        }
        let modulus = u32::try_from(bases.len()).unwrap_or(u32::MAX);
        let elements = bases
            .iter()
            .enumerate()
            .map(|(i, base)| {
                let key = Value::Integer(Integer::decimal(u32::try_from(i).unwrap_or(u32::MAX)));
                Element::mapping(vec![key], Verdict::Goto(format!("endpoint-{base}")))
            })
            .collect();
        self.add_rule(
            chain,
            rule(vec![Statement::Vmap {
                key: vec![Selector::NumgenRandom { modulus }],
                map: VmapSource::Anonymous(elements),
            }]),
        );
    }
}
