//! The rule and element grammar of `nft list` (and kube-proxy's transaction spelling, which
//! it also accepts: `mark`, `and`, `or`, `xor`, unquoted interface names): selectors,
//! relational matches, verdict maps, mark updates, NAT, `update @set`, counters, verdicts,
//! and values typed by what they are compared with.

use std::net::IpAddr;

use super::ParseError;
use super::lexer::{Token, TokenKind};
use crate::backend::nftables::ruleset::{
    AddrField, AddrType, AnonSet, CtState, DataType, Element, ElementData, Integer, L4Proto,
    MarkUpdate, Match, Op, Operand, Rule, Selector, Separator, Statement, Value, Verdict,
    VmapSource,
};
use crate::net::{Cidr, IpFamily};

/// Why a rule could not be read as typed statements (it is then kept verbatim).
struct Unsupported;

type Parsed<T> = Result<T, Unsupported>;

struct Cursor<'t> {
    toks: &'t [Token],
    i: usize,
}

impl<'t> Cursor<'t> {
    fn peek(&self) -> Option<&'t Token> {
        self.toks.get(self.i)
    }

    fn peek_text(&self) -> Option<&'t str> {
        self.peek().and_then(Token::text)
    }

    fn next(&mut self) -> Option<&'t Token> {
        let t = self.toks.get(self.i);
        self.i += 1;
        t
    }

    fn word(&mut self) -> Parsed<&'t str> {
        self.next().and_then(Token::word).ok_or(Unsupported)
    }

    fn expect(&mut self, w: &str) -> Parsed<()> {
        if self.word()? == w { Ok(()) } else { Err(Unsupported) }
    }

    fn done(&self) -> bool {
        self.i >= self.toks.len()
    }

    /// The tokens inside a `{ … }` starting at the current `{`, split at top-level commas.
    fn braced(&mut self) -> Parsed<Vec<&'t [Token]>> {
        if self.next().map(|t| &t.kind) != Some(&TokenKind::Open) {
            return Err(Unsupported);
        }
        let start = self.i;
        let mut depth = 1;
        while depth > 0 {
            match self.next().map(|t| &t.kind) {
                Some(TokenKind::Open) => depth += 1,
                Some(TokenKind::Close) => depth -= 1,
                Some(_) => {}
                None => return Err(Unsupported),
            }
        }
        let inner = &self.toks[start..self.i - 1];
        Ok(inner.split(|t| t.kind == TokenKind::Comma).filter(|c| !c.is_empty()).collect())
    }
}

/// One rule line. Anything outside the model's vocabulary keeps the line's text verbatim.
pub(crate) fn rule(tokens: &[Token], raw: &str, line: usize) -> Result<Rule, ParseError> {
    let n = tokens.len();
    let (body, comment) = match tokens {
        [.., Token { kind: TokenKind::Word(w), .. }, Token { kind: TokenKind::Str(c), .. }]
            if w == "comment" =>
        {
            (&tokens[..n - 2], Some(c.clone()))
        }
        _ => (tokens, None),
    };
    if body.is_empty() && comment.is_none() {
        return Err(ParseError { line, message: "empty rule".into() });
    }
    match statements(body) {
        Ok(statements) => Ok(Rule { statements, comment }),
        Err(Unsupported) => {
            let text = match &comment {
                Some(_) => raw.rfind(" comment \"").map(|i| &raw[..i]).unwrap_or(raw),
                None => raw,
            };
            Ok(Rule { statements: vec![Statement::Unsupported(text.trim().to_owned())], comment })
        }
    }
}

fn statements(toks: &[Token]) -> Parsed<Vec<Statement>> {
    let mut c = Cursor { toks, i: 0 };
    let mut out = Vec::new();
    while !c.done() {
        out.push(statement(&mut c)?);
    }
    Ok(out)
}

fn verdict(c: &mut Cursor<'_>) -> Parsed<Verdict> {
    Ok(match c.word()? {
        "accept" => Verdict::Accept,
        "drop" => Verdict::Drop,
        "reject" => Verdict::Reject,
        "continue" => Verdict::Continue,
        "return" => Verdict::Return,
        "jump" => Verdict::Jump(c.word()?.to_owned()),
        "goto" => Verdict::Goto(c.word()?.to_owned()),
        _ => return Err(Unsupported),
    })
}

fn statement(c: &mut Cursor<'_>) -> Parsed<Statement> {
    let w = c.peek().and_then(Token::word).ok_or(Unsupported)?;
    match w {
        "accept" | "drop" | "continue" | "return" | "jump" | "goto" => {
            Ok(Statement::Verdict(verdict(c)?))
        }
        // `reject with …` is not modelled.
        "reject" => {
            c.next();
            if c.peek_text() == Some("with") {
                return Err(Unsupported);
            }
            Ok(Statement::Verdict(Verdict::Reject))
        }
        "counter" => {
            c.next();
            if c.peek_text() != Some("packets") {
                return Ok(Statement::Counter { packets: 0, bytes: 0 });
            }
            c.next();
            let packets = c.word()?.parse().map_err(|_| Unsupported)?;
            c.expect("bytes")?;
            let bytes = c.word()?.parse().map_err(|_| Unsupported)?;
            Ok(Statement::Counter { packets, bytes })
        }
        "masquerade" => {
            c.next();
            let fully_random = c.peek_text() == Some("fully-random");
            if fully_random {
                c.next();
            }
            Ok(Statement::Masquerade { fully_random })
        }
        "dnat" => {
            c.next();
            c.expect("to")?;
            let (addr, port) = nat_target(c.word()?)?;
            Ok(Statement::Dnat { addr, port })
        }
        "update" => {
            c.next();
            let set = c.word()?.strip_prefix('@').ok_or(Unsupported)?.to_owned();
            let inner = c.braced()?;
            let [key] = inner.as_slice() else { return Err(Unsupported) };
            let mut kc = Cursor { toks: key, i: 0 };
            let key = selectors(&mut kc)?;
            if !kc.done() {
                return Err(Unsupported);
            }
            Ok(Statement::Update { set, key })
        }
        _ => selector_statement(c),
    }
}

/// `10.0.0.1:80`, `[fd00::1]:80`, `10.0.0.1`, `fd00::1`.
fn nat_target(w: &str) -> Parsed<(IpAddr, Option<u16>)> {
    if let Ok(ip) = w.parse::<IpAddr>() {
        return Ok((ip, None));
    }
    if let Some(rest) = w.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']').ok_or(Unsupported)?;
        let ip: IpAddr = ip.parse().map_err(|_| Unsupported)?;
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| Unsupported)?),
            None if tail.is_empty() => None,
            None => return Err(Unsupported),
        };
        return Ok((ip, port));
    }
    let (ip, port) = w.rsplit_once(':').ok_or(Unsupported)?;
    Ok((ip.parse().map_err(|_| Unsupported)?, Some(port.parse().map_err(|_| Unsupported)?)))
}

fn selector(c: &mut Cursor<'_>) -> Parsed<Selector> {
    let addr_field = |w: &str| match w {
        "saddr" => Ok(AddrField::Saddr),
        "daddr" => Ok(AddrField::Daddr),
        _ => Err(Unsupported),
    };
    Ok(match c.word()? {
        "ip" => Selector::Addr { family: IpFamily::V4, field: addr_field(c.word()?)? },
        "ip6" => Selector::Addr { family: IpFamily::V6, field: addr_field(c.word()?)? },
        "meta" => match c.word()? {
            "l4proto" => Selector::L4Proto,
            "mark" => Selector::Mark,
            "iifname" => Selector::Iifname,
            "oifname" => Selector::Oifname,
            _ => return Err(Unsupported),
        },
        "mark" => Selector::Mark,
        "th" => {
            c.expect("dport")?;
            Selector::ThDport
        }
        "ct" => {
            c.expect("state")?;
            Selector::CtState
        }
        "fib" => {
            let field = addr_field(c.word()?)?;
            c.expect("type")?;
            Selector::FibType(field)
        }
        "iifname" => Selector::Iifname,
        "oifname" => Selector::Oifname,
        "numgen" => {
            c.expect("random")?;
            c.expect("mod")?;
            Selector::NumgenRandom { modulus: c.word()?.parse().map_err(|_| Unsupported)? }
        }
        _ => return Err(Unsupported),
    })
}

fn selectors(c: &mut Cursor<'_>) -> Parsed<Vec<Selector>> {
    let mut out = vec![selector(c)?];
    while c.peek_text() == Some(".") {
        c.next();
        out.push(selector(c)?);
    }
    Ok(out)
}

fn selector_statement(c: &mut Cursor<'_>) -> Parsed<Statement> {
    let left = selectors(c)?;
    match c.peek_text() {
        Some("vmap") => {
            c.next();
            if let Some(name) = c.peek_text().and_then(|w| w.strip_prefix('@')) {
                c.next();
                return Ok(Statement::Vmap { key: left, map: VmapSource::Named(name.to_owned()) });
            }
            let mut elements = Vec::new();
            for chunk in c.braced()? {
                let (key, rest) = key_values(chunk, |i, t| {
                    left.get(i).ok_or(Unsupported).and_then(|s| value_for(s, t))
                })?;
                let mut rc = Cursor { toks: rest, i: 0 };
                rc.expect(":")?;
                let v = verdict(&mut rc)?;
                if !rc.done() {
                    return Err(Unsupported);
                }
                elements.push(Element::mapping(key, v));
            }
            Ok(Statement::Vmap { key: left, map: VmapSource::Anonymous(elements) })
        }
        Some("set") if left == [Selector::Mark] => {
            c.next();
            if matches!(c.peek_text(), Some("meta" | "mark")) {
                if selector(c)? != Selector::Mark {
                    return Err(Unsupported);
                }
                let op = c.word()?;
                let v = Integer::parse(c.word()?).ok_or(Unsupported)?;
                return Ok(Statement::SetMark(match op {
                    "|" | "or" => MarkUpdate::Or(v),
                    "^" | "xor" => MarkUpdate::Xor(v),
                    "&" | "and" => MarkUpdate::And(v),
                    _ => return Err(Unsupported),
                }));
            }
            Ok(Statement::SetMark(MarkUpdate::Set(Integer::parse(c.word()?).ok_or(Unsupported)?)))
        }
        _ => Ok(Statement::Match(relational(c, left)?)),
    }
}

fn relational(c: &mut Cursor<'_>, left: Vec<Selector>) -> Parsed<Match> {
    let mut mask = None;
    if matches!(c.peek_text(), Some("&" | "and")) && left == [Selector::Mark] {
        c.next();
        mask = Some(Integer::parse(c.word()?).ok_or(Unsupported)?);
    }
    let op = match c.peek_text() {
        Some("==") => {
            c.next();
            Op::Eq
        }
        Some("!=") => {
            c.next();
            Op::Ne
        }
        _ => Op::Eq,
    };
    let right = if let Some(name) = c.peek_text().and_then(|w| w.strip_prefix('@')) {
        c.next();
        Operand::Named(name.to_owned())
    } else if c.peek().is_some_and(|t| t.kind == TokenKind::Open) {
        let [single] = left.as_slice() else { return Err(Unsupported) };
        let mut elements = Vec::new();
        for chunk in c.braced()? {
            let [tok] = chunk else { return Err(Unsupported) };
            elements.push(value_for(single, tok)?);
        }
        Operand::Set(AnonSet { elements, separator: Separator::Spaced })
    } else {
        let [single] = left.as_slice() else { return Err(Unsupported) };
        Operand::Value(value_for(single, c.next().ok_or(Unsupported)?)?)
    };
    Ok(Match { left, mask, op, right })
}

/// `a . b . c` at the start of `toks`, each value typed by `typed(i, token)`; returns the
/// values and the tokens after them.
fn key_values(
    toks: &[Token],
    typed: impl Fn(usize, &Token) -> Parsed<Value>,
) -> Parsed<(Vec<Value>, &[Token])> {
    let mut values = Vec::new();
    let mut i = 0;
    loop {
        let tok = toks.get(i).ok_or(Unsupported)?;
        values.push(typed(values.len(), tok)?);
        i += 1;
        if toks.get(i).and_then(Token::text) == Some(".") {
            i += 1;
        } else {
            return Ok((values, &toks[i..]));
        }
    }
}

fn addr_value(w: &str) -> Parsed<Value> {
    if let Some((net, len)) = w.split_once('/') {
        let ip: IpAddr = net.parse().map_err(|_| Unsupported)?;
        let len: u8 = len.parse().map_err(|_| Unsupported)?;
        return Cidr::new(ip, len).map(Value::Prefix).ok_or(Unsupported);
    }
    if let Some((a, b)) = w.split_once('-') {
        let a: IpAddr = a.parse().map_err(|_| Unsupported)?;
        let b: IpAddr = b.parse().map_err(|_| Unsupported)?;
        return Ok(Value::Range(a, b));
    }
    w.parse().map(Value::Addr).map_err(|_| Unsupported)
}

fn value_for(sel: &Selector, tok: &Token) -> Parsed<Value> {
    let text = || tok.word().ok_or(Unsupported);
    Ok(match sel {
        Selector::Addr { family, .. } => {
            let v = addr_value(text()?)?;
            let fam = match &v {
                Value::Addr(ip) | Value::Range(ip, _) => IpFamily::of(*ip),
                Value::Prefix(c) => c.family(),
                _ => *family,
            };
            if fam != *family {
                return Err(Unsupported);
            }
            v
        }
        Selector::L4Proto => Value::Proto(L4Proto::parse(text()?).ok_or(Unsupported)?),
        Selector::ThDport => Value::Port(text()?.parse().map_err(|_| Unsupported)?),
        Selector::Mark | Selector::NumgenRandom { .. } => {
            Value::Integer(Integer::parse(text()?).ok_or(Unsupported)?)
        }
        Selector::CtState => Value::CtState(CtState::parse(text()?).ok_or(Unsupported)?),
        Selector::FibType(_) => Value::AddrType(AddrType::parse(text()?).ok_or(Unsupported)?),
        Selector::Iifname | Selector::Oifname => match &tok.kind {
            TokenKind::Str(s) => Value::Ifname(s.clone()),
            TokenKind::Word(w) => Value::Ifname(w.clone()),
            _ => return Err(Unsupported),
        },
    })
}

/// A value of a set/map field type; `Other` keeps words of types the model does not read.
fn value_of_type(t: &DataType, tok: &Token) -> Parsed<Value> {
    let w = tok.word();
    Ok(match t {
        DataType::Ipv4Addr => {
            value_for(&Selector::Addr { family: IpFamily::V4, field: AddrField::Saddr }, tok)?
        }
        DataType::Ipv6Addr => {
            value_for(&Selector::Addr { family: IpFamily::V6, field: AddrField::Saddr }, tok)?
        }
        DataType::InetProto => value_for(&Selector::L4Proto, tok)?,
        DataType::InetService => value_for(&Selector::ThDport, tok)?,
        DataType::Mark => value_for(&Selector::Mark, tok)?,
        DataType::IfName => value_for(&Selector::Iifname, tok)?,
        DataType::Verdict | DataType::Other(_) => Value::Other(w.ok_or(Unsupported)?.to_owned()),
    })
}

/// One element of a named set or map: `key [timeout D] [expires D] [comment "…"] [: data]`.
pub(crate) fn element(
    chunk: &[&Token],
    key: &[DataType],
    data: Option<&DataType>,
) -> Result<Element, ParseError> {
    let line = chunk.first().map(|t| t.line).unwrap_or(1);
    let err = |m: &str| ParseError { line, message: m.to_owned() };
    let toks: Vec<Token> = chunk.iter().map(|t| (*t).clone()).collect();
    let (values, rest) = key_values(&toks, |i, t| match key.get(i) {
        Some(ty) => value_of_type(ty, t),
        None => Err(Unsupported),
    })
    .map_err(|_| err("element does not fit the set's type"))?;
    if values.len() != key.len() {
        return Err(err("element does not fit the set's type"));
    }
    let mut e = Element::key(values);
    let mut c = Cursor { toks: rest, i: 0 };
    while let Some(w) = c.peek_text() {
        c.next();
        match w {
            "timeout" => {
                e.timeout_ms = Some(
                    duration(c.word().map_err(|_| err("bad timeout"))?)
                        .ok_or_else(|| err("bad timeout"))?,
                )
            }
            "expires" => {
                e.expires_ms = Some(
                    duration(c.word().map_err(|_| err("bad expires"))?)
                        .ok_or_else(|| err("bad expires"))?,
                )
            }
            "comment" => match c.next().map(|t| &t.kind) {
                Some(TokenKind::Str(s)) => e.comment = Some(s.clone()),
                _ => return Err(err("bad element comment")),
            },
            ":" => {
                let Some(data_type) = data else { return Err(err("a set element has no data")) };
                e.data = Some(if *data_type == DataType::Verdict {
                    ElementData::Verdict(verdict(&mut c).map_err(|_| err("bad verdict"))?)
                } else {
                    let tok = c.next().ok_or_else(|| err("missing data"))?;
                    ElementData::Value(value_of_type(data_type, tok).map_err(|_| err("bad data"))?)
                });
            }
            other => return Err(err(&format!("unexpected `{other}` in element"))),
        }
    }
    if data.is_some() && e.data.is_none() {
        return Err(err("a map element needs `: data`"));
    }
    Ok(e)
}

/// `3h`, `1d1h1m1s`, `59s988ms`, `10800s` → milliseconds.
pub(crate) fn duration(w: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = w;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|ch: char| !ch.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.chars().next()? {
                'd' => (86_400_000, 1),
                'h' => (3_600_000, 1),
                'm' => (60_000, 1),
                's' => (1000, 1),
                _ => return None,
            }
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = &rest[len..];
    }
    Some(total)
}

pub(crate) fn duration_token(tok: Option<&Token>, line: usize) -> Result<u64, ParseError> {
    tok.and_then(Token::word)
        .and_then(duration)
        .ok_or(ParseError { line, message: "bad duration".into() })
}

pub(crate) fn number(tok: Option<&Token>, line: usize) -> Result<u32, ParseError> {
    tok.and_then(Token::word)
        .and_then(|w| w.parse().ok())
        .ok_or(ParseError { line, message: "expected a number".into() })
}

/// The sets and maps a rule refers to (`@name`).
pub(crate) fn set_refs(rule: &Rule) -> Vec<&str> {
    let mut out = Vec::new();
    for s in &rule.statements {
        match s {
            Statement::Match(Match { right: Operand::Named(n), .. })
            | Statement::Vmap { map: VmapSource::Named(n), .. }
            | Statement::Update { set: n, .. } => out.push(n.as_str()),
            _ => {}
        }
    }
    out
}

/// The chains a rule jumps or goes to.
pub(crate) fn chain_refs(rule: &Rule) -> Vec<&str> {
    let mut out = Vec::new();
    for s in &rule.statements {
        match s {
            Statement::Verdict(Verdict::Jump(c) | Verdict::Goto(c)) => out.push(c.as_str()),
            Statement::Vmap { map: VmapSource::Anonymous(elements), .. } => {
                for e in elements {
                    if let Some(ElementData::Verdict(Verdict::Jump(c) | Verdict::Goto(c))) = &e.data
                    {
                        out.push(c.as_str());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_nft_prints_them() {
        assert_eq!(duration("3h"), Some(10_800_000));
        assert_eq!(duration("1d1h1m1s"), Some(90_061_000));
        assert_eq!(duration("59s988ms"), Some(59_988));
        assert_eq!(duration("10800s"), Some(10_800_000));
        assert_eq!(duration("h"), None);
        assert_eq!(duration(""), None);
    }

    #[test]
    fn nat_targets() {
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert!(matches!(nat_target("[fd00::1]:80"), Ok((ip, Some(80))) if ip == v6));
        assert!(matches!(nat_target("fd00::1"), Ok((ip, None)) if ip == v6));
        assert!(matches!(nat_target("10.0.0.1:8080"), Ok((_, Some(8080)))));
        assert!(nat_target("10.0.0.1:x").is_err());
    }
}
