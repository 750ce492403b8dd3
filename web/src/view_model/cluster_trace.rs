//! The Cluster trace panel's view model: what the user asked for ([`ClusterTraceForm`], saved
//! with the document), the walkthrough's experiments as one-click [`Preset`]s, the form turned
//! into the core's request and experiments ([`prepare`]), and the core's [`ClusterTrace`]
//! turned into rows ([`cluster_trace_view`]): the outcome, the hops (number, actor badge,
//! place, text, NAT before → after) and the DNS query's own hops.
//!
//! This is the connection across the whole cluster (`kpsim::sim::cluster`); the per-node
//! trace is [`super::trace`]. Not responsible for walking the network (the core's) or for HTML
//! (`components::cluster_trace_panel`).

use std::collections::{BTreeMap, BTreeSet};

use kpsim::model::{Cluster, NamespacedName};
use kpsim::net::{IpFamily, join_host_port};
use kpsim::settings::Mode;
use kpsim::sim::cluster::{
    Actor, ClusterTrace, Direction, Experiments, Hop, KubeProxy, Outcome, TraceRequest,
};
use kpsim::sim::{Choices, PacketProtocol, Trace};
use serde::{Deserialize, Serialize};

use super::kube_proxy::{FrozenRules, KubeProxyChoice, NodeKubeProxy};
use super::rules::ActedRule;

mod preset;

pub use preset::{Preset, default_from, default_to, without_server_pod};

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
    /// kube-proxy stopped after a sync on these nodes: their rules stay as they were then.
    pub frozen: BTreeMap<String, FrozenRules>,
    /// Pods (`namespace/name`) whose readiness probe fails: running, but not ready.
    pub not_ready: BTreeSet<String>,
    /// Nodes without the CNI's routes to the other nodes' pods.
    pub no_routes_on: BTreeSet<String>,
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
            frozen: BTreeMap::new(),
            not_ready: BTreeSet::new(),
            no_routes_on: BTreeSet::new(),
            seed: 0,
            all_branches: false,
        }
    }
}

impl ClusterTraceForm {
    /// Whether kube-proxy never ran on `node` (no rules at all).
    pub fn stopped(&self, node: &str) -> bool {
        self.stopped_everywhere || self.stopped_on.contains(node)
    }

    /// The pods marked not ready that `cluster` has (a switch outlives its pod).
    pub fn not_ready_in(&self, cluster: &Cluster) -> Vec<NamespacedName> {
        self.not_ready
            .iter()
            .filter_map(|key| key.split_once('/'))
            .map(|(namespace, name)| NamespacedName::new(namespace, name))
            .filter(|pod| cluster.pods.contains_key(pod))
            .collect()
    }

    /// kube-proxy on `node`: "all nodes" wins, then never ran, then frozen.
    pub fn kube_proxy(&self, node: &str) -> NodeKubeProxy<'_> {
        if self.stopped(node) {
            return NodeKubeProxy::NeverRan;
        }
        match self.frozen.get(node) {
            Some(f) => NodeKubeProxy::Frozen(f),
            None => NodeKubeProxy::Running,
        }
    }

    /// Sets kube-proxy on `nodes`; stopping after sync snapshots `now` (choosing it again
    /// is a resync). A choice for one node leaves "all nodes" only when it is "running".
    pub fn set_kube_proxy(&mut self, nodes: &[String], choice: KubeProxyChoice, now: &FrozenRules) {
        for node in nodes {
            self.stopped_on.remove(node);
            self.frozen.remove(node);
            match choice {
                KubeProxyChoice::Running => {}
                KubeProxyChoice::NeverRan => {
                    self.stopped_on.insert(node.clone());
                }
                KubeProxyChoice::StoppedAfterSync => {
                    self.frozen.insert(node.clone(), now.clone());
                }
            }
        }
        if choice != KubeProxyChoice::NeverRan {
            self.stopped_everywhere = false;
        }
    }

    /// Every node running kube-proxy again.
    fn run_everywhere(&mut self) {
        self.stopped_everywhere = false;
        self.stopped_on.clear();
        self.frozen.clear();
    }
}

/// The form as the core's request and experiments; the error is one sentence for the page.
/// `frozen(text)` is the cluster a frozen snapshot's text makes (the page analyses each
/// snapshot once); a node frozen at a text that makes none keeps running.
pub fn prepare<'a>(
    form: &'a ClusterTraceForm,
    cluster: &Cluster,
    family: IpFamily,
    frozen: impl Fn(&'a str) -> Option<&'a Cluster>,
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
    let mut experiments = Experiments::in_mode(form.mode);
    if form.stopped_everywhere {
        experiments.kube_proxy = KubeProxy::NeverRan;
    }
    for node in &form.stopped_on {
        if cluster.nodes.iter().any(|n| n.name == *node) {
            experiments.kube_proxy_on.insert(node.clone(), KubeProxy::NeverRan);
        }
    }
    for (node, snapshot) in &form.frozen {
        if form.stopped(node) || !cluster.nodes.iter().any(|n| n.name == *node) {
            continue;
        }
        if let Some(older) = frozen(&snapshot.text[..]) {
            let stopped = KubeProxy::StoppedAfterSync(Box::new(older.clone()));
            experiments.kube_proxy_on.insert(node.clone(), stopped);
        }
    }
    // Like kube-proxy switches, names that are not (or no longer) in the cluster are skipped.
    experiments.not_ready.extend(form.not_ready_in(cluster));
    for node in &form.no_routes_on {
        if cluster.nodes.iter().any(|n| n.name == *node) {
            experiments.no_routes.insert(node.clone());
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
    let older: Vec<(std::rc::Rc<str>, Cluster)> = form
        .frozen
        .values()
        .map(|f| (f.text.clone(), kpsim::analyze(&f.text, kpsim::model::Admission::Auto).cluster))
        .collect();
    let frozen = |t: &str| older.iter().find(|(x, _)| **x == *t).map(|(_, c)| c);
    let (request, experiments) = prepare(form, cluster, family, frozen)?;
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
    /// The node whose Rules panel holds that rule.
    pub rule_node: Option<String>,
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
    /// `ns/pod` (or `node/NAME`) that answered, if any.
    pub delivered_to: Option<String>,
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
        hops: d.exchange.as_ref().map(|f| hop_rows(&f.hops, &f.node_traces)).unwrap_or_default(),
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
        delivered_to: t.delivered_to.clone(),
        hops: t.flows.first().map(|f| hop_rows(&f.hops, &f.node_traces)).unwrap_or_default(),
        dns,
        flows,
    }
}

fn hop_rows(hops: &[Hop], traces: &[Trace]) -> Vec<HopRow> {
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
            // An IPVS virtual server is not a rule of the Rules panel's jump graph.
            rule_node: h
                .rule
                .as_ref()
                .filter(|r| r.table != kpsim::sim::iptables::IPVS_TABLE)
                .and_then(|r| traces.get(r.trace))
                .map(|t| t.node.clone()),
        })
        .collect()
}

/// The rules the connection's first flow went through, node by node, each with the numbers
/// of the hops it acted in (empty for a rule only passed through, such as a jump): what the
/// Rules panel highlights.
pub fn acted_rules(t: &ClusterTrace) -> BTreeMap<String, BTreeMap<ActedRule, Vec<usize>>> {
    let mut out: BTreeMap<String, BTreeMap<ActedRule, Vec<usize>>> = BTreeMap::new();
    let Some(flow) = t.flows.first() else { return out };
    // The path each node pass took (the one its hops point into; 0 with a seed).
    let mut paths = vec![0; flow.node_traces.len()];
    for r in flow.hops.iter().filter_map(|h| h.rule.as_ref()) {
        if let Some(p) = paths.get_mut(r.trace) {
            *p = r.path;
        }
    }
    for (trace, path) in flow.node_traces.iter().zip(paths) {
        let node = out.entry(trace.node.clone()).or_default();
        let steps = trace.paths.get(path).map(|p| p.steps.as_slice()).unwrap_or_default();
        for step in steps.iter().filter(|s| s.matched) {
            let key = ActedRule {
                table: step.table.clone(),
                chain: step.chain.clone(),
                index: step.rule_index,
            };
            node.entry(key).or_default();
        }
    }
    for (i, h) in flow.hops.iter().enumerate() {
        let Some(r) = &h.rule else { continue };
        let Some(trace) = flow.node_traces.get(r.trace) else { continue };
        let key = ActedRule { table: r.table.clone(), chain: r.chain.clone(), index: r.rule_index };
        out.entry(trace.node.clone()).or_default().entry(key).or_default().push(i + 1);
    }
    out.retain(|_, rules| !rules.is_empty());
    out
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
        let now = FrozenRules { text: examples::WALKTHROUGH.text.into(), edit: 0 };
        p.apply(form, &walkthrough().cluster, IpFamily::V4, &now)
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
    fn a_ping_to_the_cluster_ip_times_out_with_iptables_and_is_refused_with_nftables_and_ipvs() {
        let ping = preset(Preset::PingClusterIp, &ClusterTraceForm::default());
        assert_eq!(ping.protocol, "icmp");
        assert_eq!(ping.to, "10.100.253.115");
        assert_eq!(traced(&ping).outcome, "timeout");
        let nft = ClusterTraceForm { mode: Mode::Nftables, ..ping.clone() };
        let v = traced(&nft);
        assert_eq!(v.outcome, "refused");
        assert!(v.headline.contains("Connection refused"));
        assert!(v.route.ends_with("icmp · nftables mode"), "{}", v.route);
        // IPVS: the node holds the address on kube-ipvs0, and KUBE-IPVS-FILTER rejects a new
        // connection to it that is not for one of its Service ports.
        let ipvs = ClusterTraceForm { mode: Mode::Ipvs, ..ping };
        let v = traced(&ipvs);
        assert_eq!(v.outcome, "refused", "{}", v.summary);
        assert!(v.route.ends_with("icmp · ipvs mode"), "{}", v.route);
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
    fn a_pod_marked_not_ready_leaves_the_service_and_with_both_out_it_is_refused() {
        let mut form = ClusterTraceForm::default();
        form.not_ready.insert("default/server-pod-1".into());
        form.not_ready.insert("default/no-such-pod".into());
        for seed in 0..8 {
            let v = traced(&ClusterTraceForm { seed, ..form.clone() });
            assert_eq!(v.delivered_to.as_deref(), Some("default/server-pod-2"), "seed {seed}");
        }
        form.not_ready.insert("default/server-pod-2".into());
        for mode in [Mode::Iptables, Mode::Nftables] {
            let v = traced(&ClusterTraceForm { mode, ..form.clone() });
            assert_eq!(v.outcome, "refused", "{mode:?}: {}", v.summary);
        }
        // IPVS keeps the virtual server without real servers: the SYN is dropped.
        let v = traced(&ClusterTraceForm { mode: Mode::Ipvs, ..form.clone() });
        assert_eq!(v.outcome, "timeout", "{}", v.summary);
    }

    #[test]
    fn without_the_cnis_routes_the_client_node_reaches_only_its_own_pods() {
        let c = walkthrough().cluster;
        let node_of = |pod: &str| {
            c.pods.iter().find(|(k, _)| k.name == pod).map(|(_, p)| p.node_name.value.clone())
        };
        let client_node = node_of("pod-client").expect("the client is scheduled");
        let mut form = ClusterTraceForm { all_branches: true, ..ClusterTraceForm::default() };
        form.no_routes_on.insert(client_node.clone());
        let v = traced(&form);
        for flow in &v.flows {
            let server = flow.delivered_to.as_deref().and_then(|p| p.rsplit('/').next());
            let local = server.and_then(node_of).as_deref() == Some(client_node.as_str());
            assert_eq!(flow.outcome == "delivered", local, "{flow:?}");
        }
        assert!(v.flows.iter().any(|f| f.outcome != "delivered"), "{:?}", v.flows);
    }

    #[test]
    fn deleting_the_server_pod_removes_its_document_and_nothing_else() {
        let a = walkthrough();
        let text = examples::WALKTHROUGH.text;
        let without = without_server_pod(text, &a, Some("default/server-pod-2")).expect("a pod");
        let after = kpsim::analyze(&without, kpsim::model::Admission::Auto);
        assert!(after.diagnostics.iter().all(|d| d.severity != kpsim::diagnostic::Severity::Error));
        let pods: Vec<&str> = after.cluster.pods.values().map(|p| p.name.as_str()).collect();
        assert!(pods.contains(&"server-pod-1") && pods.contains(&"pod-client"), "{pods:?}");
        assert!(!pods.contains(&"server-pod-2"), "{pods:?}");
        assert_eq!(after.manifests.objects.len(), a.manifests.objects.len() - 1);
        assert!(!without.contains("---\n---"), "no empty document left behind");
        // Without a delivery, a pod a Service selects goes.
        let some = without_server_pod(text, &a, None).expect("a pod");
        assert!(!some.contains("name: server-pod-1\n") || !some.contains("name: server-pod-2\n"));
        assert_eq!(without_server_pod(text, &a, Some("default/nobody")), None);
    }

    #[test]
    fn frozen_rules_keep_sending_the_curl_to_a_deleted_pod_until_kube_proxy_runs_again() {
        let a = walkthrough();
        let form = ClusterTraceForm::default();
        let before = traced(&form);
        assert_eq!(before.outcome, "delivered");
        let gone = before.delivered_to.clone().expect("a server pod");
        let frozen = preset(Preset::FreezeThenDeletePod, &form);
        assert_eq!(frozen.frozen.len(), 3, "every node stops after syncing");
        assert!(matches!(frozen.kube_proxy("minikube"), NodeKubeProxy::Frozen(_)));
        let text = without_server_pod(examples::WALKTHROUGH.text, &a, Some(&gone)).expect("a pod");
        let now = kpsim::analyze(&text, kpsim::model::Admission::Auto).cluster;
        // Same seed, same choice: the stale DNAT goes to the deleted pod, nobody answers.
        let stale = run(&frozen, &now, IpFamily::V4).expect("traces");
        assert_ne!(stale.outcome, "delivered", "{}", stale.summary);
        let dnat =
            stale.hops.iter().find_map(|h| h.nat.clone().filter(|_| h.actor == "kube-proxy"));
        assert!(dnat.is_some(), "the frozen rules still DNAT: {:?}", stale.hops);
        let all =
            run(&ClusterTraceForm { all_branches: true, ..frozen.clone() }, &now, IpFamily::V4)
                .expect("traces");
        assert!(all.flows.iter().any(|f| f.outcome == "delivered"), "the other pod still answers");
        assert!(all.flows.iter().any(|f| f.outcome != "delivered"), "{:?}", all.flows);
        // Running again, kube-proxy knows the pod is gone.
        let running = preset(Preset::CurlService, &frozen);
        assert!(running.frozen.is_empty());
        let fresh = run(&running, &now, IpFamily::V4).expect("traces");
        assert_eq!(fresh.outcome, "delivered");
        assert_ne!(fresh.delivered_to.as_deref(), Some(gone.as_str()));
    }

    #[test]
    fn a_selector_changed_after_the_sync_does_not_reach_frozen_rules() {
        let text = examples::WALKTHROUGH.text;
        let (head, tail) = text.rsplit_once("app.kubernetes.io/name: server").expect("a selector");
        let changed = format!("{head}app.kubernetes.io/name: nobody{tail}");
        let now = kpsim::analyze(&changed, kpsim::model::Admission::Auto).cluster;
        let running = run(&ClusterTraceForm::default(), &now, IpFamily::V4).expect("traces");
        assert_eq!(running.outcome, "refused", "no endpoints: kube-proxy's REJECT");
        let mut form = ClusterTraceForm::default();
        let synced = FrozenRules { text: text.into(), edit: 4 };
        form.set_kube_proxy(&["minikube".to_owned()], KubeProxyChoice::StoppedAfterSync, &synced);
        let frozen = run(&form, &now, IpFamily::V4).expect("traces");
        assert_eq!(frozen.outcome, "delivered", "the client's node still has the old endpoints");
    }

    #[test]
    fn acted_rules_are_grouped_by_node_with_the_hops_they_acted_in() {
        let a = walkthrough();
        let (request, experiments) =
            prepare(&ClusterTraceForm::default(), &a.cluster, IpFamily::V4, |_| None).expect("ok");
        let net = kpsim::sim::cluster::ClusterNetwork::new(&a.cluster, &experiments).expect("net");
        let t = net.trace(&request).expect("trace");
        let acted = acted_rules(&t);
        let minikube = acted.get("minikube").expect("the client's node");
        let dnat = minikube
            .iter()
            .find(|(r, hops)| r.chain.starts_with("KUBE-SEP-") && !hops.is_empty())
            .expect("the DNAT rule acted in a hop");
        let hop = dnat.1[0];
        let row = &cluster_trace_view(&t).hops[hop - 1];
        assert_eq!(row.rule_node.as_deref(), Some("minikube"));
        assert!(row.rule.as_deref().unwrap_or_default().contains("DNAT"));
        assert!(minikube.keys().any(|r| r.chain == "KUBE-SERVICES"), "jumps are marked too");
    }

    #[test]
    fn in_ipvs_mode_the_rules_the_curl_went_through_are_the_ones_the_rules_panel_shows() {
        let a = walkthrough();
        let form = ClusterTraceForm { mode: Mode::Ipvs, ..ClusterTraceForm::default() };
        let (request, experiments) =
            prepare(&form, &a.cluster, IpFamily::V4, |_| None).expect("ok");
        let net = kpsim::sim::cluster::ClusterNetwork::new(&a.cluster, &experiments).expect("net");
        let t = net.trace(&request).expect("trace");
        let acted = acted_rules(&t);
        let minikube = acted.get("minikube").expect("the client's node");
        // The panel's view of minikube's IPVS rules, with the trace's rules marked.
        let c = crate::computed::Computed::new(crate::examples::WALKTHROUGH.text.into());
        let rules = c.rules("minikube", Mode::Ipvs);
        let view = crate::view_model::rules::rules_view(
            "minikube",
            &rules.ruleset,
            &rules.plan.service_ports,
            crate::view_model::rules::Spelling::Written,
            minikube,
        );
        let marked: Vec<&str> = view
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules)
            .filter(|r| r.acted)
            .map(|r| r.text.as_str())
            .collect();
        assert!(
            marked.iter().any(|r| r.contains("--match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT")),
            "{marked:#?}"
        );
        // Every acted rule the trace names is a rule the panel has.
        let rows = minikube.keys().filter(|r| r.index.is_some()).count();
        assert_eq!(marked.len(), rows, "{minikube:#?}");
        // The IPVS rewrite is a virtual server, not a rule to show: its hop offers no button.
        let v = cluster_trace_view(&t);
        let ipvs = v.hops.iter().find(|h| h.text.contains("IPVS: DNAT")).expect("the rewrite");
        assert!(ipvs.rule.is_some() && ipvs.rule_node.is_none(), "{ipvs:?}");
        assert!(v.hops.iter().any(|h| h.rule_node.as_deref() == Some("minikube")));
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
