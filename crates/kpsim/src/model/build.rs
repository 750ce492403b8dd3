//! From typed manifests to a [`Cluster`]: field-by-field reading of Services, EndpointSlices,
//! Pods and Nodes into model values, with a diagnostic for every value that cannot be used.
//!
//! This file reads objects; admission (API defaults, allocation, scheduling, built-in
//! objects, workload expansion) is [`super::admission`]'s job, and EndpointSlice generation is
//! [`crate::endpoints`]'s.

use std::collections::btree_map::Entry;
use std::net::IpAddr;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{
    AddressType, ClusterIp, Endpoint, EndpointConditions, EndpointHints, EndpointPort,
    EndpointSlice, IpMode, LoadBalancerIngress, Marked, SERVICE_NAME_LABEL, Service, ServicePort,
    ServiceType, SessionAffinity, SliceOrigin, SourceSpan, TargetPort, TargetRef, TrafficPolicy,
};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};
use crate::manifest::{Manifests, Object};
use crate::net::{Cidr, IpFamily, Protocol, is_strict_ip, parse_ip_sloppy};

/// Default `sessionAffinityConfig.clientIP.timeoutSeconds`.
pub const DEFAULT_AFFINITY_TIMEOUT: u32 = 10800;

/// Collects diagnostics for one object, locating field paths in its document.
pub(crate) struct ObjectDiagnostics<'a> {
    pub manifests: &'a Manifests,
    pub object: &'a Object,
    pub out: &'a mut Vec<Diagnostic>,
}

impl ObjectDiagnostics<'_> {
    pub fn location(&self, path: &str) -> Location {
        self.manifests.locate(self.object, path)
    }

    pub fn push(&mut self, diagnostic: Diagnostic, path: &str) {
        let location = self.location(path);
        let d = diagnostic
            .at(location)
            .on(self.object.resource.object_ref())
            .field(self.object.field_path(path));
        self.out.push(d);
    }

    pub fn span(&self) -> SourceSpan {
        SourceSpan {
            document: Some(self.object.location.document),
            line: self.object.location.line,
        }
    }

    /// Parses an address sloppily, warning when only the sloppy reading accepts it and
    /// erroring when nothing does.
    pub fn ip(&mut self, s: &str, path: &str) -> Option<IpAddr> {
        match parse_ip_sloppy(s) {
            Some(ip) if is_strict_ip(s) => Some(ip),
            Some(ip) => {
                self.push(
                    Diagnostic::warning(
                        DiagnosticKind::InvalidAddress,
                        format!("`{s}` is not a canonical IP (leading zeros); kube-proxy reads it as {ip}"),
                    )
                    .hint(format!("write {ip}; an API server rejects the leading zeros")),
                    path,
                );
                Some(ip)
            }
            None => {
                self.push(
                    Diagnostic::error(
                        DiagnosticKind::InvalidAddress,
                        format!("`{s}` is not an IP address"),
                    )
                    .hint("write an IPv4 (10.96.0.10) or IPv6 (fd00::a) address"),
                    path,
                );
                None
            }
        }
    }

    /// Parses a CIDR sloppily (after trimming whitespace, as kube-proxy does for source
    /// ranges), warning when the text is not canonical.
    pub fn cidr(&mut self, s: &str, path: &str) -> Option<Cidr> {
        let trimmed = s.trim();
        match Cidr::parse_sloppy(trimmed) {
            Some(c) if Cidr::parse_strict(trimmed) == Some(c) && trimmed == s => Some(c),
            Some(c) => {
                self.push(
                    Diagnostic::warning(
                        DiagnosticKind::InvalidAddress,
                        format!("`{s}` is not a canonical CIDR; it is read as {c}"),
                    )
                    .hint(format!("write {c}")),
                    path,
                );
                Some(c)
            }
            None => {
                self.push(
                    Diagnostic::error(
                        DiagnosticKind::InvalidAddress,
                        format!("`{s}` is not a CIDR"),
                    )
                    .hint("write an address and prefix length, like 203.0.113.0/24"),
                    path,
                );
                None
            }
        }
    }

    /// A port number 1..=65535.
    pub fn port(&mut self, value: i32, path: &str) -> Option<u16> {
        match u16::try_from(value) {
            Ok(p) if p > 0 => Some(p),
            _ => {
                self.push(
                    Diagnostic::error(
                        DiagnosticKind::InvalidValue,
                        format!("port {value} is outside 1-65535"),
                    )
                    .hint("use a port number between 1 and 65535"),
                    path,
                );
                None
            }
        }
    }

    pub fn protocol(&mut self, value: Option<&str>, path: &str) -> Marked<Protocol> {
        match value {
            None => Marked::defaulted(Protocol::Tcp),
            Some(s) => match Protocol::from_k8s(s) {
                Some(p) => Marked::given(p),
                None => {
                    self.push(
                        Diagnostic::error(
                            DiagnosticKind::InvalidValue,
                            format!("protocol `{s}` is not one of TCP, UDP, SCTP; TCP is used"),
                        )
                        .hint("write TCP, UDP or SCTP in capitals"),
                        path,
                    );
                    Marked::defaulted(Protocol::Tcp)
                }
            },
        }
    }
}

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
pub(crate) fn read_service(d: &mut ObjectDiagnostics<'_>, svc: &core::Service) -> Service {
    let meta = &svc.metadata;
    let spec = svc.spec.clone().unwrap_or_default();
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
        let target_port = match &p.target_port {
            None => Marked::defaulted(TargetPort::Number(port)),
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
        if let Some(ip) = d.ip(s, &format!("spec.externalIPs[{i}]")) {
            external_ips.push(ip);
        }
    }
    let mut source_ranges = Vec::new();
    for (i, s) in spec.load_balancer_source_ranges.iter().flatten().enumerate() {
        if let Some(c) = d.cidr(s, &format!("spec.loadBalancerSourceRanges[{i}]")) {
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
        let ip = ing.ip.as_deref().and_then(|s| d.ip(s, &format!("{path}.ip")));
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

/// Reads an EndpointSlice exactly as given: kube-proxy tolerates values an API server
/// rejects, and so does this.
pub(crate) fn read_endpoint_slice(
    d: &mut ObjectDiagnostics<'_>,
    slice: &discovery::EndpointSlice,
) -> EndpointSlice {
    let meta = &slice.metadata;
    let address_type = match slice.address_type.as_str() {
        "IPv4" => AddressType::IPv4,
        "IPv6" => AddressType::IPv6,
        "FQDN" => AddressType::FQDN,
        other => {
            d.push(
                Diagnostic::error(
                    DiagnosticKind::InvalidValue,
                    format!("addressType `{other}` is not IPv4, IPv6 or FQDN; kube-proxy ignores the slice"),
                )
                .hint("write IPv4 or IPv6"),
                "addressType",
            );
            AddressType::FQDN
        }
    };
    let labels = meta.labels.clone().unwrap_or_default();
    let service_name = labels.get(SERVICE_NAME_LABEL).cloned();
    if service_name.is_none() {
        d.push(
            Diagnostic::warning(
                DiagnosticKind::MissingField,
                format!("no `{SERVICE_NAME_LABEL}` label: kube-proxy cannot tell which Service this slice belongs to"),
            )
            .hint(format!("add the label `{SERVICE_NAME_LABEL}: <service name>`")),
            "metadata.labels",
        );
    }
    let mut endpoints = Vec::new();
    for (i, ep) in slice.endpoints.iter().flatten().enumerate() {
        let path = format!("endpoints[{i}]");
        let mut addresses = Vec::new();
        for (j, a) in ep.addresses.iter().enumerate() {
            if address_type == AddressType::FQDN {
                continue;
            }
            if let Some(ip) = d.ip(a, &format!("{path}.addresses[{j}]")) {
                addresses.push(ip);
            }
        }
        let conditions = ep
            .conditions
            .as_ref()
            .map(|c| EndpointConditions {
                ready: c.ready,
                serving: c.serving,
                terminating: c.terminating,
            })
            .unwrap_or_default();
        let hints = ep
            .hints
            .as_ref()
            .map(|h| EndpointHints {
                for_zones: h.for_zones.as_ref().map(|z| z.iter().map(|z| z.name.clone()).collect()),
                for_nodes: h.for_nodes.as_ref().map(|n| n.iter().map(|n| n.name.clone()).collect()),
            })
            .unwrap_or_default();
        let target_ref = ep.target_ref.as_ref().map(|r| TargetRef {
            kind: r.kind.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            name: r.name.clone().unwrap_or_default(),
        });
        endpoints.push(Endpoint {
            addresses,
            conditions,
            node_name: ep.node_name.clone(),
            zone: ep.zone.clone(),
            hints,
            target_ref,
            hostname: ep.hostname.clone(),
        });
    }
    let mut ports = Vec::new();
    for (i, p) in slice.ports.iter().flatten().enumerate() {
        let path = format!("ports[{i}]");
        let port = match p.port {
            None | Some(0) => None,
            Some(n) => d.port(n, &format!("{path}.port")),
        };
        let protocol = d.protocol(p.protocol.as_deref(), &format!("{path}.protocol")).value;
        ports.push(EndpointPort {
            name: p.name.clone(),
            port,
            protocol,
            app_protocol: p.app_protocol.clone(),
        });
    }
    EndpointSlice {
        namespace: d.object.resource.namespace().to_owned(),
        name: meta.name.clone().unwrap_or_default(),
        labels,
        service_name,
        address_type,
        endpoints,
        ports,
        origin: SliceOrigin::Given,
        span: d.span(),
    }
}

/// Builds the cluster from parsed manifests.
///
/// Reads every object, reports duplicates, and (depending on [`super::Admission`]) applies
/// the API server's defaults and allocation. Objects that cannot be read are skipped with a
/// diagnostic; the rest still make a cluster.
pub fn build(
    manifests: &Manifests,
    admission: super::Admission,
) -> (super::Cluster, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut cluster =
        super::Cluster { admission, dns_domain: "cluster.local".to_owned(), ..Default::default() };
    for object in &manifests.objects {
        let mut d = ObjectDiagnostics { manifests, object, out: &mut diagnostics };
        match &object.resource {
            crate::manifest::Resource::Service(svc) => {
                let s = read_service(&mut d, svc);
                let key = super::NamespacedName::new(&s.namespace, &s.name);
                match cluster.services.entry(key) {
                    Entry::Occupied(e) => {
                        d.push(duplicate(&e.key().to_string(), "Service"), "metadata.name")
                    }
                    Entry::Vacant(e) => {
                        e.insert(s);
                    }
                }
            }
            crate::manifest::Resource::EndpointSlice(slice) => {
                let s = read_endpoint_slice(&mut d, slice);
                let key = super::NamespacedName::new(&s.namespace, &s.name);
                match cluster.endpoint_slices.entry(key) {
                    Entry::Occupied(e) => {
                        d.push(duplicate(&e.key().to_string(), "EndpointSlice"), "metadata.name")
                    }
                    Entry::Vacant(e) => {
                        e.insert(s);
                    }
                }
            }
            _ => {}
        }
    }
    (cluster, diagnostics)
}

fn duplicate(name: &str, kind: &str) -> Diagnostic {
    Diagnostic::error(
        DiagnosticKind::Duplicate,
        format!("{kind} {name} is defined twice; the first one is used"),
    )
    .hint("remove or rename one of them")
}
