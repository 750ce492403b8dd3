//! The YAML line highlighter of the editor: splits one line into coloured tokens (keys,
//! strings, numbers, booleans, comments, list dashes, document markers, block scalars).
//! Not responsible for parsing: the core's parser decides what the YAML means.

use std::ops::Range;

use super::{Token, TokenKind};

/// Tokens of one line outside a block scalar, and whether the line opens a block scalar
/// (`key: |`, `- >-`).
pub(super) fn tokenize_line(line: &str) -> (Vec<Token>, bool) {
    let mut t = Tokenizer { line, bytes: line.as_bytes(), pos: 0, tokens: Vec::new() };
    t.skip_spaces();
    if t.pos == 0 && (line.starts_with("---") || line.starts_with("...")) {
        let rest = &line[3..];
        if rest.is_empty() || rest.starts_with([' ', '\t']) {
            t.emit(TokenKind::DocumentMarker, 0..3);
            t.pos = 3;
            t.skip_spaces();
        }
    }
    // List dashes: `- - key: value`.
    while t.peek() == Some(b'-') && matches!(t.bytes.get(t.pos + 1), None | Some(b' ' | b'\t')) {
        t.emit(TokenKind::Punct, t.pos..t.pos + 1);
        t.pos += 1;
        t.skip_spaces();
    }
    if t.peek() == Some(b'#') {
        t.comment();
        return (t.tokens, false);
    }
    if let Some(colon) = t.key_end() {
        t.emit(TokenKind::Key, t.pos..colon);
        t.emit(TokenKind::Punct, colon..colon + 1);
        t.pos = colon + 1;
        t.skip_spaces();
    }
    let opens_block = t.value(false);
    (t.tokens, opens_block)
}

struct Tokenizer<'a> {
    line: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
}

impl Tokenizer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn emit(&mut self, kind: TokenKind, range: Range<usize>) {
        if !range.is_empty() {
            self.tokens.push(Token { kind, range });
        }
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn comment(&mut self) {
        self.emit(TokenKind::Comment, self.pos..self.bytes.len());
        self.pos = self.bytes.len();
    }

    /// End of a quoted scalar starting at `from` (the byte after its closing quote).
    fn quoted_end(&self, from: usize) -> usize {
        let quote = self.bytes[from];
        let mut i = from + 1;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && self.bytes.get(i + 1) == Some(&b'\'') => i += 2,
                b if b == quote => return i + 1,
                _ => i += 1,
            }
        }
        self.bytes.len()
    }

    /// When the rest of the line starts with a mapping key, the byte offset of its `:`.
    fn key_end(&self) -> Option<usize> {
        let start = self.pos;
        match self.peek()? {
            b'[' | b'{' | b'|' | b'>' | b'#' | b'&' | b'*' | b'!' => return None,
            b'"' | b'\'' => {
                let end = self.quoted_end(start);
                let mut i = end;
                while matches!(self.bytes.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                return (self.bytes.get(i) == Some(&b':') && self.separates(i)).then_some(i);
            }
            _ => {}
        }
        let mut i = start;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b':' if self.separates(i) => return Some(i),
                b'#' if i > start && matches!(self.bytes[i - 1], b' ' | b'\t') => return None,
                _ => i += 1,
            }
        }
        None
    }

    /// A `:` at `i` separates key and value when followed by a space or the line's end.
    fn separates(&self, i: usize) -> bool {
        matches!(self.bytes.get(i + 1), None | Some(b' ' | b'\t'))
    }

    /// Tokens of a value up to the end of the line (or of the flow element, inside `[…]`
    /// and `{…}`); returns true when it is a block scalar indicator.
    fn value(&mut self, in_flow: bool) -> bool {
        loop {
            self.skip_spaces();
            let Some(b) = self.peek() else { return false };
            match b {
                b'#' => {
                    self.comment();
                    return false;
                }
                b'"' | b'\'' => {
                    let end = self.quoted_end(self.pos);
                    self.emit(TokenKind::String, self.pos..end);
                    self.pos = end;
                }
                b'[' | b'{' | b']' | b'}' | b',' => {
                    self.emit(TokenKind::Punct, self.pos..self.pos + 1);
                    self.pos += 1;
                    if matches!(b, b'[' | b'{' | b',') {
                        self.flow_key();
                    }
                    continue;
                }
                b'|' | b'>' if !in_flow && self.block_indicator() => return true,
                b'&' | b'*' | b'!' => {
                    let end = self.word_end(self.pos, false);
                    self.emit(TokenKind::Anchor, self.pos..end);
                    self.pos = end;
                }
                _ => {
                    let nested = in_flow || self.inside_flow();
                    let end = self.word_end(self.pos, nested);
                    let word = self.line[self.pos..end].trim_end();
                    let kind = scalar_kind(word);
                    self.emit(kind, self.pos..self.pos + word.len());
                    self.pos = end;
                }
            }
        }
    }

    /// True while an unclosed `[` or `{` precedes the position on this line.
    fn inside_flow(&self) -> bool {
        let mut depth = 0i32;
        for t in &self.tokens {
            if t.kind == TokenKind::Punct {
                match self.bytes[t.range.start] {
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => depth -= 1,
                    _ => {}
                }
            }
        }
        depth > 0
    }

    /// Inside a flow mapping, `key:` after `{` or `,`.
    fn flow_key(&mut self) {
        self.skip_spaces();
        let mut i = self.pos;
        while i < self.bytes.len() && !matches!(self.bytes[i], b',' | b'}' | b']' | b'[' | b'{') {
            if self.bytes[i] == b':' && self.separates(i) {
                let key = self.line[self.pos..i].trim_end();
                self.emit(TokenKind::Key, self.pos..self.pos + key.len());
                self.emit(TokenKind::Punct, i..i + 1);
                self.pos = i + 1;
                return;
            }
            i += 1;
        }
    }

    /// A `|` or `>` with optional chomping/indentation indicators, then nothing but a
    /// comment: emits it and consumes the line.
    fn block_indicator(&mut self) -> bool {
        let rest = &self.line[self.pos + 1..];
        let modifiers = rest.len()
            - rest
                .trim_start_matches(['+', '-', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
                .len();
        let after = rest[modifiers..].trim_start();
        if !(after.is_empty() || after.starts_with('#')) {
            return false;
        }
        let end = self.pos + 1 + modifiers;
        self.emit(TokenKind::Punct, self.pos..end);
        self.pos = end;
        self.skip_spaces();
        if self.peek() == Some(b'#') {
            self.comment();
        }
        true
    }

    /// End of a plain scalar: before ` #`, or (in flow) before `,`, `]`, `}`.
    fn word_end(&self, from: usize, in_flow: bool) -> usize {
        let mut i = from;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'#' if i > from && matches!(self.bytes[i - 1], b' ' | b'\t') => return i,
                b',' | b']' | b'}' | b'[' | b'{' if in_flow => return i,
                b' ' | b'\t' if !in_flow && self.bytes[from] != b' ' => {
                    // Anchors and tags end at a space; plain scalars may contain spaces.
                    if matches!(self.bytes[from], b'&' | b'*' | b'!') {
                        return i;
                    }
                    i += 1;
                }
                _ => i += 1,
            }
        }
        i
    }
}

/// Numbers, literals or plain text.
fn scalar_kind(word: &str) -> TokenKind {
    match word {
        "true" | "false" | "True" | "False" | "TRUE" | "FALSE" | "null" | "Null" | "NULL" | "~" => {
            TokenKind::Literal
        }
        _ if is_number(word) => TokenKind::Number,
        _ => TokenKind::Plain,
    }
}

pub(super) fn is_number(word: &str) -> bool {
    let w = word.strip_prefix(['-', '+']).unwrap_or(word);
    if let Some(hex) = w.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(oct) = w.strip_prefix("0o") {
        return !oct.is_empty() && oct.chars().all(|c| c.is_digit(8));
    }
    let mut digits = 0;
    let mut dots = 0;
    for (i, c) in w.char_indices() {
        match c {
            '0'..='9' => digits += 1,
            '.' => dots += 1,
            'e' | 'E' if i > 0 && digits > 0 => {
                let exp = w[i + 1..].strip_prefix(['-', '+']).unwrap_or(&w[i + 1..]);
                return !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit()) && dots <= 1;
            }
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}
