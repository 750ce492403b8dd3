//! One node pass as hops: the steps of a node tracer's path, split at the routing decision
//! (PREROUTING or OUTPUT before it; INPUT, FORWARD, POSTROUTING after), and the rules that
//! acted — DNAT, the masquerade mark, MASQUERADE, DROP, REJECT, an explicit ACCEPT, session
//! affinity — each one hop quoting the rule. A pass where no rule acted is one hop saying so.
//!
//! Not here: running the node tracer or routing (the walk's).

use std::net::IpAddr;

use super::hop::{Actor, Direction, Hop, HopKind, Message, Place, RuleRef};
use super::setup::KubeProxyState;
use crate::net::join_host_port;
use crate::sim::iptables::IPVS_TABLE;
use crate::sim::trace::{Action, Entry, Hook, Packet, Step, TracePath, Verdict};

/// What the pass is about.
#[derive(Debug, Clone)]
pub(super) struct PassInput<'a> {
    pub node: &'a str,
    pub trace_index: usize,
    pub path_index: usize,
    pub path: &'a TracePath,
    pub entry: Entry,
    /// The packet as it entered the hooks.
    pub packet: Packet,
    pub message: Message,
    /// The address MASQUERADE picks (the out interface's) and that interface.
    pub masquerade_to: Option<(IpAddr, String)>,
    /// kube-proxy's masquerade bit.
    pub masquerade_mark: u32,
    pub kube_proxy: KubeProxyState,
}

/// The pass as hops.
#[derive(Debug, Clone)]
pub(super) struct Pass {
    pub before_routing: Vec<Hop>,
    pub after_routing: Vec<Hop>,
    /// A DROP or REJECT, and whether it came before the routing decision.
    pub stopped: Option<(Verdict, bool)>,
    /// IPVS mode: the packet was first routed to a local address (a `kube-ipvs0` one) and
    /// IPVS rewrote it at LOCAL_IN; how many `after_routing` hops come up to that rewrite, and
    /// the packet as it was first routed.
    pub delivered_locally: Option<(usize, Packet)>,
    /// The packet after the pass: DNAT and MASQUERADE applied.
    pub packet: Packet,
}

fn endpoint(ip: IpAddr, port: Option<u16>) -> String {
    match port {
        Some(p) => join_host_port(ip, p),
        None => ip.to_string(),
    }
}

fn side(p: &Packet, src: bool) -> String {
    if src { endpoint(p.src, p.sport) } else { endpoint(p.dst, p.dport) }
}

fn where_(step: &Step) -> String {
    format!("{} {} {}", step.hook, step.table, step.chain)
}

fn quoted(step: &Step) -> String {
    if step.rule.is_empty() { String::new() } else { format!(" by `{}`", step.rule) }
}

fn state_note(state: KubeProxyState) -> &'static str {
    match state {
        KubeProxyState::Running => "",
        KubeProxyState::StoppedAfterSync => {
            " (kube-proxy is stopped: rules frozen at its last sync)"
        }
        KubeProxyState::Given => " (rules as given)",
        KubeProxyState::NeverRan => "",
    }
}

/// Turns a node tracer path into hops.
pub(super) fn pass(input: &PassInput<'_>) -> Pass {
    let path = input.path;
    let first_hook = match input.entry {
        Entry::Arriving => Hook::Prerouting,
        Entry::Local => Hook::Output,
    };
    let split = path.steps.iter().position(|s| s.hook != first_hook).unwrap_or(path.steps.len());
    let place = Place::Node { name: input.node.to_owned() };
    let note = state_note(input.kube_proxy);
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut chains: Vec<String> = Vec::new();
    let mut current = input.packet;
    let mut delivered_locally = None;
    for (i, step) in path.steps.iter().enumerate() {
        chains.truncate(step.depth);
        chains.push(step.chain.clone());
        if !step.matched {
            continue;
        }
        let mut next = current;
        let what = match &step.action {
            Some(Action::Dnat { ip, port }) => {
                next.dst = *ip;
                if port.is_some() {
                    next.dport = *port;
                }
                let chance = if path.probability < 1.0 - 1e-9 {
                    format!(" (endpoint chosen with probability {:.2})", path.probability)
                } else {
                    String::new()
                };
                Some((
                    HopKind::Netfilter,
                    format!("DNAT {} → {}{chance}", side(&current, false), side(&next, false)),
                ))
            }
            Some(Action::Mark { mark })
                if current.mark & input.masquerade_mark == 0
                    && mark & input.masquerade_mark != 0 =>
            {
                next.mark = *mark;
                Some((HopKind::Netfilter, format!("marked 0x{mark:x} for masquerade")))
            }
            Some(Action::Mark { mark }) => {
                next.mark = *mark;
                None
            }
            Some(Action::Masquerade { .. }) => match &input.masquerade_to {
                Some((addr, dev)) => {
                    next.src = *addr;
                    Some((
                        HopKind::Netfilter,
                        format!(
                            "MASQUERADE: source {} → {} ({dev}'s address)",
                            side(&current, true),
                            side(&next, true)
                        ),
                    ))
                }
                None => Some((HopKind::Netfilter, "MASQUERADE".to_owned())),
            },
            Some(Action::Drop) if step.rule_index.is_none() => {
                Some((HopKind::Drop, format!("DROP: the policy of {}", step.chain)))
            }
            Some(Action::Drop) => Some((HopKind::Drop, "DROP".to_owned())),
            Some(Action::Reject) => Some((
                HopKind::Refuse,
                "REJECT: an ICMP port unreachable goes back to the client".to_owned(),
            )),
            Some(Action::Accept) if step.rule_index.is_some() => {
                Some((HopKind::Netfilter, "ACCEPT".to_owned()))
            }
            Some(Action::Affinity { set }) => Some((
                HopKind::Netfilter,
                format!("session affinity: the client is remembered in {set}"),
            )),
            _ => None,
        };
        let Some((kind, what)) = what else {
            current = next;
            continue;
        };
        let probability = match step.action {
            Some(Action::Dnat { .. }) => Some(path.probability),
            _ => None,
        };
        let rule = RuleRef {
            trace: input.trace_index,
            path: input.path_index,
            step: i,
            hook: step.hook,
            table: step.table.clone(),
            chain: step.chain.clone(),
            rule_index: step.rule_index,
            rule: step.rule.clone(),
            action: step.action.clone(),
            chains: chains.clone(),
            probability,
        };
        let text = format!("{}: {what}{}{note}", where_(step), quoted(step));
        let mut hop = Hop::new(
            kind,
            Direction::Request,
            Actor::KubeProxy,
            place.clone(),
            input.message,
            current,
            text,
        )
        .changed_to(next);
        hop.rule = Some(rule);
        if i < split {
            before.push(hop)
        } else {
            after.push(hop);
            let ipvs_rewrite =
                step.table == IPVS_TABLE && matches!(step.action, Some(Action::Dnat { .. }));
            if ipvs_rewrite && input.entry == Entry::Arriving {
                delivered_locally = Some((after.len(), current));
            }
        }
        current = next;
    }
    if before.is_empty() && after.is_empty() {
        let hooks: Vec<String> = {
            let mut h: Vec<Hook> = Vec::new();
            for s in &path.steps {
                if !h.contains(&s.hook) {
                    h.push(s.hook);
                }
            }
            h.iter().map(|h| h.as_upper().to_owned()).collect()
        };
        let text = match input.kube_proxy {
            KubeProxyState::NeverRan => {
                "kube-proxy never ran here: no KUBE-* rules, nothing translates the packet"
                    .to_owned()
            }
            _ if path.steps.is_empty() => format!("no kube-proxy rule applies here{note}"),
            _ => format!(
                "no kube-proxy rule changed the packet ({} rules checked in {}){note}",
                path.steps.iter().filter(|s| s.rule_index.is_some()).count(),
                hooks.join(", ")
            ),
        };
        before.push(Hop::new(
            HopKind::Netfilter,
            Direction::Request,
            Actor::KubeProxy,
            place,
            input.message,
            input.packet,
            text,
        ));
    }
    let stopped = match path.verdict {
        Verdict::Drop | Verdict::Reject => Some((path.verdict, split >= path.steps.len())),
        _ => None,
    };
    Pass {
        before_routing: before,
        after_routing: after,
        stopped,
        packet: current,
        delivered_locally,
    }
}
