//! The simulator: walks typed rulesets (never text) and routes, and returns a [`Trace`].
//!
//! `trace` holds the shared result types; `iptables` and `nftables` are the node-level
//! tracers of each backend's ruleset, and [`trace_node`] dispatches between them.

pub mod cluster;
pub mod conntrack;
pub mod dns;
pub mod iptables;
pub mod ipvs;
pub mod network;
pub mod nftables;
pub mod trace;

use std::net::IpAddr;

pub use trace::{
    Action, Choices, Entry, Hook, Packet, PacketProtocol, SeededRng, Step, Trace, TracePath,
    Verdict,
};

use crate::backend::Ruleset;
use crate::settings::ProxySettings;

/// Where a packet from `src` enters the node described by `settings`: [`Entry::Local`] when
/// `src` is one of the node's own addresses (loopback included), else [`Entry::Arriving`].
pub fn entry_for(settings: &ProxySettings, src: IpAddr) -> Entry {
    if src.is_loopback() || settings.is_local_address(src) { Entry::Local } else { Entry::Arriving }
}

/// Traces the first packet of a new connection through one node's rules, whatever the mode.
///
/// ```
/// use kpsim::sim::{Choices, Packet, PacketProtocol};
/// let analysis = kpsim::analyze(include_str!("../tests/data/examples/kube-proxy.yaml"), Default::default());
/// let settings = kpsim::settings::ProxySettings::for_node(
///     &analysis.cluster, "minikube", kpsim::settings::Mode::Nftables, kpsim::net::IpFamily::V4);
/// let rules = kpsim::backend::Ruleset::build(&kpsim::proxy::plan(&analysis.cluster, &settings));
/// // Ping a ClusterIP in nftables mode: rejected at once by `cluster-ips-check`.
/// let ping = Packet::new("10.244.0.3".parse().unwrap(), "10.96.0.10".parse().unwrap(), PacketProtocol::Icmp, None);
/// let trace = kpsim::sim::trace_node(&rules, &settings, ping, kpsim::sim::entry_for(&settings, ping.src), Choices::Seed(0));
/// assert_eq!(trace.flow_output(), "REJECT");
/// ```
pub fn trace_node(
    ruleset: &Ruleset,
    settings: &ProxySettings,
    packet: Packet,
    entry: Entry,
    choices: Choices,
) -> Trace {
    match ruleset {
        Ruleset::Iptables(r) => {
            iptables::Tracer::new(r, iptables::NodeNetwork::from_settings(settings))
                .trace_from(packet, entry, choices)
        }
        Ruleset::Nftables(r) => nftables::trace(r, settings, packet, entry, choices),
        Ruleset::Ipvs(r) => ipvs::trace(r, settings, packet, entry, choices),
    }
}
