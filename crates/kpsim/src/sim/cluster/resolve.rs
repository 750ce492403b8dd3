//! From a request to a traced connection: what the source and the target name in the
//! cluster, the name lookup when the target is a host name (a pod asks cluster DNS, and that
//! query is traced; nodes and outside clients use the host's resolver, which knows node names
//! only), the port and protocol (a Service's first port by default), and the connection's
//! flows summed up.
//!
//! Not here: parsing the spellings (`request`) or moving packets (`walk`, `exchange`).

use std::net::IpAddr;

use super::request::{Source, Target, TraceError};
use super::walk::{Netns, Session, pass_choices};
use super::{
    ClusterTrace, DnsLookup, Flow, Outcome, Peer, PeerKind, ResolvedTarget, Resolver, TargetKind,
    TraceRequest,
};
use crate::model::{ClusterIp, NamespacedName, Pod, Service, ServiceType};
use crate::net::IpFamily;
use crate::sim::dns::{self, Answer, DNS_PORT, Query, ResolvConf};
use crate::sim::trace::{Choices, Packet, PacketProtocol};

/// Where a request aims before any lookup.
enum Aim {
    Address { ip: IpAddr, kind: TargetKind, name: Option<String>, service: Option<NamespacedName> },
    Name(String),
}

fn few<I: IntoIterator<Item = String>>(names: I) -> Vec<String> {
    let mut v: Vec<String> = names.into_iter().take(6).collect();
    if v.len() == 6 {
        v[5] = "…".to_owned();
    }
    v
}

fn find_pod<'c>(
    session: &Session<'c>,
    namespace: Option<&str>,
    name: &str,
) -> Result<Option<&'c Pod>, TraceError> {
    let c = &session.net.cluster;
    if let Some(ns) = namespace {
        return Ok(c.pod(ns, name));
    }
    if let Some(p) = c.pod("default", name) {
        return Ok(Some(p));
    }
    let all: Vec<&Pod> = c.pods.values().filter(|p| p.name == name).collect();
    match all.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(TraceError::Ambiguous {
            name: name.to_owned(),
            candidates: many.iter().map(|p| format!("{}/{}", p.namespace, p.name)).collect(),
        }),
    }
}

fn pods_known(session: &Session<'_>) -> Vec<String> {
    few(session.net.cluster.pods.keys().map(ToString::to_string))
}

fn nodes_known(session: &Session<'_>) -> Vec<String> {
    few(session.net.cluster.nodes.iter().map(|n| n.name.clone()))
}

fn pod_peer<'n>(session: &Session<'n>, pod: &Pod) -> Result<(Peer, Netns<'n>), TraceError> {
    let key = NamespacedName::new(&pod.namespace, &pod.name);
    let what = format!("pod {key}");
    let Some(node) = pod.node() else {
        return Err(TraceError::NoAddress {
            what,
            why: "it is not scheduled (Pending)".to_owned(),
        });
    };
    let peer = Peer {
        kind: PeerKind::Pod,
        name: key.to_string(),
        node: Some(node.to_owned()),
        host_network: pod.host_network,
        ips: pod.pod_ips.value.clone(),
    };
    let netns = if pod.host_network {
        session.net.network.node(node).map(Netns::Node)
    } else {
        session.net.network.pod(&key).map(Netns::Pod)
    };
    match netns {
        Some(n) => Ok((peer, n)),
        None => Err(TraceError::NoAddress { what, why: "it has no pod IP".to_owned() }),
    }
}

fn node_peer<'n>(session: &Session<'n>, name: &str) -> Result<(Peer, Netns<'n>), TraceError> {
    let node = session.net.network.node(name).ok_or_else(|| TraceError::NotFound {
        what: format!("node `{name}`"),
        known: nodes_known(session),
    })?;
    let ips = session.net.cluster.node(name).map(|n| n.internal_ips.clone()).unwrap_or_default();
    let peer = Peer {
        kind: PeerKind::Node,
        name: name.to_owned(),
        node: Some(name.to_owned()),
        host_network: true,
        ips,
    };
    Ok((peer, Netns::Node(node)))
}

fn source<'n>(session: &Session<'n>, src: &Source) -> Result<(Peer, Netns<'n>), TraceError> {
    let c = &session.net.cluster;
    match src {
        Source::Pod { namespace, name } => match find_pod(session, namespace.as_deref(), name)? {
            Some(p) => pod_peer(session, p),
            None => Err(TraceError::NotFound {
                what: format!(
                    "pod `{}{name}`",
                    namespace.as_ref().map(|n| format!("{n}/")).unwrap_or_default()
                ),
                known: pods_known(session),
            }),
        },
        Source::Node { name } => node_peer(session, name),
        Source::Ip { ip } => {
            if let Some(p) = session.net.network.pod_with_ip(*ip)
                && let Some(pod) = c.pods.get(&p.pod)
            {
                return pod_peer(session, pod);
            }
            if let Some(n) = session.net.network.node_with_ip(*ip) {
                return node_peer(session, &n.name);
            }
            let peer = Peer {
                kind: PeerKind::External,
                name: ip.to_string(),
                node: None,
                host_network: false,
                ips: vec![*ip],
            };
            Ok((peer, Netns::Outside(*ip)))
        }
        Source::Name { name } => {
            if let Some(p) = find_pod(session, None, name)? {
                return pod_peer(session, p);
            }
            if c.node(name).is_some() {
                return node_peer(session, name);
            }
            Err(TraceError::NotFound {
                what: format!("pod or node `{name}`"),
                known: pods_known(session).into_iter().chain(nodes_known(session)).collect(),
            })
        }
    }
}

fn service_aim(
    session: &Session<'_>,
    key: &NamespacedName,
    family: IpFamily,
) -> Result<Aim, TraceError> {
    let c = &session.net.cluster;
    let Some(s) = c.services.get(key) else {
        return Err(TraceError::NotFound {
            what: format!("Service `{key}`"),
            known: few(c.services.keys().map(ToString::to_string)),
        });
    };
    if s.service_type.value == ServiceType::ExternalName || s.is_headless() {
        let domain = if c.dns_domain.is_empty() { "cluster.local" } else { &c.dns_domain };
        return Ok(Aim::Name(format!("{}.{}.svc.{domain}", s.name, s.namespace)));
    }
    let ip = s.cluster_ip.value.of_family(family).or_else(|| s.cluster_ip.value.primary());
    match ip {
        Some(ip) => Ok(Aim::Address {
            ip,
            kind: TargetKind::Service,
            name: Some(key.to_string()),
            service: Some(key.clone()),
        }),
        None => Err(TraceError::NoAddress {
            what: format!("Service {key}"),
            why: "it has no ClusterIP".to_owned(),
        }),
    }
}

fn pod_aim(pod: &Pod, family: IpFamily) -> Result<Aim, TraceError> {
    let key = NamespacedName::new(&pod.namespace, &pod.name);
    match pod.ip(family).or_else(|| pod.primary_ip()) {
        Some(ip) => Ok(Aim::Address {
            ip,
            kind: TargetKind::Pod,
            name: Some(key.to_string()),
            service: None,
        }),
        None => Err(TraceError::NoAddress {
            what: format!("pod {key}"),
            why: "it has no pod IP (not scheduled, or not running)".to_owned(),
        }),
    }
}

fn service_with_ip(session: &Session<'_>, ip: IpAddr) -> Option<NamespacedName> {
    session.net.cluster.services.iter().find_map(|(k, s)| match &s.cluster_ip.value {
        ClusterIp::Ips(ips) if ips.contains(&ip) => Some(k.clone()),
        _ => None,
    })
}

fn aim(session: &Session<'_>, target: &Target, family: IpFamily) -> Result<Aim, TraceError> {
    let c = &session.net.cluster;
    match target {
        Target::Service { namespace, name } => {
            service_aim(session, &NamespacedName::new(namespace, name), family)
        }
        Target::Pod { namespace, name } => match find_pod(session, namespace.as_deref(), name)? {
            Some(p) => pod_aim(p, family),
            None => Err(TraceError::NotFound {
                what: format!("pod `{name}`"),
                known: pods_known(session),
            }),
        },
        Target::Node { name } => {
            let node = c.node(name).ok_or_else(|| TraceError::NotFound {
                what: format!("node `{name}`"),
                known: nodes_known(session),
            })?;
            match node.internal_ip(family).or_else(|| node.internal_ips.first().copied()) {
                Some(ip) => Ok(Aim::Address {
                    ip,
                    kind: TargetKind::Node,
                    name: Some(name.clone()),
                    service: None,
                }),
                None => Err(TraceError::NoAddress {
                    what: format!("node {name}"),
                    why: "it has no InternalIP".to_owned(),
                }),
            }
        }
        Target::Ip { ip } => Ok(Aim::Address {
            ip: *ip,
            kind: TargetKind::Ip,
            name: None,
            service: service_with_ip(session, *ip),
        }),
        Target::Object { namespace, name } => {
            let key = NamespacedName::new(namespace, name);
            if c.services.contains_key(&key) {
                return service_aim(session, &key, family);
            }
            match c.pod(namespace, name) {
                Some(p) => pod_aim(p, family),
                None => Err(TraceError::NotFound {
                    what: format!("Service or pod `{key}`"),
                    known: few(c.services.keys().map(ToString::to_string)),
                }),
            }
        }
        Target::Name { name } => Ok(Aim::Name(name.clone())),
    }
}

/// The Service a cluster DNS name is the name of (`svc.ns.svc.cluster.local`).
fn service_of_name(session: &Session<'_>, fqdn: &str) -> Option<NamespacedName> {
    let c = &session.net.cluster;
    let domain = if c.dns_domain.is_empty() { "cluster.local" } else { &c.dns_domain };
    let rest = fqdn.trim_end_matches('.').strip_suffix(domain)?.strip_suffix(".svc.")?;
    let (svc, ns) = rest.split_once('.')?;
    let key = NamespacedName::new(ns, svc);
    c.services.contains_key(&key).then_some(key)
}

/// Looks a name up the way `client` would, tracing the DNS query of a pod.
fn lookup<'n>(
    session: &Session<'n>,
    peer: &Peer,
    client: Netns<'n>,
    name: &str,
    family: IpFamily,
    choices: Choices,
) -> (DnsLookup, Option<NamespacedName>) {
    let c = &session.net.cluster;
    let Netns::Pod(pod) = client else {
        // The host's resolver: the docker network's DNS knows the nodes, nothing of the cluster.
        let node = c.nodes.iter().find(|n| n.name == name.trim_end_matches('.'));
        let addresses: Vec<IpAddr> = node
            .and_then(|n| n.internal_ip(family).or_else(|| n.internal_ips.first().copied()))
            .into_iter()
            .collect();
        let failure = addresses.is_empty().then(|| {
            let hint = c
                .services
                .values()
                .find(|s| s.name == name.split('.').next().unwrap_or(name))
                .map(|s: &Service| {
                    let ip = s.cluster_ip.value.primary().map(|ip| format!(" or its ClusterIP {ip}")).unwrap_or_default();
                    format!(" (use svc/{}/{}{ip})", s.namespace, s.name)
                })
                .unwrap_or_default();
            format!(
                "curl: (6) Could not resolve host: {name} — {} resolves names with the host's resolver, which knows the node names but no cluster names{hint}",
                peer.describe()
            )
        });
        let queries = node
            .map(|n| {
                vec![Query {
                    name: name.to_owned(),
                    answer: Answer::Addresses {
                        addresses: addresses.clone(),
                        owner: format!("node {} (the node network's DNS)", n.name),
                    },
                }]
            })
            .unwrap_or_default();
        let lookup = DnsLookup {
            name: name.to_owned(),
            resolver: Resolver::Host,
            queries,
            exchange: None,
            addresses,
            failure,
        };
        return (lookup, None);
    };
    let conf = ResolvConf::for_pod(c, &pod.pod.namespace, family);
    let nameserver = conf.nameservers[0];
    let src = pod.ips.iter().copied().find(|ip| IpFamily::of(*ip) == family);
    let mut out = DnsLookup {
        name: name.to_owned(),
        resolver: Resolver::ClusterDns { resolv_conf: conf.clone() },
        queries: Vec::new(),
        exchange: None,
        addresses: Vec::new(),
        failure: None,
    };
    let Some(src) = src else {
        out.failure = Some(format!("wget: bad address '{name}' — the pod has no {family} address"));
        return (out, None);
    };
    let seed = match choices {
        Choices::Seed(s) => pass_choices(Choices::Seed(s), 1000),
        Choices::AllBranches => Choices::Seed(0),
    };
    let query = Packet::new(src, nameserver, PacketProtocol::Udp, Some(DNS_PORT));
    let exchange = session.connect(client, query, seed).into_iter().next();
    let answered = exchange.as_ref().is_some_and(|f| f.outcome == Outcome::Delivered);
    out.exchange = exchange.map(Box::new);
    if !answered {
        let why = out.exchange.as_ref().map(|f| f.summary.clone()).unwrap_or_default();
        out.failure = Some(format!(
            "wget: bad address '{name}' — the DNS query to {nameserver}:{DNS_PORT} got no answer ({why})"
        ));
        return (out, None);
    }
    out.queries = dns::queries(c, &conf, name, family);
    let last = out.queries.last().cloned();
    let mut service = None;
    match last.map(|q| (q.name, q.answer)) {
        Some((qname, Answer::Addresses { addresses, .. })) => {
            out.addresses = addresses;
            service = service_of_name(session, &qname);
        }
        Some((_, Answer::Alias { target, .. })) => {
            let chased = target.parse::<IpAddr>().ok().map(|ip| Answer::Addresses {
                addresses: vec![ip],
                owner: "an address written as a name".to_owned(),
            });
            let chased = chased.unwrap_or_else(|| dns::answer(c, &target, family));
            out.queries.push(Query { name: target.clone(), answer: chased.clone() });
            match chased {
                Answer::Addresses { addresses, .. } => out.addresses = addresses,
                _ => {
                    out.failure = Some(format!(
                        "'{name}' is an alias (CNAME) for {target}, a name outside the cluster: the connection would leave the cluster, and kpsim does not resolve names outside it"
                    ))
                }
            }
        }
        Some((_, Answer::Upstream)) => {
            out.failure = Some(format!(
                "'{name}' is not a cluster name: CoreDNS forwards it upstream, outside the cluster, which kpsim does not simulate"
            ));
        }
        _ => {
            let tried: Vec<&str> = out.queries.iter().map(|q| q.name.as_str()).collect();
            out.failure = Some(format!(
                "wget: bad address '{name}' — cluster DNS knows no such name (asked: {})",
                tried.join(", ")
            ));
        }
    }
    (out, service)
}

/// The outcome of a lookup that found no address: the query's own when it got no answer;
/// a timeout when the name leads outside the cluster (nothing there is simulated); else
/// unreachable (no such name).
fn lookup_outcome(l: &DnsLookup) -> Outcome {
    if let Some(f) = &l.exchange
        && f.outcome != Outcome::Delivered
    {
        return f.outcome;
    }
    let leaves =
        l.queries.iter().any(|q| matches!(q.answer, Answer::Alias { .. } | Answer::Upstream));
    if leaves { Outcome::Timeout } else { Outcome::Unreachable }
}

fn port_name(
    service: &NamespacedName,
    s: &Service,
    port: u16,
    proto: PacketProtocol,
) -> Option<String> {
    let sp =
        s.ports.iter().find(|p| p.port == port && proto.transport() == Some(p.protocol.value))?;
    Some(format!(
        "{service}:{}",
        if sp.name.is_empty() { port.to_string() } else { sp.name.clone() }
    ))
}

/// Traces a request (see the module docs).
pub(super) fn trace(
    session: &Session<'_>,
    request: &TraceRequest,
) -> Result<ClusterTrace, TraceError> {
    let c = &session.net.cluster;
    let (peer, client) = source(session, &request.from)?;
    let family = peer.ips.first().map(|ip| IpFamily::of(*ip)).unwrap_or(IpFamily::V4);
    let asked = match &request.to {
        Target::Service { namespace, name } => format!("svc/{namespace}/{name}"),
        Target::Pod { namespace: Some(ns), name } => format!("pod/{ns}/{name}"),
        Target::Pod { namespace: None, name } => format!("pod/{name}"),
        Target::Node { name } => format!("node/{name}"),
        Target::Ip { ip } => ip.to_string(),
        Target::Object { namespace, name } => format!("{namespace}/{name}"),
        Target::Name { name } => name.clone(),
    };
    let mut target = ResolvedTarget {
        asked,
        kind: TargetKind::Name,
        name: None,
        ip: None,
        port: request.port,
        service_port: None,
    };
    let (ip, service, dns) = match aim(session, &request.to, family)? {
        Aim::Address { ip, kind, name, service } => {
            target.kind = kind;
            target.name = name;
            (Some(ip), service, None)
        }
        Aim::Name(name) => {
            let (l, service) = lookup(session, &peer, client, &name, family, request.choices);
            target.name = service.as_ref().map(ToString::to_string);
            (l.addresses.first().copied(), service, Some(l))
        }
    };
    let service_obj = service.as_ref().and_then(|k| c.services.get(k));
    let protocol = request.protocol.unwrap_or_else(|| {
        service_obj
            .and_then(|s| {
                let p = match request.port {
                    Some(port) => s.ports.iter().find(|p| p.port == port),
                    None => s.ports.first(),
                };
                p.map(|p| PacketProtocol::from(p.protocol.value))
            })
            .unwrap_or(PacketProtocol::Tcp)
    });
    let Some(ip) = ip else {
        let dns = dns.unwrap_or_else(|| DnsLookup {
            name: target.asked.clone(),
            resolver: Resolver::Host,
            queries: Vec::new(),
            exchange: None,
            addresses: Vec::new(),
            failure: None,
        });
        let outcome = lookup_outcome(&dns);
        let summary = format!(
            "{outcome}: the name could not be resolved: {}",
            dns.failure.clone().unwrap_or_default()
        );
        return Ok(ClusterTrace {
            mode: session.net.experiments.mode,
            source: peer,
            target,
            protocol,
            dns: Some(dns),
            outcome,
            delivered_to: None,
            summary,
            flows: Vec::new(),
        });
    };
    target.ip = Some(ip);
    let port = match (protocol, request.port) {
        (PacketProtocol::Icmp, _) => None,
        (_, Some(p)) => Some(p),
        (proto, None) => {
            let first = service_obj.and_then(|s| {
                s.ports.iter().find(|p| proto.transport() == Some(p.protocol.value)).map(|p| p.port)
            });
            Some(first.ok_or_else(|| TraceError::PortRequired { target: target.asked.clone() })?)
        }
    };
    target.port = port;
    if let (Some(k), Some(s), Some(p)) = (&service, service_obj, port) {
        target.service_port = port_name(k, s, p, protocol);
    }
    let src = match client {
        Netns::Pod(p) => p.ips.iter().copied().find(|a| IpFamily::of(*a) == IpFamily::of(ip)),
        Netns::Node(n) => n.source_for(ip),
        Netns::Outside(a) => Some(a).filter(|a| IpFamily::of(*a) == IpFamily::of(ip)),
    };
    let Some(src) = src else {
        return Err(TraceError::FamilyMismatch { source: peer.describe(), target: ip.to_string() });
    };
    let first = Packet::new(src, ip, protocol, port);
    let flows = session.connect(client, first, request.choices);
    let delivered = flows.iter().find(|f| f.outcome == Outcome::Delivered);
    let outcome = match delivered {
        Some(_) => Outcome::Delivered,
        None => flows.first().map(|f| f.outcome).unwrap_or(Outcome::Timeout),
    };
    let delivered_to = delivered.and_then(|f| f.delivered_to.clone());
    let summary = summarize(&flows);
    Ok(ClusterTrace {
        mode: session.net.experiments.mode,
        source: peer,
        target,
        protocol,
        dns,
        outcome,
        delivered_to,
        summary,
        flows,
    })
}

fn summarize(flows: &[Flow]) -> String {
    match flows {
        [one] => one.summary.clone(),
        many => {
            let parts: Vec<String> = many
                .iter()
                .map(|f| {
                    let to =
                        f.delivered_to.as_deref().map(|d| format!(" by {d}")).unwrap_or_default();
                    format!("{}{to} (probability {:.2})", f.outcome, f.probability)
                })
                .collect();
            format!("{} flows: {}", many.len(), parts.join("; "))
        }
    }
}
