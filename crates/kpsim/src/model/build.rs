//! From typed manifests to a [`Cluster`]: the whole model stage in one pure function,
//! [`build`], which reads every object, admits it, and runs the controllers kube-proxy
//! depends on, collecting every diagnostic on the way.
//!
//! The order mirrors a cluster coming up: namespaces and nodes, CIDRs, built-in objects,
//! pods (given, then expanded from workloads), scheduling and pod IPs, Services and their
//! allocations, then EndpointSlices (given, mirrored from Endpoints, the API server's own,
//! the controller's) and the selector checks. Reading single objects lives in the
//! submodules; allocation, scheduling and workload expansion in sibling modules; the
//! EndpointSlice controller in [`crate::endpoints`].

pub(crate) mod endpoint_slice;
pub(crate) mod fields;
pub(crate) mod node;
pub(crate) mod pod;
pub(crate) mod service;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::{
    Admission, Cluster, ClusterIp, IpFamily, NamespacedName, Node, Service, ServiceType,
    TargetPort, allocate, builtin, schedule, workload,
};
use crate::diagnostic::{Diagnostic, DiagnosticKind, ObjectRef};
use crate::endpoints;
use crate::manifest::{Manifests, Object, Resource};
use fields::ObjectDiagnostics;
use pod::PodRequest;
use service::ServiceRequest;

/// Builds the cluster from parsed manifests.
///
/// `admission` decides whether the API server is simulated (see [`Admission`]);
/// [`Admission::Auto`] is resolved here and the result stored in [`Cluster::admission`].
/// Objects that cannot be read are skipped with a diagnostic; the rest still make a cluster.
/// The returned diagnostics are this stage's only (not the manifest stage's), located and in
/// input order; those not about one place in the input come first.
///
/// ```
/// let m = kpsim::manifest::parse(include_str!("../../tests/data/examples/kube-proxy.yaml"));
/// let (cluster, _) = kpsim::model::build::build(&m, kpsim::model::Admission::Auto);
/// assert_eq!(cluster.admission, kpsim::model::Admission::Cluster);
/// let client = cluster.pod("default", "pod-client").unwrap();
/// assert_eq!(client.node_name.value, "minikube");
/// assert_eq!(client.pod_ips.value[0].to_string(), "10.244.0.3"); // CoreDNS has .2
/// ```
pub fn build(manifests: &Manifests, admission: Admission) -> (Cluster, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let (admission, note) = admission.resolve(manifests);
    out.extend(note);
    let simulate = admission == Admission::Cluster;
    let mut cluster =
        Cluster { admission, dns_domain: "cluster.local".to_owned(), ..Default::default() };

    let (objects, index) = distinct_objects(manifests, &mut out);
    let input_has_pods = objects.iter().any(|o| {
        matches!(
            o.resource,
            Resource::Pod(_)
                | Resource::Deployment(_)
                | Resource::ReplicaSet(_)
                | Resource::StatefulSet(_)
                | Resource::DaemonSet(_)
                | Resource::Job(_)
        )
    });

    // Namespaces.
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    if simulate {
        namespaces.extend(builtin::NAMESPACES.iter().map(|s| (*s).to_owned()));
    }
    for o in &objects {
        match &o.resource {
            Resource::Namespace(_) => namespaces.insert(o.resource.name().to_owned()),
            r => namespaces.insert(r.namespace().to_owned()),
        };
    }

    // Nodes.
    let mut nodes: Vec<Node> = Vec::new();
    for o in &objects {
        if let Resource::Node(n) = &o.resource {
            let mut d = ObjectDiagnostics { manifests, object: o, out: &mut out };
            nodes.push(node::read_node(&mut d, n));
        }
    }
    if nodes.is_empty() && simulate {
        nodes = builtin::default_nodes();
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));

    // Given pods and Services.
    let mut pods: Vec<PodRequest> = Vec::new();
    let mut services: BTreeMap<NamespacedName, Service> = BTreeMap::new();
    let mut requests: BTreeMap<NamespacedName, ServiceRequest> = BTreeMap::new();
    for o in &objects {
        let mut d = ObjectDiagnostics { manifests, object: o, out: &mut out };
        match &o.resource {
            Resource::Pod(p) => pods.push(pod::read_pod(&mut d, p)),
            Resource::Service(s) => {
                let svc = service::read_service(&mut d, s, !simulate);
                let key = NamespacedName::new(&svc.namespace, &svc.name);
                requests.insert(key.clone(), service::service_request(s));
                services.insert(key, svc);
            }
            _ => {}
        }
    }

    // CIDRs.
    let given_pod_ips: Vec<IpAddr> = pods
        .iter()
        .filter(|r| !r.pod.host_network)
        .flat_map(|r| r.pod.pod_ips.value.iter().copied())
        .collect();
    if simulate {
        let given_cluster_ips: Vec<IpAddr> = services
            .values()
            .flat_map(|s| match &s.cluster_ip.value {
                ClusterIp::Ips(ips) => ips.clone(),
                _ => Vec::new(),
            })
            .collect();
        let (cidrs, derived) = allocate::service_cidrs(&given_cluster_ips);
        cluster.service_cidrs = cidrs;
        out.extend(derived);
        cluster.pod_cidrs = allocate::pod_cidrs(&nodes, &given_pod_ips);
        allocate::node_pod_cidrs(&mut nodes, &cluster.pod_cidrs, &mut out);
    } else if nodes.iter().any(|n| !n.pod_cidrs.value.is_empty()) {
        cluster.pod_cidrs = allocate::pod_cidrs(&nodes, &[]);
    }

    // Built-in Services.
    if simulate {
        add_builtin_services(&mut services, &cluster);
    }

    // Workloads.
    let mut existing = workload::Existing::new(manifests, &pods);
    for o in &objects {
        let is_workload = matches!(
            o.resource,
            Resource::Deployment(_)
                | Resource::ReplicaSet(_)
                | Resource::StatefulSet(_)
                | Resource::DaemonSet(_)
                | Resource::Job(_)
        );
        if !is_workload {
            continue;
        }
        if simulate {
            pods.extend(workload::expand(manifests, o, &nodes, &mut existing, &mut out));
        } else {
            out.push(
                Diagnostic::warning(
                    DiagnosticKind::Explanation,
                    format!("{} is not expanded into pods in as-given admission", o.resource.kind()),
                )
                .on(o.resource.object_ref())
                .hint("choose admission `cluster` (--admission cluster) to run the workload controllers"),
            );
        }
    }

    // The CoreDNS pod, unless the input has DNS pods (given, or made by its workloads).
    let has_dns_pods = pods.iter().any(|r| {
        r.pod.namespace == "kube-system"
            && r.pod.labels.get("k8s-app").map(String::as_str) == Some("kube-dns")
    });
    if simulate
        && !has_dns_pods
        && let Some(cp) = builtin::control_plane(&nodes)
    {
        pods.push(builtin::coredns_pod(&cp.name));
    }

    // Scheduling and pod IPs.
    if simulate {
        schedule::bind(&mut pods, &nodes, &mut out);
        schedule::assign_ips(&mut pods, &nodes, &mut out);
    }
    schedule::check_placement(&pods, &nodes, &mut out);
    for r in pods {
        let key = NamespacedName::new(&r.pod.namespace, &r.pod.name);
        if cluster.pods.contains_key(&key) {
            // A workload's pod named like a given pod (a StatefulSet's `db-0` pasted without
            // its ownerReferences): the given pod stays.
            let mut d = Diagnostic::warning(
                DiagnosticKind::Duplicate,
                format!("pod {key} made by this workload already exists in the input; the given pod is used"),
            )
            .hint("add the pod's ownerReferences, or remove the pod or the workload");
            if let Some(src) = r.source {
                d = d.on(src);
            }
            out.push(d);
            continue;
        }
        cluster.pods.insert(key, r.pod);
    }

    // Service allocation.
    if simulate {
        allocate::cluster_ips(&mut services, &requests, &cluster.service_cidrs, &mut out);
        allocate::node_ports(&mut services, &requests, &mut out);
    } else {
        warn_unallocated(&services, &mut out);
    }
    cluster.services = services;
    cluster.nodes = nodes;

    // EndpointSlices.
    add_slices(manifests, &objects, simulate, &mut cluster, &mut out);
    if simulate || input_has_pods {
        for slice in endpoints::reconcile(&cluster) {
            cluster
                .endpoint_slices
                .insert(NamespacedName::new(&slice.namespace, &slice.name), slice);
        }
        out.extend(endpoints::checks::selector_diagnostics(&cluster));
    }
    for slice in cluster.endpoint_slices.values() {
        namespaces.insert(slice.namespace.clone());
    }
    for pod in cluster.pods.values() {
        namespaces.insert(pod.namespace.clone());
    }
    cluster.namespaces = namespaces.into_iter().collect();

    (cluster, finish(manifests, &index, out))
}

/// The objects to build from: the first of each (kind, namespace, name), with a diagnostic
/// for every later duplicate and every object without a name.
fn distinct_objects<'a>(
    manifests: &'a Manifests,
    out: &mut Vec<Diagnostic>,
) -> (Vec<&'a Object>, BTreeMap<ObjectRef, usize>) {
    let mut index: BTreeMap<ObjectRef, usize> = BTreeMap::new();
    let mut objects = Vec::new();
    for (i, object) in manifests.objects.iter().enumerate() {
        let r = object.resource.object_ref();
        let mut d = ObjectDiagnostics { manifests, object, out: &mut *out };
        if r.name.is_empty() {
            d.push(
                Diagnostic::error(
                    DiagnosticKind::MissingField,
                    format!("{} has no metadata.name; it is skipped", r.kind),
                )
                .hint("give the object a name"),
                "metadata",
            );
            continue;
        }
        if index.contains_key(&r) {
            let first = manifests.objects.get(index[&r]).map(|o| o.location.line).unwrap_or(0);
            d.push(
                Diagnostic::error(
                    DiagnosticKind::Duplicate,
                    format!("{r} is defined twice (first on line {first}); the first one is used"),
                )
                .hint("remove or rename one of them"),
                "metadata.name",
            );
            continue;
        }
        index.insert(r, i);
        objects.push(object);
    }
    (objects, index)
}

/// `default/kubernetes` and `kube-system/kube-dns`, unless the input has them.
fn add_builtin_services(services: &mut BTreeMap<NamespacedName, Service>, cluster: &Cluster) {
    let Some(primary) = cluster.service_cidrs.first().copied() else { return };
    let kubernetes = NamespacedName::new("default", "kubernetes");
    if !services.contains_key(&kubernetes)
        && let Some(svc) = builtin::kubernetes_service(primary)
    {
        services.insert(kubernetes, svc);
    }
    let kube_dns = NamespacedName::new("kube-system", "kube-dns");
    if !services.contains_key(&kube_dns)
        && let Some(svc) = builtin::kube_dns_service(primary)
    {
        services.insert(kube_dns, svc);
    }
}

/// In as-given admission a Service without a ClusterIP gets no rules; say so.
fn warn_unallocated(services: &BTreeMap<NamespacedName, Service>, out: &mut Vec<Diagnostic>) {
    for (key, svc) in services {
        if svc.service_type.value != ServiceType::ExternalName
            && svc.cluster_ip.value == ClusterIp::Unset
        {
            out.push(
                Diagnostic::info(
                    DiagnosticKind::Explanation,
                    "no clusterIP and as-given admission allocates none: kube-proxy writes no rules for this Service",
                )
                .on(ObjectRef::new("Service", &key.namespace, &key.name))
                .field("spec")
                .hint("add spec.clusterIP, or choose admission `cluster` (--admission cluster)"),
            );
        }
    }
}

/// Given slices, slices mirrored from Endpoints, and the API server's `kubernetes` slice.
fn add_slices(
    manifests: &Manifests,
    objects: &[&Object],
    simulate: bool,
    cluster: &mut Cluster,
    out: &mut Vec<Diagnostic>,
) {
    for o in objects {
        if let Resource::EndpointSlice(s) = &o.resource {
            let mut d = ObjectDiagnostics { manifests, object: o, out: &mut *out };
            let slice = endpoint_slice::read_endpoint_slice(&mut d, s);
            cluster
                .endpoint_slices
                .insert(NamespacedName::new(&slice.namespace, &slice.name), slice);
        }
    }
    let mut services_with_slices: BTreeSet<NamespacedName> = BTreeSet::new();
    services_with_slices.extend(
        cluster
            .endpoint_slices
            .values()
            .filter_map(|s| s.service_name.as_ref().map(|n| NamespacedName::new(&s.namespace, n))),
    );
    let mut taken: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for key in cluster.endpoint_slices.keys() {
        taken.entry(key.namespace.clone()).or_default().insert(key.name.clone());
    }
    let pods_given = !cluster.pods.is_empty();
    for o in objects {
        let Resource::Endpoints(e) = &o.resource else { continue };
        let key = NamespacedName::new(o.resource.namespace(), o.resource.name());
        let skip_label = e
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(endpoints::mirroring::SKIP_MIRROR_LABEL))
            .is_some_and(|v| v == "true");
        let service = cluster.services.get(&key);
        let has_selector = service.is_some_and(|s| s.selector.is_some());
        let reason = if skip_label {
            Some("it is labelled skip-mirror".to_owned())
        } else if services_with_slices.contains(&key) {
            Some("the input has EndpointSlices for the same Service".to_owned())
        } else if simulate && service.is_none() {
            Some(format!("there is no Service {key} to mirror it for"))
        } else if has_selector && (simulate || pods_given) {
            Some("its Service has a selector, so the EndpointSlice controller makes the slices from pods".to_owned())
        } else {
            None
        };
        if let Some(reason) = reason {
            out.push(
                Diagnostic::info(
                    DiagnosticKind::Explanation,
                    format!("Endpoints {key} is not converted to EndpointSlices: {reason}"),
                )
                .on(o.resource.object_ref())
                .hint("kube-proxy reads only EndpointSlices"),
            );
            continue;
        }
        let mut d = ObjectDiagnostics { manifests, object: o, out: &mut *out };
        let names = taken.entry(key.namespace.clone()).or_default();
        for slice in endpoints::mirroring::mirror(&mut d, e, names) {
            cluster
                .endpoint_slices
                .insert(NamespacedName::new(&slice.namespace, &slice.name), slice);
        }
    }
    if !simulate {
        return;
    }
    let kubernetes = NamespacedName::new("default", "kubernetes");
    let Some(svc) = cluster.services.get(&kubernetes) else { return };
    if cluster.slices_of(&kubernetes).next().is_some() {
        return;
    }
    let family = cluster.ip_families().first().copied().unwrap_or(IpFamily::V4);
    let api_server = builtin::control_plane(&cluster.nodes).and_then(|n| n.internal_ip(family));
    let port = svc
        .ports
        .iter()
        .find(|p| p.name == "https")
        .or(svc.ports.first())
        .and_then(|p| match p.target_port.value {
            TargetPort::Number(n) => Some(n),
            TargetPort::Name(_) => None,
        })
        .unwrap_or(builtin::API_SERVER_PORT);
    if let Some(ip) = api_server {
        let slice = builtin::kubernetes_slice(ip, port);
        cluster.endpoint_slices.insert(NamespacedName::new(&slice.namespace, &slice.name), slice);
    }
}

/// Locates diagnostics that name an object and a field but no place, drops exact
/// duplicates (a template's mistake repeats in every pod made from it), and orders them:
/// unplaced first, then by position in the input.
fn finish(
    manifests: &Manifests,
    index: &BTreeMap<ObjectRef, usize>,
    diagnostics: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    let mut seen: BTreeSet<Diagnostic> = BTreeSet::new();
    for mut d in diagnostics {
        if d.location.line == 0 {
            let object = d
                .object
                .as_ref()
                .and_then(|r| index.get(r))
                .and_then(|&i| manifests.objects.get(i));
            if let Some(object) = object {
                d.location = manifests.locate(object, &d.field_path);
                d.field_path = object.field_path(&d.field_path);
            }
        }
        if seen.insert(d.clone()) {
            out.push(d);
        }
    }
    crate::diagnostic::sort_by_location(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SliceOrigin;

    fn build_text(text: &str, admission: Admission) -> (Cluster, Vec<Diagnostic>) {
        build(&crate::manifest::parse(text), admission)
    }

    #[test]
    fn the_walkthrough_puts_client_and_servers_on_different_nodes() {
        let (c, _) =
            build_text(include_str!("../../tests/data/examples/kube-proxy.yaml"), Admission::Auto);
        let node = |name: &str| c.pod("default", name).unwrap().node_name.value.clone();
        assert_eq!(node("pod-client"), "minikube");
        assert_eq!(node("server-pod-1"), "minikube-m02");
        assert_eq!(node("server-pod-2"), "minikube-m03");
        let svc = c.service("default", "service").unwrap();
        assert!(svc.cluster_ip.value.primary().is_some());
        let key = NamespacedName::new("default", "service");
        let slices: Vec<_> = c.slices_of(&key).collect();
        assert_eq!(slices.len(), 1);
        assert_eq!(slices[0].origin, SliceOrigin::Controller);
        assert_eq!(slices[0].endpoints.len(), 2);
        assert_eq!(slices[0].ports[0].port, Some(80));
    }

    #[test]
    fn oracle_style_input_is_taken_as_given() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ns}\nspec:\n  type: NodePort\n  clusterIP: 172.30.0.041\n  ports: [{name: p, port: 80}]\n";
        let (c, d) = build_text(text, Admission::Auto);
        assert_eq!(c.admission, Admission::AsGiven);
        assert!(c.service_cidrs.is_empty() && c.nodes.is_empty());
        assert_eq!(c.services.len(), 1);
        assert_eq!(c.services.values().next().unwrap().ports[0].node_port, None);
        assert!(d.iter().any(|d| d.kind == DiagnosticKind::InvalidAddress));
    }
}
