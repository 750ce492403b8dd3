//! The rules outside kube-proxy's restore input: the jumps from the built-in chains into
//! kube-proxy's chains, which it adds with `iptables -C`/`iptables -I` on every full sync, and
//! the `KUBE-FIREWALL` chain that kubelet sets up before kube-proxy starts.
//!
//! They are data ([`NodeCommand`]s in the order they run on a node) so that the ruleset
//! builder and the kernel round-trip test replay the same sequence.
//!
//! Resulting order on an IPv4 node (kubelet ran first, so kube-proxy's `-C` finds its
//! `KUBE-FIREWALL` jumps and every kube-proxy jump is inserted above them, the last one
//! listed ending up first):
//!
//! ```text
//! filter INPUT:   KUBE-PROXY-FIREWALL, KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES, KUBE-FIREWALL
//! filter FORWARD: KUBE-PROXY-FIREWALL, KUBE-FORWARD, KUBE-SERVICES, KUBE-EXTERNAL-SERVICES
//! filter OUTPUT:  KUBE-PROXY-FIREWALL, KUBE-SERVICES, KUBE-FIREWALL
//! nat PREROUTING → KUBE-SERVICES, nat OUTPUT → KUBE-SERVICES, nat POSTROUTING → KUBE-POSTROUTING
//! ```
//!
//! kubelet sets up `KUBE-FIREWALL` (and its "block incoming localnet connections" rule) for
//! IPv4 only, so on an IPv6 node kube-proxy creates the chain itself and inserts its jumps
//! last: they end up first in INPUT and OUTPUT. Not modelled: kubelet's and kube-proxy's
//! canary chains (`KUBE-KUBELET-CANARY`, `KUBE-PROXY-CANARY`) and `KUBE-IPTABLES-HINT`.

use super::chain_name::ChainName;
use super::rule::{CtState, Match, Rule, Target};
use super::ruleset::TableName;
use crate::net::IpFamily;

/// How a command changes a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandKind {
    /// `iptables -N CHAIN` (kept when it exists).
    NewChain,
    /// `iptables -I CHAIN RULE` unconditionally (kubelet's ensure of a missing rule).
    Insert(Rule),
    /// `iptables -A CHAIN RULE`.
    Append(Rule),
    /// `iptables -C CHAIN RULE || iptables -I CHAIN RULE` (kube-proxy's `EnsureRule(Prepend)`).
    EnsureFirst(Rule),
}

/// One `iptables` invocation run on the node outside the restore input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCommand {
    pub table: TableName,
    pub chain: ChainName,
    pub kind: CommandKind,
    /// Who runs it.
    pub by: &'static str,
}

fn jump(extra: &[Match], comment: Option<&str>, to: ChainName) -> Rule {
    let mut matches = extra.to_vec();
    if let Some(c) = comment {
        matches.push(Match::Comment { text: c.into() });
    }
    Rule::new(matches, Some(Target::Jump { chain: to }))
}

/// The "block incoming localnet connections" rule (kubelet's copy, and kube-proxy's in its
/// restore input when localhost NodePorts are on).
pub fn localnet_rule() -> Rule {
    use super::rule::Address;
    use crate::net::Cidr;
    let lo = Cidr::parse_sloppy("127.0.0.0/8").map(Address::network);
    let mut matches = vec![Match::Comment { text: "block incoming localnet connections".into() }];
    if let Some(lo) = lo {
        matches.push(Match::Destination { negated: false, address: lo });
        matches.push(Match::Source { negated: true, address: lo });
    }
    matches.push(Match::Conntrack {
        negated: true,
        states: vec![CtState::Related, CtState::Established, CtState::Dnat],
    });
    Rule::new(matches, Some(Target::Drop))
}

/// The commands run on a node outside the restore input, in order: kubelet's (IPv4 only),
/// then kube-proxy's jump rules (`iptablesJumpChains`, then its copy of kubelet's).
pub fn node_commands(family: IpFamily) -> Vec<NodeCommand> {
    use CommandKind::*;
    use TableName::{Filter, Nat};
    let new = || vec![Match::Conntrack { negated: false, states: vec![CtState::New] }];
    let mut out = Vec::new();
    if family == IpFamily::V4 {
        let kubelet = |table, chain, kind| NodeCommand {
            table,
            chain: ChainName::from_static(chain),
            kind,
            by: "kubelet",
        };
        let firewall = ChainName::from_static("KUBE-FIREWALL");
        out.push(kubelet(Filter, "KUBE-FIREWALL", NewChain));
        out.push(kubelet(Filter, "OUTPUT", Insert(jump(&[], None, firewall))));
        out.push(kubelet(Filter, "INPUT", Insert(jump(&[], None, firewall))));
        out.push(kubelet(Filter, "KUBE-FIREWALL", Append(localnet_rule())));
    }
    let jumps: [(TableName, &'static str, &'static str, Option<&str>, bool); 14] = [
        (
            Filter,
            "INPUT",
            "KUBE-EXTERNAL-SERVICES",
            Some("kubernetes externally-visible service portals"),
            true,
        ),
        (
            Filter,
            "FORWARD",
            "KUBE-EXTERNAL-SERVICES",
            Some("kubernetes externally-visible service portals"),
            true,
        ),
        (Filter, "INPUT", "KUBE-NODEPORTS", Some("kubernetes health check service ports"), false),
        (Filter, "FORWARD", "KUBE-SERVICES", Some("kubernetes service portals"), true),
        (Filter, "OUTPUT", "KUBE-SERVICES", Some("kubernetes service portals"), true),
        (Filter, "FORWARD", "KUBE-FORWARD", Some("kubernetes forwarding rules"), false),
        (Filter, "INPUT", "KUBE-PROXY-FIREWALL", Some("kubernetes load balancer firewall"), true),
        (Filter, "OUTPUT", "KUBE-PROXY-FIREWALL", Some("kubernetes load balancer firewall"), true),
        (Filter, "FORWARD", "KUBE-PROXY-FIREWALL", Some("kubernetes load balancer firewall"), true),
        (Nat, "OUTPUT", "KUBE-SERVICES", Some("kubernetes service portals"), false),
        (Nat, "PREROUTING", "KUBE-SERVICES", Some("kubernetes service portals"), false),
        (Nat, "POSTROUTING", "KUBE-POSTROUTING", Some("kubernetes postrouting rules"), false),
        (Filter, "INPUT", "KUBE-FIREWALL", None, false),
        (Filter, "OUTPUT", "KUBE-FIREWALL", None, false),
    ];
    for (table, from, to, comment, only_new) in jumps {
        let extra = if only_new { new() } else { Vec::new() };
        let (from, to) = (ChainName::from_static(from), ChainName::from_static(to));
        out.push(NodeCommand { table, chain: to, kind: NewChain, by: "kube-proxy" });
        out.push(NodeCommand {
            table,
            chain: from,
            kind: EnsureFirst(jump(&extra, comment, to)),
            by: "kube-proxy",
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_runs_first_on_ipv4_only() {
        assert_eq!(node_commands(IpFamily::V4)[0].by, "kubelet");
        assert!(node_commands(IpFamily::V6).iter().all(|c| c.by == "kube-proxy"));
    }
}
