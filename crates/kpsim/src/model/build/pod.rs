//! Reading a `v1/Pod` (or a workload's pod template) into a model [`Pod`] plus what the
//! scheduler needs to place it (node selector, tolerations).
//!
//! Values in `status` (pod IPs, host IP, phase, the Ready condition) are honoured when given,
//! so pasted `kubectl get pods -o yaml` output reproduces the live cluster; absent ones are
//! marked defaulted (Running, Ready). Scheduling and IP allocation are
//! [`crate::model::schedule`]'s job.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::fields::ObjectDiagnostics;
use crate::diagnostic::ObjectRef;
use crate::model::{ContainerPort, Marked, Pod, PodOwner, SourceSpan, Taint};

/// `spec.tolerations[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Toleration {
    pub key: Option<String>,
    /// `Equal` (default) or `Exists`.
    pub operator: Option<String>,
    pub value: Option<String>,
    pub effect: Option<String>,
}

impl Toleration {
    /// The scheduler's `ToleratesTaint`.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if let Some(effect) = self.effect.as_deref().filter(|e| !e.is_empty())
            && effect != taint.effect
        {
            return false;
        }
        match self.key.as_deref().filter(|k| !k.is_empty()) {
            Some(k) if k != taint.key => return false,
            None if self.operator.as_deref() != Some("Exists") => return false,
            _ => {}
        }
        match self.operator.as_deref() {
            Some("Exists") => true,
            _ => self.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        }
    }
}

/// A pod and the facts the scheduler reads about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PodRequest {
    pub pod: Pod,
    /// `spec.nodeSelector`.
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    /// Made up by kpsim (the built-in CoreDNS pod): placed and addressed first.
    pub builtin: bool,
    /// The object the pod comes from (itself or its workload), for diagnostics; `None` for
    /// built-in pods.
    pub source: Option<ObjectRef>,
    /// Path of the pod spec inside that object: `spec` or `spec.template.spec`.
    pub spec_path: String,
}

/// The controller owner of an object (`ownerReferences[]` with `controller: true`, or the
/// first one).
pub(crate) fn controller_owner(refs: Option<&Vec<OwnerReference>>) -> Option<PodOwner> {
    let refs = refs?;
    let r = refs.iter().find(|r| r.controller == Some(true)).or(refs.first())?;
    Some(PodOwner { kind: r.kind.clone(), name: r.name.clone() })
}

/// Reads a Pod object.
pub(crate) fn read_pod(d: &mut ObjectDiagnostics<'_>, pod: &core::Pod) -> PodRequest {
    let meta = &pod.metadata;
    // Borrowed, not cloned: a clone would copy (and compile the `Clone` of) every PodSpec type.
    let default = core::PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default);
    let mut request = read_pod_spec(
        d,
        spec,
        "spec",
        d.object.resource.namespace().to_owned(),
        meta.name.clone().unwrap_or_default(),
        meta.labels.clone().unwrap_or_default(),
        controller_owner(meta.owner_references.as_ref()),
    );
    request.pod.terminating = meta.deletion_timestamp.is_some();
    if let Some(status) = &pod.status {
        read_status(d, status, &mut request.pod);
    }
    request
}

/// Reads a pod spec (of a Pod, or of a workload's template at `spec_path`) into a pod that
/// is Running and Ready by default, not yet scheduled unless `spec.nodeName` says so.
pub(crate) fn read_pod_spec(
    d: &mut ObjectDiagnostics<'_>,
    spec: &core::PodSpec,
    spec_path: &str,
    namespace: String,
    name: String,
    labels: BTreeMap<String, String>,
    owner: Option<PodOwner>,
) -> PodRequest {
    let mut container_ports = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        for (j, p) in c.ports.iter().flatten().enumerate() {
            let path = format!("{spec_path}.containers[{i}].ports[{j}]");
            let Some(port) = d.port(p.container_port, &format!("{path}.containerPort")) else {
                continue;
            };
            let protocol = d.protocol(p.protocol.as_deref(), &format!("{path}.protocol")).value;
            container_ports.push(ContainerPort {
                name: p.name.clone().filter(|n| !n.is_empty()),
                container_port: port,
                protocol,
            });
        }
    }
    let node_name = match spec.node_name.as_deref() {
        Some(n) if !n.is_empty() => Marked::given(n.to_owned()),
        _ => Marked::allocated(String::new()),
    };
    let tolerations = spec
        .tolerations
        .iter()
        .flatten()
        .map(|t| Toleration {
            key: t.key.clone(),
            operator: t.operator.clone(),
            value: t.value.clone(),
            effect: t.effect.clone(),
        })
        .collect();
    let pod = Pod {
        namespace,
        name,
        labels,
        node_name,
        pod_ips: Marked::allocated(Vec::new()),
        host_ip: None,
        host_network: spec.host_network.unwrap_or(false),
        ready: Marked::defaulted(true),
        terminating: false,
        phase: Marked::defaulted("Running".to_owned()),
        container_ports,
        hostname: spec.hostname.clone().filter(|h| !h.is_empty()),
        subdomain: spec.subdomain.clone().filter(|s| !s.is_empty()),
        owner,
        span: d.span(),
    };
    PodRequest {
        pod,
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        tolerations,
        builtin: false,
        source: Some(d.object.resource.object_ref()),
        spec_path: spec_path.to_owned(),
    }
}

/// Honours `status`: pod IPs, host IP, phase and the Ready condition.
fn read_status(d: &mut ObjectDiagnostics<'_>, status: &core::PodStatus, pod: &mut Pod) {
    let mut ips: Vec<IpAddr> = Vec::new();
    match status.pod_ips.as_deref() {
        Some(list) if !list.is_empty() => {
            for (i, p) in list.iter().enumerate() {
                if let Some(ip) = d.ip(&p.ip, &format!("status.podIPs[{i}].ip")) {
                    ips.push(ip);
                }
            }
        }
        _ => {
            if let Some(s) = status.pod_ip.as_deref().filter(|s| !s.is_empty()) {
                ips.extend(d.ip(s, "status.podIP"));
            }
        }
    }
    if !ips.is_empty() {
        pod.pod_ips = Marked::given(ips);
    }
    if let Some(s) = status.host_ip.as_deref().filter(|s| !s.is_empty()) {
        pod.host_ip = d.ip(s, "status.hostIP");
    }
    if let Some(phase) = status.phase.as_deref().filter(|p| !p.is_empty()) {
        pod.phase = Marked::given(phase.to_owned());
    }
    let ready_condition =
        status.conditions.iter().flatten().find(|c| c.type_ == "Ready").map(|c| c.status == "True");
    pod.ready = match ready_condition {
        Some(ready) => Marked::given(ready),
        None => Marked::defaulted(pod.phase.value == "Running"),
    };
}

/// A pod for a built-in object (no manifest behind it).
pub(crate) fn builtin_pod(pod: Pod) -> PodRequest {
    PodRequest {
        pod: Pod { span: SourceSpan::default(), ..pod },
        node_selector: BTreeMap::new(),
        tolerations: Vec::new(),
        builtin: true,
        source: None,
        spec_path: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint { key: key.into(), value: value.map(Into::into), effect: effect.into() }
    }

    #[test]
    fn tolerations_match_like_the_scheduler() {
        let cp = taint("node-role.kubernetes.io/control-plane", None, "NoSchedule");
        let exists_all =
            Toleration { key: None, operator: Some("Exists".into()), value: None, effect: None };
        assert!(exists_all.tolerates(&cp));
        let by_key = Toleration {
            key: Some("node-role.kubernetes.io/control-plane".into()),
            operator: Some("Exists".into()),
            value: None,
            effect: Some("NoSchedule".into()),
        };
        assert!(by_key.tolerates(&cp));
        let wrong_effect = Toleration { effect: Some("NoExecute".into()), ..by_key.clone() };
        assert!(!wrong_effect.tolerates(&cp));
        let equal = Toleration {
            key: Some("dedicated".into()),
            operator: None,
            value: Some("gpu".into()),
            effect: None,
        };
        assert!(equal.tolerates(&taint("dedicated", Some("gpu"), "NoSchedule")));
        assert!(!equal.tolerates(&taint("dedicated", Some("db"), "NoSchedule")));
    }
}
