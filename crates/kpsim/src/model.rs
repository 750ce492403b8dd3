//! The validated cluster: what the API server and its controllers hold after the user's
//! manifests were admitted.
//!
//! Model types hold only states that can exist (a [`Protocol`], a port number, a parsed
//! address); every value that was filled in rather than given is [`Marked`] with its
//! [`Origin`] so the page can show it. Building the model from manifests lives in
//! [`build`](crate::model::build), with the simulated API server and controllers beside it
//! ([`allocate`], [`schedule`], [`workload`], [`builtin`]); generating EndpointSlices lives
//! in [`crate::endpoints`]. Nothing here knows about kube-proxy.

mod admission;
pub mod allocate;
pub mod build;
pub mod builtin;
mod endpoint_slice;
pub mod names;
mod node;
mod pod;
pub(crate) mod schedule;
mod service;
pub(crate) mod workload;

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::net::{Cidr, IpFamily, Protocol};
pub use admission::Admission;
pub use endpoint_slice::{
    AddressType, ENDPOINTSLICE_CONTROLLER, ENDPOINTSLICE_MIRRORING_CONTROLLER, Endpoint,
    EndpointConditions, EndpointHints, EndpointPort, EndpointSlice, MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL, SliceOrigin, TargetRef,
};
pub use node::{CONTROL_PLANE_LABEL, HOSTNAME_LABEL, Node, Taint, ZONE_LABEL};
pub use pod::{ContainerPort, Pod, PodOwner};
pub use service::{
    ClusterIp, ClusterIpFields, IpMode, LoadBalancerIngress, Service, ServicePort, ServiceType,
    SessionAffinity, TargetPort, TrafficPolicy,
};

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Written in the input.
    Given,
    /// Filled in by an API default (`type: ClusterIP`, `protocol: TCP`, …).
    Defaulted,
    /// Chosen by an allocator or scheduler (ClusterIP, NodePort, pod IP, node).
    Allocated,
    /// Computed from other values (a named targetPort resolved per pod, a pod's host IP).
    Derived,
}

/// A value together with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Marked<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Marked<T> {
    pub fn given(value: T) -> Marked<T> {
        Marked { value, origin: Origin::Given }
    }
    pub fn defaulted(value: T) -> Marked<T> {
        Marked { value, origin: Origin::Defaulted }
    }
    pub fn allocated(value: T) -> Marked<T> {
        Marked { value, origin: Origin::Allocated }
    }
    pub fn derived(value: T) -> Marked<T> {
        Marked { value, origin: Origin::Derived }
    }
    /// True unless the value was written by the user.
    pub fn is_filled_in(&self) -> bool {
        self.origin != Origin::Given
    }
}

/// Namespace and name of a namespaced object; orders by namespace first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NamespacedName {
    pub namespace: String,
    pub name: String,
}

impl NamespacedName {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> NamespacedName {
        NamespacedName { namespace: namespace.into(), name: name.into() }
    }
}

impl std::fmt::Display for NamespacedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Where an object came from in the input (for diagnostics and the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct SourceSpan {
    /// 0-based document index in the input stream; `None` for objects kpsim made up
    /// (built-in Services, default nodes, pods expanded from a workload get their
    /// workload's document).
    pub document: Option<usize>,
    /// 1-based line where the object starts.
    pub line: usize,
}

/// Serializes a map keyed by [`NamespacedName`] with `namespace/name` string keys (JSON
/// keys must be strings), in the map's order.
fn serialize_by_name<S: serde::Serializer, V: Serialize>(
    map: &BTreeMap<NamespacedName, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(map.iter().map(|(k, v)| (k.to_string(), v)))
}

/// The whole cluster, deterministic: every collection is sorted by its key.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Cluster {
    /// How the input was admitted (API-server defaults and controllers, or taken as given);
    /// after [`build::build`] never [`Admission::Auto`].
    pub admission: Admission,
    /// Nodes sorted by name.
    pub nodes: Vec<Node>,
    /// Namespaces that exist (given, referenced, or built in), sorted.
    pub namespaces: Vec<String>,
    #[serde(serialize_with = "serialize_by_name")]
    pub pods: BTreeMap<NamespacedName, Pod>,
    #[serde(serialize_with = "serialize_by_name")]
    pub services: BTreeMap<NamespacedName, Service>,
    /// Every EndpointSlice kube-proxy will read: given, converted from Endpoints, or made by
    /// the EndpointSlice controller (see [`crate::endpoints`]). Sorted by namespace/name.
    #[serde(serialize_with = "serialize_by_name")]
    pub endpoint_slices: BTreeMap<NamespacedName, EndpointSlice>,
    /// Service CIDRs per family (first is primary): minikube's 10.96.0.0/12 or derived from
    /// the given ClusterIPs in cluster admission (see [`allocate`]); empty in as-given
    /// admission, as kube-proxy's own defaults have none.
    pub service_cidrs: Vec<Cidr>,
    /// The cluster's pod CIDRs (`--cluster-cidr`) per family: covering the nodes' pod CIDRs,
    /// else minikube's 10.244.0.0/16 (see [`allocate`]); in as-given admission only derived
    /// from given nodes.
    pub pod_cidrs: Vec<Cidr>,
    /// DNS domain of the cluster (`cluster.local`).
    pub dns_domain: String,
}

impl Cluster {
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services.get(&NamespacedName::new(namespace, name))
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<&Pod> {
        self.pods.get(&NamespacedName::new(namespace, name))
    }

    /// The families the cluster is configured for (from its service CIDRs), primary first.
    pub fn ip_families(&self) -> Vec<IpFamily> {
        let mut families: Vec<IpFamily> = Vec::new();
        for c in &self.service_cidrs {
            if !families.contains(&c.family()) {
                families.push(c.family());
            }
        }
        if families.is_empty() {
            families.push(IpFamily::V4);
        }
        families
    }

    /// EndpointSlices belonging to a Service (by the `kubernetes.io/service-name` label).
    pub fn slices_of<'a>(
        &'a self,
        service: &NamespacedName,
    ) -> impl Iterator<Item = &'a EndpointSlice> + use<'a> {
        let service = service.clone();
        self.endpoint_slices.values().filter(move |s| {
            s.namespace == service.namespace && s.service_name.as_deref() == Some(&service.name)
        })
    }
}
