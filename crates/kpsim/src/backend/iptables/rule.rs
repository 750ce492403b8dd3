//! One iptables rule as a typed value: its match clauses in the order they are written, and
//! its target. `Display` of [`RuleLine`] is the `iptables-restore` line (`-A CHAIN …`) exactly
//! as kube-proxy writes it.
//!
//! This file knows the vocabulary and the restore spelling; the kernel's spelling is
//! [`super::save`]'s job, reading text is [`super::parse`]'s, and what a match means for a
//! packet is the tracer's (`sim::iptables`).

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::net::{Cidr, join_host_port};

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
        match self.single() {
            Some(ip) if !self.prefix_written => write!(f, "{ip}"),
            _ => write!(f, "{}", self.cidr),
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
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}:{}", self.first, self.last)
        }
    }
}

/// A conntrack state (`--ctstate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum CtState {
    Invalid,
    New,
    Related,
    Established,
    Untracked,
    Snat,
    Dnat,
}

impl CtState {
    pub fn parse(s: &str) -> Option<CtState> {
        Some(match s {
            "INVALID" => CtState::Invalid,
            "NEW" => CtState::New,
            "RELATED" => CtState::Related,
            "ESTABLISHED" => CtState::Established,
            "UNTRACKED" => CtState::Untracked,
            "SNAT" => CtState::Snat,
            "DNAT" => CtState::Dnat,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CtState::Invalid => "INVALID",
            CtState::New => "NEW",
            CtState::Related => "RELATED",
            CtState::Established => "ESTABLISHED",
            CtState::Untracked => "UNTRACKED",
            CtState::Snat => "SNAT",
            CtState::Dnat => "DNAT",
        }
    }
}

/// One `--src-type`/`--dst-type` of `-m addrtype`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AddrTypeSpec {
    pub negated: bool,
    /// `LOCAL`, `UNICAST`, … as written (upper case).
    pub types: Vec<String>,
}

/// What `-m recent` does with its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RecentAction {
    Set,
    Rcheck,
    Update,
    Remove,
}

impl RecentAction {
    pub fn option(self) -> &'static str {
        match self {
            RecentAction::Set => "--set",
            RecentAction::Rcheck => "--rcheck",
            RecentAction::Update => "--update",
            RecentAction::Remove => "--remove",
        }
    }
}

/// `-m recent` (session affinity).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Recent {
    pub name: Option<String>,
    pub action: RecentAction,
    /// `!` before the action.
    pub negated: bool,
    pub seconds: Option<u32>,
    pub hitcount: Option<u32>,
    pub rttl: bool,
    pub reap: bool,
    pub mask: Option<String>,
    /// `Some(true)` for `--rsource`, `Some(false)` for `--rdest`, `None` when not written.
    pub rsource: Option<bool>,
}

/// `-m statistic`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Statistic {
    /// `--mode random --probability P`, the probability as written.
    Random { negated: bool, probability: String },
    /// `--mode nth --every N [--packet P]`.
    Nth { negated: bool, every: u32, packet: u32 },
}

impl Statistic {
    /// The chance that a new packet matches.
    pub fn chance(&self) -> f64 {
        match self {
            Statistic::Random { negated, probability } => {
                let p = probability.parse::<f64>().unwrap_or(0.0).clamp(0.0, 1.0);
                if *negated { 1.0 - p } else { p }
            }
            Statistic::Nth { negated, every, .. } => {
                let p = if *every == 0 { 1.0 } else { 1.0 / f64::from(*every) };
                if *negated { 1.0 - p } else { p }
            }
        }
    }
}

/// One match clause of a rule, in the order it is written.
///
/// Port options of `-m tcp`/`-m udp`/`-m sctp` are clauses of their own because kube-proxy
/// writes them apart from the module (`-m tcp -p tcp -d 10.96.0.1 --dport 443`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "match", rename_all = "kebab-case")]
pub enum Match {
    /// `-p tcp`
    Protocol { negated: bool, protocol: String },
    /// `-s ADDR`
    Source { negated: bool, address: Address },
    /// `-d ADDR`
    Destination { negated: bool, address: Address },
    /// `-i NAME` (`+` suffix = prefix match)
    InInterface { negated: bool, name: String },
    /// `-o NAME`
    OutInterface { negated: bool, name: String },
    /// `-m tcp`, `-m udp`, `-m sctp`: the port matcher, options written separately.
    PortModule { module: String },
    /// `--dport P`
    DestinationPort { negated: bool, ports: PortRange },
    /// `--sport P`
    SourcePort { negated: bool, ports: PortRange },
    /// `-m comment --comment TEXT`
    Comment { text: String },
    /// `-m addrtype [--src-type T] [--dst-type T]`
    AddrType { source: Option<AddrTypeSpec>, destination: Option<AddrTypeSpec> },
    /// `-m conntrack [!] --ctstate S,…`
    Conntrack { negated: bool, states: Vec<CtState> },
    /// `-m mark [!] --mark VALUE[/MASK]`, as written.
    Mark { negated: bool, mark: String },
    /// `-m recent …`
    Recent(Recent),
    /// `-m statistic …`
    Statistic(Statistic),
    /// `-m nfacct --nfacct-name NAME`
    Nfacct { name: String },
    /// Any other module, kept as written: `-m NAME ARGS…`.
    Module { name: String, args: Vec<String> },
    /// An option outside any known module (`--syn`), kept as written.
    Option { negated: bool, name: String, values: Vec<String> },
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
        chain: String,
    },
    /// `-g CHAIN`
    Goto {
        chain: String,
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
            Match::Comment { text } => Some(text.as_str()),
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
        write!(f, "-A {}", self.chain)?;
        for m in &self.rule.matches {
            write!(f, " {m}")?;
        }
        if let Some(t) = &self.rule.target {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// A word as `iptables-restore` reads it back: quoted (with `"` and `\` escaped) when it is
/// empty or holds whitespace or quotes, as kube-proxy quotes its multi-word comments.
pub struct Word<'a>(pub &'a str);

impl fmt::Display for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let needs_quotes =
            s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'');
        if !needs_quotes {
            return f.write_str(s);
        }
        f.write_str("\"")?;
        let mut rest = s;
        while let Some(i) = rest.find(['"', '\\']) {
            f.write_str(&rest[..i])?;
            f.write_str("\\")?;
            f.write_str(&rest[i..i + 1])?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)?;
        f.write_str("\"")
    }
}

impl fmt::Debug for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Word({:?})", self.0)
    }
}

fn bang(negated: bool) -> &'static str {
    if negated { "! " } else { "" }
}

fn words(f: &mut fmt::Formatter<'_>, args: &[String]) -> fmt::Result {
    for a in args {
        write!(f, " {}", Word(a))?;
    }
    Ok(())
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Match::Protocol { negated, protocol } => write!(f, "{}-p {protocol}", bang(*negated)),
            Match::Source { negated, address } => write!(f, "{}-s {address}", bang(*negated)),
            Match::Destination { negated, address } => {
                write!(f, "{}-d {address}", bang(*negated))
            }
            Match::InInterface { negated, name } => write!(f, "{}-i {name}", bang(*negated)),
            Match::OutInterface { negated, name } => write!(f, "{}-o {name}", bang(*negated)),
            Match::PortModule { module } => write!(f, "-m {module}"),
            Match::DestinationPort { negated, ports } => {
                write!(f, "{}--dport {ports}", bang(*negated))
            }
            Match::SourcePort { negated, ports } => write!(f, "{}--sport {ports}", bang(*negated)),
            Match::Comment { text } => write!(f, "-m comment --comment {}", Word(text)),
            Match::AddrType { source, destination } => {
                f.write_str("-m addrtype")?;
                if let Some(s) = source {
                    write!(f, " {}--src-type {}", bang(s.negated), s.types.join(","))?;
                }
                if let Some(d) = destination {
                    write!(f, " {}--dst-type {}", bang(d.negated), d.types.join(","))?;
                }
                Ok(())
            }
            Match::Conntrack { negated, states } => {
                let s: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
                write!(f, "-m conntrack {}--ctstate {}", bang(*negated), s.join(","))
            }
            Match::Mark { negated, mark } => write!(f, "-m mark {}--mark {mark}", bang(*negated)),
            Match::Recent(r) => {
                f.write_str("-m recent")?;
                if let Some(n) = &r.name {
                    write!(f, " --name {}", Word(n))?;
                }
                write!(f, " {}{}", bang(r.negated), r.action.option())?;
                if let Some(s) = r.seconds {
                    write!(f, " --seconds {s}")?;
                }
                if let Some(h) = r.hitcount {
                    write!(f, " --hitcount {h}")?;
                }
                if r.rttl {
                    f.write_str(" --rttl")?;
                }
                if r.reap {
                    f.write_str(" --reap")?;
                }
                if let Some(m) = &r.mask {
                    write!(f, " --mask {m}")?;
                }
                match r.rsource {
                    Some(true) => f.write_str(" --rsource")?,
                    Some(false) => f.write_str(" --rdest")?,
                    None => {}
                }
                Ok(())
            }
            Match::Statistic(Statistic::Random { negated, probability }) => {
                write!(
                    f,
                    "-m statistic --mode random {}--probability {probability}",
                    bang(*negated)
                )
            }
            Match::Statistic(Statistic::Nth { negated, every, packet }) => {
                write!(f, "-m statistic --mode nth {}--every {every}", bang(*negated))?;
                if *packet != 0 {
                    write!(f, " --packet {packet}")?;
                }
                Ok(())
            }
            Match::Nfacct { name } => write!(f, "-m nfacct --nfacct-name {}", Word(name)),
            Match::Module { name, args } => {
                write!(f, "-m {name}")?;
                words(f, args)
            }
            Match::Option { negated, name, values } => {
                write!(f, "{}--{name}", bang(*negated))?;
                words(f, values)
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Accept => f.write_str("-j ACCEPT"),
            Target::Drop => f.write_str("-j DROP"),
            Target::Return => f.write_str("-j RETURN"),
            Target::Reject { with: None } => f.write_str("-j REJECT"),
            Target::Reject { with: Some(w) } => write!(f, "-j REJECT --reject-with {w}"),
            Target::Jump { chain } => write!(f, "-j {chain}"),
            Target::Goto { chain } => write!(f, "-g {chain}"),
            Target::Dnat { ip, port } => match port {
                Some(p) => write!(f, "-j DNAT --to-destination {}", join_host_port(*ip, *p)),
                None => write!(f, "-j DNAT --to-destination {ip}"),
            },
            Target::Masquerade { random_fully, to_ports } => {
                f.write_str("-j MASQUERADE")?;
                if let Some(p) = to_ports {
                    write!(f, " --to-ports {p}")?;
                }
                if *random_fully {
                    f.write_str(" --random-fully")?;
                }
                Ok(())
            }
            Target::Mark(op) => match op {
                MarkOp::Or(v) => write!(f, "-j MARK --or-mark {v}"),
                MarkOp::Xor(v) => write!(f, "-j MARK --xor-mark {v}"),
                MarkOp::And(v) => write!(f, "-j MARK --and-mark {v}"),
                MarkOp::Set(v) => write!(f, "-j MARK --set-mark {v}"),
                MarkOp::SetX(v) => write!(f, "-j MARK --set-xmark {v}"),
            },
            Target::Other { name, args } => {
                write!(f, "-j {name}")?;
                words(f, args)
            }
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
    fn addresses_keep_the_written_form() {
        let ip: IpAddr = "172.30.0.41".parse().unwrap();
        assert_eq!(Address::host(ip).to_string(), "172.30.0.41");
        assert_eq!(Address::network(Cidr::host(ip)).to_string(), "172.30.0.41/32");
    }
}
