//! The Cluster panel: nodes with the pods they run (IP, labels, ready), and Services (type,
//! ClusterIP, ports), every filled-in value with its badge.
//!
//! Reads the core's cluster as admitted; not responsible for admission itself.

use kpsim::Analysis;
use kpsim::manifest::Manifests;
use kpsim::model::{
    ClusterIp, Origin, Pod, Service, ServicePort, ServiceType, SessionAffinity, TrafficPolicy,
};

use super::origin::{Field, Valued, badge};

/// Everything the panel shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterView {
    pub nodes: Vec<NodeRow>,
    /// Pods without a node (unscheduled, `Pending`).
    pub unscheduled: Vec<PodRow>,
    pub services: Vec<ServiceRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub name: String,
    pub ip: String,
    pub pod_cidr: Valued,
    /// `control-plane`, or empty.
    pub role: &'static str,
    /// Not in the input: minikube's default layout.
    pub assumed: bool,
    pub pods: Vec<PodRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRow {
    /// `name` in the default namespace, `namespace/name` elsewhere.
    pub name: String,
    /// `namespace/name`, always (stable for selections and tests).
    pub key: String,
    pub ip: Valued,
    pub node: Valued,
    pub labels: Vec<String>,
    /// `ready` / `not ready` / `terminating`.
    pub ready: Valued,
    pub is_ready: bool,
    pub phase: Valued,
    /// Made by kpsim (CoreDNS) or by a workload controller, not written in the input.
    pub origin_note: Option<String>,
    pub host_network: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub name: String,
    pub key: String,
    pub service_type: Valued,
    pub cluster_ip: Valued,
    pub ports: Vec<PortRow>,
    /// `app=web`, `(none)` for Services without a selector.
    pub selector: String,
    /// Built into every cluster (`kubernetes`, `kube-dns`), not in the input.
    pub built_in: bool,
    /// Traffic policies, session affinity, external IPs, load balancer, ExternalName.
    pub details: Vec<Valued>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRow {
    /// `http: 8080/TCP`.
    pub port: String,
    pub protocol: Valued,
    /// `→ 80` / `→ http-web-svc`.
    pub target: Valued,
    pub node_port: Option<Valued>,
}

/// The panel's rows for an analysed input.
pub fn cluster_view(analysis: &Analysis) -> ClusterView {
    let cluster = &analysis.cluster;
    let mut nodes: Vec<NodeRow> = cluster
        .nodes
        .iter()
        .map(|n| NodeRow {
            name: n.name.clone(),
            ip: n.internal_ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            pod_cidr: Valued::of(&n.pod_cidrs, Field::PodCidr, |c| {
                c.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            }),
            role: if n.is_control_plane() { "control-plane" } else { "" },
            assumed: n.origin != Origin::Given,
            pods: Vec::new(),
        })
        .collect();
    let mut unscheduled = Vec::new();
    for pod in cluster.pods.values() {
        let row = pod_row(pod, &analysis.manifests);
        match pod.node().and_then(|n| nodes.iter_mut().find(|row| row.name == n)) {
            Some(node) => node.pods.push(row),
            None => unscheduled.push(row),
        }
    }
    let services = cluster.services.values().map(service_row).collect();
    ClusterView { nodes, unscheduled, services }
}

/// `name`, or `namespace/name` outside the default namespace.
pub fn short_name(namespace: &str, name: &str) -> String {
    if namespace == "default" { name.to_owned() } else { format!("{namespace}/{name}") }
}

fn pod_row(pod: &Pod, manifests: &Manifests) -> PodRow {
    let ip = if pod.pod_ips.value.is_empty() {
        Valued::plain("no IP")
    } else {
        Valued::of(&pod.pod_ips, Field::PodIp, |ips| {
            ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        })
    };
    let ready_text = if pod.terminating {
        "terminating"
    } else if pod.ready.value {
        "ready"
    } else {
        "not ready"
    };
    // A pod made by a workload controller carries its workload's location.
    let written_by = pod.span.document.map(|document| {
        manifests
            .objects
            .iter()
            .find(|o| o.location.document == document && o.location.line == pod.span.line)
            .map(|o| (o.resource.kind(), o.resource.name().to_owned()))
    });
    let origin_note = match written_by {
        None => Some("built in: made up by kpsim, as every cluster has one".to_owned()),
        Some(Some((kind, name))) if kind != "Pod" => {
            let via = pod.owner.as_ref().map(|o| format!(" (via {} {})", o.kind, o.name));
            Some(format!("made by {kind} {name}{}", via.unwrap_or_default()))
        }
        Some(_) => None,
    };
    PodRow {
        name: short_name(&pod.namespace, &pod.name),
        key: format!("{}/{}", pod.namespace, pod.name),
        ip,
        node: Valued::of(&pod.node_name, Field::NodeName, |n| {
            if n.is_empty() { "unscheduled".to_owned() } else { n.clone() }
        }),
        labels: pod.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        ready: Valued { text: ready_text.to_owned(), badge: badge(Field::Ready, pod.ready.origin) },
        is_ready: pod.ready.value && !pod.terminating,
        phase: Valued::of(&pod.phase, Field::Phase, Clone::clone),
        origin_note,
        host_network: pod.host_network,
    }
}

fn service_row(svc: &Service) -> ServiceRow {
    let cluster_ip = match &svc.cluster_ip.value {
        ClusterIp::Unset => Valued::plain("none"),
        ClusterIp::Headless => Valued::plain("None (headless)"),
        ClusterIp::Ips(_) => Valued::of(&svc.cluster_ip, Field::ClusterIp, |ip| match ip {
            ClusterIp::Ips(ips) => {
                ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            }
            _ => String::new(),
        }),
    };
    let selector = match &svc.selector {
        None => "(none)".to_owned(),
        Some(s) => s.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
    };
    let mut details = Vec::new();
    if svc.service_type.value == ServiceType::ExternalName {
        details.push(Valued::plain(format!(
            "externalName: {}",
            svc.external_name.as_deref().unwrap_or("")
        )));
    }
    let externally = svc.externally_accessible_by_type();
    if externally || svc.external_traffic_policy.value == TrafficPolicy::Local {
        details.push(Valued::of(&svc.external_traffic_policy, Field::TrafficPolicy, |p| {
            format!("externalTrafficPolicy: {}", policy(*p))
        }));
    }
    if svc.internal_traffic_policy.value == TrafficPolicy::Local
        || svc.internal_traffic_policy.origin == Origin::Given
    {
        details.push(Valued::of(&svc.internal_traffic_policy, Field::TrafficPolicy, |p| {
            format!("internalTrafficPolicy: {}", policy(*p))
        }));
    }
    if let SessionAffinity::ClientIP { timeout_seconds } = svc.session_affinity.value {
        details.push(Valued::of(&svc.session_affinity, Field::SessionAffinity, |_| {
            format!("sessionAffinity: ClientIP ({timeout_seconds}s)")
        }));
    }
    if !svc.external_ips.is_empty() {
        let ips: Vec<String> = svc.external_ips.iter().map(ToString::to_string).collect();
        details.push(Valued::plain(format!("externalIPs: {}", ips.join(", "))));
    }
    let ingress: Vec<String> = svc
        .load_balancer_ingress
        .iter()
        .filter_map(|i| i.ip.map(|ip| ip.to_string()).or_else(|| i.hostname.clone()))
        .collect();
    if !ingress.is_empty() {
        details.push(Valued::plain(format!("load balancer: {}", ingress.join(", "))));
    }
    if !svc.load_balancer_source_ranges.is_empty() {
        let ranges: Vec<String> =
            svc.load_balancer_source_ranges.iter().map(ToString::to_string).collect();
        details.push(Valued::plain(format!("loadBalancerSourceRanges: {}", ranges.join(", "))));
    }
    if let Some(port) = &svc.health_check_node_port {
        details.push(Valued::of(port, Field::HealthCheckNodePort, |p| {
            format!("healthCheckNodePort: {p}")
        }));
    }
    ServiceRow {
        name: short_name(&svc.namespace, &svc.name),
        key: format!("{}/{}", svc.namespace, svc.name),
        service_type: Valued::of(&svc.service_type, Field::ServiceType, |t| t.as_k8s().to_owned()),
        cluster_ip,
        ports: svc.ports.iter().map(port_row).collect(),
        selector,
        built_in: svc.span.document.is_none(),
        details,
    }
}

fn policy(p: TrafficPolicy) -> &'static str {
    match p {
        TrafficPolicy::Cluster => "Cluster",
        TrafficPolicy::Local => "Local",
    }
}

fn port_row(p: &ServicePort) -> PortRow {
    let name = if p.name.is_empty() { String::new() } else { format!("{}: ", p.name) };
    PortRow {
        port: format!("{name}{}", p.port),
        protocol: Valued::of(&p.protocol, Field::Protocol, |p| p.as_k8s().to_owned()),
        target: Valued::of(&p.target_port, Field::TargetPort, |t| format!("→ {t}")),
        node_port: p
            .node_port
            .as_ref()
            .map(|n| Valued::of(n, Field::NodePort, |n| format!("nodePort {n}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use kpsim::model::Admission;

    fn view(text: &str) -> ClusterView {
        cluster_view(&kpsim::analyze(text, Admission::Auto))
    }

    #[test]
    fn the_walkthrough_runs_on_minikubes_three_nodes() {
        let v = view(examples::WALKTHROUGH.text);
        let nodes: Vec<(&str, &str, bool)> =
            v.nodes.iter().map(|n| (n.name.as_str(), n.role, n.assumed)).collect();
        assert_eq!(
            nodes,
            [
                ("minikube", "control-plane", true),
                ("minikube-m02", "", true),
                ("minikube-m03", "", true)
            ]
        );
        let placed: Vec<(String, &str)> = v
            .nodes
            .iter()
            .flat_map(|n| n.pods.iter().map(move |p| (p.key.clone(), n.name.as_str())))
            .filter(|(k, _)| k.starts_with("default/"))
            .collect();
        assert!(
            placed.contains(&("default/server-pod-1".to_owned(), "minikube-m02")),
            "{placed:?}"
        );
        assert!(
            placed.contains(&("default/server-pod-2".to_owned(), "minikube-m03")),
            "{placed:?}"
        );
        assert!(v.unscheduled.is_empty());
    }

    #[test]
    fn filled_in_values_carry_badges() {
        let v = view(examples::WALKTHROUGH.text);
        let pod = v.nodes.iter().flat_map(|n| &n.pods).find(|p| p.key == "default/server-pod-1");
        let pod = pod.expect("server-pod-1");
        assert_eq!(pod.ip.badge.as_ref().map(|b| b.label), Some("allocated"));
        assert_eq!(
            pod.node.badge.as_ref().map(|b| b.tooltip.as_str()),
            Some("chosen by the scheduler")
        );
        assert_eq!(pod.labels, ["app.kubernetes.io/name=server"]);
        assert_eq!(pod.ready.text, "ready");

        let svc = v.services.iter().find(|s| s.key == "default/service").expect("service");
        assert_eq!(svc.service_type.text, "ClusterIP");
        assert_eq!(svc.service_type.badge.as_ref().map(|b| b.label), Some("default"));
        assert_eq!(
            svc.cluster_ip.badge.as_ref().map(|b| b.tooltip.as_str()),
            Some("allocated by the API server from the service CIDR")
        );
        assert_eq!(svc.ports.len(), 1);
        assert_eq!(svc.ports[0].port, "http: 8080");
        assert_eq!(svc.ports[0].protocol.badge, None, "TCP is written in the example");
        assert_eq!(svc.ports[0].target.text, "→ http-web-svc");
        assert!(!svc.built_in);
        assert!(v.services.iter().any(|s| s.key == "kube-system/kube-dns" && s.built_in));
    }

    #[test]
    fn pods_made_by_a_deployment_say_so() {
        let example = examples::find("deployment").expect("example");
        let v = view(example.text);
        let pods: Vec<&PodRow> = v
            .nodes
            .iter()
            .flat_map(|n| &n.pods)
            .filter(|p| p.key.starts_with("default/"))
            .collect();
        assert_eq!(pods.len(), 3);
        for pod in pods {
            let note = pod.origin_note.as_deref().unwrap_or_default();
            assert!(note.starts_with("made by Deployment web (via ReplicaSet web-"), "{note}");
        }
        let dns = v.nodes.iter().flat_map(|n| &n.pods).find(|p| p.key.starts_with("kube-system/"));
        assert!(
            dns.and_then(|p| p.origin_note.as_deref()).is_some_and(|n| n.starts_with("built in"))
        );
    }

    #[test]
    fn a_pod_that_is_not_ready_says_so_without_a_badge() {
        let example = examples::find("not-ready-pod").expect("example");
        let v = view(example.text);
        let pod = v.nodes.iter().flat_map(|n| &n.pods).find(|p| p.key == "default/server-pod-2");
        let pod = pod.expect("server-pod-2");
        assert_eq!(pod.ready.text, "not ready");
        assert!(!pod.is_ready);
        assert_eq!(pod.ready.badge, None);
    }

    #[test]
    fn node_ports_and_policies_are_listed() {
        let example = examples::find("traffic-policy-local").expect("example");
        let v = view(example.text);
        let external = v.services.iter().find(|s| s.key == "default/external").expect("svc");
        assert_eq!(
            external.ports[0].node_port.as_ref().map(|n| n.text.as_str()),
            Some("nodePort 30081")
        );
        let details: Vec<&str> = external.details.iter().map(|d| d.text.as_str()).collect();
        assert!(details.contains(&"externalTrafficPolicy: Local"), "{details:?}");
        let internal = v.services.iter().find(|s| s.key == "default/internal").expect("svc");
        let details: Vec<&str> = internal.details.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(details, ["internalTrafficPolicy: Local"]);
    }
}
