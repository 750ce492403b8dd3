//! Nodes: name, addresses, pod CIDRs and labels (zone).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::{Marked, SourceSpan};
use crate::net::{Cidr, IpFamily};

/// The well-known zone label that topology hints compare against.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// InternalIP addresses, primary family first.
    pub internal_ips: Vec<IpAddr>,
    /// `spec.podCIDRs` (or `podCIDR`), primary family first.
    pub pod_cidrs: Marked<Vec<Cidr>>,
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

    /// The value of `topology.kubernetes.io/zone`, if set.
    pub fn zone(&self) -> Option<&str> {
        self.labels.get(ZONE_LABEL).map(String::as_str)
    }
}
