//! Finding the items of a `List` (or of a top-level array) in a document's text, all in one
//! pass, so each item can later be searched alone.
//!
//! Locating `items[i]` with [`super::locate`] walks the whole document each time, which is
//! quadratic for a 10,000-item `kubectl get … -o yaml`. This module finds every item's byte
//! range and position once. It is best effort like the locator: when the number of items
//! found disagrees with what the parser read, the caller falls back to document positions.
//! It does not parse values.

/// Where one item of a sequence sits inside its document's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSpan {
    /// Byte range of the item inside the document text. For block style it starts at the
    /// beginning of the `- ` line; for flow style at the item's first character.
    pub start: usize,
    pub end: usize,
    /// 1-based line (inside the document) and column of the item's first character (the
    /// `-` in block style).
    pub line: usize,
    pub column: usize,
    /// Block style (`- kind: Pod` lines) rather than flow style / JSON.
    pub block: bool,
}

/// The items of the sequence under the root key `key` (`items` of a List), or of the root
/// sequence itself when `key` is `None`.
pub fn find_items(text: &str, key: Option<&str>) -> Option<Vec<ItemSpan>> {
    block_items(text, key).or_else(|| flow_items(text, key))
}

struct RawLine<'a> {
    start: usize,
    number: usize,
    indent: usize,
    content: &'a str,
}

fn content_lines(text: &str) -> impl Iterator<Item = RawLine<'_>> + '_ {
    let mut offset = 0usize;
    text.split_inclusive('\n').enumerate().filter_map(move |(i, raw)| {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let content = line.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            return None;
        }
        Some(RawLine { start, number: i + 1, indent: line.len() - content.len(), content })
    })
}

fn is_item_line(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

fn block_items(text: &str, key: Option<&str>) -> Option<Vec<ItemSpan>> {
    let mut lines = content_lines(text).peekable();
    let root_indent = lines.peek()?.indent;
    // Find the line opening the sequence.
    let list_indent = match key {
        None => {
            let first = lines.peek()?;
            if !is_item_line(first.content) {
                return None;
            }
            root_indent
        }
        Some(k) => {
            let mut found = false;
            for l in lines.by_ref() {
                if l.indent != root_indent {
                    continue;
                }
                let rest = l
                    .content
                    .strip_prefix(k)
                    .or_else(|| l.content.strip_prefix(&format!("\"{k}\"")))
                    .or_else(|| l.content.strip_prefix(&format!("'{k}'")));
                if let Some(rest) = rest {
                    let rest = rest.trim_start();
                    if let Some(value) = rest.strip_prefix(':') {
                        let value = value.trim();
                        if !(value.is_empty() || value.starts_with('#')) {
                            // `items: []` or a flow sequence: not block style.
                            return if value.starts_with("[]") { Some(Vec::new()) } else { None };
                        }
                        found = true;
                        break;
                    }
                }
            }
            if !found {
                return None;
            }
            let first = lines.peek()?;
            if first.indent < root_indent || !is_item_line(first.content) {
                return Some(Vec::new());
            }
            first.indent
        }
    };
    let mut items: Vec<ItemSpan> = Vec::new();
    let mut end = text.len();
    for l in lines {
        if l.indent < list_indent || (l.indent == list_indent && !is_item_line(l.content)) {
            end = l.start;
            break;
        }
        if l.indent == list_indent {
            if let Some(prev) = items.last_mut() {
                prev.end = l.start;
            }
            items.push(ItemSpan {
                start: l.start,
                end: text.len(),
                line: l.number,
                column: l.indent + 1,
                block: true,
            });
        }
    }
    if let Some(last) = items.last_mut() {
        last.end = end;
    }
    Some(items)
}

/// Flow style and JSON: scans characters once, tracking nesting and quoted strings.
fn flow_items(text: &str, key: Option<&str>) -> Option<Vec<ItemSpan>> {
    let bytes = text.as_bytes();
    let open = match key {
        None => text.find(|c: char| !c.is_whitespace()).filter(|&i| bytes[i] == b'[')?,
        Some(k) => find_flow_key_array(text, k)?,
    };
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut in_double = false;
    let mut in_single = false;
    let mut escaped = false;
    let mut expecting = true; // the next non-blank character starts an item
    let mut line = 1 + text[..open].matches('\n').count();
    let mut line_start = text[..open].rfind('\n').map(|i| i + 1).unwrap_or(0);
    for (off, c) in text[open + 1..].char_indices() {
        let pos = open + 1 + off;
        if c == '\n' {
            line += 1;
            line_start = pos + 1;
        }
        if in_double {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_double = false;
            }
            continue;
        }
        if in_single {
            if c == '\'' {
                in_single = false;
            }
            continue;
        }
        if expecting && depth == 0 && !c.is_whitespace() && c != ',' && c != ']' {
            expecting = false;
            let column = text[line_start..pos].chars().count() + 1;
            items.push(ItemSpan { start: pos, end: pos, line, column, block: false });
        }
        match c {
            '"' => in_double = true,
            '\'' => in_single = true,
            '[' | '{' => depth += 1,
            ']' | '}' if depth > 0 => depth -= 1,
            ']' => {
                if let Some(last) = items.last_mut()
                    && last.end == last.start
                {
                    last.end = pos;
                }
                return Some(items);
            }
            ',' if depth == 0 => {
                if let Some(last) = items.last_mut() {
                    last.end = pos;
                }
                expecting = true;
            }
            _ => {}
        }
    }
    None
}

/// The byte offset of the `[` opening the value of root key `key` in a flow mapping.
fn find_flow_key_array(text: &str, key: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let quote = bytes[i];
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != quote {
                    if bytes[j] == b'\\' && quote == b'"' {
                        j += 1;
                    }
                    j += 1;
                }
                let word = text.get(start..j.min(bytes.len()))?;
                i = j + 1;
                if depth == 1 && word == key {
                    let rest = text.get(i..)?.trim_start();
                    if let Some(after) = rest.strip_prefix(':') {
                        let after_trim = after.trim_start();
                        if after_trim.starts_with('[') {
                            return Some(text.len() - after_trim.len());
                        }
                    }
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b if depth == 1 && (b as char).is_ascii_alphabetic() => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if &text[start..i] == key {
                    let rest = text[i..].trim_start();
                    if let Some(after) = rest.strip_prefix(':') {
                        let after_trim = after.trim_start();
                        if after_trim.starts_with('[') {
                            return Some(text.len() - after_trim.len());
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_items_of_a_list() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata:\n    name: a\n# c\n- kind: Service\n  spec: {}\nmetadata: {}\n";
        let items = find_items(text, Some("items")).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].line, items[0].column), (4, 1));
        assert_eq!(
            &text[items[0].start..items[0].end],
            "- kind: Pod\n  metadata:\n    name: a\n# c\n"
        );
        assert_eq!(&text[items[1].start..items[1].end], "- kind: Service\n  spec: {}\n");
    }

    #[test]
    fn indented_block_items() {
        let text = "kind: List\nitems:\n  - kind: Pod\n    x: 1\n  - kind: Pod\n";
        let items = find_items(text, Some("items")).unwrap();
        assert_eq!(items.iter().map(|i| (i.line, i.column)).collect::<Vec<_>>(), [(3, 3), (5, 3)]);
    }

    #[test]
    fn json_items() {
        let text = "{\n  \"kind\": \"List\",\n  \"items\": [\n    {\"kind\": \"Pod\", \"a\": [1, 2]},\n    {\"kind\": \"x,]\"}\n  ]\n}\n";
        let items = find_items(text, Some("items")).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].line, items[0].column), (4, 5));
        assert_eq!(&text[items[0].start..items[0].end], "{\"kind\": \"Pod\", \"a\": [1, 2]}");
        assert_eq!((items[1].line, items[1].column), (5, 5));
        assert_eq!(&text[items[1].start..items[1].end], "{\"kind\": \"x,]\"}\n  ");
    }

    #[test]
    fn top_level_arrays() {
        let json = "[{\"kind\": \"Pod\"}, {\"kind\": \"Service\"}]";
        let items = find_items(json, None).unwrap();
        assert_eq!(items.iter().map(|i| i.column).collect::<Vec<_>>(), [2, 19]);
        let yaml = "- kind: Pod\n- kind: Service\n";
        assert_eq!(find_items(yaml, None).unwrap().len(), 2);
        assert_eq!(find_items("kind: List\nitems: []\n", Some("items")), Some(Vec::new()));
    }
}
