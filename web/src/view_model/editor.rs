//! The editor's view of its text: lines highlighted as YAML, the diagnostics that point into
//! each line, which lines are on screen, and conversions between (line, column) and the
//! textarea's caret offsets.
//!
//! The highlighter is deliberately small and line-based: it colours what a person reading
//! Kubernetes YAML looks for (keys, strings, numbers, booleans, comments, list dashes,
//! document markers, block scalars) and never has to be right about YAML's corner cases,
//! because the core's parser is what decides. Not responsible for parsing.

mod highlight;

use std::collections::BTreeMap;
use std::ops::Range;

use kpsim::diagnostic::{Diagnostic, Severity};

use highlight::tokenize_line;

/// What a piece of a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Indentation, spaces, anything uncoloured.
    Plain,
    Comment,
    /// A mapping key.
    Key,
    /// A quoted scalar or block scalar content.
    String,
    Number,
    /// `true`, `false`, `null`, `~`.
    Literal,
    /// `-`, `:`, `[`, `]`, `{`, `}`, `,`, `|`, `>`.
    Punct,
    /// `---`, `...`.
    DocumentMarker,
    /// `&anchor`, `*alias`, `!tag`.
    Anchor,
}

impl TokenKind {
    /// The CSS class of the token (`tok-key`, …); empty for plain text.
    pub fn class(self) -> &'static str {
        match self {
            TokenKind::Plain => "",
            TokenKind::Comment => "tok-comment",
            TokenKind::Key => "tok-key",
            TokenKind::String => "tok-string",
            TokenKind::Number => "tok-number",
            TokenKind::Literal => "tok-literal",
            TokenKind::Punct => "tok-punct",
            TokenKind::DocumentMarker => "tok-marker",
            TokenKind::Anchor => "tok-anchor",
        }
    }
}

/// A token: its kind and byte range within its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub range: Range<usize>,
}

/// A diagnostic that points into a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub severity: Severity,
    /// 1-based, in Unicode scalar values (as the core counts).
    pub column: usize,
    pub message: String,
}

/// One line of the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Byte range of the line in the text, without its `\n`.
    pub range: Range<usize>,
    pub tokens: Vec<Token>,
}

/// The whole text, highlighted, with the diagnostics by line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EditorView {
    pub lines: Vec<Line>,
    /// 0-based line index → the diagnostics pointing into it (worst first).
    pub marks: BTreeMap<usize, Vec<Mark>>,
    /// Characters of the longest line (the highlight layer must be as wide as the textarea's
    /// content to scroll with it).
    pub longest: usize,
}

/// A piece of a line as drawn: text, kind, and whether a diagnostic underlines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span<'a> {
    pub kind: TokenKind,
    pub text: &'a str,
    pub flagged: Option<Severity>,
}

/// Highlights `text` and places `diagnostics` on its lines.
pub fn editor_view(text: &str, diagnostics: &[Diagnostic]) -> EditorView {
    let mut lines = Vec::new();
    let mut longest = 0;
    let mut block: Option<usize> = None;
    let mut start = 0;
    for raw in text.split('\n') {
        let range = start..start + raw.len();
        start = range.end + 1;
        longest = longest.max(raw.chars().count());
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        if let Some(parent) = block {
            if raw.trim().is_empty() || indent > parent {
                let tokens = if raw.is_empty() {
                    Vec::new()
                } else {
                    vec![Token { kind: TokenKind::String, range: 0..raw.len() }]
                };
                lines.push(Line { range, tokens });
                continue;
            }
            block = None;
        }
        let (tokens, opens_block) = tokenize_line(raw);
        if opens_block {
            block = Some(indent);
        }
        lines.push(Line { range, tokens });
    }
    let mut marks: BTreeMap<usize, Vec<Mark>> = BTreeMap::new();
    for d in diagnostics.iter().filter(|d| d.location.line != 0) {
        let index = (d.location.line - 1).min(lines.len().saturating_sub(1));
        marks.entry(index).or_default().push(Mark {
            severity: d.severity,
            column: d.location.column.max(1),
            message: d.to_string(),
        });
    }
    for list in marks.values_mut() {
        list.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.column.cmp(&b.column)));
    }
    EditorView { lines, marks, longest }
}

impl EditorView {
    /// The line's text pieces, with the token under each diagnostic's column underlined
    /// (to the end of that token).
    pub fn spans<'a>(&self, text: &'a str, index: usize) -> Vec<Span<'a>> {
        let Some(line) = self.lines.get(index) else { return Vec::new() };
        let Some(raw) = text.get(line.range.clone()) else { return Vec::new() };
        // Byte offsets where an underline starts, and its severity.
        let flags: Vec<(usize, Severity)> = self
            .marks
            .get(&index)
            .into_iter()
            .flatten()
            .map(|m| (byte_of_column(raw, m.column), m.severity))
            .collect();
        let mut out = Vec::new();
        let mut covered = 0;
        let push = |kind, range: Range<usize>, out: &mut Vec<Span<'a>>| {
            if range.is_empty() {
                return;
            }
            let mut cuts: Vec<(usize, Severity)> =
                flags.iter().copied().filter(|(b, _)| range.contains(b)).collect();
            cuts.sort();
            let mut at = range.start;
            let mut flagged: Option<Severity> = None;
            for (cut, severity) in cuts {
                if cut > at {
                    out.push(Span { kind, text: &raw[at..cut], flagged });
                    at = cut;
                }
                flagged = Some(flagged.map_or(severity, |f| f.max(severity)));
            }
            out.push(Span { kind, text: &raw[at..range.end], flagged });
        };
        for token in &line.tokens {
            if token.range.start > covered {
                push(TokenKind::Plain, covered..token.range.start, &mut out);
            }
            push(token.kind, token.range.clone(), &mut out);
            covered = token.range.end;
        }
        if covered < raw.len() {
            push(TokenKind::Plain, covered..raw.len(), &mut out);
        }
        out
    }

    /// The worst severity on a line, for its gutter marker.
    pub fn worst(&self, index: usize) -> Option<Severity> {
        self.marks.get(&index).and_then(|m| m.first()).map(|m| m.severity)
    }

    /// Every message on a line, one per line of text (the gutter marker's tooltip).
    pub fn messages(&self, index: usize) -> String {
        self.marks
            .get(&index)
            .map(|m| m.iter().map(|m| m.message.as_str()).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }
}

/// Lines to draw for a viewport: the visible ones and `margin` more on each side.
pub fn visible_lines(
    total: usize,
    scroll_top: f64,
    viewport: f64,
    line_height: f64,
    margin: usize,
) -> Range<usize> {
    if total == 0 || line_height <= 0.0 {
        return 0..total;
    }
    let first = (scroll_top.max(0.0) / line_height).floor() as usize;
    let count = (viewport.max(0.0) / line_height).ceil() as usize + 1;
    let start = first.saturating_sub(margin).min(total);
    let end = first.saturating_add(count).saturating_add(margin).min(total);
    start..end.max(start)
}

/// The textarea offset (UTF-16 code units) of a 1-based line and column (Unicode scalar
/// values), clamped to the line's end and to the text.
pub fn caret_offset(text: &str, line: usize, column: usize) -> u32 {
    let mut offset = 0usize;
    for (i, raw) in text.split('\n').enumerate() {
        if i + 1 == line.max(1) {
            let within: usize =
                raw.chars().take(column.saturating_sub(1)).map(char::len_utf16).sum();
            return u32::try_from(offset + within).unwrap_or(u32::MAX);
        }
        offset += raw.chars().map(char::len_utf16).sum::<usize>() + 1;
    }
    u32::try_from(offset.saturating_sub(1)).unwrap_or(u32::MAX)
}

/// The 1-based (line, column) of a textarea offset (UTF-16 code units).
pub fn line_column(text: &str, offset: u32) -> (usize, usize) {
    let offset = offset as usize;
    let (mut line, mut column, mut at) = (1, 1, 0usize);
    for c in text.chars() {
        if at >= offset {
            break;
        }
        at += c.len_utf16();
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// What Tab and Shift-Tab do: replace `start..end` (UTF-16 offsets) with `replacement`,
/// then select `select`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndentEdit {
    pub start: u32,
    pub end: u32,
    pub replacement: String,
    pub select: (u32, u32),
}

/// One level of indentation (Kubernetes YAML indents by two spaces).
pub const INDENT: &str = "  ";

/// Tab (`outdent` false) or Shift-Tab (`outdent` true) for a selection: a caret gets two
/// spaces; a selection indents or outdents every line it touches. `None` when nothing would
/// change.
pub fn indent_edit(text: &str, sel_start: u32, sel_end: u32, outdent: bool) -> Option<IndentEdit> {
    let (a, b) = (sel_start.min(sel_end), sel_start.max(sel_end));
    if a == b && !outdent {
        return Some(IndentEdit {
            start: a,
            end: a,
            replacement: INDENT.to_owned(),
            select: (a + INDENT.len() as u32, a + INDENT.len() as u32),
        });
    }
    let byte_a = byte_at_utf16(text, a);
    let mut byte_b = byte_at_utf16(text, b);
    // A selection ending at the start of a line does not touch that line.
    if b > a && byte_b > 0 && text.as_bytes().get(byte_b - 1) == Some(&b'\n') {
        byte_b -= 1;
    }
    let first = text[..byte_a].rfind('\n').map_or(0, |i| i + 1);
    let last = text[byte_b..].find('\n').map_or(text.len(), |i| byte_b + i);
    let block = &text[first..last];
    let mut replacement = String::with_capacity(block.len() + 8);
    let mut removed_on_first = 0u32;
    for (i, line) in block.split('\n').enumerate() {
        if i > 0 {
            replacement.push('\n');
        }
        if outdent {
            let strip = line.len() - line.trim_start_matches(' ').len();
            let strip = strip.min(INDENT.len());
            if i == 0 {
                removed_on_first = strip as u32;
            }
            replacement.push_str(&line[strip..]);
        } else {
            replacement.push_str(INDENT);
            replacement.push_str(line);
        }
    }
    if replacement == block {
        return None;
    }
    let start = utf16_len(&text[..first]);
    let end = start + utf16_len(block);
    let select = if a == b {
        // Shift-Tab on a caret: the caret stays on its character.
        let caret = a.saturating_sub(removed_on_first).max(start);
        (caret, caret)
    } else {
        (start, start + utf16_len(&replacement))
    };
    Some(IndentEdit { start, end, replacement, select })
}

fn utf16_len(s: &str) -> u32 {
    u32::try_from(s.encode_utf16().count()).unwrap_or(u32::MAX)
}

/// Byte offset of a UTF-16 offset (clamped to the text).
fn byte_at_utf16(text: &str, offset: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in text.char_indices() {
        if units >= offset {
            return i;
        }
        units += c.len_utf16() as u32;
    }
    text.len()
}

/// Byte offset of a 1-based column in a line (the line's end when past it).
fn byte_of_column(raw: &str, column: usize) -> usize {
    raw.char_indices().nth(column.saturating_sub(1)).map_or(raw.len(), |(b, _)| b)
}

#[cfg(test)]
mod tests {
    use super::highlight::is_number;
    use super::*;
    use kpsim::diagnostic::DiagnosticKind;
    use kpsim::diagnostic::Location;

    /// `kind:text` for each token of a one-line input.
    fn tokens(line: &str) -> Vec<String> {
        let view = editor_view(line, &[]);
        view.spans(line, 0)
            .iter()
            .filter(|s| s.kind != TokenKind::Plain || !s.text.trim().is_empty())
            .map(|s| format!("{:?}:{}", s.kind, s.text))
            .collect()
    }

    #[test]
    fn keys_values_and_comments_are_told_apart() {
        assert_eq!(
            tokens("  name: server # the pod"),
            ["Key:name", "Punct::", "Plain:server", "Comment:# the pod"]
        );
        assert_eq!(tokens("port: 8080"), ["Key:port", "Punct::", "Number:8080"]);
        assert_eq!(tokens("ready: true"), ["Key:ready", "Punct::", "Literal:true"]);
        assert_eq!(tokens("image: nginx:1.27"), ["Key:image", "Punct::", "Plain:nginx:1.27"]);
        assert_eq!(tokens("status: \"False\""), ["Key:status", "Punct::", "String:\"False\""]);
    }

    #[test]
    fn list_dashes_and_document_markers_are_punctuation() {
        assert_eq!(
            tokens("- containerPort: 80"),
            ["Punct:-", "Key:containerPort", "Punct::", "Number:80"]
        );
        assert_eq!(tokens("---"), ["DocumentMarker:---"]);
        assert_eq!(tokens("- 10.0.0.1"), ["Punct:-", "Plain:10.0.0.1"]);
    }

    #[test]
    fn flow_collections_and_their_keys() {
        assert_eq!(
            tokens("metadata: {name: n1, uid: 7}"),
            [
                "Key:metadata",
                "Punct::",
                "Punct:{",
                "Key:name",
                "Punct::",
                "Plain:n1",
                "Punct:,",
                "Key:uid",
                "Punct::",
                "Number:7",
                "Punct:}"
            ]
        );
        assert_eq!(
            tokens("command: [\"sleep\", \"infinity\"]"),
            [
                "Key:command",
                "Punct::",
                "Punct:[",
                "String:\"sleep\"",
                "Punct:,",
                "String:\"infinity\"",
                "Punct:]"
            ]
        );
    }

    #[test]
    fn managed_fields_keys_with_colons_and_braces_are_keys() {
        assert_eq!(tokens("  k:{\"name\":\"shell\"}:"), ["Key:k:{\"name\":\"shell\"}", "Punct::"]);
        assert_eq!(tokens("f:status:"), ["Key:f:status", "Punct::"]);
    }

    #[test]
    fn block_scalar_content_is_a_string_until_dedent() {
        let text = "data: |\n  line one: not a key\n\n  two\nnext: 1\n";
        let view = editor_view(text, &[]);
        let kinds: Vec<Vec<TokenKind>> =
            view.lines.iter().map(|l| l.tokens.iter().map(|t| t.kind).collect()).collect();
        assert_eq!(kinds[0], [TokenKind::Key, TokenKind::Punct, TokenKind::Punct]);
        assert_eq!(kinds[1], [TokenKind::String]);
        assert_eq!(kinds[2], []);
        assert_eq!(kinds[3], [TokenKind::String]);
        assert_eq!(kinds[4], [TokenKind::Key, TokenKind::Punct, TokenKind::Number]);
    }

    #[test]
    fn numbers_are_numbers_and_versions_are_not() {
        for n in ["80", "-1", "0.5", "1e3", "0x1F", "0o17"] {
            assert!(is_number(n), "{n}");
        }
        for n in ["1.27.1", "10.0.0.1", "v1", "", "e3", "0x"] {
            assert!(!is_number(n), "{n}");
        }
    }

    #[test]
    fn spans_cover_the_line_exactly_in_order() {
        let line = "  - {a: 'b''c', d: [1, 2]}  # x";
        let joined: String = editor_view(line, &[]).spans(line, 0).iter().map(|s| s.text).collect();
        assert_eq!(joined, line);
    }

    fn diagnostic(line: usize, column: usize, severity: Severity) -> Diagnostic {
        Diagnostic::new(severity, DiagnosticKind::Syntax, "broken").at(Location {
            document: 0,
            line,
            column,
        })
    }

    #[test]
    fn a_diagnostic_underlines_from_its_column_to_the_end_of_the_token() {
        let text = "kind: Pod\nmetadata:\n  name: a b\n";
        let view = editor_view(text, &[diagnostic(3, 9, Severity::Error)]);
        let spans = view.spans(text, 2);
        let flagged: Vec<&str> =
            spans.iter().filter(|s| s.flagged.is_some()).map(|s| s.text).collect();
        assert_eq!(flagged, ["a b"]);
        assert_eq!(view.worst(2), Some(Severity::Error));
        assert_eq!(view.worst(0), None);
        assert!(view.messages(2).contains("broken"), "{}", view.messages(2));
    }

    #[test]
    fn a_diagnostic_inside_a_token_splits_it() {
        let text = "name: abcdef";
        let view = editor_view(text, &[diagnostic(1, 9, Severity::Warning)]);
        let spans: Vec<(String, bool)> =
            view.spans(text, 0).iter().map(|s| (s.text.to_owned(), s.flagged.is_some())).collect();
        assert!(spans.contains(&("ab".to_owned(), false)), "{spans:?}");
        assert!(spans.contains(&("cdef".to_owned(), true)), "{spans:?}");
    }

    #[test]
    fn a_diagnostic_past_the_last_line_lands_on_the_last_line() {
        let text = "a: [\n";
        let view = editor_view(text, &[diagnostic(9, 1, Severity::Error)]);
        assert_eq!(view.lines.len(), 2);
        assert_eq!(view.worst(1), Some(Severity::Error));
    }

    #[test]
    fn unplaced_diagnostics_mark_no_line() {
        let view = editor_view("a: 1\n", &[diagnostic(0, 0, Severity::Info)]);
        assert!(view.marks.is_empty());
    }

    #[test]
    fn the_longest_line_counts_characters() {
        assert_eq!(editor_view("ab\nçàé\u{1F600}x\n", &[]).longest, 5);
    }

    #[test]
    fn visible_lines_cover_the_viewport_and_margins() {
        assert_eq!(visible_lines(1000, 0.0, 400.0, 20.0, 10), 0..31);
        assert_eq!(visible_lines(1000, 2000.0, 400.0, 20.0, 10), 90..131);
        assert_eq!(visible_lines(100, 5000.0, 400.0, 20.0, 10), 100..100);
        assert_eq!(visible_lines(5, 0.0, 400.0, 20.0, 10), 0..5);
        assert_eq!(visible_lines(0, 0.0, 400.0, 20.0, 10), 0..0);
    }

    fn apply(text: &str, edit: &IndentEdit) -> String {
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut out: Vec<u16> = units[..edit.start as usize].to_vec();
        out.extend(edit.replacement.encode_utf16());
        out.extend(&units[edit.end as usize..]);
        String::from_utf16(&out).expect("utf16")
    }

    #[test]
    fn tab_on_a_caret_inserts_two_spaces() {
        let e = indent_edit("a:\nb", 3, 3, false).expect("edit");
        assert_eq!(apply("a:\nb", &e), "a:\n  b");
        assert_eq!(e.select, (5, 5));
    }

    #[test]
    fn tab_on_a_selection_indents_every_line_it_touches() {
        let text = "a: 1\nb: 2\nc: 3\n";
        // From inside line 1 to the start of line 3: lines 1 and 2.
        let e = indent_edit(text, 1, 10, false).expect("edit");
        assert_eq!(apply(text, &e), "  a: 1\n  b: 2\nc: 3\n");
        assert_eq!(e.select, (0, 13));
    }

    #[test]
    fn shift_tab_outdents_up_to_two_spaces() {
        let text = "x:\n    y: 1\n z: 2\n";
        let e = indent_edit(text, 5, 15, true).expect("edit");
        assert_eq!(apply(text, &e), "x:\n  y: 1\nz: 2\n");
        let caret = indent_edit(text, 9, 9, true).expect("edit");
        assert_eq!(apply(text, &caret), "x:\n  y: 1\n z: 2\n");
        assert_eq!(caret.select, (7, 7));
        assert_eq!(indent_edit("x: 1", 2, 2, true), None, "nothing to outdent");
    }

    #[test]
    fn indentation_counts_utf16_offsets() {
        let text = "\u{1F600}: 1\nb: 2";
        let e = indent_edit(text, 0, 8, false).expect("edit");
        assert_eq!(apply(text, &e), "  \u{1F600}: 1\n  b: 2");
    }

    #[test]
    fn caret_offsets_count_utf16_and_round_trip() {
        let text = "a: 1\nb: \u{1F600}x\nc";
        assert_eq!(caret_offset(text, 1, 1), 0);
        assert_eq!(caret_offset(text, 2, 1), 5);
        // The emoji is two UTF-16 units, one column.
        assert_eq!(caret_offset(text, 2, 5), 5 + 3 + 2);
        assert_eq!(line_column(text, 10), (2, 5));
        assert_eq!(caret_offset(text, 3, 1), 12);
        assert_eq!(line_column(text, 12), (3, 1));
        // Past the end of a line: its end; past the last line: the text's end.
        assert_eq!(caret_offset(text, 1, 99), 4);
        assert_eq!(caret_offset(text, 9, 1), 13);
    }
}
