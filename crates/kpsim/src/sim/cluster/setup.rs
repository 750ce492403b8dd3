//! The walkthrough's experiments and what they change before any packet moves: which rules
//! each node holds (kube-proxy running, never run, stopped after an older sync, or a given
//! ruleset), which pods are not ready (their endpoints recomputed as the EndpointSlice
//! controller would), and which nodes lack the CNI's routes.
//!
//! Not here: tracing (the walk's), or the routes themselves (the network model's).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Serialize;

use super::{ClusterNetwork, NodeRules, TraceError};
use crate::backend::{Ruleset, iptables, ipvs, nftables};
use crate::model::{Cluster, Marked, NamespacedName, SliceOrigin};
use crate::net::IpFamily;
use crate::settings::{Mode, ProxySettings};
use crate::sim::network::Network;

/// What kube-proxy does on a node.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum KubeProxy {
    /// Running: rules from the current cluster.
    #[default]
    Running,
    /// Never ran: no KUBE-* chains, no `kube-proxy` table.
    NeverRan,
    /// Stopped after syncing this (older) cluster: its rules stay as they were then, while
    /// pods and nodes are the current ones.
    StoppedAfterSync(Box<Cluster>),
    /// These rules, as given (read from a live node); families other than the ruleset's have
    /// none.
    Rules(Box<Ruleset>),
}

/// The kube-proxy state a node's rules come from (what a trace reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KubeProxyState {
    Running,
    NeverRan,
    StoppedAfterSync,
    Given,
}

/// The experiments: every switch of the walkthrough in one value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Experiments {
    /// The proxy mode on every node.
    pub mode: Mode,
    /// kube-proxy on every node not in `kube_proxy_on`.
    pub kube_proxy: KubeProxy,
    /// kube-proxy per node, overriding `kube_proxy`.
    pub kube_proxy_on: BTreeMap<String, KubeProxy>,
    /// Pods whose readiness probe fails (running, but not ready).
    pub not_ready: BTreeSet<NamespacedName>,
    /// Nodes without the CNI's routes to the other nodes' pod CIDRs.
    pub no_routes: BTreeSet<String>,
}

impl Experiments {
    /// Everything running, in `mode`.
    pub fn in_mode(mode: Mode) -> Experiments {
        Experiments { mode, ..Experiments::default() }
    }

    /// kube-proxy on `node`.
    pub fn kube_proxy_of(&self, node: &str) -> &KubeProxy {
        self.kube_proxy_on.get(node).unwrap_or(&self.kube_proxy)
    }
}

fn node_names(cluster: &Cluster) -> Vec<String> {
    cluster.nodes.iter().map(|n| n.name.clone()).collect()
}

fn check_node(cluster: &Cluster, node: &str) -> Result<(), TraceError> {
    if cluster.node(node).is_some() {
        return Ok(());
    }
    Err(TraceError::NotFound { what: format!("node `{node}`"), known: node_names(cluster) })
}

/// The cluster with `not_ready` pods not ready, and their endpoints as the controller (or,
/// for slices given in the input, the pod's own readiness) would then say.
fn with_not_ready(cluster: &Cluster, not_ready: &BTreeSet<NamespacedName>) -> Cluster {
    let mut c = cluster.clone();
    if not_ready.is_empty() {
        return c;
    }
    let mut ips = BTreeSet::new();
    for key in not_ready {
        if let Some(pod) = c.pods.get_mut(key) {
            pod.ready = Marked::given(false);
            ips.extend(pod.pod_ips.value.iter().copied());
        }
    }
    c.endpoint_slices.retain(|_, s| s.origin != SliceOrigin::Controller);
    for slice in c.endpoint_slices.values_mut() {
        for e in &mut slice.endpoints {
            let by_ref = e.target_ref.as_ref().is_some_and(|r| {
                r.kind == "Pod" && not_ready.contains(&NamespacedName::new(&r.namespace, &r.name))
            });
            if by_ref || e.addresses.first().is_some_and(|a| ips.contains(a)) {
                e.conditions.ready = Some(false);
                e.conditions.serving = Some(false);
            }
        }
    }
    for slice in crate::endpoints::reconcile(&c) {
        c.endpoint_slices.insert(NamespacedName::new(&slice.namespace, &slice.name), slice);
    }
    c
}

fn empty_ruleset(mode: Mode, family: IpFamily) -> Ruleset {
    match mode {
        Mode::Nftables => Ruleset::Nftables(nftables::Ruleset { tables: Vec::new() }),
        Mode::Iptables => Ruleset::Iptables(iptables::Ruleset::new(family)),
        Mode::Ipvs => Ruleset::Ipvs(ipvs::Ruleset::empty(family)),
    }
}

/// kube-proxy's ruleset for `settings`, in the settings' own mode.
fn build(cluster: &Cluster, settings: &ProxySettings) -> Ruleset {
    let plan = crate::proxy::plan(cluster, settings);
    match settings.mode {
        Mode::Nftables => Ruleset::Nftables(nftables::build(&plan)),
        Mode::Iptables => Ruleset::Iptables(iptables::build(&plan)),
        Mode::Ipvs => Ruleset::Ipvs(ipvs::build(&plan)),
    }
}

/// The rules of `node` for `family` under `kube_proxy`; `current` is the cluster as the
/// experiments make it. Called once per node and family, when a trace first needs them.
pub(super) fn node_rules(
    current: &Cluster,
    node: &str,
    family: IpFamily,
    mode: Mode,
    kube_proxy: &KubeProxy,
) -> NodeRules {
    let settings = ProxySettings::for_node(current, node, mode, family);
    let (ruleset, state) = match kube_proxy {
        KubeProxy::Running => (build(current, &settings), KubeProxyState::Running),
        KubeProxy::NeverRan => (empty_ruleset(mode, family), KubeProxyState::NeverRan),
        KubeProxy::StoppedAfterSync(older) => {
            let then = if older.node(node).is_some() {
                ProxySettings::for_node(older, node, mode, family)
            } else {
                settings.clone()
            };
            (build(older, &then), KubeProxyState::StoppedAfterSync)
        }
        KubeProxy::Rules(r) => {
            let same_family = match r.as_ref() {
                Ruleset::Iptables(i) => i.family == family,
                Ruleset::Nftables(_) => true,
                Ruleset::Ipvs(i) => i.family == family,
            };
            let rules = if same_family { (**r).clone() } else { empty_ruleset(r.mode(), family) };
            (rules, KubeProxyState::Given)
        }
    };
    let mut settings = settings;
    settings.mode = ruleset.mode();
    NodeRules { settings, ruleset, kube_proxy: state }
}

/// Builds the [`ClusterNetwork`] (see its docs).
pub(super) fn prepare(
    cluster: &Cluster,
    experiments: &Experiments,
) -> Result<ClusterNetwork, TraceError> {
    for node in experiments.kube_proxy_on.keys().chain(&experiments.no_routes) {
        check_node(cluster, node)?;
    }
    for key in &experiments.not_ready {
        if !cluster.pods.contains_key(key) {
            return Err(TraceError::NotFound {
                what: format!("pod `{key}`"),
                known: cluster.pods.keys().take(8).map(ToString::to_string).collect(),
            });
        }
    }
    let current = with_not_ready(cluster, &experiments.not_ready);
    let mut network = Network::new(&current, &experiments.no_routes);
    let mut rules = BTreeMap::new();
    for node in &current.nodes {
        let mut families: Vec<IpFamily> =
            node.internal_ips.iter().map(|ip| IpFamily::of(*ip)).collect();
        families.extend(node.pod_cidrs.value.iter().map(|c| c.family()));
        families.sort();
        families.dedup();
        for family in families {
            let lazy = OnceLock::new();
            // IPVS state changes the node's network (kube-ipvs0's addresses are local), so
            // it is made now rather than when a trace first needs it.
            let kube_proxy = experiments.kube_proxy_of(&node.name);
            let ipvs_rules = matches!(kube_proxy, KubeProxy::Rules(r) if r.mode() == Mode::Ipvs);
            if experiments.mode == Mode::Ipvs || ipvs_rules {
                let made = node_rules(&current, &node.name, family, experiments.mode, kube_proxy);
                if let Ruleset::Ipvs(r) = &made.ruleset {
                    let addrs: Vec<_> = r.dummy.addresses.iter().copied().collect();
                    network.add_dummy(&node.name, ipvs::DUMMY_INTERFACE, &addrs);
                }
                let _ = lazy.set(made);
            }
            rules.insert((node.name.clone(), family), lazy);
        }
    }
    Ok(ClusterNetwork { cluster: current, experiments: experiments.clone(), network, rules })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Admission;

    #[test]
    fn a_not_ready_pod_leaves_the_ready_endpoints() {
        let c = crate::analyze(
            include_str!("../../../tests/data/examples/kube-proxy.yaml"),
            Admission::Auto,
        )
        .cluster;
        let key = NamespacedName::new("default", "server-pod-1");
        let c2 = with_not_ready(&c, &BTreeSet::from([key]));
        let svc = NamespacedName::new("default", "service");
        let ready: Vec<bool> = c2
            .slices_of(&svc)
            .flat_map(|s| &s.endpoints)
            .map(|e| e.conditions.is_ready())
            .collect();
        assert_eq!(ready, [false, true]);
        assert_eq!(c2.endpoint_slices.len(), c.endpoint_slices.len());
    }
}
