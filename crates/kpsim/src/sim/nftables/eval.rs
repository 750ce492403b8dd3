//! Evaluating the expressions of a rule against one packet: what each selector reads
//! (`ip daddr`, `meta l4proto`, `th dport`, `fib saddr type`, …), how a value or a set
//! matches it (exact, prefix containment, range, `iifname` wildcard), and set/map lookups.
//!
//! Control flow (jumps, verdicts, random branches) is the walker's (`walk.rs`).

use std::net::IpAddr;

use super::index::{ElementIndex, RulesetIndex};
use crate::backend::nftables::{
    AddrField, AddrType, CtState, Element, ElementData, Integer, L4Proto, Match, Op, Operand,
    Selector, Value, Verdict,
};
use crate::net::IpFamily;
use crate::settings::ProxySettings;
use crate::sim::{Entry, Packet, PacketProtocol};

/// Facts about where the packet is that rules can read besides the packet itself.
#[derive(Debug, Clone)]
pub(crate) struct Context<'a> {
    pub(crate) settings: &'a ProxySettings,
    /// Input interface (`""` for locally generated packets before loopback).
    pub(crate) iifname: String,
    /// Output interface (`""` before routing).
    pub(crate) oifname: String,
}

/// What a selector read from the packet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Addr(IpAddr),
    Proto(L4Proto),
    Port(u16),
    Mark(u32),
    CtState(CtState),
    AddrType(AddrType),
    Name(String),
}

impl Field {
    /// The field as a set key value.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Field::Addr(ip) => Value::Addr(*ip),
            Field::Proto(p) => Value::Proto(*p),
            Field::Port(p) => Value::Port(*p),
            Field::Mark(m) => Value::Integer(Integer::decimal(*m)),
            Field::CtState(s) => Value::CtState(*s),
            Field::AddrType(t) => Value::AddrType(*t),
            Field::Name(n) => Value::Ifname(n.clone()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Field::Addr(ip) => ip.to_string(),
            Field::Proto(p) => p.to_string(),
            Field::Port(p) => p.to_string(),
            Field::Mark(m) => format!("0x{m:08x}"),
            Field::CtState(s) => s.as_str().to_owned(),
            Field::AddrType(t) => t.as_str().to_owned(),
            Field::Name(n) => format!("\"{n}\""),
        }
    }
}

/// True when `ip` is an address of the node (loopback included): `fib … type local`.
pub(crate) fn is_local(settings: &ProxySettings, ip: IpAddr) -> bool {
    crate::sim::entry_for(settings, ip) == Entry::Local
}

fn selector_text(sel: &Selector) -> String {
    sel.to_string()
}

/// Reads one selector; `Err(why)` when the expression cannot be evaluated on this packet
/// (the rule then does not match, as nft's `NFT_BREAK`).
pub(crate) fn select(sel: &Selector, packet: &Packet, ctx: &Context<'_>) -> Result<Field, String> {
    match sel {
        Selector::Addr { family, field } => {
            let ip = match field {
                AddrField::Saddr => packet.src,
                AddrField::Daddr => packet.dst,
            };
            if IpFamily::of(ip) == *family {
                Ok(Field::Addr(ip))
            } else {
                Err(format!(
                    "{} does not apply to a {} packet",
                    selector_text(sel),
                    IpFamily::of(ip)
                ))
            }
        }
        Selector::L4Proto => Ok(Field::Proto(match packet.protocol {
            PacketProtocol::Tcp => L4Proto::TCP,
            PacketProtocol::Udp => L4Proto::UDP,
            PacketProtocol::Sctp => L4Proto::SCTP,
            PacketProtocol::Icmp if packet.dst.is_ipv6() => L4Proto::ICMPV6,
            PacketProtocol::Icmp => L4Proto::ICMP,
        })),
        Selector::ThDport => match packet.dport {
            Some(p) => Ok(Field::Port(p)),
            None => Err(format!("th dport: a {} packet has no ports", packet.protocol.as_lower())),
        },
        Selector::Mark => Ok(Field::Mark(packet.mark)),
        // Every traced packet is the first of its connection.
        Selector::CtState => Ok(Field::CtState(CtState::New)),
        Selector::FibType(field) => {
            let ip = match field {
                AddrField::Saddr => packet.src,
                AddrField::Daddr => packet.dst,
            };
            let local = is_local(ctx.settings, ip);
            Ok(Field::AddrType(if local { AddrType::Local } else { AddrType::Unicast }))
        }
        Selector::Iifname => Ok(Field::Name(ctx.iifname.clone())),
        Selector::Oifname => Ok(Field::Name(ctx.oifname.clone())),
        Selector::NumgenRandom { .. } => {
            Err("numgen outside a verdict map is not simulated".to_owned())
        }
    }
}

/// Whether a set element or literal `pattern` matches the value `v` read from the packet.
pub(crate) fn value_matches(pattern: &Value, v: &Value) -> bool {
    match (pattern, v) {
        (Value::Prefix(c), Value::Addr(ip)) => c.contains(*ip),
        (Value::Range(a, b), Value::Addr(ip)) => {
            IpFamily::of(*a) == IpFamily::of(*ip) && *a <= *ip && *ip <= *b
        }
        (Value::Integer(a), Value::Integer(b)) => a.value == b.value,
        (Value::Integer(a), Value::Port(p)) => a.value == u32::from(*p),
        (Value::Ifname(pat), Value::Ifname(name)) => match pat.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => pat == name,
        },
        (a, b) => a == b,
    }
}

fn describe_operand(op: &Operand) -> String {
    op.to_string()
}

/// Evaluates a relational match: `Ok((holds, why))`, or `Err(why)` when it cannot be
/// evaluated.
pub(crate) fn eval_match(
    m: &Match,
    packet: &Packet,
    ctx: &Context<'_>,
    index: &RulesetIndex<'_>,
    table: usize,
) -> Result<(bool, String), String> {
    let mut fields = Vec::with_capacity(m.left.len());
    for sel in &m.left {
        fields.push(select(sel, packet, ctx)?);
    }
    if let (Some(mask), [Field::Mark(v)]) = (&m.mask, fields.as_mut_slice()) {
        *v &= mask.value;
    }
    let values: Vec<Value> = fields.iter().map(Field::to_value).collect();
    let found = match &m.right {
        Operand::Value(pattern) => matches!(values.as_slice(), [v] if value_matches(pattern, v)),
        Operand::Set(set) => match values.as_slice() {
            [v] => set.elements.iter().any(|p| value_matches(p, v)),
            _ => false,
        },
        Operand::Named(name) => match index.set(table, name) {
            Some(set) => set.find(&values, value_matches).is_some(),
            None => return Err(format!("@{name} does not exist")),
        },
    };
    let holds = found == (m.op == Op::Eq);
    let left: Vec<String> = m.left.iter().map(selector_text).collect();
    let read: Vec<String> = fields.iter().map(Field::describe).collect();
    let relation = match (m.op, found) {
        (Op::Eq, true) | (Op::Ne, false) => "matches",
        (Op::Eq, false) | (Op::Ne, true) => "does not match",
    };
    let mask = m.mask.map(|mk| format!(" & 0x{:08x}", mk.value)).unwrap_or_default();
    let op = if m.op == Op::Ne { "!= " } else { "" };
    let why = format!(
        "{}{mask} is {}: {relation} {op}{}",
        left.join(" . "),
        read.join(" . "),
        describe_operand(&m.right)
    );
    Ok((holds, why))
}

/// Looks a key up in a verdict map: the verdict of the element found.
pub(crate) fn lookup_verdict<'e>(
    map: Option<&ElementIndex<'e>>,
    anonymous: Option<&'e [Element]>,
    key: &[Value],
) -> Option<&'e Verdict> {
    let element = match (map, anonymous) {
        (Some(index), _) => index.find(key, value_matches),
        (None, Some(elements)) => elements.iter().find(|e| {
            e.key.len() == key.len() && e.key.iter().zip(key).all(|(p, v)| value_matches(p, v))
        }),
        (None, None) => None,
    }?;
    match &element.data {
        Some(ElementData::Verdict(v)) => Some(v),
        _ => None,
    }
}

/// The interface a packet to or from `ip` uses on this node: `lo` for loopback, the interface
/// whose network holds `ip` (longest prefix), else the interface of the node IP.
pub(crate) fn interface_for(settings: &ProxySettings, ip: IpAddr) -> String {
    if ip.is_loopback() {
        return "lo".to_owned();
    }
    let mut best: Option<(&String, u8)> = None;
    for (name, addrs) in &settings.node_interfaces {
        for a in addrs {
            if a.network().contains(ip) && best.is_none_or(|(_, p)| a.prefix > p) {
                best = Some((name, a.prefix));
            }
        }
    }
    if let Some((name, _)) = best {
        return name.clone();
    }
    let primary = settings.node_ip.and_then(|node_ip| {
        settings.node_interfaces.iter().find(|(_, addrs)| addrs.iter().any(|a| a.addr == node_ip))
    });
    match primary {
        Some((name, _)) => name.clone(),
        None => "eth0".to_owned(),
    }
}
