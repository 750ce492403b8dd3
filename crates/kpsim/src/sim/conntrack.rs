//! Connection tracking, one table per node: the entry a new connection leaves (its original
//! tuple and the reply tuple it expects, DNAT and SNAT folded in), and the lookups that
//! un-NAT what comes back — replies by their tuple, ICMP errors by the packet they quote.
//!
//! Not here: deciding the NAT (kube-proxy's rules do, walked by the node tracers) or moving
//! packets (the cluster trace).

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::sim::trace::{Packet, PacketProtocol};

/// The addressing conntrack keys on: protocol, addresses and ports (the mark is not part of
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Tuple {
    pub protocol: PacketProtocol,
    pub src: IpAddr,
    pub sport: Option<u16>,
    pub dst: IpAddr,
    pub dport: Option<u16>,
}

impl Tuple {
    pub fn of(p: &Packet) -> Tuple {
        Tuple { protocol: p.protocol, src: p.src, sport: p.sport, dst: p.dst, dport: p.dport }
    }

    /// The same connection seen from the other end.
    pub fn reversed(&self) -> Tuple {
        Tuple {
            protocol: self.protocol,
            src: self.dst,
            sport: self.dport,
            dst: self.src,
            dport: self.sport,
        }
    }

    /// A packet with this addressing and no mark.
    pub fn packet(&self) -> Packet {
        Packet {
            src: self.src,
            dst: self.dst,
            protocol: self.protocol,
            sport: self.sport,
            dport: self.dport,
            mark: 0,
        }
    }
}

/// `src=10.244.0.3 dst=10.96.0.10 sport=40000 dport=53`, as `conntrack -L` prints a tuple.
impl fmt::Display for Tuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "src={} dst={}", self.src, self.dst)?;
        if let (Some(s), Some(d)) = (self.sport, self.dport) {
            write!(f, " sport={s} dport={d}")?;
        }
        Ok(())
    }
}

/// One tracked connection on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConntrackEntry {
    pub node: String,
    /// The first packet as it arrived.
    pub original: Tuple,
    /// What a reply must look like to belong to the connection (the translated packet,
    /// reversed).
    pub reply: Tuple,
    /// The destination was rewritten (kube-proxy's DNAT).
    pub dnat: bool,
    /// The source was rewritten (MASQUERADE).
    pub snat: bool,
}

impl ConntrackEntry {
    /// The entry for a packet that arrived as `original` and left as `translated`.
    pub fn new(node: &str, original: &Packet, translated: &Packet) -> ConntrackEntry {
        let original = Tuple::of(original);
        let translated = Tuple::of(translated);
        ConntrackEntry {
            node: node.to_owned(),
            original,
            reply: translated.reversed(),
            dnat: (original.dst, original.dport) != (translated.dst, translated.dport),
            snat: (original.src, original.sport) != (translated.src, translated.sport),
        }
    }

    /// The first packet as it left the node.
    pub fn translated(&self) -> Tuple {
        self.reply.reversed()
    }

    pub fn is_nat(&self) -> bool {
        self.dnat || self.snat
    }
}

/// `tcp src=10.244.0.3 dst=10.100.253.115 sport=40000 dport=8080 src=10.244.2.2 dst=10.244.0.3
/// sport=80 dport=40000 [DNAT]` — `conntrack -L` without timers and counters, with kpsim's
/// NAT flags.
impl fmt::Display for ConntrackEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.original.protocol.as_lower(), self.original, self.reply)?;
        match (self.dnat, self.snat) {
            (true, true) => write!(f, " [DNAT] [SNAT]"),
            (true, false) => write!(f, " [DNAT]"),
            (false, true) => write!(f, " [SNAT]"),
            (false, false) => Ok(()),
        }
    }
}

/// The conntrack tables of every node a connection crossed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Conntrack {
    pub entries: Vec<ConntrackEntry>,
}

impl Conntrack {
    /// Records a new connection on `node`.
    pub fn confirm(
        &mut self,
        node: &str,
        original: &Packet,
        translated: &Packet,
    ) -> ConntrackEntry {
        let entry = ConntrackEntry::new(node, original, translated);
        self.entries.push(entry.clone());
        entry
    }

    /// A reply arriving on `node`: the entry it belongs to and the packet with the NAT undone
    /// (source back to what the client talked to, destination back to the client).
    pub fn reply(&self, node: &str, packet: &Packet) -> Option<(&ConntrackEntry, Packet)> {
        let t = Tuple::of(packet);
        let entry = self.entries.iter().find(|e| e.node == node && e.reply == t)?;
        let mut out = entry.original.reversed().packet();
        out.mark = packet.mark;
        Some((entry, out))
    }

    /// An ICMP error arriving on `node` quoting `quoted` (the packet that caused it, as the
    /// sender of the error saw it): the entry it relates to, the error's new destination (the
    /// original source) and the quoted packet as it was before this node's NAT.
    pub fn related(&self, node: &str, quoted: &Packet) -> Option<(&ConntrackEntry, Packet)> {
        let t = Tuple::of(quoted);
        let entry = self.entries.iter().find(|e| e.node == node && e.translated() == t)?;
        Some((entry, entry.original.packet()))
    }

    /// The entries of one node.
    pub fn on<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a ConntrackEntry> + 'a {
        self.entries.iter().filter(move |e| e.node == node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
        Packet {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol: PacketProtocol::Tcp,
            sport: Some(sport),
            dport: Some(dport),
            mark: 0,
        }
    }

    #[test]
    fn a_reply_is_un_dnated_to_the_cluster_ip() {
        let mut ct = Conntrack::default();
        let sent = pkt("10.244.0.3", 40000, "10.100.253.115", 8080);
        let dnated = pkt("10.244.0.3", 40000, "10.244.2.2", 80);
        let e = ct.confirm("minikube", &sent, &dnated);
        assert!(e.dnat && !e.snat);
        assert_eq!(
            e.to_string(),
            "tcp src=10.244.0.3 dst=10.100.253.115 sport=40000 dport=8080 src=10.244.2.2 dst=10.244.0.3 sport=80 dport=40000 [DNAT]"
        );
        let reply = pkt("10.244.2.2", 80, "10.244.0.3", 40000);
        let (_, back) = ct.reply("minikube", &reply).unwrap();
        assert_eq!(back, pkt("10.100.253.115", 8080, "10.244.0.3", 40000));
        assert!(ct.reply("minikube-m02", &reply).is_none());
    }

    #[test]
    fn a_masqueraded_reply_goes_back_to_the_real_client() {
        let mut ct = Conntrack::default();
        let sent = pkt("203.0.113.7", 40000, "192.168.49.3", 30080);
        let out = pkt("192.168.49.3", 40000, "10.244.2.2", 80);
        ct.confirm("minikube-m02", &sent, &out);
        let (e, back) =
            ct.reply("minikube-m02", &pkt("10.244.2.2", 80, "192.168.49.3", 40000)).unwrap();
        assert!(e.dnat && e.snat);
        assert_eq!(back, pkt("192.168.49.3", 30080, "203.0.113.7", 40000));
        let (_, quoted) = ct.related("minikube-m02", &out).unwrap();
        assert_eq!(quoted, sent);
    }
}
