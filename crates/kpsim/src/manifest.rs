//! Manifests: text in, typed Kubernetes objects (k8s-openapi) out, each with where it came
//! from, plus a diagnostic for everything that could not be read.
//!
//! This stage knows YAML/JSON and Kubernetes object shapes; it does not validate values
//! or fill in defaults (that is [`crate::model`]). A broken document never stops the others.

mod locate;
mod split;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, DiagnosticKind, Location, ObjectRef};
pub use locate::locate;
pub use split::{Limits, split_documents};

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
    /// Path of the object inside its document: empty, or `items[3]` inside a List.
    pub path_prefix: String,
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
    /// object's own location.
    pub fn locate(&self, object: &Object, path: &str) -> Location {
        let full = object.field_path(path);
        self.document_text(object.location.document)
            .and_then(|(text, start)| {
                locate(text, &full).map(|(line, column)| Location {
                    document: object.location.document,
                    line: start + line - 1,
                    column,
                })
            })
            .unwrap_or(object.location)
    }
}

#[derive(Deserialize)]
struct TypeMeta {
    #[serde(rename = "apiVersion")]
    api_version: Option<serde_norway::Value>,
    kind: Option<serde_norway::Value>,
}

#[derive(Deserialize)]
struct ListItems {
    #[serde(default)]
    items: Option<Vec<serde_norway::Value>>,
}

/// Parses a stream of YAML and/or JSON documents into typed objects.
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

fn syntax_location(doc: &Document<'_>, err: &serde_norway::Error) -> Location {
    match err.location() {
        Some(l) => Location {
            document: doc.index,
            line: doc.start_line + l.line() - 1,
            column: l.column(),
        },
        None => Location { document: doc.index, line: doc.start_line, column: 1 },
    }
}

/// serde_norway appends " at line L column C" to messages; the location is shown separately.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn parse_document(doc: &Document<'_>, out: &mut Manifests) {
    let doc_location = Location { document: doc.index, line: doc.start_line, column: 1 };
    let meta: TypeMeta = match serde_norway::from_str(doc.text) {
        Ok(m) => m,
        Err(e) => {
            let loc = syntax_location(doc, &e);
            let wrong_shape = e.location().is_none() || !is_syntax_error(&e);
            let (kind, hint) = if wrong_shape {
                (
                    DiagnosticKind::MissingTypeMeta,
                    "each document must be a mapping with apiVersion and kind",
                )
            } else {
                (
                    DiagnosticKind::Syntax,
                    "check indentation, quoting and brackets around this position",
                )
            };
            out.diagnostics.push(
                Diagnostic::error(
                    kind,
                    format!("document {}: {}", doc.index + 1, strip_position(&e.to_string())),
                )
                .at(loc)
                .hint(hint),
            );
            return;
        }
    };
    let kind = meta.kind.as_ref().and_then(|v| v.as_str()).unwrap_or("");
    let api_version = meta.api_version.as_ref().and_then(|v| v.as_str()).unwrap_or("");
    if kind.is_empty() || api_version.is_empty() {
        let missing = if kind.is_empty() { "kind" } else { "apiVersion" };
        out.diagnostics.push(
            Diagnostic::error(
                DiagnosticKind::MissingTypeMeta,
                format!("document {} has no {missing}; it is skipped", doc.index + 1),
            )
            .at(doc_location)
            .field(missing)
            .hint("start every object with `apiVersion:` and `kind:` (e.g. `apiVersion: v1`, `kind: Service`)"),
        );
        return;
    }
    if kind.ends_with("List") && api_version == "v1" || kind == "List" {
        parse_list(doc, kind, out);
        return;
    }
    let mut ignored = Vec::new();
    let de = serde_norway::Deserializer::from_str(doc.text);
    match decode(api_version, kind, de, &mut ignored) {
        Decoded::Object(resource) => {
            let object = Object { resource, location: doc_location, path_prefix: String::new() };
            report_ignored(out, &object, ignored);
            out.objects.push(object);
        }
        Decoded::Failed(e) => {
            let loc = syntax_location(doc, &e);
            out.diagnostics.push(decode_error(doc_location, loc, kind, &e, ""));
        }
        Decoded::Unknown => out.diagnostics.push(unknown_kind(doc_location, api_version, kind, "")),
    }
}

fn is_syntax_error(e: &serde_norway::Error) -> bool {
    // A scanner/parser error has a location and none of the data-model wording.
    let s = e.to_string();
    !(s.contains("invalid type") || s.contains("missing field") || s.contains("unknown variant"))
}

fn parse_list(doc: &Document<'_>, list_kind: &str, out: &mut Manifests) {
    let doc_location = Location { document: doc.index, line: doc.start_line, column: 1 };
    let items = match serde_norway::from_str::<ListItems>(doc.text) {
        Ok(l) => l.items.unwrap_or_default(),
        Err(e) => {
            out.diagnostics.push(decode_error(
                doc_location,
                syntax_location(doc, &e),
                list_kind,
                &e,
                "",
            ));
            return;
        }
    };
    for (i, item) in items.into_iter().enumerate() {
        let prefix = format!("items[{i}]");
        let item_location = out
            .document_text(doc.index)
            .and_then(|(text, start)| {
                locate(text, &prefix).map(|(line, column)| Location {
                    document: doc.index,
                    line: start + line - 1,
                    column,
                })
            })
            .unwrap_or(doc_location);
        let kind = item.get("kind").and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let api_version = item.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("").to_owned();
        if kind.is_empty() || api_version.is_empty() {
            out.diagnostics.push(
                Diagnostic::error(
                    DiagnosticKind::MissingTypeMeta,
                    format!("{list_kind} item {i} has no apiVersion/kind; it is skipped"),
                )
                .at(item_location)
                .field(prefix)
                .hint("every item of a List carries its own apiVersion and kind"),
            );
            continue;
        }
        let mut ignored = Vec::new();
        match decode(&api_version, &kind, item, &mut ignored) {
            Decoded::Object(resource) => {
                let object = Object { resource, location: item_location, path_prefix: prefix };
                report_ignored(out, &object, ignored);
                out.objects.push(object);
            }
            Decoded::Failed(e) => {
                out.diagnostics.push(decode_error(
                    item_location,
                    item_location,
                    &kind,
                    &e,
                    &prefix,
                ));
            }
            Decoded::Unknown => {
                out.diagnostics.push(unknown_kind(item_location, &api_version, &kind, &prefix))
            }
        }
    }
}

enum Decoded {
    Object(Resource),
    Failed(serde_norway::Error),
    Unknown,
}

fn decode<'de, D>(api_version: &str, kind: &str, de: D, ignored: &mut Vec<String>) -> Decoded
where
    D: serde::Deserializer<'de, Error = serde_norway::Error>,
{
    fn typed<'de, T: DeserializeOwned, D>(
        de: D,
        ignored: &mut Vec<String>,
    ) -> Result<T, serde_norway::Error>
    where
        D: serde::Deserializer<'de, Error = serde_norway::Error>,
    {
        serde_ignored::deserialize(de, |path| ignored.push(path.to_string()))
    }
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let result = match (group, kind) {
        ("", "Service") => typed::<Service, _>(de, ignored).map(|o| Resource::Service(Box::new(o))),
        ("", "Pod") => typed::<Pod, _>(de, ignored).map(|o| Resource::Pod(Box::new(o))),
        ("", "Endpoints") => {
            typed::<Endpoints, _>(de, ignored).map(|o| Resource::Endpoints(Box::new(o)))
        }
        ("", "Node") => typed::<Node, _>(de, ignored).map(|o| Resource::Node(Box::new(o))),
        ("", "Namespace") => {
            typed::<Namespace, _>(de, ignored).map(|o| Resource::Namespace(Box::new(o)))
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            typed::<EndpointSlice, _>(de, ignored).map(|o| Resource::EndpointSlice(Box::new(o)))
        }
        ("apps", "Deployment") => {
            typed::<Deployment, _>(de, ignored).map(|o| Resource::Deployment(Box::new(o)))
        }
        ("apps", "ReplicaSet") => {
            typed::<ReplicaSet, _>(de, ignored).map(|o| Resource::ReplicaSet(Box::new(o)))
        }
        ("apps", "StatefulSet") => {
            typed::<StatefulSet, _>(de, ignored).map(|o| Resource::StatefulSet(Box::new(o)))
        }
        ("apps", "DaemonSet") => {
            typed::<DaemonSet, _>(de, ignored).map(|o| Resource::DaemonSet(Box::new(o)))
        }
        ("batch", "Job") => typed::<Job, _>(de, ignored).map(|o| Resource::Job(Box::new(o))),
        _ => return Decoded::Unknown,
    };
    match result {
        Ok(r) => Decoded::Object(r),
        Err(e) => Decoded::Failed(e),
    }
}

fn decode_error(
    object_at: Location,
    at: Location,
    kind: &str,
    e: &serde_norway::Error,
    prefix: &str,
) -> Diagnostic {
    let message = strip_position(&e.to_string());
    // serde_norway reports "path: message"; split the field path off when present.
    let (path, detail) = match message.split_once(": ") {
        Some((p, d)) if !p.contains(' ') => (p.to_owned(), d.to_owned()),
        _ => (String::new(), message.clone()),
    };
    let path = match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path,
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{path}"),
    };
    let (diag_kind, hint) =
        if detail.starts_with("invalid type") || detail.starts_with("invalid value") {
            (
                DiagnosticKind::WrongType,
                "write the value with the type the field expects (numbers unquoted)",
            )
        } else if detail.starts_with("missing field") {
            (DiagnosticKind::MissingField, "add the missing field")
        } else if detail.starts_with("unknown variant") {
            (DiagnosticKind::InvalidValue, "use one of the values the message lists")
        } else {
            (DiagnosticKind::Syntax, "check indentation, quoting and brackets around this position")
        };
    let location = if at == object_at && at.line == 0 { object_at } else { at };
    Diagnostic::error(diag_kind, format!("{kind}: {detail}; the object is skipped"))
        .at(location)
        .field(path)
        .hint(hint)
}

fn unknown_kind(at: Location, api_version: &str, kind: &str, prefix: &str) -> Diagnostic {
    Diagnostic::warning(
        DiagnosticKind::UnknownKind,
        format!("{api_version} {kind} is not something kube-proxy reads; it is ignored"),
    )
    .at(at)
    .field(prefix)
    .hint("kpsim models Services, Pods, workloads, EndpointSlices, Endpoints, Nodes and Namespaces")
}

/// Fields nobody reads: ignored by k8s-openapi, usually typos. Status noise of kinds kpsim
/// does not model is not reported.
fn report_ignored(out: &mut Manifests, object: &Object, ignored: Vec<String>) {
    for path in ignored {
        // serde_ignored writes `?` for each Option it passes through.
        let path = path.split('.').filter(|s| *s != "?").collect::<Vec<_>>().join(".");
        if path.starts_with("status.") || path == "status" {
            continue;
        }
        let full = object.field_path(&path);
        let location = out.locate(object, &path);
        out.diagnostics.push(
            Diagnostic::warning(
                DiagnosticKind::UnknownField,
                format!("unknown field `{}` is ignored", path.rsplit('.').next().unwrap_or(&path)),
            )
            .at(location)
            .on(object.resource.object_ref())
            .field(full)
            .hint("check the spelling against the Kubernetes API reference"),
        );
    }
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
