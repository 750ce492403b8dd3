//! What a fresh cluster holds before the user adds anything, modelled on the walkthrough's
//! 3-node minikube: its nodes, the four system namespaces, the `default/kubernetes` Service
//! with the API server's EndpointSlice, and `kube-system/kube-dns` with its CoreDNS pod.
//!
//! Only used in cluster admission, and each piece only when the input does not define it
//! (deciding that is [`super::build`]'s job). Every value here is marked defaulted or
//! allocated, and every object has no source document.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::build::pod::{PodRequest, builtin_pod};
use super::names::{fnv32a, generate_name, template_hash};
use super::{
    AddressType, Cidr, ClusterIp, ClusterIpFields, ContainerPort, Endpoint, EndpointConditions,
    EndpointPort, EndpointSlice, IpFamily, Marked, Node, Origin, Pod, PodOwner, Protocol,
    SERVICE_NAME_LABEL, Service, ServicePort, ServiceType, SessionAffinity, SliceOrigin,
    SourceSpan, TargetPort, TrafficPolicy,
};
use crate::model::node::{CONTROL_PLANE_LABEL, HOSTNAME_LABEL};

/// Namespaces every cluster has.
pub const NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

/// The cluster pod CIDR (`--cluster-cidr`) of minikube.
pub const DEFAULT_POD_CIDR: &str = "10.244.0.0/16";

/// The service CIDR (`--service-cluster-ip-range`) of minikube and kubeadm.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";

/// The port minikube's API server listens on.
pub const API_SERVER_PORT: u16 = 8443;

/// The walkthrough's nodes: `minikube` (control plane), `minikube-m02`, `minikube-m03` on
/// 192.168.49.2-4 with pod CIDRs 10.244.0-2.0/24 — `examples/minikube-3-nodes.yaml`.
pub fn default_nodes() -> Vec<Node> {
    ["minikube", "minikube-m02", "minikube-m03"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let i = i as u8;
            let mut labels = BTreeMap::from([(HOSTNAME_LABEL.to_owned(), (*name).to_owned())]);
            if i == 0 {
                labels.insert(CONTROL_PLANE_LABEL.to_owned(), String::new());
            }
            let cidr = Cidr::new(IpAddr::V4(Ipv4Addr::new(10, 244, i, 0)), 24);
            Node {
                name: (*name).to_owned(),
                labels,
                internal_ips: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 49, 2 + i))],
                pod_cidrs: Marked::defaulted(cidr.into_iter().collect()),
                unschedulable: false,
                taints: Vec::new(),
                origin: Origin::Defaulted,
                span: SourceSpan::default(),
            }
        })
        .collect()
}

/// The node the control plane (API server, CoreDNS) runs on: the first node labelled
/// control-plane, else the first node by name.
pub fn control_plane(nodes: &[Node]) -> Option<&Node> {
    nodes.iter().find(|n| n.is_control_plane()).or(nodes.first())
}

fn port(name: &str, protocol: Protocol, port: u16, target: u16) -> ServicePort {
    ServicePort {
        name: name.to_owned(),
        protocol: Marked::defaulted(protocol),
        port,
        target_port: Marked::defaulted(TargetPort::Number(target)),
        node_port: None,
        app_protocol: None,
    }
}

fn service(
    namespace: &str,
    name: &str,
    labels: &[(&str, &str)],
    cluster_ip: Marked<ClusterIp>,
) -> Service {
    let family = match &cluster_ip.value {
        ClusterIp::Ips(ips) => ips.iter().map(|ip| IpFamily::of(*ip)).collect(),
        _ => Vec::new(),
    };
    let mut owned_labels = BTreeMap::new();
    for (k, v) in labels {
        owned_labels.insert((*k).to_owned(), (*v).to_owned());
    }
    Service {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        labels: owned_labels,
        service_type: Marked::defaulted(ServiceType::ClusterIP),
        cluster_ip,
        cluster_ip_fields: ClusterIpFields { cluster_ip: true, cluster_ips: true },
        ip_families: Marked::defaulted(family),
        selector: None,
        ports: Vec::new(),
        external_ips: Vec::new(),
        load_balancer_ingress: Vec::new(),
        load_balancer_source_ranges: Vec::new(),
        external_traffic_policy: Marked::defaulted(TrafficPolicy::Cluster),
        internal_traffic_policy: Marked::defaulted(TrafficPolicy::Cluster),
        health_check_node_port: None,
        session_affinity: Marked::defaulted(SessionAffinity::None),
        publish_not_ready_addresses: false,
        external_name: None,
        traffic_distribution: None,
        span: SourceSpan::default(),
    }
}

/// `default/kubernetes`: the first address of the service CIDR, port `https` 443 → the API
/// server's port.
pub fn kubernetes_service(service_cidr: Cidr) -> Option<Service> {
    let ip = service_cidr.nth(1)?;
    let mut s = service(
        "default",
        "kubernetes",
        &[("component", "apiserver"), ("provider", "kubernetes")],
        Marked::allocated(ClusterIp::Ips(vec![ip])),
    );
    s.ports = vec![port("https", Protocol::Tcp, 443, API_SERVER_PORT)];
    Some(s)
}

/// `kube-system/kube-dns`: the tenth address of the service CIDR (kubeadm's choice), DNS over
/// UDP and TCP and CoreDNS metrics, selecting `k8s-app: kube-dns`.
pub fn kube_dns_service(service_cidr: Cidr) -> Option<Service> {
    let ip = service_cidr.nth(10)?;
    let mut s = service(
        "kube-system",
        "kube-dns",
        &[
            ("k8s-app", "kube-dns"),
            ("kubernetes.io/cluster-service", "true"),
            ("kubernetes.io/name", "CoreDNS"),
        ],
        Marked::defaulted(ClusterIp::Ips(vec![ip])),
    );
    s.selector = Some(BTreeMap::from([("k8s-app".to_owned(), "kube-dns".to_owned())]));
    s.ports = vec![
        port("dns", Protocol::Udp, 53, 53),
        port("dns-tcp", Protocol::Tcp, 53, 53),
        port("metrics", Protocol::Tcp, 9153, 9153),
    ];
    Some(s)
}

/// The one CoreDNS pod minikube runs, `kube-system/coredns-<hash>-<suffix>`, on the control
/// plane node. Its IP is allocated with the other pods.
pub(crate) fn coredns_pod(control_plane: &str) -> PodRequest {
    let hash = template_hash(fnv32a(b"kube-system/coredns"));
    let replica_set = format!("coredns-{hash}");
    let name = generate_name(&format!("{replica_set}-"), "kube-system/coredns/0");
    let container_port = |name: &str, port: u16, protocol: Protocol| ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol,
    };
    builtin_pod(Pod {
        namespace: "kube-system".to_owned(),
        name,
        labels: BTreeMap::from([
            ("k8s-app".to_owned(), "kube-dns".to_owned()),
            ("pod-template-hash".to_owned(), hash),
        ]),
        node_name: Marked::allocated(control_plane.to_owned()),
        pod_ips: Marked::allocated(Vec::new()),
        host_ip: None,
        host_network: false,
        ready: Marked::defaulted(true),
        terminating: false,
        phase: Marked::defaulted("Running".to_owned()),
        container_ports: vec![
            container_port("dns", 53, Protocol::Udp),
            container_port("dns-tcp", 53, Protocol::Tcp),
            container_port("metrics", 9153, Protocol::Tcp),
        ],
        hostname: None,
        subdomain: None,
        owner: Some(PodOwner { kind: "ReplicaSet".to_owned(), name: replica_set }),
        span: SourceSpan::default(),
    })
}

/// The API server's own slice for `default/kubernetes`: one endpoint per control-plane
/// address, with only `ready` set (as the API server's endpoint reconciler writes it).
pub fn kubernetes_slice(api_server: IpAddr, port: u16) -> EndpointSlice {
    let address_type = match IpFamily::of(api_server) {
        IpFamily::V4 => AddressType::IPv4,
        IpFamily::V6 => AddressType::IPv6,
    };
    EndpointSlice {
        namespace: "default".to_owned(),
        name: "kubernetes".to_owned(),
        labels: BTreeMap::from([(SERVICE_NAME_LABEL.to_owned(), "kubernetes".to_owned())]),
        service_name: Some("kubernetes".to_owned()),
        address_type,
        endpoints: vec![Endpoint {
            addresses: vec![api_server],
            conditions: EndpointConditions { ready: Some(true), serving: None, terminating: None },
            node_name: None,
            zone: None,
            hints: Default::default(),
            target_ref: None,
            hostname: None,
        }],
        ports: vec![EndpointPort {
            name: Some("https".to_owned()),
            port: Some(port),
            protocol: Protocol::Tcp,
            app_protocol: None,
        }],
        origin: SliceOrigin::BuiltIn,
        span: SourceSpan::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_services_take_the_first_and_tenth_addresses() {
        let cidr = Cidr::parse_strict(DEFAULT_SERVICE_CIDR).unwrap();
        let k = kubernetes_service(cidr).unwrap();
        assert_eq!(k.cluster_ip.value.primary().unwrap().to_string(), "10.96.0.1");
        let dns = kube_dns_service(cidr).unwrap();
        assert_eq!(dns.cluster_ip.value.primary().unwrap().to_string(), "10.96.0.10");
        assert_eq!(dns.ports.len(), 3);
    }

    #[test]
    fn coredns_runs_on_the_control_plane() {
        let nodes = default_nodes();
        let cp = control_plane(&nodes).unwrap();
        assert_eq!(cp.name, "minikube");
        let pod = coredns_pod(&cp.name).pod;
        assert!(pod.name.starts_with("coredns-"));
        assert_eq!(pod.find_named_port("dns", Protocol::Udp), Some(53));
    }
}
