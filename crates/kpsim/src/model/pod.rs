//! Pods: where they run, their IPs, readiness and the ports their containers expose.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::{Marked, SourceSpan};
use crate::net::{IpFamily, Protocol};

/// A container port (`spec.containers[].ports[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub container_port: u16,
    pub protocol: Protocol,
}

/// The controller that owns a pod: its `ownerReferences` controller entry, or the object
/// kpsim expanded it from (a Deployment's pods are owned by its ReplicaSet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodOwner {
    /// `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`.
    pub kind: String,
    pub name: String,
}

/// A pod as the API server holds it after scheduling and IP assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The node it runs on (given, derived from its pod IP, or chosen by kpsim's
    /// scheduler). Empty while the pod is unscheduled (`Pending`).
    pub node_name: Marked<String>,
    /// Pod IPs, primary family first (given in `status`, or allocated from the node's CIDR;
    /// the node IP for `hostNetwork` pods). Empty when the pod has none (not running, not
    /// scheduled, or as-given admission).
    pub pod_ips: Marked<Vec<IpAddr>>,
    /// `status.hostIP`, or the node's InternalIP once scheduled.
    pub host_ip: Option<IpAddr>,
    pub host_network: bool,
    /// The `Ready` condition.
    pub ready: Marked<bool>,
    /// `metadata.deletionTimestamp` is set: the pod is terminating.
    pub terminating: bool,
    /// Phase (`Running`, `Pending`, `Succeeded`, `Failed`).
    pub phase: Marked<String>,
    pub container_ports: Vec<ContainerPort>,
    /// `spec.hostname`/`spec.subdomain`, for headless Service DNS.
    pub hostname: Option<String>,
    pub subdomain: Option<String>,
    pub owner: Option<PodOwner>,
    pub span: SourceSpan,
}

impl Pod {
    /// The node the pod runs on, `None` while unscheduled.
    pub fn node(&self) -> Option<&str> {
        Some(self.node_name.value.as_str()).filter(|n| !n.is_empty())
    }

    /// The pod IP of a family.
    pub fn ip(&self, family: IpFamily) -> Option<IpAddr> {
        self.pod_ips.value.iter().copied().find(|ip| IpFamily::of(*ip) == family)
    }

    /// The primary pod IP.
    pub fn primary_ip(&self) -> Option<IpAddr> {
        self.pod_ips.value.first().copied()
    }

    /// Resolves a named port the way the EndpointSlice controller does (name and protocol).
    pub fn find_named_port(&self, name: &str, protocol: Protocol) -> Option<u16> {
        self.container_ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name) && p.protocol == protocol)
            .map(|p| p.container_port)
    }

    /// True when the pod's labels contain every pair of `selector`.
    pub fn matches(&self, selector: &BTreeMap<String, String>) -> bool {
        selector.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}
