//! Documents that hold several objects: `kind: List` (and typed lists like `ServiceList`),
//! top-level arrays, and JSON documents read through serde_json.
//!
//! Items are dispatched by their own `kind`; items of a typed list without `kind` take the
//! list's item kind (`ServiceList` → `Service`), as the API server's list responses omit it.
//! Each item is located once (see [`super::items`]) and, when its heads are known (see
//! [`super::heads`]), decoded straight from its own text; otherwise from the YAML text of
//! its generic value, so that every object goes through the same compiled decoder.

use serde::Deserialize;

use super::decode::{Decoded, decode, decode_error, is_known, report_ignored, unknown_kind};
use super::heads::ItemHead;
use super::items::{ItemSpan, find_items};
use super::{Document, Manifests, Object, locate_in_item, syntax_location};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};

#[derive(Deserialize)]
struct ListItems {
    #[serde(default)]
    items: Option<Vec<serde_norway::Value>>,
}

/// A `List` or typed list document; `heads` are its items' heads when the routing pass read
/// them.
pub(super) fn parse_list(
    doc: &Document<'_>,
    api_version: &str,
    list_kind: &str,
    heads: Option<Vec<ItemHead>>,
    out: &mut Manifests,
) {
    if let Some(heads) = heads {
        let spans = find_items(doc.text, Some("items")).filter(|s| s.len() == heads.len());
        if let Some(spans) = spans {
            let (objects, diagnostics) = (out.objects.len(), out.diagnostics.len());
            if parse_items_from_text(doc, &heads, &spans, list_kind, api_version, out) {
                return;
            }
            // An item that does not parse alone (an alias to an anchor in another item):
            // start over on the general path.
            out.objects.truncate(objects);
            out.diagnostics.truncate(diagnostics);
        }
    }
    match serde_norway::from_str::<ListItems>(doc.text) {
        Ok(l) => {
            let items = l.items.unwrap_or_default();
            parse_items(doc, items, Some(list_kind), api_version, out);
        }
        Err(e) => {
            let at = syntax_location(doc, &e);
            out.diagnostics.push(decode_error(at, list_kind, &e, ""));
        }
    }
}

/// A document whose root is a sequence of objects.
pub(super) fn parse_sequence(doc: &Document<'_>, out: &mut Manifests) {
    match serde_norway::from_str::<Vec<serde_norway::Value>>(doc.text) {
        Ok(items) => parse_items(doc, items, None, "", out),
        Err(e) => {
            let at = syntax_location(doc, &e);
            out.diagnostics.push(decode_error(at, "array", &e, ""));
        }
    }
}

/// A whole document already read into a value (JSON the YAML parser refused).
pub(super) fn parse_value_document(
    doc: &Document<'_>,
    value: serde_norway::Value,
    out: &mut Manifests,
) {
    let doc_location = Location { document: doc.index, line: doc.start_line, column: 1 };
    if let serde_norway::Value::Sequence(items) = value {
        parse_items(doc, items, None, "", out);
        return;
    }
    let kind = value.get("kind").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let api_version = value.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    if kind.is_empty() || api_version.is_empty() {
        out.diagnostics.push(super::missing_type_meta(doc, &kind));
        return;
    }
    if kind.ends_with("List") {
        let items = match value.get("items") {
            Some(serde_norway::Value::Sequence(items)) => items.clone(),
            _ => Vec::new(),
        };
        parse_items(doc, items, Some(&kind), &api_version, out);
        return;
    }
    let whole = ItemSpan { start: 0, end: doc.text.len(), line: 1, column: 1, block: false };
    decode_item(doc, &value, &api_version, &kind, doc_location, String::new(), Some(whole), out);
}

/// The kind and apiVersion an item is decoded as: its own, or for a typed list without them
/// the list's item kind.
fn item_type(
    mut kind: String,
    mut api_version: String,
    list_kind: Option<&str>,
    list_api_version: &str,
) -> (String, String) {
    let item_kind = list_kind
        .and_then(|k| k.strip_suffix("List"))
        .filter(|k| !k.is_empty() && is_known(list_api_version, k));
    if let Some(k) = item_kind {
        if kind.is_empty() {
            kind = k.to_owned();
        }
        if api_version.is_empty() {
            api_version = list_api_version.to_owned();
        }
    }
    (kind, api_version)
}

fn missing_item_type(container: &str, i: usize, at: Location, prefix: String) -> Diagnostic {
    Diagnostic::error(
        DiagnosticKind::MissingTypeMeta,
        format!("{container} item {i} has no apiVersion/kind; it is skipped"),
    )
    .at(at)
    .field(prefix)
    .hint("every item of a List carries its own apiVersion and kind")
}

/// The fast path: every item decoded from its own text. A block item's leading `-` is
/// blanked so the item reads as a mapping with unchanged columns. Returns false when an
/// item's text does not parse on its own although the whole document did.
fn parse_items_from_text(
    doc: &Document<'_>,
    heads: &[ItemHead],
    spans: &[ItemSpan],
    list_kind: &str,
    list_api_version: &str,
    out: &mut Manifests,
) -> bool {
    for (i, (head, span)) in heads.iter().zip(spans).enumerate() {
        let prefix = format!("items[{i}]");
        let location = Location {
            document: doc.index,
            line: doc.start_line + span.line - 1,
            column: span.column,
        };
        let (kind, api_version) = item_type(
            head.kind.clone(),
            head.api_version.clone(),
            Some(list_kind),
            list_api_version,
        );
        if kind.is_empty() || api_version.is_empty() {
            out.diagnostics.push(missing_item_type(list_kind, i, location, prefix));
            continue;
        }
        let Some(raw) = doc.text.get(span.start..span.end) else { continue };
        let mut text = raw.to_owned();
        if span.block {
            let dash = span.column - 1;
            if text.as_bytes().get(dash) == Some(&b'-') {
                text.replace_range(dash..=dash, " ");
            }
        }
        let mut ignored = Vec::new();
        match decode(&api_version, &kind, serde_norway::Deserializer::from_str(&text), &mut ignored)
        {
            Decoded::Object(resource) => {
                let object = Object { resource, location, path_prefix: prefix, item: Some(*span) };
                report_ignored(out, &object, ignored);
                out.objects.push(object);
            }
            Decoded::Failed(e) if super::is_syntax_error(&e) => return false,
            Decoded::Failed(e) => {
                let at = match e.location() {
                    Some(l) => Location {
                        document: doc.index,
                        line: location.line + l.line() - 1,
                        column: if l.line() == 1 && !span.block {
                            span.column + l.column() - 1
                        } else {
                            l.column()
                        },
                    },
                    None => location,
                };
                out.diagnostics.push(decode_error(at, &kind, &e, &prefix));
            }
            Decoded::Unknown => {
                out.diagnostics.push(unknown_kind(location, &api_version, &kind, &prefix))
            }
        }
    }
    true
}

/// Decodes every item of a sequence; `list_kind` is `None` for a bare array.
fn parse_items(
    doc: &Document<'_>,
    items: Vec<serde_norway::Value>,
    list_kind: Option<&str>,
    list_api_version: &str,
    out: &mut Manifests,
) {
    let doc_location = Location { document: doc.index, line: doc.start_line, column: 1 };
    let spans =
        find_items(doc.text, list_kind.map(|_| "items")).filter(|spans| spans.len() == items.len());
    let container = list_kind.unwrap_or("array");
    for (i, item) in items.iter().enumerate() {
        let prefix = match list_kind {
            Some(_) => format!("items[{i}]"),
            None => format!("[{i}]"),
        };
        let span = spans.as_ref().and_then(|s| s.get(i)).copied();
        let item_location = span
            .map(|s| Location {
                document: doc.index,
                line: doc.start_line + s.line - 1,
                column: s.column,
            })
            .unwrap_or(doc_location);
        let (kind, api_version) = item_type(
            item.get("kind").and_then(|v| v.as_str()).unwrap_or("").to_owned(),
            item.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("").to_owned(),
            list_kind,
            list_api_version,
        );
        if kind.is_empty() || api_version.is_empty() {
            out.diagnostics.push(missing_item_type(container, i, item_location, prefix));
            continue;
        }
        decode_item(doc, item, &api_version, &kind, item_location, prefix, span, out);
    }
}

#[allow(clippy::too_many_arguments)]
fn decode_item(
    doc: &Document<'_>,
    item: &serde_norway::Value,
    api_version: &str,
    kind: &str,
    location: Location,
    prefix: String,
    span: Option<ItemSpan>,
    out: &mut Manifests,
) {
    let mut ignored = Vec::new();
    // The item is decoded from its YAML text, as every other object is: decoding the value
    // itself would compile every k8s-openapi decoder a second time (for serde_norway's value
    // deserializer, about a seventh of the page's WASM), and errors from text carry their
    // field path, which is then found in the original text.
    let decoded = match serde_norway::to_string(item) {
        Ok(yaml) => {
            decode(api_version, kind, serde_norway::Deserializer::from_str(&yaml), &mut ignored)
        }
        Err(e) if is_known(api_version, kind) => Decoded::Failed(e),
        Err(_) => Decoded::Unknown,
    };
    match decoded {
        Decoded::Object(resource) => {
            let object = Object { resource, location, path_prefix: prefix, item: span };
            report_ignored(out, &object, ignored);
            out.objects.push(object);
        }
        Decoded::Failed(e) => {
            let (path, _) = super::decode::split_error(&e);
            let at = span
                .and_then(|s| locate_in_item(doc.text, s, &path))
                .map(|found| super::locate::value_position(doc.text, found))
                .map(|(line, column)| Location {
                    document: doc.index,
                    line: doc.start_line + line - 1,
                    column,
                })
                .unwrap_or(location);
            out.diagnostics.push(decode_error(at, kind, &e, &prefix));
        }
        Decoded::Unknown => {
            out.diagnostics.push(unknown_kind(location, api_version, kind, &prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::DiagnosticKind;
    use crate::manifest::parse;

    #[test]
    fn typed_list_items_take_the_list_kind() {
        let text = "apiVersion: v1\nkind: ServiceList\nitems:\n- metadata: {name: a}\n  spec:\n    ports: [{port: 80}]\n";
        let m = parse(text);
        assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
        assert_eq!(m.objects[0].resource.kind(), "Service");
        assert_eq!(m.objects[0].location.line, 4);
    }

    #[test]
    fn wrong_type_inside_a_list_item_is_located_at_the_value() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s\n  spec:\n    ports:\n    - port: eighty\n";
        let m = parse(text);
        assert_eq!(m.objects.len(), 1);
        let d = &m.diagnostics[0];
        assert_eq!(d.kind, DiagnosticKind::WrongType);
        assert_eq!(d.field_path, "items[1].spec.ports[0].port");
        assert_eq!((d.location.line, d.location.column), (13, 13));
    }

    #[test]
    fn flow_and_json_list_items_are_decoded_and_located() {
        let text = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"a\"}},\n  {\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"s\"}, \"spec\": {\"ports\": [{\"port\": \"x\"}]}}\n]}\n";
        let m = parse(text);
        assert_eq!(m.objects.len(), 1);
        assert_eq!((m.objects[0].location.line, m.objects[0].location.column), (2, 3));
        let d = &m.diagnostics[0];
        assert_eq!(d.field_path, "items[1].spec.ports[0].port");
        assert_eq!((d.location.line, d.location.column), (3, 98));
    }

    #[test]
    fn aliases_across_list_items_are_resolved() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, labels: &l {app: x}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b, labels: *l}\n";
        let m = parse(text);
        assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
        assert_eq!(m.objects.len(), 2);
        assert_eq!(m.objects[1].location.line, 7);
    }

    #[test]
    fn json_with_tabs_and_top_level_arrays_are_read() {
        let text = "[\n\t{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"a\"}},\n\t{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"b\", \"lables\": {}}}\n]\n";
        let m = parse(text);
        assert_eq!(m.objects.len(), 2);
        assert_eq!(m.objects[1].path_prefix, "[1]");
        let d = &m.diagnostics[0];
        assert_eq!(d.kind, DiagnosticKind::UnknownField);
        assert_eq!(d.field_path, "[1].metadata.lables");
        assert_eq!(d.location.line, 3);
    }

    #[test]
    fn array_items_are_read_like_single_documents() {
        // A plain scalar where a string is expected is read as text in a document of its
        // own; an item of a top-level array (decoded from its generic value) reads the same.
        let single = parse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: 5\n  lables: {}\n");
        let array =
            parse("- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: 5\n    lables: {}\n");
        for m in [&single, &array] {
            assert_eq!(m.objects.len(), 1);
            assert_eq!(m.objects[0].resource.name(), "5");
            assert_eq!(m.diagnostics.len(), 1, "{:?}", m.diagnostics);
            assert_eq!(m.diagnostics[0].kind, DiagnosticKind::UnknownField);
            assert_eq!(m.diagnostics[0].location.line, 5);
        }
    }

    #[test]
    fn broken_json_is_reported_by_the_json_parser() {
        let m = parse("{\n\t\"kind\": \"Pod\",\n\t\"apiVersion\": \"v1\"\n\t\"metadata\": {}\n}\n");
        assert_eq!(m.diagnostics[0].kind, DiagnosticKind::Syntax);
        assert_eq!(m.diagnostics[0].location.line, 4);
    }
}
