//! The typed nftables ruleset, in nftables' own vocabulary: tables, base chains with hook and
//! priority, regular chains, named sets and verdict maps with their elements, and rules as a
//! sequence of statements.
//!
//! This file only defines the values and their small vocabulary helpers. Building a ruleset
//! from the proxy plan is `build.rs`, the two text renderings are `transaction.rs` (what
//! kube-proxy sends) and `list.rs` (what `nft list` prints), reading `nft list` text back is
//! `parse.rs`.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::net::{Cidr, IpFamily};

/// Every table of a ruleset, in the order the kernel lists them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Ruleset {
    pub tables: Vec<Table>,
}

/// An nftables address family (`ip`, `ip6`, `inet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ip,
    Ip6,
    Inet,
}

impl Family {
    /// The table family kube-proxy uses for an IP family.
    pub fn for_ip_family(family: IpFamily) -> Family {
        match family {
            IpFamily::V4 => Family::Ip,
            IpFamily::V6 => Family::Ip6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Inet => "inet",
        }
    }

    pub fn parse(s: &str) -> Option<Family> {
        match s {
            "ip" => Some(Family::Ip),
            "ip6" => Some(Family::Ip6),
            "inet" => Some(Family::Inet),
            _ => None,
        }
    }

    /// True when packets of `family` traverse tables of this family.
    pub fn sees(self, family: IpFamily) -> bool {
        matches!(
            (self, family),
            (Family::Inet, _) | (Family::Ip, IpFamily::V4) | (Family::Ip6, IpFamily::V6)
        )
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One table: its sets, maps and chains in creation order (the order `nft list` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub family: Family,
    pub name: String,
    pub comment: Option<String>,
    pub sets: Vec<Set>,
    pub maps: Vec<Map>,
    pub chains: Vec<Chain>,
}

impl Table {
    pub fn new(family: Family, name: impl Into<String>) -> Table {
        Table {
            family,
            name: name.into(),
            comment: None,
            sets: Vec::new(),
            maps: Vec::new(),
            chains: Vec::new(),
        }
    }

    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn set(&self, name: &str) -> Option<&Set> {
        self.sets.iter().find(|s| s.name == name)
    }

    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// `ip kube-proxy`: how traces and errors name the table.
    pub fn qualified_name(&self) -> String {
        format!("{} {}", self.family, self.name)
    }
}

/// A chain; a base chain when `base` is set (attached to a hook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    pub name: String,
    pub base: Option<BaseChain>,
    pub comment: Option<String>,
    pub rules: Vec<Rule>,
}

impl Chain {
    pub fn regular(name: impl Into<String>) -> Chain {
        Chain { name: name.into(), base: None, comment: None, rules: Vec::new() }
    }
}

/// What attaches a chain to a netfilter hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BaseChain {
    pub chain_type: ChainType,
    pub hook: Hook,
    /// Numeric priority (`dstnat - 10` is -110); lower runs first.
    pub priority: i32,
    pub policy: Policy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainType {
    Filter,
    Nat,
    Route,
}

impl ChainType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
            ChainType::Route => "route",
        }
    }

    pub fn parse(s: &str) -> Option<ChainType> {
        match s {
            "filter" => Some(ChainType::Filter),
            "nat" => Some(ChainType::Nat),
            "route" => Some(ChainType::Route),
            _ => None,
        }
    }
}

pub use crate::backend::Hook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    #[default]
    Accept,
    Drop,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        }
    }
}

/// The type of one key or data field of a set or map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum DataType {
    Ipv4Addr,
    Ipv6Addr,
    InetProto,
    InetService,
    Mark,
    IfName,
    Verdict,
    /// A type this model does not interpret (kept by name).
    Other(String),
}

impl DataType {
    pub fn as_str(&self) -> &str {
        match self {
            DataType::Ipv4Addr => "ipv4_addr",
            DataType::Ipv6Addr => "ipv6_addr",
            DataType::InetProto => "inet_proto",
            DataType::InetService => "inet_service",
            DataType::Mark => "mark",
            DataType::IfName => "ifname",
            DataType::Verdict => "verdict",
            DataType::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> DataType {
        match s {
            "ipv4_addr" => DataType::Ipv4Addr,
            "ipv6_addr" => DataType::Ipv6Addr,
            "inet_proto" => DataType::InetProto,
            "inet_service" => DataType::InetService,
            "mark" => DataType::Mark,
            "ifname" => DataType::IfName,
            "verdict" => DataType::Verdict,
            other => DataType::Other(other.to_owned()),
        }
    }

    /// The address type of an IP family.
    pub fn addr(family: IpFamily) -> DataType {
        match family {
            IpFamily::V4 => DataType::Ipv4Addr,
            IpFamily::V6 => DataType::Ipv6Addr,
        }
    }
}

/// A set flag, as written after `flags`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum SetFlag {
    Constant,
    Interval,
    Timeout,
    Dynamic,
    Other(String),
}

impl SetFlag {
    pub fn as_str(&self) -> &str {
        match self {
            SetFlag::Constant => "constant",
            SetFlag::Interval => "interval",
            SetFlag::Timeout => "timeout",
            SetFlag::Dynamic => "dynamic",
            SetFlag::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> SetFlag {
        match s {
            "constant" => SetFlag::Constant,
            "interval" => SetFlag::Interval,
            "timeout" => SetFlag::Timeout,
            "dynamic" => SetFlag::Dynamic,
            other => SetFlag::Other(other.to_owned()),
        }
    }
}

/// A named set (`ip daddr @cluster-ips`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Set {
    pub name: String,
    /// One type per concatenated key field.
    pub key: Vec<DataType>,
    pub flags: Vec<SetFlag>,
    /// Default element timeout, in milliseconds.
    pub timeout_ms: Option<u64>,
    pub size: Option<u32>,
    pub comment: Option<String>,
    pub elements: Vec<Element>,
}

impl Set {
    pub fn new(name: impl Into<String>, key: Vec<DataType>) -> Set {
        Set {
            name: name.into(),
            key,
            flags: Vec::new(),
            timeout_ms: None,
            size: None,
            comment: None,
            elements: Vec::new(),
        }
    }
}

/// A named map (`… vmap @service-ips`); kube-proxy's maps all have verdict data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Map {
    pub name: String,
    pub key: Vec<DataType>,
    pub data: DataType,
    pub flags: Vec<SetFlag>,
    pub comment: Option<String>,
    pub elements: Vec<Element>,
}

impl Map {
    pub fn new(name: impl Into<String>, key: Vec<DataType>, data: DataType) -> Map {
        Map { name: name.into(), key, data, flags: Vec::new(), comment: None, elements: Vec::new() }
    }
}

/// One element of a set or map: the key (one value per concatenated field), an optional
/// comment and, in a map, the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Element {
    pub key: Vec<Value>,
    /// Per-element timeout and remaining lifetime (dynamic sets on a live node), ms.
    pub timeout_ms: Option<u64>,
    pub expires_ms: Option<u64>,
    pub comment: Option<String>,
    pub data: Option<ElementData>,
}

impl Element {
    pub fn key(key: Vec<Value>) -> Element {
        Element { key, timeout_ms: None, expires_ms: None, comment: None, data: None }
    }

    pub fn mapping(key: Vec<Value>, verdict: Verdict) -> Element {
        Element { data: Some(ElementData::Verdict(verdict)), ..Element::key(key) }
    }

    pub fn with_comment(mut self, comment: impl Into<String>) -> Element {
        self.comment = Some(comment.into());
        self
    }
}

/// The data of a map element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ElementData {
    Verdict(Verdict),
    Value(Value),
}

/// A rule: statements evaluated left to right, and its comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub statements: Vec<Statement>,
    pub comment: Option<String>,
}

impl Rule {
    pub fn new(statements: Vec<Statement>) -> Rule {
        Rule { statements, comment: None }
    }

    pub fn commented(statements: Vec<Statement>, comment: impl Into<String>) -> Rule {
        Rule { statements, comment: Some(comment.into()) }
    }
}

/// One statement of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Statement {
    /// `left [op] right`: the rule stops here unless it holds.
    Match(Match),
    /// `key vmap @map` / `key vmap { k : verdict , … }`: the verdict of the element found;
    /// the rule stops here when there is none.
    Vmap {
        key: Vec<Selector>,
        map: VmapSource,
    },
    /// `meta mark set …`.
    SetMark(MarkUpdate),
    /// `dnat to addr[:port]`.
    Dnat {
        addr: IpAddr,
        port: Option<u16>,
    },
    /// `masquerade [fully-random]`.
    Masquerade {
        fully_random: bool,
    },
    /// `update @set { key }`: adds the packet's key to a dynamic set.
    Update {
        set: String,
        key: Vec<Selector>,
    },
    /// `counter packets N bytes M`.
    Counter {
        packets: u64,
        bytes: u64,
    },
    Verdict(Verdict),
    /// Rule text this model does not interpret, kept verbatim (from a pasted ruleset).
    Unsupported(String),
}

/// Where a verdict map lookup looks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VmapSource {
    Named(String),
    Anonymous(Vec<Element>),
}

/// `meta mark set meta mark or X`, `… xor X`, or `meta mark set X`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MarkUpdate {
    Or(Integer),
    Xor(Integer),
    And(Integer),
    Set(Integer),
}

/// A relational match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// One selector, or a concatenation (`ip daddr . meta l4proto . th dport`).
    pub left: Vec<Selector>,
    /// `mark and 0x4000`: a bit mask applied to the (single, integer) selector.
    pub mask: Option<Integer>,
    pub op: Op,
    pub right: Operand,
}

impl Match {
    pub fn eq(left: Selector, right: Operand) -> Match {
        Match { left: vec![left], mask: None, op: Op::Eq, right }
    }

    pub fn ne(left: Selector, right: Operand) -> Match {
        Match { left: vec![left], mask: None, op: Op::Ne, right }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Op {
    Eq,
    Ne,
}

/// The right-hand side of a match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Operand {
    Value(Value),
    /// `{ a , b }`: an anonymous set.
    Set(AnonSet),
    /// `@name`: a named set.
    Named(String),
}

/// An anonymous set literal; `separator` records how kube-proxy spelled it (` , ` or `,`)
/// because the transaction reproduces its text byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnonSet {
    pub elements: Vec<Value>,
    pub separator: Separator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Separator {
    /// `{ a , b }` (knftables' `Concat` of `","` tokens) and `nft list`'s `{ a, b }`.
    Spaced,
    /// `{ a,b }` (a pre-joined string).
    Bare,
}

/// Something a rule reads from the packet, its metadata or the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Selector {
    /// `ip saddr`, `ip6 daddr`, …
    Addr { family: IpFamily, field: AddrField },
    /// `meta l4proto`.
    L4Proto,
    /// `th dport`.
    ThDport,
    /// `meta mark` (kube-proxy writes `mark`).
    Mark,
    /// `ct state`.
    CtState,
    /// `fib saddr type` / `fib daddr type`: the address type of the address.
    FibType(AddrField),
    /// `iifname`.
    Iifname,
    /// `oifname`.
    Oifname,
    /// `numgen random mod N`.
    NumgenRandom { modulus: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddrField {
    Saddr,
    Daddr,
}

impl AddrField {
    pub fn as_str(self) -> &'static str {
        match self {
            AddrField::Saddr => "saddr",
            AddrField::Daddr => "daddr",
        }
    }
}

/// A value in a rule, set element or map key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Value {
    Addr(IpAddr),
    Prefix(Cidr),
    /// `a-b`, inclusive (how `nft list` prints merged intervals).
    Range(IpAddr, IpAddr),
    Proto(L4Proto),
    Port(u16),
    Integer(Integer),
    CtState(CtState),
    AddrType(AddrType),
    /// An interface name, possibly a `prefix*` wildcard.
    Ifname(String),
    /// A token this model does not interpret (elements of unknown types).
    Other(String),
}

/// An integer literal, remembering whether it was written in hex and with how many digits
/// (`0x4000` in the reference tests, `0x00004000` on a real node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Integer {
    pub value: u32,
    /// Hex digits written after `0x`; `None` for decimal.
    pub hex_digits: Option<u8>,
}

impl Integer {
    pub fn decimal(value: u32) -> Integer {
        Integer { value, hex_digits: None }
    }

    /// Parses `0x4000` / `16384`, keeping the spelling.
    pub fn parse(s: &str) -> Option<Integer> {
        let s = s.trim();
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) if !hex.is_empty() && hex.len() <= 8 => {
                let value = u32::from_str_radix(hex, 16).ok()?;
                Some(Integer { value, hex_digits: u8::try_from(hex.len()).ok() })
            }
            Some(_) => None,
            None => s.parse().ok().map(Integer::decimal),
        }
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hex_digits {
            Some(w) => write!(f, "0x{:0width$x}", self.value, width = usize::from(w)),
            None => write!(f, "{}", self.value),
        }
    }
}

/// A layer-4 protocol as `meta l4proto` / `inet_proto` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct L4Proto(pub u8);

impl L4Proto {
    pub const ICMP: L4Proto = L4Proto(1);
    pub const TCP: L4Proto = L4Proto(6);
    pub const UDP: L4Proto = L4Proto(17);
    pub const ICMPV6: L4Proto = L4Proto(58);
    pub const SCTP: L4Proto = L4Proto(132);

    pub fn parse(s: &str) -> Option<L4Proto> {
        match s {
            "icmp" => Some(L4Proto::ICMP),
            "tcp" => Some(L4Proto::TCP),
            "udp" => Some(L4Proto::UDP),
            "ipv6-icmp" | "icmpv6" => Some(L4Proto::ICMPV6),
            "sctp" => Some(L4Proto::SCTP),
            n => n.parse().ok().map(L4Proto),
        }
    }
}

impl fmt::Display for L4Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            L4Proto::ICMP => f.write_str("icmp"),
            L4Proto::TCP => f.write_str("tcp"),
            L4Proto::UDP => f.write_str("udp"),
            L4Proto::ICMPV6 => f.write_str("ipv6-icmp"),
            L4Proto::SCTP => f.write_str("sctp"),
            L4Proto(n) => write!(f, "{n}"),
        }
    }
}

impl From<crate::net::Protocol> for L4Proto {
    fn from(p: crate::net::Protocol) -> L4Proto {
        match p {
            crate::net::Protocol::Tcp => L4Proto::TCP,
            crate::net::Protocol::Udp => L4Proto::UDP,
            crate::net::Protocol::Sctp => L4Proto::SCTP,
        }
    }
}

/// A conntrack state (`ct state new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CtState {
    Invalid,
    Established,
    Related,
    New,
    Untracked,
}

impl CtState {
    pub fn as_str(self) -> &'static str {
        match self {
            CtState::Invalid => "invalid",
            CtState::Established => "established",
            CtState::Related => "related",
            CtState::New => "new",
            CtState::Untracked => "untracked",
        }
    }

    pub fn parse(s: &str) -> Option<CtState> {
        match s {
            "invalid" => Some(CtState::Invalid),
            "established" => Some(CtState::Established),
            "related" => Some(CtState::Related),
            "new" => Some(CtState::New),
            "untracked" => Some(CtState::Untracked),
            _ => None,
        }
    }
}

/// An address type as `fib … type` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddrType {
    Unspec,
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

impl AddrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AddrType::Unspec => "unspec",
            AddrType::Unicast => "unicast",
            AddrType::Local => "local",
            AddrType::Broadcast => "broadcast",
            AddrType::Anycast => "anycast",
            AddrType::Multicast => "multicast",
            AddrType::Blackhole => "blackhole",
            AddrType::Unreachable => "unreachable",
            AddrType::Prohibit => "prohibit",
        }
    }

    pub fn parse(s: &str) -> Option<AddrType> {
        [
            AddrType::Unspec,
            AddrType::Unicast,
            AddrType::Local,
            AddrType::Broadcast,
            AddrType::Anycast,
            AddrType::Multicast,
            AddrType::Blackhole,
            AddrType::Unreachable,
            AddrType::Prohibit,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// A verdict: what a rule (or a map element) decides.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Verdict {
    Accept,
    Drop,
    /// `reject` (a statement in nft, terminal like a verdict).
    Reject,
    Continue,
    Return,
    Jump(String),
    Goto(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("accept"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Reject => f.write_str("reject"),
            Verdict::Continue => f.write_str("continue"),
            Verdict::Return => f.write_str("return"),
            Verdict::Jump(c) => write!(f, "jump {c}"),
            Verdict::Goto(c) => write!(f, "goto {c}"),
        }
    }
}

/// nft's standard priority names and the hooks each may be used with (nft 1.0.6's
/// `std_prios` and `std_prio_family_hook_compat`).
pub(crate) const STANDARD_PRIORITIES: [(&str, i32, Option<Hook>); 6] = [
    ("raw", -300, None),
    ("mangle", -150, None),
    ("dstnat", -100, Some(Hook::Prerouting)),
    ("filter", 0, None),
    ("security", 50, None),
    ("srcnat", 100, Some(Hook::Postrouting)),
];
