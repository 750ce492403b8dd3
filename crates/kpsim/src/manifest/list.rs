//! Documents that hold several objects: `kind: List` (and typed lists like `ServiceList`)
//! and top-level arrays.
//!
//! Items are dispatched by their own `kind`; items of a typed list without `kind` take the
//! list's item kind (`ServiceList` → `Service`), as the API server's list responses omit it.
//! Each item is decoded from its node of the document's tree; its text is located once
//! (see [`super::items`]) so later stages can find its fields.

use serde::de::IgnoredAny;

use super::decode::{Decoded, decode, decode_error, is_known, report_ignored, unknown_kind};
use super::deserializer::Context;
use super::fingerprint;
use super::items::{ItemSpan, find_items};
use super::tree::{NodeId, Tree};
use super::{Document, Manifests, Object, locate_in_item, position_location};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};

/// A `List` or typed list document.
pub(super) fn parse_list(
    doc: &Document<'_>,
    tree: &Tree,
    api_version: &str,
    list_kind: &str,
    out: &mut Manifests,
) {
    /// The shape a List's `items` must have; only read to report a wrong one.
    #[derive(serde::Deserialize)]
    struct ListItems {
        #[serde(default)]
        #[allow(dead_code)]
        items: Option<Vec<IgnoredAny>>,
    }
    let root = tree.root();
    let items = match tree.get(root, "items") {
        None => &[][..],
        Some(items) => match tree.items(items) {
            Some(items) => items,
            None => {
                if let Err(e) = Context::new(tree).read::<ListItems>(root) {
                    let at = position_location(doc, e.position).unwrap_or(Location {
                        document: doc.index,
                        line: doc.start_line,
                        column: 1,
                    });
                    out.diagnostics.push(decode_error(at, list_kind, &e, ""));
                }
                return;
            }
        },
    };
    parse_items(doc, tree, items, Some(list_kind), api_version, out);
}

/// A document whose root is a sequence of objects.
pub(super) fn parse_sequence(doc: &Document<'_>, tree: &Tree, out: &mut Manifests) {
    let items = tree.items(tree.root()).unwrap_or(&[]);
    parse_items(doc, tree, items, None, "", out);
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

/// Decodes every item of a sequence; `list_kind` is `None` for a bare array.
fn parse_items(
    doc: &Document<'_>,
    tree: &Tree,
    items: &[NodeId],
    list_kind: Option<&str>,
    list_api_version: &str,
    out: &mut Manifests,
) {
    let doc_location = Location { document: doc.index, line: doc.start_line, column: 1 };
    let spans =
        find_items(doc.text, list_kind.map(|_| "items")).filter(|spans| spans.len() == items.len());
    let container = list_kind.unwrap_or("array");
    for (i, &item) in items.iter().enumerate() {
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
            .or_else(|| position_location(doc, tree.node(item).position))
            .unwrap_or(doc_location);
        let field = |key| tree.get(item, key).and_then(|n| tree.str_value(n)).unwrap_or("");
        let (kind, api_version) = item_type(
            field("kind").to_owned(),
            field("apiVersion").to_owned(),
            list_kind,
            list_api_version,
        );
        if kind.is_empty() || api_version.is_empty() {
            out.diagnostics.push(missing_item_type(container, i, item_location, prefix));
            continue;
        }
        let mut ignored = Vec::new();
        match decode(&api_version, &kind, tree, item, &mut ignored) {
            Decoded::Object(resource) => {
                let object = Object {
                    resource,
                    location: item_location,
                    path_prefix: prefix,
                    item: span,
                    template_fingerprint: fingerprint::template(tree, item),
                };
                report_ignored(out, &object, ignored);
                out.objects.push(object);
            }
            Decoded::Failed(e) => {
                let at = position_location(doc, e.position)
                    .or_else(|| locate_error(doc, span?, &e.path))
                    .unwrap_or(item_location);
                out.diagnostics.push(decode_error(at, &kind, &e, &prefix));
            }
            Decoded::Unknown => {
                out.diagnostics.push(unknown_kind(item_location, &api_version, &kind, &prefix))
            }
        }
    }
}

/// Where the field at `path` of an item is, for trees without positions (JSON).
fn locate_error(doc: &Document<'_>, span: ItemSpan, path: &str) -> Option<Location> {
    let found = locate_in_item(doc.text, span, path)?;
    let (line, column) = super::locate::value_position(doc.text, found);
    Some(Location { document: doc.index, line: doc.start_line + line - 1, column })
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
