//! The IPVS tracer: one packet of a NEW connection through a node in IPVS mode (spec ipvs §7).
//!
//! It is the iptables walk (`sim::iptables`) over the IPVS skeleton, with three additions:
//! - the node's local addresses include every `kube-ipvs0` address (a ClusterIP is local, so
//!   routing delivers it to INPUT and `--dst-type LOCAL` matches it);
//! - `-m set` looks the packet up in the IPVS state's ipsets ([`set_holds`]), `-m physdev
//!   --physdev-is-in` holds for packets that came in on the pod bridge, and `-m ipvs` holds
//!   for packets IPVS scheduled for that virtual server;
//! - an **IPVS stage**: for an arriving packet after the INPUT hook (IPVS sits at LOCAL_IN),
//!   for a node-originated one after the nat table of OUTPUT (IPVS's LOCAL_OUT hook comes
//!   right after it), the virtual server for (destination, port, protocol) picks a real
//!   server — seeded, or every real server as its own branch in all-branches mode, whatever
//!   the scheduler — and rewrites the destination (NAT forwarding); the packet then leaves
//!   through filter OUTPUT and POSTROUTING (masquerade if marked, hairpin masquerade). A
//!   virtual server without real servers drops the packet (the spec states this from general
//!   kernel knowledge, not verified); a local address with no virtual server is the node's
//!   own (the packet is delivered to it, after KUBE-IPVS-FILTER had its say).
//!
//! Not modelled: persistence templates of earlier connections (a trace is a first
//! connection), connection reuse, the schedulers' own state (`rr`'s position, `lc` counts).

use std::net::IpAddr;

use crate::backend::iptables::{SetDirection, SetMatch};
use crate::backend::ipvs::{DUMMY_INTERFACE, IpSet, IpSetEntry, IpSetKind, Ruleset};
use crate::net::Protocol;
use crate::settings::ProxySettings;
use crate::sim::iptables::{NodeNetwork, Tracer};
use crate::sim::trace::{Choices, Entry, Packet, PacketProtocol, Trace};

/// The node as the IPVS tracer sees it: the settings' addresses (those the netlink handle
/// reports included: the builder took them for node addresses) plus `kube-ipvs0`'s.
pub fn node_network(ruleset: &Ruleset, settings: &ProxySettings) -> NodeNetwork {
    let mut node = NodeNetwork::from_settings(settings);
    node.local_addresses.extend(settings.ipvs.netlink_addresses());
    node.local_addresses.extend(ruleset.dummy.addresses.iter().copied());
    node.local_addresses.sort();
    node.local_addresses.dedup();
    node
}

/// Traces a packet through a node's IPVS state (see the module docs).
///
/// ```
/// use kpsim::sim::{Choices, Entry, Packet, PacketProtocol};
/// let text = include_str!("../../tests/data/spec/ipvs/worked-example/input.yaml");
/// let analysis = kpsim::analyze(text, kpsim::model::Admission::AsGiven);
/// let (file, _) = kpsim::settings::parse_settings_file(include_str!("../../tests/data/spec/ipvs/worked-example/settings.yaml"));
/// let settings = file.resolve(&analysis.cluster, &mut Vec::new());
/// let rules = kpsim::backend::ipvs::build(&kpsim::proxy::plan(&analysis.cluster, &settings));
/// let curl = Packet::new("10.244.3.4".parse().unwrap(), "10.96.0.20".parse().unwrap(), PacketProtocol::Tcp, Some(80));
/// let trace = kpsim::sim::ipvs::trace(&rules, &settings, curl, Entry::Arriving, Choices::AllBranches);
/// assert_eq!(trace.flow_output(), "10.244.0.5:8080, 10.244.1.2:8080");
/// ```
pub fn trace(
    ruleset: &Ruleset,
    settings: &ProxySettings,
    packet: Packet,
    entry: Entry,
    choices: Choices,
) -> Trace {
    let tracer = Tracer::for_ipvs(&ruleset.kernel, ruleset, node_network(ruleset, settings));
    tracer.trace_from(packet, entry, choices)
}

/// The packet fields a set lookup reads.
#[derive(Debug, Clone, Copy)]
pub struct Lookup {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: PacketProtocol,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
}

impl Lookup {
    fn ip(&self, d: SetDirection) -> IpAddr {
        match d {
            SetDirection::Src => self.src,
            SetDirection::Dst => self.dst,
        }
    }

    fn port(&self, d: SetDirection) -> Option<u16> {
        match d {
            SetDirection::Src => self.sport,
            SetDirection::Dst => self.dport,
        }
    }
}

/// Whether the packet is in the set `m` names: `None` when the ruleset has no such set. The
/// fields are taken in the match's direction order (address, port, second address or
/// network); a port lookup needs a TCP/UDP/SCTP packet; `bitmap:port` ignores the protocol.
pub fn set_holds(sets: &[IpSet], m: &SetMatch, p: &Lookup) -> Option<bool> {
    let set = sets.iter().find(|s| s.name == m.name)?;
    let d = |i: usize| m.directions.get(i).copied().unwrap_or(SetDirection::Dst);
    let transport: Option<Protocol> = p.protocol.transport();
    let found = match set.kind {
        IpSetKind::HashIp => set.entries.contains(&IpSetEntry::Ip(p.ip(d(0)))),
        IpSetKind::BitmapPort => {
            p.port(d(0)).is_some_and(|port| set.entries.contains(&IpSetEntry::Port(port)))
        }
        IpSetKind::HashIpPort => match (transport, p.port(d(1))) {
            (Some(protocol), Some(port)) => {
                set.entries.contains(&IpSetEntry::IpPort { ip: p.ip(d(0)), protocol, port })
            }
            _ => false,
        },
        IpSetKind::HashIpPortIp => match (transport, p.port(d(1))) {
            (Some(protocol), Some(port)) => set.entries.contains(&IpSetEntry::IpPortIp {
                ip: p.ip(d(0)),
                protocol,
                port,
                ip2: p.ip(d(2)),
            }),
            _ => false,
        },
        IpSetKind::HashIpPortNet => match (transport, p.port(d(1))) {
            (Some(protocol), Some(port)) => set.entries.iter().any(|e| {
                matches!(e, IpSetEntry::IpPortNet { ip, protocol: pr, port: po, net }
                    if *ip == p.ip(d(0)) && *pr == protocol && *po == port && net.contains(p.ip(d(2))))
            }),
            _ => false,
        },
    };
    Some(found)
}

/// The words of a set lookup for a trace: `10.96.0.20,tcp:80`, or `port 30443` for a
/// `bitmap:port` set.
pub fn lookup_text(sets: Option<&[IpSet]>, m: &SetMatch, p: &Lookup) -> String {
    let kind = sets.and_then(|sets| sets.iter().find(|s| s.name == m.name)).map(|s| s.kind);
    if kind == Some(IpSetKind::BitmapPort) {
        let d = m.directions.first().copied().unwrap_or(SetDirection::Dst);
        return match p.port(d) {
            Some(port) => format!("port {port}"),
            None => format!("{} (no port)", p.protocol.as_lower()),
        };
    }
    let mut parts = Vec::new();
    for (i, d) in m.directions.iter().enumerate() {
        let part = if i == 1 {
            match p.port(*d) {
                Some(port) => format!("{}:{port}", p.protocol.as_lower()),
                None => format!("{} (no port)", p.protocol.as_lower()),
            }
        } else {
            p.ip(*d).to_string()
        };
        parts.push(part);
    }
    parts.join(",")
}

/// `kube-ipvs0`, for the trace's words.
pub const INTERFACE: &str = DUMMY_INTERFACE;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ipvs::SetId;
    use crate::net::IpFamily;

    #[test]
    fn a_set_lookup_reads_the_fields_in_direction_order() {
        let mut set = IpSet::new(SetId::LoopBack, IpFamily::V4, true);
        let ip: IpAddr = "10.244.0.5".parse().unwrap();
        set.entries.insert(IpSetEntry::IpPortIp {
            ip,
            protocol: Protocol::Tcp,
            port: 8080,
            ip2: ip,
        });
        let m = SetMatch::new(
            "KUBE-LOOP-BACK",
            &[SetDirection::Dst, SetDirection::Dst, SetDirection::Src],
        );
        let mut p = Lookup {
            src: ip,
            dst: ip,
            protocol: PacketProtocol::Tcp,
            sport: Some(40000),
            dport: Some(8080),
        };
        assert_eq!(set_holds(std::slice::from_ref(&set), &m, &p), Some(true));
        assert_eq!(lookup_text(None, &m, &p), "10.244.0.5,tcp:8080,10.244.0.5");
        p.src = "10.244.0.6".parse().unwrap();
        assert_eq!(set_holds(std::slice::from_ref(&set), &m, &p), Some(false));
        p.protocol = PacketProtocol::Icmp;
        p.src = ip;
        assert_eq!(set_holds(std::slice::from_ref(&set), &m, &p), Some(false));
        assert_eq!(set_holds(&[], &m, &p), None);
    }
}
