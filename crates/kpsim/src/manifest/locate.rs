//! Finding a field path (`spec.ports[0].port`, `items[3]`) in a document's text, so that
//! diagnostics found after parsing still point at a line and column.
//!
//! YAML parsers do not hand spans to serde, so this walks the text itself: block-style YAML
//! by indentation, and flow style/JSON by scanning keys in order. It is best effort: when a
//! path cannot be followed, the caller falls back to the object's first line.

/// Returns the 1-based (line, column) of the key (or list item) a path ends at.
///
/// ```
/// let text = "spec:\n  ports:\n  - port: 80\n    targetPort: web\n";
/// assert_eq!(kpsim::manifest::locate(text, "spec.ports[0].targetPort"), Some((4, 5)));
/// ```
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let segments = parse_path(path)?;
    let lines: Vec<Line<'_>> = text
        .lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let content = strip_comment(raw);
            let trimmed = content.trim_start();
            if trimmed.is_empty() {
                return None;
            }
            Some(Line { number: i + 1, indent: content.len() - trimmed.len(), text: trimmed })
        })
        .collect();
    if segments.is_empty() {
        return lines.first().map(|l| (l.number, l.indent + 1));
    }
    match locate_block(&lines, &segments) {
        Some(Walk::Found(found)) => Some(found),
        Some(Walk::Flow { line, column, rest }) => {
            // `addresses: [10.0.0.1, "fd00::5"]`: the rest of the path is inside a flow
            // collection that starts at (line, column).
            let start = offset_of(text, line, column)?;
            let inner = locate_flow(&text[start..], &rest)?;
            Some(match inner {
                (1, c) => (line, column + c - 1),
                (l, c) => (line + l - 1, c),
            })
        }
        None => locate_flow(text, &segments),
    }
}

/// Where a block walk ended: at a key or item, or at a flow collection (`[…]`, `{…}`) that
/// the rest of the path goes into.
enum Walk {
    Found((usize, usize)),
    Flow { line: usize, column: usize, rest: Vec<Segment> },
}

/// The byte offset of a 1-based line and (character) column.
fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let line_start =
        if line == 1 { 0 } else { text.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)? };
    let rest = &text[line_start..];
    rest.char_indices().nth(column - 1).map(|(i, _)| line_start + i)
}

/// The (0-based, in characters) column offset of a flow collection value inside a
/// `key: [ … ]` / `key: { … }` line, if the value is one.
fn flow_value_offset(line: &str) -> Option<usize> {
    let key = key_of(line)?;
    let colon = line.char_indices().skip(key.chars().count()).find(|&(_, c)| c == ':')?.0;
    let after = &line[colon + 1..];
    let value = after.trim_start_matches([' ', '\t']);
    value
        .starts_with(['[', '{'])
        .then(|| line[..colon + 1].chars().count() + after.chars().count() - value.chars().count())
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key.to_owned()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let (n, tail) = r.split_once(']')?;
            out.push(Segment::Index(n.parse().ok()?));
            rest = tail;
        }
    }
    Some(out)
}

#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    number: usize,
    /// Column (0-based) where the line's content starts.
    indent: usize,
    text: &'a str,
}

fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single
                && !double
                && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') =>
            {
                return &line[..i];
            }
            _ => {}
        }
    }
    line
}

/// The key of a `key: value` / `key:` line, unquoted.
fn key_of(text: &str) -> Option<&str> {
    let text = text.trim_end();
    let (key, rest) = if let Some(q) = text.strip_prefix('"') {
        let end = q.find('"')?;
        (&q[..end], &q[end + 1..])
    } else if let Some(q) = text.strip_prefix('\'') {
        let end = q.find('\'')?;
        (&q[..end], &q[end + 1..])
    } else {
        let i = text.find(": ").or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
        (&text[..i], &text[i..])
    };
    (rest.starts_with(':')).then_some(key.trim_end())
}

/// Walks block-style YAML. A "block" is a run of lines at one indentation inside a parent;
/// a list item `- x: 1` opens a block at the column after `- `.
fn locate_block(lines: &[Line<'_>], segments: &[Segment]) -> Option<Walk> {
    // The current block: lines[from..to], its items start at column `indent`.
    let (mut from, mut to) = (0usize, lines.len());
    let mut indent = lines.first()?.indent;
    let mut found: Option<(usize, usize)> = None;
    for (at, seg) in segments.iter().enumerate() {
        let mut hit = None;
        match seg {
            Segment::Key(k) => {
                let range = lines.get(from..to)?;
                if let Some(off) = range
                    .iter()
                    .position(|l| l.indent == indent && key_of(l.text) == Some(k.as_str()))
                {
                    hit = Some((from + off, range[off].indent));
                }
                let (i, col) = hit?;
                found = Some((lines[i].number, col + 1));
                if at + 1 < segments.len()
                    && let Some(offset) = flow_value_offset(lines[i].text)
                {
                    return Some(Walk::Flow {
                        line: lines[i].number,
                        column: col + 1 + offset,
                        rest: segments[at + 1..].to_vec(),
                    });
                }
                // The value block: the rest of this line (flow) or the following deeper lines.
                let (next_from, next_to, next_indent) = child_block(lines, i, to, col);
                from = next_from;
                to = next_to;
                indent = next_indent;
            }
            Segment::Index(n) => {
                let range = lines.get(from..to)?;
                let i = from
                    + range
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| {
                            l.indent == indent && (l.text == "-" || l.text.starts_with("- "))
                        })
                        .nth(*n)?
                        .0;
                let l = lines[i];
                found = Some((l.number, l.indent + 1));
                // Inside the item, keys sit at the column after "- ".
                let after = l.text[1..].len() - l.text[1..].trim_start().len();
                let item_indent = l.indent + 1 + after;
                let mut end = i + 1;
                while end < to && lines[end].indent > l.indent {
                    end += 1;
                }
                if l.text.trim() == "-" {
                    from = i + 1;
                    to = end;
                    indent = lines.get(i + 1).map(|n| n.indent).unwrap_or(item_indent);
                } else {
                    // Make the rest of the item line look like a line of the item block.
                    from = i;
                    to = end;
                    indent = item_indent;
                    return locate_in_item(lines, from, to, indent, found, &segments[at + 1..], l);
                }
            }
        }
    }
    found.map(Walk::Found)
}

/// Continues a walk inside a list item whose first key sits on the `- ` line.
fn locate_in_item(
    lines: &[Line<'_>],
    from: usize,
    to: usize,
    indent: usize,
    found: Option<(usize, usize)>,
    rest: &[Segment],
    first: Line<'_>,
) -> Option<Walk> {
    if rest.is_empty() {
        return found.map(Walk::Found);
    }
    let mut shifted: Vec<Line<'_>> = Vec::with_capacity(to - from);
    let first_text = first.text[1..].trim_start();
    shifted.push(Line { number: first.number, indent, text: first_text });
    shifted.extend_from_slice(&lines[from + 1..to]);
    locate_block(&shifted, rest)
}

/// The block of lines that is the value of the key on line `i`.
fn child_block(lines: &[Line<'_>], i: usize, to: usize, key_col: usize) -> (usize, usize, usize) {
    let mut end = i + 1;
    // A list value may sit at the same indentation as its key ("ports:\n- port: 80").
    let same_level_list =
        lines.get(i + 1).is_some_and(|n| n.indent == key_col && n.text.starts_with('-'));
    while end < to
        && (lines[end].indent > key_col
            || (same_level_list
                && lines[end].indent == key_col
                && lines[end].text.starts_with('-')))
    {
        end += 1;
    }
    let indent = lines.get(i + 1).filter(|_| end > i + 1).map(|n| n.indent).unwrap_or(key_col + 2);
    (i + 1, end, indent)
}

/// Moves a position found by [`locate`] from a key (or list dash) to its value when the
/// value is a scalar written on the same line (`clusterIP: 10.96.0.300`, `- 1.2.3.4`), so a
/// diagnostic about a value points at the value. Keys of mappings, lists and multi-line
/// values keep the key's position.
pub fn value_position(text: &str, (line, column): (usize, usize)) -> (usize, usize) {
    let Some(raw) = text.lines().nth(line.saturating_sub(1)) else { return (line, column) };
    let chars: Vec<char> = raw.chars().collect();
    let start = column.saturating_sub(1);
    let Some(rest) = chars.get(start..) else { return (line, column) };
    let rest: String = rest.iter().collect();
    let strip_blank = |s: &str| -> (usize, String) {
        let t = s.trim_start_matches([' ', '\t']);
        (s.chars().count() - t.chars().count(), t.to_owned())
    };
    let value_at = |offset: usize, value: &str| -> (usize, usize) {
        let v = strip_comment(value).trim_end();
        let scalar = !v.is_empty() && !v.starts_with(['{', '[', '|', '>', '&', '*', '!']);
        if scalar { (line, column + offset) } else { (line, column) }
    };
    if let Some(after_dash) = rest.strip_prefix('-') {
        if !(after_dash.is_empty() || after_dash.starts_with([' ', '\t'])) {
            return (line, column);
        }
        let (skip, item) = strip_blank(after_dash);
        // A mapping item (`- name: x`) keeps the dash's position.
        if key_of(&item).is_some() {
            return (line, column);
        }
        return value_at(1 + skip, &item);
    }
    // `key: value`, `"key": value`, `key:value` inside flow style.
    let key_len = if let Some(q) = rest.strip_prefix('"') {
        q.find('"').map(|i| i + 2)
    } else if let Some(q) = rest.strip_prefix('\'') {
        q.find('\'').map(|i| i + 2)
    } else {
        // A plain key ends at a `:` followed by a blank, the end, or a flow indicator:
        // `fd00::5` is one scalar, not the key `fd00`.
        rest.char_indices()
            .find(|&(i, c)| {
                c == ':'
                    && rest[i + 1..]
                        .chars()
                        .next()
                        .is_none_or(|n| n.is_whitespace() || ",]}".contains(n))
            })
            .map(|(i, _)| i)
    };
    let Some(key_len) = key_len else { return (line, column) };
    let Some(after_key) = rest.get(key_len..) else { return (line, column) };
    let Some(after_colon) = after_key.trim_start().strip_prefix(':') else { return (line, column) };
    let (skip, value) = strip_blank(after_colon);
    let key_chars = rest[..key_len].chars().count();
    let gap = after_key.chars().count() - after_key.trim_start().chars().count();
    value_at(key_chars + gap + 1 + skip, &value)
}

/// [`locate`] for flow-style YAML or JSON only (no block-style attempt): used inside a List
/// item that was written in flow style.
pub(crate) fn locate_in_flow(text: &str, path: &str) -> Option<(usize, usize)> {
    let segments = parse_path(path)?;
    if segments.is_empty() {
        let pos = text.find(|c: char| !c.is_whitespace())?;
        return Some(line_column(text, pos));
    }
    locate_flow(text, &segments)
}

fn line_column(text: &str, pos: usize) -> (usize, usize) {
    let line = text[..pos].matches('\n').count() + 1;
    let column = text[..pos].rsplit('\n').next().map(|s| s.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// Flow style and JSON: find each key in order after the previous one; indices are skipped
/// by counting top-level commas inside the array.
fn locate_flow(text: &str, segments: &[Segment]) -> Option<(usize, usize)> {
    let mut pos = 0usize;
    for seg in segments {
        match seg {
            Segment::Key(k) => {
                let candidates = [format!("\"{k}\""), format!("'{k}'"), format!("{k}:")];
                let hit = candidates
                    .iter()
                    .filter_map(|c| text[pos..].find(c.as_str()).map(|i| pos + i))
                    .filter(|&i| i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
                    .min()?;
                pos = hit;
            }
            Segment::Index(n) => {
                let open = pos + text[pos..].find('[')?;
                let mut depth = 0i32;
                let mut count = 0usize;
                let mut at = None;
                for (off, c) in text[open..].char_indices() {
                    match c {
                        '[' | '{' => {
                            depth += 1;
                            if depth == 2 && count == *n && at.is_none() {
                                at = Some(open + off);
                            }
                        }
                        ']' | '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => count += 1,
                        c if depth == 1
                            && count == *n
                            && at.is_none()
                            && !c.is_whitespace()
                            && c != '[' =>
                        {
                            at = Some(open + off)
                        }
                        _ => {}
                    }
                }
                pos = at?;
            }
        }
    }
    Some(line_column(text, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  selector:\n    app: x\n  ports:\n  - name: http\n    port: 80\n  - name: https\n    port: 443\n    targetPort: web\n  clusterIP: 10.96.0.300\n";

    #[test]
    fn finds_keys_and_list_items_in_block_yaml() {
        assert_eq!(locate(SERVICE, "spec.clusterIP"), Some((14, 3)));
        assert_eq!(locate(SERVICE, "spec.ports[1]"), Some((11, 3)));
        assert_eq!(locate(SERVICE, "spec.ports[1].targetPort"), Some((13, 5)));
        assert_eq!(locate(SERVICE, "spec.ports[0].name"), Some((9, 5)));
        assert_eq!(locate(SERVICE, "spec.selector.app"), Some((7, 5)));
        assert_eq!(locate(SERVICE, "spec.nope"), None);
    }

    #[test]
    fn lists_at_the_same_indentation_as_their_key() {
        let text = "items:\n- kind: Pod\n  metadata:\n    name: a\n- kind: Service\n  spec:\n    ports:\n    - port: 1\n";
        assert_eq!(locate(text, "items[1]"), Some((5, 1)));
        assert_eq!(locate(text, "items[1].spec.ports[0].port"), Some((8, 7)));
    }

    #[test]
    fn values_on_the_key_line_are_pointed_at() {
        let at = |path: &str| locate(SERVICE, path).map(|p| value_position(SERVICE, p));
        assert_eq!(at("spec.clusterIP"), Some((14, 14)));
        assert_eq!(at("spec.ports[1].targetPort"), Some((13, 17)));
        // A mapping, a list item holding a mapping: the key, the dash.
        assert_eq!(at("spec.selector"), Some((6, 3)));
        assert_eq!(at("spec.ports[1]"), Some((11, 3)));
        let json = "{\"spec\": {\"clusterIP\": \"1.2.3\", \"externalIPs\": [\"x\"]}}";
        let p = locate(json, "spec.clusterIP").unwrap();
        assert_eq!(value_position(json, p), (1, 24));
        let list = "ips:\n- 1.2.3.4 # c\n";
        assert_eq!(value_position(list, locate(list, "ips[0]").unwrap()), (2, 3));
    }

    #[test]
    fn finds_keys_in_json() {
        let text = "{\n  \"kind\": \"Service\",\n  \"spec\": {\"ports\": [{\"port\": 1}, {\"port\": 2}]}\n}\n";
        assert_eq!(locate(text, "spec.ports[1].port"), Some((3, 36)));
    }
}
