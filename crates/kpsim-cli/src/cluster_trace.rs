//! `kpsim trace`, cluster form: a connection from a pod, a node or an outside client to a
//! Service, a DNS name, a pod or an IP, followed hop by hop across the cluster with the
//! walkthrough's experiments as switches, printed as a story or as JSON; `--connections N`
//! prints the load distribution instead.
//!
//! Not here: the node-level form (`trace`), or any tracing (the library's
//! `kpsim::sim::cluster`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use kpsim::model::NamespacedName;
use kpsim::settings::Mode;
use kpsim::sim::cluster::{
    ClusterNetwork, ClusterTrace, Distribution, Experiments, KubeProxy, TraceRequest,
};
use kpsim::sim::{Choices, PacketProtocol};
use serde_json::json;

use crate::input::Input;
use crate::rules::mode_of;
use crate::trace::{Args, Output, Proto, to_json, verdict_word};
use crate::{CliError, Outcome};

/// The switches only the cluster form has.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClusterArgs {
    /// Trace across the cluster even when `--from` and `--to` are both IPs.
    #[arg(long)]
    pub cluster: bool,
    /// kube-proxy never ran on any node: no KUBE-* rules, no kube-proxy table.
    #[arg(long)]
    pub no_kube_proxy: bool,
    /// kube-proxy never ran (its rules flushed) on this node; repeatable.
    #[arg(long, value_name = "NODE")]
    pub no_kube_proxy_on: Vec<String>,
    /// kube-proxy stopped after syncing the cluster in FILE: every node keeps the rules FILE
    /// produced, while pods and nodes are those of the input.
    #[arg(long, value_name = "FILE")]
    pub frozen_from: Option<PathBuf>,
    /// This pod fails its readiness probe (`NAME` in default, or `NS/NAME`); repeatable.
    #[arg(long, value_name = "POD")]
    pub not_ready: Vec<String>,
    /// This node lacks the CNI's routes to the other nodes' pods; repeatable.
    #[arg(long, value_name = "NODE")]
    pub no_routes_on: Vec<String>,
    /// Trace N connections with seeds 0..N-1 and print who answered how often.
    #[arg(long, value_name = "N", conflicts_with = "all_branches")]
    pub connections: Option<usize>,
}

impl ClusterArgs {
    /// True when any switch asks for the cluster form.
    pub fn any(&self) -> bool {
        self.cluster
            || self.no_kube_proxy
            || !self.no_kube_proxy_on.is_empty()
            || self.frozen_from.is_some()
            || !self.not_ready.is_empty()
            || !self.no_routes_on.is_empty()
            || self.connections.is_some()
    }
}

fn pod_key(s: &str) -> NamespacedName {
    match s.split_once('/') {
        Some((ns, name)) => NamespacedName::new(ns, name),
        None => NamespacedName::new("default", s),
    }
}

fn experiments(args: &Args) -> Result<(Experiments, bool), CliError> {
    let c = &args.cluster;
    let mode = args.node.mode.map(mode_of).unwrap_or(Mode::Iptables);
    let mut e = Experiments::in_mode(mode);
    let mut had_errors = false;
    if let Some(path) = &c.frozen_from {
        let older = Input::read(std::slice::from_ref(path))?;
        let analysis = kpsim::analyze(&older.text, args.node.admission.into());
        had_errors |= older.report(&analysis.diagnostics);
        e.kube_proxy = KubeProxy::StoppedAfterSync(Box::new(analysis.cluster));
    }
    if c.no_kube_proxy {
        e.kube_proxy = KubeProxy::NeverRan;
    }
    for node in &c.no_kube_proxy_on {
        e.kube_proxy_on.insert(node.clone(), KubeProxy::NeverRan);
    }
    e.not_ready = c.not_ready.iter().map(|p| pod_key(p)).collect();
    e.no_routes = c.no_routes_on.iter().cloned().collect();
    Ok((e, had_errors))
}

fn request(args: &Args) -> Result<TraceRequest, CliError> {
    let mut r = TraceRequest::parse(&args.from, &args.to)?;
    r.protocol = args.proto.map(|p| match p {
        Proto::Tcp => PacketProtocol::Tcp,
        Proto::Udp => PacketProtocol::Udp,
        Proto::Sctp => PacketProtocol::Sctp,
        Proto::Icmp => PacketProtocol::Icmp,
    });
    r.choices = if args.all_branches {
        Choices::AllBranches
    } else {
        Choices::Seed(args.seed.unwrap_or(0))
    };
    Ok(r)
}

/// Refuses the node-level switches, which mean nothing for a whole cluster.
fn check_usage(args: &Args) -> Result<(), CliError> {
    let node_only = [
        ("--rules", args.rules.is_some()),
        ("--settings", args.node.settings.is_some()),
        ("--node", args.node.node.is_some()),
    ];
    match node_only.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(CliError(format!(
            "{flag} belongs to the node-level trace (`--from IP --to IP:PORT`), but this is a cluster trace \
             (`--from {}` `--to {}`): every node's rules are built from the manifests",
            args.from, args.to
        ))),
        None => Ok(()),
    }
}

pub fn run(args: &Args) -> Result<Outcome, CliError> {
    check_usage(args)?;
    let input = Input::read(&args.files)?;
    let analysis = kpsim::analyze(&input.text, args.node.admission.into());
    let mut had_errors = input.report(&analysis.diagnostics);
    let (experiments, older_errors) = experiments(args)?;
    had_errors |= older_errors;
    let request = request(args)?;
    let net = ClusterNetwork::new(&analysis.cluster, &experiments)?;
    if let Some(n) = args.cluster.connections {
        let d = net.distribution(&request, n)?;
        match args.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&d)?),
            Output::Text => print!("{}", distribution_text(&d)),
        }
    } else {
        let trace = net.trace(&request)?;
        match args.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&trace_json(&trace)?)?),
            Output::Text => print!("{trace}"),
        }
    }
    Ok(if had_errors { Outcome::InputErrors } else { Outcome::Ok })
}

/// The JSON contract: the whole [`ClusterTrace`] (`outcome`, `delivered_to`, `summary`,
/// `source`, `target`, `dns`, `flows`), `hops` (the first flow's, in order), and the
/// node-level fields (`verdict`, `destinations`, `masquerade`, `steps`) of the first node
/// pass under the same names as the node-level trace, with that pass in `first_node`.
pub fn trace_json(trace: &ClusterTrace) -> Result<serde_json::Value, CliError> {
    let mut v = serde_json::to_value(trace)?;
    let Some(o) = v.as_object_mut() else {
        return Err(CliError("the trace did not serialise as an object".to_owned()));
    };
    o.insert("hops".to_owned(), serde_json::to_value(trace.hops())?);
    match trace.first_node_trace() {
        Some(t) => {
            let node = to_json(t);
            for key in ["verdict", "destinations", "masquerade", "steps"] {
                o.insert(key.to_owned(), node[key].clone());
            }
            o.insert("first_node".to_owned(), node);
        }
        None => {
            o.insert("verdict".to_owned(), json!(verdict_word(kpsim::sim::Verdict::None)));
            o.insert("destinations".to_owned(), json!([]));
            o.insert("masquerade".to_owned(), json!(false));
            o.insert("steps".to_owned(), json!([]));
            o.insert("first_node".to_owned(), serde_json::Value::Null);
        }
    }
    Ok(v)
}

fn distribution_text(d: &Distribution) -> String {
    let mut out = String::new();
    let last = d.connections.saturating_sub(1);
    let _ = writeln!(out, "{} connections (seeds 0 to {last}), answered by:", d.connections);
    let width = d.delivered.keys().map(String::len).max().unwrap_or(0).max(8);
    for (who, n) in &d.delivered {
        let _ = writeln!(out, "  {who:<width$}  {n:>5}  {:>5.1}%", percent(*n, d.connections));
    }
    let outcomes: BTreeMap<String, usize> =
        d.outcomes.iter().map(|(o, n)| (o.to_string(), *n)).collect();
    let parts: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
    let _ = writeln!(out, "outcomes: {}", parts.join(", "));
    out
}

fn percent(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 * 100.0 / of as f64 }
}
