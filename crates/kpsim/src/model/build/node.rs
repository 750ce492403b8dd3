//! Reading a `v1/Node` into a model [`Node`]: name, labels, InternalIPs, pod CIDRs, cordon
//! and taints, used exactly as given. Default nodes are [`crate::model::builtin`]'s;
//! allocating missing pod CIDRs is [`crate::model::allocate`]'s.

use k8s_openapi::api::core::v1 as core;

use super::fields::ObjectDiagnostics;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::model::{Marked, Node, Origin, Taint};

pub(crate) fn read_node(d: &mut ObjectDiagnostics<'_>, node: &core::Node) -> Node {
    let meta = &node.metadata;
    let default = core::NodeSpec::default();
    let spec = node.spec.as_ref().unwrap_or(&default);
    let mut internal_ips = Vec::new();
    let addresses = node.status.as_ref().and_then(|s| s.addresses.as_ref());
    for (i, a) in addresses.into_iter().flatten().enumerate() {
        if a.type_ == "InternalIP"
            && let Some(ip) = d.ip(&a.address, &format!("status.addresses[{i}].address"))
        {
            internal_ips.push(ip);
        }
    }
    if internal_ips.is_empty() {
        d.push(
            Diagnostic::warning(
                DiagnosticKind::MissingField,
                "the node has no InternalIP: hostNetwork pods on it get no IP and kube-proxy there has no node IP",
            )
            .hint("add status.addresses with `type: InternalIP`"),
            "status",
        );
    }
    let mut pod_cidrs = Vec::new();
    match spec.pod_cidrs.as_deref() {
        Some(list) if !list.is_empty() => {
            for (i, c) in list.iter().enumerate() {
                pod_cidrs.extend(d.cidr(c, &format!("spec.podCIDRs[{i}]")));
            }
        }
        _ => {
            if let Some(c) = spec.pod_cidr.as_deref().filter(|c| !c.is_empty()) {
                pod_cidrs.extend(d.cidr(c, "spec.podCIDR"));
            }
        }
    }
    if let (Some(single), Some(list)) = (spec.pod_cidr.as_deref(), spec.pod_cidrs.as_deref())
        && list.first().is_some_and(|first| first != single)
    {
        d.push(
            Diagnostic::warning(
                DiagnosticKind::InvalidValue,
                format!("podCIDR `{single}` differs from podCIDRs[0]; podCIDRs wins"),
            )
            .hint("make podCIDR equal to the first entry of podCIDRs"),
            "spec.podCIDR",
        );
    }
    let taints = spec
        .taints
        .iter()
        .flatten()
        .map(|t| Taint { key: t.key.clone(), value: t.value.clone(), effect: t.effect.clone() })
        .collect();
    Node {
        name: meta.name.clone().unwrap_or_default(),
        labels: meta.labels.clone().unwrap_or_default(),
        internal_ips,
        pod_cidrs: Marked::given(pod_cidrs),
        unschedulable: spec.unschedulable.unwrap_or(false),
        taints,
        origin: Origin::Given,
        span: d.span(),
    }
}
