//! Moving one packet through the network until it ends somewhere: a pod's routes and veth,
//! the bridge, the wire between nodes, the gateway. Random choices in a node pass fork the
//! walk. What happens inside a node's namespace (netfilter pass, conntrack, routing) is
//! `node`'s.
//!
//! What a packet that ended does next — a socket answering, an error going back, the client
//! judging the answer — is `exchange`'s. The node tracers are built once per session, for the
//! nodes a session visits.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::IpAddr;

use super::ClusterNetwork;
use super::hop::{Actor, Direction, Hop, HopKind, IcmpError, Message, Place, RouteRef};
use crate::backend::Ruleset;
use crate::net::{Cidr, IpFamily, join_host_port};
use crate::sim::conntrack::Conntrack;
use crate::sim::network::{BRIDGE, Decision, NodeNetns, PodNetns, RouteOrigin, TableId, UPLINK};
use crate::sim::trace::{Choices, Entry, Packet, SeededRng, Trace, TracePath, Verdict};
use crate::sim::{iptables, nftables};

/// A walk longer than this many moves is cut as a routing loop.
const MAX_MOVES: usize = 64;

/// A node's tracer, built on first use.
enum NodeTracer<'n> {
    Iptables(iptables::Tracer<'n>),
    Nftables(nftables::Tracer<'n>),
}

/// One request's worth of state shared by its flows: the network and the node tracers.
pub(crate) struct Session<'n> {
    pub net: &'n ClusterNetwork,
    tracers: RefCell<BTreeMap<(String, IpFamily), NodeTracer<'n>>>,
    /// Flows of the current connection (forks stop at [`super::MAX_FLOWS`]).
    pub(super) flows: Cell<usize>,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("flows", &self.flows.get()).finish_non_exhaustive()
    }
}

/// Where a network namespace is: a pod's, a node's, or outside the cluster.
#[derive(Debug, Clone, Copy)]
pub(super) enum Netns<'n> {
    Pod(&'n PodNetns),
    Node(&'n NodeNetns),
    Outside(IpAddr),
}

impl Netns<'_> {
    pub fn place(&self) -> Place {
        match self {
            Netns::Pod(p) => Place::Pod {
                namespace: p.pod.namespace.clone(),
                name: p.pod.name.clone(),
                node: p.node.clone(),
            },
            Netns::Node(n) => Place::Node { name: n.name.clone() },
            Netns::Outside(_) => Place::Outside,
        }
    }

    pub fn same(&self, other: &Netns<'_>) -> bool {
        match (self, other) {
            (Netns::Pod(a), Netns::Pod(b)) => a.pod == b.pod,
            (Netns::Node(a), Netns::Node(b)) => a.name == b.name,
            (Netns::Outside(a), Netns::Outside(b)) => a == b,
            _ => false,
        }
    }
}

/// A packet on its way, with what it carries and which way it goes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pkt {
    pub packet: Packet,
    pub message: Message,
    pub direction: Direction,
}

/// Where a packet is about to be processed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Position<'n> {
    /// Leaving a pod's stack.
    PodSends(&'n PodNetns),
    /// Made by the node itself.
    NodeSends(&'n NodeNetns),
    /// Arriving on a node interface (`veth`: the pod veth it came from).
    NodeArrives { node: &'n NodeNetns, iface: &'static str, veth: Option<&'n str> },
    /// Arriving in a pod from its veth.
    PodArrives(&'n PodNetns),
    /// Sent by a client outside the cluster.
    FromOutside,
}

/// Where a packet's walk ended.
#[derive(Debug, Clone, Copy)]
pub(super) enum End<'n> {
    /// At a namespace's own address: its sockets decide.
    Local(Netns<'n>, Pkt),
    /// Beyond the gateway, or at the outside client on the node network.
    Outside(Pkt),
    /// A node answers with an ICMP error about `quoted` (REJECT, no ARP answer, no route).
    NodeError { node: &'n NodeNetns, error: IcmpError, quoted: Packet },
    /// The sender's own kernel fails it at once (no route, no ARP answer in the pod).
    SenderError(IcmpError),
    /// Dropped or looping: nothing more happens.
    Lost,
}

/// A flow being walked.
#[derive(Debug, Clone, Default)]
pub(super) struct FlowState {
    pub hops: Vec<Hop>,
    pub traces: Vec<Trace>,
    pub conntrack: Conntrack,
    pub probability: f64,
    pub(super) passes: usize,
    moves: usize,
    /// Why the flow ended as it did, in words (set where it ends).
    pub reason: Option<String>,
}

impl FlowState {
    pub fn new() -> FlowState {
        FlowState { probability: 1.0, ..FlowState::default() }
    }

    pub(super) fn end(&mut self, why: String) {
        if self.reason.is_none() {
            self.reason = Some(why);
        }
    }
}

pub(super) enum Move<'n> {
    To(Position<'n>, Pkt),
    End(End<'n>),
}

enum Work<'n> {
    Go(FlowState, Position<'n>, Pkt),
    Done(FlowState, End<'n>),
}

/// The seed of the k-th node pass: the request's own for the first, derived ones after.
pub(super) fn pass_choices(choices: Choices, k: usize) -> Choices {
    match choices {
        Choices::Seed(s) if k > 0 => Choices::Seed(
            SeededRng::new(s ^ (k as u64).wrapping_mul(0xA24B_AED4_963E_E407)).next_u64(),
        ),
        c => c,
    }
}

pub(super) fn side(ip: IpAddr, port: Option<u16>) -> String {
    match port {
        Some(p) => join_host_port(ip, p),
        None => ip.to_string(),
    }
}

fn no_path(packet: Packet) -> TracePath {
    TracePath {
        probability: 1.0,
        steps: Vec::new(),
        verdict: Verdict::None,
        dnat: None,
        masquerade: false,
        packet_out: packet,
    }
}

impl<'n> Session<'n> {
    pub fn new(net: &'n ClusterNetwork) -> Session<'n> {
        Session { net, tracers: RefCell::new(BTreeMap::new()), flows: Cell::new(1) }
    }

    /// Starts counting the flows of a new connection.
    pub fn reset_flows(&self) {
        self.flows.set(1);
    }

    pub(super) fn node_trace(
        &self,
        node: &str,
        packet: Packet,
        entry: Entry,
        choices: Choices,
    ) -> Trace {
        let family = IpFamily::of(packet.dst);
        let key = (node.to_owned(), family);
        let Some(rules) = self.net.rules(node, family) else {
            return Trace {
                node: node.to_owned(),
                mode: self.net.experiments.mode,
                entry,
                packet,
                paths: vec![no_path(packet)],
            };
        };
        // Only the node's own pods come in and go out on cni0; other nodes' pods are behind
        // eth0 (host-gw routes).
        let pod_cidrs = || -> Vec<Cidr> {
            self.net
                .network
                .node(node)
                .and_then(|n| n.interface(BRIDGE))
                .map(|i| i.addrs.iter().map(|a| a.network()).collect())
                .unwrap_or_default()
        };
        let mut tracers = self.tracers.borrow_mut();
        let tracer = tracers.entry(key).or_insert_with(|| match &rules.ruleset {
            Ruleset::Iptables(r) => {
                let mut nn = iptables::NodeNetwork::from_settings(&rules.settings);
                nn.pod_cidrs = pod_cidrs();
                NodeTracer::Iptables(iptables::Tracer::new(r, nn))
            }
            Ruleset::Nftables(r) => NodeTracer::Nftables(nftables::Tracer::new(r, &rules.settings)),
            Ruleset::Ipvs(r) => {
                // The iptables tracer over the IPVS skeleton, with kube-ipvs0's addresses
                // local and the IPVS stage (`sim::ipvs`).
                let mut nn = crate::sim::ipvs::node_network(r, &rules.settings);
                nn.pod_cidrs = pod_cidrs();
                NodeTracer::Iptables(iptables::Tracer::for_ipvs(&r.kernel, r, nn))
            }
        });
        let mut trace = match tracer {
            NodeTracer::Iptables(t) => t.trace_from(packet, entry, choices),
            NodeTracer::Nftables(t) => t.trace(packet, entry, choices),
        };
        if trace.paths.is_empty() {
            trace.paths.push(no_path(packet));
        }
        trace
    }

    /// Walks `pkt` from `start` to wherever it ends, one result per flow.
    pub fn travel(
        &self,
        st: FlowState,
        start: Position<'n>,
        pkt: Pkt,
        choices: Choices,
        client: Netns<'n>,
    ) -> Vec<(FlowState, End<'n>)> {
        let mut work = vec![Work::Go(st, start, pkt)];
        let mut done = Vec::new();
        while let Some(item) = work.pop() {
            let (mut st, pos, pkt) = match item {
                Work::Done(st, end) => {
                    done.push((st, end));
                    continue;
                }
                Work::Go(st, pos, pkt) => (st, pos, pkt),
            };
            st.moves += 1;
            if st.moves > MAX_MOVES {
                st.end("the packet went around in circles (a routing loop) until dropped".into());
                done.push((st, End::Lost));
                continue;
            }
            let moves: Vec<(FlowState, Move<'n>)> = match (pos, pkt.direction) {
                (Position::PodSends(pod), _) => {
                    let mv = self.pod_sends(&mut st, pod, pkt);
                    vec![(st, mv)]
                }
                (Position::PodArrives(pod), _) => {
                    let mv = self.pod_arrives(&mut st, pod, pkt);
                    vec![(st, mv)]
                }
                (Position::FromOutside, _) => {
                    let mv = self.outside_sends(&mut st, pkt);
                    vec![(st, mv)]
                }
                (Position::NodeArrives { node, veth, .. }, Direction::Request) => {
                    self.node_pass(st, node, Entry::Arriving, veth, pkt, choices, client)
                }
                (Position::NodeArrives { node, iface, veth }, Direction::Reply) => {
                    let mv = self.node_conntrack(&mut st, node, Some(iface), veth, pkt, client);
                    vec![(st, mv)]
                }
                (Position::NodeSends(node), Direction::Request) => {
                    self.node_pass(st, node, Entry::Local, None, pkt, choices, client)
                }
                (Position::NodeSends(node), Direction::Reply) => {
                    let mv = self.node_conntrack(&mut st, node, None, None, pkt, client);
                    vec![(st, mv)]
                }
            };
            for (st, mv) in moves.into_iter().rev() {
                work.push(match mv {
                    Move::To(p, k) => Work::Go(st, p, k),
                    Move::End(e) => Work::Done(st, e),
                });
            }
        }
        done
    }

    pub(super) fn hop(
        &self,
        kind: HopKind,
        actor: Actor,
        place: Place,
        pkt: &Pkt,
        text: String,
    ) -> Hop {
        Hop::new(kind, pkt.direction, actor, place, pkt.message, pkt.packet, text)
    }

    /// The routing decision `d` for the packet's destination as a hop, told by the route's
    /// owner (the CNI, the kernel, the network); `on_node` says which node routes are the
    /// CNI's host-gw routes to whose pods.
    pub(super) fn route_hop(&self, d: &Decision, place: Place, pkt: &Pkt, on_node: bool) -> Hop {
        let dst = pkt.packet.dst;
        let text = route_text(d, dst, on_node.then_some(self));
        let mut hop = self.hop(HopKind::Route, Actor::of_route(d.route.origin), place, pkt, text);
        hop.route = Some(route_ref(d, dst));
        hop
    }

    /// The CNI moves the packet through a pod's veth (either way).
    fn veth_hop(place: Place, pkt: &Pkt, veth: &str, text: String) -> Hop {
        Hop::new(HopKind::Link, pkt.direction, Actor::Cni, place, pkt.message, pkt.packet, text)
            .on(veth.to_owned())
    }

    fn pod_sends(&self, st: &mut FlowState, pod: &'n PodNetns, pkt: Pkt) -> Move<'n> {
        let dst = pkt.packet.dst;
        let place = Netns::Pod(pod).place();
        let request = pkt.direction == Direction::Request;
        let Some(d) = pod.route(dst) else {
            st.hops.push(self.hop(
                HopKind::Unreachable,
                Actor::Kernel,
                place,
                &pkt,
                format!("no route to {dst}: Network is unreachable"),
            ));
            st.end(format!("the pod has no route to {dst}"));
            return Move::End(if request {
                End::SenderError(IcmpError::NetUnreachable)
            } else {
                End::Lost
            });
        };
        st.hops.push(self.route_hop(&d, place.clone(), &pkt, false));
        if d.is_local() {
            return Move::End(End::Local(Netns::Pod(pod), pkt));
        }
        let node = self.net.network.node(&pod.node);
        let on_link = d.route.via.is_none();
        let neighbour = node.is_some_and(|n| {
            n.address_on(BRIDGE, IpFamily::of(dst)) == Some(dst)
                || self.net.network.pod_on_bridge(&pod.node, dst).is_some()
        });
        let Some(node) = node.filter(|_| !on_link || neighbour) else {
            st.hops.push(
                self.hop(
                    HopKind::Unreachable,
                    Actor::Kernel,
                    place,
                    &pkt,
                    format!("nobody answers ARP for {dst} on eth0: No route to host"),
                )
                .on("eth0"),
            );
            st.end(format!("nobody on the pod's network has {dst}"));
            return Move::End(if request {
                End::SenderError(IcmpError::HostUnreachable)
            } else {
                End::Lost
            });
        };
        let how = if on_link {
            "bridged by cni0, whose netfilter hooks still see it (br_netfilter)"
        } else {
            "to its gateway, the node's cni0"
        };
        st.hops.push(Self::veth_hop(
            place,
            &pkt,
            &pod.veth,
            format!("eth0 → {} → cni0 on {}: {how}", pod.veth, node.name),
        ));
        Move::To(Position::NodeArrives { node, iface: BRIDGE, veth: Some(pod.veth.as_str()) }, pkt)
    }

    fn pod_arrives(&self, st: &mut FlowState, pod: &'n PodNetns, pkt: Pkt) -> Move<'n> {
        if pod.route(pkt.packet.dst).is_some_and(|d| d.is_local()) {
            return Move::End(End::Local(Netns::Pod(pod), pkt));
        }
        st.hops.push(self.hop(
            HopKind::Drop,
            Actor::Kernel,
            Netns::Pod(pod).place(),
            &pkt,
            format!("{} is not this pod's address: dropped", pkt.packet.dst),
        ));
        st.end(format!("{} is not the pod's address", pkt.packet.dst));
        Move::End(End::Lost)
    }

    /// The node an outside client's packet reaches: the node owning the address, or for an
    /// externalIP / load-balancer address the first node (kpsim's stand-in for the router or
    /// cloud load balancer that picks one).
    fn entry_node(&self, dst: IpAddr) -> Option<(&'n NodeNetns, &'static str)> {
        if let Some(n) = self.net.network.node_on_uplink(dst) {
            return Some((n, "its own address"));
        }
        let service_ip = self.net.cluster.services.values().any(|s| {
            s.external_ips.contains(&dst)
                || s.load_balancer_ingress.iter().any(|i| i.ip == Some(dst))
        });
        if service_ip {
            return self.net.network.nodes.first().map(|n| {
                (n, "an external or load-balancer IP: the router picks a node (kpsim: the first)")
            });
        }
        None
    }

    fn outside_sends(&self, st: &mut FlowState, pkt: Pkt) -> Move<'n> {
        let dst = pkt.packet.dst;
        let Some((node, why)) = self.entry_node(dst) else {
            let what = self.address_kind(dst);
            st.hops.push(self.hop(
                HopKind::Drop,
                Actor::Network,
                Place::Outside,
                &pkt,
                format!("nothing outside the cluster routes {dst}{what}"),
            ));
            st.end(format!("nothing outside the cluster routes {dst}{what}"));
            return Move::End(End::Lost);
        };
        let src = pkt.packet.src;
        let via = if self.net.network.on_node_network(src) {
            "on the node network".to_owned()
        } else {
            match self.net.network.gateways().first() {
                Some(gw) => format!("through the gateway {gw}"),
                None => "through the network".to_owned(),
            }
        };
        st.hops.push(
            self.hop(
                HopKind::Wire,
                Actor::Network,
                Place::Outside,
                &pkt,
                format!("{src} → {}'s eth0 {via} ({dst} is {why})", node.name),
            )
            .on("eth0"),
        );
        Move::To(Position::NodeArrives { node, iface: UPLINK, veth: None }, pkt)
    }

    /// `: a ClusterIP …` — why an address is not routed outside the nodes.
    pub fn address_kind(&self, ip: IpAddr) -> String {
        let c = &self.net.cluster;
        if let Some(s) =
            c.services.values().find(|s| s.cluster_ip.value.of_family(IpFamily::of(ip)) == Some(ip))
        {
            return format!(
                " ({ip} is the ClusterIP of {}/{}: only kube-proxy's rules on the nodes know it)",
                s.namespace, s.name
            );
        }
        if c.service_cidrs.iter().any(|s| s.contains(ip)) {
            return format!(
                " ({ip} is in the service CIDR: only kube-proxy's rules on the nodes know ClusterIPs)"
            );
        }
        if c.pod_cidrs.iter().any(|p| p.contains(ip)) {
            return format!(" ({ip} is a pod address: only the nodes route pod CIDRs)");
        }
        String::new()
    }

    pub(super) fn node_out(
        &self,
        st: &mut FlowState,
        node: &'n NodeNetns,
        decision: &Decision,
        pkt: Pkt,
        from_veth: Option<&'n str>,
        client: Netns<'n>,
    ) -> Move<'n> {
        let dst = pkt.packet.dst;
        let next = decision.route.next_hop(dst);
        let place = Netns::Node(node).place();
        let request = pkt.direction == Direction::Request;
        let unreachable = |st: &mut FlowState, dev: &str| {
            st.hops.push(
                self.hop(
                    HopKind::Unreachable,
                    Actor::Kernel,
                    place.clone(),
                    &pkt,
                    format!(
                        "nobody answers ARP for {next} on {dev}: the packet cannot be delivered"
                    ),
                )
                .on(dev.to_owned()),
            );
            st.end(format!("nobody has {next} on {}'s {dev} (no ARP answer)", node.name));
            if request {
                Move::End(End::NodeError {
                    node,
                    error: IcmpError::HostUnreachable,
                    quoted: pkt.packet,
                })
            } else {
                Move::End(End::Lost)
            }
        };
        match decision.route.dev.as_str() {
            BRIDGE => match self.net.network.pod_on_bridge(&node.name, next) {
                Some(p) => {
                    let hairpin = if from_veth == Some(p.veth.as_str()) {
                        " (hairpin: back out of the veth it came in on)"
                    } else {
                        ""
                    };
                    st.hops.push(Self::veth_hop(
                        place,
                        &pkt,
                        &p.veth,
                        format!("cni0 → {} → eth0 of {}{hairpin}", p.veth, p.pod),
                    ));
                    Move::To(Position::PodArrives(p), pkt)
                }
                None => unreachable(st, BRIDGE),
            },
            UPLINK => {
                if let Some(other) =
                    self.net.network.node_on_uplink(next).filter(|o| o.name != node.name)
                {
                    st.hops.push(
                        self.hop(
                            HopKind::Wire,
                            Actor::Network,
                            Place::Network,
                            &pkt,
                            format!(
                                "{} eth0 → {} eth0 over the node network",
                                node.name, other.name
                            ),
                        )
                        .on("eth0"),
                    );
                    return Move::To(
                        Position::NodeArrives { node: other, iface: UPLINK, veth: None },
                        pkt,
                    );
                }
                let to_client = matches!(client, Netns::Outside(ip) if ip == dst);
                if self.net.network.gateways().contains(&next) {
                    let why = if to_client {
                        " toward the client outside the cluster".to_owned()
                    } else {
                        format!(
                            ": nothing in the simulated network answers{}",
                            self.address_kind(dst)
                        )
                    };
                    st.hops.push(
                        self.hop(
                            HopKind::Leave,
                            Actor::Network,
                            place,
                            &pkt,
                            format!("leaves the cluster through the gateway {next}{why}"),
                        )
                        .on("eth0"),
                    );
                    if !to_client {
                        st.end(format!(
                            "the packet left the cluster through {next}{}",
                            self.address_kind(dst)
                        ));
                    }
                    return Move::End(End::Outside(pkt));
                }
                if to_client && next == dst {
                    st.hops.push(
                        self.hop(
                            HopKind::Wire,
                            Actor::Network,
                            Place::Network,
                            &pkt,
                            format!("{} eth0 → the client {dst} on the node network", node.name),
                        )
                        .on("eth0"),
                    );
                    return Move::End(End::Outside(pkt));
                }
                unreachable(st, UPLINK)
            }
            dev => unreachable(st, dev),
        }
    }
}

pub(super) fn route_ref(d: &Decision, dst: IpAddr) -> RouteRef {
    RouteRef {
        table: d.table,
        route: d.route.to_string(),
        origin: d.route.origin,
        dev: d.route.dev.clone(),
        next_hop: d.route.next_hop(dst),
    }
}

/// `main table: `10.244.1.0/24 via 192.168.49.3 dev eth0` (the CNI's route to
/// minikube-m02's pods)`.
pub(super) fn route_text(d: &Decision, dst: IpAddr, session: Option<&Session<'_>>) -> String {
    let why = match (d.table, d.route.origin) {
        (TableId::Local, _) => format!("{dst} is a local address: delivered here"),
        (_, RouteOrigin::Cni) if d.route.is_default() => {
            "the pod's default route, set by the CNI".to_owned()
        }
        (_, RouteOrigin::Cni) => {
            let owner = session
                .zip(d.route.via)
                .and_then(|(s, via)| s.net.network.node_on_uplink(via))
                .map(|n| format!(" to {}'s pods", n.name))
                .unwrap_or_default();
            format!("the CNI's host-gw route{owner}")
        }
        (_, RouteOrigin::NodeSetup) => "the default route: off the cluster".to_owned(),
        (_, RouteOrigin::Kernel) => format!("{dst} is on {}'s link", d.route.dev),
    };
    format!("{} table: `{}` ({why})", d.table.as_str(), d.route)
}
