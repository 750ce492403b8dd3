//! Endpoint categorisation (kube-proxy's `pkg/proxy/topology.go`): which endpoints receive
//! cluster-wide traffic, which receive node-local traffic, and why the others receive none.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ProxyEndpoint, ServicePortPlan};
use crate::model::ZONE_LABEL;
use crate::settings::FeatureGates;

/// The topology mode kube-proxy picked from endpoint hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub enum TopologyMode {
    /// No hints used: every ready endpoint is eligible.
    #[default]
    None,
    /// Only endpoints hinted for this node (`hints.forNodes`).
    PreferSameNode,
    /// Only endpoints hinted for this node's zone (`hints.forZones`).
    PreferSameZone,
}

/// Why an endpoint does or does not receive traffic on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointUse {
    /// Ready, and chosen for the traffic it serves here.
    Used,
    /// Serving but terminating, used because no ready endpoint exists in its scope.
    TerminatingFallback,
    /// Serving and terminating, skipped because ready endpoints exist.
    TerminatingSkipped,
    /// Not ready (and not a serving, terminating endpoint).
    NotReady,
    /// Ready, but only node-local endpoints are used (traffic policy Local) and it is on
    /// another node.
    NotLocal,
    /// Ready, but its topology hints point at another zone or node.
    OtherTopology,
}

/// The result of categorising one service port's endpoints (indices into its `endpoints`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Categorized {
    /// Endpoints for cluster-wide traffic, in endpoint order.
    pub cluster: Vec<usize>,
    /// Endpoints for node-local traffic, in endpoint order.
    pub local: Vec<usize>,
    /// Union of both: exactly the endpoints that get per-endpoint rules, in endpoint order.
    pub reachable: Vec<usize>,
    /// Some usable endpoint exists somewhere in the cluster.
    pub has_any_endpoints: bool,
    pub topology: TopologyMode,
    /// One verdict per endpoint.
    pub uses: Vec<EndpointUse>,
}

/// Categorises the endpoints of one service port for a node (kube-proxy's
/// `CategorizeEndpoints`).
pub fn categorize(
    sp: &ServicePortPlan,
    node_name: &str,
    node_labels: &BTreeMap<String, String>,
    gates: &FeatureGates,
) -> Categorized {
    let eps = &sp.endpoints;
    let zone = node_labels.get(ZONE_LABEL).map(String::as_str).unwrap_or("");
    let mut out = Categorized::default();
    let serving_terminating = |e: &ProxyEndpoint| e.serving && e.terminating;

    if sp.uses_cluster_endpoints() {
        out.topology = topology_mode(eps, node_name, zone, gates);
        out.cluster =
            indices(eps, |e| e.ready && available_for_topology(e, out.topology, node_name, zone));
        if out.cluster.is_empty() {
            out.cluster = indices(eps, serving_terminating);
        }
        out.has_any_endpoints = !out.cluster.is_empty();
    }

    let mut local_uses_terminating = false;
    if sp.uses_local_endpoints() {
        let mut has_local_ready = false;
        let mut has_local_serving_terminating = false;
        for e in eps {
            if e.ready {
                out.has_any_endpoints = true;
                has_local_ready |= e.is_local;
            } else if serving_terminating(e) {
                out.has_any_endpoints = true;
                has_local_serving_terminating |= e.is_local;
            }
        }
        if has_local_ready {
            out.local = indices(eps, |e| e.is_local && e.ready);
        } else if has_local_serving_terminating {
            local_uses_terminating = true;
            out.local = indices(eps, |e| e.is_local && serving_terminating(e));
        }
    }

    out.reachable = if !sp.uses_local_endpoints() {
        out.cluster.clone()
    } else if !sp.uses_cluster_endpoints() {
        out.local.clone()
    } else if out.topology == TopologyMode::None && !local_uses_terminating {
        out.cluster.clone()
    } else {
        let mut all: Vec<usize> = out.cluster.iter().chain(&out.local).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    };

    let mut reachable = vec![false; eps.len()];
    for &i in &out.reachable {
        reachable[i] = true;
    }
    out.uses = eps
        .iter()
        .zip(reachable)
        .map(|(e, used)| match (used, e.ready) {
            (true, true) => EndpointUse::Used,
            (true, false) => EndpointUse::TerminatingFallback,
            (false, false) if serving_terminating(e) => EndpointUse::TerminatingSkipped,
            (false, false) => EndpointUse::NotReady,
            (false, true) if sp.uses_cluster_endpoints() && out.topology != TopologyMode::None => {
                EndpointUse::OtherTopology
            }
            (false, true) => EndpointUse::NotLocal,
        })
        .collect();
    out
}

fn indices(eps: &[ProxyEndpoint], keep: impl Fn(&ProxyEndpoint) -> bool) -> Vec<usize> {
    eps.iter().enumerate().filter(|(_, e)| keep(e)).map(|(i, _)| i).collect()
}

fn topology_mode(
    eps: &[ProxyEndpoint],
    node_name: &str,
    zone: &str,
    gates: &FeatureGates,
) -> TopologyMode {
    let mut has_for_node = false;
    let mut all_have_node_hints = true;
    let mut has_for_zone = false;
    let mut all_have_zone_hints = true;
    for e in eps.iter().filter(|e| e.ready) {
        if e.zone_hints.is_empty() {
            all_have_zone_hints = false;
        } else if e.zone_hints.contains(zone) {
            has_for_zone = true;
        }
        if e.node_hints.is_empty() {
            all_have_node_hints = false;
        } else if e.node_hints.contains(node_name) {
            has_for_node = true;
        }
    }
    if gates.prefer_same_traffic_distribution && all_have_node_hints && has_for_node {
        return TopologyMode::PreferSameNode;
    }
    if all_have_zone_hints && has_for_zone {
        return TopologyMode::PreferSameZone;
    }
    TopologyMode::None
}

fn available_for_topology(
    e: &ProxyEndpoint,
    mode: TopologyMode,
    node_name: &str,
    zone: &str,
) -> bool {
    match mode {
        TopologyMode::None => true,
        TopologyMode::PreferSameNode => e.node_hints.contains(node_name),
        TopologyMode::PreferSameZone => e.zone_hints.contains(zone),
    }
}
