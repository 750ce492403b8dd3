//! Decoding one object by `apiVersion`/`kind` into its k8s-openapi type, and the diagnostics
//! of decoding: wrong types, unknown kinds, unknown fields.
//!
//! Splitting the stream and walking Lists is [`super`]'s and [`super::list`]'s job; this file
//! only turns one node of a document's tree into one [`Resource`].

use std::fmt;
use std::marker::PhantomData;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Unexpected, Visitor};

use super::deserializer::{Context, Error, duplicate_key};
use super::tree::{NodeId, Tree};
use super::{Manifests, Object, Resource};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Endpoints, Namespace, Node, NodeAddress, NodeStatus, Pod, PodCondition, PodIP, PodStatus,
    Service,
};
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
        ("", "Pod") => cx.read::<Parts<Pod, _, PodStatusRead>>(node).map(|p| {
            let status = p.status.map(PodStatus::from);
            Resource::Pod(Box::new(Pod { metadata: p.metadata, spec: p.spec, status }))
        }),
        ("", "Endpoints") => cx.read::<Endpoints>(node).map(|o| Resource::Endpoints(Box::new(o))),
        ("", "Node") => cx.read::<Parts<Node, _, NodeStatusRead>>(node).map(|p| {
            let status =
                p.status.map(|s| NodeStatus { addresses: s.addresses, ..NodeStatus::default() });
            Resource::Node(Box::new(Node { metadata: p.metadata, spec: p.spec, status }))
        }),
        ("", "Namespace") => cx.read::<Namespace>(node).map(|o| Resource::Namespace(Box::new(o))),
        ("discovery.k8s.io", "EndpointSlice") => {
            cx.read::<EndpointSlice>(node).map(|o| Resource::EndpointSlice(Box::new(o)))
        }
        ("apps", "Deployment") => cx.read::<Workload<Deployment, _>>(node).map(|w| {
            let (metadata, spec) = (w.metadata, w.spec.unwrap_or_default());
            Resource::Deployment(Box::new(Deployment { metadata, spec, status: None }))
        }),
        ("apps", "ReplicaSet") => cx.read::<Workload<ReplicaSet, _>>(node).map(|w| {
            let (metadata, spec) = (w.metadata, w.spec.unwrap_or_default());
            Resource::ReplicaSet(Box::new(ReplicaSet { metadata, spec, status: None }))
        }),
        ("apps", "StatefulSet") => cx.read::<Workload<StatefulSet, _>>(node).map(|w| {
            let (metadata, spec) = (w.metadata, w.spec.unwrap_or_default());
            Resource::StatefulSet(Box::new(StatefulSet { metadata, spec, status: None }))
        }),
        ("apps", "DaemonSet") => cx.read::<Workload<DaemonSet, _>>(node).map(|w| {
            let (metadata, spec) = (w.metadata, w.spec.unwrap_or_default());
            Resource::DaemonSet(Box::new(DaemonSet { metadata, spec, status: None }))
        }),
        ("batch", "Job") => cx.read::<Workload<Job, _>>(node).map(|w| {
            Resource::Job(Box::new(Job { metadata: w.metadata, spec: w.spec, status: None }))
        }),
        _ => return Decoded::Unknown,
    };
    *ignored = cx.into_ignored();
    match result {
        Ok(r) => Decoded::Object(r),
        Err(e) => Decoded::Failed(e),
    }
}

/// An object of kind `R` read as kube-proxy's world needs it: metadata, spec (`S`), and of
/// its `status` only what the model reads (`St`; `IgnoredAny` for workloads, whose status
/// nobody reads). Status fields not read are skipped unread, as unknown fields are, so their
/// types are not compiled into the page. `apiVersion` and `kind` are checked as k8s-openapi
/// does.
struct Parts<R, S, St> {
    metadata: ObjectMeta,
    spec: Option<S>,
    status: Option<St>,
    resource: PhantomData<R>,
}

/// The parts of a workload: no status.
type Workload<R, S> = Parts<R, S, IgnoredAny>;

impl<'de, R, S, St> Deserialize<'de> for Parts<R, S, St>
where
    R: k8s_openapi::Resource,
    S: Deserialize<'de>,
    St: Deserialize<'de>,
{
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<R, S, St>(PhantomData<(R, S, St)>);

        impl<'de, R, S, St> Visitor<'de> for Fields<R, S, St>
        where
            R: k8s_openapi::Resource,
            S: Deserialize<'de>,
            St: Deserialize<'de>,
        {
            type Value = Parts<R, S, St>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(R::KIND)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut parts = Parts {
                    metadata: ObjectMeta::default(),
                    spec: None,
                    status: None,
                    resource: PhantomData,
                };
                while let Some(key) = map.next_key::<String>()? {
                    let expected = match key.as_str() {
                        "apiVersion" => R::API_VERSION,
                        "kind" => R::KIND,
                        "metadata" => {
                            parts.metadata =
                                map.next_value::<Option<ObjectMeta>>()?.unwrap_or_default();
                            continue;
                        }
                        "spec" => {
                            parts.spec = map.next_value()?;
                            continue;
                        }
                        "status" => {
                            parts.status = map.next_value()?;
                            continue;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    let value: String = map.next_value()?;
                    if value != expected {
                        return Err(de::Error::invalid_value(Unexpected::Str(&value), &expected));
                    }
                }
                Ok(parts)
            }
        }

        let fields = &["apiVersion", "kind", "metadata", "spec", "status"];
        deserializer.deserialize_struct(R::KIND, fields, Fields(PhantomData))
    }
}

/// What the model reads of a Pod's status (`model::build::pod`): its IPs, phase and
/// conditions.
#[derive(Deserialize)]
#[serde(rename = "PodStatus")]
struct PodStatusRead {
    #[serde(rename = "podIP")]
    pod_ip: Option<String>,
    #[serde(rename = "podIPs")]
    pod_ips: Option<Vec<PodIP>>,
    #[serde(rename = "hostIP")]
    host_ip: Option<String>,
    phase: Option<String>,
    conditions: Option<Vec<PodCondition>>,
}

impl From<PodStatusRead> for PodStatus {
    fn from(s: PodStatusRead) -> PodStatus {
        let PodStatusRead { pod_ip, pod_ips, host_ip, phase, conditions } = s;
        PodStatus { pod_ip, pod_ips, host_ip, phase, conditions, ..PodStatus::default() }
    }
}

/// What the model reads of a Node's status (`model::build::node`): its addresses.
#[derive(Deserialize)]
#[serde(rename = "NodeStatus")]
struct NodeStatusRead {
    addresses: Option<Vec<NodeAddress>>,
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
