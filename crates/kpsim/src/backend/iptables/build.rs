//! The builder: kube-proxy's `syncProxyRules` for one full sync, from the proxy plan to the
//! typed ruleset of the node (spec §3–§4).
//!
//! Rules are added service port by service port in the plan's order (sorted by `ns/name`),
//! which is the canonical order kube-proxy's tests print. The node's ruleset also holds the
//! jump rules from the built-in chains ([`super::jumps`]), flagged as inserted so that the
//! restore rendering leaves them out. This is the first sync of a fresh kube-proxy: there are
//! no stale chains to delete.

use std::net::IpAddr;
use std::sync::Arc;

use super::chain_name::ChainName;
use super::jumps::{CommandKind, localnet_rule, node_commands};
use super::rule::{
    AddrTypeSpec, Address, CtState, MarkOp, Match, PortRange, Recent, RecentAction, Rule,
    RuleOrigin, Statistic, Target,
};
use super::ruleset::{Ruleset, TableName};
use crate::naming;
use crate::net::{Cidr, IpFamily, Protocol, write_host_port};
use crate::proxy::{ProxyPlan, ServicePortPlan};
use crate::settings::LocalTrafficDetector;

/// nfacct counter of the INVALID-drop rule.
pub const CT_STATE_INVALID_DROPPED: &str = "ct_state_invalid_dropped_pkts";
/// nfacct counter of the localhost NodePort rules.
pub const LOCALHOST_NODEPORTS_ACCEPTED: &str = "localhost_nps_accepted_pkts";

const NODEPORTS_COMMENT: &str =
    "kubernetes service nodeports; NOTE: this must be the last rule in this chain";

const KUBE_SERVICES: ChainName = ChainName::from_static("KUBE-SERVICES");
const KUBE_EXTERNAL_SERVICES: ChainName = ChainName::from_static("KUBE-EXTERNAL-SERVICES");
const KUBE_FORWARD: ChainName = ChainName::from_static("KUBE-FORWARD");
const KUBE_NODEPORTS: ChainName = ChainName::from_static("KUBE-NODEPORTS");
const KUBE_PROXY_FIREWALL: ChainName = ChainName::from_static("KUBE-PROXY-FIREWALL");
const KUBE_FIREWALL: ChainName = ChainName::from_static("KUBE-FIREWALL");
const KUBE_POSTROUTING: ChainName = ChainName::from_static("KUBE-POSTROUTING");
const KUBE_MARK_MASQ: ChainName = ChainName::from_static("KUBE-MARK-MASQ");

/// The ruleset kube-proxy leaves on the node after one full sync: its restore input plus the
/// jump rules it inserts into the built-in chains.
///
/// ```
/// let text = include_str!("../../../tests/data/oracle/iptables/TestBadIPs/input.yaml");
/// let m = kpsim::manifest::parse(text);
/// let (cluster, _) = kpsim::model::build::build(&m, kpsim::model::Admission::AsGiven);
/// let mut settings = kpsim::settings::ProxySettings::for_node(&cluster, "test-node", kpsim::settings::Mode::Iptables, kpsim::net::IpFamily::V4);
/// settings.masquerade_mark = "0x4000".into();
/// let plan = kpsim::proxy::plan(&cluster, &settings);
/// let rules = kpsim::backend::iptables::build(&plan);
/// assert!(rules.to_string().contains(
///     "-A KUBE-SERVICES -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O\n"));
/// ```
pub fn build(plan: &ProxyPlan) -> Ruleset {
    let restore = restore_input(plan);
    let mut node = Ruleset::new(plan.settings.family);
    for command in node_commands(plan.settings.family) {
        let chain = node.table_mut(command.table).chain_mut(command.chain);
        match command.kind {
            CommandKind::NewChain => {}
            CommandKind::Insert(rule) => chain.rules.insert(0, inserted(rule)),
            CommandKind::Append(rule) => chain.rules.push(inserted(rule)),
            CommandKind::EnsureFirst(rule) => {
                let present = chain
                    .rules
                    .iter()
                    .any(|r| r.matches == rule.matches && r.target == rule.target);
                if !present {
                    chain.rules.insert(0, inserted(rule));
                }
            }
        }
    }
    apply_restore(&mut node, restore);
    node
}

fn inserted(mut rule: Rule) -> Rule {
    rule.origin = RuleOrigin::Inserted;
    rule
}

/// Applies a restore input to a node's ruleset as `iptables-restore --noflush` does: a
/// declared chain is flushed (created when missing), rules are appended, `-X` deletes.
pub fn apply_restore(node: &mut Ruleset, restore: Ruleset) {
    for table in restore.tables {
        let target = node.table_mut(table.name);
        let deleted = table.deleted.clone();
        for chain in table.into_chains() {
            // A chain the node does not have yet moves in whole.
            let Some(c) = target.chain_if_present(&chain.name) else {
                target.add_chain(chain);
                continue;
            };
            if chain.declared {
                c.declared = true;
                c.rules.clear();
                if chain.policy.is_some() {
                    c.policy = chain.policy;
                }
            }
            c.rules.extend(chain.rules);
        }
        for name in deleted {
            target.remove_chain(&name);
            target.deleted.push(name);
        }
    }
}

/// The local-traffic detector's matches (`IfLocal`, `IfNotLocal`), `None` when it is the
/// no-op detector.
fn detector(d: &LocalTrafficDetector) -> Option<(Match, Match)> {
    match d {
        LocalTrafficDetector::None => None,
        LocalTrafficDetector::ClusterCidr(c) | LocalTrafficDetector::NodeCidr(c) => Some((
            Match::Source { negated: false, address: Address::network(*c) },
            Match::Source { negated: true, address: Address::network(*c) },
        )),
        LocalTrafficDetector::BridgeInterface(name) => Some((
            Match::InInterface { negated: false, name: name.clone() },
            Match::InInterface { negated: true, name: name.clone() },
        )),
        LocalTrafficDetector::InterfaceNamePrefix(prefix) => Some((
            Match::InInterface { negated: false, name: format!("{prefix}+") },
            Match::InInterface { negated: true, name: format!("{prefix}+") },
        )),
    }
}

fn comment(text: impl Into<Arc<str>>) -> Match {
    Match::Comment { text: text.into() }
}

fn jump(chain: ChainName) -> Option<Target> {
    Some(Target::Jump { chain })
}

fn cidr(s: &str) -> Option<Address> {
    Cidr::parse_sloppy(s).map(Address::network)
}

/// `-m P -p P [-d IP] --dport PORT` as kube-proxy writes a service match.
fn port_match(proto: Protocol, dst: Option<IpAddr>, port: u16) -> Vec<Match> {
    let mut m = vec![
        Match::PortModule { module: proto.into() },
        Match::Protocol { negated: false, protocol: proto.into() },
    ];
    if let Some(ip) = dst {
        m.push(Match::Destination { negated: false, address: Address::host(ip) });
    }
    m.push(Match::DestinationPort { negated: false, ports: PortRange::single(port) });
    m
}

fn with(mut head: Vec<Match>, tail: Vec<Match>) -> Vec<Match> {
    head.extend(tail);
    head
}

/// `-m comment --comment TEXT` followed by [`port_match`], in one allocation with room for
/// `extra` more matches.
fn commented_port_match(
    text: impl Into<Arc<str>>,
    proto: Protocol,
    dst: Option<IpAddr>,
    port: u16,
    extra: usize,
) -> Vec<Match> {
    let mut m = Vec::with_capacity(5 + extra);
    m.push(comment(text));
    m.push(Match::PortModule { module: proto.into() });
    m.push(Match::Protocol { negated: false, protocol: proto.into() });
    if let Some(ip) = dst {
        m.push(Match::Destination { negated: false, address: Address::host(ip) });
    }
    m.push(Match::DestinationPort { negated: false, ports: PortRange::single(port) });
    m
}

/// The restore input of one full sync, in canonical order.
fn restore_input(plan: &ProxyPlan) -> Ruleset {
    let s = &plan.settings;
    let family = s.family;
    let v4 = family == IpFamily::V4;
    let mark = s.masquerade_mark.as_str();
    let mut rs = Ruleset::new(family);

    let filter = rs.table_mut(TableName::Filter);
    for chain in
        [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]
    {
        filter.declare(chain);
    }
    if v4 && s.localhost_node_ports {
        filter.declare(KUBE_FIREWALL);
        filter.append(KUBE_FIREWALL, localnet_rule());
    }
    let nat = rs.table_mut(TableName::Nat);
    for chain in [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ] {
        nat.declare(chain);
    }
    nat.append(
        KUBE_POSTROUTING,
        Rule::new(
            vec![Match::Mark { negated: true, mark: format!("{mark}/{mark}") }],
            Some(Target::Return),
        ),
    );
    nat.append(KUBE_POSTROUTING, Rule::new(vec![], Some(Target::Mark(MarkOp::Xor(mark.into())))));
    nat.append(
        KUBE_POSTROUTING,
        Rule::new(
            vec![comment("kubernetes service traffic requiring SNAT")],
            Some(Target::Masquerade { random_fully: s.random_fully, to_ports: None }),
        ),
    );
    nat.append(KUBE_MARK_MASQ, Rule::new(vec![], Some(Target::Mark(MarkOp::Or(mark.into())))));

    let large = plan.large_cluster_mode();
    let mut probabilities = Probabilities::default();
    for sp in &plan.service_ports {
        service_port_rules(&mut rs, plan, sp, large, &mut probabilities);
    }

    node_ports_tail(&mut rs, plan);

    let filter = rs.table_mut(TableName::Filter);
    if !s.conntrack_tcp_be_liberal {
        let mut m = vec![Match::Conntrack { negated: false, states: vec![CtState::Invalid] }];
        if s.nfacct_counters.contains(CT_STATE_INVALID_DROPPED) {
            m.push(Match::Nfacct { name: CT_STATE_INVALID_DROPPED.into() });
        }
        filter.append(KUBE_FORWARD, Rule::new(m, Some(Target::Drop)));
    }
    filter.append(
        KUBE_FORWARD,
        Rule::new(
            vec![
                comment("kubernetes forwarding rules"),
                Match::Mark { negated: false, mark: format!("{mark}/{mark}") },
            ],
            Some(Target::Accept),
        ),
    );
    filter.append(
        KUBE_FORWARD,
        Rule::new(
            vec![
                comment("kubernetes forwarding conntrack rule"),
                Match::Conntrack {
                    negated: false,
                    states: vec![CtState::Related, CtState::Established],
                },
            ],
            Some(Target::Accept),
        ),
    );
    rs
}

/// The KUBE-SERVICES tail rule(s) jumping to KUBE-NODEPORTS (spec §4.3).
fn node_ports_tail(rs: &mut Ruleset, plan: &ProxyPlan) {
    let s = &plan.settings;
    let family = s.family;
    let cidrs: Vec<Cidr> =
        s.node_port_addresses.iter().copied().filter(|c| c.family() == family).collect();
    let match_all = cidrs.is_empty() || cidrs.iter().any(|c| c.prefix_len() == 0);
    let nat = rs.table_mut(TableName::Nat);
    if match_all {
        let mut m = vec![
            comment(NODEPORTS_COMMENT),
            Match::AddrType {
                source: None,
                destination: Some(AddrTypeSpec { negated: false, types: vec!["LOCAL".into()] }),
            },
        ];
        let exclude = match family {
            IpFamily::V6 => cidr("::1/128"),
            IpFamily::V4 if !s.localhost_node_ports => cidr("127.0.0.0/8"),
            IpFamily::V4 => None,
        };
        if let Some(address) = exclude {
            m.push(Match::Destination { negated: true, address });
        }
        nat.append(KUBE_SERVICES, Rule::new(m, jump(KUBE_NODEPORTS)));
        return;
    }
    // Go map order upstream; sorted by the address string here.
    let mut ips: Vec<IpAddr> = s
        .node_interfaces
        .values()
        .flatten()
        .map(|a| a.addr)
        .filter(|ip| cidrs.iter().any(|c| c.contains(*ip)))
        .collect();
    ips.sort_by_key(|ip| ip.to_string());
    ips.dedup();
    for ip in ips {
        if ip.is_loopback() && (family == IpFamily::V6 || !s.localhost_node_ports) {
            continue;
        }
        nat.append(
            KUBE_SERVICES,
            Rule::new(
                vec![
                    comment(NODEPORTS_COMMENT),
                    Match::Destination { negated: false, address: Address::host(ip) },
                ],
                jump(KUBE_NODEPORTS),
            ),
        );
    }
}

/// Every rule of one service port (spec §4.2).
fn service_port_rules(
    rs: &mut Ruleset,
    plan: &ProxyPlan,
    sp: &ServicePortPlan,
    large: bool,
    probabilities: &mut Probabilities,
) {
    let s = &plan.settings;
    let v4 = s.family == IpFamily::V4;
    let name = sp.name_string();
    // `ns/name:port`, the comment of the NodePort and endpoint rules.
    let name_comment: Arc<str> = Arc::from(name.as_str());
    let proto = sp.protocol;
    let cat = &sp.categorized;
    let has_endpoints = cat.has_any_endpoints;

    let naming::ServicePortChains { svc: svc_chain, svl: svl_chain, ext: ext_chain, fw: fw_chain } =
        naming::ServicePortChains::new(&sp.name);

    let uses_cluster_chain = !cat.cluster.is_empty() && sp.uses_cluster_endpoints();
    let uses_local_chain = !cat.local.is_empty() && sp.uses_local_endpoints();
    let internal_chain = if sp.internal_policy_local { svl_chain } else { svc_chain };
    let external_policy_chain = if sp.external_policy_local { svl_chain } else { svc_chain };
    let has_internal = sp.has_internal();
    let has_external = sp.has_external();
    let uses_ext = has_endpoints && sp.externally_accessible();
    let uses_fw = has_endpoints
        && !sp.load_balancer_vips.is_empty()
        && !sp.load_balancer_source_ranges.is_empty();
    let lb_chain = if uses_fw { fw_chain } else { ext_chain };

    let (internal_filter, external_filter) = if !has_endpoints {
        let c: Arc<str> = format!("{name} has no endpoints").into();
        (Some((c.clone(), Target::Reject { with: None })), Some((c, Target::Reject { with: None })))
    } else {
        let c: Arc<str> = format!("{name} has no local endpoints").into();
        (
            (!has_internal).then_some((c.clone(), Target::Drop)),
            (!has_external).then_some((c, Target::Drop)),
        )
    };

    // Capture the ClusterIP.
    let cluster_ip_comment: Arc<str> = format!("{name} cluster IP").into();
    let cluster_match = |text: Arc<str>, extra| {
        commented_port_match(text, proto, Some(sp.cluster_ip), sp.port, extra)
    };
    if has_internal {
        rs.table_mut(TableName::Nat).append(
            KUBE_SERVICES,
            Rule::new(cluster_match(cluster_ip_comment.clone(), 0), jump(internal_chain)),
        );
    } else if let Some((c, t)) = &internal_filter {
        rs.table_mut(TableName::Filter)
            .append(KUBE_SERVICES, Rule::new(cluster_match(c.clone(), 0), Some(t.clone())));
    }

    // External IPs.
    for ip in &sp.external_ips {
        let m = port_match(proto, Some(*ip), sp.port);
        if has_endpoints {
            rs.table_mut(TableName::Nat).append(
                KUBE_SERVICES,
                Rule::new(
                    with(vec![comment(format!("{name} external IP"))], m.clone()),
                    jump(ext_chain),
                ),
            );
        }
        if let Some((c, t)) = external_filter.as_ref().filter(|_| !has_external) {
            rs.table_mut(TableName::Filter).append(
                KUBE_EXTERNAL_SERVICES,
                Rule::new(with(vec![comment(c.clone())], m), Some(t.clone())),
            );
        }
    }

    // Load-balancer VIPs.
    for ip in &sp.load_balancer_vips {
        let m = port_match(proto, Some(*ip), sp.port);
        if has_endpoints {
            rs.table_mut(TableName::Nat).append(
                KUBE_SERVICES,
                Rule::new(
                    with(vec![comment(format!("{name} loadbalancer IP"))], m.clone()),
                    jump(lb_chain),
                ),
            );
        }
        if uses_fw {
            rs.table_mut(TableName::Filter).append(
                KUBE_PROXY_FIREWALL,
                Rule::new(
                    with(vec![comment(format!("{name} traffic not accepted by {fw_chain}"))], m),
                    Some(Target::Drop),
                ),
            );
        }
    }
    if let Some((c, t)) = external_filter.as_ref().filter(|_| !has_external) {
        for ip in &sp.load_balancer_vips {
            rs.table_mut(TableName::Filter).append(
                KUBE_EXTERNAL_SERVICES,
                Rule::new(
                    with(vec![comment(c.clone())], port_match(proto, Some(*ip), sp.port)),
                    Some(t.clone()),
                ),
            );
        }
    }

    // NodePort.
    if let Some(np) = sp.node_port {
        if has_endpoints {
            let nat = rs.table_mut(TableName::Nat);
            if v4
                && s.localhost_node_ports
                && s.nfacct_counters.contains(LOCALHOST_NODEPORTS_ACCEPTED)
            {
                let mut m = vec![
                    comment(name_comment.clone()),
                    Match::PortModule { module: proto.into() },
                    Match::Protocol { negated: false, protocol: proto.into() },
                ];
                if let Some(lo) = cidr("127.0.0.0/8") {
                    m.push(Match::Destination { negated: false, address: lo });
                }
                m.push(Match::DestinationPort { negated: false, ports: PortRange::single(np) });
                m.push(Match::Nfacct { name: LOCALHOST_NODEPORTS_ACCEPTED.into() });
                nat.append(KUBE_NODEPORTS, Rule::new(m, jump(ext_chain)));
            }
            nat.append(
                KUBE_NODEPORTS,
                Rule::new(
                    commented_port_match(name_comment.clone(), proto, None, np, 0),
                    jump(ext_chain),
                ),
            );
        }
        if let Some((c, t)) = external_filter.as_ref().filter(|_| !has_external) {
            let m = with(
                vec![
                    comment(c.clone()),
                    Match::AddrType {
                        source: None,
                        destination: Some(AddrTypeSpec {
                            negated: false,
                            types: vec!["LOCAL".into()],
                        }),
                    },
                ],
                port_match(proto, None, np),
            );
            rs.table_mut(TableName::Filter)
                .append(KUBE_EXTERNAL_SERVICES, Rule::new(m, Some(t.clone())));
        }
    }

    // Health-check NodePort.
    if let Some(hc) = sp.health_check_node_port {
        rs.table_mut(TableName::Filter).append(
            KUBE_NODEPORTS,
            Rule::new(
                commented_port_match(
                    format!("{name} health check node port"),
                    Protocol::Tcp,
                    None,
                    hc,
                    0,
                ),
                Some(Target::Accept),
            ),
        );
    }

    let nat = rs.table_mut(TableName::Nat);
    // Internal traffic masquerading.
    if has_internal {
        if s.masquerade_all {
            let head = cluster_match(cluster_ip_comment, 0);
            nat.append(internal_chain, Rule::new(head, jump(KUBE_MARK_MASQ)));
        } else if let Some((_, if_not_local)) = detector(&s.local_traffic_detector) {
            let mut head = cluster_match(cluster_ip_comment, 1);
            head.push(if_not_local);
            nat.append(internal_chain, Rule::new(head, jump(KUBE_MARK_MASQ)));
        }
    }

    // External traffic chain.
    if uses_ext {
        nat.declare(ext_chain);
        if !sp.external_policy_local {
            nat.append(
                ext_chain,
                Rule::new(
                    vec![comment(format!("masquerade traffic for {name} external destinations"))],
                    jump(KUBE_MARK_MASQ),
                ),
            );
        } else {
            if let Some((if_local, _)) = detector(&s.local_traffic_detector) {
                nat.append(
                    ext_chain,
                    Rule::new(
                        vec![
                            comment(format!("pod traffic for {name} external destinations")),
                            if_local,
                        ],
                        jump(svc_chain),
                    ),
                );
            }
            let local_src = || Match::AddrType {
                source: Some(AddrTypeSpec { negated: false, types: vec!["LOCAL".into()] }),
                destination: None,
            };
            nat.append(
                ext_chain,
                Rule::new(
                    vec![
                        comment(format!(
                            "masquerade LOCAL traffic for {name} external destinations"
                        )),
                        local_src(),
                    ],
                    jump(KUBE_MARK_MASQ),
                ),
            );
            nat.append(
                ext_chain,
                Rule::new(
                    vec![
                        comment(format!("route LOCAL traffic for {name} external destinations")),
                        local_src(),
                    ],
                    jump(svc_chain),
                ),
            );
        }
        if has_external {
            nat.append(ext_chain, Rule::new(vec![], jump(external_policy_chain)));
        }
    }

    // Firewall chain.
    if uses_fw {
        nat.declare(fw_chain);
        let head = || comment(format!("{name} loadbalancer IP"));
        let mut allow_from_node = false;
        for range in &sp.load_balancer_source_ranges {
            nat.append(
                fw_chain,
                Rule::new(
                    vec![
                        head(),
                        Match::Source { negated: false, address: Address::network(*range) },
                    ],
                    jump(ext_chain),
                ),
            );
            if s.node_ip.is_some_and(|ip| range.contains(ip)) {
                allow_from_node = true;
            }
        }
        if allow_from_node {
            for ip in &sp.load_balancer_vips {
                nat.append(
                    fw_chain,
                    Rule::new(
                        vec![head(), Match::Source { negated: false, address: Address::host(*ip) }],
                        jump(ext_chain),
                    ),
                );
            }
        }
        nat.append(
            fw_chain,
            Rule::new(
                vec![comment(format!(
                    "other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL"
                ))],
                None,
            ),
        );
    }

    // Endpoint chain names, hashed once per endpoint that gets rules.
    let mut seps: Vec<Option<ChainName>> = vec![None; sp.endpoints.len()];
    for &i in cat.reachable.iter().chain(&cat.cluster).chain(&cat.local) {
        if seps[i].is_none() {
            seps[i] =
                Some(naming::sep_chain_of(&sp.name, sp.endpoints[i].ip, sp.endpoints[i].port));
        }
    }

    // Endpoint dispatch chains.
    if uses_cluster_chain {
        let chain = nat.declare(svc_chain);
        endpoint_dispatch(chain, sp, &name, &cat.cluster, &seps, large, probabilities);
    }
    if uses_local_chain {
        let chain = nat.declare(svl_chain);
        endpoint_dispatch(chain, sp, &name, &cat.local, &seps, large, probabilities);
    }

    // Endpoint chains.
    for &i in &cat.reachable {
        let ep = &sp.endpoints[i];
        let Some(sep) = seps[i] else { continue };
        let head = |capacity: usize| {
            let mut m = Vec::with_capacity(capacity + usize::from(!large));
            if !large {
                m.push(comment(name_comment.clone()));
            }
            m
        };
        let mut masq = head(1);
        masq.push(Match::Source { negated: false, address: Address::host(ep.ip) });
        let mut m = head(3);
        if sp.session_affinity_timeout.is_some() {
            m.push(Match::Recent(Recent::new(Some(sep.to_string()), RecentAction::Set)));
        }
        m.push(Match::PortModule { module: proto.into() });
        m.push(Match::Protocol { negated: false, protocol: proto.into() });
        let chain = nat.declare(sep);
        chain.rules.reserve_exact(2);
        chain.rules.push(Rule::new(masq, jump(KUBE_MARK_MASQ)));
        chain.rules.push(Rule::new(m, Some(Target::Dnat { ip: ep.ip, port: Some(ep.port) })));
    }
}

/// `writeServiceToEndpointRules`: affinity checks first, then one probability rule per
/// endpoint (the last one unconditional).
///
/// `seps` holds the endpoint chain of every endpoint listed in `endpoints`.
fn endpoint_dispatch(
    chain: &mut super::ruleset::Chain,
    sp: &ServicePortPlan,
    name: &str,
    endpoints: &[usize],
    seps: &[Option<ChainName>],
    large: bool,
    probabilities: &mut Probabilities,
) {
    // `ns/name:port -> ip:port`, in a vector with room for the affinity or statistic match.
    let head = |i: usize| {
        let mut m = Vec::with_capacity(2);
        if !large {
            let e = &sp.endpoints[i];
            let mut text = String::with_capacity(name.len() + 4 + 48);
            text.push_str(name);
            text.push_str(" -> ");
            let _ = write_host_port(&mut text, e.ip, e.port);
            m.push(comment(text));
        }
        m
    };
    let endpoints: Vec<(usize, ChainName)> =
        endpoints.iter().filter_map(|&i| Some((i, seps[i]?))).collect();
    chain.rules.reserve(endpoints.len() * (1 + usize::from(sp.session_affinity_timeout.is_some())));
    if let Some(timeout) = sp.session_affinity_timeout {
        for &(i, sep) in &endpoints {
            let mut m = head(i);
            m.push(Match::Recent(Recent {
                seconds: Some(timeout),
                reap: true,
                ..Recent::new(Some(sep.to_string()), RecentAction::Rcheck)
            }));
            chain.rules.push(Rule::new(m, jump(sep)));
        }
    }
    let n = endpoints.len();
    for (k, &(i, sep)) in endpoints.iter().enumerate() {
        let mut m = head(i);
        if k + 1 < n {
            m.push(Match::Statistic(Statistic::Random {
                negated: false,
                probability: probabilities.one_in(n - k),
            }));
        }
        chain.rules.push(Rule::new(m, jump(sep)));
    }
}

/// The `1/n` probabilities written so far, spelled once each and shared by every rule that
/// writes them (every service chain of a 10-endpoint service writes the same nine).
#[derive(Debug, Default)]
struct Probabilities(Vec<Option<Arc<str>>>);

impl Probabilities {
    fn one_in(&mut self, n: usize) -> Arc<str> {
        if self.0.len() <= n {
            self.0.resize(n + 1, None);
        }
        self.0[n].get_or_insert_with(|| probability(n).into()).clone()
    }
}

/// `1/n` with exactly ten decimals, as kube-proxy formats it (`%0.10f`).
pub fn probability(n: usize) -> String {
    format!("{:.10}", 1.0 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_have_ten_decimals() {
        assert_eq!(probability(2), "0.5000000000");
        assert_eq!(probability(3), "0.3333333333");
        assert_eq!(probability(100_001), "0.0000099999");
    }
}
