//! Reading a `v1/Service` into a model [`Service`], exactly as written: absent values get
//! kube-proxy's reading of them (marked defaulted), nothing is allocated. Admission
//! (allocation, API defaults) is [`crate::model::allocate`]'s job.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::fields::{DEFAULT_AFFINITY_TIMEOUT, ObjectDiagnostics};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::model::{
    ClusterIp, ClusterIpFields, IpMode, LoadBalancerIngress, Marked, Service, ServicePort,
    ServiceType, SessionAffinity, TargetPort, TrafficPolicy,
};
use crate::net::IpFamily;

fn traffic_policy(
    d: &mut ObjectDiagnostics<'_>,
    value: Option<&str>,
    path: &str,
) -> Marked<TrafficPolicy> {
    match value {
        None | Some("") => Marked::defaulted(TrafficPolicy::Cluster),
        Some("Cluster") => Marked::given(TrafficPolicy::Cluster),
        Some("Local") => Marked::given(TrafficPolicy::Local),
        Some(other) => {
            d.push(
                Diagnostic::error(
                    DiagnosticKind::InvalidValue,
                    format!("traffic policy `{other}` is not Cluster or Local; Cluster is used"),
                )
                .hint("write Cluster or Local"),
                path,
            );
            Marked::defaulted(TrafficPolicy::Cluster)
        }
    }
}

/// Reads a Service. Nothing is allocated here: an absent ClusterIP stays [`ClusterIp::Unset`]
/// and absent NodePorts stay `None`, which is exactly what kube-proxy sees when objects are
/// taken as given.
pub(crate) fn read_service(
    d: &mut ObjectDiagnostics<'_>,
    svc: &core::Service,
    as_given: bool,
) -> Service {
    let meta = &svc.metadata;
    let default = core::ServiceSpec::default();
    let spec = svc.spec.as_ref().unwrap_or(&default);
    let service_type = match spec.type_.as_deref() {
        None | Some("") => Marked::defaulted(ServiceType::ClusterIP),
        Some(t) => match ServiceType::from_k8s(t) {
            Some(t) => Marked::given(t),
            None => {
                d.push(
                    Diagnostic::error(
                        DiagnosticKind::InvalidValue,
                        format!("type `{t}` is unknown; ClusterIP is used"),
                    )
                    .hint("write ClusterIP, NodePort, LoadBalancer or ExternalName"),
                    "spec.type",
                );
                Marked::defaulted(ServiceType::ClusterIP)
            }
        },
    };

    let cluster_ip = read_cluster_ip(d, spec.cluster_ip.as_deref(), spec.cluster_ips.as_deref());
    let ip_families = match &spec.ip_families {
        Some(fams) if !fams.is_empty() => {
            let mut out = Vec::new();
            for (i, f) in fams.iter().enumerate() {
                match IpFamily::from_k8s(f) {
                    Some(f) => out.push(f),
                    None => d.push(
                        Diagnostic::error(
                            DiagnosticKind::InvalidValue,
                            format!("ipFamily `{f}` is not IPv4 or IPv6"),
                        )
                        .hint("write IPv4 or IPv6"),
                        &format!("spec.ipFamilies[{i}]"),
                    ),
                }
            }
            Marked::given(out)
        }
        _ => match &cluster_ip.value {
            ClusterIp::Ips(ips) => {
                Marked::derived(ips.iter().map(|ip| IpFamily::of(*ip)).collect())
            }
            _ => Marked::derived(Vec::new()),
        },
    };

    let mut ports = Vec::new();
    for (i, p) in spec.ports.iter().flatten().enumerate() {
        let path = format!("spec.ports[{i}]");
        let Some(port) = d.port(p.port, &format!("{path}.port")) else { continue };
        let protocol = d.protocol(p.protocol.as_deref(), &format!("{path}.protocol"));
        // The API server defaults an absent, 0 or empty targetPort to the port.
        let target_port = match &p.target_port {
            None | Some(IntOrString::Int(0)) => Marked::defaulted(TargetPort::Number(port)),
            Some(IntOrString::String(s)) if s.is_empty() => {
                Marked::defaulted(TargetPort::Number(port))
            }
            Some(IntOrString::Int(n)) => match d.port(*n, &format!("{path}.targetPort")) {
                Some(t) => Marked::given(TargetPort::Number(t)),
                None => Marked::defaulted(TargetPort::Number(port)),
            },
            Some(IntOrString::String(s)) => match s.parse::<i32>() {
                Ok(n) => match d.port(n, &format!("{path}.targetPort")) {
                    Some(t) => Marked::given(TargetPort::Number(t)),
                    None => Marked::defaulted(TargetPort::Number(port)),
                },
                Err(_) => Marked::given(TargetPort::Name(s.clone())),
            },
        };
        let node_port = match p.node_port {
            None | Some(0) => None,
            Some(n) => d.port(n, &format!("{path}.nodePort")).map(Marked::given),
        };
        ports.push(ServicePort {
            name: p.name.clone().unwrap_or_default(),
            protocol,
            port,
            target_port,
            node_port,
            app_protocol: p.app_protocol.clone(),
        });
    }

    let mut external_ips = Vec::new();
    for (i, s) in spec.external_ips.iter().flatten().enumerate() {
        if let Some(ip) = d.list_entry(|d| d.ip(s, &format!("spec.externalIPs[{i}]")), as_given) {
            external_ips.push(ip);
        }
    }
    let mut source_ranges = Vec::new();
    for (i, s) in spec.load_balancer_source_ranges.iter().flatten().enumerate() {
        let path = format!("spec.loadBalancerSourceRanges[{i}]");
        if let Some(c) = d.list_entry(|d| d.cidr(s, &path), as_given) {
            source_ranges.push(c);
        }
    }
    let mut ingress = Vec::new();
    let status_ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    for (i, ing) in status_ingress.into_iter().flatten().enumerate() {
        let path = format!("status.loadBalancer.ingress[{i}]");
        let ip = ing
            .ip
            .as_deref()
            .and_then(|s| d.list_entry(|d| d.ip(s, &format!("{path}.ip")), as_given));
        let ip_mode = match ing.ip_mode.as_deref() {
            None => None,
            Some("VIP") => Some(IpMode::Vip),
            Some("Proxy") => Some(IpMode::Proxy),
            Some(other) => {
                d.push(
                    Diagnostic::error(
                        DiagnosticKind::InvalidValue,
                        format!("ipMode `{other}` is not VIP or Proxy"),
                    )
                    .hint("write VIP or Proxy"),
                    &format!("{path}.ipMode"),
                );
                None
            }
        };
        ingress.push(LoadBalancerIngress { ip, hostname: ing.hostname.clone(), ip_mode });
    }

    let session_affinity = match spec.session_affinity.as_deref() {
        None | Some("") => Marked::defaulted(SessionAffinity::None),
        Some("None") => Marked::given(SessionAffinity::None),
        Some("ClientIP") => {
            let timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds);
            match timeout {
                Some(t) if (1..=86400).contains(&t) => {
                    Marked::given(SessionAffinity::ClientIP { timeout_seconds: t as u32 })
                }
                Some(t) => {
                    d.push(
                        Diagnostic::error(
                            DiagnosticKind::InvalidValue,
                            format!(
                                "timeoutSeconds {t} is outside 1-86400; the default 10800 is used"
                            ),
                        )
                        .hint("use a timeout between 1 and 86400 seconds"),
                        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    );
                    Marked::defaulted(SessionAffinity::ClientIP {
                        timeout_seconds: DEFAULT_AFFINITY_TIMEOUT,
                    })
                }
                None => Marked::defaulted(SessionAffinity::ClientIP {
                    timeout_seconds: DEFAULT_AFFINITY_TIMEOUT,
                }),
            }
        }
        Some(other) => {
            d.push(
                Diagnostic::error(
                    DiagnosticKind::InvalidValue,
                    format!("sessionAffinity `{other}` is not None or ClientIP; None is used"),
                )
                .hint("write None or ClientIP"),
                "spec.sessionAffinity",
            );
            Marked::defaulted(SessionAffinity::None)
        }
    };

    Service {
        namespace: d.object.resource.namespace().to_owned(),
        name: meta.name.clone().unwrap_or_default(),
        labels: meta.labels.clone().unwrap_or_default(),
        service_type,
        cluster_ip,
        cluster_ip_fields: ClusterIpFields {
            cluster_ip: spec.cluster_ip.as_deref().is_some_and(|s| !s.is_empty()),
            cluster_ips: spec.cluster_ips.as_ref().is_some_and(|l| !l.is_empty()),
        },
        ip_families,
        selector: spec.selector.clone().filter(|s| !s.is_empty()),
        ports,
        external_ips,
        load_balancer_ingress: ingress,
        load_balancer_source_ranges: source_ranges,
        external_traffic_policy: traffic_policy(
            d,
            spec.external_traffic_policy.as_deref(),
            "spec.externalTrafficPolicy",
        ),
        internal_traffic_policy: traffic_policy(
            d,
            spec.internal_traffic_policy.as_deref(),
            "spec.internalTrafficPolicy",
        ),
        health_check_node_port: match spec.health_check_node_port {
            None | Some(0) => None,
            Some(n) => d.port(n, "spec.healthCheckNodePort").map(Marked::given),
        },
        session_affinity,
        publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
        external_name: spec.external_name.clone(),
        traffic_distribution: spec.traffic_distribution.clone(),
        span: d.span(),
    }
}

fn read_cluster_ip(
    d: &mut ObjectDiagnostics<'_>,
    single: Option<&str>,
    list: Option<&[String]>,
) -> Marked<ClusterIp> {
    let list: Vec<&str> = match list {
        Some(l) if !l.is_empty() => l.iter().map(String::as_str).collect(),
        _ => single.into_iter().collect(),
    };
    match list.first().copied() {
        None | Some("") => Marked::given(ClusterIp::Unset),
        Some("None") => Marked::given(ClusterIp::Headless),
        Some(_) => {
            let from_list = list.len() > 1 || single.is_none();
            let mut ips = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let path = if from_list {
                    format!("spec.clusterIPs[{i}]")
                } else {
                    "spec.clusterIP".to_owned()
                };
                if let Some(ip) = d.ip(s, &path) {
                    ips.push(ip);
                }
            }
            if let (Some(single), Some(first)) = (single, list.first())
                && !single.is_empty()
                && single != *first
            {
                d.push(
                        Diagnostic::warning(
                            DiagnosticKind::InvalidValue,
                            format!("clusterIP `{single}` differs from clusterIPs[0] `{first}`; clusterIPs wins"),
                        )
                        .hint("make clusterIP equal to the first entry of clusterIPs"),
                        "spec.clusterIP",
                    );
            }
            if ips.is_empty() {
                Marked::given(ClusterIp::Unset)
            } else {
                Marked::given(ClusterIp::Ips(ips))
            }
        }
    }
}

/// What a Service asks of the API server's allocators, beyond the model: read only in
/// cluster admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceRequest {
    /// `spec.ipFamilyPolicy`: `SingleStack` (default), `PreferDualStack`, `RequireDualStack`.
    pub ip_family_policy: Option<String>,
    /// `spec.allocateLoadBalancerNodePorts` (default true).
    pub allocate_load_balancer_node_ports: bool,
}

pub(crate) fn service_request(svc: &core::Service) -> ServiceRequest {
    let spec = svc.spec.as_ref();
    ServiceRequest {
        ip_family_policy: spec.and_then(|s| s.ip_family_policy.clone()),
        allocate_load_balancer_node_ports: spec
            .and_then(|s| s.allocate_load_balancer_node_ports)
            .unwrap_or(true),
    }
}
