//! ProxySettings: the kube-proxy instance being simulated and the facts of its node.
//!
//! Read from a settings file (schema in `shared/oracle/README.md`, reproduced in
//! ARCHITECTURE.md) or derived from the cluster for one node. Every field is resolved here, so
//! the proxy plan and the backends never guess.

mod ipvs;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, DiagnosticKind, Location};
use crate::model::Cluster;
use crate::net::{Cidr, IfaceAddr, IpFamily};

pub use ipvs::{IpvsFile, IpvsSettings, Scheduler};

/// kube-proxy's `--proxy-mode`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Iptables,
    Nftables,
    Ipvs,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "iptables" => Some(Mode::Iptables),
            "nftables" => Some(Mode::Nftables),
            "ipvs" => Some(Mode::Ipvs),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Iptables => "iptables",
            Mode::Nftables => "nftables",
            Mode::Ipvs => "ipvs",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--detect-local-mode`: how kube-proxy recognises traffic from pods on this node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum LocalTrafficDetector {
    /// No detector: no ClusterIP masquerade rule, no pod short-circuit for eTP=Local.
    None,
    /// `-s <cluster CIDR>`.
    ClusterCidr(Cidr),
    /// `-s <node pod CIDR>`.
    NodeCidr(Cidr),
    /// `-i <bridge>`.
    BridgeInterface(String),
    /// `-i <prefix>+`.
    InterfaceNamePrefix(String),
}

/// Feature gates that change what kube-proxy writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FeatureGates {
    /// GA: ingress IPs with `ipMode: Proxy` get no rules.
    pub load_balancer_ip_mode: bool,
    /// Endpoint node hints (`hints.forNodes`) are honoured.
    pub prefer_same_traffic_distribution: bool,
}

impl Default for FeatureGates {
    fn default() -> FeatureGates {
        FeatureGates { load_balancer_ip_mode: true, prefer_same_traffic_distribution: true }
    }
}

/// The resolved settings of one kube-proxy instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxySettings {
    pub mode: Mode,
    /// The single family this proxier handles.
    pub family: IpFamily,
    pub node_name: String,
    /// Primary node IP of the family.
    pub node_ip: Option<IpAddr>,
    pub node_labels: BTreeMap<String, String>,
    /// Interface name → configured addresses. Every address is local to the node.
    pub node_interfaces: BTreeMap<String, Vec<IfaceAddr>>,
    /// `--nodeport-addresses` (both families as given; backends pick theirs).
    pub node_port_addresses: Vec<Cidr>,
    pub local_traffic_detector: LocalTrafficDetector,
    /// ServiceCIDRs known to the proxier (nftables drops traffic to unallocated ClusterIPs).
    pub service_cidrs: Vec<Cidr>,
    pub masquerade_all: bool,
    /// The mark exactly as written in rules (`0x00004000` on a real node, `0x4000` in tests).
    pub masquerade_mark: String,
    pub localhost_node_ports: bool,
    pub conntrack_tcp_be_liberal: bool,
    pub nfacct_counters: BTreeSet<String>,
    pub random_fully: bool,
    pub feature_gates: FeatureGates,
    pub sync_period_seconds: u64,
    /// IPVS mode's own settings (ignored by the other modes).
    pub ipvs: IpvsSettings,
}

/// The masquerade mark a real kube-proxy writes with the default `--iptables-masquerade-bit=14`
/// (`1 << 14` formatted with Go's `%#08x`).
pub const DEFAULT_MASQUERADE_MARK: &str = "0x00004000";

impl ProxySettings {
    /// True when `ip` is one of the node's own addresses (`--dst-type LOCAL`,
    /// `fib daddr type local`): on `nodeInterfaces`, or one the IPVS netlink handle reports.
    pub fn is_local_address(&self, ip: IpAddr) -> bool {
        self.node_interfaces.values().flatten().any(|a| a.addr == ip)
            || self.ipvs.netlink_addresses().any(|a| a == ip)
    }

    /// Every local address of the proxier's family, sorted.
    pub fn local_addresses(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = self
            .node_interfaces
            .values()
            .flatten()
            .map(|a| a.addr)
            .filter(|ip| IpFamily::of(*ip) == self.family)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The masquerade mark as a number (for the tracer's mark arithmetic).
    pub fn masquerade_mark_value(&self) -> u32 {
        parse_mark(&self.masquerade_mark).unwrap_or(0x4000)
    }

    /// Settings for `node` of `cluster`, as kube-proxy would run there with its defaults:
    /// node IPs and labels from the Node, interfaces `lo` + `eth0` (InternalIP, /24) +
    /// `cni0` (the first address of the node's pod CIDR), the cluster's pod CIDR as the
    /// local-traffic detector and its service CIDRs.
    pub fn for_node(
        cluster: &Cluster,
        node_name: &str,
        mode: Mode,
        family: IpFamily,
    ) -> ProxySettings {
        let node = cluster.node(node_name);
        let mut interfaces: BTreeMap<String, Vec<IfaceAddr>> = BTreeMap::new();
        interfaces.insert(
            "lo".to_owned(),
            vec![
                IfaceAddr { addr: IpFamily::V4.loopback(), prefix: 8 },
                IfaceAddr { addr: IpFamily::V6.loopback(), prefix: 128 },
            ],
        );
        if let Some(node) = node {
            let eth0: Vec<IfaceAddr> = node
                .internal_ips
                .iter()
                .map(|ip| IfaceAddr { addr: *ip, prefix: if ip.is_ipv4() { 24 } else { 64 } })
                .collect();
            if !eth0.is_empty() {
                interfaces.insert("eth0".to_owned(), eth0);
            }
            let cni0: Vec<IfaceAddr> = node
                .pod_cidrs
                .value
                .iter()
                .filter_map(|c| c.nth(1).map(|addr| IfaceAddr { addr, prefix: c.prefix_len() }))
                .collect();
            if !cni0.is_empty() {
                interfaces.insert("cni0".to_owned(), cni0);
            }
        }
        let detector = cluster
            .pod_cidrs
            .iter()
            .find(|c| c.family() == family)
            .map(|c| LocalTrafficDetector::ClusterCidr(*c))
            .unwrap_or(LocalTrafficDetector::None);
        ProxySettings {
            mode,
            family,
            node_name: node_name.to_owned(),
            node_ip: node.and_then(|n| n.internal_ip(family)),
            node_labels: node.map(|n| n.labels.clone()).unwrap_or_default(),
            node_interfaces: interfaces,
            // kube-proxy's default `--nodeport-addresses`: every local address in iptables
            // mode; `primary` (the node's primary IPs) in nftables mode.
            node_port_addresses: match mode {
                Mode::Nftables => node
                    .map(|n| n.internal_ips.iter().copied().map(Cidr::host).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            },
            local_traffic_detector: detector,
            service_cidrs: cluster
                .service_cidrs
                .iter()
                .copied()
                .filter(|c| c.family() == family)
                .collect(),
            masquerade_all: false,
            masquerade_mark: DEFAULT_MASQUERADE_MARK.to_owned(),
            // kube-proxy forces it off on IPv6.
            localhost_node_ports: family == IpFamily::V4,
            conntrack_tcp_be_liberal: false,
            nfacct_counters: BTreeSet::new(),
            random_fully: false,
            feature_gates: FeatureGates::default(),
            sync_period_seconds: 0,
            ipvs: IpvsSettings::default(),
        }
    }
}

fn parse_mark(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The settings file as written: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsFile {
    pub mode: Option<Mode>,
    pub ip_family: Option<IpFamily>,
    pub node_name: Option<String>,
    #[serde(rename = "nodeIP")]
    pub node_ip: Option<String>,
    pub node_labels: Option<BTreeMap<String, String>>,
    pub node_interfaces: Option<BTreeMap<String, Vec<String>>>,
    pub node_port_addresses: Option<Vec<String>>,
    pub local_traffic_detector: Option<DetectorFile>,
    #[serde(rename = "serviceCIDRs")]
    pub service_cidrs: Option<Vec<String>>,
    pub masquerade_all: Option<bool>,
    pub masquerade_mark: Option<String>,
    pub localhost_node_ports: Option<bool>,
    #[serde(rename = "conntrackTCPBeLiberal")]
    pub conntrack_tcp_be_liberal: Option<bool>,
    pub nfacct_counters: Option<Vec<String>>,
    pub random_fully: Option<bool>,
    pub feature_gates: Option<BTreeMap<String, bool>>,
    pub sync_period_seconds: Option<u64>,
    /// IPVS settings, used by the IPVS mode only.
    pub ipvs: Option<IpvsFile>,
}

/// `localTrafficDetector` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectorFile {
    pub mode: Option<String>,
    #[serde(rename = "clusterCIDR")]
    pub cluster_cidr: Option<String>,
    pub interface: Option<String>,
}

/// Parses a settings file. Unknown keys and bad values are diagnostics (located by line).
pub fn parse_settings_file(text: &str) -> (SettingsFile, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut unknown = Vec::new();
    let de = serde_norway::Deserializer::from_str(text);
    // serde_ignored writes `?` for the `Some` of an optional section (`ipvs.?.key`): the path
    // in the file has no such segment.
    let file: SettingsFile = match serde_ignored::deserialize(de, |p| {
        unknown.push(p.to_string().replace(".?.", ".").trim_start_matches("?.").to_owned())
    }) {
        Ok(f) => f,
        Err(e) => {
            let loc = e
                .location()
                .map(|l| Location { document: 0, line: l.line(), column: l.column() })
                .unwrap_or_default();
            diagnostics.push(
                Diagnostic::error(DiagnosticKind::Syntax, format!("settings: {e}"))
                    .at(loc)
                    .hint("see the ProxySettings schema in ARCHITECTURE.md"),
            );
            return (SettingsFile::default(), diagnostics);
        }
    };
    for path in unknown {
        let (line, column) = crate::manifest::locate(text, &path).unwrap_or((1, 1));
        diagnostics.push(
            Diagnostic::warning(
                DiagnosticKind::UnknownField,
                format!("settings: unknown key `{path}` is ignored"),
            )
            .at(Location { document: 0, line, column })
            .field(path)
            .hint("see the ProxySettings schema in ARCHITECTURE.md"),
        );
    }
    (file, diagnostics)
}

impl SettingsFile {
    /// Resolves the file against the cluster: absent keys take the values kube-proxy would
    /// have on the node named by `nodeName` (or the cluster's first node).
    pub fn resolve(&self, cluster: &Cluster, diagnostics: &mut Vec<Diagnostic>) -> ProxySettings {
        let mode = self.mode.unwrap_or_default();
        let family = self.ip_family.unwrap_or(IpFamily::V4);
        let node_name = self
            .node_name
            .clone()
            .or_else(|| cluster.nodes.first().map(|n| n.name.clone()))
            .unwrap_or_default();
        let mut s = ProxySettings::for_node(cluster, &node_name, mode, family);
        let mut bad = |key: &str, value: &str, what: &str| {
            let (line, column) = (1, 1);
            diagnostics.push(
                Diagnostic::error(
                    DiagnosticKind::InvalidValue,
                    format!("settings: {key}: `{value}` is not {what}"),
                )
                .at(Location { document: 0, line, column })
                .field(key.to_owned())
                .hint("see the ProxySettings schema in ARCHITECTURE.md"),
            );
        };
        if let Some(ip) = &self.node_ip {
            match crate::net::parse_ip_sloppy(ip) {
                Some(ip) => s.node_ip = Some(ip),
                None if ip.is_empty() => s.node_ip = None,
                None => bad("nodeIP", ip, "an IP address"),
            }
        }
        if let Some(labels) = &self.node_labels {
            s.node_labels = labels.clone();
        }
        if let Some(ifaces) = &self.node_interfaces {
            let mut out = BTreeMap::new();
            for (name, addrs) in ifaces {
                let mut parsed = Vec::new();
                for a in addrs {
                    match IfaceAddr::parse(a) {
                        Some(x) => parsed.push(x),
                        None => bad(
                            &format!("nodeInterfaces.{name}"),
                            a,
                            "an address with prefix length",
                        ),
                    }
                }
                out.insert(name.clone(), parsed);
            }
            s.node_interfaces = out;
        }
        // The schema's default is `[]` (every local address), whatever the mode.
        s.node_port_addresses.clear();
        if let Some(cidrs) = &self.node_port_addresses {
            s.node_port_addresses = cidrs
                .iter()
                .filter_map(|c| {
                    let parsed = Cidr::parse_sloppy(c.trim());
                    if parsed.is_none() {
                        bad("nodePortAddresses", c, "a CIDR");
                    }
                    parsed
                })
                .collect();
        }
        if let Some(det) = &self.local_traffic_detector {
            s.local_traffic_detector = match det.mode.as_deref().unwrap_or("ClusterCIDR") {
                "None" | "" => LocalTrafficDetector::None,
                m @ ("ClusterCIDR" | "NodeCIDR") => match det.cluster_cidr.as_deref() {
                    None => s.local_traffic_detector.clone(),
                    // Like `--cluster-cidr`, a comma-separated list (one CIDR per family in
                    // a dual-stack cluster): the detector uses the first of the proxier's
                    // family, and none when the list has no CIDR of that family.
                    Some(text) => {
                        let cidrs: Option<Vec<Cidr>> =
                            text.split(',').map(|c| Cidr::parse_sloppy(c.trim())).collect();
                        match cidrs {
                            None => {
                                bad("localTrafficDetector.clusterCIDR", text, "a CIDR");
                                LocalTrafficDetector::None
                            }
                            Some(cidrs) => match cidrs.into_iter().find(|c| c.family() == family) {
                                Some(c) if m == "ClusterCIDR" => {
                                    LocalTrafficDetector::ClusterCidr(c)
                                }
                                Some(c) => LocalTrafficDetector::NodeCidr(c),
                                None => LocalTrafficDetector::None,
                            },
                        }
                    }
                },
                "BridgeInterface" => match &det.interface {
                    Some(i) if !i.is_empty() => LocalTrafficDetector::BridgeInterface(i.clone()),
                    _ => LocalTrafficDetector::None,
                },
                "InterfaceNamePrefix" => match &det.interface {
                    Some(i) if !i.is_empty() => {
                        LocalTrafficDetector::InterfaceNamePrefix(i.clone())
                    }
                    _ => LocalTrafficDetector::None,
                },
                other => {
                    bad(
                        "localTrafficDetector.mode",
                        other,
                        "ClusterCIDR, NodeCIDR, BridgeInterface, InterfaceNamePrefix or None",
                    );
                    LocalTrafficDetector::None
                }
            };
        }
        if let Some(cidrs) = &self.service_cidrs {
            s.service_cidrs = cidrs.iter().filter_map(|c| Cidr::parse_sloppy(c.trim())).collect();
        }
        if let Some(v) = self.masquerade_all {
            s.masquerade_all = v;
        }
        if let Some(m) = &self.masquerade_mark
            && !m.is_empty()
        {
            s.masquerade_mark = m.clone();
        }
        if let Some(v) = self.localhost_node_ports {
            s.localhost_node_ports = v;
        }
        // kube-proxy's NewProxier turns `--iptables-localhost-nodeports` off unless the
        // NodePort addresses of its family include an IPv4 loopback address ("all" does).
        s.localhost_node_ports &= serves_ipv4_loopback(s.family, &s.node_port_addresses);
        if let Some(v) = self.conntrack_tcp_be_liberal {
            s.conntrack_tcp_be_liberal = v;
        }
        if let Some(v) = &self.nfacct_counters {
            s.nfacct_counters = v.iter().cloned().collect();
        }
        if let Some(v) = self.random_fully {
            s.random_fully = v;
        }
        if let Some(gates) = &self.feature_gates {
            for (gate, on) in gates {
                match gate.as_str() {
                    "LoadBalancerIPMode" => s.feature_gates.load_balancer_ip_mode = *on,
                    "PreferSameTrafficDistribution" => {
                        s.feature_gates.prefer_same_traffic_distribution = *on
                    }
                    _ => {}
                }
            }
        }
        if let Some(v) = self.sync_period_seconds {
            s.sync_period_seconds = v;
        }
        if let Some(ipvs) = &self.ipvs {
            s.ipvs = ipvs.resolve(&mut bad);
        }
        s
    }
}

/// kube-proxy's `NodePortAddresses.ContainsIPv4Loopback()`: the CIDRs of `family` (none
/// means every address) reach 127.0.0.0 or start at a loopback address. Always false for
/// an IPv6 proxier.
fn serves_ipv4_loopback(family: IpFamily, node_port_addresses: &[Cidr]) -> bool {
    if family != IpFamily::V4 {
        return false;
    }
    let mut of_family = node_port_addresses.iter().filter(|c| c.family() == family).peekable();
    if of_family.peek().is_none() {
        return true;
    }
    let loopback = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0));
    of_family.any(|c| c.network().is_loopback() || c.contains(loopback))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORACLE: &str = "mode: iptables\nipFamily: IPv4\nnodeName: test-node\nnodeIP: 192.168.0.2\nnodeLabels: {}\nnodeInterfaces:\n  lo: [127.0.0.1/8, '::1/128']\n  eth0: [192.168.0.2/24, 192.168.1.2/24]\nnodePortAddresses: []\nlocalTrafficDetector: {mode: ClusterCIDR, clusterCIDR: 10.0.0.0/8}\nmasqueradeAll: false\nmasqueradeMark: '0x4000'\nlocalhostNodePorts: true\nconntrackTCPBeLiberal: false\nnfacctCounters: [ct_state_invalid_dropped_pkts]\nrandomFully: false\nfeatureGates: {LoadBalancerIPMode: true}\nsyncPeriodSeconds: 0\n";

    #[test]
    fn localhost_nodeports_need_an_ipv4_loopback_among_the_nodeport_addresses() {
        let effective = |extra: &str| {
            let (file, diags) = parse_settings_file(&format!("mode: iptables\n{extra}"));
            assert!(diags.is_empty(), "{diags:?}");
            file.resolve(&Cluster::default(), &mut Vec::new()).localhost_node_ports
        };
        assert!(effective(""), "every address includes 127.0.0.1");
        assert!(effective("nodePortAddresses: ['0.0.0.0/0']\n"));
        assert!(effective("nodePortAddresses: ['127.0.0.1/32', '192.168.0.0/16']\n"));
        assert!(effective("nodePortAddresses: ['fd00::/64']\n"), "no IPv4 CIDR means all");
        assert!(!effective("nodePortAddresses: ['192.168.0.0/16']\n"));
        assert!(!effective("nodePortAddresses: ['192.168.0.0/16']\nlocalhostNodePorts: true\n"));
        assert!(!effective("ipFamily: IPv6\nlocalhostNodePorts: true\n"));
        assert!(!effective("localhostNodePorts: false\n"));
    }

    #[test]
    fn reads_the_oracle_schema() {
        let (file, diags) = parse_settings_file(ORACLE);
        assert!(diags.is_empty(), "{diags:?}");
        let mut d = Vec::new();
        let s = file.resolve(&Cluster::default(), &mut d);
        assert!(d.is_empty());
        assert_eq!(s.node_name, "test-node");
        assert_eq!(s.masquerade_mark, "0x4000");
        assert_eq!(s.masquerade_mark_value(), 0x4000);
        assert!(s.is_local_address("192.168.1.2".parse().unwrap()));
        assert_eq!(
            s.local_traffic_detector,
            LocalTrafficDetector::ClusterCidr(Cidr::parse_sloppy("10.0.0.0/8").unwrap())
        );
        assert!(s.nfacct_counters.contains("ct_state_invalid_dropped_pkts"));
    }

    #[test]
    fn ipvs_settings_are_typed_with_their_defaults_and_bad_values_are_errors() {
        let (file, diags) =
            parse_settings_file("mode: ipvs\nipvs:\n  scheduler: wlc\n  strictARP: true\n");
        assert!(diags.is_empty(), "{diags:?}");
        let mut d = Vec::new();
        let s = file.resolve(&Cluster::default(), &mut d);
        assert!(d.is_empty());
        assert_eq!(s.ipvs.scheduler, Scheduler::Wlc);
        assert!(s.ipvs.strict_arp && s.ipvs.ipset_names_use_family_prefix);
        assert_eq!(s.ipvs.netlink_local_addresses, None);

        let (file, diags) =
            parse_settings_file("mode: ipvs\nipvs:\n  scheduler: fastest\n  shceduler: rr\n");
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!((diags[0].location.line, diags[0].field_path.as_str()), (4, "ipvs.shceduler"));
        let mut d = Vec::new();
        let s = file.resolve(&Cluster::default(), &mut d);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("ipvs.scheduler: `fastest`"), "{}", d[0].message);
        assert_eq!(s.ipvs.scheduler, Scheduler::Rr);
    }

    #[test]
    fn unknown_keys_are_located() {
        let (_, diags) = parse_settings_file("mode: iptables\nnodeNmae: x\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].location.line, 2);
    }
}
