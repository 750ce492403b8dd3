//! The walkthrough's experiments as one-click [`Preset`]s, and the natural choices they and an
//! empty form start from: the client pod, the first Service port, a server pod, and the text
//! without the server pod the connection reached ("then delete a server pod").
//!
//! Not responsible for running the trace ([`super::prepare`]) or for HTML.

use kpsim::model::{Cluster, Service};
use kpsim::net::IpFamily;

use super::ClusterTraceForm;
use crate::view_model::cluster::short_name;
use crate::view_model::kube_proxy::{FrozenRules, KubeProxyChoice};

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
    /// kube-proxy stops after syncing the manifests as they are, then a server pod is
    /// deleted: the frozen rules still send connections to it.
    FreezeThenDeletePod,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::CurlService,
        Preset::StopKubeProxy,
        Preset::CurlPod,
        Preset::PingClusterIp,
        Preset::FreezeThenDeletePod,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Preset::CurlService => "curl-service",
            Preset::StopKubeProxy => "stop-kube-proxy",
            Preset::CurlPod => "curl-pod",
            Preset::PingClusterIp => "ping-cluster-ip",
            Preset::FreezeThenDeletePod => "freeze-then-delete-pod",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::CurlService => "curl the Service",
            Preset::StopKubeProxy => "stop kube-proxy",
            Preset::CurlPod => "curl a server pod",
            Preset::PingClusterIp => "ping the ClusterIP",
            Preset::FreezeThenDeletePod => "stop kube-proxy after sync, then delete a server pod",
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
            Preset::FreezeThenDeletePod => {
                "kube-proxy's rules stay as they were; the pod the curl went to is deleted from the editor (a Deployment's pods: scale it down yourself). The stale DNAT still sends the curl there: nobody answers. Choose \"running\" (or resync) to let kube-proxy catch up."
            }
        }
    }

    /// The form after the click: only the fields the experiment is about change. `now` is
    /// the snapshot a freeze takes (the text as it is, at the current edit).
    pub fn apply(
        self,
        form: &ClusterTraceForm,
        cluster: &Cluster,
        family: IpFamily,
        now: &FrozenRules,
    ) -> ClusterTraceForm {
        let mut f = form.clone();
        f.from = default_from(cluster, family).unwrap_or_default();
        match self {
            Preset::CurlService => {
                f.to = default_to(cluster, family).unwrap_or_default();
                f.protocol = "tcp".to_owned();
                f.run_everywhere();
            }
            Preset::FreezeThenDeletePod => {
                f.to = default_to(cluster, family).unwrap_or_default();
                f.protocol = "tcp".to_owned();
                f.run_everywhere();
                let nodes: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
                f.set_kube_proxy(&nodes, KubeProxyChoice::StoppedAfterSync, now);
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
                f.run_everywhere();
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

/// `text` without the document of the pod `ns/name` the connection reached (else of the
/// first pod a Service selects, not the client), for "then delete a server pod"; `None` when
/// that pod is not a document of its own (a Deployment's, a List item).
pub fn without_server_pod(
    text: &str,
    analysis: &kpsim::Analysis,
    delivered_to: Option<&str>,
) -> Option<String> {
    let cluster = &analysis.cluster;
    let family = analysis.cluster.ip_families().first().copied().unwrap_or(IpFamily::V4);
    let chosen =
        delivered_to.filter(|d| !d.starts_with("node/")).map(str::to_owned).or_else(|| {
            let from = default_from(cluster, family).unwrap_or_default();
            let pod = server_pod(cluster, family, &from)?;
            let name = pod.strip_prefix("pod/")?.rsplit_once(':')?.0;
            Some(name.to_owned())
        })?;
    let (namespace, name) = chosen.split_once('/')?;
    let object = analysis.manifests.objects.iter().find(|o| {
        o.path_prefix.is_empty()
            && o.resource.kind() == "Pod"
            && o.resource.namespace() == namespace
            && o.resource.name() == name
    })?;
    let (document, start) = analysis.manifests.document_text(object.location.document)?;
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let first = start.checked_sub(1)?;
    let end = (first + document.lines().count()).min(lines.len());
    if first >= end {
        return None;
    }
    lines.drain(first..end);
    // Two separators in a row (or one opening the text) would leave an empty document.
    let separator = |l: Option<&&str>| l.is_some_and(|l| l.trim_end() == "---");
    if separator(lines.get(first)) && (first == 0 || separator(lines.get(first - 1))) {
        lines.remove(first);
    }
    Some(lines.concat())
}
