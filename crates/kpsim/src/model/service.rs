//! Services and their ports, after API defaults and allocation.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::{Marked, SourceSpan};
use crate::net::{Cidr, IpFamily, Protocol};

/// `spec.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
    ExternalName,
}

impl ServiceType {
    pub fn from_k8s(s: &str) -> Option<ServiceType> {
        match s {
            "ClusterIP" => Some(ServiceType::ClusterIP),
            "NodePort" => Some(ServiceType::NodePort),
            "LoadBalancer" => Some(ServiceType::LoadBalancer),
            "ExternalName" => Some(ServiceType::ExternalName),
            _ => None,
        }
    }

    pub fn as_k8s(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::ExternalName => "ExternalName",
        }
    }
}

/// `spec.clusterIP` / `spec.clusterIPs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ClusterIp {
    /// No ClusterIP (`""`): only possible for ExternalName, or for objects taken as given.
    Unset,
    /// `None`: a headless Service.
    Headless,
    /// One address per family, primary first.
    Ips(Vec<IpAddr>),
}

/// Which of `spec.clusterIP` and `spec.clusterIPs` the input wrote (non-empty). An API server
/// fills each from the other; kube-proxy, taking objects as given, skips a Service whose
/// `clusterIP` is empty and, when `ipFamilies` is set, reads only `clusterIPs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClusterIpFields {
    pub cluster_ip: bool,
    pub cluster_ips: bool,
}

impl ClusterIp {
    /// The ClusterIP of a family.
    pub fn of_family(&self, family: IpFamily) -> Option<IpAddr> {
        match self {
            ClusterIp::Ips(ips) => ips.iter().copied().find(|ip| IpFamily::of(*ip) == family),
            _ => None,
        }
    }

    /// The primary ClusterIP.
    pub fn primary(&self) -> Option<IpAddr> {
        match self {
            ClusterIp::Ips(ips) => ips.first().copied(),
            _ => None,
        }
    }
}

/// `externalTrafficPolicy` / `internalTrafficPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TrafficPolicy {
    Cluster,
    Local,
}

/// `spec.sessionAffinity` with its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SessionAffinity {
    None,
    ClientIP { timeout_seconds: u32 },
}

/// `status.loadBalancer.ingress[].ipMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum IpMode {
    Vip,
    Proxy,
}

/// One `status.loadBalancer.ingress[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerIngress {
    /// Parsed sloppily; `None` for hostname-only or unparsable entries.
    pub ip: Option<IpAddr>,
    pub hostname: Option<String>,
    pub ip_mode: Option<IpMode>,
}

/// `spec.ports[].targetPort`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum TargetPort {
    Number(u16),
    Name(String),
}

impl std::fmt::Display for TargetPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetPort::Number(n) => write!(f, "{n}"),
            TargetPort::Name(s) => f.write_str(s),
        }
    }
}

/// One entry of `spec.ports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicePort {
    /// `""` when unnamed.
    pub name: String,
    pub protocol: Marked<Protocol>,
    pub port: u16,
    pub target_port: Marked<TargetPort>,
    /// `None` when absent or 0.
    pub node_port: Option<Marked<u16>>,
    pub app_protocol: Option<String>,
}

/// A Service after admission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub service_type: Marked<ServiceType>,
    pub cluster_ip: Marked<ClusterIp>,
    /// The fields `cluster_ip` was read from (not part of the model's JSON).
    #[serde(skip)]
    pub cluster_ip_fields: ClusterIpFields,
    pub ip_families: Marked<Vec<IpFamily>>,
    /// `None` when the Service has no selector (its endpoints are managed by hand).
    pub selector: Option<BTreeMap<String, String>>,
    pub ports: Vec<ServicePort>,
    /// `spec.externalIPs`, parsed sloppily (unparsable entries are dropped with a diagnostic).
    pub external_ips: Vec<IpAddr>,
    pub load_balancer_ingress: Vec<LoadBalancerIngress>,
    /// `spec.loadBalancerSourceRanges`, trimmed and parsed sloppily.
    pub load_balancer_source_ranges: Vec<Cidr>,
    pub external_traffic_policy: Marked<TrafficPolicy>,
    pub internal_traffic_policy: Marked<TrafficPolicy>,
    /// `spec.healthCheckNodePort` (`None` when absent or 0).
    pub health_check_node_port: Option<Marked<u16>>,
    pub session_affinity: Marked<SessionAffinity>,
    pub publish_not_ready_addresses: bool,
    pub external_name: Option<String>,
    /// `spec.trafficDistribution` (`PreferClose`, `PreferSameZone`, `PreferSameNode`).
    pub traffic_distribution: Option<String>,
    pub span: SourceSpan,
}

impl Service {
    pub fn is_headless(&self) -> bool {
        matches!(self.cluster_ip.value, ClusterIp::Headless)
    }

    /// Externally accessible *by type* (the API helper kube-proxy uses for eTP=Local):
    /// LoadBalancer, NodePort, or ClusterIP with external IPs.
    pub fn externally_accessible_by_type(&self) -> bool {
        match self.service_type.value {
            ServiceType::LoadBalancer | ServiceType::NodePort => true,
            ServiceType::ClusterIP => !self.external_ips.is_empty(),
            ServiceType::ExternalName => false,
        }
    }
}
