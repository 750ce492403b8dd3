//! `kpsim trace`: one packet through a node's rules (generated from manifests, or read from
//! an iptables-restore/-save file), printed as text or JSON — the node-level form. The
//! cluster form (a connection from a pod, node or outside client to a Service, name, pod or
//! IP, hop by hop) lives in `cluster_trace`; [`is_cluster_trace`] tells the two apart.

use std::net::IpAddr;
use std::path::PathBuf;

use kpsim::backend::{Ruleset, iptables, nftables};
use kpsim::net::{IpFamily, split_host_port};
use kpsim::settings::Mode;
use kpsim::sim::{Choices, Packet, PacketProtocol, Trace};
use serde_json::json;

use crate::input::{Input, read_one};
use crate::rules::{ModeArg, NodeArgs, build_rules, load_node};
use crate::{CliError, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
    Icmp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub node: NodeArgs,
    /// Trace through this ruleset instead of generated rules (manifests are then optional):
    /// `iptables-restore`/`iptables-save` text in iptables mode, `nft list ruleset` text in
    /// nftables mode (the mode is recognised from the text when `--mode` is not given).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Source. Node-level form: an IP (a pod or outside client, or one of the node's own
    /// addresses: then the node itself sends). Cluster form: a pod (`NAME`, `NS/NAME`,
    /// `pod/NS/NAME`), a node (`node/NAME`), or an IP (the pod or node holding it, else a
    /// client outside the cluster).
    #[arg(long, value_name = "SOURCE")]
    pub from: String,
    /// Destination. Node-level form: `IP:PORT` (`[IPv6]:PORT`; just the IP for ICMP).
    /// Cluster form: a Service (`NAME`, `svc/NS/NAME`), a DNS name
    /// (`service.default.svc.cluster.local`), a pod (`pod/NS/NAME`), `node/NAME` or an IP,
    /// each with an optional `:PORT` (default: the Service's first port).
    #[arg(long, value_name = "TARGET[:PORT]")]
    pub to: String,
    /// Protocol (default tcp; in the cluster form, the Service port's protocol).
    #[arg(long, value_enum)]
    pub proto: Option<Proto>,
    /// Resolve random load balancing with this seed (default 0).
    #[arg(long, value_name = "N", conflicts_with = "all_branches")]
    pub seed: Option<u64>,
    /// Follow every random branch and list every destination reached.
    #[arg(long)]
    pub all_branches: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    #[command(flatten)]
    pub cluster: crate::cluster_trace::ClusterArgs,
    /// Manifest files (YAML or JSON); `-` or none reads stdin (none read with `--rules`).
    pub files: Vec<PathBuf>,
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    kpsim::net::parse_ip_sloppy(s.trim_start_matches('[').trim_end_matches(']'))
}

/// The traced packet from `--from`, `--to` and `--proto`.
fn packet(args: &Args) -> Result<Packet, CliError> {
    let src = parse_ip(&args.from)
        .ok_or_else(|| CliError(format!("--from `{}` is not an IP address", args.from)))?;
    let protocol = match args.proto.unwrap_or(Proto::Tcp) {
        Proto::Tcp => PacketProtocol::Tcp,
        Proto::Udp => PacketProtocol::Udp,
        Proto::Sctp => PacketProtocol::Sctp,
        Proto::Icmp => PacketProtocol::Icmp,
    };
    let (dst, port) = match split_host_port(&args.to) {
        Some((ip, port)) => (ip, Some(port)),
        None => match parse_ip(&args.to) {
            Some(ip) if protocol == PacketProtocol::Icmp => (ip, None),
            _ => {
                return Err(CliError(format!(
                    "--to `{}` is not IP:PORT (write [IPv6]:PORT for IPv6)",
                    args.to
                )));
            }
        },
    };
    if IpFamily::of(src) != IpFamily::of(dst) {
        return Err(CliError("--from and --to are of different IP families".to_owned()));
    }
    let port = if protocol == PacketProtocol::Icmp { None } else { port };
    Ok(Packet::new(src, dst, protocol, port))
}

/// True when `--from`/`--to` ask for a connection across the cluster rather than one packet
/// through one node's rules: a cluster-only switch is given (`--cluster`, `--no-kube-proxy`,
/// `--no-kube-proxy-on`, `--not-ready`, `--no-routes-on`, `--frozen-from`, `--connections`),
/// or `--from` is not an IP, or `--to` is not an IP with an optional port. Two IPs alone
/// keep the node-level form.
pub fn is_cluster_trace(args: &Args) -> bool {
    let ip_target = |to: &str| split_host_port(to).is_some() || parse_ip(to).is_some();
    args.cluster.any() || parse_ip(&args.from).is_none() || !ip_target(&args.to)
}

pub fn run(args: &Args) -> Result<Outcome, CliError> {
    if is_cluster_trace(args) {
        return crate::cluster_trace::run(args);
    }
    let packet = packet(args)?;
    let family = IpFamily::of(packet.dst);
    let input = if args.rules.is_some() && args.files.is_empty() {
        Input { text: String::new(), sources: Vec::new() }
    } else {
        Input::read(&args.files)?
    };
    let rules_file = args.rules.as_deref().map(read_one).transpose()?;
    let mut node_args = args.node.clone();
    if let (None, Some((_, text))) = (node_args.mode, &rules_file) {
        node_args.mode =
            Some(if looks_like_nftables(text) { ModeArg::Nftables } else { ModeArg::Iptables });
    }
    let mut node = load_node(&node_args, &input, Some(family))?;
    if let Some(mode) = node_args.mode {
        node.settings.mode = crate::rules::mode_of(mode);
    }
    let mut had_errors = node.had_errors;
    let ruleset = match rules_file {
        Some((name, text)) => {
            let mut rules_input = Input { text: String::new(), sources: Vec::new() };
            rules_input.push(name.clone(), &text);
            match node.settings.mode {
                Mode::Nftables => match nftables::parse_list(&text) {
                    Ok(r) => Ruleset::Nftables(r),
                    Err(e) => return Err(CliError(format!("{name}:{e}"))),
                },
                // A pasted ruleset is iptables text: IPVS state (ipsets, virtual servers)
                // cannot be read back from it, so IPVS is traced from manifests only.
                Mode::Ipvs => {
                    return Err(CliError(
                        "--rules is iptables or nftables text: an IPVS node is traced from its manifests (drop --rules)".to_owned(),
                    ));
                }
                Mode::Iptables => {
                    let (ruleset, diagnostics) = iptables::parse(&text, node.settings.family);
                    had_errors |= rules_input.report(&diagnostics);
                    Ruleset::Iptables(ruleset)
                }
            }
        }
        None => build_rules(&node),
    };
    let choices = if args.all_branches {
        Choices::AllBranches
    } else {
        Choices::Seed(args.seed.unwrap_or(0))
    };
    let entry = kpsim::sim::entry_for(&node.settings, packet.src);
    let trace = kpsim::sim::trace_node(&ruleset, &node.settings, packet, entry, choices);
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&to_json(&trace))?),
        Output::Text => print!("{}", text(&trace)),
    }
    Ok(if had_errors { Outcome::InputErrors } else { Outcome::Ok })
}

/// `nft list` output starts with `table …`; iptables text with `*table` or `:CHAIN`.
fn looks_like_nftables(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("table ") || l.starts_with("add table "))
}

/// The JSON contract: `verdict`, `destinations`, `masquerade`, `steps` (each with its path
/// index) and `paths`.
pub fn to_json(trace: &Trace) -> serde_json::Value {
    let mut steps = Vec::new();
    for (i, p) in trace.paths.iter().enumerate() {
        for s in &p.steps {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("path".to_owned(), json!(i));
            }
            steps.push(v);
        }
    }
    let paths: Vec<serde_json::Value> = trace
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "index": i,
                "probability": p.probability,
                "verdict": p.verdict,
                "destination": p.dnat.map(|(ip, port)| match port {
                    Some(port) => kpsim::net::join_host_port(ip, port),
                    None => ip.to_string(),
                }),
                "masquerade": p.masquerade,
                "packet_out": p.packet_out,
                "steps": p.steps.len(),
            })
        })
        .collect();
    json!({
        "node": trace.node,
        "mode": trace.mode,
        "entry": trace.entry,
        "packet": trace.packet,
        "verdict": trace.verdict(),
        "destinations": trace.destinations(),
        "masquerade": trace.masquerade(),
        "output": trace.flow_output(),
        "steps": steps,
        "paths": paths,
    })
}

pub fn verdict_word(v: kpsim::sim::Verdict) -> String {
    match v {
        kpsim::sim::Verdict::None => "none".to_owned(),
        v => v.as_upper().to_lowercase(),
    }
}

fn text(trace: &Trace) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let entry = match trace.entry {
        kpsim::sim::Entry::Arriving => "arriving at",
        kpsim::sim::Entry::Local => "sent by",
    };
    let _ = writeln!(out, "packet {} {entry} node {}", trace.packet, trace.node);
    let n = trace.paths.len();
    for (i, p) in trace.paths.iter().enumerate() {
        let dest = p
            .dnat
            .map(|(ip, port)| match port {
                Some(port) => format!(" → {}", kpsim::net::join_host_port(ip, port)),
                None => format!(" → {ip}"),
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "\npath {}/{n} (probability {:.4}): {}{dest}{}",
            i + 1,
            p.probability,
            verdict_word(p.verdict),
            if p.masquerade { ", masquerade" } else { "" }
        );
        for s in &p.steps {
            let mark = if s.matched { "✓" } else { "·" };
            let index = s.rule_index.map(|i| format!("#{i}")).unwrap_or_default();
            let indent = "  ".repeat(s.depth + 1);
            let rule = if s.rule.is_empty() { String::new() } else { format!("{}  ", s.rule) };
            let _ = writeln!(
                out,
                "{indent}{mark} {} {} {}{index}  {rule}({})",
                s.hook, s.table, s.chain, s.why
            );
        }
    }
    let verdict = match trace.verdict() {
        kpsim::sim::Verdict::None => "none (no rule changed or stopped the packet)".to_owned(),
        v => v.as_upper().to_lowercase(),
    };
    let _ = writeln!(
        out,
        "\nverdict: {verdict}{}; masquerade: {}",
        if trace.destinations().is_empty() {
            String::new()
        } else {
            format!(" → {}", trace.destinations().join(", "))
        },
        if trace.masquerade() { "yes" } else { "no" }
    );
    out
}
