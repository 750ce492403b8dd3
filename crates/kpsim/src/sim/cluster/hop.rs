//! One hop of a cluster trace: where the packet is, what it looks like before and after,
//! what acted on it (a route, a kube-proxy rule, conntrack, a socket) and who that is
//! (kernel, CNI, kube-proxy, the application). The page draws these fields; the CLI prints
//! [`Hop::text`] as one line of the story.
//!
//! Not here: producing hops (the walk's) or printing a whole trace (the CLI's `story`).

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::sim::conntrack::ConntrackEntry;
use crate::sim::network::{RouteOrigin, TableId};
use crate::sim::trace::{Action, Hook, Packet, PacketProtocol};

/// Which way the packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the client toward the server.
    Request,
    /// Back toward the client (a reply, a reset or an ICMP error).
    Reply,
}

/// Who did what a hop shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    /// The program in the pod or on the node (a client, nginx, CoreDNS, the kubelet).
    Application,
    /// The Linux kernel: routing, conntrack, ARP, sockets.
    Kernel,
    /// The CNI plugin's plumbing: veths, the `cni0` bridge, the routes between nodes.
    Cni,
    /// kube-proxy's rules.
    KubeProxy,
    /// The network outside the nodes (minikube's docker network and its gateway).
    Network,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Application => "app",
            Actor::Kernel => "kernel",
            Actor::Cni => "CNI",
            Actor::KubeProxy => "kube-proxy",
            Actor::Network => "network",
        }
    }

    /// The actor behind a route.
    pub fn of_route(origin: RouteOrigin) -> Actor {
        match origin {
            RouteOrigin::Cni => Actor::Cni,
            RouteOrigin::Kernel => Actor::Kernel,
            RouteOrigin::NodeSetup => Actor::Network,
        }
    }
}

/// Where a hop happens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "place", rename_all = "kebab-case")]
pub enum Place {
    /// Inside a pod's network namespace.
    Pod { namespace: String, name: String, node: String },
    /// In a node's network namespace (hostNetwork pods included).
    Node { name: String },
    /// On the wire between nodes (minikube's docker network).
    Network,
    /// Beyond the default gateway, outside the simulated cluster.
    Outside,
}

/// `pod default/pod-client`, `node minikube`, `network`, `outside`.
impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Pod { namespace, name, .. } => write!(f, "{namespace}/{name}"),
            Place::Node { name } => write!(f, "{name}"),
            Place::Network => f.write_str("network"),
            Place::Outside => f.write_str("outside"),
        }
    }
}

/// The kind of ICMP error a packet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IcmpError {
    /// Nothing listens there, or a REJECT rule said so.
    PortUnreachable,
    /// Nobody answered ARP for the next hop.
    HostUnreachable,
    /// No route to the destination.
    NetUnreachable,
}

impl IcmpError {
    pub fn as_str(self) -> &'static str {
        match self {
            IcmpError::PortUnreachable => "ICMP port unreachable",
            IcmpError::HostUnreachable => "ICMP host unreachable",
            IcmpError::NetUnreachable => "ICMP network unreachable",
        }
    }
}

/// What the packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "message", rename_all = "kebab-case")]
pub enum Message {
    /// The client's first packet (TCP SYN, a UDP datagram, SCTP INIT, ICMP echo request).
    Request,
    /// The server's answer (SYN-ACK, a datagram, INIT-ACK, echo reply).
    Reply,
    /// TCP RST (SCTP ABORT): nothing listens on that port.
    Reset,
    /// An ICMP error about `quoted`, the packet that caused it.
    Icmp { error: IcmpError, quoted: Packet },
}

impl Message {
    /// `tcp SYN`, `udp datagram`, `ICMP echo reply`, `tcp RST`, `ICMP port unreachable`.
    pub fn describe(&self, protocol: PacketProtocol) -> String {
        let word = match (self, protocol) {
            (Message::Icmp { error, .. }, _) => return error.as_str().to_owned(),
            (Message::Request, PacketProtocol::Tcp) => "tcp SYN",
            (Message::Reply, PacketProtocol::Tcp) => "tcp SYN-ACK",
            (Message::Reset, PacketProtocol::Tcp) => "tcp RST",
            (Message::Request, PacketProtocol::Udp) => "udp datagram",
            (Message::Reply | Message::Reset, PacketProtocol::Udp) => "udp reply",
            (Message::Request, PacketProtocol::Sctp) => "sctp INIT",
            (Message::Reply, PacketProtocol::Sctp) => "sctp INIT-ACK",
            (Message::Reset, PacketProtocol::Sctp) => "sctp ABORT",
            (Message::Request, PacketProtocol::Icmp) => "ICMP echo request",
            (Message::Reply | Message::Reset, PacketProtocol::Icmp) => "ICMP echo reply",
        };
        word.to_owned()
    }
}

/// What a hop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopKind {
    /// A socket sends the packet.
    Send,
    /// A routing decision.
    Route,
    /// Through a veth pair or the bridge.
    Link,
    /// kube-proxy's rules on a node (one rule that acted, or a pass where none did).
    Netfilter,
    /// A conntrack entry made, or found and used to undo NAT.
    Conntrack,
    /// Across the network between nodes (or from outside to a node).
    Wire,
    /// Taken by a listening socket.
    Deliver,
    /// Answered with a reset or an ICMP error.
    Refuse,
    /// Dropped: nothing more happens to it.
    Drop,
    /// No neighbour answered ARP, or no route: an ICMP error is made.
    Unreachable,
    /// Leaves the cluster through the default gateway.
    Leave,
    /// The client's socket gets the answer.
    Receive,
}

/// The kube-proxy rule a hop shows, pointing into the node trace it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRef {
    /// Index into the flow's `node_traces`.
    pub trace: usize,
    /// Path of that trace (0 with a seed).
    pub path: usize,
    /// Index of the step in the path.
    pub step: usize,
    pub hook: Hook,
    pub table: String,
    pub chain: String,
    /// `None` for a chain policy.
    pub rule_index: Option<usize>,
    /// The rule text, as the ruleset renders it.
    pub rule: String,
    pub action: Option<Action>,
    /// The chains jumped through to get there, base chain first.
    pub chains: Vec<String>,
    /// For a DNAT: the chance that this endpoint was chosen.
    pub probability: Option<f64>,
}

/// A routing decision a hop shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteRef {
    pub table: TableId,
    /// The route as `ip route` prints it.
    pub route: String,
    pub origin: RouteOrigin,
    pub dev: String,
    /// The address the packet is handed to (the gateway, or the destination).
    pub next_hop: IpAddr,
}

/// One hop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    pub kind: HopKind,
    pub direction: Direction,
    pub actor: Actor,
    #[serde(flatten)]
    pub place: Place,
    /// The interface involved (in or out).
    pub interface: Option<String>,
    #[serde(flatten)]
    pub message: Message,
    pub before: Packet,
    pub after: Packet,
    pub rule: Option<RuleRef>,
    pub route: Option<RouteRef>,
    pub conntrack: Option<ConntrackEntry>,
    /// One sentence a learner can read.
    pub text: String,
}

impl Hop {
    /// A hop that leaves the packet as it is.
    pub fn new(
        kind: HopKind,
        direction: Direction,
        actor: Actor,
        place: Place,
        message: Message,
        packet: Packet,
        text: String,
    ) -> Hop {
        Hop {
            kind,
            direction,
            actor,
            place,
            interface: None,
            message,
            before: packet,
            after: packet,
            rule: None,
            route: None,
            conntrack: None,
            text,
        }
    }

    pub fn on(mut self, interface: impl Into<String>) -> Hop {
        self.interface = Some(interface.into());
        self
    }

    pub fn changed_to(mut self, after: Packet) -> Hop {
        self.after = after;
        self
    }
}

/// `[kube-proxy] minikube: DNAT …`.
impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.actor.as_str(), self.place, self.text)
    }
}
