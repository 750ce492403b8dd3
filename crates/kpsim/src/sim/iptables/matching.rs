//! What each match clause means for a packet of a NEW connection, and a short "why" for the
//! trace.
//!
//! Semantics (the netfilter ones, for the first packet of a connection): `--ctstate` sees
//! `NEW`, plus `DNAT` once the packet was DNATed on this path (never `RELATED`,
//! `ESTABLISHED`, `INVALID`); `-m mark` tests the packet mark; `-m recent --rcheck` finds no
//! remembered client (a fresh trace) while `--set` matches and remembers; `--src/dst-type
//! LOCAL` means "one of the node's addresses"; `-m comment` and `-m nfacct` always match;
//! `-m statistic` is decided by the walker (seed or branch). Modules kpsim does not model are
//! assumed to match, and the why says so.

use std::net::IpAddr;

use crate::backend::iptables::{Match, RecentAction, parse_mark};
use crate::sim::trace::PacketProtocol;

use super::NodeNetwork;

/// The packet as a rule sees it at one point of its path.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: PacketProtocol,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub mark: u32,
    pub dnated: bool,
    pub in_iface: Option<&'a str>,
    pub out_iface: Option<&'a str>,
    pub node: &'a NodeNetwork,
    /// IPVS mode: the ipsets `-m set` looks in (`None`: not modelled, assumed to match).
    pub sets: Option<&'a [crate::backend::ipvs::IpSet]>,
    /// IPVS mode: the virtual server (address, port, protocol) that scheduled the packet.
    pub ipvs_scheduled: Option<(IpAddr, u16, crate::net::Protocol)>,
}

/// The result of one clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// Holds; the text says why (empty for clauses not worth mentioning, like comments).
    Holds(String),
    /// Fails; the text says why.
    Fails(String),
    /// A random choice with this chance of matching (`-m statistic`).
    Chance(f64, String),
    /// Holds and remembers the client in a `-m recent` list.
    Remembers(String),
}

fn neg(negated: bool) -> &'static str {
    if negated { "! " } else { "" }
}

fn verdict(ok: bool, negated: bool, holds: String, fails: String) -> Clause {
    if ok != negated { Clause::Holds(holds) } else { Clause::Fails(fails) }
}

fn protocol_number(p: PacketProtocol, v6: bool) -> &'static [&'static str] {
    match p {
        PacketProtocol::Tcp => &["tcp", "6"],
        PacketProtocol::Udp => &["udp", "17"],
        PacketProtocol::Sctp => &["sctp", "132"],
        PacketProtocol::Icmp if v6 => &["icmpv6", "ipv6-icmp", "58"],
        PacketProtocol::Icmp => &["icmp", "1"],
    }
}

fn iface_matches(pattern: &str, iface: Option<&str>) -> bool {
    let iface = iface.unwrap_or("");
    match pattern.strip_suffix('+') {
        Some(prefix) => iface.starts_with(prefix),
        None => iface == pattern,
    }
}

fn addr_type(t: &str, ip: IpAddr, node: &NodeNetwork) -> Option<bool> {
    Some(match t {
        "LOCAL" => node.is_local(ip),
        "UNICAST" => !ip.is_multicast() && ip != IpAddr::from([255, 255, 255, 255]),
        "MULTICAST" => ip.is_multicast(),
        "BROADCAST" => ip == IpAddr::from([255, 255, 255, 255]),
        _ => return None,
    })
}

/// Evaluates one clause.
pub fn clause(m: &Match, p: &View<'_>) -> Clause {
    match m {
        Match::Protocol { negated, protocol } => {
            let names = protocol_number(p.protocol, p.src.is_ipv6());
            let ok = protocol == "all" || protocol == "0" || names.contains(&protocol.as_str());
            verdict(
                ok,
                *negated,
                String::new(),
                format!("{}-p {protocol}: the packet is {}", neg(*negated), p.protocol.as_lower()),
            )
        }
        Match::Source { negated, address } => verdict(
            address.contains(p.src),
            *negated,
            format!(
                "source {} is {}in {}",
                p.src,
                if *negated { "not " } else { "" },
                address.cidr
            ),
            format!("{}-s {address}: source is {}", neg(*negated), p.src),
        ),
        Match::Destination { negated, address } => verdict(
            address.contains(p.dst),
            *negated,
            format!(
                "destination {} is {}in {}",
                p.dst,
                if *negated { "not " } else { "" },
                address.cidr
            ),
            format!("{}-d {address}: destination is {}", neg(*negated), p.dst),
        ),
        Match::InInterface { negated, name } => verdict(
            iface_matches(name, p.in_iface),
            *negated,
            format!("in interface {}", p.in_iface.unwrap_or("(none)")),
            format!(
                "{}-i {name}: in interface is {}",
                neg(*negated),
                p.in_iface.unwrap_or("(none)")
            ),
        ),
        Match::OutInterface { negated, name } => verdict(
            iface_matches(name, p.out_iface),
            *negated,
            format!("out interface {}", p.out_iface.unwrap_or("(none)")),
            format!(
                "{}-o {name}: out interface is {}",
                neg(*negated),
                p.out_iface.unwrap_or("(none)")
            ),
        ),
        Match::PortModule { module } => {
            let ok = protocol_number(p.protocol, false).contains(&module.as_str());
            verdict(
                ok,
                false,
                String::new(),
                format!("-m {module}: the packet is {}", p.protocol.as_lower()),
            )
        }
        Match::DestinationPort { negated, ports } => match p.dport {
            Some(port) => verdict(
                ports.contains(port),
                *negated,
                format!("port {port}"),
                format!("{}--dport {ports}: port is {port}", neg(*negated)),
            ),
            None => Clause::Fails(format!("--dport {ports}: the packet has no port")),
        },
        Match::SourcePort { negated, ports } => match p.sport {
            Some(port) => verdict(
                ports.contains(port),
                *negated,
                format!("source port {port}"),
                format!("{}--sport {ports}: source port is {port}", neg(*negated)),
            ),
            None => Clause::Fails(format!("--sport {ports}: the packet has no port")),
        },
        Match::Comment { .. } => Clause::Holds(String::new()),
        Match::AddrType { source, destination } => {
            let mut holds = Vec::new();
            for (spec, ip, which) in
                [(source, p.src, "source"), (destination, p.dst, "destination")]
            {
                let Some(spec) = spec else { continue };
                for t in &spec.types {
                    match addr_type(t, ip, p.node) {
                        Some(is) if is == spec.negated => {
                            return Clause::Fails(format!(
                                "{which} {ip} is {}{t}",
                                if is { "" } else { "not " }
                            ));
                        }
                        Some(is) => holds
                            .push(format!("{which} {ip} is {}{t}", if is { "" } else { "not " })),
                        None => {
                            holds.push(format!("{which} type {t} not modelled; assumed to match"))
                        }
                    }
                }
            }
            Clause::Holds(holds.join(", "))
        }
        Match::Conntrack { negated, states } => {
            use crate::backend::iptables::CtState;
            let has = |s: &CtState| match s {
                CtState::New => true,
                CtState::Dnat => p.dnated,
                _ => false,
            };
            let ok = states.iter().any(has);
            let state = if p.dnated { "NEW (DNAT)" } else { "NEW" };
            let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
            verdict(
                ok,
                *negated,
                format!("ctstate {state}"),
                format!(
                    "{}--ctstate {}: the connection is {state}",
                    neg(*negated),
                    names.join(",")
                ),
            )
        }
        Match::Mark { negated, mark } => match parse_mark(mark) {
            Some((value, mask)) => {
                let mask = mask.unwrap_or(u32::MAX);
                verdict(
                    p.mark & mask == value,
                    *negated,
                    format!("mark 0x{:x}", p.mark),
                    format!("{}--mark {mark}: the mark is 0x{:x}", neg(*negated), p.mark),
                )
            }
            None => Clause::Holds(format!("--mark {mark} not understood; assumed to match")),
        },
        Match::Recent(r) => {
            let name = r.name.as_deref().unwrap_or("DEFAULT");
            match r.action {
                RecentAction::Set => {
                    if r.negated {
                        Clause::Fails(format!("! --set {name}: --set always matches"))
                    } else {
                        Clause::Remembers(name.to_owned())
                    }
                }
                _ => verdict(
                    false,
                    r.negated,
                    format!("client {} is not in {name}", p.src),
                    format!(
                        "{}: client {} is not in {name} (a fresh trace remembers no one)",
                        r.action.option(),
                        p.src
                    ),
                ),
            }
        }
        Match::Statistic(s) => Clause::Chance(s.chance(), String::new()),
        Match::Nfacct { name } => Clause::Holds(format!("counted in {name}")),
        Match::Set(m) => {
            let lookup = crate::sim::ipvs::Lookup {
                src: p.src,
                dst: p.dst,
                protocol: p.protocol,
                sport: p.sport,
                dport: p.dport,
            };
            let text = crate::sim::ipvs::lookup_text(p.sets, m, &lookup);
            match p.sets.and_then(|sets| crate::sim::ipvs::set_holds(sets, m, &lookup)) {
                Some(found) => verdict(
                    found,
                    m.negated,
                    format!("{text} is {}in {}", if found { "" } else { "not " }, m.name),
                    format!("{text} is {}in {}", if found { "" } else { "not " }, m.name),
                ),
                None => Clause::Holds(format!(
                    "-m set --match-set {}: no such set known here; assumed to match",
                    m.name
                )),
            }
        }
        // A bridge port is where the node's pods come in.
        Match::PhysdevIsIn { negated } => {
            let bridged = p.in_iface == Some(p.node.pod_interface.as_str());
            let words = if bridged {
                "came in on a bridge port"
            } else {
                "did not come in on a bridge port"
            };
            verdict(bridged, *negated, format!("the packet {words}"), format!("the packet {words}"))
        }
        Match::Ipvs(m) => {
            let this = (m.vaddr, m.vport, m.vproto);
            let ok = p.ipvs_scheduled == Some(this);
            let words = format!(
                "the packet {} an IPVS connection of {}",
                if ok { "is" } else { "is not" },
                crate::net::join_host_port(m.vaddr, m.vport)
            );
            verdict(ok, false, words.clone(), words)
        }
        Match::Module { name, .. } => {
            Clause::Holds(format!("-m {name} not modelled; assumed to match"))
        }
        Match::Option { name, .. } => {
            Clause::Holds(format!("--{name} not modelled; assumed to match"))
        }
    }
}
