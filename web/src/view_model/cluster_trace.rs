//! The Cluster trace panel's view model: what the user asked for ([`ClusterTraceForm`], saved
//! with the document), the walkthrough's experiments as one-click [`Preset`]s, the form turned
//! into the core's request and experiments ([`prepare`]), and the core's [`ClusterTrace`]
//! turned into rows ([`cluster_trace_view`]): the outcome, the hops (number, actor badge,
//! place, text, NAT before → after) and the DNS query's own hops.
//!
//! This is the connection across the whole cluster (`kpsim::sim::cluster`); the per-node
//! trace is [`super::trace`]. Not responsible for walking the network (the core's) or for HTML
//! (`components::cluster_trace_panel`).

use std::collections::BTreeSet;

use kpsim::model::{Cluster, Service};
use kpsim::net::{IpFamily, join_host_port};
use kpsim::settings::Mode;
use kpsim::sim::cluster::{
    Actor, ClusterTrace, Direction, Experiments, Hop, KubeProxy, Outcome, TraceRequest,
};
use kpsim::sim::{Choices, PacketProtocol};
use serde::{Deserialize, Serialize};

use super::cluster::short_name;

/// What to trace across the cluster, as the user wrote it. Empty `from`/`to` take the
/// natural choice (a client pod, the first Service port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterTraceForm {
    /// A pod (`pod-client`, `ns/pod`), `node/NAME`, or an IP.
    pub from: String,
    /// `service:8080`, `svc/ns/name`, `pod/NAME:PORT`, `node/NAME:PORT`, an IP, a DNS name.
    pub to: String,
    /// `tcp`, `udp` or `icmp` (a ping).
    pub protocol: String,
    pub mode: Mode,
    /// kube-proxy stopped (its rules flushed) on every node.
    pub stopped_everywhere: bool,
    /// kube-proxy stopped on these nodes.
    pub stopped_on: BTreeSet<String>,
    pub seed: u64,
    pub all_branches: bool,
}

impl Default for ClusterTraceForm {
    fn default() -> ClusterTraceForm {
        ClusterTraceForm {
            from: String::new(),
            to: String::new(),
            protocol: "tcp".to_owned(),
            mode: Mode::Iptables,
            stopped_everywhere: false,
            stopped_on: BTreeSet::new(),
            seed: 0,
            all_branches: false,
        }
    }
}

impl ClusterTraceForm {
    /// Whether kube-proxy is stopped on `node`.
    pub fn stopped(&self, node: &str) -> bool {
        self.stopped_everywhere || self.stopped_on.contains(node)
    }
}

/// The walkthrough's experiments, one click each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// curl the Service from the client pod, kube-proxy running.
    CurlService,
    /// The same curl with kube-proxy stopped on every node.
    StopKubeProxy,
    /// curl a server pod directly (works with or without kube-proxy).
    CurlPod,
    /// ping the Service's ClusterIP.
    PingClusterIp,
}

impl Preset {
    pub const ALL: [Preset; 4] =
        [Preset::CurlService, Preset::StopKubeProxy, Preset::CurlPod, Preset::PingClusterIp];

    pub fn id(self) -> &'static str {
        match self {
            Preset::CurlService => "curl-service",
            Preset::StopKubeProxy => "stop-kube-proxy",
            Preset::CurlPod => "curl-pod",
            Preset::PingClusterIp => "ping-cluster-ip",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::CurlService => "curl the Service",
            Preset::StopKubeProxy => "stop kube-proxy",
            Preset::CurlPod => "curl a server pod",
            Preset::PingClusterIp => "ping the ClusterIP",
        }
    }

    /// What to look at after the click.
    pub fn hint(self) -> &'static str {
        match self {
            Preset::CurlService => {
                "kube-proxy's DNAT picks a server pod; conntrack undoes it on the way back."
            }
            Preset::StopKubeProxy => {
                "Without kube-proxy's rules nobody knows the ClusterIP: the curl times out. Then try \"curl a server pod\"."
            }
            Preset::CurlPod => "Pod to pod needs no kube-proxy: stop it and this still works.",
            Preset::PingClusterIp => {
                "Compare modes: iptables lets the ping wander off (timeout), nftables rejects it at once."
            }
        }
    }

    /// The form after the click: only the fields the experiment is about change.
    pub fn apply(
        self,
        form: &ClusterTraceForm,
        cluster: &Cluster,
        family: IpFamily,
    ) -> ClusterTraceForm {
        let mut f = form.clone();
        f.from = default_from(cluster, family).unwrap_or_default();
        match self {
            Preset::CurlService => {
                f.to = default_to(cluster, family).unwrap_or_default();
                f.protocol = "tcp".to_owned();
                f.stopped_everywhere = false;
                f.stopped_on.clear();
            }
            Preset::StopKubeProxy => {
                f.to = default_to(cluster, family).unwrap_or_default();
                f.protocol = "tcp".to_owned();
                f.stopped_everywhere = true;
            }
            Preset::CurlPod => {
                f.to = server_pod(cluster, family, &f.from).unwrap_or_default();
                f.protocol = "tcp".to_owned();
            }
            Preset::PingClusterIp => {
                f.to = first_cluster_ip(cluster, family).unwrap_or_default();
                f.protocol = "icmp".to_owned();
                f.stopped_everywhere = false;
                f.stopped_on.clear();
            }
        }
        f
    }
}

/// The default source: `pod-client` when present, else a pod called like a client, else the
/// first pod with an address.
pub fn default_from(cluster: &Cluster, family: IpFamily) -> Option<String> {
    let with_ip = || cluster.pods.values().filter(|p| p.ip(family).is_some());
    with_ip()
        .find(|p| p.name == "pod-client")
        .or_else(|| with_ip().find(|p| p.name.contains("client")))
        .or_else(|| with_ip().next())
        .map(|p| short_name(&p.namespace, &p.name))
}

/// The default target: the first Service port with a ClusterIP, as `name:port` — a Service
/// the user wrote (with a selector, outside `kube-system`) before the built-in ones.
pub fn default_to(cluster: &Cluster, family: IpFamily) -> Option<String> {
    let svc = user_service(cluster, family)?;
    let port = svc.ports.first()?;
    let host = if svc.namespace == "default" {
        svc.name.clone()
    } else {
        format!("svc/{}/{}", svc.namespace, svc.name)
    };
    Some(format!("{host}:{}", port.port))
}

/// The first Service with a ClusterIP and a port, preferring the user's own.
fn user_service(cluster: &Cluster, family: IpFamily) -> Option<&Service> {
    let usable = || {
        cluster
            .services
            .values()
            .filter(|s| s.cluster_ip.value.of_family(family).is_some() && !s.ports.is_empty())
    };
    usable()
        .find(|s| s.selector.is_some() && s.namespace != "kube-system")
        .or_else(|| usable().next())
}

fn first_cluster_ip(cluster: &Cluster, family: IpFamily) -> Option<String> {
    let ip = user_service(cluster, family)?.cluster_ip.value.of_family(family)?;
    Some(if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() })
}

/// `pod/NAME:PORT` of a pod (not the source) selected by a Service and declaring a port,
/// else of any other pod declaring one.
fn server_pod(cluster: &Cluster, family: IpFamily, from: &str) -> Option<String> {
    let candidates = || {
        cluster.pods.values().filter(|p| {
            p.ip(family).is_some()
                && !p.container_ports.is_empty()
                && short_name(&p.namespace, &p.name) != from
        })
    };
    let selected = candidates().find(|p| {
        cluster.services.values().any(|s| s.selector.as_ref().is_some_and(|sel| p.matches(sel)))
    });
    let pod = selected.or_else(|| candidates().next())?;
    let port = pod.container_ports.first()?.container_port;
    Some(format!("pod/{}/{}:{port}", pod.namespace, pod.name))
}

/// The form as the core's request and experiments; the error is one sentence for the page.
pub fn prepare(
    form: &ClusterTraceForm,
    cluster: &Cluster,
    family: IpFamily,
) -> Result<(TraceRequest, Experiments), String> {
    let from = match form.from.trim() {
        "" => default_from(cluster, family)
            .ok_or("no pod to trace from: write a source (node/NAME or an IP)")?,
        f => f.to_owned(),
    };
    let to = match form.to.trim() {
        "" => default_to(cluster, family)
            .ok_or("no Service to trace to: write a target (pod/NAME:PORT or an IP:PORT)")?,
        t => t.to_owned(),
    };
    let protocol = PacketProtocol::parse(form.protocol.trim())
        .ok_or_else(|| format!("`{}` is not a protocol (tcp, udp or icmp)", form.protocol))?;
    let mut request = TraceRequest::parse(&from, &to).map_err(|e| e.to_string())?;
    request.protocol = Some(protocol);
    request.choices =
        if form.all_branches { Choices::AllBranches } else { Choices::Seed(form.seed) };
    let mode = if form.mode == Mode::Nftables { Mode::Nftables } else { Mode::Iptables };
    let mut experiments = Experiments::in_mode(mode);
    if form.stopped_everywhere {
        experiments.kube_proxy = KubeProxy::NeverRan;
    }
    for node in &form.stopped_on {
        if cluster.nodes.iter().any(|n| n.name == *node) {
            experiments.kube_proxy_on.insert(node.clone(), KubeProxy::NeverRan);
        }
    }
    Ok((request, experiments))
}

/// Traces the form through `cluster`, building the network each time (the panel keeps the
/// network between traces instead).
#[cfg(test)]
pub fn run(
    form: &ClusterTraceForm,
    cluster: &Cluster,
    family: IpFamily,
) -> Result<ClusterTraceView, String> {
    let (request, experiments) = prepare(form, cluster, family)?;
    let network = kpsim::sim::cluster::ClusterNetwork::new(cluster, &experiments)
        .map_err(|e| e.to_string())?;
    let trace = network.trace(&request).map_err(|e| e.to_string())?;
    Ok(cluster_trace_view(&trace))
}

/// One hop as a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopRow {
    /// 1-based.
    pub number: usize,
    /// `app`, `CNI`, `kube-proxy`, `kernel`, `network`.
    pub actor: &'static str,
    /// A CSS-safe form of the actor (`actor-kube-proxy`).
    pub actor_class: &'static str,
    /// `default/pod-client`, `minikube`, `network`, `outside`.
    pub place: String,
    pub reply: bool,
    pub text: String,
    /// `before → after` when the hop rewrote the packet.
    pub nat: Option<String>,
    /// The rule that acted, as written.
    pub rule: Option<String>,
}

/// One way the connection went (several with all branches).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow {
    pub percent: f64,
    pub outcome: &'static str,
    pub delivered_to: Option<String>,
    pub summary: String,
}

/// The name lookup a pod made first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsView {
    pub name: String,
    /// `10.96.0.12`, or why the name did not resolve.
    pub result: String,
    pub hops: Vec<HopRow>,
}

/// The panel's content.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterTraceView {
    /// `delivered`, `refused`, `unreachable`, `timeout` (the CSS class and `data-outcome`).
    pub outcome: &'static str,
    /// `delivered to default/server-pod-1`, `refused`, …
    pub headline: String,
    pub summary: String,
    /// `pod default/pod-client → service:8080 (10.96.0.12:8080) · tcp · iptables mode`.
    pub route: String,
    pub hops: Vec<HopRow>,
    pub dns: Option<DnsView>,
    /// Only with more than one flow.
    pub flows: Vec<FlowRow>,
}

/// The core's trace as rows.
pub fn cluster_trace_view(t: &ClusterTrace) -> ClusterTraceView {
    let headline = match (t.outcome, &t.delivered_to) {
        (Outcome::Delivered, Some(to)) => format!("delivered to {to}"),
        (Outcome::Refused, _) => "refused — Connection refused".to_owned(),
        (Outcome::Timeout, _) => "timeout — nothing ever answers".to_owned(),
        (Outcome::Unreachable, _) => "unreachable — No route to host".to_owned(),
        (o, None) => o.as_str().to_owned(),
    };
    let target = match (t.target.ip, t.target.port) {
        (Some(ip), Some(port)) => format!(" ({})", join_host_port(ip, port)),
        (Some(ip), None) => format!(" ({ip})"),
        _ => String::new(),
    };
    let route = format!(
        "{} → {}{target} · {} · {} mode",
        t.source.describe(),
        t.target.asked,
        t.protocol.as_lower(),
        t.mode.as_str()
    );
    let dns = t.dns.as_ref().map(|d| DnsView {
        name: d.name.clone(),
        result: match (&d.failure, d.addresses.first()) {
            (Some(why), _) => why.clone(),
            (None, Some(ip)) => format!("resolves to {ip}"),
            (None, None) => "no answer".to_owned(),
        },
        hops: d.exchange.as_ref().map(|f| hop_rows(&f.hops)).unwrap_or_default(),
    });
    let flows = if t.flows.len() > 1 {
        t.flows
            .iter()
            .map(|f| FlowRow {
                percent: f.probability * 100.0,
                outcome: f.outcome.as_str(),
                delivered_to: f.delivered_to.clone(),
                summary: f.summary.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    ClusterTraceView {
        outcome: t.outcome.as_str(),
        headline,
        summary: t.summary.clone(),
        route,
        hops: hop_rows(t.hops()),
        dns,
        flows,
    }
}

fn hop_rows(hops: &[Hop]) -> Vec<HopRow> {
    hops.iter()
        .enumerate()
        .map(|(i, h)| HopRow {
            number: i + 1,
            actor: h.actor.as_str(),
            actor_class: actor_class(h.actor),
            place: h.place.to_string(),
            reply: h.direction == Direction::Reply,
            text: h.text.clone(),
            nat: (h.before != h.after).then(|| format!("{} → {}", h.before, h.after)),
            rule: h.rule.as_ref().map(|r| r.rule.clone()),
        })
        .collect()
}

fn actor_class(actor: Actor) -> &'static str {
    match actor {
        Actor::Application => "actor-app",
        Actor::Kernel => "actor-kernel",
        Actor::Cni => "actor-cni",
        Actor::KubeProxy => "actor-kube-proxy",
        Actor::Network => "actor-network",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;

    fn walkthrough() -> kpsim::Analysis {
        kpsim::analyze(examples::WALKTHROUGH.text, kpsim::model::Admission::Auto)
    }

    fn traced(form: &ClusterTraceForm) -> ClusterTraceView {
        run(form, &walkthrough().cluster, IpFamily::V4).expect("traces")
    }

    fn preset(p: Preset, form: &ClusterTraceForm) -> ClusterTraceForm {
        p.apply(form, &walkthrough().cluster, IpFamily::V4)
    }

    #[test]
    fn an_empty_form_curls_the_first_service_from_the_client_pod() {
        let c = walkthrough().cluster;
        assert_eq!(default_from(&c, IpFamily::V4).as_deref(), Some("pod-client"));
        assert_eq!(default_to(&c, IpFamily::V4).as_deref(), Some("service:8080"));
        let v = traced(&ClusterTraceForm::default());
        assert_eq!(v.outcome, "delivered");
        assert!(v.headline.starts_with("delivered to default/server-pod-"), "{}", v.headline);
        assert!(
            v.route.starts_with("pod default/pod-client → service (10.100.253.115:8080)"),
            "{}",
            v.route
        );
    }

    #[test]
    fn hops_carry_actor_place_and_the_dnat_kube_proxy_made() {
        let v = traced(&ClusterTraceForm::default());
        assert_eq!(v.hops.first().map(|h| (h.number, h.actor)), Some((1, "app")));
        let dnat = v
            .hops
            .iter()
            .find(|h| h.actor == "kube-proxy" && h.nat.is_some())
            .expect("a kube-proxy hop rewrote the packet");
        assert_eq!(dnat.place, "minikube");
        assert_eq!(dnat.actor_class, "actor-kube-proxy");
        let nat = dnat.nat.as_deref().unwrap_or_default();
        assert!(nat.contains(":8080 tcp → ") && nat.contains("10.244."), "{nat}");
        assert!(dnat.rule.as_deref().unwrap_or_default().contains("DNAT"), "{:?}", dnat.rule);
        assert!(v.hops.iter().any(|h| h.reply), "the reply comes back");
        assert!(v.hops.iter().any(|h| h.actor == "CNI"));
    }

    #[test]
    fn without_kube_proxy_the_service_times_out_but_a_pod_still_answers() {
        let base = ClusterTraceForm::default();
        let stopped = preset(Preset::StopKubeProxy, &base);
        assert!(stopped.stopped_everywhere && stopped.stopped("minikube"));
        assert_eq!((stopped.from.as_str(), stopped.to.as_str()), ("pod-client", "service:8080"));
        assert_eq!(traced(&stopped).outcome, "timeout");
        let pod = preset(Preset::CurlPod, &stopped);
        assert!(pod.stopped_everywhere, "curl a pod keeps kube-proxy stopped");
        assert!(pod.to.starts_with("pod/default/server-pod-"), "{}", pod.to);
        let v = traced(&pod);
        assert_eq!(v.outcome, "delivered", "{}", v.summary);
        assert!(v.hops.iter().all(|h| h.nat.is_none()), "nobody NATs pod to pod traffic");
        let again = preset(Preset::CurlService, &pod);
        assert!(!again.stopped_everywhere);
        assert_eq!(traced(&again).outcome, "delivered");
    }

    #[test]
    fn kube_proxy_stopped_on_the_client_node_alone_is_enough_to_break_the_service() {
        let mut form = ClusterTraceForm::default();
        form.stopped_on.insert("minikube-m02".into());
        assert_eq!(traced(&form).outcome, "delivered", "the client runs on minikube");
        form.stopped_on.insert("minikube".into());
        form.stopped_on.insert("no-such-node".into());
        assert_eq!(traced(&form).outcome, "timeout");
    }

    #[test]
    fn a_ping_to_the_cluster_ip_times_out_with_iptables_and_is_refused_with_nftables() {
        let ping = preset(Preset::PingClusterIp, &ClusterTraceForm::default());
        assert_eq!(ping.protocol, "icmp");
        assert_eq!(ping.to, "10.100.253.115");
        assert_eq!(traced(&ping).outcome, "timeout");
        let nft = ClusterTraceForm { mode: Mode::Nftables, ..ping };
        let v = traced(&nft);
        assert_eq!(v.outcome, "refused");
        assert!(v.headline.contains("Connection refused"));
        assert!(v.route.ends_with("icmp · nftables mode"), "{}", v.route);
    }

    #[test]
    fn a_dns_name_shows_the_query_as_its_own_hops() {
        let form = ClusterTraceForm {
            to: "service.default.svc.cluster.local:8080".into(),
            ..ClusterTraceForm::default()
        };
        let v = traced(&form);
        let dns = v.dns.expect("a lookup");
        assert!(dns.result.starts_with("resolves to 10.100.253.115"), "{}", dns.result);
        assert!(!dns.hops.is_empty());
        assert_eq!(v.outcome, "delivered");
    }

    #[test]
    fn all_branches_lists_every_flow() {
        let form = ClusterTraceForm { all_branches: true, ..ClusterTraceForm::default() };
        let v = traced(&form);
        assert_eq!(v.flows.len(), 2);
        let total: f64 = v.flows.iter().map(|f| f.percent).sum();
        assert!((total - 100.0).abs() < 1e-6);
        assert!(v.flows.iter().all(|f| f.outcome == "delivered"));
    }

    #[test]
    fn mistakes_are_one_sentence() {
        let c = walkthrough().cluster;
        let bad = |from: &str, to: &str, protocol: &str| {
            let form = ClusterTraceForm {
                from: from.into(),
                to: to.into(),
                protocol: protocol.into(),
                ..ClusterTraceForm::default()
            };
            run(&form, &c, IpFamily::V4).expect_err("an error")
        };
        assert!(bad("", "", "gre").contains("not a protocol"));
        assert!(bad("nobody", "", "tcp").contains("nobody"));
        assert!(bad("", "pod/server-pod-1", "tcp").contains("needs a port"));
        let empty = kpsim::analyze("", kpsim::model::Admission::Auto).cluster;
        let none = run(&ClusterTraceForm::default(), &empty, IpFamily::V4).expect_err("nothing");
        assert!(none.contains("no pod"), "{none}");
    }
}
