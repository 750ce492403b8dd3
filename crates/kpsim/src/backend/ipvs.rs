//! kube-proxy's IPVS mode: the state one sync leaves on a node, built from the proxy plan —
//! the `kube-ipvs0` addresses ([`DummyInterface`]), the IPVS [`VirtualServer`]s with their
//! [`RealServer`]s, the [`IpSet`]s, and the small iptables [`Skeleton`] whose rules match
//! those sets.
//!
//! `Display` of [`Ruleset`] shows the four in one text; each section has its own view
//! ([`Ruleset::ipvsadm`], [`Ruleset::ipset_restore`], the skeleton's `Display` = the exact
//! `iptables-restore` input). This module does not walk packets through the state: that is
//! `sim::ipvs`.

mod build;
mod ipset;
mod ipvsadm;
mod ruleset;
mod skeleton;

pub use build::{FILTER_CHAINS, NAT_CHAINS, build, node_addresses, node_port_ips};
pub use ipset::{IpSet, IpSetEntry, IpSetKind, IpsetRestore, MAX_IPSET_NAME_LEN, SetId};
pub use ipvsadm::Ipvsadm;
pub use ruleset::{
    DUMMY_INTERFACE, DummyInterface, RealServer, Ruleset, ServiceFlags, VirtualServer,
    VirtualServerKind,
};
pub use skeleton::{BuiltinJump, Skeleton, SkeletonTable};
