//! The scheduler and the CNI, made deterministic: which node a pod runs on and which IP it
//! gets, plus the checks on placements the input gave (unknown nodes, pod IPs outside their
//! node's pod CIDR).
//!
//! **Scheduling** (cluster admission): pods without `spec.nodeName` are taken in
//! `namespace/name` order; each goes to the feasible node with the fewest pods so far (pods
//! the input already placed count, built-in ones do not), ties broken by node name. Feasible
//! means not cordoned, every `NoSchedule`/`NoExecute` taint tolerated and `nodeSelector`
//! matched (node affinity is not modelled). With no pods placed beforehand this is a
//! round-robin over the nodes sorted by name: the walkthrough's `pod-client`,
//! `server-pod-1`, `server-pod-2` land on `minikube`, `minikube-m02`, `minikube-m03`.
//! A pod that names no node but has a pod IP goes to the node whose pod CIDR holds it; a pod
//! whose status says `Pending` without a node stays unscheduled.
//!
//! **Pod IPs**, like minikube's bridge CNI (host-local IPAM): the next free address of the
//! node's pod CIDR per family, skipping the network address and `.1` (the node's `cni0`
//! bridge) and the IPv4 broadcast address; built-in pods first, then `namespace/name` order,
//! around every IP the input gave. `hostNetwork` pods take the node's InternalIPs. Only
//! running pods get an IP.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::build::pod::PodRequest;
use super::{IpFamily, Marked, Node};
use crate::diagnostic::{Diagnostic, DiagnosticKind};

fn fits(request: &PodRequest, node: &Node) -> bool {
    !node.unschedulable
        && node
            .taints
            .iter()
            .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
            .all(|t| request.tolerations.iter().any(|tol| tol.tolerates(t)))
        && request.node_selector.iter().all(|(k, v)| node.labels.get(k) == Some(v))
}

/// Binds every unscheduled pod to a node (see the module docs).
pub(crate) fn bind(pods: &mut [PodRequest], nodes: &[Node], out: &mut Vec<Diagnostic>) {
    // A pod IP tells where a pod runs.
    for r in pods.iter_mut() {
        if !r.pod.node_name.value.is_empty() || r.pod.host_network {
            continue;
        }
        let Some(ip) = r.pod.primary_ip() else { continue };
        let family = IpFamily::of(ip);
        if let Some(node) =
            nodes.iter().find(|n| n.pod_cidr(family).is_some_and(|c| c.contains(ip)))
        {
            r.pod.node_name = Marked::derived(node.name.clone());
        }
    }
    let mut load: BTreeMap<&str, usize> = BTreeMap::new();
    load.extend(nodes.iter().map(|n| (n.name.as_str(), 0)));
    for r in pods.iter().filter(|r| !r.builtin) {
        if let Some(count) = load.get_mut(r.pod.node_name.value.as_str()) {
            *count += 1;
        }
    }
    let mut order: Vec<usize> = (0..pods.len())
        .filter(|&i| {
            let p = &pods[i].pod;
            let stays_pending =
                p.phase.origin == super::Origin::Given && p.phase.value == "Pending";
            p.node_name.value.is_empty() && !stays_pending
        })
        .collect();
    order.sort_by(|a, b| {
        let (pa, pb) = (&pods[*a].pod, &pods[*b].pod);
        (&pa.namespace, &pa.name).cmp(&(&pb.namespace, &pb.name))
    });
    for i in order {
        let chosen = nodes
            .iter()
            .filter(|n| fits(&pods[i], n))
            .min_by(|a, b| {
                let (la, lb) = (load.get(a.name.as_str()), load.get(b.name.as_str()));
                la.cmp(&lb).then_with(|| a.name.cmp(&b.name))
            })
            .map(|n| n.name.clone());
        let r = &mut pods[i];
        match chosen {
            Some(name) => {
                if let Some(count) = load.get_mut(name.as_str()) {
                    *count += 1;
                }
                r.pod.node_name = Marked::allocated(name);
            }
            None => {
                r.pod.phase = Marked::derived("Pending".to_owned());
                r.pod.ready = Marked::derived(false);
                let mut d = Diagnostic::warning(
                    DiagnosticKind::UnknownNode,
                    format!(
                        "pod {} fits no node (cordoned, untolerated taints or nodeSelector); it stays Pending",
                        r.pod.name
                    ),
                )
                .field(format!("{}.nodeSelector", r.spec_path))
                .hint("relax the nodeSelector, add tolerations, or add a node that fits");
                if let Some(src) = &r.source {
                    d = d.on(src.clone());
                }
                out.push(d);
            }
        }
    }
}

/// Gives pods their IPs and host IPs (see the module docs).
pub(crate) fn assign_ips(pods: &mut [PodRequest], nodes: &[Node], out: &mut Vec<Diagnostic>) {
    let mut used: BTreeSet<IpAddr> = BTreeSet::new();
    used.extend(
        pods.iter()
            .filter(|r| !r.pod.host_network)
            .flat_map(|r| r.pod.pod_ips.value.iter().copied()),
    );
    let mut order: Vec<usize> = (0..pods.len()).collect();
    order.sort_by(|a, b| {
        let (ra, rb) = (&pods[*a], &pods[*b]);
        (!ra.builtin, &ra.pod.namespace, &ra.pod.name).cmp(&(
            !rb.builtin,
            &rb.pod.namespace,
            &rb.pod.name,
        ))
    });
    for i in order {
        let r = &mut pods[i];
        let Some(node) = nodes.iter().find(|n| n.name == r.pod.node_name.value) else { continue };
        if r.pod.host_ip.is_none() {
            r.pod.host_ip = node.internal_ips.first().copied();
        }
        if r.pod.host_network {
            if r.pod.pod_ips.value.is_empty() {
                r.pod.pod_ips = Marked::derived(node.internal_ips.clone());
            }
            continue;
        }
        if !r.pod.pod_ips.value.is_empty() || r.pod.phase.value != "Running" {
            continue;
        }
        let mut ips = Vec::new();
        for cidr in &node.pod_cidrs.value {
            let last = match cidr.family() {
                IpFamily::V4 => cidr.size().saturating_sub(2),
                IpFamily::V6 => cidr.size().saturating_sub(1),
            }
            .min(1 << 24);
            let free = (2..=last).filter_map(|k| cidr.nth(k)).find(|ip| !used.contains(ip));
            match free {
                Some(ip) => {
                    used.insert(ip);
                    ips.push(ip);
                }
                None => {
                    let mut d = Diagnostic::error(
                        DiagnosticKind::AllocationExhausted,
                        format!("no free pod IP left in {cidr} on node {}", node.name),
                    )
                    .field(format!("{}.nodeName", r.spec_path))
                    .hint("spread the pods over more nodes, or give the node a larger podCIDR");
                    if let Some(src) = &r.source {
                        d = d.on(src.clone());
                    }
                    out.push(d);
                }
            }
        }
        r.pod.pod_ips = Marked::allocated(ips);
    }
}

/// Warns about pods on nodes that do not exist and pod IPs outside their node's pod CIDR.
pub(crate) fn check_placement(pods: &[PodRequest], nodes: &[Node], out: &mut Vec<Diagnostic>) {
    for r in pods {
        let p = &r.pod;
        if p.node_name.value.is_empty() {
            continue;
        }
        let Some(src) = &r.source else { continue };
        let Some(node) = nodes.iter().find(|n| n.name == p.node_name.value) else {
            let known: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
            out.push(
                Diagnostic::warning(
                    DiagnosticKind::UnknownNode,
                    format!(
                        "pod {} is bound to node `{}`, which does not exist; the EndpointSlice controller skips it",
                        p.name, p.node_name.value
                    ),
                )
                .on(src.clone())
                .field(format!("{}.nodeName", r.spec_path))
                .hint(if known.is_empty() {
                    "add the Node objects (kubectl get nodes -o yaml)".to_owned()
                } else {
                    format!("use one of the nodes ({}) or add the Node object", known.join(", "))
                }),
            );
            continue;
        };
        if p.host_network || p.pod_ips.origin != super::Origin::Given {
            continue;
        }
        for (i, ip) in p.pod_ips.value.iter().enumerate() {
            let Some(cidr) = node.pod_cidr(IpFamily::of(*ip)) else { continue };
            if !cidr.contains(*ip) {
                let field = if i == 0 {
                    "status.podIP".to_owned()
                } else {
                    format!("status.podIPs[{i}].ip")
                };
                out.push(
                    Diagnostic::warning(
                        DiagnosticKind::PodIpOutsideNodeCidr,
                        format!("pod IP {ip} is outside the pod CIDR {cidr} of node {}", node.name),
                    )
                    .on(src.clone())
                    .field(field)
                    .hint(format!(
                        "use an address in {cidr}, or bind the pod to the node that owns {ip}"
                    )),
                );
            }
        }
    }
}
