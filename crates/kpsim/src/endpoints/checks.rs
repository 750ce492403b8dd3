//! Why a Service may have no endpoints: a selector that matches no pod, one that matches pods
//! only in other namespaces, and named target ports the selected pods do not expose.
//!
//! Only run when the cluster has pods at all (cluster admission, or pods in the input): a
//! kube-proxy-style input of Services and slices has no pods to compare with. Only Services
//! from the input are checked. Diagnostics carry the Service and a field path; the model
//! builder locates them.

use std::collections::BTreeSet;

use crate::diagnostic::{Diagnostic, DiagnosticKind, ObjectRef};
use crate::model::{Cluster, Pod, ServiceType, TargetPort};

fn selector_text(selector: &std::collections::BTreeMap<String, String>) -> String {
    selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// Diagnostics about every selector Service of the input.
pub(crate) fn selector_diagnostics(cluster: &Cluster) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (key, svc) in &cluster.services {
        let Some(selector) = &svc.selector else { continue };
        if svc.span.document.is_none() || svc.service_type.value == ServiceType::ExternalName {
            continue;
        }
        let obj = ObjectRef::new("Service", &key.namespace, &key.name);
        let matched: Vec<&Pod> = super::pods_in_namespace(cluster, &key.namespace)
            .filter(|p| p.matches(selector))
            .collect();
        if matched.is_empty() {
            let mut elsewhere: BTreeSet<&str> = BTreeSet::new();
            elsewhere.extend(
                cluster
                    .pods
                    .values()
                    .filter(|p| p.namespace != key.namespace && p.matches(selector))
                    .map(|p| p.namespace.as_str()),
            );
            let d = if elsewhere.is_empty() {
                Diagnostic::warning(
                    DiagnosticKind::SelectorMatchesNothing,
                    format!(
                        "selector {} matches no pod in namespace {}; the Service has no endpoints",
                        selector_text(selector),
                        key.namespace
                    ),
                )
                .hint(
                    "check the selector against the pods' labels (kubectl get pods --show-labels)",
                )
            } else {
                let list: Vec<&str> = elsewhere.into_iter().collect();
                Diagnostic::warning(
                    DiagnosticKind::SelectorMatchesOtherNamespace,
                    format!(
                        "selector {} matches pods only in namespace {}, but a Service selects pods of its own namespace {}",
                        selector_text(selector),
                        list.join(", "),
                        key.namespace
                    ),
                )
                .hint(format!("put the Service in namespace {} (metadata.namespace), or move the pods", list[0]))
            };
            out.push(d.on(obj).field("spec.selector"));
            continue;
        }
        for (i, port) in svc.ports.iter().enumerate() {
            let TargetPort::Name(name) = &port.target_port.value else { continue };
            let protocol = port.protocol.value;
            let lacking: Vec<&str> = matched
                .iter()
                .filter(|p| p.find_named_port(name, protocol).is_none())
                .map(|p| p.name.as_str())
                .collect();
            if lacking.is_empty() {
                continue;
            }
            let other_protocol = matched.iter().any(|p| {
                p.container_ports.iter().any(|c| c.name.as_deref() == Some(name.as_str()))
            });
            let hint = if other_protocol {
                format!(
                    "a container port is named `{name}` but not with protocol {protocol}; make the protocols agree"
                )
            } else {
                format!(
                    "name a containerPort `{name}` in the pods, or use a port number as targetPort"
                )
            };
            let message = if lacking.len() == matched.len() {
                format!(
                    "no selected pod exposes a port named `{name}` ({protocol}); port {} has no endpoints",
                    port.port
                )
            } else {
                format!(
                    "pods {} do not expose a port named `{name}` ({protocol}); their endpoints lack port {}",
                    lacking.join(", "),
                    port.port
                )
            };
            out.push(
                Diagnostic::warning(DiagnosticKind::NamedPortNotFound, message)
                    .on(obj.clone())
                    .field(format!("spec.ports[{i}].targetPort"))
                    .hint(hint),
            );
        }
    }
    out
}
