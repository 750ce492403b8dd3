//! Decoding one object by `apiVersion`/`kind` into its k8s-openapi type, and the diagnostics
//! of decoding: wrong types, unknown kinds, unknown fields.
//!
//! Splitting the stream and walking Lists is [`super`]'s and [`super::list`]'s job; this file
//! only turns one node of a document's tree into one [`Resource`].

use super::deserializer::{Context, Error, duplicate_key};
use super::tree::{NodeId, Tree};
use super::{Manifests, Object, Resource};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

pub(super) enum Decoded {
    Object(Resource),
    Failed(Error),
    Unknown,
}

/// True for the kinds [`decode`] knows.
pub(super) fn is_known(api_version: &str, kind: &str) -> bool {
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    matches!(
        (group, kind),
        ("", "Service" | "Pod" | "Endpoints" | "Node" | "Namespace")
            | ("discovery.k8s.io", "EndpointSlice")
            | ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
            | ("batch", "Job")
    )
}

/// Decodes node `node` of `tree` as `kind`; `ignored` receives the paths of the fields no
/// k8s-openapi type reads.
pub(super) fn decode(
    api_version: &str,
    kind: &str,
    tree: &Tree,
    node: NodeId,
    ignored: &mut Vec<String>,
) -> Decoded {
    if !is_known(api_version, kind) {
        return Decoded::Unknown;
    }
    if let Some(e) = duplicate_key(tree, node) {
        return Decoded::Failed(e);
    }
    let cx = Context::new(tree);
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let result = match (group, kind) {
        ("", "Service") => cx.read::<Service>(node).map(|o| Resource::Service(Box::new(o))),
        ("", "Pod") => cx.read::<Pod>(node).map(|o| Resource::Pod(Box::new(o))),
        ("", "Endpoints") => cx.read::<Endpoints>(node).map(|o| Resource::Endpoints(Box::new(o))),
        ("", "Node") => cx.read::<Node>(node).map(|o| Resource::Node(Box::new(o))),
        ("", "Namespace") => cx.read::<Namespace>(node).map(|o| Resource::Namespace(Box::new(o))),
        ("discovery.k8s.io", "EndpointSlice") => {
            cx.read::<EndpointSlice>(node).map(|o| Resource::EndpointSlice(Box::new(o)))
        }
        ("apps", "Deployment") => {
            cx.read::<Deployment>(node).map(|o| Resource::Deployment(Box::new(o)))
        }
        ("apps", "ReplicaSet") => {
            cx.read::<ReplicaSet>(node).map(|o| Resource::ReplicaSet(Box::new(o)))
        }
        ("apps", "StatefulSet") => {
            cx.read::<StatefulSet>(node).map(|o| Resource::StatefulSet(Box::new(o)))
        }
        ("apps", "DaemonSet") => {
            cx.read::<DaemonSet>(node).map(|o| Resource::DaemonSet(Box::new(o)))
        }
        ("batch", "Job") => cx.read::<Job>(node).map(|o| Resource::Job(Box::new(o))),
        _ => return Decoded::Unknown,
    };
    *ignored = cx.into_ignored();
    match result {
        Ok(r) => Decoded::Object(r),
        Err(e) => Decoded::Failed(e),
    }
}

/// The diagnostic for an object that could not be decoded, at `at`, with the field path
/// prefixed by `prefix` (`items[3]` inside a List).
pub(super) fn decode_error(at: Location, kind: &str, e: &Error, prefix: &str) -> Diagnostic {
    let detail = &e.message;
    let path = match (prefix.is_empty(), e.path.is_empty()) {
        (true, _) => e.path.clone(),
        (false, true) => prefix.to_owned(),
        (false, false) if e.path.starts_with('[') => format!("{prefix}{}", e.path),
        (false, false) => format!("{prefix}.{}", e.path),
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
    Diagnostic::error(diag_kind, format!("{kind}: {detail}; the object is skipped"))
        .at(at)
        .field(path)
        .hint(hint)
}

pub(super) fn unknown_kind(
    at: Location,
    api_version: &str,
    kind: &str,
    prefix: &str,
) -> Diagnostic {
    Diagnostic::warning(
        DiagnosticKind::UnknownKind,
        format!("{api_version} {kind} is not something kube-proxy reads; it is ignored"),
    )
    .at(at)
    .field(prefix)
    .hint("kpsim models Services, Pods, workloads, EndpointSlices, Endpoints, Nodes and Namespaces")
}

/// Fields nobody reads: ignored by k8s-openapi, usually typos. `status` noise is not
/// reported: live objects carry status fields of every Kubernetes version.
pub(super) fn report_ignored(out: &mut Manifests, object: &Object, ignored: Vec<String>) {
    for path in ignored {
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
