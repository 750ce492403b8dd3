//! The Trace panel's node trace: what the user asked for ([`TraceForm`], saved with the
//! document), that request resolved against the cluster (names to addresses, the node the
//! packet enters), and the core's [`Trace`] turned into rows ([`NodeTraceView`]).
//!
//! This is the per-node trace (`kpsim::sim::trace_node`): one packet through the rules of the
//! node it enters. A cluster-wide trace is another view model beside this one; the form and
//! its resolution are shared. Not responsible for walking rules (the core's `sim`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use kpsim::model::{Cluster, ClusterIp, Pod, ServiceType};
use kpsim::net::{IpFamily, join_host_port, parse_ip_sloppy, split_host_port};
use kpsim::settings::Mode;
use kpsim::sim::{Action, Entry, Packet, PacketProtocol, Step, Trace, Verdict};
use serde::{Deserialize, Serialize};

use super::cluster::short_name;
use super::rules::ActedRule;

/// What to trace, as the user wrote it. Empty fields take the example's natural choice (a
/// client pod, the first Service port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TraceForm {
    /// A pod name (`pod-client`, `ns/pod`), a node name, or an IP.
    pub from: String,
    /// `HOST:PORT`: HOST is an IP, a Service name (`service`, `service.ns`,
    /// `service.ns.svc.cluster.local`) or a pod name; PORT may be left out for a Service with
    /// one port and for ICMP.
    pub to: String,
    /// `tcp`, `udp`, `sctp` or `icmp`.
    pub protocol: String,
    /// Seed of the random load-balancing choices.
    pub seed: u64,
    /// Follow every random branch instead of one.
    pub all_branches: bool,
}

impl Default for TraceForm {
    fn default() -> TraceForm {
        TraceForm {
            from: String::new(),
            to: String::new(),
            protocol: "tcp".to_owned(),
            seed: 0,
            all_branches: false,
        }
    }
}

/// A request resolved against the cluster: the packet and the node whose rules it meets.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub packet: Packet,
    /// The node the packet enters: the source pod's or node's, else the selected node (a
    /// packet from outside the cluster).
    pub node: String,
    /// `pod-client (10.244.0.3)`, `203.0.113.7 (outside the cluster)`.
    pub from_label: String,
    /// `service (10.96.0.12):8080`, …
    pub to_label: String,
}

/// Names the form offers (in `<datalist>`s): sources and destinations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Suggestions {
    /// `(value, label)`: pods, then nodes.
    pub sources: Vec<(String, String)>,
    /// `(value, label)`: Service ports, then pods.
    pub targets: Vec<(String, String)>,
}

/// What the sources and destinations of the cluster are called.
pub fn suggestions(cluster: &Cluster, family: IpFamily) -> Suggestions {
    let mut s = Suggestions::default();
    for pod in cluster.pods.values() {
        if let Some(ip) = pod_ip(pod, family) {
            s.sources.push((short_name(&pod.namespace, &pod.name), format!("pod {ip}")));
        }
    }
    for node in &cluster.nodes {
        if let Some(ip) = node.internal_ip(family) {
            s.sources.push((node.name.clone(), format!("node {ip}")));
        }
    }
    for svc in cluster.services.values() {
        let host = service_host(&svc.namespace, &svc.name);
        for port in &svc.ports {
            let label = match svc.cluster_ip.value.of_family(family) {
                Some(ip) => format!("Service {}", join_host_port(ip, port.port)),
                None => "Service without a ClusterIP".to_owned(),
            };
            s.targets.push((format!("{host}:{}", port.port), label));
        }
    }
    for pod in cluster.pods.values() {
        if let Some(ip) = pod_ip(pod, family) {
            s.targets.push((short_name(&pod.namespace, &pod.name), format!("pod {ip}")));
        }
    }
    s
}

/// Resolves the form; the error is one sentence for the page.
pub fn resolve(
    form: &TraceForm,
    cluster: &Cluster,
    family: IpFamily,
    selected_node: &str,
) -> Result<Resolved, String> {
    let protocol = PacketProtocol::parse(form.protocol.trim())
        .ok_or_else(|| format!("`{}` is not a protocol (tcp, udp, sctp or icmp)", form.protocol))?;
    let (src, node, from_label) = resolve_from(form.from.trim(), cluster, family, selected_node)?;
    let source_namespace = cluster
        .pods
        .values()
        .find(|p| pod_ip(p, family) == Some(src))
        .map_or("default", |p| p.namespace.as_str());
    let (dst, port, to_label) =
        resolve_to(form.to.trim(), cluster, family, protocol, source_namespace)?;
    if IpFamily::of(src) != IpFamily::of(dst) {
        return Err("the source and the destination are of different IP families".to_owned());
    }
    // A packet from outside arrives at the node it is addressed to, else at the selected one.
    let (node, from_label) = match node {
        Some(node) => (node, from_label),
        None => {
            let node = cluster
                .nodes
                .iter()
                .find(|n| n.internal_ips.contains(&dst))
                .map_or(selected_node, |n| n.name.as_str())
                .to_owned();
            let label = format!("{from_label}, outside the cluster, arriving at {node}");
            (node, label)
        }
    };
    Ok(Resolved { packet: Packet::new(src, dst, protocol, port), node, from_label, to_label })
}

fn pod_ip(pod: &Pod, family: IpFamily) -> Option<IpAddr> {
    pod.pod_ips.value.iter().copied().find(|ip| IpFamily::of(*ip) == family)
}

fn service_host(namespace: &str, name: &str) -> String {
    if namespace == "default" { name.to_owned() } else { format!("{name}.{namespace}") }
}

/// `ns/name` or `name` (default namespace).
fn find_pod<'a>(cluster: &'a Cluster, name: &str) -> Option<&'a Pod> {
    let (namespace, name) = name.split_once('/').unwrap_or(("default", name));
    cluster.pod(namespace, name)
}

/// The default source: a pod called like a client, else the first pod with an address.
fn default_source(cluster: &Cluster, family: IpFamily) -> Option<&Pod> {
    let with_ip = || cluster.pods.values().filter(|p| pod_ip(p, family).is_some());
    with_ip().find(|p| p.name.contains("client")).or_else(|| with_ip().next())
}

fn resolve_from(
    from: &str,
    cluster: &Cluster,
    family: IpFamily,
    selected_node: &str,
) -> Result<(IpAddr, Option<String>, String), String> {
    let of_pod = |pod: &Pod| -> Result<(IpAddr, Option<String>, String), String> {
        let ip = pod_ip(pod, family).ok_or_else(|| {
            format!("pod {} has no {family} address (is it scheduled?)", pod.name)
        })?;
        let node = pod.node().unwrap_or(selected_node).to_owned();
        Ok((ip, Some(node), format!("pod {} ({ip})", short_name(&pod.namespace, &pod.name))))
    };
    if from.is_empty() {
        return match default_source(cluster, family) {
            Some(pod) => of_pod(pod),
            None => Err("there is no pod to trace from: type a source IP".to_owned()),
        };
    }
    if let Some(ip) = parse_ip_sloppy(from.trim_start_matches('[').trim_end_matches(']')) {
        if let Some(pod) =
            cluster.pods.values().find(|p| !p.host_network && pod_ip(p, family) == Some(ip))
        {
            return of_pod(pod);
        }
        if let Some(node) = cluster.nodes.iter().find(|n| n.internal_ips.contains(&ip)) {
            return Ok((ip, Some(node.name.clone()), format!("node {} ({ip})", node.name)));
        }
        return Ok((ip, None, ip.to_string()));
    }
    if let Some(pod) = find_pod(cluster, from) {
        return of_pod(pod);
    }
    if let Some(node) = cluster.nodes.iter().find(|n| n.name == from) {
        let ip = node
            .internal_ip(family)
            .ok_or_else(|| format!("node {from} has no {family} address"))?;
        return Ok((ip, Some(node.name.clone()), format!("node {} ({ip})", node.name)));
    }
    Err(format!("`{from}` is neither an IP address nor a pod or node of the cluster"))
}

fn resolve_to(
    to: &str,
    cluster: &Cluster,
    family: IpFamily,
    protocol: PacketProtocol,
    source_namespace: &str,
) -> Result<(IpAddr, Option<u16>, String), String> {
    let ported = protocol != PacketProtocol::Icmp;
    let with_port = |ip: IpAddr, port: Option<u16>, label: String| {
        if ported && port.is_none() {
            Err(format!("{label} needs a port: write HOST:PORT"))
        } else {
            Ok((ip, if ported { port } else { None }, label))
        }
    };
    if to.is_empty() {
        let first = cluster.services.values().find_map(|s| {
            let ip = s.cluster_ip.value.of_family(family)?;
            let port = s.ports.first()?;
            (s.span.document.is_some()).then_some((s, ip, port.port))
        });
        return match first {
            Some((svc, ip, port)) => with_port(
                ip,
                Some(port),
                format!("Service {} ({ip})", short_name(&svc.namespace, &svc.name)),
            ),
            None => Err("there is no Service to trace to: type a destination HOST:PORT".to_owned()),
        };
    }
    if let Some((ip, port)) = split_host_port(to) {
        return with_port(ip, Some(port), ip.to_string());
    }
    if let Some(ip) = parse_ip_sloppy(to.trim_start_matches('[').trim_end_matches(']')) {
        return with_port(ip, None, ip.to_string());
    }
    let (host, port) = match to.rsplit_once(':') {
        Some((host, port)) => {
            let port = port.parse::<u16>().map_err(|_| format!("`{port}` is not a port number"))?;
            (host, Some(port))
        }
        None => (to, None),
    };
    let dns =
        host.trim_end_matches('.').trim_end_matches(".cluster.local").trim_end_matches(".svc");
    let (name, namespace) = dns.split_once('.').unwrap_or((dns, source_namespace));
    if let Some(svc) = cluster.service(namespace, name) {
        let shown = short_name(&svc.namespace, &svc.name);
        if svc.service_type.value == ServiceType::ExternalName {
            let target = svc.external_name.as_deref().unwrap_or("(nothing)");
            return Err(format!(
                "Service {shown} is an ExternalName: DNS answers a CNAME to {target}, and no kube-proxy rule is involved"
            ));
        }
        if let ClusterIp::Headless = svc.cluster_ip.value {
            return Err(format!(
                "Service {shown} is headless: DNS answers the pod IPs directly (pick a pod as the destination); kube-proxy writes no rule for it"
            ));
        }
        let ip = svc
            .cluster_ip
            .value
            .of_family(family)
            .ok_or_else(|| format!("Service {shown} has no {family} ClusterIP"))?;
        let port = port.or(match svc.ports.as_slice() {
            [only] => Some(only.port),
            _ => None,
        });
        return with_port(ip, port, format!("Service {shown} ({ip})"));
    }
    if let Some(pod) = find_pod(cluster, host) {
        let ip = pod_ip(pod, family)
            .ok_or_else(|| format!("pod {} has no {family} address", pod.name))?;
        return with_port(
            ip,
            port,
            format!("pod {} ({ip})", short_name(&pod.namespace, &pod.name)),
        );
    }
    Err(format!("`{host}` is neither an IP address nor a Service or pod of the cluster"))
}

/// The per-node trace as the panel shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeTraceView {
    pub node: String,
    pub mode: Mode,
    /// `10.244.0.3:40000 > 10.96.0.12:8080 tcp`.
    pub packet: String,
    /// Where it enters the node's hooks, in words.
    pub entry: String,
    /// `DNAT`, `DROP`, `REJECT`, `ACCEPT`, or `no kube-proxy rule changed it`.
    pub verdict: String,
    /// The verdict's CSS class: `dnat`, `drop`, `reject`, `accept`, `none`.
    pub verdict_class: &'static str,
    /// One sentence: what happened.
    pub summary: String,
    pub destinations: Vec<DestinationRow>,
    pub masquerade: bool,
    pub paths: Vec<PathView>,
    /// Every rule a path matched (and every policy it took), for the Rules panel.
    pub acted: BTreeSet<ActedRule>,
}

/// A DNAT destination, with the pod behind it and how likely it is.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationRow {
    /// `10.244.1.2:80`.
    pub address: String,
    pub pod: Option<String>,
    pub node: Option<String>,
    /// Sum of the probabilities of the paths that reach it, in percent.
    pub percent: f64,
}

/// One way through the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct PathView {
    /// In percent.
    pub percent: f64,
    /// `DNAT to 10.244.1.2:80`, `DROP`, …
    pub outcome: String,
    pub steps: Vec<StepRow>,
}

/// One rule (or policy) the packet met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    /// `PREROUTING`.
    pub hook: &'static str,
    /// `nat`, `ip kube-proxy`.
    pub table: String,
    pub chain: String,
    /// 1-based rule number, or `policy`.
    pub position: String,
    pub rule: String,
    pub matched: bool,
    pub why: String,
    /// `jump KUBE-SVC-…`, `DNAT to 10.244.1.2:80`, `mark 0x4000`, or empty.
    pub action: String,
    pub depth: usize,
}

/// The rows of a trace; `cluster` names the pods behind the destinations.
pub fn node_trace_view(trace: &Trace, cluster: &Cluster) -> NodeTraceView {
    let mut pods_by_ip: BTreeMap<IpAddr, &Pod> = BTreeMap::new();
    pods_by_ip.extend(
        cluster
            .pods
            .values()
            .filter(|p| !p.host_network)
            .flat_map(|p| p.pod_ips.value.iter().map(move |ip| (*ip, p))),
    );
    let mut destinations: Vec<DestinationRow> = Vec::new();
    for path in &trace.paths {
        if let (Verdict::Dnat, Some((ip, port))) = (path.verdict, path.dnat) {
            let address = port.map_or_else(|| ip.to_string(), |p| join_host_port(ip, p));
            match destinations.iter_mut().find(|d| d.address == address) {
                Some(d) => d.percent += path.probability * 100.0,
                None => {
                    let pod = pods_by_ip.get(&ip);
                    destinations.push(DestinationRow {
                        address,
                        pod: pod.map(|p| short_name(&p.namespace, &p.name)),
                        node: pod.and_then(|p| p.node()).map(str::to_owned),
                        percent: path.probability * 100.0,
                    });
                }
            }
        }
    }
    let verdict = trace.verdict();
    let (verdict_text, verdict_class) = match verdict {
        Verdict::Dnat => ("DNAT".to_owned(), "dnat"),
        Verdict::Drop => ("DROP".to_owned(), "drop"),
        Verdict::Reject => ("REJECT".to_owned(), "reject"),
        Verdict::Accept => ("ACCEPT".to_owned(), "accept"),
        Verdict::None => ("no kube-proxy rule changed it".to_owned(), "none"),
    };
    let masquerade = trace.masquerade();
    let summary = summary(verdict, &destinations, masquerade, &trace.node);
    let mut acted = BTreeSet::new();
    for step in trace.paths.iter().flat_map(|p| &p.steps).filter(|s| s.matched) {
        acted.insert(ActedRule {
            table: step.table.clone(),
            chain: step.chain.clone(),
            index: step.rule_index,
        });
    }
    NodeTraceView {
        node: trace.node.clone(),
        mode: trace.mode,
        packet: trace.packet.to_string(),
        entry: match trace.entry {
            Entry::Arriving => {
                "arrives on an interface (from a pod or from outside): PREROUTING first".to_owned()
            }
            Entry::Local => "sent by the node itself: OUTPUT first".to_owned(),
        },
        verdict: verdict_text,
        verdict_class,
        summary,
        destinations,
        masquerade,
        paths: trace
            .paths
            .iter()
            .map(|p| PathView {
                percent: p.probability * 100.0,
                outcome: match (p.verdict, p.dnat) {
                    (Verdict::Dnat, Some((ip, port))) => format!(
                        "DNAT to {}",
                        port.map_or_else(|| ip.to_string(), |port| join_host_port(ip, port))
                    ),
                    (Verdict::None, _) => "no kube-proxy rule changed it".to_owned(),
                    (v, _) => v.as_upper().to_owned(),
                },
                steps: p.steps.iter().map(step_row).collect(),
            })
            .collect(),
        acted,
    }
}

fn summary(
    verdict: Verdict,
    destinations: &[DestinationRow],
    masquerade: bool,
    node: &str,
) -> String {
    let snat = if masquerade { ", and masqueraded on the way out" } else { "" };
    match verdict {
        Verdict::Dnat => {
            let to: Vec<String> = destinations
                .iter()
                .map(|d| match &d.pod {
                    Some(pod) => format!("pod {pod} ({})", d.address),
                    None => d.address.clone(),
                })
                .collect();
            format!("kube-proxy's rules on {node} send it to {}{snat}.", to.join(" or "))
        }
        Verdict::Drop => {
            format!("kube-proxy's rules on {node} drop it: the client waits until it times out.")
        }
        Verdict::Reject => {
            format!("kube-proxy's rules on {node} reject it: the client gets an error at once.")
        }
        Verdict::Accept => {
            format!("kube-proxy's rules on {node} accept it without changing it{snat}.")
        }
        Verdict::None => format!(
            "No kube-proxy rule on {node} changed it: it is routed to its destination address as sent{snat}."
        ),
    }
}

fn step_row(s: &Step) -> StepRow {
    StepRow {
        hook: s.hook.as_upper(),
        table: s.table.clone(),
        chain: s.chain.clone(),
        position: s.rule_index.map_or_else(|| "policy".to_owned(), |i| (i + 1).to_string()),
        rule: s.rule.clone(),
        matched: s.matched,
        why: s.why.clone(),
        action: s.action.as_ref().map(action_text).unwrap_or_default(),
        depth: s.depth,
    }
}

fn action_text(a: &Action) -> String {
    match a {
        Action::Jump { chain } => format!("→ {chain}"),
        Action::Return => "return".to_owned(),
        Action::Mark { mark } => format!("mark {mark:#x}"),
        Action::Dnat { ip, port } => {
            format!("DNAT to {}", port.map_or_else(|| ip.to_string(), |p| join_host_port(*ip, p)))
        }
        Action::Masquerade { random_fully } => {
            if *random_fully {
                "masquerade (random-fully)".to_owned()
            } else {
                "masquerade".to_owned()
            }
        }
        Action::Accept => "ACCEPT".to_owned(),
        Action::Drop => "DROP".to_owned(),
        Action::Reject => "REJECT".to_owned(),
        Action::Branch { index, of, probability } => {
            format!("branch {} of {of} (p = {probability:.3})", index + 1)
        }
        Action::Affinity { set } => format!("session affinity ({set})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::computed::Computed;
    use crate::examples;
    use kpsim::sim::Choices;

    fn walkthrough() -> Computed {
        Computed::new(examples::WALKTHROUGH.text.into())
    }

    fn form(from: &str, to: &str) -> TraceForm {
        TraceForm { from: from.into(), to: to.into(), ..TraceForm::default() }
    }

    fn run(c: &Computed, form: &TraceForm, mode: Mode, choices: Choices) -> NodeTraceView {
        let r = resolve(form, &c.analysis.cluster, c.family, "minikube").expect("resolves");
        let rules = c.rules(&r.node, mode);
        let entry = kpsim::sim::entry_for(&rules.settings, r.packet.src);
        let trace =
            kpsim::sim::trace_node(&rules.ruleset, &rules.settings, r.packet, entry, choices);
        node_trace_view(&trace, &c.analysis.cluster)
    }

    #[test]
    fn an_empty_form_traces_the_client_pod_to_the_service() {
        let c = walkthrough();
        let r = resolve(&TraceForm::default(), &c.analysis.cluster, c.family, "minikube-m03")
            .expect("resolves");
        assert!(r.from_label.starts_with("pod pod-client ("), "{}", r.from_label);
        assert!(r.to_label.starts_with("Service service ("), "{}", r.to_label);
        assert_eq!(r.packet.dport, Some(8080));
        let client = c.analysis.cluster.pod("default", "pod-client").expect("client");
        assert_eq!(Some(r.node.as_str()), client.node(), "traced where the client runs");
    }

    #[test]
    fn names_resolve_like_cluster_dns() {
        let c = walkthrough();
        let svc_ip = c
            .analysis
            .cluster
            .service("default", "service")
            .and_then(|s| s.cluster_ip.value.primary());
        for to in [
            "service:8080",
            "service.default:8080",
            "service.default.svc.cluster.local:8080",
            "service",
        ] {
            let r = resolve(&form("pod-client", to), &c.analysis.cluster, c.family, "minikube")
                .expect(to);
            assert_eq!((Some(r.packet.dst), r.packet.dport), (svc_ip, Some(8080)), "{to}");
        }
        let pod = resolve(
            &form("default/pod-client", "server-pod-1:80"),
            &c.analysis.cluster,
            c.family,
            "minikube",
        );
        assert_eq!(pod.map(|r| r.packet.dport), Ok(Some(80)));
    }

    #[test]
    fn an_outside_source_enters_the_selected_node() {
        let c = walkthrough();
        let r = resolve(
            &form("203.0.113.7", "10.96.0.1:443"),
            &c.analysis.cluster,
            c.family,
            "minikube-m02",
        )
        .expect("resolves");
        assert_eq!(r.node, "minikube-m02");
        assert!(r.from_label.contains("outside the cluster"));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let c = walkthrough();
        let err = |f: TraceForm| {
            resolve(&f, &c.analysis.cluster, c.family, "minikube").expect_err("an error")
        };
        assert!(err(form("nobody", "service:8080")).contains("`nobody` is neither"));
        assert!(err(form("pod-client", "nothing:80")).contains("`nothing` is neither"));
        assert!(err(form("pod-client", "server-pod-1")).contains("needs a port"));
        assert!(err(form("pod-client", "service:http")).contains("not a port number"));
        assert!(err(form("pod-client", "[fd00::1]:80")).contains("different IP families"));
        assert!(
            err(TraceForm { protocol: "gre".into(), ..TraceForm::default() })
                .contains("not a protocol")
        );
        let icmp = TraceForm { protocol: "icmp".into(), ..form("pod-client", "server-pod-1") };
        assert!(resolve(&icmp, &c.analysis.cluster, c.family, "minikube").is_ok());
    }

    #[test]
    fn headless_and_external_name_services_are_explained() {
        let headless = Computed::new(examples::find("headless").expect("headless").text.into());
        let e = resolve(
            &form("pod-client", "db:5432"),
            &headless.analysis.cluster,
            headless.family,
            "minikube",
        );
        assert!(e.expect_err("headless").contains("is headless"));
        let external =
            Computed::new(examples::find("external-name").expect("external-name").text.into());
        let e = resolve(
            &form("pod-client", "search:443"),
            &external.analysis.cluster,
            external.family,
            "minikube",
        );
        assert!(e.expect_err("external").contains("ExternalName"));
    }

    #[test]
    fn the_client_reaches_a_server_pod_through_dnat_in_every_mode() {
        let c = walkthrough();
        for mode in [Mode::Iptables, Mode::Nftables, Mode::Ipvs] {
            let v = run(&c, &form("pod-client", "service:8080"), mode, Choices::Seed(0));
            assert_eq!(v.verdict_class, "dnat", "{mode}");
            assert_eq!(v.destinations.len(), 1);
            let pod = v.destinations[0].pod.as_deref().expect("a pod");
            assert!(pod.starts_with("server-pod-"), "{pod}");
            assert!(v.summary.contains(pod));
            assert!(
                v.paths[0]
                    .steps
                    .iter()
                    .any(|s| s.matched && s.action.starts_with("DNAT to 10.244."))
            );
            assert!(!v.acted.is_empty());
        }
    }

    #[test]
    fn all_branches_reach_both_server_pods_half_each() {
        let c = walkthrough();
        let v = run(&c, &form("pod-client", "service:8080"), Mode::Iptables, Choices::AllBranches);
        let mut pods: Vec<(String, i64)> = v
            .destinations
            .iter()
            .map(|d| (d.pod.clone().unwrap_or_default(), d.percent.round() as i64))
            .collect();
        pods.sort();
        assert_eq!(pods, [("server-pod-1".to_owned(), 50), ("server-pod-2".to_owned(), 50)]);
        assert_eq!(v.paths.len(), 2);
    }

    #[test]
    fn acted_rules_name_the_service_chain() {
        let c = walkthrough();
        let v = run(&c, &form("pod-client", "service:8080"), Mode::Iptables, Choices::Seed(1));
        assert!(
            v.acted.iter().any(|a| a.table == "nat" && a.chain == "KUBE-SERVICES"),
            "{:?}",
            v.acted
        );
        assert!(v.acted.iter().any(|a| a.chain.starts_with("KUBE-SVC-")));
        assert!(v.acted.iter().any(|a| a.chain.starts_with("KUBE-SEP-")));
    }

    #[test]
    fn a_selector_that_matches_nothing_is_rejected() {
        let text =
            examples::WALKTHROUGH.text.replace("name: server\n  ports", "name: nobody\n  ports");
        let c = Computed::new(text.into());
        let v = run(&c, &form("pod-client", "service:8080"), Mode::Iptables, Choices::Seed(0));
        assert_eq!(v.verdict, "REJECT");
        assert!(v.summary.contains("reject"));
    }

    #[test]
    fn an_outside_packet_to_a_node_address_arrives_at_that_node() {
        let c = Computed::new(examples::find("nodeport").expect("nodeport").text.into());
        let to_m02 = form("192.168.49.1", "192.168.49.3:30080");
        let r = resolve(&to_m02, &c.analysis.cluster, c.family, "minikube").expect("resolves");
        assert_eq!(r.node, "minikube-m02");
        assert!(r.from_label.ends_with("arriving at minikube-m02"), "{}", r.from_label);
    }

    #[test]
    fn the_gallery_traces_give_what_the_examples_promise() {
        let cases = [
            ("nodeport", "192.168.49.1", "192.168.49.2:30080", "dnat", true),
            ("load-balancer", "203.0.113.7", "192.168.49.200:80", "dnat", true),
            ("load-balancer", "198.51.100.7", "192.168.49.200:80", "drop", false),
            ("traffic-policy-local", "pod-client", "internal:80", "drop", false),
            ("two-pods", "pod-1", "pod-2:80", "none", false),
        ];
        for (id, from, to, verdict, masquerade) in cases {
            let c = Computed::new(examples::find(id).expect(id).text.into());
            let v = run(&c, &form(from, to), Mode::Iptables, Choices::Seed(0));
            let got = (v.verdict_class, v.masquerade);
            assert_eq!(got, (verdict, masquerade), "{id}: {from} → {to}: {}", v.summary);
        }
    }

    #[test]
    fn suggestions_list_pods_nodes_and_service_ports() {
        let c = walkthrough();
        let s = suggestions(&c.analysis.cluster, c.family);
        assert!(s.sources.iter().any(|(v, l)| v == "pod-client" && l.starts_with("pod 10.244.")));
        assert!(s.sources.iter().any(|(v, _)| v == "minikube-m02"));
        assert!(s.targets.iter().any(|(v, _)| v == "service:8080"));
    }
}
