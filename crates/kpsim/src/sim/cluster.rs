//! The cluster trace: a connection from a source (a pod, a node, a client outside) to a
//! target (a Service, a DNS name, a pod, a node, an IP), followed hop by hop through the
//! network model ([`crate::sim::network`]), every node's kube-proxy rules (the node tracers),
//! conntrack ([`crate::sim::conntrack`]) and back, with the walkthrough's experiments as
//! switches ([`Experiments`]).
//!
//! The request: the source's socket sends the first packet; a pod routes it (`default via
//! <cni0>`) through its veth into its node's `cni0`; every node it reaches runs its netfilter
//! hooks (the node tracer, `Entry::Arriving`; `Entry::Local` for a node's own packets), routes
//! on the (possibly DNATed) destination — `local` table, then `main`: its own pod CIDR via
//! `cni0`, other nodes' pod CIDRs via their InternalIP (the CNI's host-gw routes), `default
//! via` the gateway —, masquerades to the out interface's address when a rule said so, and
//! records the connection in its conntrack table. The packet then crosses the wire to the next
//! node, a veth into a pod, or the gateway out of the cluster.
//!
//! It ends at a socket (a pod listening on the port — any port when the pod declares no
//! container ports, as kpsim cannot know better —, or a node socket: the kubelet, the API
//! server, kube-proxy's health checks, hostNetwork pods), or it is refused (REJECT, a TCP
//! reset from a pod without the port, an ICMP port unreachable for UDP), unreachable (no ARP
//! answer: an ICMP host unreachable comes back), or lost (dropped, or gone through the gateway
//! where nothing answers: a timeout). Replies, resets and ICMP errors come back hop by hop;
//! every node that tracked the connection undoes its NAT (errors are matched by the packet
//! they quote), so the client sees the address it connected to as the source — or, if it does
//! not, ignores the reply and times out.
//!
//! Names are resolved as the source would: a pod asks cluster DNS (its `resolv.conf`, search
//! path and `ndots:5`), and the query itself is traced to a CoreDNS pod and back as a
//! sub-trace; nodes and outside clients use the host's resolver, which knows the node names
//! (minikube's docker network DNS) and no cluster names. A ClusterIP or `svc/ns/name` never
//! needs DNS.
//!
//! Random load balancing follows [`Choices`]: with a seed, the first node pass draws from
//! exactly that seed (as `kpsim trace --seed` on one node does) and later passes from seeds
//! derived from it; with all branches, each random choice forks the flow (at most
//! [`MAX_FLOWS`] flows; a DNS query is always seeded). [`ClusterNetwork`] holds what does not
//! depend on the request (the network, every node's ruleset), so a page can build it once and
//! trace many times.

mod exchange;
pub mod hop;
mod netfilter;
mod node;
mod request;
mod resolve;
mod setup;
mod sockets;
mod story;
mod walk;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use serde::Serialize;

use crate::backend::Ruleset;
use crate::model::Cluster;
use crate::net::IpFamily;
use crate::settings::{Mode, ProxySettings};
use crate::sim::conntrack::ConntrackEntry;
use crate::sim::dns::{Query, ResolvConf};
use crate::sim::network::Network;
use crate::sim::trace::{Choices, Packet, PacketProtocol, Trace};

pub use hop::{Actor, Direction, Hop, HopKind, IcmpError, Message, Place, RouteRef, RuleRef};
pub use request::{Source, Target, TraceError};
pub use setup::{Experiments, KubeProxy, KubeProxyState};

/// At most this many flows with all branches; further random choices take their first branch.
pub const MAX_FLOWS: usize = 64;

/// How a connection ended, as the client experiences it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The server got the request and its reply reached the client.
    Delivered,
    /// REJECT, a TCP reset, an ICMP port unreachable: "Connection refused".
    Refused,
    /// An ICMP host or network unreachable, or a name that does not resolve.
    Unreachable,
    /// Dropped or black-holed: nothing ever answers.
    Timeout,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Refused => "refused",
            Outcome::Unreachable => "unreachable",
            Outcome::Timeout => "timeout",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a peer of the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerKind {
    Pod,
    Node,
    /// A client outside the cluster.
    External,
}

/// The source, resolved against the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    pub kind: PeerKind,
    /// `default/pod-client`, `minikube`, `203.0.113.7`.
    pub name: String,
    /// The node it runs on (pods and nodes).
    pub node: Option<String>,
    /// A pod in its node's network namespace.
    pub host_network: bool,
    /// Its addresses (pod IPs, node InternalIPs, the outside client's address).
    pub ips: Vec<IpAddr>,
}

impl Peer {
    /// `pod default/pod-client`, `node minikube`, `outside client 203.0.113.7`.
    pub fn describe(&self) -> String {
        match self.kind {
            PeerKind::Pod => format!("pod {}", self.name),
            PeerKind::Node => format!("node {}", self.name),
            PeerKind::External => format!("outside client {}", self.name),
        }
    }
}

/// What the target turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Service,
    Pod,
    Node,
    Ip,
    /// A host name, resolved by DNS.
    Name,
}

/// The target, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedTarget {
    /// As written (`service`, `svc/default/service`, `10.96.0.10`).
    pub asked: String,
    pub kind: TargetKind,
    /// The object it names or resolved to (`default/service`), if any.
    pub name: Option<String>,
    /// The address connected to; `None` when the name did not resolve.
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
    /// The Service port the connection is for (`default/service:http`), if any.
    pub service_port: Option<String>,
}

/// How a source resolves names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "resolver", rename_all = "kebab-case")]
pub enum Resolver {
    /// A pod: cluster DNS through its resolv.conf.
    ClusterDns { resolv_conf: ResolvConf },
    /// A node, a hostNetwork pod or an outside client: the host's resolver.
    Host,
}

/// A name lookup, with the query traced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsLookup {
    pub name: String,
    #[serde(flatten)]
    pub resolver: Resolver,
    /// The queries answered, in order (empty when no answer came back).
    pub queries: Vec<Query>,
    /// The first query's trip to the nameserver and back (each query takes the same path).
    pub exchange: Option<Box<Flow>>,
    /// The addresses the name resolved to (the client uses the first).
    pub addresses: Vec<IpAddr>,
    /// Why the name did not resolve, as the client would say it and why.
    pub failure: Option<String>,
}

/// One way a connection went (one per random branch with all branches; one with a seed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    /// The chance of this flow (the product of the random choices on it).
    pub probability: f64,
    /// The first packet as the client sends it.
    pub packet: Packet,
    pub outcome: Outcome,
    /// `ns/pod` (or `node/<name>` for a node's own socket) that answered, if any.
    pub delivered_to: Option<String>,
    /// The outcome in one sentence.
    pub summary: String,
    pub hops: Vec<Hop>,
    /// Every node pass, in order; hops point into them ([`RuleRef::trace`]).
    pub node_traces: Vec<Trace>,
    /// The conntrack entries the connection left, node by node.
    pub conntrack: Vec<ConntrackEntry>,
}

/// A traced connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterTrace {
    pub mode: Mode,
    pub source: Peer,
    pub target: ResolvedTarget,
    pub protocol: PacketProtocol,
    /// The name lookup, when the target was a name.
    pub dns: Option<DnsLookup>,
    /// The outcome (with several flows: delivered if any flow was, else the first flow's).
    pub outcome: Outcome,
    pub delivered_to: Option<String>,
    /// The outcome in one sentence.
    pub summary: String,
    /// The connection's flows; empty when the name did not resolve.
    pub flows: Vec<Flow>,
}

impl ClusterTrace {
    /// The hops of the first flow (the only one with a seed).
    pub fn hops(&self) -> &[Hop] {
        self.flows.first().map(|f| f.hops.as_slice()).unwrap_or(&[])
    }

    /// The first flow's first node pass, if any: the node-level view of the connection.
    pub fn first_node_trace(&self) -> Option<&Trace> {
        self.flows.first().and_then(|f| f.node_traces.first())
    }
}

/// N connections with seeds 0..N-1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Distribution {
    pub connections: usize,
    /// Connections answered, by who answered (`ns/pod`).
    pub delivered: BTreeMap<String, usize>,
    /// Connections by outcome.
    pub outcomes: BTreeMap<Outcome, usize>,
}

/// What to trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceRequest {
    pub from: Source,
    pub to: Target,
    /// The destination port (default: the Service's first port; required for other TCP, UDP
    /// and SCTP targets).
    pub port: Option<u16>,
    /// Default: the Service port's protocol, else TCP.
    pub protocol: Option<PacketProtocol>,
    pub choices: Choices,
}

impl TraceRequest {
    /// A request from `--from`/`--to` spellings (`to` may carry `:PORT`), seed 0.
    ///
    /// ```
    /// use kpsim::sim::cluster::{Source, Target, TraceRequest};
    /// let r = TraceRequest::parse("pod-client", "service:8080").unwrap();
    /// assert_eq!(r.from, Source::Name { name: "pod-client".into() });
    /// assert_eq!((r.to, r.port), (Target::Name { name: "service".into() }, Some(8080)));
    /// let r = TraceRequest::parse("node/minikube", "[fd00::1]:80").unwrap();
    /// assert_eq!(r.to, Target::Ip { ip: "fd00::1".parse().unwrap() });
    /// ```
    pub fn parse(from: &str, to: &str) -> Result<TraceRequest, TraceError> {
        let from = Source::parse(from)?;
        let (to, port) = Target::parse(to)?;
        Ok(TraceRequest { from, to, port, protocol: None, choices: Choices::Seed(0) })
    }
}

/// The rules of one node for one family, and the kube-proxy state they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRules {
    pub settings: ProxySettings,
    pub ruleset: Ruleset,
    pub kube_proxy: setup::KubeProxyState,
}

/// Everything a trace needs that does not depend on the request: the cluster as the
/// experiments make it, its network, and every node's ruleset. Build it once, trace many
/// times.
///
/// A node's ruleset is built the first time a trace (or [`ClusterNetwork::rules`]) needs it:
/// a connection crosses one or two nodes, and a large cluster's rules are the costly part.
#[derive(Debug, Clone)]
pub struct ClusterNetwork {
    cluster: Cluster,
    experiments: Experiments,
    network: Network,
    /// Every (node, family) that has rules; each built on first use.
    rules: BTreeMap<(String, IpFamily), OnceLock<NodeRules>>,
}

impl ClusterNetwork {
    /// Lays out the network under `experiments`; each node's ruleset is built when first
    /// needed.
    pub fn new(cluster: &Cluster, experiments: &Experiments) -> Result<ClusterNetwork, TraceError> {
        setup::prepare(cluster, experiments)
    }

    /// The cluster as the experiments make it (not-ready pods applied).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn experiments(&self) -> &Experiments {
        &self.experiments
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The rules a node holds for a family (built on first use).
    pub fn rules(&self, node: &str, family: IpFamily) -> Option<&NodeRules> {
        let lazy = self.rules.get(&(node.to_owned(), family))?;
        Some(lazy.get_or_init(|| {
            setup::node_rules(
                &self.cluster,
                node,
                family,
                self.experiments.mode,
                self.experiments.kube_proxy_of(node),
            )
        }))
    }

    /// Traces one connection.
    ///
    /// ```
    /// use kpsim::sim::cluster::{ClusterNetwork, Experiments, Outcome, TraceRequest};
    /// let analysis = kpsim::analyze(include_str!("../../tests/data/examples/kube-proxy.yaml"), Default::default());
    /// let net = ClusterNetwork::new(&analysis.cluster, &Experiments::default()).unwrap();
    /// let trace = net.trace(&TraceRequest::parse("pod-client", "service:8080").unwrap()).unwrap();
    /// assert_eq!(trace.outcome, Outcome::Delivered);
    /// assert!(trace.delivered_to.as_deref().unwrap_or_default().starts_with("default/server-pod-"));
    /// // The story, hop by hop, as `kpsim trace` prints it.
    /// assert!(trace.to_string().contains("DNAT 10.100.253.115:8080 → 10.244."));
    /// // The reply comes from the ClusterIP, as the client expects.
    /// let last = trace.hops().last().unwrap();
    /// assert_eq!(last.after.src, trace.target.ip.unwrap());
    /// ```
    pub fn trace(&self, request: &TraceRequest) -> Result<ClusterTrace, TraceError> {
        let session = walk::Session::new(self);
        resolve::trace(&session, request)
    }

    /// Traces `n` connections with seeds 0..n-1 and counts who answered.
    pub fn distribution(
        &self,
        request: &TraceRequest,
        n: usize,
    ) -> Result<Distribution, TraceError> {
        let session = walk::Session::new(self);
        let mut out =
            Distribution { connections: n, delivered: BTreeMap::new(), outcomes: BTreeMap::new() };
        for seed in 0..n {
            let mut r = request.clone();
            r.choices = Choices::Seed(seed as u64);
            let t = resolve::trace(&session, &r)?;
            *out.outcomes.entry(t.outcome).or_default() += 1;
            if let Some(d) = t.delivered_to {
                *out.delivered.entry(d).or_default() += 1;
            }
        }
        Ok(out)
    }
}

/// Traces one connection through `cluster` under `experiments` (see [`ClusterNetwork`] to
/// trace many).
pub fn trace(
    cluster: &Cluster,
    experiments: &Experiments,
    request: &TraceRequest,
) -> Result<ClusterTrace, TraceError> {
    ClusterNetwork::new(cluster, experiments)?.trace(request)
}

/// `n` connections with seeds 0..n-1: who answered how often.
pub fn distribution(
    cluster: &Cluster,
    experiments: &Experiments,
    request: &TraceRequest,
    n: usize,
) -> Result<Distribution, TraceError> {
    ClusterNetwork::new(cluster, experiments)?.distribution(request, n)
}
