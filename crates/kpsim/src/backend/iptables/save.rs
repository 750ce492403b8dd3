//! The `iptables-save` rendering: the ruleset as the kernel prints it back on the node
//! (iptables 1.8.9, nf_tables backend), so users can diff it against their nodes.
//!
//! What the kernel round trip changes, found by loading kube-proxy's restore input into a real
//! `iptables-restore` and reading `iptables-save` (the kernel round-trip test checks every
//! case): tables in the order mangle, security, raw, filter, nat; built-in chains first with
//! their policy (`:INPUT ACCEPT [0:0]`), then user chains sorted by name; per rule the address
//! and interface matches first (`-s`, `-d` with `/32`, `-i`, `-o`, `-p`), then the match
//! modules in load order with their options (`-p tcp … -m tcp --dport 80`); comments quoted
//! unless made of `[A-Za-z0-9_-]`; `MARK --or-mark M` as `--set-xmark M/M`; `REJECT` with its
//! default `--reject-with`; `-m recent` with `--mask` and `--rsource`; probabilities as stored
//! (`lround(p·2³¹)/2³¹` printed with 11 decimals); `--nfacct-name` followed by two spaces.

use std::fmt::{self, Write as _};

use super::rule::{Match, Rule, Statistic, Target, parse_mark};
use super::ruleset::{Policy, Ruleset, TableName};
use crate::net::{IpFamily, join_host_port};

/// `iptables-save` output of a ruleset (see [`Ruleset::save`]).
#[derive(Debug, Clone, Copy)]
pub struct Save<'a>(pub &'a Ruleset);

const TABLE_ORDER: [TableName; 5] =
    [TableName::Mangle, TableName::Security, TableName::Raw, TableName::Filter, TableName::Nat];

impl fmt::Display for Save<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rs = self.0;
        for name in TABLE_ORDER {
            let Some(table) = rs.table(name) else { continue };
            writeln!(f, "*{name}")?;
            let builtins = name.builtin_chains();
            for b in builtins {
                let policy = table.chain(b).and_then(|c| c.policy).unwrap_or(Policy::Accept);
                writeln!(f, ":{b} {} [0:0]", policy.as_str())?;
            }
            let mut user: Vec<&str> = table
                .chains()
                .into_iter()
                .map(|c| c.name.as_str())
                .filter(|n| !builtins.contains(n))
                .collect();
            user.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for u in &user {
                writeln!(f, ":{u} - [0:0]")?;
            }
            for chain in builtins.iter().copied().chain(user.iter().copied()) {
                let Some(c) = table.chain(chain) else { continue };
                for rule in &c.rules {
                    writeln!(f, "{}", SaveRule { chain, rule, family: rs.family })?;
                }
            }
            writeln!(f, "COMMIT")?;
        }
        Ok(())
    }
}

/// One rule as `iptables-save` prints it.
#[derive(Debug, Clone, Copy)]
pub struct SaveRule<'a> {
    pub chain: &'a str,
    pub rule: &'a Rule,
    pub family: IpFamily,
}

fn bang(negated: bool) -> &'static str {
    if negated { " !" } else { "" }
}

/// `xtables_save_string`: bare when made of `[A-Za-z0-9_-]`, else double-quoted with `"`,
/// `\` and `'` escaped (IPVS mode's SCTP set comments hold `'hash ip:port'`).
pub fn save_string(s: &str) -> String {
    let plain =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The probability as xt_statistic stores and prints it.
pub fn kernel_probability(p: &str) -> String {
    let p: f64 = p.parse().unwrap_or(0.0);
    let stored = (p * 2_147_483_648.0).round().clamp(0.0, u32::MAX as f64);
    format!("{:.11}", stored / 2_147_483_648.0)
}

fn mark_text(value: u32, mask: Option<u32>) -> String {
    match mask {
        Some(m) if m != u32::MAX => format!("0x{value:x}/0x{m:x}"),
        _ => format!("0x{value:x}"),
    }
}

/// A match module with its options, in load order.
struct Module {
    name: String,
    options: String,
}

fn module_of(m: &Match, family: IpFamily) -> Option<Module> {
    let module = |name: &str, options: String| Some(Module { name: name.to_owned(), options });
    match m {
        Match::Protocol { .. }
        | Match::Source { .. }
        | Match::Destination { .. }
        | Match::InInterface { .. }
        | Match::OutInterface { .. }
        | Match::DestinationPort { .. }
        | Match::SourcePort { .. }
        | Match::Option { .. } => None,
        Match::PortModule { module: name } => module(name.as_str(), String::new()),
        Match::Comment { text } => module("comment", format!(" --comment {}", save_string(text))),
        Match::AddrType { source, destination } => {
            let mut o = String::new();
            if let Some(s) = source {
                let _ = write!(o, "{} --src-type {}", bang(s.negated), s.types.join(","));
            }
            if let Some(d) = destination {
                let _ = write!(o, "{} --dst-type {}", bang(d.negated), d.types.join(","));
            }
            module("addrtype", o)
        }
        Match::Conntrack { negated, states } => {
            let mut sorted = states.clone();
            sorted.sort();
            sorted.dedup();
            let s: Vec<&str> = sorted.iter().map(|s| s.as_str()).collect();
            module("conntrack", format!("{} --ctstate {}", bang(*negated), s.join(",")))
        }
        Match::Mark { negated, mark } => {
            let text = match parse_mark(mark) {
                Some((v, m)) => mark_text(v, m),
                None => mark.clone(),
            };
            module("mark", format!("{} --mark {text}", bang(*negated)))
        }
        Match::Recent(r) => {
            let mut o = String::new();
            let _ = write!(o, "{} {}", bang(r.negated), r.action.option());
            if let Some(s) = r.seconds {
                let _ = write!(o, " --seconds {s}");
            }
            if let Some(h) = r.hitcount {
                let _ = write!(o, " --hitcount {h}");
            }
            if r.rttl {
                o.push_str(" --rttl");
            }
            if r.reap {
                o.push_str(" --reap");
            }
            let _ = write!(o, " --name {}", r.name.as_deref().unwrap_or("DEFAULT"));
            let mask = r.mask.clone().unwrap_or_else(|| match family {
                IpFamily::V4 => "255.255.255.255".to_owned(),
                IpFamily::V6 => "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".to_owned(),
            });
            let _ = write!(o, " --mask {mask}");
            o.push_str(if r.rsource == Some(false) { " --rdest" } else { " --rsource" });
            module("recent", o)
        }
        Match::Statistic(Statistic::Random { negated, probability }) => module(
            "statistic",
            format!(
                " --mode random{} --probability {}",
                bang(*negated),
                kernel_probability(probability)
            ),
        ),
        Match::Statistic(Statistic::Nth { negated, every, packet }) => module(
            "statistic",
            format!(" --mode nth{} --every {every} --packet {packet}", bang(*negated)),
        ),
        Match::Nfacct { name } => {
            module("nfacct", format!(" --nfacct-name  {}", save_string(name)))
        }
        Match::Set(m) => module(
            "set",
            format!("{} --match-set {} {}", bang(m.negated), m.name, m.directions_text()),
        ),
        Match::PhysdevIsIn { negated } => {
            module("physdev", format!("{} --physdev-is-in", bang(*negated)))
        }
        // libxt_ipvs saves the protocol as its number, before the address (whose mask is
        // left out when it is a host's), then the port.
        Match::Ipvs(m) => module(
            "ipvs",
            format!(" --vproto {} --vaddr {} --vport {}", m.vproto.number(), m.vaddr, m.vport),
        ),
        Match::Module { name, args } => {
            let mut o = String::new();
            for a in args {
                let _ = write!(o, " {a}");
            }
            module(name, o)
        }
    }
}

impl fmt::Display for SaveRule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.rule;
        write!(f, "-A {}", self.chain)?;
        // Header: -s, -d, -i, -o, -p. The kernel keeps an address match only as a mask, so
        // a prefix of length 0 (`-s 0.0.0.0/0`) matches everything and is not printed.
        for m in &r.matches {
            if let Match::Source { negated, address } = m
                && (*negated || address.cidr.prefix_len() > 0)
            {
                write!(f, "{} -s {}", bang(*negated), address.cidr)?;
            }
        }
        for m in &r.matches {
            if let Match::Destination { negated, address } = m
                && (*negated || address.cidr.prefix_len() > 0)
            {
                write!(f, "{} -d {}", bang(*negated), address.cidr)?;
            }
        }
        for m in &r.matches {
            if let Match::InInterface { negated, name } = m {
                write!(f, "{} -i {name}", bang(*negated))?;
            }
        }
        for m in &r.matches {
            if let Match::OutInterface { negated, name } = m {
                write!(f, "{} -o {name}", bang(*negated))?;
            }
        }
        let protocol = r.matches.iter().find_map(|m| match m {
            Match::Protocol { negated, protocol } => Some((*negated, protocol.clone())),
            _ => None,
        });
        if let Some((negated, p)) = &protocol {
            write!(f, "{} -p {p}", bang(*negated))?;
        }
        // Modules in load order; port options belong to the port module loaded before them
        // (or to the one `-p` loads implicitly, where they are written).
        let mut modules: Vec<Module> = Vec::new();
        let mut port_module: Option<usize> = None;
        for m in &r.matches {
            match m {
                Match::DestinationPort { negated, ports }
                | Match::SourcePort { negated, ports } => {
                    let opt =
                        if matches!(m, Match::DestinationPort { .. }) { "dport" } else { "sport" };
                    let i = match port_module {
                        Some(i) => i,
                        None => {
                            let name = protocol
                                .as_ref()
                                .and_then(|p| p.1.transport())
                                .map_or("tcp", |p| p.as_lower())
                                .to_owned();
                            modules.push(Module { name, options: String::new() });
                            port_module = Some(modules.len() - 1);
                            modules.len() - 1
                        }
                    };
                    let _ = write!(modules[i].options, "{} --{opt} {ports}", bang(*negated));
                }
                Match::Option { negated, name, values } => {
                    let mut o = format!("{} --{name}", bang(*negated));
                    for v in values {
                        let _ = write!(o, " {v}");
                    }
                    match modules.last_mut() {
                        Some(last) => last.options.push_str(&o),
                        None => modules.push(Module { name: String::new(), options: o }),
                    }
                }
                _ => {
                    if let Some(module) = module_of(m, self.family) {
                        if matches!(m, Match::PortModule { .. }) {
                            port_module = Some(modules.len());
                        }
                        modules.push(module);
                    }
                }
            }
        }
        for m in &modules {
            if m.name.is_empty() {
                f.write_str(&m.options)?;
            } else {
                write!(f, " -m {}{}", m.name, m.options)?;
            }
        }
        if let Some(t) = &r.target {
            write!(f, " {}", SaveTarget { target: t, family: self.family })?;
        }
        Ok(())
    }
}

struct SaveTarget<'a> {
    target: &'a Target,
    family: IpFamily,
}

impl fmt::Display for SaveTarget<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target {
            Target::Reject { with } => {
                let default = match self.family {
                    IpFamily::V4 => "icmp-port-unreachable",
                    IpFamily::V6 => "icmp6-port-unreachable",
                };
                write!(f, "-j REJECT --reject-with {}", with.as_deref().unwrap_or(default))
            }
            Target::Dnat { ip, port } => match port {
                Some(p) => write!(f, "-j DNAT --to-destination {}", join_host_port(*ip, *p)),
                None => write!(f, "-j DNAT --to-destination {ip}"),
            },
            Target::Mark(op) => match op.xmark() {
                Some((v, m)) => write!(f, "-j MARK --set-xmark 0x{v:x}/0x{m:x}"),
                None => write!(f, "{}", Target::Mark(op.clone())),
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
            other => write!(f, "{other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_round_trip_like_xt_statistic() {
        assert_eq!(kernel_probability("0.3333333333"), "0.33333333349");
        assert_eq!(kernel_probability("0.5000000000"), "0.50000000000");
        assert_eq!(kernel_probability("0.0000099999"), "0.00001000008");
    }

    #[test]
    fn save_strings_quote_like_xtables() {
        assert_eq!(save_string("plainword"), "plainword");
        assert_eq!(save_string("ns2/svc2:p80"), "\"ns2/svc2:p80\"");
        assert_eq!(save_string("has\"quote and \\back"), "\"has\\\"quote and \\\\back\"");
    }
}
