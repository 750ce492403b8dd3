//! Reading `iptables-restore` input and `iptables-save` output (both spellings) into the
//! typed [`Ruleset`], so that any ruleset, generated or pasted from a node, can be traced.
//!
//! The reader is lenient where kube-proxy's own tools are: `:BUILTIN - [0:0]` declarations,
//! `[p:b]` counter prefixes, and unquoted multi-word comments (words after `--comment` that are
//! not options belong to the comment, as kube-proxy's fake iptables records them). Unknown
//! modules, options and targets are kept as written. Lines it cannot read are diagnostics;
//! the rest of the file is still read.

use std::net::IpAddr;

use super::chain_name::{ChainName, MAX_CHAIN_NAME_LEN};
use super::rule::{
    AddrTypeSpec, Address, CtState, MarkOp, Match, PortRange, ProtocolName, Recent, RecentAction,
    Rule, Statistic, Target,
};
use super::ruleset::{Policy, Ruleset, TableName};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};
use crate::net::{Cidr, IpFamily, parse_ip_sloppy, split_host_port};

/// One word of a rule line, and whether it was quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    quoted: bool,
}

/// Splits a line into words: double or single quotes group, a backslash escapes inside
/// quotes.
fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut text = String::new();
        let mut quoted = false;
        if first == '"' || first == '\'' {
            quoted = true;
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        text.push(n);
                    }
                } else if c == first {
                    closed = true;
                    break;
                } else {
                    text.push(c);
                }
            }
            if !closed {
                return Err("unterminated quote".to_owned());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                text.push(c);
                chars.next();
            }
        }
        out.push(Token { text, quoted });
    }
    Ok(out)
}

const GENERIC: &[&str] = &[
    "-p",
    "--protocol",
    "-s",
    "--source",
    "--src",
    "-d",
    "--destination",
    "--dst",
    "-i",
    "--in-interface",
    "-o",
    "--out-interface",
    "-m",
    "--match",
    "-j",
    "--jump",
    "-g",
    "--goto",
];

const PORT_OPTIONS: &[&str] = &["--dport", "--destination-port", "--sport", "--source-port"];

/// A cursor over a rule's words.
struct Words<'a> {
    tokens: &'a [Token],
    pos: usize,
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.pos).map(|t| t.text.as_str())
    }

    fn peek_at(&self, offset: usize) -> Option<&'a str> {
        self.tokens.get(self.pos + offset).map(|t| t.text.as_str())
    }

    fn next(&mut self) -> Option<&'a str> {
        let t = self.tokens.get(self.pos)?;
        self.pos += 1;
        Some(t.text.as_str())
    }

    fn value(&mut self, option: &str) -> Result<&'a str, String> {
        self.next().ok_or_else(|| format!("`{option}` needs a value"))
    }

    /// True when the next word (after an optional `!`) starts a generic clause or a port
    /// option (which ends an unknown module's options).
    fn at_generic(&self) -> bool {
        let first = self.peek();
        let w = if first == Some("!") { self.peek_at(1) } else { first };
        w.is_some_and(|w| GENERIC.contains(&w) || PORT_OPTIONS.contains(&w))
    }

    /// Consumes `!` if it is followed by `option`s (a negated module option).
    fn negation_before(&mut self, options: &[&str]) -> Option<bool> {
        match (self.peek(), self.peek_at(1)) {
            (Some("!"), Some(o)) if options.contains(&o) => {
                self.pos += 1;
                Some(true)
            }
            (Some(o), _) if options.contains(&o) => Some(false),
            _ => None,
        }
    }
}

fn address(s: &str) -> Result<Address, String> {
    if s.contains('/') {
        let (ip, len) = s.split_once('/').unwrap_or((s, ""));
        // A dotted mask (`/255.255.255.0`) is spelled as a prefix length.
        let cidr = match (parse_ip_sloppy(ip), parse_ip_sloppy(len)) {
            (Some(ip), Some(mask)) => {
                let bits = match mask {
                    IpAddr::V4(m) => u32::from(m).count_ones(),
                    IpAddr::V6(m) => u128::from(m).count_ones(),
                };
                Cidr::new(ip, bits as u8)
            }
            _ => Cidr::parse_sloppy(s),
        };
        cidr.map(Address::network).ok_or_else(|| format!("`{s}` is not an address or prefix"))
    } else {
        parse_ip_sloppy(s).map(Address::host).ok_or_else(|| format!("`{s}` is not an address"))
    }
}

fn ports(s: &str) -> Result<PortRange, String> {
    let bad = || format!("`{s}` is not a port or port range");
    match s.split_once(':') {
        Some((a, b)) => {
            let first = if a.is_empty() { 0 } else { a.parse().map_err(|_| bad())? };
            let last = if b.is_empty() { u16::MAX } else { b.parse().map_err(|_| bad())? };
            Ok(PortRange { first, last })
        }
        None => s.parse().map(PortRange::single).map_err(|_| bad()),
    }
}

/// Reads the options of a module kpsim knows; `None` when they are not what it expects (the
/// module is then kept as written).
fn known_module(name: &str, w: &mut Words<'_>) -> Option<Match> {
    let start = w.pos;
    let result = (|| -> Option<Match> {
        match name {
            "tcp" | "udp" | "sctp" => Some(Match::PortModule { module: ProtocolName::parse(name) }),
            "comment" => {
                if w.next()? != "--comment" {
                    return None;
                }
                let first = w.tokens.get(w.pos)?;
                w.pos += 1;
                let mut text = first.text.clone();
                if !first.quoted {
                    while let Some(t) = w.tokens.get(w.pos) {
                        if t.text.starts_with('-') || t.text == "!" {
                            break;
                        }
                        text.push(' ');
                        text.push_str(&t.text);
                        w.pos += 1;
                    }
                }
                Some(Match::Comment { text: text.into() })
            }
            "addrtype" => {
                let (mut source, mut destination) = (None, None);
                while let Some(negated) = w.negation_before(&["--src-type", "--dst-type"]) {
                    let opt = w.next()?;
                    let types = w.next()?.split(',').map(str::to_owned).collect();
                    let spec = Some(Box::new(AddrTypeSpec { negated, types }));
                    if opt == "--src-type" { source = spec } else { destination = spec }
                }
                (source.is_some() || destination.is_some())
                    .then_some(Match::AddrType { source, destination })
            }
            "conntrack" => {
                let negated = w.negation_before(&["--ctstate"])?;
                w.next()?;
                let states: Option<Vec<CtState>> =
                    w.next()?.split(',').map(CtState::parse).collect();
                Some(Match::Conntrack { negated, states: states? })
            }
            "mark" => {
                let negated = w.negation_before(&["--mark"])?;
                w.next()?;
                let mark = w.next()?.to_owned();
                super::rule::parse_mark(&mark)?;
                Some(Match::Mark { negated, mark })
            }
            "nfacct" => {
                if w.next()? != "--nfacct-name" {
                    return None;
                }
                Some(Match::Nfacct { name: w.next()?.to_owned() })
            }
            "set" => {
                let negated = w.negation_before(&["--match-set"])?;
                w.next()?;
                let name = w.next()?.to_owned();
                let directions = super::rule::SetMatch::parse_directions(w.next()?)?;
                Some(Match::Set(Box::new(super::rule::SetMatch { negated, name, directions })))
            }
            "physdev" => {
                let negated = w.negation_before(&["--physdev-is-in"])?;
                w.next()?;
                Some(Match::PhysdevIsIn { negated })
            }
            "recent" => recent(w),
            "statistic" => statistic(w),
            _ => None,
        }
    })();
    if result.is_none() {
        w.pos = start;
    }
    result
}

fn recent(w: &mut Words<'_>) -> Option<Match> {
    const OPTS: &[&str] = &[
        "--name",
        "--set",
        "--rcheck",
        "--update",
        "--remove",
        "--seconds",
        "--hitcount",
        "--rttl",
        "--reap",
        "--mask",
        "--rsource",
        "--rdest",
    ];
    let mut r = Recent::new(None, RecentAction::Rcheck);
    let mut action = false;
    while let Some(negated) = w.negation_before(OPTS) {
        match w.next()? {
            "--name" => r.name = Some(w.next()?.to_owned()),
            a @ ("--set" | "--rcheck" | "--update" | "--remove") => {
                r.action = match a {
                    "--set" => RecentAction::Set,
                    "--rcheck" => RecentAction::Rcheck,
                    "--update" => RecentAction::Update,
                    _ => RecentAction::Remove,
                };
                r.negated = negated;
                action = true;
            }
            "--seconds" => r.seconds = Some(w.next()?.parse().ok()?),
            "--hitcount" => r.hitcount = Some(w.next()?.parse().ok()?),
            "--rttl" => r.rttl = true,
            "--reap" => r.reap = true,
            "--mask" => r.mask = Some(w.next()?.to_owned()),
            "--rsource" => r.rsource = Some(true),
            _ => r.rsource = Some(false),
        }
    }
    action.then(|| Match::Recent(Box::new(r)))
}

fn statistic(w: &mut Words<'_>) -> Option<Match> {
    if w.next()? != "--mode" {
        return None;
    }
    match w.next()? {
        "random" => {
            let negated = w.negation_before(&["--probability"])?;
            w.next()?;
            let probability = w.next()?;
            probability.parse::<f64>().ok()?;
            Some(Match::Statistic(Statistic::Random { negated, probability: probability.into() }))
        }
        "nth" => {
            let mut negated = false;
            let (mut every, mut packet) = (None, 0);
            while let Some(n) = w.negation_before(&["--every", "--packet"]) {
                match w.next()? {
                    "--every" => {
                        negated |= n;
                        every = Some(w.next()?.parse().ok()?);
                    }
                    _ => packet = w.next()?.parse().ok()?,
                }
            }
            Some(Match::Statistic(Statistic::Nth { negated, every: every?, packet }))
        }
        _ => None,
    }
}

/// A chain named in a rule, refused as `iptables-restore` refuses it when too long.
fn chain_name(name: &str) -> Result<ChainName, String> {
    ChainName::new(name).ok_or_else(|| {
        format!("invalid chain name `{name}` ({MAX_CHAIN_NAME_LEN} characters at most)")
    })
}

/// Everything after `-j NAME` / `-g NAME`.
fn target(name: &str, goto: bool, args: &[String]) -> Result<Target, String> {
    if goto {
        return Ok(Target::Goto { chain: chain_name(name)? });
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let other = || Target::Other { name: name.to_owned(), args: args.to_vec() };
    Ok(match (name, a.as_slice()) {
        ("ACCEPT", []) => Target::Accept,
        ("DROP", []) => Target::Drop,
        ("RETURN", []) => Target::Return,
        ("REJECT", []) => Target::Reject { with: None },
        ("REJECT", ["--reject-with", w]) => Target::Reject { with: Some((*w).to_owned()) },
        ("DNAT", ["--to-destination", to]) => match split_host_port(to) {
            Some((ip, port)) => Target::Dnat { ip, port: Some(port) },
            None => match to.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                Ok(ip) => Target::Dnat { ip, port: None },
                Err(_) => other(),
            },
        },
        ("MASQUERADE", rest) => {
            let mut random_fully = false;
            let mut to_ports = None;
            let mut i = 0;
            while i < rest.len() {
                match rest[i] {
                    "--random-fully" => random_fully = true,
                    "--to-ports" if i + 1 < rest.len() => {
                        to_ports = Some(rest[i + 1].to_owned());
                        i += 1;
                    }
                    _ => return Ok(other()),
                }
                i += 1;
            }
            Target::Masquerade { random_fully, to_ports }
        }
        ("MARK", [op, v]) if super::rule::parse_mark(v).is_some() => {
            let v = (*v).to_owned();
            match *op {
                "--or-mark" => Target::Mark(MarkOp::Or(v)),
                "--xor-mark" => Target::Mark(MarkOp::Xor(v)),
                "--and-mark" => Target::Mark(MarkOp::And(v)),
                "--set-mark" => Target::Mark(MarkOp::Set(v)),
                "--set-xmark" => Target::Mark(MarkOp::SetX(v)),
                _ => other(),
            }
        }
        (_, []) => Target::Jump { chain: chain_name(name)? },
        _ => other(),
    })
}

/// Reads the words of a rule after `-A CHAIN`.
fn rule(tokens: &[Token]) -> Result<Rule, String> {
    let mut w = Words { tokens, pos: 0 };
    let mut matches = Vec::new();
    let mut tgt = None;
    while let Some(word) = w.next() {
        let negated = word == "!";
        let word = if negated { w.value("!")? } else { word };
        match word {
            "-p" | "--protocol" => {
                let protocol = ProtocolName::parse(&w.value(word)?.to_ascii_lowercase());
                matches.push(Match::Protocol { negated, protocol });
            }
            "-s" | "--source" | "--src" => {
                matches.push(Match::Source { negated, address: address(w.value(word)?)? })
            }
            "-d" | "--destination" | "--dst" => {
                matches.push(Match::Destination { negated, address: address(w.value(word)?)? })
            }
            "-i" | "--in-interface" => {
                matches.push(Match::InInterface { negated, name: w.value(word)?.to_owned() })
            }
            "-o" | "--out-interface" => {
                matches.push(Match::OutInterface { negated, name: w.value(word)?.to_owned() })
            }
            "--dport" | "--destination-port" => {
                matches.push(Match::DestinationPort { negated, ports: ports(w.value(word)?)? })
            }
            "--sport" | "--source-port" => {
                matches.push(Match::SourcePort { negated, ports: ports(w.value(word)?)? })
            }
            "-m" | "--match" => {
                let name = w.value(word)?;
                match known_module(name, &mut w) {
                    Some(m) => matches.push(m),
                    None => {
                        let mut args = Vec::new();
                        while w.peek().is_some() && !w.at_generic() {
                            args.extend(w.next().map(str::to_owned));
                        }
                        matches.push(Match::Module { name: name.into(), args: args.into() });
                    }
                }
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                let name = w.value(word)?;
                let args: Vec<String> = w.tokens[w.pos..].iter().map(|t| t.text.clone()).collect();
                w.pos = w.tokens.len();
                tgt = Some(target(name, word.starts_with("-g") || word == "--goto", &args)?);
            }
            opt if opt.starts_with("--") => {
                let mut values = Vec::new();
                while let Some(v) = w.peek() {
                    if v.starts_with('-') || v == "!" {
                        break;
                    }
                    values.push(v.to_owned());
                    w.pos += 1;
                }
                matches.push(Match::Option {
                    negated,
                    name: opt[2..].into(),
                    values: values.into(),
                });
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    Ok(Rule::new(matches, tgt))
}

/// Parses restore or save text. `family` is the family of the proxier the text belongs to
/// (addresses of the other family are still read).
///
/// ```
/// use kpsim::backend::iptables::{parse, TableName};
/// let (rs, diags) = parse("*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -m comment --comment \"a b\" -d 10.0.0.1 -j ACCEPT\nCOMMIT\n", kpsim::net::IpFamily::V4);
/// assert!(diags.is_empty());
/// assert_eq!(rs.chain_lines(TableName::Nat, "KUBE-SERVICES"), ["-A KUBE-SERVICES -m comment --comment \"a b\" -d 10.0.0.1 -j ACCEPT"]);
/// ```
pub fn parse(text: &str, family: IpFamily) -> (Ruleset, Vec<Diagnostic>) {
    let mut rs = Ruleset::new(family);
    let mut diagnostics = Vec::new();
    let mut table: Option<TableName> = None;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let mut line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // `--counters` prefix: `[packets:bytes] -A …`.
        if line.starts_with('[')
            && let Some(end) = line.find(']')
        {
            line = line[end + 1..].trim_start();
        }
        let mut error = |message: String| {
            diagnostics.push(
                Diagnostic::error(DiagnosticKind::Syntax, format!("iptables rules: {message}"))
                    .at(Location { document: 0, line: line_no, column: 1 })
                    .hint("write rules as iptables-save prints them"),
            );
        };
        if let Some(name) = line.strip_prefix('*') {
            match TableName::parse(name.trim()) {
                Some(t) => {
                    rs.table_mut(t);
                    table = Some(t);
                }
                None => {
                    error(format!("unknown table `{name}`"));
                    table = None;
                }
            }
            continue;
        }
        if line == "COMMIT" {
            table = None;
            continue;
        }
        let Some(t) = table else {
            error(format!("`{line}` is outside a `*table` … `COMMIT` block"));
            continue;
        };
        if let Some(decl) = line.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            let name = parts.next().unwrap_or("");
            let policy = match parts.next() {
                Some("ACCEPT") => Some(Policy::Accept),
                Some("DROP") => Some(Policy::Drop),
                _ => None,
            };
            if name.is_empty() {
                error("a chain declaration needs a name".to_owned());
                continue;
            }
            let name = match chain_name(name) {
                Ok(name) => name,
                Err(e) => {
                    error(e);
                    continue;
                }
            };
            let chain = rs.table_mut(t).declare(name);
            if t.is_builtin(&name) {
                chain.policy = policy;
            }
            continue;
        }
        let tokens = match tokenize(line) {
            Ok(tokens) => tokens,
            Err(e) => {
                error(e);
                continue;
            }
        };
        let (Some(command), Some(chain)) = (tokens.first(), tokens.get(1)) else {
            error(format!("cannot read `{line}`"));
            continue;
        };
        let chain = match chain_name(&chain.text) {
            Ok(name) => name,
            Err(e) => {
                error(e);
                continue;
            }
        };
        match command.text.as_str() {
            "-A" | "--append" => match rule(&tokens[2..]) {
                Ok(r) => rs.table_mut(t).append(chain, r),
                Err(e) => error(e),
            },
            "-I" | "--insert" => {
                let (at, rest) = match tokens.get(2).and_then(|t| t.text.parse::<usize>().ok()) {
                    Some(n) => (n.saturating_sub(1), &tokens[3..]),
                    None => (0, &tokens[2..]),
                };
                match rule(rest) {
                    Ok(r) => {
                        let c = rs.table_mut(t).chain_mut(chain);
                        let at = at.min(c.rules.len());
                        c.rules.insert(at, r);
                    }
                    Err(e) => error(e),
                }
            }
            "-N" | "--new-chain" => {
                rs.table_mut(t).chain_mut(chain);
            }
            "-X" | "--delete-chain" => {
                let table = rs.table_mut(t);
                table.remove_chain(&chain);
                table.deleted.push(chain);
            }
            other => error(format!("`{other}` is not supported here (use -A, -I, -N or -X)")),
        }
    }
    (rs, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_longer_than_the_kernel_allows_are_refused_and_the_rest_is_read() {
        let long = "KUBE-SEP-ABCDEFGHIJKLMNOPQRST";
        let text = format!(
            "*nat\n:{long} - [0:0]\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j {long}\n-A {long} -j ACCEPT\n-A KUBE-SERVICES -j ACCEPT\nCOMMIT\n"
        );
        let (rs, d) = parse(&text, IpFamily::V4);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].message.contains("28 characters at most"), "{:?}", d[0]);
        assert_eq!(rs.chain_lines(TableName::Nat, "KUBE-SERVICES"), ["-A KUBE-SERVICES -j ACCEPT"]);
    }

    #[test]
    fn unquoted_multi_word_comments_are_read_like_the_fake_iptables_records_them() {
        let text = "*filter\n:INPUT - [0:0]\n-A INPUT -m comment --comment kubernetes health check service ports -j KUBE-NODEPORTS\nCOMMIT\n";
        let (rs, d) = parse(text, IpFamily::V4);
        assert!(d.is_empty(), "{d:?}");
        let c = rs.table(TableName::Filter).and_then(|t| t.chain("INPUT")).unwrap();
        assert_eq!(c.rules[0].comment(), Some("kubernetes health check service ports"));
    }

    #[test]
    fn save_spelling_reads_into_the_same_matches() {
        let text = "*nat\n:KUBE-SEP-X - [0:0]\n-A KUBE-SEP-X -p tcp -m comment --comment \"ns4/svc4:p80\" -m recent --set --name KUBE-SEP-X --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.5:80\nCOMMIT\n";
        let (rs, d) = parse(text, IpFamily::V4);
        assert!(d.is_empty(), "{d:?}");
        let r = &rs.table(TableName::Nat).unwrap().chain("KUBE-SEP-X").unwrap().rules[0];
        assert_eq!(
            r.target,
            Some(Target::Dnat { ip: "10.180.0.5".parse().unwrap(), port: Some(80) })
        );
        assert!(matches!(r.matches[2], Match::Recent(_)));
    }

    #[test]
    fn bad_lines_are_diagnostics_and_the_rest_is_read() {
        let (rs, d) =
            parse("*nat\n-A X -s not-an-ip -j RETURN\n-A X -j RETURN\nCOMMIT\n", IpFamily::V4);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].location.line, 2);
        assert_eq!(rs.rule_count(), 1);
    }
}
