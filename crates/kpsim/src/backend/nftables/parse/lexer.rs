//! Splits `nft list` text into tokens: words, quoted strings, braces, commas, semicolons and
//! line ends (rules end at a line end; element lists may span lines). `#` starts a comment
//! (`nft -a` prints `# handle N`).

use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
    Semi,
    Newline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// 1-based line number.
    pub(crate) line: usize,
}

impl Token {
    pub(crate) fn word(&self) -> Option<&str> {
        match &self.kind {
            TokenKind::Word(w) => Some(w),
            _ => None,
        }
    }

    /// A word, or a punctuation token as its character; `None` for strings and line ends.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.kind {
            TokenKind::Word(w) => Some(w),
            TokenKind::Open => Some("{"),
            TokenKind::Close => Some("}"),
            TokenKind::Comma => Some(","),
            TokenKind::Semi => Some(";"),
            TokenKind::Str(_) | TokenKind::Newline => None,
        }
    }
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut chars = line.char_indices().peekable();
        while let Some(&(start, c)) = chars.peek() {
            let punct = match c {
                '{' => Some(TokenKind::Open),
                '}' => Some(TokenKind::Close),
                ',' => Some(TokenKind::Comma),
                ';' => Some(TokenKind::Semi),
                _ => None,
            };
            if let Some(kind) = punct {
                out.push(Token { kind, line: line_no });
                chars.next();
            } else if c.is_whitespace() {
                chars.next();
            } else if c == '#' {
                break;
            } else if c == '"' {
                chars.next();
                let rest = &line[start + 1..];
                let Some(end) = rest.find('"') else {
                    return Err(ParseError {
                        line: line_no,
                        message: "unterminated string".into(),
                    });
                };
                out.push(Token { kind: TokenKind::Str(rest[..end].to_owned()), line: line_no });
                while chars.peek().is_some_and(|&(j, _)| j <= start + 1 + end) {
                    chars.next();
                }
            } else {
                let mut end = line.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '{' | '}' | ',' | ';' | '"') {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Token {
                    kind: TokenKind::Word(line[start..end].to_owned()),
                    line: line_no,
                });
            }
        }
        out.push(Token { kind: TokenKind::Newline, line: line_no });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_punctuation_and_strings() {
        let toks =
            tokenize("elements = { 1.2.3.4 comment \"a, b\", fd00::1 }; # handle 3\n").unwrap();
        let kinds: Vec<String> = toks
            .iter()
            .map(|t| match &t.kind {
                TokenKind::Word(w) => w.clone(),
                TokenKind::Str(s) => format!("\"{s}\""),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "elements", "=", "Open", "1.2.3.4", "comment", "\"a, b\"", "Comma", "fd00::1",
                "Close", "Semi", "Newline"
            ]
        );
        assert_eq!(tokenize("comment \"open").unwrap_err().line, 1);
    }
}
