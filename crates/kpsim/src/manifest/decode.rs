//! Decoding one object by `apiVersion`/`kind` into its k8s-openapi type, and the diagnostics
//! of decoding: wrong types, unknown kinds, unknown fields.
//!
//! Splitting the stream and walking Lists is [`super`]'s and [`super::list`]'s job; this file
//! only turns one deserializer into one [`Resource`].

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::de::DeserializeOwned;

use super::{Manifests, Object, Resource, strip_position};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};

pub(super) enum Decoded {
    Object(Resource),
    Failed(serde_norway::Error),
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

pub(super) fn decode<'de, D>(
    api_version: &str,
    kind: &str,
    de: D,
    ignored: &mut Vec<String>,
) -> Decoded
where
    D: serde::Deserializer<'de, Error = serde_norway::Error>,
{
    // One callback type for every kind. A closure written inside a generic function is a new
    // type for each instantiation, and serde_ignored is generic over the callback: a closure
    // per kind would compile every k8s-openapi type once per kind that embeds it (a Pod
    // template sits in six kinds).
    let mut push = |path: serde_ignored::Path<'_>| ignored.push(path.to_string());
    let ignored: &mut dyn FnMut(serde_ignored::Path<'_>) = &mut push;
    fn typed<'de, T: DeserializeOwned, D>(
        de: D,
        record: &mut dyn FnMut(serde_ignored::Path<'_>),
    ) -> Result<T, serde_norway::Error>
    where
        D: serde::Deserializer<'de, Error = serde_norway::Error>,
    {
        serde_ignored::deserialize(de, record)
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

/// The field path and the message of a decoding error (`spec.ports[0].port`,
/// `invalid type: …`). serde_norway reports "path: message" when it knows the path.
pub(super) fn split_error(e: &serde_norway::Error) -> (String, String) {
    let message = strip_position(&e.to_string());
    match message.split_once(": ") {
        Some((p, d)) if !p.contains(' ') => (p.to_owned(), d.to_owned()),
        _ => (String::new(), message),
    }
}

/// The diagnostic for an object that could not be decoded, at `at`, with the field path
/// prefixed by `prefix` (`items[3]` inside a List).
pub(super) fn decode_error(
    at: Location,
    kind: &str,
    e: &serde_norway::Error,
    prefix: &str,
) -> Diagnostic {
    let (path, detail) = split_error(e);
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
