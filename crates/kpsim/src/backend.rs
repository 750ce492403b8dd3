//! Backends: one typed ruleset per proxy mode, built from the [`ProxyPlan`], each rendered to
//! the exact text kube-proxy writes through `Display`.
//!
//! Each backend speaks its own vocabulary (`iptables::Rule`, `nftables::Rule`,
//! `ipvs::VirtualServer`); [`Ruleset`] is the closed set of them, dispatched with `match`.

pub mod iptables;
pub mod ipvs;
pub mod nftables;

use std::fmt;

use crate::proxy::ProxyPlan;
use crate::settings::Mode;

/// A netfilter hook: where the kernel runs a table's chains (iptables' built-in chains,
/// nftables' base chains of the `ip`/`ip6`/`inet` families). Shared by the backends and the
/// simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    /// nftables' spelling (`hook prerouting`).
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }

    /// iptables' spelling (`PREROUTING`), also how traces show it.
    pub fn as_upper(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    /// Reads nftables' spelling.
    pub fn parse(s: &str) -> Option<Hook> {
        match s {
            "prerouting" => Some(Hook::Prerouting),
            "input" => Some(Hook::Input),
            "forward" => Some(Hook::Forward),
            "output" => Some(Hook::Output),
            "postrouting" => Some(Hook::Postrouting),
            _ => None,
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_upper())
    }
}

/// The rules kube-proxy writes on one node, in the vocabulary of its mode.
#[derive(Debug, Clone, PartialEq)]
pub enum Ruleset {
    Iptables(iptables::Ruleset),
    Nftables(nftables::Ruleset),
    Ipvs(ipvs::Ruleset),
}

impl Ruleset {
    /// Builds the ruleset of the plan's mode (`plan.settings.mode`).
    ///
    /// ```
    /// let analysis = kpsim::analyze(include_str!("../tests/data/examples/kube-proxy.yaml"), Default::default());
    /// let mut settings = kpsim::settings::ProxySettings::for_node(
    ///     &analysis.cluster, "minikube", kpsim::settings::Mode::Nftables, kpsim::net::IpFamily::V4);
    /// let plan = kpsim::proxy::plan(&analysis.cluster, &settings);
    /// let rules = kpsim::backend::Ruleset::build(&plan);
    /// assert!(rules.to_string().starts_with("add table ip kube-proxy"));
    /// settings.mode = kpsim::settings::Mode::Iptables;
    /// let rules = kpsim::backend::Ruleset::build(&kpsim::proxy::plan(&analysis.cluster, &settings));
    /// assert!(rules.to_string().starts_with("*filter"));
    /// ```
    pub fn build(plan: &ProxyPlan) -> Ruleset {
        match plan.settings.mode {
            Mode::Iptables => Ruleset::Iptables(iptables::build(plan)),
            Mode::Nftables => Ruleset::Nftables(nftables::build(plan)),
            Mode::Ipvs => Ruleset::Ipvs(ipvs::build(plan)),
        }
    }

    pub fn mode(&self) -> Mode {
        match self {
            Ruleset::Iptables(_) => Mode::Iptables,
            Ruleset::Nftables(_) => Mode::Nftables,
            Ruleset::Ipvs(_) => Mode::Ipvs,
        }
    }

    /// The second spelling of the mode: what an admin sees on the node (`iptables-save`,
    /// `nft list table`; in IPVS mode the same sections as `Display`, whose virtual servers
    /// are already the node's `ipvsadm -Ln` view).
    pub fn node_view(&self) -> String {
        match self {
            Ruleset::Iptables(r) => r.save().to_string(),
            Ruleset::Nftables(r) => r.list_view().to_string(),
            Ruleset::Ipvs(r) => r.to_string(),
        }
    }
}

/// What kube-proxy writes: the `iptables-restore` input, the `nft -f` transaction, or the
/// IPVS state in sections.
impl fmt::Display for Ruleset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ruleset::Iptables(r) => r.fmt(f),
            Ruleset::Nftables(r) => r.transaction().fmt(f),
            Ruleset::Ipvs(r) => r.fmt(f),
        }
    }
}
