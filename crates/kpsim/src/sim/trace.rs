//! The `Trace` value: what happened to one packet on one node, rule by rule.
//!
//! Both node tracers (`sim::iptables`, `sim::nftables`) produce it; the CLI prints it and the
//! page draws it. Steps reference rules by table, chain and index into the typed ruleset, so
//! a renderer can point at the rule text it already shows.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::net::{Protocol, join_host_port};
use crate::settings::Mode;

/// The protocol of a traced packet: a transport protocol, or ICMP echo (ping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PacketProtocol {
    Tcp,
    Udp,
    Sctp,
    /// ICMP (or ICMPv6) echo request.
    Icmp,
}

impl PacketProtocol {
    pub fn parse(s: &str) -> Option<PacketProtocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(PacketProtocol::Tcp),
            "udp" => Some(PacketProtocol::Udp),
            "sctp" => Some(PacketProtocol::Sctp),
            "icmp" | "ping" | "icmpv6" => Some(PacketProtocol::Icmp),
            _ => None,
        }
    }

    /// The transport protocol, if it has ports.
    pub fn transport(self) -> Option<Protocol> {
        match self {
            PacketProtocol::Tcp => Some(Protocol::Tcp),
            PacketProtocol::Udp => Some(Protocol::Udp),
            PacketProtocol::Sctp => Some(Protocol::Sctp),
            PacketProtocol::Icmp => None,
        }
    }

    pub fn as_lower(self) -> &'static str {
        match self {
            PacketProtocol::Tcp => "tcp",
            PacketProtocol::Udp => "udp",
            PacketProtocol::Sctp => "sctp",
            PacketProtocol::Icmp => "icmp",
        }
    }
}

impl From<Protocol> for PacketProtocol {
    fn from(p: Protocol) -> PacketProtocol {
        match p {
            Protocol::Tcp => PacketProtocol::Tcp,
            Protocol::Udp => PacketProtocol::Udp,
            Protocol::Sctp => PacketProtocol::Sctp,
        }
    }
}

/// A packet's addressing: what netfilter matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Packet {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: PacketProtocol,
    /// Source port (an ephemeral port for traced connections; `None` for ICMP).
    pub sport: Option<u16>,
    /// Destination port (`None` for ICMP).
    pub dport: Option<u16>,
    /// The packet mark (`meta mark`, `-m mark`).
    pub mark: u32,
}

impl Packet {
    pub fn new(src: IpAddr, dst: IpAddr, protocol: PacketProtocol, dport: Option<u16>) -> Packet {
        let sport = protocol.transport().map(|_| 40000);
        Packet { src, dst, protocol, sport, dport, mark: 0 }
    }
}

/// `10.0.0.2:40000 > 10.96.0.10:53 udp`, tcpdump style.
impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |ip: IpAddr, port: Option<u16>| match port {
            Some(p) => join_host_port(ip, p),
            None => ip.to_string(),
        };
        write!(
            f,
            "{} > {} {}",
            side(self.src, self.sport),
            side(self.dst, self.dport),
            self.protocol.as_lower()
        )
    }
}

/// Where a packet enters the node's netfilter hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Entry {
    /// Arrives on an interface (from a pod's veth or from outside): PREROUTING first.
    Arriving,
    /// Sent by a process on the node itself: OUTPUT first.
    Local,
}

pub use crate::backend::Hook;

/// The final verdict of a path through the node's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Destination NAT to an endpoint (and not dropped afterwards).
    Dnat,
    Drop,
    Reject,
    /// An explicit ACCEPT rule of kube-proxy's (a health-check NodePort).
    Accept,
    /// No kube-proxy rule changed or stopped the packet.
    None,
}

impl Verdict {
    pub fn as_upper(self) -> &'static str {
        match self {
            Verdict::Dnat => "DNAT",
            Verdict::Drop => "DROP",
            Verdict::Reject => "REJECT",
            Verdict::Accept => "ACCEPT",
            Verdict::None => "",
        }
    }
}

/// What a rule (or a chain policy) did to the packet, when it did something.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Jumped or went to another chain.
    Jump {
        chain: String,
    },
    /// Returned from the chain.
    Return,
    /// Set or changed the packet mark.
    Mark {
        mark: u32,
    },
    /// Rewrote the destination.
    Dnat {
        ip: IpAddr,
        port: Option<u16>,
    },
    /// Source NAT to the outgoing interface's address (the address is filled in by the
    /// cluster trace, which knows the route).
    Masquerade {
        random_fully: bool,
    },
    Accept,
    Drop,
    Reject,
    /// Took one branch of a random choice (`-m statistic`, `numgen`).
    Branch {
        index: usize,
        of: usize,
        probability: f64,
    },
    /// Recorded or looked up a session-affinity entry.
    Affinity {
        set: String,
    },
}

/// One rule (or chain policy) the packet was checked against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub hook: Hook,
    pub table: String,
    pub chain: String,
    /// 0-based index of the rule in its chain; `None` for the chain's policy/fall-through.
    pub rule_index: Option<usize>,
    /// The rule as the ruleset renders it (`-A KUBE-SERVICES …`, `ip daddr … vmap …`).
    pub rule: String,
    pub matched: bool,
    /// Why it matched or not (`-d 10.96.0.10 does not match 10.96.0.1`).
    pub why: String,
    pub action: Option<Action>,
    /// How many jumps deep the chain is below the hook's base chain.
    pub depth: usize,
}

/// One way through the node's rules. With a seed there is one; with all-branches there is
/// one per combination of random choices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TracePath {
    /// Probability of taking this path (1 when nothing was random).
    pub probability: f64,
    pub steps: Vec<Step>,
    pub verdict: Verdict,
    /// The DNAT destination, if any.
    pub dnat: Option<(IpAddr, Option<u16>)>,
    /// Marked for masquerade somewhere on the path.
    pub masquerade: bool,
    /// The packet as it leaves (after DNAT; SNAT is reported, not applied, at node level).
    pub packet_out: Packet,
}

/// How random choices are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choices {
    /// A deterministic pseudo-random sequence from this seed.
    Seed(u64),
    /// Follow every branch.
    AllBranches,
}

/// The trace of one packet through one node's ruleset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub node: String,
    pub mode: Mode,
    pub entry: Entry,
    pub packet: Packet,
    pub paths: Vec<TracePath>,
}

impl Trace {
    /// The verdict: DNAT if any path reached an endpoint, otherwise the first path's.
    pub fn verdict(&self) -> Verdict {
        if self.paths.iter().any(|p| p.verdict == Verdict::Dnat) {
            Verdict::Dnat
        } else {
            self.paths.first().map(|p| p.verdict).unwrap_or(Verdict::None)
        }
    }

    /// Every DNAT destination reached, in rule order, as `ip:port` (`[ip6]:port`).
    pub fn destinations(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in &self.paths {
            if let (Verdict::Dnat, Some((ip, port))) = (p.verdict, p.dnat) {
                let s = match port {
                    Some(port) => join_host_port(ip, port),
                    None => ip.to_string(),
                };
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// True when any path marked the packet for masquerade.
    pub fn masquerade(&self) -> bool {
        self.paths.iter().any(|p| p.masquerade)
    }

    /// The reference tests' one-line result: destinations joined by `", "`, or the verdict
    /// (`DROP`, `REJECT`, `ACCEPT`), or `""`.
    pub fn flow_output(&self) -> String {
        match self.verdict() {
            Verdict::Dnat => self.destinations().join(", "),
            v => v.as_upper().to_owned(),
        }
    }
}

/// A small deterministic generator (SplitMix64) for seeded random choices: the core draws no
/// randomness of its own.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}
