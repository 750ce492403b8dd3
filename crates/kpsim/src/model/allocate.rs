//! The API server's and controller manager's allocators, made deterministic: the cluster's
//! service and pod CIDRs, node pod CIDRs, ClusterIPs, NodePorts and health-check NodePorts.
//!
//! Only used in cluster admission. Every choice depends on the *set* of objects, never on
//! their order in the input:
//! - **CIDRs.** The service CIDR is minikube's 10.96.0.0/12 unless a given ClusterIP lies
//!   outside it; then it is the smallest prefix, at most /16 long (/112 for IPv6), covering
//!   every given ClusterIP of the family (`10.43.0.0/16` for k3s output, `172.30.0.0/16` for
//!   the reference cases). The cluster pod CIDR is likewise the smallest prefix, at most /16
//!   (/64), covering the given nodes' pod CIDRs (minikube's three /24s give 10.244.0.0/16), or
//!   the given pod IPs when no node has one, or minikube's 10.244.0.0/16.
//! - **Node pod CIDRs.** Nodes without one get the next free /24 (/80 for IPv6) of the cluster
//!   pod CIDR, in node-name order, as the node IPAM controller hands them out.
//! - **ClusterIPs.** Like the real allocator, which picks at random from the upper part of the
//!   range (the lower "static" band of `min(max(16, size/16), 256)` addresses is left for
//!   users who choose their own): the start is a hash of `namespace/name` into the upper
//!   band, probing upwards on collision; Services are allocated in `namespace/name` order after
//!   every given address is reserved.
//! - **NodePorts** (30000-32767) and `healthCheckNodePort`s the same way, from one shared pool.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::build::service::ServiceRequest;
use super::builtin::{DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR};
use super::{
    Cidr, ClusterIp, IpFamily, Marked, NamespacedName, Node, Service, ServiceType, TrafficPolicy,
};
use crate::diagnostic::{Diagnostic, DiagnosticKind, ObjectRef};

/// The default `--service-node-port-range`.
pub const NODE_PORT_RANGE: (u16, u16) = (30000, 32767);

fn hash(seed: &str) -> u128 {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(bytes)
}

/// The smallest prefix covering every address, no longer than `max_len`.
fn covering(addrs: &[(IpAddr, u8)], max_len: u8) -> Option<Cidr> {
    let (first, first_len) = *addrs.first()?;
    let bits = |ip: IpAddr| -> u128 {
        match ip {
            IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
            IpAddr::V6(a) => u128::from(a),
        }
    };
    let mut len = max_len.min(first_len);
    for (ip, l) in addrs {
        let common = (bits(first) ^ bits(*ip)).leading_zeros().min(128) as u8;
        len = len.min(common).min(*l);
    }
    Cidr::new(first, len)
}

fn host_len(family: IpFamily) -> u8 {
    match family {
        IpFamily::V4 => 32,
        IpFamily::V6 => 128,
    }
}

/// The service CIDRs: the default, or derived from the given ClusterIPs (see the module
/// docs). Returns an explanation when derived.
pub fn service_cidrs(given: &[IpAddr]) -> (Vec<Cidr>, Option<Diagnostic>) {
    let default = Cidr::parse_strict(DEFAULT_SERVICE_CIDR);
    let of = |f: IpFamily| -> Vec<(IpAddr, u8)> {
        given.iter().filter(|ip| IpFamily::of(**ip) == f).map(|ip| (*ip, host_len(f))).collect()
    };
    let (v4, v6) = (of(IpFamily::V4), of(IpFamily::V6));
    let mut out = Vec::new();
    let mut derived = Vec::new();
    if !v4.is_empty() || v6.is_empty() {
        match default {
            Some(d) if v4.iter().all(|(ip, _)| d.contains(*ip)) => out.push(d),
            _ => {
                if let Some(c) = covering(&v4, 16) {
                    derived.push(c);
                    out.push(c);
                }
            }
        }
    }
    if let Some(c) = covering(&v6, 112) {
        derived.push(c);
        out.push(c);
    }
    let note = (!derived.is_empty()).then(|| {
        let list: Vec<String> = derived.iter().map(Cidr::to_string).collect();
        Diagnostic::info(
            DiagnosticKind::Explanation,
            format!(
                "service CIDR {} derived from the given ClusterIPs (they are outside minikube's {DEFAULT_SERVICE_CIDR})",
                list.join(", ")
            ),
        )
        .hint("ClusterIPs allocated for Services without one come from this range")
    });
    (out, note)
}

/// The cluster pod CIDRs: covering the nodes' pod CIDRs, else the given pod IPs, else the
/// default (see the module docs).
pub fn pod_cidrs(nodes: &[Node], pod_ips: &[IpAddr]) -> Vec<Cidr> {
    let mut out = Vec::new();
    for (family, max_len) in [(IpFamily::V4, 16u8), (IpFamily::V6, 64u8)] {
        let from_nodes: Vec<(IpAddr, u8)> = nodes
            .iter()
            .filter_map(|n| n.pod_cidr(family))
            .map(|c| (c.network(), c.prefix_len()))
            .collect();
        let from_pods: Vec<(IpAddr, u8)> = pod_ips
            .iter()
            .filter(|ip| IpFamily::of(**ip) == family)
            .map(|ip| (*ip, host_len(family)))
            .collect();
        let source = if from_nodes.is_empty() { from_pods } else { from_nodes };
        if let Some(c) = covering(&source, max_len) {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.extend(Cidr::parse_strict(DEFAULT_POD_CIDR));
    }
    out
}

/// Gives nodes without a pod CIDR of the primary pod family the next free /24 (/80) of the
/// cluster pod CIDR, in node-name order.
pub fn node_pod_cidrs(nodes: &mut [Node], cluster: &[Cidr], out: &mut Vec<Diagnostic>) {
    let Some(primary) = cluster.first().copied() else { return };
    let family = primary.family();
    let size_len = match family {
        IpFamily::V4 => 24u8,
        IpFamily::V6 => 80u8,
    }
    .max(primary.prefix_len());
    let mut used: BTreeSet<Cidr> = BTreeSet::new();
    used.extend(nodes.iter().filter_map(|n| n.pod_cidr(family)));
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by(|a, b| nodes[*a].name.cmp(&nodes[*b].name));
    let step_bits = u32::from(host_len(family) - size_len);
    let count = 1u128 << u32::from(size_len - primary.prefix_len()).min(32);
    for i in order {
        if nodes[i].pod_cidr(family).is_some() {
            continue;
        }
        let mut chosen = None;
        for k in 0..count {
            let Some(offset) = k.checked_shl(step_bits) else { break };
            let Some(candidate) = primary.nth(offset).and_then(|a| Cidr::new(a, size_len)) else {
                break;
            };
            if !used.iter().any(|u| u.contains_cidr(&candidate) || candidate.contains_cidr(u)) {
                chosen = Some(candidate);
                break;
            }
        }
        match chosen {
            Some(c) => {
                used.insert(c);
                let node = &mut nodes[i];
                let mut cidrs = node.pod_cidrs.value.clone();
                cidrs.insert(0, c);
                node.pod_cidrs = Marked::allocated(cidrs);
            }
            None => out.push(
                Diagnostic::error(
                    DiagnosticKind::AllocationExhausted,
                    format!("no free /{size_len} left in the pod CIDR {primary} for this node"),
                )
                .on(ObjectRef::new("Node", "", &nodes[i].name))
                .field("spec.podCIDR")
                .hint("give the node a spec.podCIDR, or use fewer nodes"),
            ),
        }
    }
}

/// `calculateRangeOffset`: the size of the lower, "static" band of a range.
fn static_band(size: u128) -> u128 {
    if size < 16 { 0 } else { (size / 16).clamp(16, 256) }
}

/// Picks a free offset in `0..size`: hashed into the upper band, then the lower band,
/// probing upwards.
fn pick(size: u128, seed: &str, free: impl Fn(u128) -> bool) -> Option<u128> {
    let band = static_band(size).min(size);
    let h = hash(seed);
    for (lo, hi) in [(band, size), (0, band)] {
        let len = hi - lo;
        if len == 0 {
            continue;
        }
        let start = h % len;
        // Probing visits each offset once; ranges are bounded by the callers.
        for k in 0..len {
            let off = lo + (start + k) % len;
            if free(off) {
                return Some(off);
            }
        }
    }
    None
}

/// Allocates ClusterIPs (and defaults `ipFamilies`) for Services that have none; warns about
/// given ClusterIPs an API server would reject (outside the range, already in use).
pub(crate) fn cluster_ips(
    services: &mut BTreeMap<NamespacedName, Service>,
    requests: &BTreeMap<NamespacedName, ServiceRequest>,
    cidrs: &[Cidr],
    out: &mut Vec<Diagnostic>,
) {
    let mut used: BTreeMap<IpAddr, NamespacedName> = BTreeMap::new();
    for (key, svc) in services.iter() {
        let ClusterIp::Ips(ips) = &svc.cluster_ip.value else { continue };
        for (i, ip) in ips.iter().enumerate() {
            let field = if ips.len() > 1 {
                format!("spec.clusterIPs[{i}]")
            } else {
                "spec.clusterIP".to_owned()
            };
            if let Some(owner) = used.get(ip) {
                out.push(
                    Diagnostic::warning(
                        DiagnosticKind::InvalidValue,
                        format!("ClusterIP {ip} is already used by Service {owner}; an API server rejects it"),
                    )
                    .on(ObjectRef::new("Service", &key.namespace, &key.name))
                    .field(field)
                    .hint("give each Service its own ClusterIP, or leave clusterIP out"),
                );
                continue;
            }
            if !cidrs.iter().any(|c| c.contains(*ip)) {
                out.push(
                    Diagnostic::warning(
                        DiagnosticKind::InvalidAddress,
                        format!("ClusterIP {ip} is outside the service CIDR"),
                    )
                    .on(ObjectRef::new("Service", &key.namespace, &key.name))
                    .field(field.clone())
                    .hint("leave clusterIP out to have one allocated"),
                );
            }
            used.insert(*ip, key.clone());
        }
    }
    let cluster_families: Vec<IpFamily> = {
        let mut f: Vec<IpFamily> = Vec::new();
        for c in cidrs {
            if !f.contains(&c.family()) {
                f.push(c.family());
            }
        }
        f
    };
    let keys: Vec<NamespacedName> = services.keys().cloned().collect();
    for key in keys {
        let Some(svc) = services.get_mut(&key) else { continue };
        if svc.service_type.value == ServiceType::ExternalName {
            continue;
        }
        let obj = ObjectRef::new("Service", &key.namespace, &key.name);
        let policy = requests.get(&key).and_then(|r| r.ip_family_policy.as_deref());
        let dual = matches!(policy, Some("PreferDualStack" | "RequireDualStack"));
        let wanted: Vec<IpFamily> = if svc.ip_families.origin == super::Origin::Given {
            svc.ip_families.value.clone()
        } else if dual {
            cluster_families.clone()
        } else {
            cluster_families.first().copied().into_iter().collect()
        };
        if policy == Some("RequireDualStack") && cluster_families.len() < 2 {
            out.push(
                Diagnostic::warning(
                    DiagnosticKind::InvalidValue,
                    "RequireDualStack on a single-stack cluster; an API server rejects it",
                )
                .on(obj.clone())
                .field("spec.ipFamilyPolicy")
                .hint("use SingleStack or PreferDualStack"),
            );
        }
        match &svc.cluster_ip.value {
            ClusterIp::Ips(_) => continue,
            ClusterIp::Headless => {
                if svc.ip_families.value.is_empty() {
                    svc.ip_families = Marked::defaulted(wanted);
                }
                continue;
            }
            ClusterIp::Unset => {}
        }
        let mut ips = Vec::new();
        for family in &wanted {
            let Some(cidr) = cidrs.iter().find(|c| c.family() == *family) else {
                out.push(
                    Diagnostic::warning(
                        DiagnosticKind::InvalidValue,
                        format!("the cluster has no {family} service CIDR"),
                    )
                    .on(obj.clone())
                    .field("spec.ipFamilies")
                    .hint("ask for the cluster's family, or give the ClusterIP"),
                );
                continue;
            };
            // Usable offsets: skip the network address (and the IPv4 broadcast address).
            let reserved_top = u128::from(*family == IpFamily::V4);
            let size = cidr.size().saturating_sub(1 + reserved_top).min(1 << 20);
            let seed = format!("{}/{}", key.namespace, key.name);
            let picked = pick(size, &seed, |off| {
                cidr.nth(off + 1).is_some_and(|ip| !used.contains_key(&ip))
            })
            .and_then(|off| cidr.nth(off + 1));
            match picked {
                Some(ip) => {
                    used.insert(ip, key.clone());
                    ips.push(ip);
                }
                None => out.push(
                    Diagnostic::error(
                        DiagnosticKind::AllocationExhausted,
                        format!("no free ClusterIP left in {cidr}"),
                    )
                    .on(obj.clone())
                    .field("spec.clusterIP")
                    .hint("delete Services or give this one a ClusterIP"),
                ),
            }
        }
        if svc.ip_families.origin != super::Origin::Given {
            svc.ip_families = Marked::defaulted(ips.iter().map(|ip| IpFamily::of(*ip)).collect());
        }
        if !ips.is_empty() {
            svc.cluster_ip = Marked::allocated(ClusterIp::Ips(ips));
        }
    }
}

/// Allocates NodePorts for NodePort/LoadBalancer Service ports without one, and
/// `healthCheckNodePort` for LoadBalancer Services with `externalTrafficPolicy: Local`;
/// warns about given ports an API server would reject.
pub(crate) fn node_ports(
    services: &mut BTreeMap<NamespacedName, Service>,
    requests: &BTreeMap<NamespacedName, ServiceRequest>,
    out: &mut Vec<Diagnostic>,
) {
    let (lo, hi) = NODE_PORT_RANGE;
    let mut used: BTreeMap<u16, NamespacedName> = BTreeMap::new();
    let mut reserve = |key: &NamespacedName,
                       port: u16,
                       field: String,
                       out: &mut Vec<Diagnostic>| {
        let obj = ObjectRef::new("Service", &key.namespace, &key.name);
        if !(lo..=hi).contains(&port) {
            out.push(
                Diagnostic::warning(
                    DiagnosticKind::InvalidValue,
                    format!("NodePort {port} is outside {lo}-{hi}; an API server rejects it"),
                )
                .on(obj.clone())
                .field(field.clone())
                .hint(format!("use a port in {lo}-{hi}, or leave it out to have one allocated")),
            );
        }
        match used.get(&port) {
            Some(owner) if owner != key => out.push(
                Diagnostic::warning(
                    DiagnosticKind::InvalidValue,
                    format!("NodePort {port} is already used by Service {owner}; an API server rejects it"),
                )
                .on(obj)
                .field(field)
                .hint("give each Service its own NodePort, or leave it out"),
            ),
            _ => {
                used.insert(port, key.clone());
            }
        }
    };
    for (key, svc) in services.iter() {
        for (i, p) in svc.ports.iter().enumerate() {
            if let Some(np) = p.node_port {
                reserve(key, np.value, format!("spec.ports[{i}].nodePort"), out);
            }
        }
        if let Some(hc) = svc.health_check_node_port {
            reserve(key, hc.value, "spec.healthCheckNodePort".to_owned(), out);
        }
    }
    let size = u128::from(hi - lo) + 1;
    let keys: Vec<NamespacedName> = services.keys().cloned().collect();
    for key in keys {
        let Some(svc) = services.get_mut(&key) else { continue };
        let allocate_lb = requests.get(&key).is_none_or(|r| r.allocate_load_balancer_node_ports);
        let wants_ports = match svc.service_type.value {
            ServiceType::NodePort => true,
            ServiceType::LoadBalancer => allocate_lb,
            _ => false,
        };
        let mut alloc = |seed: String, field: String, out: &mut Vec<Diagnostic>| -> Option<u16> {
            let picked = pick(size, &seed, |off| !used.contains_key(&(lo + off as u16)));
            match picked {
                Some(off) => {
                    let port = lo + off as u16;
                    used.insert(port, key.clone());
                    Some(port)
                }
                None => {
                    out.push(
                        Diagnostic::error(
                            DiagnosticKind::AllocationExhausted,
                            format!("no free NodePort left in {lo}-{hi}"),
                        )
                        .on(ObjectRef::new("Service", &key.namespace, &key.name))
                        .field(field)
                        .hint("delete NodePort Services or use type ClusterIP"),
                    );
                    None
                }
            }
        };
        if wants_ports {
            for i in 0..svc.ports.len() {
                if svc.ports[i].node_port.is_some() {
                    continue;
                }
                // Ports with the same number (TCP and UDP 53) share one NodePort.
                let number = svc.ports[i].port;
                let shared =
                    svc.ports.iter().filter(|p| p.port == number).find_map(|p| p.node_port);
                let np = match shared {
                    Some(np) => Some(np.value),
                    None => {
                        let p = &svc.ports[i];
                        let seed = format!("{}/{}/{}/{}", key.namespace, key.name, p.name, p.port);
                        alloc(seed, format!("spec.ports[{i}]"), out)
                    }
                };
                svc.ports[i].node_port = np.map(Marked::allocated);
            }
        }
        if svc.service_type.value == ServiceType::LoadBalancer
            && svc.external_traffic_policy.value == TrafficPolicy::Local
            && svc.health_check_node_port.is_none()
        {
            let seed = format!("{}/{}/healthCheckNodePort", key.namespace, key.name);
            svc.health_check_node_port = alloc(seed, "spec".to_owned(), out).map(Marked::allocated);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn service_cidr_is_minikubes_unless_given_ips_say_otherwise() {
        let (c, note) = service_cidrs(&[ip("10.96.0.1"), ip("10.100.7.9")]);
        assert_eq!(c[0].to_string(), "10.96.0.0/12");
        assert!(note.is_none());
        let (c, note) = service_cidrs(&[ip("172.30.0.41"), ip("172.30.0.42")]);
        assert_eq!(c[0].to_string(), "172.30.0.0/16");
        assert!(note.is_some());
        let (c, _) = service_cidrs(&[ip("fd00:10:96::1")]);
        assert_eq!(c.iter().map(Cidr::to_string).collect::<Vec<_>>(), ["fd00:10:96::/112"]);
    }

    #[test]
    fn pod_cidr_covers_the_nodes_cidrs() {
        let nodes = super::super::builtin::default_nodes();
        assert_eq!(pod_cidrs(&nodes, &[])[0].to_string(), "10.244.0.0/16");
        assert_eq!(
            pod_cidrs(&[], &[ip("10.42.1.7"), ip("10.42.2.9")])[0].to_string(),
            "10.42.0.0/16"
        );
        assert_eq!(pod_cidrs(&[], &[])[0].to_string(), DEFAULT_POD_CIDR);
    }

    #[test]
    fn picks_prefer_the_upper_band_and_probe_on_collision() {
        let size = 1u128 << 20;
        let first = pick(size, "default/web", |_| true).unwrap();
        assert!(first >= 256);
        let second = pick(size, "default/web", |off| off != first).unwrap();
        assert_eq!(second, if first + 1 == size { 256 } else { first + 1 });
        assert_eq!(pick(4, "x", |_| false), None);
    }
}
