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

use self::service_port::{OwnChainKind, Probabilities, ServicePortRules};
use super::chain_name::ChainName;
use super::jumps::{CommandKind, localnet_rule, node_commands};
use super::rule::{
    AddrTypeSpec, Address, CtState, MarkOp, Match, PortRange, Rule, RuleOrigin, Target,
};
use super::ruleset::{Ruleset, TableName};
use crate::net::{Cidr, IpFamily, Protocol};
use crate::proxy::ProxyPlan;
use crate::settings::LocalTrafficDetector;

/// nfacct counter of the INVALID-drop rule.
pub const CT_STATE_INVALID_DROPPED: &str = "ct_state_invalid_dropped_pkts";
/// nfacct counter of the localhost NodePort rules.
pub const LOCALHOST_NODEPORTS_ACCEPTED: &str = "localhost_nps_accepted_pkts";

const NODEPORTS_COMMENT: &str =
    "kubernetes service nodeports; NOTE: this must be the last rule in this chain";

mod service_port;

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
    restore_over(node_before_sync(plan.settings.family), restore_input(plan))
}

/// The node's rules before the restore input is applied: kubelet's and kube-proxy's
/// commands outside it.
fn node_before_sync(family: IpFamily) -> Ruleset {
    let mut node = Ruleset::new(family);
    for command in node_commands(family) {
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
    node
}

/// [`apply_restore`] of a restore input that deletes no chain, worked the other way round:
/// the node's few chains move under the restore input's tables rather than the restore
/// input's 100,000 chains into the node's. The same ruleset, without indexing every chain
/// twice.
fn restore_over(node: Ruleset, mut restore: Ruleset) -> Ruleset {
    for table in node.tables {
        let target = restore.table_mut(table.name);
        debug_assert!(target.deleted.is_empty(), "restore_input deletes no chain");
        for chain in table.into_chains() {
            let Some((c, on_node)) = target.add_or_get(chain) else { continue };
            if c.declared {
                // Flushed by the restore input; a policy it does not write stays.
                c.policy = c.policy.or(on_node.policy);
            } else {
                // Appended to: the node's rules come first.
                let appended = std::mem::replace(&mut c.rules, on_node.rules);
                c.rules.extend(appended);
                c.policy = on_node.policy;
                c.declared = on_node.declared;
            }
        }
    }
    restore
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
            let Some((c, chain)) = target.add_or_get(chain) else { continue };
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

    // Each service port's rules in the shared chains, in plan order; then the chains the
    // service ports own, made in name order (see `service_port`).
    let mut ports = Vec::with_capacity(plan.service_ports.len());
    let mut own = Vec::new();
    for (k, sp) in plan.service_ports.iter().enumerate() {
        let port = ServicePortRules::new(&mut rs, plan, sp);
        port.own_chains(plan, k, &mut own);
        ports.push(port);
    }
    own.sort_unstable_by_key(|o| o.name);
    let large = plan.large_cluster_mode();
    let mut probabilities = Probabilities::default();
    let nat = rs.table_mut(TableName::Nat);
    nat.reserve_chains(own.len());
    for o in &own {
        let chain = match &o.kind {
            // Most chains of a large cluster: made from the list alone.
            OwnChainKind::Endpoint(e) if large => e.chain(o.name, None),
            _ => ports[o.port].own_chain(plan, o, large, &mut probabilities),
        };
        nat.merge_chain(chain);
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
                destination: Some(Box::new(AddrTypeSpec {
                    negated: false,
                    types: vec!["LOCAL".into()],
                })),
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

/// `1/n` with exactly ten decimals, as kube-proxy formats it (`%0.10f`).
pub fn probability(n: usize) -> String {
    format!("{:.10}", 1.0 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restoring_over_the_node_rules_equals_applying_the_restore_input_to_them() {
        let text = include_str!("../../../tests/data/oracle/iptables/TestBadIPs/input.yaml");
        let m = crate::manifest::parse(text);
        let (cluster, _) = crate::model::build::build(&m, crate::model::Admission::AsGiven);
        for family in [IpFamily::V4, IpFamily::V6] {
            for localhost_node_ports in [false, true] {
                let mut settings = crate::settings::ProxySettings::for_node(
                    &cluster,
                    "test-node",
                    crate::settings::Mode::Iptables,
                    family,
                );
                settings.localhost_node_ports = localhost_node_ports;
                let plan = crate::proxy::plan(&cluster, &settings);
                let mut applied = node_before_sync(family);
                apply_restore(&mut applied, restore_input(&plan));
                let over = restore_over(node_before_sync(family), restore_input(&plan));
                assert_eq!(over, applied);
                assert_eq!(over.save().to_string(), applied.save().to_string());
            }
        }
    }

    #[test]
    fn probabilities_have_ten_decimals() {
        assert_eq!(probability(2), "0.5000000000");
        assert_eq!(probability(3), "0.3333333333");
        assert_eq!(probability(100_001), "0.0000099999");
    }
}
