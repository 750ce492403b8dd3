//! Service ports as kube-proxy tracks them (`ServicePortName` → `servicePortInfo`) and the
//! endpoints it gathers for each from EndpointSlices (`endpointslicecache`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::Categorized;
use crate::model::{
    AddressType, Admission, Cluster, ClusterIp, IpMode, Origin, Service, ServiceType,
    SessionAffinity, TargetRef, TrafficPolicy,
};
use crate::net::{Cidr, IpFamily, Protocol, join_host_port};
use crate::settings::ProxySettings;

/// kube-proxy's `ServicePortName`: namespace, Service, port name and protocol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ServicePortName {
    pub namespace: String,
    pub name: String,
    /// `""` for an unnamed port.
    pub port: String,
    pub protocol: Protocol,
}

impl ServicePortName {
    /// `ns/name`.
    pub fn service(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// `ns/name:port`, or `ns/name` for an unnamed port (kube-proxy's `String()`).
impl fmt::Display for ServicePortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port.is_empty() {
            write!(f, "{}/{}", self.namespace, self.name)
        } else {
            write!(f, "{}/{}:{}", self.namespace, self.name, self.port)
        }
    }
}

/// One endpoint of a service port, with the facts kube-proxy keeps about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyEndpoint {
    pub ip: IpAddr,
    pub port: u16,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    /// On the proxier's node (`nodeName` equals its node name).
    pub is_local: bool,
    pub node_name: Option<String>,
    pub zone_hints: BTreeSet<String>,
    pub node_hints: BTreeSet<String>,
    /// The pod behind the endpoint, when the slice says.
    pub target: Option<TargetRef>,
    /// The slice it came from.
    pub slice: String,
}

impl ProxyEndpoint {
    /// `ip:port` / `[ip6]:port`: kube-proxy's endpoint string (and sort key).
    pub fn endpoint_string(&self) -> String {
        join_host_port(self.ip, self.port)
    }
}

/// One service port as kube-proxy programs it on one node, with its endpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServicePortPlan {
    pub name: ServicePortName,
    pub service_type: ServiceType,
    pub cluster_ip: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
    pub node_port: Option<u16>,
    /// External IPs of the proxier's family, in spec order.
    pub external_ips: Vec<IpAddr>,
    /// LoadBalancer ingress IPs of the family that get rules (not `ipMode: Proxy` while the
    /// `LoadBalancerIPMode` gate is on).
    pub load_balancer_vips: Vec<IpAddr>,
    /// Source ranges of the family, normalised.
    pub load_balancer_source_ranges: Vec<Cidr>,
    /// Only for LoadBalancer with eTP=Local.
    pub health_check_node_port: Option<u16>,
    /// ClientIP affinity timeout, when affinity is on.
    pub session_affinity_timeout: Option<u32>,
    /// eTP=Local on a Service that is externally accessible by type.
    pub external_policy_local: bool,
    /// iTP=Local.
    pub internal_policy_local: bool,
    /// Every endpoint of the port, deduplicated and sorted by endpoint string.
    pub endpoints: Vec<ProxyEndpoint>,
    /// Which endpoints serve which traffic (filled by [`super::categorize`]).
    pub categorized: Categorized,
}

impl ServicePortPlan {
    /// Rule-based "externally accessible": a NodePort, an LB VIP or an external IP.
    pub fn externally_accessible(&self) -> bool {
        self.node_port.is_some()
            || !self.load_balancer_vips.is_empty()
            || !self.external_ips.is_empty()
    }

    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local || self.externally_accessible()
    }

    pub fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local || (self.external_policy_local && self.externally_accessible())
    }

    /// The service-port string used in comments (`ns/name:port`).
    pub fn name_string(&self) -> String {
        self.name.to_string()
    }

    /// Endpoints by index list.
    pub fn pick<'a>(
        &'a self,
        indices: &'a [usize],
    ) -> impl Iterator<Item = &'a ProxyEndpoint> + 'a {
        indices.iter().map(move |&i| &self.endpoints[i])
    }

    /// True when ClusterIP traffic has somewhere to go on this node.
    pub fn has_internal(&self) -> bool {
        self.categorized.has_any_endpoints
            && (!self.internal_policy_local || !self.categorized.local.is_empty())
    }

    /// True when external traffic has somewhere to go on this node.
    pub fn has_external(&self) -> bool {
        self.categorized.has_any_endpoints
            && (!self.external_policy_local || !self.categorized.local.is_empty())
    }
}

/// The ClusterIP kube-proxy uses for a family: with `ipFamilies` given, the ClusterIP at the
/// index of the family; without, the (first) ClusterIP if it is of the family.
///
/// Taken as given (`as_given`), kube-proxy reads the fields the input wrote: a Service with
/// an empty `clusterIP` is skipped (`ShouldSkipService`) and, with `ipFamilies` given, only
/// `clusterIPs` is indexed (`GetClusterIPByFamily`), so an absent `clusterIPs` means no
/// ClusterIP for any family (spec iptables §1, nftables §2.1).
fn cluster_ip_for(service: &Service, family: IpFamily, as_given: bool) -> Option<IpAddr> {
    let ClusterIp::Ips(ips) = &service.cluster_ip.value else { return None };
    if as_given && !service.cluster_ip_fields.cluster_ip {
        return None;
    }
    if service.ip_families.value.is_empty() || service.ip_families.is_filled_in() {
        return ips.first().copied().filter(|ip| IpFamily::of(*ip) == family);
    }
    if as_given && !service.cluster_ip_fields.cluster_ips {
        return None;
    }
    let index = service.ip_families.value.iter().position(|f| *f == family)?;
    ips.get(index).copied().filter(|ip| IpFamily::of(*ip) == family)
}

/// Every service port kube-proxy programs for the settings' family, sorted the way the
/// reference tests canonicalise (by the `ns/name` string, then spec order), with endpoints.
pub fn service_ports(cluster: &Cluster, settings: &ProxySettings) -> Vec<ServicePortPlan> {
    let family = settings.family;
    let mut endpoints = endpoints_by_port(cluster, settings);
    let mut services: Vec<&Service> = cluster.services.values().collect();
    services.sort_by_cached_key(|s| format!("{}/{}", s.namespace, s.name));
    let mut out = Vec::new();
    for svc in services {
        // Headless and ExternalName Services get no rules at all.
        if svc.service_type.value == ServiceType::ExternalName {
            continue;
        }
        let as_given = cluster.admission != Admission::Cluster;
        let Some(cluster_ip) = cluster_ip_for(svc, family, as_given) else { continue };
        let of_family = |ip: &&IpAddr| IpFamily::of(**ip) == family;
        let external_ips: Vec<IpAddr> =
            svc.external_ips.iter().filter(of_family).copied().collect();
        let load_balancer_vips: Vec<IpAddr> = svc
            .load_balancer_ingress
            .iter()
            .filter(|ing| {
                !(settings.feature_gates.load_balancer_ip_mode
                    && ing.ip_mode == Some(IpMode::Proxy))
            })
            .filter_map(|ing| ing.ip)
            .filter(|ip| IpFamily::of(*ip) == family)
            .collect();
        let source_ranges: Vec<Cidr> = svc
            .load_balancer_source_ranges
            .iter()
            .copied()
            .filter(|c| c.family() == family)
            .collect();
        // Taken as given, an absent `type` is Go's empty string, which the API helper
        // kube-proxy uses never counts as externally accessible (spec §1).
        let type_unset =
            cluster.admission != Admission::Cluster && svc.service_type.origin == Origin::Defaulted;
        let external_policy_local = !type_unset
            && svc.externally_accessible_by_type()
            && svc.external_traffic_policy.value == TrafficPolicy::Local;
        let health_check_node_port = (svc.service_type.value == ServiceType::LoadBalancer
            && external_policy_local)
            .then(|| svc.health_check_node_port.map(|p| p.value))
            .flatten();
        let session_affinity_timeout = match svc.session_affinity.value {
            SessionAffinity::ClientIP { timeout_seconds } => Some(timeout_seconds),
            SessionAffinity::None => None,
        };
        for (i, port) in svc.ports.iter().enumerate() {
            // kube-proxy keys service ports by name and protocol: a repeated one replaces
            // the earlier (the last one wins).
            let repeated = svc.ports[i + 1..]
                .iter()
                .any(|p| p.name == port.name && p.protocol.value == port.protocol.value);
            if repeated {
                continue;
            }
            let name = ServicePortName {
                namespace: svc.namespace.clone(),
                name: svc.name.clone(),
                port: port.name.clone(),
                protocol: port.protocol.value,
            };
            let eps = endpoints.remove(&name).unwrap_or_default();
            out.push(ServicePortPlan {
                name,
                service_type: svc.service_type.value,
                cluster_ip,
                port: port.port,
                protocol: port.protocol.value,
                node_port: port.node_port.map(|p| p.value),
                external_ips: external_ips.clone(),
                load_balancer_vips: load_balancer_vips.clone(),
                load_balancer_source_ranges: source_ranges.clone(),
                health_check_node_port,
                session_affinity_timeout,
                external_policy_local,
                internal_policy_local: svc.internal_traffic_policy.value == TrafficPolicy::Local,
                endpoints: eps,
                categorized: Categorized::default(),
            });
        }
    }
    out
}

/// Endpoints per service port, merged from every slice of the family: only the first address
/// of an endpoint counts, and only if it is of the family; a duplicate `ip:port` replaces an
/// earlier one unless it is terminating; the result is sorted by endpoint string.
fn endpoints_by_port(
    cluster: &Cluster,
    settings: &ProxySettings,
) -> BTreeMap<ServicePortName, Vec<ProxyEndpoint>> {
    let wanted = match settings.family {
        IpFamily::V4 => AddressType::IPv4,
        IpFamily::V6 => AddressType::IPv6,
    };
    let mut by_port: BTreeMap<ServicePortName, Vec<ProxyEndpoint>> = BTreeMap::new();
    for slice in cluster.endpoint_slices.values() {
        if slice.address_type != wanted {
            continue;
        }
        let Some(service) = &slice.service_name else { continue };
        for port in &slice.ports {
            let (Some(port_name), Some(port_number)) = (&port.name, port.port) else { continue };
            let key = ServicePortName {
                namespace: slice.namespace.clone(),
                name: service.clone(),
                port: port_name.clone(),
                protocol: port.protocol,
            };
            let list = by_port.entry(key).or_default();
            list.reserve(slice.endpoints.len());
            for ep in &slice.endpoints {
                let Some(&ip) = ep.addresses.first() else { continue };
                // kube-proxy's EndpointSliceCache drops an endpoint whose first address is
                // not of the proxier's family, whatever the slice's addressType says.
                if IpFamily::of(ip) != settings.family {
                    continue;
                }
                let mut zone_hints = BTreeSet::new();
                zone_hints.extend(ep.hints.for_zones.iter().flatten().cloned());
                let mut node_hints = BTreeSet::new();
                if settings.feature_gates.prefer_same_traffic_distribution {
                    node_hints.extend(ep.hints.for_nodes.iter().flatten().cloned());
                }
                list.push(ProxyEndpoint {
                    ip,
                    port: port_number,
                    ready: ep.conditions.is_ready(),
                    serving: ep.conditions.is_serving(),
                    terminating: ep.conditions.is_terminating(),
                    is_local: !settings.node_name.is_empty()
                        && ep.node_name.as_deref() == Some(settings.node_name.as_str()),
                    node_name: ep.node_name.clone(),
                    zone_hints,
                    node_hints,
                    target: ep.target_ref.clone(),
                    slice: slice.name.clone(),
                });
            }
        }
    }
    for list in by_port.values_mut() {
        merge_duplicates(list);
    }
    by_port
}

/// Sorts endpoints (gathered in slice order) by endpoint string and keeps one per `ip:port`:
/// a later duplicate replaces an earlier one unless it is terminating.
fn merge_duplicates(list: &mut Vec<ProxyEndpoint>) {
    // Stable: duplicates stay in the order they were gathered.
    list.sort_by_cached_key(|e| EndpointKey::new(e.ip, e.port));
    let mut out: Vec<ProxyEndpoint> = Vec::with_capacity(list.len());
    for e in list.drain(..) {
        match out.last_mut() {
            Some(last) if last.ip == e.ip && last.port == e.port => {
                if !e.terminating {
                    *last = e;
                }
            }
            _ => out.push(e),
        }
    }
    *list = out;
}

/// The endpoint string (`ip:port`, `[ip6]:port`) as a fixed-size, zero-padded byte array:
/// it orders exactly as the string does, without allocating one string per endpoint.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct EndpointKey([u8; 48]);

impl EndpointKey {
    fn new(ip: IpAddr, port: u16) -> EndpointKey {
        struct Buf {
            bytes: [u8; 48],
            len: usize,
        }
        impl fmt::Write for Buf {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                let end = self.len + s.len();
                let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
                Ok(())
            }
        }
        let mut buf = Buf { bytes: [0; 48], len: 0 };
        // The longest form, `[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535`, has 47 bytes.
        let _ = match ip {
            IpAddr::V4(a) => fmt::Write::write_fmt(&mut buf, format_args!("{a}:{port}")),
            IpAddr::V6(a) => fmt::Write::write_fmt(&mut buf, format_args!("[{a}]:{port}")),
        };
        EndpointKey(buf.bytes)
    }
}
