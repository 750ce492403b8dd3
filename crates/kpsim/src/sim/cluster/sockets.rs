//! Who listens where: whether a packet that reached a pod's or a node's own address finds a
//! socket.
//!
//! * ICMP echo is answered by any kernel.
//! * A pod listens on its declared container ports (protocol and number); a pod that declares
//!   none is assumed to accept any port — kpsim cannot know what its program opens, and
//!   declared ports are only informational in Kubernetes.
//! * A node listens with the kubelet (10250/TCP), the API server (the `default/kubernetes`
//!   endpoints on that node), kube-proxy while it runs (healthz 10256/TCP and the health check
//!   node ports of `externalTrafficPolicy: Local` Services), and every hostNetwork pod's
//!   declared container ports.
//!
//! Not here: what happens when nobody listens (the walk answers with a reset or an ICMP
//! error).

use std::net::IpAddr;

use super::ClusterNetwork;
use super::setup::KubeProxyState;
use crate::model::{NamespacedName, Pod};
use crate::net::IpFamily;
use crate::sim::network::{NodeNetns, PodNetns};
use crate::sim::trace::{Packet, PacketProtocol};

/// The kubelet's port.
pub const KUBELET_PORT: u16 = 10250;
/// kube-proxy's `--healthz-bind-address` port.
pub const KUBE_PROXY_HEALTHZ_PORT: u16 = 10256;

/// A socket that took the packet: who it belongs to and why it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listener {
    /// `ns/pod`, or `node/<name>` for the node's own daemons.
    pub owner: String,
    /// `container port 80/TCP (http-web-svc)`, `the kubelet`.
    pub what: String,
}

fn pod_port(pod: &Pod, packet: &Packet) -> Option<String> {
    if packet.protocol == PacketProtocol::Icmp {
        return Some("the pod's kernel answers pings".to_owned());
    }
    let (Some(proto), Some(port)) = (packet.protocol.transport(), packet.dport) else {
        return None;
    };
    if pod.container_ports.is_empty() {
        return Some(
            "the pod declares no container ports: kpsim assumes it accepts any port".to_owned(),
        );
    }
    pod.container_ports.iter().find(|p| p.protocol == proto && p.container_port == port).map(|p| {
        let name = p.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
        format!("container port {port}/{proto}{name} is open")
    })
}

/// The socket of a pod namespace that takes `packet`, if any.
pub(super) fn in_pod(net: &ClusterNetwork, pod: &PodNetns, packet: &Packet) -> Option<Listener> {
    let model = net.cluster.pods.get(&pod.pod)?;
    pod_port(model, packet).map(|what| Listener { owner: pod.pod.to_string(), what })
}

fn kubernetes_endpoint_port(net: &ClusterNetwork, ips: &[IpAddr]) -> Option<u16> {
    let key = NamespacedName::new("default", "kubernetes");
    net.cluster
        .slices_of(&key)
        .filter(|s| s.endpoints.iter().any(|e| e.addresses.iter().any(|a| ips.contains(a))))
        .flat_map(|s| s.ports.iter().filter_map(|p| p.port))
        .next()
}

/// The socket of a node that takes `packet`, if any.
pub(super) fn on_node(net: &ClusterNetwork, node: &NodeNetns, packet: &Packet) -> Option<Listener> {
    let owner = format!("node/{}", node.name);
    if packet.protocol == PacketProtocol::Icmp {
        return Some(Listener { owner, what: "the node's kernel answers pings".to_owned() });
    }
    let (proto, port) = (packet.protocol.transport()?, packet.dport?);
    for pod in net.cluster.pods.values() {
        if pod.host_network
            && pod.node() == Some(node.name.as_str())
            && !pod.container_ports.is_empty()
            && let Some(what) = pod_port(pod, packet)
        {
            let key = NamespacedName::new(&pod.namespace, &pod.name);
            return Some(Listener {
                owner: key.to_string(),
                what: format!("hostNetwork pod: {what}"),
            });
        }
    }
    let tcp = proto == crate::net::Protocol::Tcp;
    if tcp && port == KUBELET_PORT {
        return Some(Listener { owner, what: format!("the kubelet listens on {port}/TCP") });
    }
    let ips: Vec<IpAddr> = node
        .interface(crate::sim::network::UPLINK)
        .map(|i| i.addrs.iter().map(|a| a.addr).collect())
        .unwrap_or_default();
    if tcp && kubernetes_endpoint_port(net, &ips) == Some(port) {
        return Some(Listener { owner, what: format!("the API server listens on {port}/TCP") });
    }
    let running = [IpFamily::V4, IpFamily::V6].iter().any(|f| {
        net.rules(&node.name, *f).is_some_and(|r| r.kube_proxy == KubeProxyState::Running)
    });
    if running && tcp {
        if port == KUBE_PROXY_HEALTHZ_PORT {
            return Some(Listener {
                owner,
                what: format!("kube-proxy's healthz server listens on {port}/TCP"),
            });
        }
        let health_check = net
            .cluster
            .services
            .values()
            .find(|s| s.health_check_node_port.is_some_and(|p| p.value == port));
        if let Some(s) = health_check {
            return Some(Listener {
                owner,
                what: format!(
                    "kube-proxy's health check server for {}/{} listens on {port}/TCP",
                    s.namespace, s.name
                ),
            });
        }
    }
    None
}
