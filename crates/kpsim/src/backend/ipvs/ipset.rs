//! kube-proxy's ipsets (spec ipvs §5): which sets exist, their types and comments, the
//! IPv6 naming rule, their typed entries and the `ipset restore` spelling.
//!
//! Which entries go into which set is [`super::build`]'s job; the iptables rules that
//! reference the sets are [`super::skeleton`]'s.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::net::{Cidr, IpFamily, Protocol};

/// The longest ipset name the kernel accepts.
pub const MAX_IPSET_NAME_LEN: usize = 31;

/// Every set kube-proxy's IPVS mode creates, in the order of spec ipvs §5's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum SetId {
    ClusterIp,
    LoopBack,
    ExternalIp,
    ExternalIpLocal,
    LoadBalancer,
    LoadBalancerLocal,
    LoadBalancerFw,
    LoadBalancerSourceCidr,
    LoadBalancerSourceIp,
    NodePortTcp,
    NodePortUdp,
    NodePortLocalTcp,
    NodePortLocalUdp,
    NodePortSctp,
    NodePortLocalSctp,
    HealthCheckNodePort,
    IpvsIps,
}

impl SetId {
    pub const ALL: [SetId; 17] = [
        SetId::ClusterIp,
        SetId::LoopBack,
        SetId::ExternalIp,
        SetId::ExternalIpLocal,
        SetId::LoadBalancer,
        SetId::LoadBalancerLocal,
        SetId::LoadBalancerFw,
        SetId::LoadBalancerSourceCidr,
        SetId::LoadBalancerSourceIp,
        SetId::NodePortTcp,
        SetId::NodePortUdp,
        SetId::NodePortLocalTcp,
        SetId::NodePortLocalUdp,
        SetId::NodePortSctp,
        SetId::NodePortLocalSctp,
        SetId::HealthCheckNodePort,
        SetId::IpvsIps,
    ];

    /// The IPv4 name (also the IPv6 one without the family prefix).
    pub fn base_name(self) -> &'static str {
        match self {
            SetId::ClusterIp => "KUBE-CLUSTER-IP",
            SetId::LoopBack => "KUBE-LOOP-BACK",
            SetId::ExternalIp => "KUBE-EXTERNAL-IP",
            SetId::ExternalIpLocal => "KUBE-EXTERNAL-IP-LOCAL",
            SetId::LoadBalancer => "KUBE-LOAD-BALANCER",
            SetId::LoadBalancerLocal => "KUBE-LOAD-BALANCER-LOCAL",
            SetId::LoadBalancerFw => "KUBE-LOAD-BALANCER-FW",
            SetId::LoadBalancerSourceCidr => "KUBE-LOAD-BALANCER-SOURCE-CIDR",
            SetId::LoadBalancerSourceIp => "KUBE-LOAD-BALANCER-SOURCE-IP",
            SetId::NodePortTcp => "KUBE-NODE-PORT-TCP",
            SetId::NodePortUdp => "KUBE-NODE-PORT-UDP",
            SetId::NodePortLocalTcp => "KUBE-NODE-PORT-LOCAL-TCP",
            SetId::NodePortLocalUdp => "KUBE-NODE-PORT-LOCAL-UDP",
            SetId::NodePortSctp => "KUBE-NODE-PORT-SCTP-HASH",
            SetId::NodePortLocalSctp => "KUBE-NODE-PORT-LOCAL-SCTP-HASH",
            SetId::HealthCheckNodePort => "KUBE-HEALTH-CHECK-NODE-PORT",
            SetId::IpvsIps => "KUBE-IPVS-IPS",
        }
    }

    pub fn kind(self) -> IpSetKind {
        match self {
            SetId::LoopBack | SetId::LoadBalancerSourceIp => IpSetKind::HashIpPortIp,
            SetId::LoadBalancerSourceCidr => IpSetKind::HashIpPortNet,
            SetId::NodePortTcp
            | SetId::NodePortUdp
            | SetId::NodePortLocalTcp
            | SetId::NodePortLocalUdp
            | SetId::HealthCheckNodePort => IpSetKind::BitmapPort,
            SetId::IpvsIps => IpSetKind::HashIp,
            _ => IpSetKind::HashIpPort,
        }
    }

    /// The comment kube-proxy keeps for the set: not stored in the kernel, written as the
    /// `-m comment` of the iptables rule that references the set.
    pub fn comment(self) -> &'static str {
        match self {
            SetId::ClusterIp => "Kubernetes service cluster ip + port for masquerade purpose",
            SetId::LoopBack => {
                "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"
            }
            SetId::ExternalIp => {
                "Kubernetes service external ip + port for masquerade and filter purpose"
            }
            SetId::ExternalIpLocal => {
                "Kubernetes service external ip + port with externalTrafficPolicy=local"
            }
            SetId::LoadBalancer => "Kubernetes service lb portal",
            SetId::LoadBalancerLocal => {
                "Kubernetes service load balancer ip + port with externalTrafficPolicy=local"
            }
            SetId::LoadBalancerFw => {
                "Kubernetes service load balancer ip + port for load balancer with sourceRange"
            }
            SetId::LoadBalancerSourceCidr => {
                "Kubernetes service load balancer ip + port + source cidr for packet filter purpose"
            }
            SetId::LoadBalancerSourceIp => {
                "Kubernetes service load balancer ip + port + source IP for packet filter purpose"
            }
            SetId::NodePortTcp => "Kubernetes nodeport TCP port for masquerade purpose",
            SetId::NodePortUdp => "Kubernetes nodeport UDP port for masquerade purpose",
            SetId::NodePortLocalTcp => {
                "Kubernetes nodeport TCP port with externalTrafficPolicy=local"
            }
            SetId::NodePortLocalUdp => {
                "Kubernetes nodeport UDP port with externalTrafficPolicy=local"
            }
            SetId::NodePortSctp => {
                "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"
            }
            SetId::NodePortLocalSctp => {
                "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"
            }
            SetId::HealthCheckNodePort => "Kubernetes health check node port",
            SetId::IpvsIps => "Addresses on the ipvs interface",
        }
    }

    /// The set's name on a node of `family`: on IPv6 with `prefixed`, the leading `KUBE-`
    /// becomes `KUBE-6-` and the result is cut to 31 characters.
    pub fn name(self, family: IpFamily, prefixed: bool) -> String {
        let base = self.base_name();
        if family == IpFamily::V4 || !prefixed {
            return base.to_owned();
        }
        let mut name = match base.strip_prefix("KUBE-") {
            Some(rest) => format!("KUBE-6-{rest}"),
            None => base.to_owned(),
        };
        name.truncate(MAX_IPSET_NAME_LEN);
        name
    }
}

/// An ipset type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum IpSetKind {
    HashIp,
    HashIpPort,
    HashIpPortIp,
    HashIpPortNet,
    BitmapPort,
}

impl IpSetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IpSetKind::HashIp => "hash:ip",
            IpSetKind::HashIpPort => "hash:ip,port",
            IpSetKind::HashIpPortIp => "hash:ip,port,ip",
            IpSetKind::HashIpPortNet => "hash:ip,port,net",
            IpSetKind::BitmapPort => "bitmap:port",
        }
    }
}

impl fmt::Display for IpSetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ipset entry; `Display` is ipset's spelling (kube-proxy's `Entry.String()`): the
/// protocol lower-case, IPv6 addresses without brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum IpSetEntry {
    /// `hash:ip`: `IP`
    Ip(IpAddr),
    /// `hash:ip,port`: `IP,proto:port`
    IpPort { ip: IpAddr, protocol: Protocol, port: u16 },
    /// `hash:ip,port,ip`: `IP,proto:port,IP2`
    IpPortIp { ip: IpAddr, protocol: Protocol, port: u16, ip2: IpAddr },
    /// `hash:ip,port,net`: `IP,proto:port,CIDR`
    IpPortNet { ip: IpAddr, protocol: Protocol, port: u16, net: Cidr },
    /// `bitmap:port`: `port`
    Port(u16),
}

impl fmt::Display for IpSetEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpSetEntry::Ip(ip) => write!(f, "{ip}"),
            IpSetEntry::IpPort { ip, protocol, port } => {
                write!(f, "{ip},{}:{port}", protocol.as_lower())
            }
            IpSetEntry::IpPortIp { ip, protocol, port, ip2 } => {
                write!(f, "{ip},{}:{port},{ip2}", protocol.as_lower())
            }
            IpSetEntry::IpPortNet { ip, protocol, port, net } => {
                write!(f, "{ip},{}:{port},{net}", protocol.as_lower())
            }
            IpSetEntry::Port(port) => write!(f, "{port}"),
        }
    }
}

/// One set and its entries after a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpSet {
    pub id: SetId,
    /// The name on the node (see [`SetId::name`]).
    pub name: String,
    pub kind: IpSetKind,
    /// The family of the hash sets (`family inet`/`inet6`); bitmap sets have none.
    pub family: IpFamily,
    pub comment: &'static str,
    /// Sorted (addresses numerically): a set has no order of its own.
    pub entries: BTreeSet<IpSetEntry>,
}

impl IpSet {
    pub fn new(id: SetId, family: IpFamily, prefixed: bool) -> IpSet {
        IpSet {
            id,
            name: id.name(family, prefixed),
            kind: id.kind(),
            family,
            comment: id.comment(),
            entries: BTreeSet::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The options kube-proxy creates the set with (spec ipvs §5).
    pub fn create_options(&self) -> String {
        match self.kind {
            IpSetKind::BitmapPort => "range 0-65535".to_owned(),
            _ => {
                let family = match self.family {
                    IpFamily::V4 => "inet",
                    IpFamily::V6 => "inet6",
                };
                format!("family {family} hashsize 1024 maxelem 65536")
            }
        }
    }
}

/// The sets as `ipset restore` input: `create NAME TYPE OPTIONS` then one `add NAME ENTRY`
/// per entry, set by set in [`SetId::ALL`] order. kube-proxy runs the equivalent `ipset
/// create … -exist` / `ipset add … -exist` commands; `ipset save` on a node may print more
/// creation options (bucket size, initval) than kube-proxy gives.
#[derive(Debug, Clone, Copy)]
pub struct IpsetRestore<'a>(pub &'a [IpSet]);

impl fmt::Display for IpsetRestore<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for set in self.0 {
            writeln!(f, "create {} {} {}", set.name, set.kind, set.create_options())?;
            for e in &set.entries {
                writeln!(f, "add {} {e}", set.name)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_set_names_are_prefixed_and_cut_to_31_characters() {
        assert_eq!(SetId::ClusterIp.name(IpFamily::V6, true), "KUBE-6-CLUSTER-IP");
        assert_eq!(
            SetId::LoadBalancerSourceCidr.name(IpFamily::V6, true),
            "KUBE-6-LOAD-BALANCER-SOURCE-CID"
        );
        assert_eq!(
            SetId::NodePortLocalSctp.name(IpFamily::V6, true),
            "KUBE-6-NODE-PORT-LOCAL-SCTP-HAS"
        );
        assert_eq!(SetId::ClusterIp.name(IpFamily::V6, false), "KUBE-CLUSTER-IP");
        assert_eq!(SetId::ClusterIp.name(IpFamily::V4, true), "KUBE-CLUSTER-IP");
        for id in SetId::ALL {
            assert!(id.name(IpFamily::V6, true).len() <= MAX_IPSET_NAME_LEN);
        }
    }

    #[test]
    fn entries_are_written_as_ipset_writes_them() {
        let ip6: IpAddr = "fd00::1".parse().unwrap();
        let e = IpSetEntry::IpPortIp { ip: ip6, protocol: Protocol::Sctp, port: 80, ip2: ip6 };
        assert_eq!(e.to_string(), "fd00::1,sctp:80,fd00::1");
        let net = Cidr::parse_sloppy("10.0.0.0/8").unwrap();
        let e = IpSetEntry::IpPortNet {
            ip: "1.2.3.4".parse().unwrap(),
            protocol: Protocol::Tcp,
            port: 80,
            net,
        };
        assert_eq!(e.to_string(), "1.2.3.4,tcp:80,10.0.0.0/8");
    }
}
