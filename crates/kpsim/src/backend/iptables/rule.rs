//! One iptables rule as a typed value: its match clauses in the order they are written, and
//! its target. `Display` of [`RuleLine`] is the `iptables-restore` line (`-A CHAIN …`) exactly
//! as kube-proxy writes it.
//!
//! This file knows the vocabulary and the restore spelling; the kernel's spelling is
//! [`super::save`]'s job, reading text is [`super::parse`]'s, and what a match means for a
//! packet is the tracer's (`sim::iptables`).

mod ipvs_modules;
mod match_modules;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use super::chain_name::ChainName;
use crate::net::{Cidr, Protocol, write_decimal, write_host_port, write_ip};

pub use ipvs_modules::{IpvsMatch, SetDirection, SetMatch};
pub use match_modules::{AddrTypeSpec, CtState, Recent, RecentAction, Statistic};

/// A protocol as `-p` and the port modules (`-m tcp`) spell it: the ones kube-proxy writes
/// are values, any other spelling is kept as written (`-p TCP`, `-p 6`, `-p all`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProtocolName {
    Tcp,
    Udp,
    Sctp,
    /// Anything else, as written.
    Other(String),
}

impl ProtocolName {
    /// Reads a written protocol; only the exact lower-case names become known values, so
    /// that the written spelling survives.
    pub fn parse(s: &str) -> ProtocolName {
        match s {
            "tcp" => ProtocolName::Tcp,
            "udp" => ProtocolName::Udp,
            "sctp" => ProtocolName::Sctp,
            other => ProtocolName::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ProtocolName::Tcp => "tcp",
            ProtocolName::Udp => "udp",
            ProtocolName::Sctp => "sctp",
            ProtocolName::Other(s) => s,
        }
    }

    /// The transport protocol this names, when it is one kube-proxy writes.
    pub fn transport(&self) -> Option<Protocol> {
        match self {
            ProtocolName::Tcp => Some(Protocol::Tcp),
            ProtocolName::Udp => Some(Protocol::Udp),
            ProtocolName::Sctp => Some(Protocol::Sctp),
            ProtocolName::Other(_) => None,
        }
    }
}

impl From<Protocol> for ProtocolName {
    fn from(p: Protocol) -> ProtocolName {
        match p {
            Protocol::Tcp => ProtocolName::Tcp,
            Protocol::Udp => ProtocolName::Udp,
            Protocol::Sctp => ProtocolName::Sctp,
        }
    }
}

impl PartialEq<str> for ProtocolName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ProtocolName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for ProtocolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialised as written (`"tcp"`).
impl Serialize for ProtocolName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An address match (`-s`, `-d`): a network, and whether the prefix length was written
/// (`-d 172.30.0.41` vs `-d 127.0.0.0/8`): kube-proxy writes service IPs without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Address {
    pub cidr: Cidr,
    pub prefix_written: bool,
}

impl Address {
    /// A single address written without a prefix length.
    pub fn host(ip: IpAddr) -> Address {
        Address { cidr: Cidr::host(ip), prefix_written: false }
    }

    /// A network written with its prefix length.
    pub fn network(cidr: Cidr) -> Address {
        Address { cidr, prefix_written: true }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.cidr.contains(ip)
    }

    /// The single address this matches, when it matches exactly one.
    pub fn single(&self) -> Option<IpAddr> {
        let full = if self.cidr.network().is_ipv4() { 32 } else { 128 };
        (self.cidr.prefix_len() == full).then_some(self.cidr.network())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_address(f, self)
    }
}

fn write_address<W: fmt::Write + ?Sized>(w: &mut W, a: &Address) -> fmt::Result {
    write_ip(w, a.cidr.network())?;
    match a.single() {
        Some(_) if !a.prefix_written => Ok(()),
        _ => {
            w.write_char('/')?;
            write_decimal(w, u32::from(a.cidr.prefix_len()))
        }
    }
}

/// A port or an inclusive port range (`80`, `30000:32767`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn single(port: u16) -> PortRange {
        PortRange { first: port, last: port }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ports(f, self)
    }
}

fn write_ports<W: fmt::Write + ?Sized>(w: &mut W, p: &PortRange) -> fmt::Result {
    write_decimal(w, u32::from(p.first))?;
    if p.first != p.last {
        w.write_char(':')?;
        write_decimal(w, u32::from(p.last))?;
    }
    Ok(())
}

/// One match clause of a rule, in the order it is written.
///
/// Port options of `-m tcp`/`-m udp`/`-m sctp` are clauses of their own because kube-proxy
/// writes them apart from the module (`-m tcp -p tcp -d 10.96.0.1 --dport 443`).
///
/// The clauses kube-proxy seldom writes keep their bulk behind a `Box`, so that a clause
/// takes 40 bytes: a large cluster's ruleset holds a million of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "match", rename_all = "kebab-case")]
pub enum Match {
    /// `-p tcp`
    Protocol { negated: bool, protocol: ProtocolName },
    /// `-s ADDR`
    Source { negated: bool, address: Address },
    /// `-d ADDR`
    Destination { negated: bool, address: Address },
    /// `-i NAME` (`+` suffix = prefix match)
    InInterface { negated: bool, name: String },
    /// `-o NAME`
    OutInterface { negated: bool, name: String },
    /// `-m tcp`, `-m udp`, `-m sctp`: the port matcher, options written separately.
    PortModule { module: ProtocolName },
    /// `--dport P`
    DestinationPort { negated: bool, ports: PortRange },
    /// `--sport P`
    SourcePort { negated: bool, ports: PortRange },
    /// `-m comment --comment TEXT` (shared: kube-proxy writes the same comment on several
    /// rules of a service port).
    Comment { text: Arc<str> },
    /// `-m addrtype [--src-type T] [--dst-type T]`
    AddrType { source: Option<Box<AddrTypeSpec>>, destination: Option<Box<AddrTypeSpec>> },
    /// `-m conntrack [!] --ctstate S,…`
    Conntrack { negated: bool, states: Vec<CtState> },
    /// `-m mark [!] --mark VALUE[/MASK]`, as written.
    Mark { negated: bool, mark: String },
    /// `-m recent …`
    Recent(Box<Recent>),
    /// `-m statistic …`
    Statistic(Statistic),
    /// `-m nfacct --nfacct-name NAME`
    Nfacct { name: String },
    /// `-m set [!] --match-set NAME dst,dst` (IPVS mode's ipset lookups).
    Set(Box<SetMatch>),
    /// `-m physdev [!] --physdev-is-in`
    PhysdevIsIn { negated: bool },
    /// `-m ipvs --vaddr A --vproto P --vport N`
    Ipvs(Box<IpvsMatch>),
    /// Any other module, kept as written: `-m NAME ARGS…`.
    Module { name: Box<str>, args: Box<[String]> },
    /// An option outside any known module (`--syn`), kept as written.
    Option { negated: bool, name: Box<str>, values: Box<[String]> },
}

/// A `MARK` target operation, the value as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkOp {
    /// `--or-mark V`
    Or(String),
    /// `--xor-mark V`
    Xor(String),
    /// `--and-mark V`
    And(String),
    /// `--set-mark V[/M]`
    Set(String),
    /// `--set-xmark V[/M]`
    SetX(String),
}

/// Parses `0x4000`, `16384`, `0x4000/0x4000` into value and mask (mask `None` when absent).
pub fn parse_mark(s: &str) -> Option<(u32, Option<u32>)> {
    let num = |t: &str| -> Option<u32> {
        let t = t.trim();
        match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => t.parse().ok(),
        }
    };
    match s.split_once('/') {
        Some((v, m)) => Some((num(v)?, Some(num(m)?))),
        None => Some((num(s)?, None)),
    }
}

impl MarkOp {
    /// The kernel's `(value, mask)` form: the mark becomes `(mark & !mask) ^ value`.
    pub fn xmark(&self) -> Option<(u32, u32)> {
        Some(match self {
            MarkOp::Or(v) => {
                let v = parse_mark(v)?.0;
                (v, v)
            }
            MarkOp::Xor(v) => (parse_mark(v)?.0, 0),
            MarkOp::And(v) => (0, !parse_mark(v)?.0),
            MarkOp::Set(v) => {
                let (v, m) = parse_mark(v)?;
                (v, m.unwrap_or(u32::MAX))
            }
            MarkOp::SetX(v) => {
                let (v, m) = parse_mark(v)?;
                (v, m.unwrap_or(u32::MAX))
            }
        })
    }

    /// Applies the operation to a packet mark.
    pub fn apply(&self, mark: u32) -> u32 {
        match self.xmark() {
            Some((value, mask)) => (mark & !mask) ^ value,
            None => mark,
        }
    }
}

/// What a rule does when it matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "target", rename_all = "kebab-case")]
pub enum Target {
    Accept,
    Drop,
    Return,
    /// `-j REJECT [--reject-with TYPE]`
    Reject {
        with: Option<String>,
    },
    /// `-j CHAIN`
    Jump {
        chain: ChainName,
    },
    /// `-g CHAIN`
    Goto {
        chain: ChainName,
    },
    /// `-j DNAT --to-destination IP[:PORT]`
    Dnat {
        ip: IpAddr,
        port: Option<u16>,
    },
    /// `-j MASQUERADE [--to-ports P] [--random-fully]`
    Masquerade {
        random_fully: bool,
        to_ports: Option<String>,
    },
    /// `-j MARK --or-mark …`
    Mark(MarkOp),
    /// Any other target, kept as written.
    Other {
        name: String,
        args: Vec<String>,
    },
}

/// Where a rule comes from on the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RuleOrigin {
    /// Part of the `iptables-restore` input.
    #[default]
    Restore,
    /// Added with `iptables -I` outside the restore input (the jump rules from the built-in
    /// chains): present on the node and in `iptables-save`, absent from the restore text.
    Inserted,
}

/// One rule: match clauses in written order, and an optional target (a rule without one only
/// counts packets, like kube-proxy's last `KUBE-FW-…` rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Rule {
    pub matches: Vec<Match>,
    pub target: Option<Target>,
    pub origin: RuleOrigin,
}

impl Rule {
    pub fn new(matches: Vec<Match>, target: Option<Target>) -> Rule {
        Rule { matches, target, origin: RuleOrigin::Restore }
    }

    /// The `-A CHAIN …` line of this rule in `chain`.
    pub fn line<'a>(&'a self, chain: &'a str) -> RuleLine<'a> {
        RuleLine { chain, rule: self }
    }

    /// The comment of the rule, if it has one.
    pub fn comment(&self) -> Option<&str> {
        self.matches.iter().find_map(|m| match m {
            Match::Comment { text } => Some(&**text),
            _ => None,
        })
    }
}

/// A rule in its chain, displayed as its `iptables-restore` line.
#[derive(Debug, Clone, Copy)]
pub struct RuleLine<'a> {
    pub chain: &'a str,
    pub rule: &'a Rule,
}

impl fmt::Display for RuleLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl RuleLine<'_> {
    /// Writes the line (without a newline) to any writer: `Display` and the whole-ruleset
    /// rendering, which appends every line to one `String`, share this.
    pub(crate) fn write_to<W: fmt::Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        w.write_str("-A ")?;
        w.write_str(self.chain)?;
        for m in &self.rule.matches {
            w.write_char(' ')?;
            write_match(w, m)?;
        }
        if let Some(t) = &self.rule.target {
            w.write_char(' ')?;
            write_target(w, t)?;
        }
        Ok(())
    }
}

/// A word as `iptables-restore` reads it back: quoted (with `"` and `\` escaped) when it is
/// empty or holds whitespace or quotes, as kube-proxy quotes its multi-word comments.
pub struct Word<'a>(pub &'a str);

impl fmt::Display for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_word(f, self.0)
    }
}

fn write_word<W: fmt::Write + ?Sized>(w: &mut W, s: &str) -> fmt::Result {
    let needs_quotes =
        s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'');
    if !needs_quotes {
        return w.write_str(s);
    }
    w.write_str("\"")?;
    let mut rest = s;
    while let Some(i) = rest.find(['"', '\\']) {
        w.write_str(&rest[..i])?;
        w.write_str("\\")?;
        w.write_str(&rest[i..i + 1])?;
        rest = &rest[i + 1..];
    }
    w.write_str(rest)?;
    w.write_str("\"")
}

impl fmt::Debug for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Word({:?})", self.0)
    }
}

fn bang(negated: bool) -> &'static str {
    if negated { "! " } else { "" }
}

fn words<W: fmt::Write + ?Sized>(w: &mut W, args: &[String]) -> fmt::Result {
    for a in args {
        w.write_char(' ')?;
        write_word(w, a)?;
    }
    Ok(())
}

/// `a,b,c`.
fn joined<'a, W: fmt::Write + ?Sized>(
    w: &mut W,
    items: impl IntoIterator<Item = &'a str>,
) -> fmt::Result {
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        w.write_str(s)?;
    }
    Ok(())
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_match(f, self)
    }
}

fn write_match<W: fmt::Write + ?Sized>(f: &mut W, m: &Match) -> fmt::Result {
    match m {
        Match::Protocol { negated, protocol } => {
            f.write_str(bang(*negated))?;
            f.write_str("-p ")?;
            f.write_str(protocol.as_str())
        }
        Match::Source { negated, address } => {
            f.write_str(bang(*negated))?;
            f.write_str("-s ")?;
            write_address(f, address)
        }
        Match::Destination { negated, address } => {
            f.write_str(bang(*negated))?;
            f.write_str("-d ")?;
            write_address(f, address)
        }
        Match::InInterface { negated, name } => {
            f.write_str(bang(*negated))?;
            f.write_str("-i ")?;
            f.write_str(name)
        }
        Match::OutInterface { negated, name } => {
            f.write_str(bang(*negated))?;
            f.write_str("-o ")?;
            f.write_str(name)
        }
        Match::PortModule { module } => {
            f.write_str("-m ")?;
            f.write_str(module.as_str())
        }
        Match::DestinationPort { negated, ports } => {
            f.write_str(bang(*negated))?;
            f.write_str("--dport ")?;
            write_ports(f, ports)
        }
        Match::SourcePort { negated, ports } => {
            f.write_str(bang(*negated))?;
            f.write_str("--sport ")?;
            write_ports(f, ports)
        }
        Match::Comment { text } => {
            f.write_str("-m comment --comment ")?;
            write_word(f, text)
        }
        Match::AddrType { source, destination } => {
            f.write_str("-m addrtype")?;
            if let Some(s) = source {
                f.write_char(' ')?;
                f.write_str(bang(s.negated))?;
                f.write_str("--src-type ")?;
                joined(f, s.types.iter().map(String::as_str))?;
            }
            if let Some(d) = destination {
                f.write_char(' ')?;
                f.write_str(bang(d.negated))?;
                f.write_str("--dst-type ")?;
                joined(f, d.types.iter().map(String::as_str))?;
            }
            Ok(())
        }
        Match::Conntrack { negated, states } => {
            f.write_str("-m conntrack ")?;
            f.write_str(bang(*negated))?;
            f.write_str("--ctstate ")?;
            joined(f, states.iter().map(|s| s.as_str()))
        }
        Match::Mark { negated, mark } => {
            f.write_str("-m mark ")?;
            f.write_str(bang(*negated))?;
            f.write_str("--mark ")?;
            f.write_str(mark)
        }
        Match::Recent(r) => {
            f.write_str("-m recent")?;
            if let Some(n) = &r.name {
                f.write_str(" --name ")?;
                write_word(f, n)?;
            }
            f.write_char(' ')?;
            f.write_str(bang(r.negated))?;
            f.write_str(r.action.option())?;
            if let Some(s) = r.seconds {
                f.write_str(" --seconds ")?;
                write_decimal(f, s)?;
            }
            if let Some(h) = r.hitcount {
                f.write_str(" --hitcount ")?;
                write_decimal(f, h)?;
            }
            if r.rttl {
                f.write_str(" --rttl")?;
            }
            if r.reap {
                f.write_str(" --reap")?;
            }
            if let Some(m) = &r.mask {
                f.write_str(" --mask ")?;
                f.write_str(m)?;
            }
            match r.rsource {
                Some(true) => f.write_str(" --rsource")?,
                Some(false) => f.write_str(" --rdest")?,
                None => {}
            }
            Ok(())
        }
        Match::Statistic(Statistic::Random { negated, probability }) => {
            f.write_str("-m statistic --mode random ")?;
            f.write_str(bang(*negated))?;
            f.write_str("--probability ")?;
            f.write_str(probability)
        }
        Match::Statistic(Statistic::Nth { negated, every, packet }) => {
            f.write_str("-m statistic --mode nth ")?;
            f.write_str(bang(*negated))?;
            f.write_str("--every ")?;
            write_decimal(f, *every)?;
            if *packet != 0 {
                f.write_str(" --packet ")?;
                write_decimal(f, *packet)?;
            }
            Ok(())
        }
        Match::Nfacct { name } => {
            f.write_str("-m nfacct --nfacct-name ")?;
            write_word(f, name)
        }
        Match::Set(m) => m.write_to(f),
        Match::PhysdevIsIn { negated } => ipvs_modules::write_physdev_is_in(f, *negated),
        Match::Ipvs(m) => m.write_to(f),
        Match::Module { name, args } => {
            f.write_str("-m ")?;
            f.write_str(name)?;
            words(f, args)
        }
        Match::Option { negated, name, values } => {
            f.write_str(bang(*negated))?;
            f.write_str("--")?;
            f.write_str(name)?;
            words(f, values)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_target(f, self)
    }
}

fn write_target<W: fmt::Write + ?Sized>(f: &mut W, t: &Target) -> fmt::Result {
    match t {
        Target::Accept => f.write_str("-j ACCEPT"),
        Target::Drop => f.write_str("-j DROP"),
        Target::Return => f.write_str("-j RETURN"),
        Target::Reject { with: None } => f.write_str("-j REJECT"),
        Target::Reject { with: Some(w) } => {
            f.write_str("-j REJECT --reject-with ")?;
            f.write_str(w)
        }
        Target::Jump { chain } => {
            f.write_str("-j ")?;
            f.write_str(chain)
        }
        Target::Goto { chain } => {
            f.write_str("-g ")?;
            f.write_str(chain)
        }
        Target::Dnat { ip, port } => {
            f.write_str("-j DNAT --to-destination ")?;
            match port {
                Some(p) => write_host_port(f, *ip, *p),
                None => write_ip(f, *ip),
            }
        }
        Target::Masquerade { random_fully, to_ports } => {
            f.write_str("-j MASQUERADE")?;
            if let Some(p) = to_ports {
                f.write_str(" --to-ports ")?;
                f.write_str(p)?;
            }
            if *random_fully {
                f.write_str(" --random-fully")?;
            }
            Ok(())
        }
        Target::Mark(op) => {
            let (option, v) = match op {
                MarkOp::Or(v) => ("-j MARK --or-mark ", v),
                MarkOp::Xor(v) => ("-j MARK --xor-mark ", v),
                MarkOp::And(v) => ("-j MARK --and-mark ", v),
                MarkOp::Set(v) => ("-j MARK --set-mark ", v),
                MarkOp::SetX(v) => ("-j MARK --set-xmark ", v),
            };
            f.write_str(option)?;
            f.write_str(v)
        }
        Target::Other { name, args } => {
            f.write_str("-j ")?;
            f.write_str(name)?;
            words(f, args)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_iptables_needs_it() {
        assert_eq!(Word("ns1/svc1:p80").to_string(), "ns1/svc1:p80");
        assert_eq!(Word("ns1/svc1:p80 cluster IP").to_string(), "\"ns1/svc1:p80 cluster IP\"");
        assert_eq!(Word("a\"b c").to_string(), "\"a\\\"b c\"");
    }

    #[test]
    fn mark_operations_follow_the_kernel_xmark_arithmetic() {
        assert_eq!(MarkOp::Or("0x4000".into()).apply(0x1), 0x4001);
        assert_eq!(MarkOp::Xor("0x4000".into()).apply(0x4001), 0x1);
        assert_eq!(MarkOp::SetX("0x10/0xff".into()).apply(0x1234), 0x1210);
    }

    #[test]
    fn a_match_clause_stays_small() {
        assert!(std::mem::size_of::<Match>() <= 40, "{}", std::mem::size_of::<Match>());
    }

    #[test]
    fn addresses_keep_the_written_form() {
        let ip: IpAddr = "172.30.0.41".parse().unwrap();
        assert_eq!(Address::host(ip).to_string(), "172.30.0.41");
        assert_eq!(Address::network(Cidr::host(ip)).to_string(), "172.30.0.41/32");
    }
}
