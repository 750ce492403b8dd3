//! The cluster's network as the kernel and the CNI lay it out — pure data, printable:
//! every node's interfaces and routing tables, every pod's network namespace and veth.
//!
//! The layout (minikube with a bridge CNI and host-gw routes):
//! * a node has `lo` (127.0.0.1/8, ::1/128), `eth0` with its InternalIP (/24 for IPv4 — minikube's
//!   docker network 192.168.49.0/24 —, /64 for IPv6), the `cni0` bridge holding the first
//!   address of its pod CIDR (10.244.N.1/24), and one `veth…` per pod, enslaved to `cni0`;
//! * its `local` table lists those addresses; its `main` table has `default via <gateway> dev
//!   eth0` (the gateway is the first address of eth0's network, 192.168.49.1), the connected
//!   routes of `eth0` and `cni0`, and — the CNI's part, not kube-proxy's — one route per other
//!   node, `<its pod CIDR> via <its InternalIP> dev eth0` (unless the node is listed in
//!   `no_routes`);
//! * a pod (not `hostNetwork`) is a namespace with `lo` and `eth0` (its pod IP with the prefix
//!   of its node's pod CIDR, the range the bridge plugin allocates from — not minikube's /16)
//!   and `default via <cni0 address> dev eth0`; `hostNetwork` pods live in their node's
//!   namespace and have no entry here.
//!
//! Not here: what happens to a packet (the cluster trace's), kube-proxy's rules (the
//! backends').

pub mod route;

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Cluster, NamespacedName};
use crate::net::{Cidr, IfaceAddr, IpFamily};

pub use route::{Decision, Route, RouteOrigin, RouteTable, RouteType, TableId};

/// The bridge every pod's veth is attached to.
pub const BRIDGE: &str = "cni0";
/// A node's uplink to the other nodes and the gateway.
pub const UPLINK: &str = "eth0";
/// The loopback interface.
pub const LOOPBACK: &str = "lo";

/// What an interface is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum InterfaceKind {
    Loopback,
    Ethernet,
    Bridge,
    /// A dummy device (IPVS mode's `kube-ipvs0`): its addresses are local, nothing is sent
    /// through it.
    Dummy,
    /// One end of a veth pair: `peer` names the other end (`<namespace> <interface>`),
    /// `master` the bridge it is enslaved to.
    Veth {
        peer: String,
        master: Option<String>,
    },
}

/// An interface with its addresses, as `ip addr` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub name: String,
    pub kind: InterfaceKind,
    pub addrs: Vec<IfaceAddr>,
}

impl Interface {
    /// The first address of a family.
    pub fn address(&self, family: IpFamily) -> Option<IpAddr> {
        self.addrs.iter().map(|a| a.addr).find(|ip| IpFamily::of(*ip) == family)
    }
}

/// `cni0: bridge 10.244.0.1/24`, `veth1a2b3c4d@default/pod-client: veth master cni0`.
impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        match &self.kind {
            InterfaceKind::Loopback => write!(f, ": loopback")?,
            InterfaceKind::Ethernet => write!(f, ": ethernet")?,
            InterfaceKind::Bridge => write!(f, ": bridge")?,
            InterfaceKind::Dummy => write!(f, ": dummy")?,
            InterfaceKind::Veth { peer, master } => {
                write!(f, "@{peer}: veth")?;
                if let Some(m) = master {
                    write!(f, " master {m}")?;
                }
            }
        }
        for a in &self.addrs {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// A node's network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeNetns {
    pub name: String,
    pub interfaces: Vec<Interface>,
    pub local: RouteTable,
    pub main: RouteTable,
}

impl NodeNetns {
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// The routing decision for `dst`.
    pub fn route(&self, dst: IpAddr) -> Option<Decision> {
        route::lookup(&self.local, &self.main, dst)
    }

    /// The primary address of an interface in a family.
    pub fn address_on(&self, dev: &str, family: IpFamily) -> Option<IpAddr> {
        self.interface(dev).and_then(|i| i.address(family))
    }

    /// True when `ip` is one of the node's own addresses (its local table).
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.local.lookup(ip).is_some()
    }

    /// The node's primary address toward `dst` (the route's `src`, else the out interface's
    /// address): the source a process on the node sends from.
    pub fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        let d = self.route(dst)?;
        if d.is_local() {
            return Some(if dst.is_loopback() { dst } else { d.route.src.unwrap_or(dst) });
        }
        d.route.src.or_else(|| self.address_on(&d.route.dev, IpFamily::of(dst)))
    }

    /// The networks of the node's uplink (minikube's docker network).
    pub fn uplink_networks(&self) -> Vec<Cidr> {
        self.interface(UPLINK)
            .map(|i| i.addrs.iter().map(IfaceAddr::network).collect())
            .unwrap_or_default()
    }
}

/// A pod's network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodNetns {
    pub pod: NamespacedName,
    pub node: String,
    pub ips: Vec<IpAddr>,
    /// The host end of its veth pair, on the node, enslaved to `cni0`.
    pub veth: String,
    pub interfaces: Vec<Interface>,
    pub local: RouteTable,
    pub main: RouteTable,
}

impl PodNetns {
    pub fn route(&self, dst: IpAddr) -> Option<Decision> {
        route::lookup(&self.local, &self.main, dst)
    }

    pub fn has_ip(&self, ip: IpAddr) -> bool {
        self.ips.contains(&ip)
    }
}

/// The whole network: nodes and pods, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Network {
    pub nodes: Vec<NodeNetns>,
    pub pods: Vec<PodNetns>,
}

/// A veth name derived from the pod (`veth` + 8 hex digits of an FNV-1a hash), stable across
/// runs as the real random names are not.
pub fn veth_name(pod: &NamespacedName) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in pod.to_string().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("veth{h:08x}")
}

fn uplink_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 24 } else { 64 }
}

fn connected(addr: IfaceAddr, dev: &str) -> Route {
    Route {
        route_type: RouteType::Unicast,
        dst: addr.network(),
        via: None,
        dev: dev.to_owned(),
        src: Some(addr.addr),
        origin: RouteOrigin::Kernel,
    }
}

fn local_route(addr: IpAddr, dst: Cidr, dev: &str) -> Route {
    Route {
        route_type: RouteType::Local,
        dst,
        via: None,
        dev: dev.to_owned(),
        src: Some(addr),
        origin: RouteOrigin::Kernel,
    }
}

fn default_route(family: IpFamily, via: IpAddr, dev: &str, origin: RouteOrigin) -> Route {
    let any = match family {
        IpFamily::V4 => IpAddr::from([0u8; 4]),
        IpFamily::V6 => IpAddr::from([0u16; 8]),
    };
    Route {
        route_type: RouteType::Unicast,
        dst: Cidr::new(any, 0).unwrap_or_else(|| Cidr::host(any)),
        via: Some(via),
        dev: dev.to_owned(),
        src: None,
        origin,
    }
}

fn loopback() -> Interface {
    Interface {
        name: LOOPBACK.to_owned(),
        kind: InterfaceKind::Loopback,
        addrs: vec![
            IfaceAddr { addr: IpFamily::V4.loopback(), prefix: 8 },
            IfaceAddr { addr: IpFamily::V6.loopback(), prefix: 128 },
        ],
    }
}

fn loopback_routes(local: &mut RouteTable) {
    for a in loopback().addrs {
        local.add(local_route(a.addr, a.network(), LOOPBACK));
        if a.prefix != 128 {
            local.add(local_route(a.addr, Cidr::host(a.addr), LOOPBACK));
        }
    }
}

/// The gateway of an uplink address: the first address of its network.
pub fn gateway_of(addr: IfaceAddr) -> Option<IpAddr> {
    addr.network().nth(1).filter(|gw| *gw != addr.addr)
}

impl Network {
    /// Lays out the network of `cluster`; nodes in `no_routes` lack the CNI's routes to the
    /// other nodes' pod CIDRs.
    pub fn new(cluster: &Cluster, no_routes: &BTreeSet<String>) -> Network {
        let mut pods: Vec<PodNetns> = Vec::new();
        for (key, pod) in &cluster.pods {
            let Some(node_name) = pod.node() else { continue };
            let Some(node) = cluster.node(node_name) else { continue };
            if pod.host_network || pod.pod_ips.value.is_empty() {
                continue;
            }
            let veth = veth_name(key);
            let mut local = RouteTable::default();
            let mut main = RouteTable::default();
            loopback_routes(&mut local);
            let mut addrs = Vec::new();
            for ip in &pod.pod_ips.value {
                let family = IpFamily::of(*ip);
                let cidr = node.pod_cidr(family).filter(|c| c.contains(*ip));
                let prefix = cidr.map(|c| c.prefix_len()).unwrap_or(Cidr::host(*ip).prefix_len());
                let addr = IfaceAddr { addr: *ip, prefix };
                addrs.push(addr);
                local.add(local_route(*ip, Cidr::host(*ip), UPLINK));
                if cidr.is_some() {
                    main.add(connected(addr, UPLINK));
                }
                if let Some(gw) = node.pod_cidr(family).and_then(|c| c.nth(1)) {
                    main.add(default_route(family, gw, UPLINK, RouteOrigin::Cni));
                }
            }
            let eth0 = Interface {
                name: UPLINK.to_owned(),
                kind: InterfaceKind::Veth { peer: format!("{node_name} {veth}"), master: None },
                addrs,
            };
            pods.push(PodNetns {
                pod: key.clone(),
                node: node_name.to_owned(),
                ips: pod.pod_ips.value.clone(),
                veth,
                interfaces: vec![loopback(), eth0],
                local,
                main,
            });
        }

        let mut nodes = Vec::new();
        for node in &cluster.nodes {
            let mut interfaces = vec![loopback()];
            let mut local = RouteTable::default();
            let mut main = RouteTable::default();
            loopback_routes(&mut local);
            let uplink: Vec<IfaceAddr> = node
                .internal_ips
                .iter()
                .map(|ip| IfaceAddr { addr: *ip, prefix: uplink_prefix(*ip) })
                .collect();
            for a in &uplink {
                local.add(local_route(a.addr, Cidr::host(a.addr), UPLINK));
                main.add(connected(*a, UPLINK));
                if let Some(gw) = gateway_of(*a) {
                    let family = IpFamily::of(a.addr);
                    main.add(default_route(family, gw, UPLINK, RouteOrigin::NodeSetup));
                }
            }
            interfaces.push(Interface {
                name: UPLINK.to_owned(),
                kind: InterfaceKind::Ethernet,
                addrs: uplink,
            });
            let bridge: Vec<IfaceAddr> = node
                .pod_cidrs
                .value
                .iter()
                .filter_map(|c| c.nth(1).map(|addr| IfaceAddr { addr, prefix: c.prefix_len() }))
                .collect();
            for a in &bridge {
                local.add(local_route(a.addr, Cidr::host(a.addr), BRIDGE));
                main.add(connected(*a, BRIDGE));
            }
            if !bridge.is_empty() {
                interfaces.push(Interface {
                    name: BRIDGE.to_owned(),
                    kind: InterfaceKind::Bridge,
                    addrs: bridge,
                });
            }
            for p in pods.iter().filter(|p| p.node == node.name) {
                interfaces.push(Interface {
                    name: p.veth.clone(),
                    kind: InterfaceKind::Veth {
                        peer: format!("{} eth0", p.pod),
                        master: Some(BRIDGE.to_owned()),
                    },
                    addrs: Vec::new(),
                });
            }
            if !no_routes.contains(&node.name) {
                for other in cluster.nodes.iter().filter(|o| o.name != node.name) {
                    for cidr in &other.pod_cidrs.value {
                        let Some(via) = other.internal_ip(cidr.family()) else { continue };
                        main.add(Route {
                            route_type: RouteType::Unicast,
                            dst: *cidr,
                            via: Some(via),
                            dev: UPLINK.to_owned(),
                            src: None,
                            origin: RouteOrigin::Cni,
                        });
                    }
                }
            }
            nodes.push(NodeNetns { name: node.name.clone(), interfaces, local, main });
        }
        Network { nodes, pods }
    }

    /// Gives `node` a dummy interface `name` holding `addrs` as host addresses, each a local
    /// route of the node (IPVS mode binds every service address to `kube-ipvs0`).
    pub fn add_dummy(&mut self, node: &str, name: &str, addrs: &[IpAddr]) {
        let Some(n) = self.nodes.iter_mut().find(|n| n.name == node) else { return };
        if addrs.is_empty() {
            return;
        }
        let i = match n.interfaces.iter().position(|i| i.name == name) {
            Some(i) => i,
            None => {
                n.interfaces.push(Interface {
                    name: name.to_owned(),
                    kind: InterfaceKind::Dummy,
                    addrs: Vec::new(),
                });
                n.interfaces.len() - 1
            }
        };
        for &addr in addrs {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            n.interfaces[i].addrs.push(IfaceAddr { addr, prefix });
            n.local.add(local_route(addr, Cidr::host(addr), name));
        }
    }

    pub fn node(&self, name: &str) -> Option<&NodeNetns> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn pod(&self, key: &NamespacedName) -> Option<&PodNetns> {
        self.pods.iter().find(|p| &p.pod == key)
    }

    /// The pod namespace holding `ip`.
    pub fn pod_with_ip(&self, ip: IpAddr) -> Option<&PodNetns> {
        self.pods.iter().find(|p| p.has_ip(ip))
    }

    /// The pod on `node`'s bridge holding `ip`.
    pub fn pod_on_bridge(&self, node: &str, ip: IpAddr) -> Option<&PodNetns> {
        self.pods.iter().find(|p| p.node == node && p.has_ip(ip))
    }

    /// The node whose uplink holds `ip`.
    pub fn node_on_uplink(&self, ip: IpAddr) -> Option<&NodeNetns> {
        self.nodes
            .iter()
            .find(|n| n.interface(UPLINK).is_some_and(|i| i.addrs.iter().any(|a| a.addr == ip)))
    }

    /// The node owning `ip` on any interface but loopback.
    pub fn node_with_ip(&self, ip: IpAddr) -> Option<&NodeNetns> {
        if ip.is_loopback() {
            return None;
        }
        self.nodes.iter().find(|n| n.is_local(ip))
    }

    /// The default gateways of the nodes' networks (minikube's 192.168.49.1), sorted.
    pub fn gateways(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = self
            .nodes
            .iter()
            .filter_map(|n| n.interface(UPLINK))
            .flat_map(|i| i.addrs.iter().filter_map(|a| gateway_of(*a)))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// True when `ip` lies on a node network (the docker network).
    pub fn on_node_network(&self, ip: IpAddr) -> bool {
        self.nodes.iter().flat_map(NodeNetns::uplink_networks).any(|c| c.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Admission;

    fn walkthrough() -> Cluster {
        crate::analyze(include_str!("../../tests/data/examples/kube-proxy.yaml"), Admission::Auto)
            .cluster
    }

    fn routes(t: &RouteTable) -> Vec<String> {
        t.routes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_node_routes_other_pod_cidrs_through_their_nodes() {
        let net = Network::new(&walkthrough(), &BTreeSet::new());
        let n = net.node("minikube").unwrap();
        assert_eq!(
            routes(&n.main),
            [
                "default via 192.168.49.1 dev eth0",
                "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1",
                "10.244.1.0/24 via 192.168.49.3 dev eth0",
                "10.244.2.0/24 via 192.168.49.4 dev eth0",
                "192.168.49.0/24 dev eth0 proto kernel scope link src 192.168.49.2",
            ]
        );
        assert!(n.is_local("10.244.0.1".parse().unwrap()));
        assert_eq!(
            n.source_for("10.96.0.1".parse().unwrap()),
            Some("192.168.49.2".parse().unwrap())
        );
        assert_eq!(
            n.source_for("10.244.0.9".parse().unwrap()),
            Some("10.244.0.1".parse().unwrap())
        );
        let without = Network::new(&walkthrough(), &BTreeSet::from(["minikube".to_owned()]));
        assert_eq!(without.node("minikube").unwrap().main.routes.len(), 3);
    }

    #[test]
    fn a_pod_has_a_default_route_to_its_bridge() {
        let net = Network::new(&walkthrough(), &BTreeSet::new());
        let p = net.pod(&NamespacedName::new("default", "server-pod-1")).unwrap();
        assert_eq!(p.node, "minikube-m02");
        assert_eq!(
            routes(&p.main),
            [
                "default via 10.244.1.1 dev eth0",
                "10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.2"
            ]
        );
        assert!(p.veth.starts_with("veth") && p.veth.len() == 12);
        let node = net.node("minikube-m02").unwrap();
        assert!(node.interface(&p.veth).is_some());
        assert_eq!(net.gateways(), ["192.168.49.1".parse::<IpAddr>().unwrap()]);
    }
}
