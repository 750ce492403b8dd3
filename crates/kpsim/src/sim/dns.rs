//! Cluster DNS as a pod sees it: the `resolv.conf` the kubelet writes (`nameserver` = the
//! kube-dns ClusterIP, `search <ns>.svc.<domain> svc.<domain> <domain>`, `options ndots:5`),
//! the names a resolver tries in turn, and what CoreDNS's `kubernetes` plugin answers for each
//! from the cluster state:
//! * `<svc>.<ns>.svc.<domain>`: the ClusterIP; for a headless Service the ready endpoints'
//!   addresses; for an ExternalName Service a CNAME to its `externalName`;
//! * `<hostname or a-b-c-d>.<svc>.<ns>.svc.<domain>`: one endpoint of a headless Service;
//! * `<a-b-c-d>.<ns>.pod.<domain>`: that address (CoreDNS's default `pods insecure`);
//! * an unknown name in the cluster domain, or in a namespace that does not exist: NXDOMAIN;
//! * a name outside the cluster domain: forwarded upstream, which kpsim does not simulate.
//!
//! Nodes and clients outside the cluster resolve with the host's resolver, which knows no
//! cluster names: see [`crate::sim::cluster`]. Tracing the query packet itself is the cluster
//! trace's job; this module only says which queries are sent and what they get.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Cluster, ClusterIp, NamespacedName, ServiceType};
use crate::net::{Cidr, IpFamily};

/// The DNS port.
pub const DNS_PORT: u16 = 53;

/// kubelet's `ndots` for pods with `dnsPolicy: ClusterFirst`.
pub const NDOTS: usize = 5;

/// A pod's `/etc/resolv.conf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvConf {
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub ndots: usize,
}

/// The cluster DNS address pods are told to use: the kube-dns ClusterIP, else the tenth
/// address of the service CIDR (kubeadm's `clusterDNS`), else 10.96.0.10.
pub fn nameserver(cluster: &Cluster, family: IpFamily) -> IpAddr {
    if let Some(ip) = cluster
        .service("kube-system", "kube-dns")
        .and_then(|s| s.cluster_ip.value.of_family(family))
    {
        return ip;
    }
    cluster
        .service_cidrs
        .iter()
        .find(|c| c.family() == family)
        .and_then(|c| c.nth(10))
        .or_else(|| Cidr::parse_strict("10.96.0.0/12").and_then(|c| c.nth(10)))
        .unwrap_or(IpFamily::V4.loopback())
}

impl ResolvConf {
    /// The resolv.conf of a pod of `namespace` with the default `dnsPolicy: ClusterFirst`.
    pub fn for_pod(cluster: &Cluster, namespace: &str, family: IpFamily) -> ResolvConf {
        let domain = domain(cluster);
        ResolvConf {
            nameservers: vec![nameserver(cluster, family)],
            search: vec![
                format!("{namespace}.svc.{domain}"),
                format!("svc.{domain}"),
                domain.to_owned(),
            ],
            ndots: NDOTS,
        }
    }

    /// The names a resolver asks for, in order: a name with fewer than `ndots` dots goes
    /// through the search list first; a name ending in `.` is asked as is, only.
    pub fn query_names(&self, name: &str) -> Vec<String> {
        if let Some(absolute) = name.strip_suffix('.') {
            return vec![absolute.to_owned()];
        }
        let searched = self.search.iter().map(|s| format!("{name}.{s}"));
        if name.matches('.').count() >= self.ndots {
            std::iter::once(name.to_owned()).chain(searched).collect()
        } else {
            searched.chain(std::iter::once(name.to_owned())).collect()
        }
    }
}

impl fmt::Display for ResolvConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for ns in &self.nameservers {
            writeln!(f, "nameserver {ns}")?;
        }
        writeln!(f, "search {}", self.search.join(" "))?;
        writeln!(f, "options ndots:{}", self.ndots)
    }
}

/// What CoreDNS answers for one name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum Answer {
    /// A (or AAAA) records; `owner` says what the name is (`Service default/service`).
    Addresses { addresses: Vec<IpAddr>, owner: String },
    /// A CNAME (an ExternalName Service).
    Alias { target: String, owner: String },
    /// NXDOMAIN: no such name.
    NoSuchName,
    /// The name exists but has no address of the family asked for (NODATA).
    NoAddress { owner: String },
    /// Outside the cluster domain: CoreDNS forwards it upstream, which kpsim does not simulate.
    Upstream,
}

impl Answer {
    /// True when a resolver stops at this answer (anything but "no such name / no data").
    pub fn is_final(&self) -> bool {
        !matches!(self, Answer::NoSuchName | Answer::NoAddress { .. })
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Addresses { addresses, owner } => {
                let a: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                write!(f, "{} ({owner})", a.join(", "))
            }
            Answer::Alias { target, owner } => write!(f, "CNAME {target} ({owner})"),
            Answer::NoSuchName => f.write_str("NXDOMAIN"),
            Answer::NoAddress { owner } => write!(f, "no address ({owner})"),
            Answer::Upstream => {
                f.write_str("outside the cluster domain: forwarded upstream (not simulated)")
            }
        }
    }
}

/// One query and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Query {
    pub name: String,
    pub answer: Answer,
}

fn domain(cluster: &Cluster) -> &str {
    if cluster.dns_domain.is_empty() { "cluster.local" } else { &cluster.dns_domain }
}

/// `10-244-1-2` → 10.244.1.2 (and `fd00--1` → fd00::1).
fn dashed_ip(label: &str) -> Option<IpAddr> {
    let v4 = label.replace('-', ".");
    if let Ok(ip) = v4.parse::<IpAddr>()
        && ip.is_ipv4()
    {
        return Some(ip);
    }
    label.replace('-', ":").parse::<IpAddr>().ok().filter(IpAddr::is_ipv6)
}

fn dashed(ip: IpAddr) -> String {
    ip.to_string().replace(['.', ':'], "-")
}

/// What CoreDNS answers for `name` (no trailing dot) when asked for `family` addresses.
pub fn answer(cluster: &Cluster, name: &str, family: IpFamily) -> Answer {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let zone = domain(cluster).to_ascii_lowercase();
    let Some(rest) = name.strip_suffix(&zone) else { return Answer::Upstream };
    let labels: Vec<&str> = match rest {
        "" => Vec::new(),
        r => match r.strip_suffix('.') {
            Some(r) => r.split('.').collect(),
            None => return Answer::Upstream,
        },
    };
    let namespace_exists = |ns: &str| cluster.namespaces.iter().any(|n| n == ns);
    match labels.as_slice() {
        [svc, ns, "svc"] => {
            if !namespace_exists(ns) {
                return Answer::NoSuchName;
            }
            service_answer(cluster, &NamespacedName::new(*ns, *svc), family)
        }
        [ep, svc, ns, "svc"] => {
            let key = NamespacedName::new(*ns, *svc);
            let Some(service) = cluster.services.get(&key) else { return Answer::NoSuchName };
            if !service.is_headless() {
                return Answer::NoSuchName;
            }
            let found = cluster.slices_of(&key).flat_map(|s| &s.endpoints).find(|e| {
                e.hostname.as_deref() == Some(*ep)
                    || e.addresses.first().is_some_and(|a| dashed(*a) == *ep)
            });
            match found.and_then(|e| e.addresses.first()) {
                Some(ip) if IpFamily::of(*ip) == family => Answer::Addresses {
                    addresses: vec![*ip],
                    owner: format!("endpoint of headless Service {key}"),
                },
                Some(_) => Answer::NoAddress { owner: format!("endpoint of {key}") },
                None => Answer::NoSuchName,
            }
        }
        [ip, ns, "pod"] => match dashed_ip(ip) {
            Some(addr) if namespace_exists(ns) && IpFamily::of(addr) == family => {
                Answer::Addresses { addresses: vec![addr], owner: "pod name by IP".to_owned() }
            }
            _ => Answer::NoSuchName,
        },
        [] | ["svc"] | ["pod"] | [_, "svc"] | [_, "pod"] => {
            Answer::NoAddress { owner: "a cluster DNS subdomain".to_owned() }
        }
        _ => Answer::NoSuchName,
    }
}

fn service_answer(cluster: &Cluster, key: &NamespacedName, family: IpFamily) -> Answer {
    let Some(service) = cluster.services.get(key) else { return Answer::NoSuchName };
    if service.service_type.value == ServiceType::ExternalName {
        return match &service.external_name {
            Some(target) => Answer::Alias {
                target: target.trim_end_matches('.').to_owned(),
                owner: format!("ExternalName Service {key}"),
            },
            None => Answer::NoAddress { owner: format!("ExternalName Service {key}") },
        };
    }
    match &service.cluster_ip.value {
        ClusterIp::Headless => {
            let mut addresses: Vec<IpAddr> = cluster
                .slices_of(key)
                .flat_map(|s| &s.endpoints)
                .filter(|e| e.conditions.is_ready())
                .filter_map(|e| e.addresses.first().copied())
                .filter(|ip| IpFamily::of(*ip) == family)
                .collect();
            addresses.sort();
            addresses.dedup();
            let owner = format!("headless Service {key}: its ready endpoints");
            if addresses.is_empty() {
                Answer::NoAddress { owner }
            } else {
                Answer::Addresses { addresses, owner }
            }
        }
        ip => match ip.of_family(family) {
            Some(ip) => Answer::Addresses { addresses: vec![ip], owner: format!("Service {key}") },
            None => Answer::NoAddress { owner: format!("Service {key}") },
        },
    }
}

/// The queries a resolver with `conf` sends for `name`, each with CoreDNS's answer, up to
/// the first that settles it.
pub fn queries(cluster: &Cluster, conf: &ResolvConf, name: &str, family: IpFamily) -> Vec<Query> {
    let mut out = Vec::new();
    for n in conf.query_names(name) {
        let answer = answer(cluster, &n, family);
        let settled = answer.is_final();
        out.push(Query { name: n, answer });
        if settled {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Admission;

    fn walkthrough() -> Cluster {
        crate::analyze(include_str!("../../tests/data/examples/kube-proxy.yaml"), Admission::Auto)
            .cluster
    }

    #[test]
    fn a_short_name_goes_through_the_search_list() {
        let c = walkthrough();
        let conf = ResolvConf::for_pod(&c, "default", IpFamily::V4);
        assert_eq!(
            conf.to_string(),
            "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
        );
        let q = queries(&c, &conf, "service", IpFamily::V4);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].name, "service.default.svc.cluster.local");
        let q = queries(&c, &conf, "service.default", IpFamily::V4);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].answer, Answer::NoSuchName);
        assert!(
            matches!(&q[1].answer, Answer::Addresses { owner, .. } if owner == "Service default/service")
        );
        let q = queries(&c, &conf, "kube-dns.kube-system.svc.cluster.local.", IpFamily::V4);
        assert_eq!(q.len(), 1);
        let q = queries(&c, &conf, "example.com", IpFamily::V4);
        assert_eq!(q.last().unwrap().answer, Answer::Upstream);
        assert_eq!(q.len(), 4);
    }

    #[test]
    fn pod_names_by_ip_and_unknown_namespaces() {
        let c = walkthrough();
        assert_eq!(
            answer(&c, "10-244-1-2.default.pod.cluster.local", IpFamily::V4),
            Answer::Addresses {
                addresses: vec!["10.244.1.2".parse().unwrap()],
                owner: "pod name by IP".into()
            }
        );
        assert_eq!(answer(&c, "service.nope.svc.cluster.local", IpFamily::V4), Answer::NoSuchName);
        assert_eq!(
            answer(&c, "server-pod-1.default.svc.cluster.local", IpFamily::V4),
            Answer::NoSuchName
        );
    }
}
