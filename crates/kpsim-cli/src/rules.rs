//! `kpsim rules`: the rules kube-proxy writes on a node, and the node loading (manifests →
//! cluster → settings → plan) that `trace` shares.

use std::path::PathBuf;

use kpsim::backend::Ruleset;
use kpsim::model::Cluster;
use kpsim::net::IpFamily;
use kpsim::settings::{Mode, ProxySettings};

use crate::input::{AdmissionArg, Input, read_one};
use crate::{CliError, Outcome};

/// `--mode`: the proxy mode whose rules are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Iptables,
    Nftables,
    Ipvs,
}

/// `--format`: how the ruleset is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// iptables: the `iptables-restore` input kube-proxy writes (canonical order).
    Restore,
    /// iptables: what `iptables-save` prints on the node afterwards.
    Save,
    /// nftables: the transaction kube-proxy sends to `nft -f`.
    Transaction,
    /// nftables: what `nft list table` prints on the node afterwards.
    List,
    /// ipvs: the virtual servers as `ipvsadm -Ln` lists them.
    Ipvsadm,
    /// ipvs: the ipsets as `ipset restore` input.
    Ipset,
}

/// Which node and which kube-proxy: shared by `rules` and `trace`.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// ProxySettings file (schema in ARCHITECTURE.md); without it, settings come from the
    /// cluster for `--node` (or the first node).
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Proxy mode (default: the settings file's, else iptables).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// The node kube-proxy runs on (default: the settings file's, else the first node).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// How the manifests are admitted: `auto` takes Services + EndpointSlices alone as
    /// kube-proxy receives them (as-given) and anything else through a simulated API server.
    #[arg(long, value_enum, default_value_t = AdmissionArg::Auto)]
    pub admission: AdmissionArg,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub node: NodeArgs,
    /// Output spelling (default: what kube-proxy writes: `restore` for iptables,
    /// `transaction` for nftables; for ipvs, every section: kube-ipvs0 addresses, virtual
    /// servers, ipsets and the iptables-restore input, which `ipvsadm`, `ipset`, `restore`
    /// and `save` show alone).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Manifest files (YAML or JSON); `-` or none reads stdin.
    pub files: Vec<PathBuf>,
}

/// A node as `rules` and `trace` see it: the cluster read from the manifests and the settings
/// of the kube-proxy on it.
#[derive(Debug)]
pub struct LoadedNode {
    pub cluster: Cluster,
    pub settings: ProxySettings,
    /// True when the manifests or the settings had errors (already printed).
    pub had_errors: bool,
}

/// Reads settings for the manifests in `input` (errors are printed to stderr). `family` is
/// the family to simulate when neither a settings file nor the cluster says.
pub fn load_node(
    args: &NodeArgs,
    input: &Input,
    family: Option<IpFamily>,
) -> Result<LoadedNode, CliError> {
    let analysis = kpsim::analyze(&input.text, args.admission.into());
    let mut had_errors = input.report(&analysis.diagnostics);
    let cluster = analysis.cluster;

    let settings = match &args.settings {
        Some(path) => {
            let (name, text) = read_one(path)?;
            let (mut file, diagnostics) = kpsim::settings::parse_settings_file(&text);
            let mut settings_input = Input { text: String::new(), sources: Vec::new() };
            settings_input.push(name, &text);
            had_errors |= settings_input.report(&diagnostics);
            if let Some(node) = &args.node {
                file.node_name = Some(node.clone());
            }
            if let Some(mode) = args.mode {
                file.mode = Some(mode_of(mode));
            }
            if file.ip_family.is_none() {
                file.ip_family = family;
            }
            let mut diagnostics = Vec::new();
            let settings = file.resolve(&cluster, &mut diagnostics);
            had_errors |= settings_input.report(&diagnostics);
            settings
        }
        None => {
            let node = args
                .node
                .clone()
                .or_else(|| cluster.nodes.first().map(|n| n.name.clone()))
                .unwrap_or_default();
            if !node.is_empty() && cluster.node(&node).is_none() && !cluster.nodes.is_empty() {
                let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
                return Err(CliError(format!(
                    "no node `{node}` in the input (nodes: {})",
                    names.join(", ")
                )));
            }
            let family =
                family.or_else(|| cluster.ip_families().first().copied()).unwrap_or(IpFamily::V4);
            let mode = args.mode.map(mode_of).unwrap_or(Mode::Iptables);
            ProxySettings::for_node(&cluster, &node, mode, family)
        }
    };
    Ok(LoadedNode { cluster, settings, had_errors })
}

pub fn mode_of(m: ModeArg) -> Mode {
    match m {
        ModeArg::Iptables => Mode::Iptables,
        ModeArg::Nftables => Mode::Nftables,
        ModeArg::Ipvs => Mode::Ipvs,
    }
}

/// Builds the node's ruleset in the settings' mode.
pub fn build_rules(node: &LoadedNode) -> Ruleset {
    let plan = kpsim::proxy::plan(&node.cluster, &node.settings);
    Ruleset::build(&plan)
}

pub fn run(args: &Args) -> Result<Outcome, CliError> {
    let input = Input::read(&args.files)?;
    let node = load_node(&args.node, &input, None)?;
    let ruleset = build_rules(&node);
    let text = match (&ruleset, args.format) {
        (Ruleset::Iptables(r), None | Some(Format::Restore)) => r.to_string(),
        (Ruleset::Iptables(r), Some(Format::Save)) => r.save().to_string(),
        (Ruleset::Nftables(r), None | Some(Format::Transaction)) => r.transaction().to_string(),
        (Ruleset::Nftables(r), Some(Format::List)) => r.list_view().to_string(),
        (Ruleset::Ipvs(r), None) => r.to_string(),
        (Ruleset::Ipvs(r), Some(Format::Ipvsadm)) => r.ipvsadm().to_string(),
        (Ruleset::Ipvs(r), Some(Format::Ipset)) => r.ipset_restore().to_string(),
        (Ruleset::Ipvs(r), Some(Format::Restore)) => r.iptables.to_string(),
        (Ruleset::Ipvs(r), Some(Format::Save)) => r.kernel.save().to_string(),
        (rules, Some(format)) => {
            let formats = match rules.mode() {
                Mode::Nftables => "transaction or list",
                Mode::Ipvs => "ipvsadm, ipset, restore or save",
                Mode::Iptables => "restore or save",
            };
            return Err(CliError(format!(
                "--format {} does not exist in {} mode (use {formats})",
                format_name(format),
                rules.mode()
            )));
        }
    };
    print!("{text}");
    Ok(if node.had_errors { Outcome::InputErrors } else { Outcome::Ok })
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Restore => "restore",
        Format::Save => "save",
        Format::Transaction => "transaction",
        Format::List => "list",
        Format::Ipvsadm => "ipvsadm",
        Format::Ipset => "ipset",
    }
}
