//! Manifests: text in, typed Kubernetes objects (k8s-openapi) out, each with where it came
//! from, plus a diagnostic for everything that could not be read.
//!
//! This stage knows YAML/JSON and Kubernetes object shapes; it does not validate values
//! or fill in defaults (that is [`crate::model`]). A broken document never stops the others.

mod decode;
mod deserializer;
pub(crate) mod fingerprint;
mod items;
mod list;
mod locate;
mod scalar;
mod split;
mod tree;

use crate::diagnostic::{Diagnostic, DiagnosticKind, Location, ObjectRef};
use decode::{Decoded, decode, decode_error, report_ignored, unknown_kind};
use deserializer::Context;
pub use items::ItemSpan;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
pub use locate::locate;
pub use split::{Limits, split_documents};
use tree::{NodeKind, Tree};

/// A typed object read from the input.
#[derive(Debug, Clone)]
pub enum Resource {
    Service(Box<Service>),
    Pod(Box<Pod>),
    EndpointSlice(Box<EndpointSlice>),
    Endpoints(Box<Endpoints>),
    Node(Box<Node>),
    Namespace(Box<Namespace>),
    Deployment(Box<Deployment>),
    ReplicaSet(Box<ReplicaSet>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    Job(Box<Job>),
}

impl Resource {
    /// The object's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Service(_) => "Service",
            Resource::Pod(_) => "Pod",
            Resource::EndpointSlice(_) => "EndpointSlice",
            Resource::Endpoints(_) => "Endpoints",
            Resource::Node(_) => "Node",
            Resource::Namespace(_) => "Namespace",
            Resource::Deployment(_) => "Deployment",
            Resource::ReplicaSet(_) => "ReplicaSet",
            Resource::StatefulSet(_) => "StatefulSet",
            Resource::DaemonSet(_) => "DaemonSet",
            Resource::Job(_) => "Job",
        }
    }

    fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Resource::Service(o) => &o.metadata,
            Resource::Pod(o) => &o.metadata,
            Resource::EndpointSlice(o) => &o.metadata,
            Resource::Endpoints(o) => &o.metadata,
            Resource::Node(o) => &o.metadata,
            Resource::Namespace(o) => &o.metadata,
            Resource::Deployment(o) => &o.metadata,
            Resource::ReplicaSet(o) => &o.metadata,
            Resource::StatefulSet(o) => &o.metadata,
            Resource::DaemonSet(o) => &o.metadata,
            Resource::Job(o) => &o.metadata,
        }
    }

    /// True for cluster-scoped kinds (Node, Namespace).
    pub fn is_cluster_scoped(&self) -> bool {
        matches!(self, Resource::Node(_) | Resource::Namespace(_))
    }

    /// `metadata.name` (empty when absent).
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or("")
    }

    /// `metadata.namespace`, `default` when absent; empty for cluster-scoped kinds.
    pub fn namespace(&self) -> &str {
        if self.is_cluster_scoped() {
            return "";
        }
        match self.metadata().namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => "default",
        }
    }

    /// Kind, namespace and name, for diagnostics.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(self.kind(), self.namespace(), self.name())
    }
}

/// One object of the input and where it is.
#[derive(Debug, Clone)]
pub struct Object {
    pub resource: Resource,
    /// Location of the object's first line (for a `List` item: of the item).
    pub location: Location,
    /// Path of the object inside its document: empty, `items[3]` inside a List, or `[3]`
    /// inside a top-level array.
    pub path_prefix: String,
    /// For an item of a List or array: where its text is in the document, so its fields are
    /// located by searching the item alone.
    pub item: Option<ItemSpan>,
    /// For a workload: the fingerprint of its `spec.template` as written (key order, comments
    /// and quoting aside; see [`fingerprint`]), what its controller's generated names hash.
    pub template_fingerprint: Option<u32>,
}

impl Object {
    /// A field path inside this object, prefixed for List items (`items[3].spec.ports[0]`).
    pub fn field_path(&self, path: &str) -> String {
        match (self.path_prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_owned(),
            (false, true) => self.path_prefix.clone(),
            (false, false) => format!("{}.{}", self.path_prefix, path),
        }
    }
}

/// One document of the input stream.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    /// 0-based index in the stream.
    pub index: usize,
    /// 1-based line of the document's first line.
    pub start_line: usize,
    pub text: &'a str,
}

/// Everything read from one input text.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    /// Objects in input order.
    pub objects: Vec<Object>,
    pub diagnostics: Vec<Diagnostic>,
    /// Number of documents in the stream (empty ones excluded).
    pub document_count: usize,
    /// The source text of every document, by index, so later stages can locate fields.
    pub document_texts: Vec<(usize, String)>,
}

impl Manifests {
    /// The text and first line of document `index`.
    pub fn document_text(&self, index: usize) -> Option<(&str, usize)> {
        self.document_texts.get(index).map(|(line, text)| (text.as_str(), *line))
    }

    /// Finds the line and column of a field path inside an object, falling back to the
    /// object's own location: the value when it is a scalar on the key's line, else the key
    /// (see [`locate::value_position`]).
    pub fn locate(&self, object: &Object, path: &str) -> Location {
        let document = object.location.document;
        let Some((text, start)) = self.document_text(document) else { return object.location };
        let found = match object.item {
            Some(span) => locate_in_item(text, span, path),
            None => locate(text, &object.field_path(path)),
        };
        found
            .map(|found| locate::value_position(text, found))
            .map(|(line, column)| Location { document, line: start + line - 1, column })
            .unwrap_or(object.location)
    }
}

/// Locates `path` inside one List item; the result is relative to the document.
pub(super) fn locate_in_item(text: &str, span: ItemSpan, path: &str) -> Option<(usize, usize)> {
    let sub = text.get(span.start..span.end)?;
    if span.block {
        // The item text starts at the beginning of its `- ` line: columns are unchanged.
        let item_path = if path.is_empty() { "[0]".to_owned() } else { format!("[0].{path}") };
        locate(sub, &item_path).map(|(line, column)| (span.line + line - 1, column))
    } else {
        locate::locate_in_flow(sub, path).map(|(line, column)| {
            let column = if line == 1 { span.column + column - 1 } else { column };
            (span.line + line - 1, column)
        })
    }
}

/// Parses a stream of YAML and/or JSON documents into typed objects.
///
/// A document may be one object, a `List` (`kind: List` as `kubectl get … -o yaml` prints
/// it, or a typed list such as `ServiceList`), or a top-level array of objects (JSON `[…]`
/// or a YAML sequence). JSON that the YAML parser refuses (tabs, for instance) is read with
/// a JSON parser.
///
/// ```
/// let m = kpsim::manifest::parse("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: [\n");
/// assert_eq!(m.objects.len(), 1);
/// // The second document ends inside the bracket opened on line 5.
/// assert_eq!(m.diagnostics[0].location.line, 6);
/// ```
pub fn parse(text: &str) -> Manifests {
    parse_with_limits(text, &Limits::default())
}

/// [`parse`] with explicit input limits.
pub fn parse_with_limits(text: &str, limits: &Limits) -> Manifests {
    let mut out = Manifests::default();
    if let Err(d) = limits.check(text) {
        out.diagnostics.push(*d);
        return out;
    }
    let documents = split_documents(text);
    out.document_count = documents.len();
    out.document_texts = documents.iter().map(|d| (d.start_line, d.text.to_owned())).collect();
    for doc in &documents {
        parse_document(doc, &mut out);
    }
    out
}

fn looks_like_json(text: &str) -> bool {
    text.trim_start().starts_with(['{', '['])
}

fn parse_document(doc: &Document<'_>, out: &mut Manifests) {
    match tree::parse(doc.text) {
        Ok(tree) => parse_tree(doc, &tree, out),
        Err(_) if looks_like_json(doc.text) => parse_json_document(doc, out),
        Err(e) => out.diagnostics.push(syntax_error(doc, &e)),
    }
}

/// A document read into a tree: one object, a List, or an array of objects.
fn parse_tree(doc: &Document<'_>, tree: &Tree, out: &mut Manifests) {
    let doc_location = Location { document: doc.index, line: doc.start_line, column: 1 };
    let root = tree.resolve(tree.root());
    match &tree.node(root).kind {
        NodeKind::Seq(_) => return list::parse_sequence(doc, tree, out),
        NodeKind::Map(_) => {}
        _ => {
            // Not a mapping: the error says what it is instead (an empty document reads as
            // an empty mapping).
            #[derive(serde::Deserialize)]
            #[serde(rename = "TypeMeta")]
            struct TypeMeta {}
            if let Err(e) = Context::new(tree).read::<TypeMeta>(root) {
                let message = format!("document {}: {}", doc.index + 1, e.message);
                out.diagnostics.push(
                    Diagnostic::error(DiagnosticKind::MissingTypeMeta, message)
                        .at(position_location(doc, e.position).unwrap_or(doc_location))
                        .hint("each document must be a mapping with apiVersion and kind"),
                );
                return;
            }
        }
    }
    let kind = tree.get(root, "kind").and_then(|k| tree.str_value(k)).unwrap_or("");
    let api_version = tree.get(root, "apiVersion").and_then(|a| tree.str_value(a)).unwrap_or("");
    if kind.is_empty() || api_version.is_empty() {
        out.diagnostics.push(missing_type_meta(doc, kind));
        return;
    }
    if kind.ends_with("List") {
        list::parse_list(doc, tree, api_version, kind, out);
        return;
    }
    let mut ignored = Vec::new();
    match decode(api_version, kind, tree, root, &mut ignored) {
        Decoded::Object(resource) => {
            let object = Object {
                resource,
                location: doc_location,
                path_prefix: String::new(),
                item: None,
                template_fingerprint: fingerprint::template(tree, root),
            };
            report_ignored(out, &object, ignored);
            out.objects.push(object);
        }
        Decoded::Failed(e) => {
            let at = position_location(doc, e.position)
                .or_else(|| {
                    let found = locate(doc.text, &e.path)?;
                    let (line, column) = locate::value_position(doc.text, found);
                    Some(Location { document: doc.index, line: doc.start_line + line - 1, column })
                })
                .unwrap_or(doc_location);
            out.diagnostics.push(decode_error(at, kind, &e, ""));
        }
        Decoded::Unknown => out.diagnostics.push(unknown_kind(doc_location, api_version, kind, "")),
    }
}

/// A position inside a document as a location in the stream.
pub(super) fn position_location(doc: &Document<'_>, position: tree::Position) -> Option<Location> {
    position.map(|(line, column)| Location {
        document: doc.index,
        line: doc.start_line + line - 1,
        column,
    })
}

/// A document the YAML parser refused but that looks like JSON: read it with serde_json,
/// then dispatch it like any other document.
fn parse_json_document(doc: &Document<'_>, out: &mut Manifests) {
    let value: serde_json::Value = match serde_json::from_str(doc.text) {
        Ok(v) => v,
        Err(e) => {
            let message = e.to_string();
            let message = message.find(" at line ").map_or(message.as_str(), |i| &message[..i]);
            out.diagnostics.push(
                Diagnostic::error(
                    DiagnosticKind::Syntax,
                    format!("document {}: {message}", doc.index + 1),
                )
                .at(Location {
                    document: doc.index,
                    line: doc.start_line + e.line().max(1) - 1,
                    column: e.column().max(1),
                })
                .hint("check commas, quotes and brackets around this position"),
            );
            return;
        }
    };
    parse_tree(doc, &tree::from_json(&value), out);
}

/// A YAML syntax error: what the parser found and where.
fn syntax_error(doc: &Document<'_>, e: &tree::SyntaxError) -> Diagnostic {
    Diagnostic::error(DiagnosticKind::Syntax, format!("document {}: {}", doc.index + 1, e.message))
        .at(Location { document: doc.index, line: doc.start_line + e.line - 1, column: e.column })
        .hint("check indentation, quoting and brackets around this position")
}

pub(super) fn missing_type_meta(doc: &Document<'_>, kind: &str) -> Diagnostic {
    let missing = if kind.is_empty() { "kind" } else { "apiVersion" };
    Diagnostic::error(
        DiagnosticKind::MissingTypeMeta,
        format!("document {} has no {missing}; it is skipped", doc.index + 1),
    )
    .at(Location { document: doc.index, line: doc.start_line, column: 1 })
    .field(missing)
    .hint("start every object with `apiVersion:` and `kind:` (e.g. `apiVersion: v1`, `kind: Service`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_walkthrough_objects_in_order() {
        let m = parse(include_str!("../tests/data/examples/kube-proxy.yaml"));
        assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
        let names: Vec<_> = m
            .objects
            .iter()
            .map(|o| format!("{} {}", o.resource.kind(), o.resource.name()))
            .collect();
        assert_eq!(
            names,
            ["Pod pod-client", "Pod server-pod-1", "Pod server-pod-2", "Service service"]
        );
    }

    #[test]
    fn wrong_type_is_located_at_the_value() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: \"eighty\"\n";
        let m = parse(text);
        assert!(m.objects.is_empty());
        let d = &m.diagnostics[0];
        assert_eq!(d.kind, DiagnosticKind::WrongType);
        assert_eq!((d.location.line, d.location.column), (7, 11));
        assert_eq!(d.field_path, "spec.ports[0].port");
    }

    #[test]
    fn list_items_are_dispatched_by_kind() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n";
        let m = parse(text);
        assert_eq!(m.objects.len(), 1);
        assert_eq!(m.objects[0].location.line, 4);
        assert_eq!(m.diagnostics.len(), 1);
        assert_eq!(m.diagnostics[0].kind, DiagnosticKind::UnknownKind);
        assert_eq!(m.diagnostics[0].location.line, 7);
    }

    #[test]
    fn unknown_fields_are_warned_with_their_path() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  lables: {x: y}\n";
        let m = parse(text);
        assert_eq!(m.objects.len(), 1);
        let d = &m.diagnostics[0];
        assert_eq!(d.kind, DiagnosticKind::UnknownField);
        assert_eq!(d.field_path, "metadata.lables");
        assert_eq!(d.location.line, 5);
    }
}
