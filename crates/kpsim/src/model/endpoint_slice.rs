//! EndpointSlices (`discovery.k8s.io/v1`): what kube-proxy reads to find a Service's backends.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::SourceSpan;
use crate::net::{IpFamily, Protocol};

/// The label tying a slice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The label naming the controller that manages a slice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";

/// [`MANAGED_BY_LABEL`] of slices made by the EndpointSlice controller.
pub const ENDPOINTSLICE_CONTROLLER: &str = "endpointslice-controller.k8s.io";

/// [`MANAGED_BY_LABEL`] of slices mirrored from `v1/Endpoints`.
pub const ENDPOINTSLICE_MIRRORING_CONTROLLER: &str = "endpointslicemirroring-controller.k8s.io";

/// `addressType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AddressType {
    IPv4,
    IPv6,
    FQDN,
}

impl AddressType {
    /// The IP family of an IP slice; `None` for FQDN slices, which kube-proxy ignores.
    pub fn family(self) -> Option<IpFamily> {
        match self {
            AddressType::IPv4 => Some(IpFamily::V4),
            AddressType::IPv6 => Some(IpFamily::V6),
            AddressType::FQDN => None,
        }
    }
}

/// How a slice came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SliceOrigin {
    /// Written in the input.
    Given,
    /// Converted from a legacy `v1/Endpoints` object.
    FromEndpoints,
    /// Made by the EndpointSlice controller from the Service's selector and the pods.
    Controller,
    /// Written by the API server itself: the `default/kubernetes` slice listing the API
    /// server endpoints.
    BuiltIn,
}

/// `endpoints[].conditions`; absent values are kept absent (kube-proxy reads absent
/// `ready`/`serving` as true and absent `terminating` as false).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub struct EndpointConditions {
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
}

impl EndpointConditions {
    /// All three conditions set, as the EndpointSlice controller writes them.
    pub fn known(ready: bool, serving: bool, terminating: bool) -> EndpointConditions {
        EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.unwrap_or(true)
    }
    pub fn is_serving(&self) -> bool {
        self.serving.unwrap_or(true)
    }
    pub fn is_terminating(&self) -> bool {
        self.terminating.unwrap_or(false)
    }
}

/// `endpoints[].hints`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct EndpointHints {
    /// `None` when the endpoint carries no zone hints at all.
    pub for_zones: Option<Vec<String>>,
    pub for_nodes: Option<Vec<String>>,
}

/// `endpoints[].targetRef`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TargetRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// One endpoint of a slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// Parsed sloppily. kube-proxy uses only the first.
    pub addresses: Vec<IpAddr>,
    pub conditions: EndpointConditions,
    pub node_name: Option<String>,
    pub zone: Option<String>,
    pub hints: EndpointHints,
    pub target_ref: Option<TargetRef>,
    pub hostname: Option<String>,
}

/// One entry of a slice's `ports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointPort {
    /// `None` when absent: kube-proxy skips such ports (an unnamed port is `Some("")`).
    pub name: Option<String>,
    /// `None` when absent or 0.
    pub port: Option<u16>,
    pub protocol: Protocol,
    pub app_protocol: Option<String>,
}

/// An EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointSlice {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The `kubernetes.io/service-name` label.
    pub service_name: Option<String>,
    pub address_type: AddressType,
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<EndpointPort>,
    pub origin: SliceOrigin,
    pub span: SourceSpan,
}
