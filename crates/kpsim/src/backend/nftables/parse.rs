//! Reading `nft list table` / `nft list ruleset` text (what an admin pastes from a node) into
//! the typed [`Ruleset`], so a real node's rules can be traced.
//!
//! The grammar is nft 1.0.6's listing: tables holding sets, maps and chains; rules one per
//! line. Rules (and rule parts) outside the vocabulary of this model are kept verbatim as
//! [`Statement::Unsupported`] so the rest of a pasted ruleset stays usable; structural
//! problems (unbalanced braces, unknown object kinds, bad set types) are errors with the line
//! they are on. Rule grammar is in `parse/rule.rs`.

mod lexer;
mod rule;

use std::fmt;

use super::ruleset::{
    BaseChain, Chain, ChainType, DataType, Element, Family, Hook, Map, Policy, Ruleset,
    STANDARD_PRIORITIES, Set, SetFlag, Table,
};
use lexer::{Token, TokenKind, tokenize};

/// A problem in `nft list` text, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses `nft list ruleset` (or `nft list table …`) output.
///
/// ```
/// let text = "table ip kube-proxy {\n\tchain services {\n\t\tip daddr . meta l4proto . th dport vmap @service-ips\n\t}\n}\n";
/// let err = kpsim::backend::nftables::parse_list(text).unwrap_err();
/// assert_eq!(err.to_string(), "line 3: @service-ips is not a set or map of table ip kube-proxy");
/// let ok = kpsim::backend::nftables::parse_list("table ip t {\n\tchain c {\n\t\tip saddr 10.0.0.0/8 drop\n\t}\n}\n").unwrap();
/// assert_eq!(ok.list_view().to_string(), "table ip t {\n\tchain c {\n\t\tip saddr 10.0.0.0/8 drop\n\t}\n}\n");
/// ```
pub fn parse_list(text: &str) -> Result<Ruleset, ParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens: &tokens, pos: 0, text, targets: Vec::new() };
    let mut ruleset = Ruleset::default();
    loop {
        p.skip_newlines();
        let Some(tok) = p.peek() else { break };
        match tok.word() {
            Some("table") => ruleset.tables.push(p.table()?),
            _ => return Err(p.error_here("expected `table`")),
        }
    }
    Ok(ruleset)
}

pub(crate) struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    text: &'t str,
    /// Chains the current table's rules jump or go to, with the line of the rule.
    targets: Vec<(usize, String)>,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&'t Token> {
        let t = self.tokens.get(self.pos);
        self.pos += 1;
        t
    }

    fn line(&self) -> usize {
        self.peek().or_else(|| self.tokens.last()).map(|t| t.line).unwrap_or(1)
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        ParseError { line: self.line(), message: message.into() }
    }

    fn skip_newlines(&mut self) {
        while self.peek().is_some_and(|t| t.kind == TokenKind::Newline) {
            self.pos += 1;
        }
    }

    fn expect_word(&mut self, what: &str) -> Result<&'t str, ParseError> {
        match self.next() {
            Some(t) => match t.word() {
                Some(w) => Ok(w),
                None => Err(ParseError { line: t.line, message: format!("expected {what}") }),
            },
            None => Err(self.error_here(format!("expected {what}, found the end"))),
        }
    }

    fn expect(&mut self, kind: TokenKind, what: &str) -> Result<(), ParseError> {
        match self.next() {
            Some(t) if t.kind == kind => Ok(()),
            Some(t) => Err(ParseError { line: t.line, message: format!("expected {what}") }),
            None => Err(self.error_here(format!("expected {what}, found the end"))),
        }
    }

    fn expect_string(&mut self) -> Result<String, ParseError> {
        match self.next() {
            Some(Token { kind: TokenKind::Str(s), .. }) => Ok(s.clone()),
            Some(t) => Err(ParseError { line: t.line, message: "expected a quoted string".into() }),
            None => Err(self.error_here("expected a quoted string, found the end")),
        }
    }

    /// The tokens up to the end of the line (not consuming the newline).
    fn rest_of_line(&mut self) -> &'t [Token] {
        let start = self.pos;
        while self.peek().is_some_and(|t| t.kind != TokenKind::Newline) {
            self.pos += 1;
        }
        &self.tokens[start..self.pos]
    }

    fn line_text(&self, line: usize) -> &'t str {
        self.text.lines().nth(line.saturating_sub(1)).unwrap_or("").trim()
    }

    fn table(&mut self) -> Result<Table, ParseError> {
        self.expect_word("`table`")?;
        let family_word = self.expect_word("a family")?;
        let family = Family::parse(family_word)
            .ok_or_else(|| self.error_here(format!("unsupported table family `{family_word}`")))?;
        let name = self.expect_word("a table name")?.to_owned();
        self.expect(TokenKind::Open, "`{`")?;
        let mut table = Table::new(family, name);
        self.targets.clear();
        loop {
            self.skip_newlines();
            let Some(tok) = self.next() else {
                return Err(self.error_here("unterminated table: missing `}`"));
            };
            match (&tok.kind, tok.word()) {
                (TokenKind::Close, _) => {
                    for (line, target) in &self.targets {
                        if table.chain(target).is_none() {
                            return Err(ParseError {
                                line: *line,
                                message: format!(
                                    "no chain {target} in table {}",
                                    table.qualified_name()
                                ),
                            });
                        }
                    }
                    return Ok(table);
                }
                (_, Some("comment")) => table.comment = Some(self.expect_string()?),
                (_, Some("set")) => table.sets.push(self.set()?),
                (_, Some("map")) => table.maps.push(self.map()?),
                (_, Some("chain")) => table.chains.push(self.chain(&table)?),
                (_, Some(other)) => {
                    return Err(ParseError {
                        line: tok.line,
                        message: format!("unsupported table object `{other}`"),
                    });
                }
                _ => return Err(ParseError { line: tok.line, message: "unexpected token".into() }),
            }
        }
    }

    /// `type a . b [: c]` up to the end of the line.
    fn types(&mut self) -> Result<(Vec<DataType>, Option<DataType>), ParseError> {
        let line = self.line();
        let words: Vec<&str> = self.rest_of_line().iter().filter_map(|t| t.text()).collect();
        let (key, data) = match words.iter().position(|w| *w == ":") {
            Some(i) => (&words[..i], Some(&words[i + 1..])),
            None => (&words[..], None),
        };
        let parse_concat = |ws: &[&str]| -> Result<Vec<DataType>, ParseError> {
            let types: Vec<DataType> =
                ws.iter().filter(|w| **w != ".").map(|w| DataType::parse(w)).collect();
            if types.is_empty() {
                return Err(ParseError { line, message: "a type is missing".into() });
            }
            Ok(types)
        };
        let key = parse_concat(key)?;
        let data = match data {
            Some(ws) => {
                let mut d = parse_concat(ws)?;
                if d.len() != 1 {
                    return Err(ParseError { line, message: "a map holds one data type".into() });
                }
                d.pop()
            }
            None => None,
        };
        Ok((key, data))
    }

    fn flags(&mut self) -> Vec<SetFlag> {
        self.rest_of_line()
            .iter()
            .filter_map(|t| t.text())
            .filter(|w| *w != ",")
            .map(SetFlag::parse)
            .collect()
    }

    fn elements(
        &mut self,
        key: &[DataType],
        data: Option<&DataType>,
    ) -> Result<Vec<Element>, ParseError> {
        let line = self.line();
        if self.next().and_then(Token::text) != Some("=") {
            return Err(ParseError { line, message: "expected `elements = {`".into() });
        }
        self.expect(TokenKind::Open, "`{`")?;
        let start = self.pos;
        let mut depth = 1;
        while depth > 0 {
            match self.next() {
                Some(Token { kind: TokenKind::Open, .. }) => depth += 1,
                Some(Token { kind: TokenKind::Close, .. }) => depth -= 1,
                Some(_) => {}
                None => {
                    return Err(ParseError { line, message: "unterminated `elements = {`".into() });
                }
            }
        }
        let inner: Vec<&Token> = self.tokens[start..self.pos - 1]
            .iter()
            .filter(|t| t.kind != TokenKind::Newline)
            .collect();
        let mut out = Vec::new();
        for chunk in inner.split(|t| t.kind == TokenKind::Comma) {
            if chunk.is_empty() {
                continue;
            }
            out.push(rule::element(chunk, key, data)?);
        }
        Ok(out)
    }

    fn set(&mut self) -> Result<Set, ParseError> {
        let name = self.expect_word("a set name")?.to_owned();
        self.expect(TokenKind::Open, "`{`")?;
        let mut set = Set::new(name, Vec::new());
        loop {
            self.skip_newlines();
            let Some(tok) = self.next() else { return Err(self.error_here("unterminated set")) };
            match (&tok.kind, tok.word()) {
                (TokenKind::Close, _) => break,
                (_, Some("type")) => {
                    let (key, data) = self.types()?;
                    if data.is_some() {
                        return Err(ParseError {
                            line: tok.line,
                            message: "a set has no data type".into(),
                        });
                    }
                    set.key = key;
                }
                (_, Some("size")) => set.size = Some(rule::number(self.next(), tok.line)?),
                (_, Some("flags")) => set.flags = self.flags(),
                (_, Some("timeout")) => {
                    set.timeout_ms = Some(rule::duration_token(self.next(), tok.line)?)
                }
                (_, Some("comment")) => set.comment = Some(self.expect_string()?),
                (_, Some("elements")) => set.elements = self.elements(&set.key, None)?,
                (_, Some(other)) => {
                    return Err(ParseError {
                        line: tok.line,
                        message: format!("unsupported set attribute `{other}`"),
                    });
                }
                _ => {
                    return Err(ParseError {
                        line: tok.line,
                        message: "unexpected token in set".into(),
                    });
                }
            }
        }
        if set.key.is_empty() {
            return Err(self.error_here(format!("set {} has no type", set.name)));
        }
        Ok(set)
    }

    fn map(&mut self) -> Result<Map, ParseError> {
        let name = self.expect_word("a map name")?.to_owned();
        self.expect(TokenKind::Open, "`{`")?;
        let mut map = Map::new(name, Vec::new(), DataType::Verdict);
        let mut typed = false;
        loop {
            self.skip_newlines();
            let Some(tok) = self.next() else { return Err(self.error_here("unterminated map")) };
            match (&tok.kind, tok.word()) {
                (TokenKind::Close, _) => break,
                (_, Some("type")) => {
                    let (key, data) = self.types()?;
                    map.key = key;
                    map.data = data.ok_or_else(|| ParseError {
                        line: tok.line,
                        message: "a map needs `: type`".into(),
                    })?;
                    typed = true;
                }
                (_, Some("flags")) => map.flags = self.flags(),
                (_, Some("comment")) => map.comment = Some(self.expect_string()?),
                (_, Some("elements")) => {
                    let data = map.data.clone();
                    map.elements = self.elements(&map.key, Some(&data))?;
                }
                (_, Some(other)) => {
                    return Err(ParseError {
                        line: tok.line,
                        message: format!("unsupported map attribute `{other}`"),
                    });
                }
                _ => {
                    return Err(ParseError {
                        line: tok.line,
                        message: "unexpected token in map".into(),
                    });
                }
            }
        }
        if !typed {
            return Err(self.error_here(format!("map {} has no type", map.name)));
        }
        Ok(map)
    }

    fn chain(&mut self, table: &Table) -> Result<Chain, ParseError> {
        let name = self.expect_word("a chain name")?.to_owned();
        self.expect(TokenKind::Open, "`{`")?;
        let mut chain = Chain::regular(name);
        loop {
            self.skip_newlines();
            let Some(tok) = self.peek() else { return Err(self.error_here("unterminated chain")) };
            match (&tok.kind, tok.word()) {
                (TokenKind::Close, _) => {
                    self.pos += 1;
                    return Ok(chain);
                }
                (_, Some("comment")) if chain.rules.is_empty() && self.is_alone_comment() => {
                    self.pos += 1;
                    chain.comment = Some(self.expect_string()?);
                }
                (_, Some("type")) if chain.rules.is_empty() && chain.base.is_none() => {
                    self.pos += 1;
                    chain.base = Some(self.base_chain(tok.line)?);
                }
                _ => {
                    let line = tok.line;
                    let tokens = self.rest_of_line();
                    let raw = self.line_text(line);
                    let rule = rule::rule(tokens, raw, line)?;
                    for name in rule::set_refs(&rule) {
                        if table.set(name).is_none() && table.map(name).is_none() {
                            return Err(ParseError {
                                line,
                                message: format!(
                                    "@{name} is not a set or map of table {}",
                                    table.qualified_name()
                                ),
                            });
                        }
                    }
                    self.targets
                        .extend(rule::chain_refs(&rule).into_iter().map(|c| (line, c.to_owned())));
                    chain.rules.push(rule);
                }
            }
        }
    }

    /// `comment "…"` alone on its line (a chain comment, not a rule).
    fn is_alone_comment(&self) -> bool {
        matches!(self.tokens.get(self.pos + 1), Some(Token { kind: TokenKind::Str(_), .. }))
            && self.tokens.get(self.pos + 2).is_none_or(|t| t.kind == TokenKind::Newline)
    }

    /// `type filter hook prerouting priority dstnat - 10; policy accept;`
    fn base_chain(&mut self, line: usize) -> Result<BaseChain, ParseError> {
        let err = |m: &str| ParseError { line, message: m.to_owned() };
        let words: Vec<&str> = self.rest_of_line().iter().filter_map(|t| t.text()).collect();
        let mut it = words.iter().copied().peekable();
        let chain_type =
            it.next().and_then(ChainType::parse).ok_or_else(|| err("unknown chain type"))?;
        if it.next() != Some("hook") {
            return Err(err("expected `hook`"));
        }
        let hook = it.next().and_then(Hook::parse).ok_or_else(|| err("unsupported hook"))?;
        if it.next() != Some("priority") {
            return Err(err("expected `priority`"));
        }
        let mut prio_words = Vec::new();
        while let Some(w) = it.next_if(|w| *w != ";") {
            prio_words.push(w);
        }
        let priority = priority(&prio_words).ok_or_else(|| err("bad priority"))?;
        let mut policy = Policy::Accept;
        while let Some(w) = it.next() {
            match w {
                ";" => {}
                "policy" => {
                    policy = match it.next() {
                        Some("accept") => Policy::Accept,
                        Some("drop") => Policy::Drop,
                        _ => return Err(err("bad policy")),
                    }
                }
                other => return Err(err(&format!("unsupported base chain attribute `{other}`"))),
            }
        }
        Ok(BaseChain { chain_type, hook, priority, policy })
    }
}

/// `-110`, `filter`, `dstnat - 10`, `srcnat + 5`.
fn priority(words: &[&str]) -> Option<i32> {
    let base = |w: &str| {
        w.parse::<i32>()
            .ok()
            .or_else(|| STANDARD_PRIORITIES.iter().find(|(n, ..)| *n == w).map(|(_, v, _)| *v))
    };
    match words {
        [w] => base(w),
        [w, "+", n] => Some(base(w)? + n.parse::<i32>().ok()?),
        [w, "-", n] => Some(base(w)? - n.parse::<i32>().ok()?),
        _ => None,
    }
}
