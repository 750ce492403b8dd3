//! Routes and routing tables as `ip route show table …` prints them, and the kernel's lookup:
//! the `local` table first (exact local addresses and `127.0.0.0/8`), then `main` by longest
//! prefix.
//!
//! Not here: which routes a node or a pod has (that is the network model's, `super`), and
//! what happens to the packet after the decision (the cluster trace's).

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::net::Cidr;

/// Which routing table a route lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableId {
    /// Addresses of the namespace itself: delivered locally.
    Local,
    Main,
}

impl TableId {
    pub fn as_str(self) -> &'static str {
        match self {
            TableId::Local => "local",
            TableId::Main => "main",
        }
    }
}

/// `local` (delivered to this namespace) or `unicast` (sent out of an interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    Local,
    Unicast,
}

/// Who put a route there: the learner's question "is this kube-proxy?" (it never is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteOrigin {
    /// Made by the kernel when an address was configured (`proto kernel`).
    Kernel,
    /// Written by the CNI plugin: a pod's default route, the host-gw routes to other nodes'
    /// pod CIDRs.
    Cni,
    /// Part of the node's own network setup (the default route of minikube's docker network).
    NodeSetup,
}

impl RouteOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteOrigin::Kernel => "kernel",
            RouteOrigin::Cni => "CNI",
            RouteOrigin::NodeSetup => "node setup",
        }
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub route_type: RouteType,
    /// The destination prefix (`0.0.0.0/0` is `default`).
    pub dst: Cidr,
    /// The gateway, when the destination is not on the link.
    pub via: Option<IpAddr>,
    pub dev: String,
    /// The preferred source address.
    pub src: Option<IpAddr>,
    pub origin: RouteOrigin,
}

impl Route {
    pub fn is_default(&self) -> bool {
        self.dst.prefix_len() == 0
    }

    /// The address the packet is handed to on `dev`: the gateway, or the destination itself.
    pub fn next_hop(&self, dst: IpAddr) -> IpAddr {
        self.via.unwrap_or(dst)
    }
}

/// `default via 192.168.49.1 dev eth0`, `10.244.0.0/24 dev cni0 proto kernel scope link src
/// 10.244.0.1`, `local 10.244.0.1 dev cni0 proto kernel scope host src 10.244.0.1`.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.dst.size() == 1;
        let dst = if self.is_default() {
            "default".to_owned()
        } else if host {
            self.dst.network().to_string()
        } else {
            self.dst.to_string()
        };
        if self.route_type == RouteType::Local {
            write!(f, "local ")?;
        }
        write!(f, "{dst}")?;
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        write!(f, " dev {}", self.dev)?;
        if self.origin == RouteOrigin::Kernel {
            let scope = if self.route_type == RouteType::Local { "host" } else { "link" };
            write!(f, " proto kernel scope {scope}")?;
        }
        if let Some(src) = self.src {
            write!(f, " src {src}")?;
        }
        Ok(())
    }
}

/// A routing table: routes in `ip route` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RouteTable {
    pub routes: Vec<Route>,
}

impl RouteTable {
    /// Adds a route and keeps the `ip route` order: `default` first, then by prefix (after
    /// the routes already there with the same prefix).
    pub fn add(&mut self, route: Route) {
        let order = |r: &Route| (!r.is_default(), r.dst.network(), r.dst.prefix_len());
        let at = self.routes.partition_point(|r| order(r) <= order(&route));
        self.routes.insert(at, route);
    }

    /// The longest-prefix route to `dst`.
    pub fn lookup(&self, dst: IpAddr) -> Option<&Route> {
        self.routes.iter().filter(|r| r.dst.contains(dst)).max_by_key(|r| r.dst.prefix_len())
    }
}

/// The outcome of a lookup: the table that decided and its route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub table: TableId,
    pub route: Route,
}

impl Decision {
    pub fn is_local(&self) -> bool {
        self.table == TableId::Local
    }
}

/// The kernel's lookup over a namespace's two tables: `local` first, then `main`.
pub fn lookup(local: &RouteTable, main: &RouteTable, dst: IpAddr) -> Option<Decision> {
    if let Some(r) = local.lookup(dst) {
        return Some(Decision { table: TableId::Local, route: r.clone() });
    }
    main.lookup(dst).map(|r| Decision { table: TableId::Main, route: r.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse_strict(s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn routes_print_like_iproute2() {
        let r = Route {
            route_type: RouteType::Unicast,
            dst: cidr("10.244.0.0/24"),
            via: None,
            dev: "cni0".into(),
            src: Some(ip("10.244.0.1")),
            origin: RouteOrigin::Kernel,
        };
        assert_eq!(r.to_string(), "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1");
        let d = Route {
            route_type: RouteType::Unicast,
            dst: cidr("0.0.0.0/0"),
            via: Some(ip("192.168.49.1")),
            dev: "eth0".into(),
            src: None,
            origin: RouteOrigin::NodeSetup,
        };
        assert_eq!(d.to_string(), "default via 192.168.49.1 dev eth0");
        let l = Route {
            route_type: RouteType::Local,
            dst: Cidr::host(ip("192.168.49.2")),
            via: None,
            dev: "eth0".into(),
            src: Some(ip("192.168.49.2")),
            origin: RouteOrigin::Kernel,
        };
        assert_eq!(
            l.to_string(),
            "local 192.168.49.2 dev eth0 proto kernel scope host src 192.168.49.2"
        );
    }

    #[test]
    fn the_longest_prefix_wins_and_the_local_table_comes_first() {
        let mut main = RouteTable::default();
        for (dst, via) in
            [("0.0.0.0/0", Some("192.168.49.1")), ("10.244.1.0/24", Some("192.168.49.3"))]
        {
            main.add(Route {
                route_type: RouteType::Unicast,
                dst: cidr(dst),
                via: via.map(ip),
                dev: "eth0".into(),
                src: None,
                origin: RouteOrigin::Cni,
            });
        }
        let mut local = RouteTable::default();
        local.add(Route {
            route_type: RouteType::Local,
            dst: Cidr::host(ip("10.244.1.1")),
            via: None,
            dev: "cni0".into(),
            src: None,
            origin: RouteOrigin::Kernel,
        });
        let d = lookup(&local, &main, ip("10.244.1.7")).unwrap();
        assert_eq!(
            (d.table, d.route.next_hop(ip("10.244.1.7"))),
            (TableId::Main, ip("192.168.49.3"))
        );
        assert!(lookup(&local, &main, ip("10.244.1.1")).unwrap().is_local());
        assert!(main.lookup(ip("8.8.8.8")).unwrap().is_default());
        assert!(main.routes[0].is_default());
    }

    #[test]
    fn routes_added_in_any_order_read_in_ip_route_order() {
        let route = |dst: &str, dev: &str| Route {
            route_type: RouteType::Unicast,
            dst: cidr(dst),
            via: None,
            dev: dev.into(),
            src: None,
            origin: RouteOrigin::Cni,
        };
        let mut main = RouteTable::default();
        for (dst, dev) in [
            ("10.244.2.0/24", "eth0"),
            ("10.244.0.0/24", "cni0"),
            ("0.0.0.0/0", "eth0"),
            ("10.244.0.0/16", "eth0"),
            ("10.244.0.0/24", "eth1"),
        ] {
            main.add(route(dst, dev));
        }
        let order: Vec<String> =
            main.routes.iter().map(|r| format!("{} {}", r.dst, r.dev)).collect();
        // Same prefix twice: the one added first stays first.
        assert_eq!(
            order,
            [
                "0.0.0.0/0 eth0",
                "10.244.0.0/16 eth0",
                "10.244.0.0/24 cni0",
                "10.244.0.0/24 eth1",
                "10.244.2.0/24 eth0"
            ]
        );
    }
}
