//! The iptables tracer: one packet of a NEW connection through one node's typed ruleset, hook
//! by hook, as netfilter walks it.
//!
//! Hook order (raw, mangle and security tables only when the ruleset has them):
//! * **arriving** (from a pod or from outside): PREROUTING (raw, mangle, nat) → routing on the
//!   post-DNAT destination → local: INPUT (mangle, filter, security, nat) / else: FORWARD
//!   (mangle, filter, security) → POSTROUTING (mangle, nat);
//! * **local** (the source is one of the node's addresses, `127.0.0.1`/`::1` included): OUTPUT
//!   (raw, mangle, nat, filter, security) → POSTROUTING (mangle, nat) → when the post-DNAT
//!   destination is local, back in over `lo`: PREROUTING (raw, mangle) and INPUT (mangle,
//!   filter, security). The nat table is not consulted again: conntrack already holds the
//!   connection's NAT decision.
//!
//! Interfaces: a packet arriving from a pod CIDR (the local-traffic detector's CIDR, or the
//! network of the node's `cni0`) comes in on the pod interface (`cni0`, the detector's bridge,
//! or `<prefix>0` for an interface-prefix detector), anything else on the uplink (`eth0`). It
//! leaves on the pod interface when its destination is in a pod CIDR, else on the uplink.
//!
//! Verdicts: DROP and REJECT (and a DROP policy) end the path. A DNAT (or MASQUERADE/SNAT)
//! ends the nat table's walk of that hook. ACCEPT ends the table's walk of that hook; in the
//! filter table it makes the path's verdict `accept` only when the packet was not DNATed: an
//! ACCEPT of translated traffic (KUBE-FORWARD's mark and conntrack rules) just lets the
//! service connection through, while an ACCEPT of untranslated traffic (the health-check
//! NodePort rule) is the answer itself. A path's verdict is thus drop/reject, else dnat, else
//! accept, else none.
//!
//! This module walks typed rules only; it never reads rule text.

mod index;
mod matching;
mod walk;

pub use walk::IPVS_TABLE;

use std::net::IpAddr;

use crate::backend::iptables::Ruleset;
use crate::net::{Cidr, IpFamily};
use crate::settings::{LocalTrafficDetector, Mode, ProxySettings};
use crate::sim::trace::{Choices, Entry, Packet, Trace};

pub use index::{ChainIndex, MIN_INDEXED_RULES, RulesetIndex};

/// What the tracer needs to know about the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeNetwork {
    pub name: String,
    /// Every address of the node, both families (`--src-type/--dst-type LOCAL`).
    pub local_addresses: Vec<IpAddr>,
    /// Sources treated as the node's pods.
    pub pod_cidrs: Vec<Cidr>,
    /// The interface pod traffic arrives on.
    pub pod_interface: String,
    /// The interface everything else arrives on.
    pub uplink: String,
    /// kube-proxy's masquerade mark (the bit that means "marked for SNAT").
    pub masquerade_mark: u32,
}

impl NodeNetwork {
    /// The node as the settings describe it.
    pub fn from_settings(s: &ProxySettings) -> NodeNetwork {
        let mut local_addresses: Vec<IpAddr> =
            s.node_interfaces.values().flatten().map(|a| a.addr).collect();
        for family in [IpFamily::V4, IpFamily::V6] {
            local_addresses.push(family.loopback());
        }
        local_addresses.sort();
        local_addresses.dedup();
        let mut pod_cidrs = Vec::new();
        let mut pod_interface = "cni0".to_owned();
        match &s.local_traffic_detector {
            LocalTrafficDetector::ClusterCidr(c) | LocalTrafficDetector::NodeCidr(c) => {
                pod_cidrs.push(*c)
            }
            LocalTrafficDetector::BridgeInterface(b) => pod_interface = b.clone(),
            LocalTrafficDetector::InterfaceNamePrefix(p) => pod_interface = format!("{p}0"),
            LocalTrafficDetector::None => {}
        }
        if let Some(addrs) = s.node_interfaces.get(&pod_interface) {
            pod_cidrs.extend(addrs.iter().map(|a| a.network()));
        }
        let uplink = if s.node_interfaces.contains_key("eth0") || s.node_interfaces.is_empty() {
            "eth0".to_owned()
        } else {
            s.node_interfaces
                .keys()
                .find(|k| *k != "lo" && **k != pod_interface)
                .cloned()
                .unwrap_or_else(|| "eth0".to_owned())
        };
        NodeNetwork {
            name: s.node_name.clone(),
            local_addresses,
            pod_cidrs,
            pod_interface,
            uplink,
            masquerade_mark: s.masquerade_mark_value(),
        }
    }

    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.local_addresses.binary_search(&ip).is_ok()
    }

    pub fn is_pod(&self, ip: IpAddr) -> bool {
        self.pod_cidrs.iter().any(|c| c.contains(ip))
    }

    /// Local when the source is one of the node's addresses, else arriving.
    pub fn entry_for(&self, src: IpAddr) -> Entry {
        if self.is_local(src) { Entry::Local } else { Entry::Arriving }
    }

    /// The interface a packet from `src` arrives on.
    pub fn in_interface(&self, src: IpAddr) -> &str {
        if self.is_pod(src) { &self.pod_interface } else { &self.uplink }
    }

    /// The interface a packet to `dst` leaves on.
    pub fn out_interface(&self, dst: IpAddr) -> &str {
        if self.is_local(dst) {
            "lo"
        } else if self.is_pod(dst) {
            &self.pod_interface
        } else {
            &self.uplink
        }
    }
}

/// A ruleset prepared for tracing: the node and an index of its long chains.
#[derive(Debug, Clone)]
pub struct Tracer<'a> {
    pub ruleset: &'a Ruleset,
    pub node: NodeNetwork,
    pub index: RulesetIndex,
    /// In IPVS mode, the node's IPVS state: its ipsets answer `-m set`, its virtual servers
    /// schedule packets (see `sim::ipvs`).
    pub ipvs: Option<&'a crate::backend::ipvs::Ruleset>,
}

impl<'a> Tracer<'a> {
    pub fn new(ruleset: &'a Ruleset, node: NodeNetwork) -> Tracer<'a> {
        Tracer { ruleset, node, index: RulesetIndex::new(ruleset), ipvs: None }
    }

    /// A tracer for IPVS mode: `ruleset` is the IPVS skeleton as the kernel holds it
    /// (`ipvs.kernel`), `ipvs` the rest of the node's IPVS state.
    pub fn for_ipvs(
        ruleset: &'a Ruleset,
        ipvs: &'a crate::backend::ipvs::Ruleset,
        node: NodeNetwork,
    ) -> Tracer<'a> {
        Tracer { ipvs: Some(ipvs), ..Tracer::new(ruleset, node) }
    }

    /// Traces the first packet of a new connection, entering where its source says
    /// ([`NodeNetwork::entry_for`]).
    pub fn trace(&self, packet: Packet, choices: Choices) -> Trace {
        self.trace_from(packet, self.node.entry_for(packet.src), choices)
    }

    /// Traces the first packet of a new connection entering at `entry`.
    pub fn trace_from(&self, packet: Packet, entry: Entry, choices: Choices) -> Trace {
        let paths = walk::walk(self, packet, entry, choices);
        let mode = if self.ipvs.is_some() { Mode::Ipvs } else { Mode::Iptables };
        Trace { node: self.node.name.clone(), mode, entry, packet, paths }
    }
}

/// Traces a packet through a node's ruleset (see the module docs for the semantics).
///
/// ```
/// use kpsim::sim::{Choices, Packet, PacketProtocol};
/// let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -m tcp -p tcp -d 10.96.0.1 --dport 443 -j DNAT --to-destination 192.168.0.2:6443\nCOMMIT\n";
/// let (ruleset, _) = kpsim::backend::iptables::parse(rules, kpsim::net::IpFamily::V4);
/// let settings = kpsim::settings::ProxySettings::for_node(&Default::default(), "n1", kpsim::settings::Mode::Iptables, kpsim::net::IpFamily::V4);
/// let packet = Packet::new("10.244.1.5".parse().unwrap(), "10.96.0.1".parse().unwrap(), PacketProtocol::Tcp, Some(443));
/// let trace = kpsim::sim::iptables::trace(&ruleset, &settings, packet, Choices::Seed(0));
/// assert_eq!(trace.flow_output(), "192.168.0.2:6443");
/// ```
pub fn trace(
    ruleset: &Ruleset,
    settings: &ProxySettings,
    packet: Packet,
    choices: Choices,
) -> Trace {
    Tracer::new(ruleset, NodeNetwork::from_settings(settings)).trace(packet, choices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::iptables::parse;
    use crate::sim::trace::{PacketProtocol, Verdict};

    fn node() -> ProxySettings {
        let mut s = ProxySettings::for_node(&Default::default(), "n", Mode::Iptables, IpFamily::V4);
        s.node_interfaces
            .insert("eth0".into(), vec![crate::net::IfaceAddr::parse("192.168.0.2/24").unwrap()]);
        s
    }

    fn run(rules: &str, src: &str, dst: &str, port: u16) -> Trace {
        let (rs, d) = parse(rules, IpFamily::V4);
        assert!(d.is_empty(), "{d:?}");
        let p = Packet::new(
            src.parse().unwrap(),
            dst.parse().unwrap(),
            PacketProtocol::Tcp,
            Some(port),
        );
        trace(&rs, &node(), p, Choices::AllBranches)
    }

    #[test]
    fn goto_from_a_builtin_chain_ends_in_its_policy() {
        let t = run(
            "*filter\n:FORWARD DROP [0:0]\n:X - [0:0]\n-A FORWARD -g X\n-A FORWARD -j ACCEPT\nCOMMIT\n",
            "10.0.0.2",
            "10.0.0.3",
            80,
        );
        assert_eq!(t.verdict(), Verdict::Drop);
    }

    #[test]
    fn node_traffic_to_a_local_address_loops_back_through_input() {
        let t = run(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m tcp -p tcp --dport 22 -j REJECT\nCOMMIT\n",
            "192.168.0.2",
            "192.168.0.2",
            22,
        );
        assert_eq!(t.entry, Entry::Local);
        assert_eq!(t.verdict(), Verdict::Reject);
    }

    #[test]
    fn accepting_translated_traffic_keeps_the_dnat_verdict() {
        let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.96.0.1 -p tcp -j DNAT --to-destination 10.244.1.5:8080\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n";
        let t = run(rules, "10.0.0.2", "10.96.0.1", 80);
        assert_eq!(t.flow_output(), "10.244.1.5:8080");
        let t = run(rules, "10.0.0.2", "10.96.0.9", 80);
        assert_eq!(t.verdict(), Verdict::Accept);
    }
}
