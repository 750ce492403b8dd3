//! The Endpoints panel: per Service port, the endpoints kube-proxy on the selected node uses,
//! why each is in or out, and the "why doesn't my Service work" findings.
//!
//! Reads the core's [`ProxyPlan`] (categorised endpoints, one [`EndpointUse`] each) and the
//! analysis' diagnostics; not responsible for categorising anything itself.

use kpsim::Analysis;
use kpsim::model::{ClusterIp, ServiceType};
use kpsim::naming;
use kpsim::net::join_host_port;
use kpsim::proxy::{EndpointUse, ProxyEndpoint, ProxyPlan, ServicePortPlan};
use kpsim::settings::Mode;

use super::cluster::short_name;
use super::diagnostics::{DiagnosticRow, diagnostic_row, is_service_finding};

/// Everything the panel shows for one node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointsView {
    pub node: String,
    /// Service ports with rules, the input's Services first, then the built-in ones.
    pub ports: Vec<ServicePortView>,
    /// Services kube-proxy writes no rule for, and why.
    pub without_rules: Vec<ServiceNote>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePortView {
    /// `default/service:http`.
    pub name: String,
    /// `10.96.0.12:8080/TCP`.
    pub address: String,
    /// Node port, external IPs, load balancer IPs, traffic policies, affinity.
    pub facts: Vec<String>,
    pub endpoints: Vec<EndpointRow>,
    /// What happens to traffic when no endpoint is used, or `None`.
    pub outcome: Option<Outcome>,
    pub findings: Vec<DiagnosticRow>,
    /// The service-port chain this port dispatches from (`KUBE-SVC-…`, `service-…`), or in
    /// IPVS mode its ClusterIP's virtual server (`TCP  10.96.0.10:53`).
    pub chain: String,
    pub built_in: bool,
}

/// What traffic to a port meets on this node when no endpoint takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `rejected`, `dropped`.
    pub verdict: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    /// `10.244.1.2:80`.
    pub address: String,
    /// The pod behind it (`server-pod-1`), when the slice names one.
    pub pod: Option<String>,
    pub node: Option<String>,
    /// Receives traffic on this node.
    pub used: bool,
    /// `ready`, `not ready`, `serving, terminating`, …
    pub conditions: String,
    /// Why it is in or out, in words.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNote {
    pub name: String,
    pub why: String,
    pub findings: Vec<DiagnosticRow>,
}

/// The panel for `node` from its plan.
pub fn endpoints_view(analysis: &Analysis, plan: &ProxyPlan) -> EndpointsView {
    let node = plan.settings.node_name.clone();
    let built_in = |namespace: &str, name: &str| {
        analysis.cluster.service(namespace, name).is_none_or(|s| s.span.document.is_none())
    };
    // The input's Services first, the built-in ones (`kubernetes`, `kube-dns`) after them.
    let (mut ports, built_ins): (Vec<ServicePortView>, Vec<ServicePortView>) = plan
        .service_ports
        .iter()
        .map(|sp| {
            let mut view = port_view(sp, &node, plan.settings.mode);
            view.findings = findings(analysis, &sp.name.namespace, &sp.name.name);
            view.built_in = built_in(&sp.name.namespace, &sp.name.name);
            view
        })
        .partition(|p| !p.built_in);
    ports.extend(built_ins);
    let mut without_rules = Vec::new();
    for (key, svc) in &analysis.cluster.services {
        if plan
            .service_ports
            .iter()
            .any(|sp| sp.name.namespace == key.namespace && sp.name.name == key.name)
        {
            continue;
        }
        let why = if svc.service_type.value == ServiceType::ExternalName {
            format!(
                "ExternalName: a DNS alias (CNAME) for {}; kube-proxy writes no rule for it",
                svc.external_name.as_deref().unwrap_or("nothing")
            )
        } else if svc.is_headless() {
            "headless (clusterIP: None): no ClusterIP and no rules; cluster DNS answers the pods' own IPs".to_owned()
        } else if svc.ports.is_empty() {
            "no ports: nothing to write rules for".to_owned()
        } else if svc.cluster_ip.value == ClusterIp::Unset {
            "no ClusterIP: kube-proxy writes no rule for it".to_owned()
        } else {
            format!("no {} ClusterIP: this kube-proxy handles only that family", family_name(plan))
        };
        without_rules.push(ServiceNote {
            name: short_name(&key.namespace, &key.name),
            why,
            findings: findings(analysis, &key.namespace, &key.name),
        });
    }
    EndpointsView { node, ports, without_rules }
}

fn family_name(plan: &ProxyPlan) -> &'static str {
    plan.settings.family.as_k8s()
}

/// The model's findings about one Service.
fn findings(analysis: &Analysis, namespace: &str, name: &str) -> Vec<DiagnosticRow> {
    analysis
        .diagnostics
        .iter()
        .filter(|d| is_service_finding(d.kind))
        .filter(|d| {
            d.object
                .as_ref()
                .is_some_and(|o| o.kind == "Service" && o.namespace == namespace && o.name == name)
        })
        .map(diagnostic_row)
        .collect()
}

fn port_view(sp: &ServicePortPlan, node: &str, mode: Mode) -> ServicePortView {
    let protocol = sp.protocol.as_k8s();
    let mut facts = Vec::new();
    if let Some(port) = sp.node_port {
        facts.push(format!("nodePort {port}"));
    }
    if !sp.external_ips.is_empty() {
        let ips: Vec<String> = sp.external_ips.iter().map(ToString::to_string).collect();
        facts.push(format!("externalIPs {}", ips.join(", ")));
    }
    if !sp.load_balancer_vips.is_empty() {
        let ips: Vec<String> = sp.load_balancer_vips.iter().map(ToString::to_string).collect();
        facts.push(format!("load balancer {}", ips.join(", ")));
    }
    if !sp.load_balancer_source_ranges.is_empty() {
        let r: Vec<String> =
            sp.load_balancer_source_ranges.iter().map(ToString::to_string).collect();
        facts.push(format!("only from {}", r.join(", ")));
    }
    if sp.internal_policy_local {
        facts.push("internalTrafficPolicy Local".to_owned());
    }
    if sp.external_policy_local && sp.externally_accessible() {
        facts.push("externalTrafficPolicy Local".to_owned());
    }
    if let Some(t) = sp.session_affinity_timeout {
        facts.push(format!("session affinity ClientIP {t}s"));
    }
    let endpoints: Vec<EndpointRow> =
        sp.endpoints.iter().enumerate().map(|(i, e)| endpoint_row(sp, i, e, node)).collect();
    let c = &sp.categorized;
    let outcome = if !c.has_any_endpoints {
        Some(Outcome {
            verdict: "rejected",
            text: "no usable endpoint anywhere: kube-proxy rejects connections to this port (ICMP port unreachable / TCP reset)".to_owned(),
        })
    } else if c.reachable.is_empty() || (sp.internal_policy_local && c.local.is_empty()) {
        Some(Outcome {
            verdict: "dropped",
            text: format!(
                "no endpoint on {node}: with traffic policy Local, traffic that must stay on this node is dropped"
            ),
        })
    } else {
        None
    };
    let chain = match mode {
        Mode::Nftables => format!("service-{}", naming::nft_service_base(&sp.name)),
        Mode::Iptables => naming::svc_chain(&sp.name),
        // No chain per port: the ClusterIP's virtual server, as `ipvsadm -Ln` names it.
        Mode::Ipvs => format!("{protocol}  {}", join_host_port(sp.cluster_ip, sp.port)),
    };
    ServicePortView {
        name: sp.name.to_string(),
        address: format!("{}/{protocol}", join_host_port(sp.cluster_ip, sp.port)),
        facts,
        endpoints,
        outcome,
        findings: Vec::new(),
        chain,
        built_in: false,
    }
}

fn endpoint_row(sp: &ServicePortPlan, i: usize, e: &ProxyEndpoint, node: &str) -> EndpointRow {
    let use_ = sp.categorized.uses.get(i).copied().unwrap_or(EndpointUse::NotReady);
    let elsewhere = e.node_name.as_deref().unwrap_or("another node");
    let local_only = sp.uses_local_endpoints() && !sp.uses_cluster_endpoints();
    let why = match use_ {
        EndpointUse::Used if local_only => {
            format!("ready and on {node}: used (traffic policy Local)")
        }
        EndpointUse::Used => {
            let local = sp.categorized.local.contains(&i) && !sp.categorized.cluster.contains(&i);
            if local {
                format!("ready and on {node}: used for traffic with policy Local")
            } else {
                "ready: used".to_owned()
            }
        }
        EndpointUse::TerminatingFallback => {
            "terminating but still serving: used because no ready endpoint is left".to_owned()
        }
        EndpointUse::TerminatingSkipped => {
            "terminating: skipped while ready endpoints exist".to_owned()
        }
        EndpointUse::NotReady => {
            "not ready: its pod is not Ready, so it gets no traffic".to_owned()
        }
        EndpointUse::NotLocal => format!(
            "ready, but on {elsewhere}: a Local traffic policy uses only endpoints on {node}"
        ),
        EndpointUse::OtherTopology => {
            format!("ready, but its topology hints keep the traffic of {node} elsewhere")
        }
    };
    let conditions = match (e.ready, e.serving, e.terminating) {
        (true, _, _) => "ready",
        (false, true, true) => "serving, terminating",
        (false, false, true) => "terminating",
        (false, true, false) => "serving, not ready",
        (false, false, false) => "not ready",
    };
    EndpointRow {
        address: join_host_port(e.ip, e.port),
        pod: e.target.as_ref().map(|t| t.name.clone()),
        node: e.node_name.clone(),
        used: matches!(use_, EndpointUse::Used | EndpointUse::TerminatingFallback),
        conditions: conditions.to_owned(),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::computed::Computed;
    use crate::examples;

    fn view(text: &str, node: &str) -> EndpointsView {
        let c = Computed::new(text.to_owned().into());
        let rules = c.rules(node, Mode::Iptables);
        endpoints_view(&c.analysis, &rules.plan)
    }

    fn port<'a>(v: &'a EndpointsView, name: &str) -> &'a ServicePortView {
        v.ports.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name} in {v:#?}"))
    }

    #[test]
    fn the_walkthrough_service_uses_both_server_pods() {
        let v = view(examples::WALKTHROUGH.text, "minikube");
        assert_eq!(v.ports[0].name, "default/service:http", "the input's Service comes first");
        let p = port(&v, "default/service:http");
        let rows: Vec<(Option<&str>, bool, &str)> =
            p.endpoints.iter().map(|e| (e.pod.as_deref(), e.used, e.why.as_str())).collect();
        assert_eq!(
            rows,
            [
                (Some("server-pod-1"), true, "ready: used"),
                (Some("server-pod-2"), true, "ready: used")
            ]
        );
        assert!(p.address.ends_with(":8080/TCP"), "{}", p.address);
        assert!(p.chain.starts_with("KUBE-SVC-"));
        assert_eq!(p.outcome, None);
        assert!(p.findings.is_empty());
        assert!(port(&v, "kube-system/kube-dns:dns").built_in);
    }

    #[test]
    fn a_selector_that_matches_nothing_is_rejected_with_its_finding() {
        let text =
            examples::WALKTHROUGH.text.replace("name: server\n  ports", "name: nobody\n  ports");
        let v = view(&text, "minikube");
        let p = port(&v, "default/service:http");
        assert!(p.endpoints.is_empty());
        assert_eq!(p.outcome.as_ref().map(|o| o.verdict), Some("rejected"));
        assert_eq!(p.findings.len(), 1);
        assert!(p.findings[0].message.contains("matches no pod"), "{:?}", p.findings);
    }

    #[test]
    fn a_pod_that_is_not_ready_is_out() {
        let example = examples::find("not-ready-pod").expect("example");
        let v = view(example.text, "minikube");
        let p = port(&v, "default/service:http");
        let rows: Vec<(Option<&str>, bool, &str)> =
            p.endpoints.iter().map(|e| (e.pod.as_deref(), e.used, e.conditions.as_str())).collect();
        assert_eq!(
            rows,
            [(Some("server-pod-1"), true, "ready"), (Some("server-pod-2"), false, "not ready")]
        );
        assert!(p.endpoints[1].why.starts_with("not ready"));
    }

    #[test]
    fn a_local_policy_uses_only_endpoints_on_the_node() {
        let example = examples::find("traffic-policy-local").expect("example");
        let on_client = view(example.text, "minikube");
        let internal = port(&on_client, "default/internal:http");
        assert!(!internal.endpoints[0].used);
        assert!(
            internal.endpoints[0].why.contains("on minikube-m02"),
            "{}",
            internal.endpoints[0].why
        );
        assert_eq!(internal.outcome.as_ref().map(|o| o.verdict), Some("dropped"));
        let on_server = view(example.text, "minikube-m02");
        let internal = port(&on_server, "default/internal:http");
        assert!(internal.endpoints[0].used);
        assert_eq!(internal.outcome, None);
    }

    #[test]
    fn headless_and_external_name_services_have_no_rules_and_say_why() {
        let headless = view(examples::find("headless").expect("example").text, "minikube");
        let note = headless.without_rules.iter().find(|n| n.name == "db").expect("db");
        assert!(note.why.starts_with("headless"), "{}", note.why);
        let external = view(examples::find("external-name").expect("example").text, "minikube");
        let note = external.without_rules.iter().find(|n| n.name == "search").expect("search");
        assert!(note.why.contains("www.example.com"), "{}", note.why);
    }

    #[test]
    fn nftables_and_ipvs_ports_name_where_they_dispatch_from() {
        let c = Computed::new(examples::WALKTHROUGH.text.into());
        let rules = c.rules("minikube", Mode::Nftables);
        let v = endpoints_view(&c.analysis, &rules.plan);
        assert!(port(&v, "default/service:http").chain.starts_with("service-"));
        let rules = c.rules("minikube", Mode::Ipvs);
        let v = endpoints_view(&c.analysis, &rules.plan);
        assert_eq!(port(&v, "default/service:http").chain, "TCP  10.100.253.115:8080");
    }
}
