//! The IPVS-mode state of one node as typed values: the addresses on the dummy interface
//! `kube-ipvs0`, the virtual servers with their real servers, the ipsets, and the iptables
//! skeleton. [`Ruleset`]'s `Display` puts the four views in one text, section by section.
//!
//! This file holds the types and the whole-ruleset text; how each section is spelled is in
//! [`super::ipvsadm`] (virtual servers), [`super::ipset`] (sets) and [`super::skeleton`]
//! (iptables); how the state is computed is [`super::build`]'s job.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::ipset::IpSet;
use super::skeleton::Skeleton;
use crate::net::{IpFamily, Protocol, join_host_port};
use crate::proxy::ServicePortName;
use crate::settings::Scheduler;

/// The dummy interface that holds every service address kube-proxy wants the kernel to
/// treat as local.
pub const DUMMY_INTERFACE: &str = "kube-ipvs0";

/// `kube-ipvs0` after a sync: every address is bound as a host address (/32, /128).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DummyInterface {
    pub addresses: BTreeSet<IpAddr>,
}

impl DummyInterface {
    pub fn name(&self) -> &'static str {
        DUMMY_INTERFACE
    }
}

/// One `ip addr` line per address: `10.96.0.20/32`.
impl fmt::Display for DummyInterface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.addresses {
            let len = if a.is_ipv4() { 32 } else { 128 };
            writeln!(f, "{a}/{len}")?;
        }
        Ok(())
    }
}

/// IPVS service flags as kube-proxy sets them (the kernel's `IP_VS_SVC_F_*` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// Session affinity (`sessionAffinity: ClientIP`).
    pub const PERSISTENT: ServiceFlags = ServiceFlags(0x1);
    /// The kernel's internal "hashed" bit: reported by the kernel, stripped by kube-proxy's
    /// IPVS wrapper, never set by this simulator.
    pub const HASHED: ServiceFlags = ServiceFlags(0x2);
    /// kube-proxy's "source hash" flag, set with the `mh` scheduler.
    pub const SOURCE_HASH: ServiceFlags = ServiceFlags(0x10);

    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub fn insert(&mut self, other: ServiceFlags) {
        self.0 |= other.0;
    }

    /// The names of the set flags, as the reference corpus spells them (`persistent`,
    /// `hashed`, `source-hash`).
    pub fn names(self) -> Vec<&'static str> {
        [
            (ServiceFlags::PERSISTENT, "persistent"),
            (ServiceFlags::HASHED, "hashed"),
            (ServiceFlags::SOURCE_HASH, "source-hash"),
        ]
        .into_iter()
        .filter(|(f, _)| self.contains(*f))
        .map(|(_, n)| n)
        .collect()
    }
}

/// Which address of a service port a virtual server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VirtualServerKind {
    ClusterIp,
    ExternalIp,
    LoadBalancer,
    NodePort,
}

impl VirtualServerKind {
    /// True for the addresses whose real servers follow `externalTrafficPolicy`.
    pub fn is_external(self) -> bool {
        !matches!(self, VirtualServerKind::ClusterIp)
    }
}

/// One IPVS real server: an endpoint, with the NAT ("Masq") forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RealServer {
    pub address: IpAddr,
    pub port: u16,
    /// 1 for every endpoint after a sync (0 only while a removed one drains, which a
    /// single sync never shows).
    pub weight: u32,
}

impl RealServer {
    /// `ip:port`, `[ip6]:port`.
    pub fn endpoint_string(&self) -> String {
        join_host_port(self.address, self.port)
    }
}

/// One IPVS virtual server (an `ipvsadm` service) and its real servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualServer {
    pub address: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
    pub scheduler: Scheduler,
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (0 without session affinity).
    pub timeout: u32,
    /// Sorted by address, then port.
    pub real_servers: Vec<RealServer>,
    /// The service port that made it (the last one in plan order when several share an
    /// address, port and protocol).
    pub service: ServicePortName,
    pub kind: VirtualServerKind,
}

impl VirtualServer {
    /// The kernel's key: address, port, protocol.
    pub fn key(&self) -> (IpAddr, u16, Protocol) {
        (self.address, self.port, self.protocol)
    }

    /// Persistence netmask: the whole address (/32, /128).
    pub fn netmask(&self) -> u8 {
        if self.address.is_ipv4() { 32 } else { 128 }
    }

    /// `ip:port/PROTO`, kube-proxy's `VirtualServer.String()`.
    pub fn name(&self) -> String {
        format!("{}/{}", join_host_port(self.address, self.port), self.protocol.as_k8s())
    }
}

/// Everything kube-proxy's IPVS mode sets up on one node for one IP family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ruleset {
    pub family: IpFamily,
    pub dummy: DummyInterface,
    /// Sorted by address, port and protocol (see [`super::ipvsadm`]).
    pub virtual_servers: Vec<VirtualServer>,
    /// Every set kube-proxy creates, empty or not, in the order of spec ipvs §5.
    pub ipsets: Vec<IpSet>,
    pub iptables: Skeleton,
    /// The skeleton as the kernel holds it ([`Skeleton::to_iptables`]), made once: the tracer
    /// walks it, and the `iptables-save` views and the page's jump graph show it.
    #[serde(skip)]
    pub kernel: crate::backend::iptables::Ruleset,
}

impl Ruleset {
    /// A node where kube-proxy never ran: no address, no virtual server, no set, no rule.
    pub fn empty(family: IpFamily) -> Ruleset {
        use crate::backend::iptables::TableName;
        Ruleset {
            family,
            dummy: DummyInterface::default(),
            virtual_servers: Vec::new(),
            ipsets: Vec::new(),
            iptables: Skeleton {
                family,
                nat: super::skeleton::SkeletonTable::new(TableName::Nat, &[]),
                filter: super::skeleton::SkeletonTable::new(TableName::Filter, &[]),
                jumps: Vec::new(),
            },
            kernel: crate::backend::iptables::Ruleset::new(family),
        }
    }

    /// The set named `name` (its real name, `KUBE-6-…` on an IPv6 node when prefixed).
    pub fn ipset(&self, name: &str) -> Option<&IpSet> {
        self.ipsets.iter().find(|s| s.name == name)
    }

    pub fn virtual_server(
        &self,
        address: IpAddr,
        port: u16,
        protocol: Protocol,
    ) -> Option<&VirtualServer> {
        self.virtual_servers.iter().find(|v| v.key() == (address, port, protocol))
    }

    /// The `ipvsadm -Ln` view of the virtual servers.
    pub fn ipvsadm(&self) -> super::ipvsadm::Ipvsadm<'_> {
        super::ipvsadm::Ipvsadm(&self.virtual_servers)
    }

    /// The sets as `ipset restore` input.
    pub fn ipset_restore(&self) -> super::ipset::IpsetRestore<'_> {
        super::ipset::IpsetRestore(&self.ipsets)
    }

    /// What an admin sees on the node: the same sections as [`Display`](fmt::Display), with
    /// the iptables rules as `iptables-save` prints them (the built-in chains' jumps
    /// included) instead of kube-proxy's restore input.
    pub fn on_node(&self) -> OnNode<'_> {
        OnNode(self)
    }

    fn write_ipvs_sections(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# {DUMMY_INTERFACE} addresses")?;
        write!(f, "{}", self.dummy)?;
        writeln!(f)?;
        writeln!(f, "# IPVS virtual servers (ipvsadm -Ln; sorted, not in the kernel's order)")?;
        write!(f, "{}", self.ipvsadm())?;
        writeln!(f)?;
        writeln!(f, "# ipsets (ipset restore input)")?;
        write!(f, "{}", self.ipset_restore())?;
        writeln!(f)
    }
}

/// [`Ruleset::on_node`].
#[derive(Debug, Clone, Copy)]
pub struct OnNode<'a>(&'a Ruleset);

impl fmt::Display for OnNode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_ipvs_sections(f)?;
        writeln!(f, "# iptables-save")?;
        write!(f, "{}", self.0.kernel.save())
    }
}

/// The four sections, each under a `#` heading: the `kube-ipvs0` addresses, the virtual
/// servers (`ipvsadm -Ln`), the ipsets (`ipset restore` input, empty sets included), and the
/// `iptables-restore` input kube-proxy writes (exact), followed by the jump rules it inserts
/// into the built-in chains outside that input.
impl fmt::Display for Ruleset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_ipvs_sections(f)?;
        writeln!(f, "# iptables-restore input")?;
        write!(f, "{}", self.iptables)?;
        writeln!(f)?;
        writeln!(f, "# jumps from the built-in chains (iptables -I, not in the restore input)")?;
        write!(f, "{}", self.iptables.jumps_text())
    }
}
