//! Nodes: name, addresses, pod CIDRs, labels (zone) and what the scheduler reads
//! (cordon, taints).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::{Marked, SourceSpan};
use crate::net::{Cidr, IpFamily};

/// The well-known zone label that topology hints compare against.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// The well-known hostname label every kubelet sets.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// The label kubeadm and minikube put on control-plane nodes.
pub const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

/// `spec.taints[]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// InternalIP addresses, primary family first.
    pub internal_ips: Vec<IpAddr>,
    /// `spec.podCIDRs` (or `podCIDR`), primary family first.
    pub pod_cidrs: Marked<Vec<Cidr>>,
    /// `spec.unschedulable` (cordoned): the scheduler places no new pods here.
    pub unschedulable: bool,
    /// `spec.taints`.
    pub taints: Vec<Taint>,
    /// Given in the input, or the default minikube layout.
    pub origin: super::Origin,
    pub span: SourceSpan,
}

impl Node {
    /// The node's InternalIP of a family.
    pub fn internal_ip(&self, family: IpFamily) -> Option<IpAddr> {
        self.internal_ips.iter().copied().find(|ip| IpFamily::of(*ip) == family)
    }

    /// The node's pod CIDR of a family.
    pub fn pod_cidr(&self, family: IpFamily) -> Option<Cidr> {
        self.pod_cidrs.value.iter().copied().find(|c| c.family() == family)
    }

    /// True for a control-plane node (by its `node-role.kubernetes.io/control-plane` label).
    pub fn is_control_plane(&self) -> bool {
        self.labels.contains_key(CONTROL_PLANE_LABEL)
    }

    /// The value of `topology.kubernetes.io/zone`, if set.
    pub fn zone(&self) -> Option<&str> {
        self.labels.get(ZONE_LABEL).map(String::as_str)
    }
}
