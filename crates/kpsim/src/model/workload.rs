//! The workload controllers, made deterministic: Deployments, ReplicaSets, StatefulSets,
//! DaemonSets and Jobs expanded into the pods they would create, with kubectl-like names.
//!
//! - Deployment → ReplicaSet `<deployment>-<pod-template-hash>` → `spec.replicas` (default 1)
//!   pods `<replicaset>-<5 chars>`, labelled `pod-template-hash`.
//! - ReplicaSet → `spec.replicas` pods `<replicaset>-<5 chars>`.
//! - StatefulSet → pods `<name>-0` … `<name>-(N-1)`, with `hostname` = pod name and
//!   `subdomain` = `spec.serviceName` (what gives them DNS names and endpoint hostnames).
//! - DaemonSet → one pod `<name>-<5 chars>` per node it fits (node selector, taints; the
//!   controller's automatic tolerations included), bound to that node.
//! - Job → `min(parallelism, completions)` pods `<name>-<5 chars>` (none when suspended).
//!
//! Suffixes and hashes come from [`super::names`]: derived from names, never random. A
//! workload whose pods the input already holds (pods whose owner is the workload, or for a
//! Deployment a ReplicaSet it owns) is not expanded: pasted live output is used as it is,
//! even when it holds fewer pods than `replicas`. Scheduling is [`super::schedule`]'s job.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;

use super::build::fields::ObjectDiagnostics;
use super::build::pod::{PodRequest, Toleration, controller_owner, read_pod_spec};
use super::names::{fnv32a, template_hash, unique_generated_name};
use super::{Marked, Node, PodOwner};
use crate::diagnostic::Diagnostic;
use crate::manifest::{Manifests, Object, Resource};

/// k8s-openapi makes workload `spec`s optional up to Kubernetes 1.36 and required from 1.37;
/// this reads either, so the crate builds with whichever version the embedder picks.
trait MaybeSpec<T> {
    fn spec_ref(&self) -> Option<&T>;
}

macro_rules! maybe_spec {
    ($($t:ty),*) => {$(
        impl MaybeSpec<$t> for $t {
            fn spec_ref(&self) -> Option<&$t> {
                Some(self)
            }
        }
        impl MaybeSpec<$t> for Option<$t> {
            fn spec_ref(&self) -> Option<&$t> {
                self.as_ref()
            }
        }
    )*};
}

maybe_spec!(apps::DeploymentSpec, apps::ReplicaSetSpec, apps::StatefulSetSpec, apps::DaemonSetSpec);

/// Tolerations the DaemonSet controller adds to every daemon pod.
fn daemon_tolerations() -> Vec<Toleration> {
    [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
    .iter()
    .map(|(key, effect)| Toleration {
        key: Some((*key).to_owned()),
        operator: Some("Exists".to_owned()),
        value: None,
        effect: Some((*effect).to_owned()),
    })
    .collect()
}

/// What is already there: the owners of given pods and of given ReplicaSets, and the pod
/// names taken per namespace.
pub(crate) struct Existing {
    /// `(kind, namespace, name)` of every controller that owns a given pod or ReplicaSet.
    owners: BTreeSet<(String, String, String)>,
    /// Pod names per namespace.
    pub pod_names: BTreeMap<String, BTreeSet<String>>,
}

impl Existing {
    pub fn new(manifests: &Manifests, pods: &[PodRequest]) -> Existing {
        let mut owners = BTreeSet::new();
        let mut pod_names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in pods {
            if let Some(o) = &r.pod.owner {
                owners.insert((o.kind.clone(), r.pod.namespace.clone(), o.name.clone()));
            }
            pod_names.entry(r.pod.namespace.clone()).or_default().insert(r.pod.name.clone());
        }
        for object in &manifests.objects {
            if let Resource::ReplicaSet(rs) = &object.resource
                && let Some(o) = controller_owner(rs.metadata.owner_references.as_ref())
            {
                owners.insert((o.kind, object.resource.namespace().to_owned(), o.name));
            }
        }
        Existing { owners, pod_names }
    }

    fn owns_something(&self, kind: &str, namespace: &str, name: &str) -> bool {
        self.owners.contains(&(kind.to_owned(), namespace.to_owned(), name.to_owned()))
    }
}

/// Expands one workload object into the pods its controller would create. `nodes` are in
/// name order (a DaemonSet's pods are made in that order). `nodes` are in
/// name order (a DaemonSet's pods are made in that order).
pub(crate) fn expand(
    manifests: &Manifests,
    object: &Object,
    nodes: &[Node],
    existing: &mut Existing,
    out: &mut Vec<Diagnostic>,
) -> Vec<PodRequest> {
    let namespace = object.resource.namespace().to_owned();
    let name = object.resource.name().to_owned();
    let kind = object.resource.kind();
    if existing.owns_something(kind, &namespace, &name) {
        return Vec::new();
    }
    let mut d = ObjectDiagnostics { manifests, object, out };
    let replicas = |r: Option<i32>| usize::try_from(r.unwrap_or(1)).unwrap_or(0);
    // What the controllers hash. A workload written without a template has an empty one
    // (k8s-openapi's default): `{}` is the canonical form of an empty mapping.
    let template = object.template_fingerprint.unwrap_or_else(|| fnv32a(b"{}"));
    match &object.resource {
        Resource::Deployment(dep) => {
            let Some(spec) = dep.spec.spec_ref() else { return Vec::new() };
            let hash = template_hash(template);
            let rs = format!("{name}-{hash}");
            let owner = PodOwner { kind: "ReplicaSet".to_owned(), name: rs.clone() };
            let labels = [("pod-template-hash".to_owned(), hash)];
            (0..replicas(spec.replicas))
                .map(|i| {
                    let pod_name = generated(existing, &namespace, &rs, i);
                    from_template(&mut d, &spec.template, &namespace, pod_name, &labels, &owner)
                })
                .collect()
        }
        Resource::ReplicaSet(rs) => {
            let Some(spec) = rs.spec.spec_ref() else { return Vec::new() };
            let Some(template) = &spec.template else { return Vec::new() };
            let owner = PodOwner { kind: "ReplicaSet".to_owned(), name: name.clone() };
            (0..replicas(spec.replicas))
                .map(|i| {
                    let pod_name = generated(existing, &namespace, &name, i);
                    from_template(&mut d, template, &namespace, pod_name, &[], &owner)
                })
                .collect()
        }
        Resource::StatefulSet(sts) => {
            let Some(spec) = sts.spec.spec_ref() else { return Vec::new() };
            let revision = format!("{name}-{}", template_hash(template));
            let owner = PodOwner { kind: "StatefulSet".to_owned(), name: name.clone() };
            let service_name = spec.service_name.clone().filter(|s| !s.is_empty());
            (0..replicas(spec.replicas))
                .map(|i| {
                    let pod_name = format!("{name}-{i}");
                    existing
                        .pod_names
                        .entry(namespace.clone())
                        .or_default()
                        .insert(pod_name.clone());
                    let labels = [
                        ("apps.kubernetes.io/pod-index".to_owned(), i.to_string()),
                        ("controller-revision-hash".to_owned(), revision.clone()),
                        ("statefulset.kubernetes.io/pod-name".to_owned(), pod_name.clone()),
                    ];
                    let mut r = from_template(
                        &mut d,
                        &spec.template,
                        &namespace,
                        pod_name.clone(),
                        &labels,
                        &owner,
                    );
                    r.pod.hostname = Some(pod_name);
                    r.pod.subdomain = service_name.clone();
                    r
                })
                .collect()
        }
        Resource::DaemonSet(ds) => {
            let Some(spec) = ds.spec.spec_ref() else { return Vec::new() };
            let revision = template_hash(template);
            let owner = PodOwner { kind: "DaemonSet".to_owned(), name: name.clone() };
            let labels = [
                ("controller-revision-hash".to_owned(), revision),
                ("pod-template-generation".to_owned(), "1".to_owned()),
            ];
            let mut pods = Vec::new();
            for node in nodes {
                let seed = format!("{namespace}/{name}/{}", node.name);
                let pod_name = unique_generated_name(
                    &format!("{name}-"),
                    &seed,
                    existing.pod_names.entry(namespace.clone()).or_default(),
                );
                let mut r =
                    from_template(&mut d, &spec.template, &namespace, pod_name, &labels, &owner);
                r.tolerations.extend(daemon_tolerations());
                let fits = node
                    .taints
                    .iter()
                    .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
                    .all(|t| r.tolerations.iter().any(|tol| tol.tolerates(t)))
                    && r.node_selector.iter().all(|(k, v)| node.labels.get(k) == Some(v));
                if fits {
                    r.pod.node_name = Marked::allocated(node.name.clone());
                    pods.push(r);
                } else if let Some(set) = existing.pod_names.get_mut(&namespace) {
                    set.remove(&r.pod.name);
                }
            }
            pods
        }
        Resource::Job(job) => {
            let Some(spec) = &job.spec else { return Vec::new() };
            if spec.suspend == Some(true) {
                return Vec::new();
            }
            let parallelism = replicas(spec.parallelism);
            let count = match spec.completions {
                Some(c) => parallelism.min(usize::try_from(c).unwrap_or(0)),
                None => parallelism,
            };
            let owner = PodOwner { kind: "Job".to_owned(), name: name.clone() };
            let labels = [
                ("batch.kubernetes.io/job-name".to_owned(), name.clone()),
                ("job-name".to_owned(), name.clone()),
            ];
            (0..count)
                .map(|i| {
                    let pod_name = generated(existing, &namespace, &name, i);
                    from_template(&mut d, &spec.template, &namespace, pod_name, &labels, &owner)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// `<base>-<5 chars>` for the `index`-th pod of a controller, unique in its namespace.
fn generated(existing: &mut Existing, namespace: &str, base: &str, index: usize) -> String {
    let seed = format!("{namespace}/{base}/{index}");
    unique_generated_name(
        &format!("{base}-"),
        &seed,
        existing.pod_names.entry(namespace.to_owned()).or_default(),
    )
}

fn from_template(
    d: &mut ObjectDiagnostics<'_>,
    template: &core::PodTemplateSpec,
    namespace: &str,
    name: String,
    extra_labels: &[(String, String)],
    owner: &PodOwner,
) -> PodRequest {
    let mut labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.extend(extra_labels.iter().cloned());
    // Borrowed, not cloned: a clone would copy (and compile the `Clone` of) every PodSpec type.
    let default = core::PodSpec::default();
    let spec = template.spec.as_ref().unwrap_or(&default);
    read_pod_spec(
        d,
        spec,
        "spec.template.spec",
        namespace.to_owned(),
        name,
        labels,
        Some(owner.clone()),
    )
}
