//! The EndpointSlice controller (and its mirroring sibling): the slices kube-proxy reads,
//! made from Services and pods the way `kube-controller-manager` makes them.
//!
//! For each Service with a selector (not ExternalName) and no slices in the input, per
//! address type of the Service (its `ipFamilies`, else its ClusterIP's family, else both):
//! - the pods of the Service's namespace whose labels match the selector, that are not
//!   terminal (`Succeeded`/`Failed`), have an IP of the family and run on an existing node;
//! - one endpoint per pod: its IP, `nodeName`, the node's `topology.kubernetes.io/zone`,
//!   `targetRef` to the pod, `hostname` when the pod's `subdomain` is the Service, and the
//!   conditions `serving` = pod Ready, `terminating` = pod has a `deletionTimestamp`,
//!   `ready` = serving and not terminating (always true with `publishNotReadyAddresses`);
//! - ports resolved per pod (a named `targetPort` from the pod's container ports of the same
//!   protocol; a pod lacking the name gets no such port), pods grouped by their port set, one
//!   slice series per set, at most [`MAX_ENDPOINTS_PER_SLICE`] endpoints per slice;
//! - a placeholder slice without ports and endpoints when no pod qualifies;
//! - labels: the Service's own, `kubernetes.io/service-name`, the controller's
//!   `endpointslice.kubernetes.io/managed-by`, and `service.kubernetes.io/headless` for
//!   Services without a ClusterIP; names `<service>-<5 chars>`;
//! - zone (and node) hints when `trafficDistribution` asks for them.
//!
//! Slices the input already holds for a Service (written by hand, or pasted from a live
//! cluster) replace the controller for that Service. Legacy `v1/Endpoints` are converted by
//! [`mirroring`]. Diagnostics about selectors are [`checks`]'s. Rendering is [`table`]'s.

pub(crate) mod checks;
pub(crate) mod mirroring;
pub mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::names::unique_generated_name;
use crate::model::{
    AddressType, Cluster, ClusterIp, ENDPOINTSLICE_CONTROLLER, Endpoint, EndpointConditions,
    EndpointHints, EndpointPort, EndpointSlice, IpFamily, MANAGED_BY_LABEL, NamespacedName, Pod,
    Protocol, SERVICE_NAME_LABEL, Service, ServiceType, SliceOrigin, TargetPort, TargetRef,
};

/// `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// The label the controller puts on slices of Services without a ClusterIP.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// The address types the controller makes slices for (`getAddressTypesForService`).
pub fn address_types(service: &Service) -> Vec<AddressType> {
    let of = |f: IpFamily| match f {
        IpFamily::V4 => AddressType::IPv4,
        IpFamily::V6 => AddressType::IPv6,
    };
    if !service.ip_families.value.is_empty() {
        let mut out: Vec<AddressType> = Vec::new();
        for f in &service.ip_families.value {
            if !out.contains(&of(*f)) {
                out.push(of(*f));
            }
        }
        return out;
    }
    match service.cluster_ip.value.primary() {
        Some(ip) => vec![of(IpFamily::of(ip))],
        None => vec![AddressType::IPv4, AddressType::IPv6],
    }
}

/// True when a Service has slices the input gave (or mirrored, or built in).
pub fn has_given_slices(cluster: &Cluster, key: &NamespacedName) -> bool {
    cluster.slices_of(key).any(|s| s.origin != SliceOrigin::Controller)
}

/// The pods of one namespace, in name order (a range of the sorted pod map).
pub fn pods_in_namespace<'a>(
    cluster: &'a Cluster,
    namespace: &str,
) -> impl Iterator<Item = &'a Pod> + use<'a> {
    let namespace = namespace.to_owned();
    cluster
        .pods
        .range(NamespacedName::new(namespace.clone(), "")..)
        .take_while(move |(k, _)| k.namespace == namespace)
        .map(|(_, p)| p)
}

/// True when the pod belongs in a Service's endpoints at all (`ShouldPodBeInEndpoints`, and
/// the controller's skip of pods whose node does not exist).
pub fn pod_is_endpoint_candidate(cluster: &Cluster, pod: &Pod) -> bool {
    !matches!(pod.phase.value.as_str(), "Succeeded" | "Failed")
        && !pod.pod_ips.value.is_empty()
        && cluster.node(&pod.node_name.value).is_some()
}

/// The ports of `service` on `pod` (`getEndpointPorts`): a named `targetPort` is looked up in
/// the pod's container ports; ports the pod does not expose are left out.
pub fn endpoint_ports(service: &Service, pod: &Pod) -> Vec<EndpointPort> {
    service
        .ports
        .iter()
        .filter_map(|p| {
            let number = match &p.target_port.value {
                TargetPort::Number(n) => Some(*n),
                TargetPort::Name(name) => pod.find_named_port(name, p.protocol.value),
            }?;
            Some(EndpointPort {
                name: Some(p.name.clone()),
                port: Some(number),
                protocol: p.protocol.value,
                app_protocol: p.app_protocol.clone(),
            })
        })
        .collect()
}

type PortKey = Vec<(String, u16, Protocol, Option<String>)>;

fn port_key(ports: &[EndpointPort]) -> PortKey {
    ports
        .iter()
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                p.port.unwrap_or(0),
                p.protocol,
                p.app_protocol.clone(),
            )
        })
        .collect()
}

fn pod_endpoint(
    cluster: &Cluster,
    service: &Service,
    pod: &Pod,
    addresses: Vec<IpAddr>,
) -> Endpoint {
    let serving = pod.ready.value;
    let terminating = pod.terminating;
    let ready = service.publish_not_ready_addresses || (serving && !terminating);
    let zone = cluster.node(&pod.node_name.value).and_then(|n| n.zone()).filter(|z| !z.is_empty());
    let hostname =
        pod.hostname.clone().filter(|_| pod.subdomain.as_deref() == Some(service.name.as_str()));
    Endpoint {
        addresses,
        conditions: EndpointConditions::known(ready, serving, terminating),
        node_name: Some(pod.node_name.value.clone()),
        zone: zone.map(str::to_owned),
        hints: EndpointHints::default(),
        target_ref: Some(TargetRef {
            kind: "Pod".to_owned(),
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
        }),
        hostname,
    }
}

/// Zone (and node) hints as the `trafficdist` heuristics write them: every ready endpoint
/// with a zone is hinted to its own zone (and, for `PreferSameNode`, its own node).
fn add_hints(service: &Service, endpoints: &mut [Endpoint]) {
    let (zones, nodes) = match service.traffic_distribution.as_deref() {
        Some("PreferClose" | "PreferSameZone") => (true, false),
        Some("PreferSameNode") => (true, true),
        _ => return,
    };
    for e in endpoints.iter_mut().filter(|e| e.conditions.is_ready()) {
        e.hints = EndpointHints {
            for_zones: e.zone.clone().filter(|_| zones).map(|z| vec![z]),
            for_nodes: e.node_name.clone().filter(|_| nodes).map(|n| vec![n]),
        };
    }
}

fn slice_labels(service: &Service) -> BTreeMap<String, String> {
    // The Service's labels, with the controller's own replacing any given.
    let mut labels: BTreeMap<String, String> = service.labels.clone();
    if !matches!(service.cluster_ip.value, ClusterIp::Ips(_)) {
        labels.insert(HEADLESS_LABEL.to_owned(), String::new());
    }
    labels.insert(SERVICE_NAME_LABEL.to_owned(), service.name.clone());
    labels.insert(MANAGED_BY_LABEL.to_owned(), ENDPOINTSLICE_CONTROLLER.to_owned());
    labels
}

/// The slices the controller makes for one Service; names avoid those in `taken` (the
/// Service's namespace), which is extended.
pub fn slices_for_service(
    cluster: &Cluster,
    service: &Service,
    taken: &mut BTreeSet<String>,
) -> Vec<EndpointSlice> {
    let Some(selector) = &service.selector else { return Vec::new() };
    if service.service_type.value == ServiceType::ExternalName {
        return Vec::new();
    }
    let pods: Vec<&Pod> = pods_in_namespace(cluster, &service.namespace)
        .filter(|p| p.matches(selector))
        .filter(|p| pod_is_endpoint_candidate(cluster, p))
        .collect();
    let labels = slice_labels(service);
    let mut out = Vec::new();
    for address_type in address_types(service) {
        let family = match address_type {
            AddressType::IPv6 => IpFamily::V6,
            _ => IpFamily::V4,
        };
        let mut groups: BTreeMap<PortKey, (Vec<EndpointPort>, Vec<Endpoint>)> = BTreeMap::new();
        for pod in &pods {
            let addresses: Vec<IpAddr> = pod
                .pod_ips
                .value
                .iter()
                .copied()
                .filter(|ip| IpFamily::of(*ip) == family)
                .collect();
            if addresses.is_empty() {
                continue;
            }
            let ports = endpoint_ports(service, pod);
            let entry = groups.entry(port_key(&ports)).or_insert_with(|| (ports, Vec::new()));
            entry.1.push(pod_endpoint(cluster, service, pod, addresses));
        }
        if groups.is_empty() {
            groups.insert(Vec::new(), (Vec::new(), Vec::new()));
        }
        for (group, (key, (ports, mut endpoints))) in groups.into_iter().enumerate() {
            add_hints(service, &mut endpoints);
            let chunks: Vec<Vec<Endpoint>> = if endpoints.is_empty() {
                vec![Vec::new()]
            } else {
                endpoints.chunks(MAX_ENDPOINTS_PER_SLICE).map(<[Endpoint]>::to_vec).collect()
            };
            for (chunk_index, chunk) in chunks.into_iter().enumerate() {
                let seed = format!(
                    "{}/{}/{:?}/{group}:{key:?}/{chunk_index}",
                    service.namespace, service.name, address_type
                );
                let name = unique_generated_name(&format!("{}-", service.name), &seed, taken);
                out.push(EndpointSlice {
                    namespace: service.namespace.clone(),
                    name,
                    labels: labels.clone(),
                    service_name: Some(service.name.clone()),
                    address_type,
                    endpoints: chunk,
                    ports: ports.clone(),
                    origin: SliceOrigin::Controller,
                    span: service.span,
                });
            }
        }
    }
    out
}

/// Runs the controller over the cluster: the slices of every selector Service that has no
/// slices in the input.
pub fn reconcile(cluster: &Cluster) -> Vec<EndpointSlice> {
    let mut taken: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for key in cluster.endpoint_slices.keys() {
        taken.entry(key.namespace.clone()).or_default().insert(key.name.clone());
    }
    let mut given: BTreeSet<NamespacedName> = BTreeSet::new();
    given.extend(
        cluster
            .endpoint_slices
            .values()
            .filter(|s| s.origin != SliceOrigin::Controller)
            .filter_map(|s| s.service_name.as_ref().map(|n| NamespacedName::new(&s.namespace, n))),
    );
    let mut out = Vec::new();
    for (key, service) in &cluster.services {
        if given.contains(key) {
            continue;
        }
        let names = taken.entry(key.namespace.clone()).or_default();
        out.extend(slices_for_service(cluster, service, names));
    }
    out
}
