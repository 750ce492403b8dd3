//! A packet in a node's network namespace: a request's netfilter pass (the node tracer's
//! path turned into hops, forked per random choice), its routing decision and conntrack
//! entry; a reply's or an ICMP error's conntrack lookup (NAT undone) and route back.
//!
//! Not here: where the packet goes next (`walk`'s `node_out`) or the tracers themselves.

use super::hop::{Actor, HopKind, IcmpError, Message};
use super::netfilter::{PassInput, pass};
use super::walk::{End, FlowState, Move, Netns, Pkt, Session, pass_choices, side};
use crate::naming;
use crate::net::IpFamily;
use crate::settings::Mode;
use crate::sim::network::NodeNetns;
use crate::sim::trace::{Choices, Entry, Packet, Verdict};

impl<'n> Session<'n> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn node_pass(
        &self,
        mut st: FlowState,
        node: &'n NodeNetns,
        entry: Entry,
        veth: Option<&'n str>,
        pkt: Pkt,
        choices: Choices,
        client: Netns<'n>,
    ) -> Vec<(FlowState, Move<'n>)> {
        let family = IpFamily::of(pkt.packet.dst);
        let this_pass = pass_choices(choices, st.passes);
        st.passes += 1;
        let trace = self.node_trace(&node.name, pkt.packet, entry, this_pass);
        let trace_index = st.traces.len();
        let paths = trace.paths.clone();
        st.traces.push(trace);
        let rules = self.net.rules(&node.name, family);
        let masquerade_mark = rules.map(|r| r.settings.masquerade_mark_value()).unwrap_or(0x4000);
        let kube_proxy =
            rules.map(|r| r.kube_proxy).unwrap_or(super::setup::KubeProxyState::NeverRan);
        let mode = rules.map(|r| r.ruleset.mode()).unwrap_or_default();
        let room = super::MAX_FLOWS.saturating_sub(self.flows.get()) + 1;
        let take = paths.len().min(room).max(1);
        self.flows.set(self.flows.get() + take - 1);
        let mut out = Vec::new();
        for (path_index, path) in paths.iter().take(take).enumerate() {
            let mut st = st.clone();
            st.probability *= path.probability;
            let decision = node.route(path.packet_out.dst);
            let masquerade_to = decision.as_ref().and_then(|d| {
                let addr = d.route.src.or_else(|| node.address_on(&d.route.dev, family))?;
                Some((addr, d.route.dev.clone()))
            });
            let p = pass(&PassInput {
                node: &node.name,
                trace_index,
                path_index,
                path,
                entry,
                packet: pkt.packet,
                message: pkt.message,
                masquerade_to,
                masquerade_mark,
                kube_proxy,
            });
            st.hops.extend(p.before_routing);
            if let Some((verdict, true)) = p.stopped {
                let mv = stop(&mut st, node, mode, verdict, path.packet_out);
                out.push((st, mv));
                continue;
            }
            let place = Netns::Node(node).place();
            let mut after_routing = p.after_routing.as_slice();
            if let Some((n, first)) = p.delivered_locally
                && let Some(local) = node.route(first.dst)
            {
                // IPVS: routed to the local kube-ipvs0 address first, rewritten at LOCAL_IN,
                // then routed again to the real server (the decision below).
                st.hops.push(self.route_hop(
                    &local,
                    place.clone(),
                    &Pkt { packet: first, ..pkt },
                    true,
                ));
                let (to_rewrite, rest) = after_routing.split_at(n.min(after_routing.len()));
                st.hops.extend(to_rewrite.iter().cloned());
                after_routing = rest;
            }
            let Some(decision) = decision else {
                st.hops.push(self.hop(
                    HopKind::Unreachable,
                    Actor::Kernel,
                    place,
                    &pkt,
                    format!(
                        "no route to {}: an ICMP network unreachable goes back",
                        path.packet_out.dst
                    ),
                ));
                st.end(format!("{} has no route to {}", node.name, path.packet_out.dst));
                let end = End::NodeError {
                    node,
                    error: IcmpError::NetUnreachable,
                    quoted: path.packet_out,
                };
                out.push((st, Move::End(end)));
                continue;
            };
            let routed = Pkt { packet: path.packet_out, ..pkt };
            st.hops.push(self.route_hop(&decision, place.clone(), &routed, true));
            st.hops.extend(after_routing.iter().cloned());
            if let Some((verdict, false)) = p.stopped {
                let mv = stop(&mut st, node, mode, verdict, path.packet_out);
                out.push((st, mv));
                continue;
            }
            let mut packet = p.packet;
            packet.mark = 0;
            let entry_made = st.conntrack.confirm(&node.name, &pkt.packet, &packet);
            let nat = if entry_made.is_nat() {
                "its NAT will be undone for the replies"
            } else {
                "no NAT here"
            };
            let mut ct = self.hop(
                HopKind::Conntrack,
                Actor::Kernel,
                place,
                &Pkt { packet, ..pkt },
                format!("conntrack: new connection `{entry_made}`: {nat}"),
            );
            ct.conntrack = Some(entry_made);
            st.hops.push(ct);
            let out_pkt = Pkt { packet, ..pkt };
            if decision.is_local() {
                out.push((st, Move::End(End::Local(Netns::Node(node), out_pkt))));
            } else {
                let mv = self.node_out(&mut st, node, &decision, out_pkt, veth, client);
                out.push((st, mv));
            }
        }
        out
    }

    pub(super) fn node_conntrack(
        &self,
        st: &mut FlowState,
        node: &'n NodeNetns,
        iface: Option<&'static str>,
        veth: Option<&'n str>,
        mut pkt: Pkt,
        client: Netns<'n>,
    ) -> Move<'n> {
        let place = Netns::Node(node).place();
        let before = pkt;
        let text = match pkt.message {
            Message::Icmp { error, quoted } => match st.conntrack.related(&node.name, &quoted) {
                Some((e, original)) => {
                    let text = format!(
                        "conntrack: the error relates to `{e}`: it goes to {}{}",
                        original.src,
                        if e.is_nat() { " and its quoted packet is un-NATed" } else { "" }
                    );
                    pkt.packet.dst = original.src;
                    pkt.message = Message::Icmp { error, quoted: original };
                    Some((text, e.clone()))
                }
                None => None,
            },
            _ => match st.conntrack.reply(&node.name, &pkt.packet) {
                Some((e, back)) => {
                    let mut changes = Vec::new();
                    if e.dnat {
                        changes.push(format!(
                            "source {} → {} (DNAT undone)",
                            side(pkt.packet.src, pkt.packet.sport),
                            side(back.src, back.sport)
                        ));
                    }
                    if e.snat {
                        changes.push(format!(
                            "destination {} → {} (SNAT undone)",
                            side(pkt.packet.dst, pkt.packet.dport),
                            side(back.dst, back.dport)
                        ));
                    }
                    let what = if changes.is_empty() {
                        "no NAT to undo".to_owned()
                    } else {
                        changes.join(", ")
                    };
                    let text = format!("conntrack: reply of `{e}`: {what}");
                    pkt.packet = back;
                    Some((text, e.clone()))
                }
                None => None,
            },
        };
        let mut hop = match text {
            Some((text, e)) => {
                let mut h =
                    self.hop(HopKind::Conntrack, Actor::Kernel, place.clone(), &before, text);
                h.conntrack = Some(e);
                h
            }
            None => self.hop(
                HopKind::Conntrack,
                Actor::Kernel,
                place.clone(),
                &before,
                "conntrack: no entry for it on this node: nothing to undo".to_owned(),
            ),
        };
        hop.after = pkt.packet;
        if let Some(i) = iface {
            hop.interface = Some(i.to_owned());
        }
        st.hops.push(hop);
        let dst = pkt.packet.dst;
        let Some(decision) = node.route(dst) else {
            st.hops.push(self.hop(
                HopKind::Drop,
                Actor::Kernel,
                place,
                &pkt,
                format!("no route to {dst}: dropped"),
            ));
            st.end(format!("{} has no route back to {dst}", node.name));
            return Move::End(End::Lost);
        };
        st.hops.push(self.route_hop(&decision, place, &pkt, true));
        if decision.is_local() {
            return Move::End(End::Local(Netns::Node(node), pkt));
        }
        self.node_out(st, node, &decision, pkt, veth, client)
    }
}

/// The end of a pass stopped by DROP or REJECT.
/// A rule without a comment is followed by what its chain is for.
fn stop<'n>(
    st: &mut FlowState,
    node: &'n NodeNetns,
    mode: Mode,
    verdict: Verdict,
    at: Packet,
) -> Move<'n> {
    let acted = st.hops.iter().rev().find_map(|h| h.rule.as_ref());
    let by = acted.filter(|r| !r.rule.is_empty()).map(|r| {
        let why = naming::fixed_chain_meaning(&r.chain, mode)
            .filter(|_| !r.rule.contains("comment"))
            .map(|m| format!(" ({}: {m})", r.chain))
            .unwrap_or_default();
        format!(" by `{}`{why}", r.rule)
    });
    let by = by.unwrap_or_default();
    match verdict {
        Verdict::Reject => {
            st.end(format!("kube-proxy's rules on {} rejected it{by}", node.name));
            Move::End(End::NodeError { node, error: IcmpError::PortUnreachable, quoted: at })
        }
        _ => {
            st.end(format!("kube-proxy's rules on {} dropped it{by}", node.name));
            Move::End(End::Lost)
        }
    }
}
