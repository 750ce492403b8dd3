//! kube-proxy's chain and set names, in one place: the hashes people grep their nodes for.
//!
//! iptables: `KUBE-SVC-` + the first 16 characters of base32(sha256(port name + protocol)).
//! nftables: `<8-char hash>-<ns>/<svc>/<proto>/<port>` bases, prefixed per chain kind.

use std::fmt::Write as _;
use std::net::IpAddr;

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

use crate::backend::iptables::ChainName;
use crate::net::{join_host_port, write_host_port};
use crate::proxy::{ServicePortName, ServicePortPlan};
use crate::settings::Mode;

/// Appends the first `n` characters of the padded upper-case base32 encoding of the digest.
/// Base32 spells 5 bytes as 8 characters, so that needs only the first `n·5/8` bytes
/// (rounded up) of it.
fn append_hash_prefix(out: &mut String, hasher: Sha256, n: usize) {
    let digest = hasher.finalize();
    let start = out.len();
    BASE32.encode_append(&digest[..(n * 5).div_ceil(8).min(digest.len())], out);
    out.truncate(start + n);
}

/// First `n` characters of the base32 encoding of SHA-256(`s`).
fn hash_prefix(s: &str, n: usize) -> String {
    let mut out = String::with_capacity(n + 8);
    append_hash_prefix(&mut out, Sha256::new_with_prefix(s.as_bytes()), n);
    out
}

/// A hasher fed kube-proxy's service-port string: `ns/name:port` (`ns/name` when the port is
/// unnamed) + `tcp`.
fn iptables_port_hasher(name: &ServicePortName) -> Sha256 {
    let mut h = Sha256::new();
    h.update(name.namespace.as_bytes());
    h.update(b"/");
    h.update(name.name.as_bytes());
    if !name.port.is_empty() {
        h.update(b":");
        h.update(name.port.as_bytes());
    }
    h.update(name.protocol.as_lower().as_bytes());
    h
}

/// The 16-character hash of what `hasher` was fed: base32 of the first 10 digest bytes.
fn iptables_hash(hasher: Sha256) -> [u8; 16] {
    let digest = hasher.finalize();
    let mut hash = [0; 16];
    BASE32.encode_mut(&digest[..10], &mut hash);
    hash
}

/// `prefix` (`KUBE-SVC-`, at most 12 bytes) + a 16-character hash: always within the kernel's
/// 28 bytes, and ASCII.
fn iptables_chain(prefix: &'static str, hash: &[u8; 16]) -> ChainName {
    ChainName::concat(prefix, std::str::from_utf8(hash).unwrap_or_default())
        .expect("a chain prefix of at most 12 bytes and a 16-character hash fit in 28 bytes")
}

/// The hashed chain names of one service port (`KUBE-SVC/SVL/EXT/FW-…`), hashed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePortChains {
    pub svc: ChainName,
    pub svl: ChainName,
    pub ext: ChainName,
    pub fw: ChainName,
}

impl ServicePortChains {
    pub fn new(name: &ServicePortName) -> ServicePortChains {
        let hash = iptables_hash(iptables_port_hasher(name));
        ServicePortChains {
            svc: iptables_chain("KUBE-SVC-", &hash),
            svl: iptables_chain("KUBE-SVL-", &hash),
            ext: iptables_chain("KUBE-EXT-", &hash),
            fw: iptables_chain("KUBE-FW-", &hash),
        }
    }
}

/// `KUBE-SVC-…`: the Cluster-policy endpoint dispatch chain.
pub fn svc_chain(name: &ServicePortName) -> String {
    ServicePortChains::new(name).svc.into()
}

/// `KUBE-SVL-…`: the Local-policy endpoint dispatch chain.
pub fn svl_chain(name: &ServicePortName) -> String {
    ServicePortChains::new(name).svl.into()
}

/// `KUBE-EXT-…`: the external-traffic entry chain.
pub fn ext_chain(name: &ServicePortName) -> String {
    ServicePortChains::new(name).ext.into()
}

/// `KUBE-FW-…`: the loadBalancerSourceRanges firewall chain.
pub fn fw_chain(name: &ServicePortName) -> String {
    ServicePortChains::new(name).fw.into()
}

/// `KUBE-SEP-…`: the chain of one endpoint (`ip:port`) of a service port.
pub fn sep_chain(name: &ServicePortName, endpoint: &str) -> String {
    let mut h = iptables_port_hasher(name);
    h.update(endpoint.as_bytes());
    iptables_chain("KUBE-SEP-", &iptables_hash(h)).into()
}

/// [`sep_chain`] of the endpoint `ip:port`, without spelling the endpoint out first.
pub fn sep_chain_of(name: &ServicePortName, ip: IpAddr, port: u16) -> ChainName {
    struct Feed<'a>(&'a mut Sha256);
    impl std::fmt::Write for Feed<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut h = iptables_port_hasher(name);
    let _ = write_host_port(&mut Feed(&mut h), ip, port);
    iptables_chain("KUBE-SEP-", &iptables_hash(h))
}

/// nftables names of a service port's chains: `H-ns/name/proto/port`.
pub fn nft_service_base(name: &ServicePortName) -> String {
    let s = format!("{}/{}/{}/{}", name.namespace, name.name, name.protocol.as_lower(), name.port);
    format!("{}-{}", hash_prefix(&s, 8), s)
}

/// nftables base of an endpoint chain/affinity set, truncated to 240 characters as
/// kube-proxy does.
pub fn nft_endpoint_base(name: &ServicePortName, ip: IpAddr, port: u16) -> String {
    let ip_text = ip.to_string().replace(':', ".");
    let s = format!(
        "{}/{}/{}/{}__{}/{}",
        name.namespace,
        name.name,
        name.protocol.as_lower(),
        name.port,
        ip_text,
        port
    );
    let mut base = format!("{}-{}", hash_prefix(&s, 8), s);
    if base.len() > 240 {
        base.truncate(237);
        base.push_str("...");
    }
    base
}

/// A fast hasher for tables keyed by chain and set names: a ruleset looks a chain up once
/// per chain it adds, names are short, and the tables are never iterated (so the hash order
/// cannot reach output). Eight bytes per step (a multiply-rotate mix in the manner of rustc's
/// FxHasher, with the high bits folded down at the end for hashbrown's bucket index) rather
/// than the default DoS-resistant hasher; a pasted ruleset crafted to collide would only slow
/// down the page that pasted it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NameHasher(u64);

impl NameHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut word = [0; 8];
            word.copy_from_slice(w);
            self.add(u64::from_le_bytes(word));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// What a kube-proxy chain name stands for, for explaining names on the page and in traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainMeaning {
    /// A service-port chain (`KUBE-SVC/SVL/EXT/FW`).
    ServicePort { kind: &'static str, service_port: String },
    /// An endpoint chain (`KUBE-SEP`).
    Endpoint { service_port: String, endpoint: String },
}

/// Finds what a hashed chain name stands for among the service ports of a plan.
pub fn explain_chain(chain: &str, ports: &[ServicePortPlan]) -> Option<ChainMeaning> {
    let (kind, _) = chain.strip_prefix("KUBE-")?.split_once('-')?;
    let kind: &'static str = match kind {
        "SVC" => "Cluster-policy endpoint dispatch",
        "SVL" => "Local-policy endpoint dispatch",
        "EXT" => "external traffic entry",
        "FW" => "load-balancer source-range firewall",
        "SEP" => "endpoint",
        _ => return None,
    };
    for sp in ports {
        if kind == "endpoint" {
            for ep in &sp.endpoints {
                let e = join_host_port(ep.ip, ep.port);
                if sep_chain(&sp.name, &e) == chain {
                    return Some(ChainMeaning::Endpoint {
                        service_port: sp.name.to_string(),
                        endpoint: e,
                    });
                }
            }
        } else if [
            svc_chain(&sp.name),
            svl_chain(&sp.name),
            ext_chain(&sp.name),
            fw_chain(&sp.name),
        ]
        .iter()
        .any(|c| c == chain)
        {
            return Some(ChainMeaning::ServicePort { kind, service_port: sp.name.to_string() });
        }
    }
    None
}

impl std::fmt::Display for ChainMeaning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainMeaning::ServicePort { kind, service_port } => {
                write!(f, "{kind} of {service_port}")
            }
            ChainMeaning::Endpoint { service_port, endpoint } => {
                let mut s = String::new();
                let _ = write!(s, "endpoint {endpoint} of {service_port}");
                f.write_str(&s)
            }
        }
    }
}

/// What one of kube-proxy's fixed chains (and the built-in hooks) is for, in a few words, as
/// the Rules panel explains it on hover and a trace explains a verdict; IPVS mode's chains
/// of the same name as iptables mode's do other jobs.
pub fn fixed_chain_meaning(name: &str, mode: Mode) -> Option<&'static str> {
    let ipvs = if mode == Mode::Ipvs { ipvs_chain(name) } else { None };
    ipvs.or_else(|| any_mode_chain(name))
}

/// The chains of IPVS mode whose job differs from iptables mode's chain of the same name
/// (spec ipvs §6): there, ipset lookups decide masquerade and access, and IPVS itself picks
/// the endpoint.
fn ipvs_chain(name: &str) -> Option<&'static str> {
    Some(match name {
        "KUBE-SERVICES" => {
            "marks Service traffic for masquerade and accepts it, by ipset lookups (KUBE-CLUSTER-IP, KUBE-LOAD-BALANCER, KUBE-EXTERNAL-IP); IPVS, not iptables, then picks the endpoint"
        }
        "KUBE-NODE-PORT" => {
            "NodePorts: in nat, marks node-port traffic for masquerade unless its externalTrafficPolicy is Local; in filter, accepts health-check node ports"
        }
        "KUBE-LOAD-BALANCER" => {
            "load-balancer IPs: marks traffic for masquerade unless the Service's externalTrafficPolicy is Local"
        }
        "KUBE-POSTROUTING" => {
            "masquerades hairpin traffic (a pod reaching itself through a Service, KUBE-LOOP-BACK) and packets marked for it"
        }
        "KUBE-PROXY-FIREWALL" => {
            "sends traffic to load-balancer IPs with loadBalancerSourceRanges to KUBE-SOURCE-RANGES-FIREWALL"
        }
        "KUBE-SOURCE-RANGES-FIREWALL" => {
            "accepts sources inside loadBalancerSourceRanges and drops the rest"
        }
        "KUBE-IPVS-FILTER" => {
            "rejects a new connection to a kube-ipvs0 address unless its ip:port is a Service's; a ping has no port, so it is refused"
        }
        "KUBE-IPVS-OUT-FILTER" => {
            "drops the node's own connections to a load-balancer IP its source ranges do not allow"
        }
        _ => return None,
    })
}

fn any_mode_chain(name: &str) -> Option<&'static str> {
    Some(match name {
        "KUBE-SERVICES" => {
            "the entry point for Services: one rule per ClusterIP, external IP and load-balancer IP and port"
        }
        "KUBE-NODEPORTS" => "NodePorts: traffic to a node's own address on a node port",
        "KUBE-EXTERNAL-SERVICES" => {
            "rejects or drops external traffic to Services without endpoints"
        }
        "KUBE-POSTROUTING" => {
            "masquerades packets marked for it (SNAT to the outgoing interface's address)"
        }
        "KUBE-MARK-MASQ" => "marks a packet for masquerading on its way out",
        "KUBE-FORWARD" => {
            "accepts forwarded Service traffic and drops invalid connection-tracking states"
        }
        "KUBE-FIREWALL" => "drops packets to localhost that came from outside the node",
        "KUBE-PROXY-FIREWALL" => "drops traffic a loadBalancerSourceRanges firewall does not allow",
        "KUBE-PROXY-CANARY" | "KUBE-KUBELET-CANARY" => {
            "an empty canary: its disappearance tells kube-proxy the rules were flushed"
        }
        "PREROUTING" => "built-in hook: packets arriving on an interface, before routing",
        "OUTPUT" => "built-in hook: packets sent by the node itself",
        "POSTROUTING" => "built-in hook: every packet about to leave, after routing",
        "INPUT" => "built-in hook: packets addressed to the node",
        "FORWARD" => "built-in hook: packets the node routes through (pod traffic)",
        "services" => {
            "the entry point for Services: a verdict map from destination IP . protocol . port to the service chain"
        }
        "nat-prerouting" | "nat-output" => "hooks Service handling into NAT: jumps to services",
        "nat-postrouting" => "hooks masquerading in after routing",
        "masquerading" => {
            "masquerades packets marked for it (SNAT to the outgoing interface's address)"
        }
        "mark-for-masquerade" => "marks a packet for masquerading on its way out",
        "service-endpoints-check" | "nodeport-endpoints-check" => {
            "rejects or drops traffic to Services without endpoints"
        }
        "cluster-ips-check" => {
            "rejects traffic to ClusterIPs that are not a Service port, drops traffic to unallocated ClusterIPs"
        }
        "firewall-check" => "drops traffic a loadBalancerSourceRanges firewall does not allow",
        "reject-chain" => "rejects the packet (ICMP port unreachable / TCP reset)",
        "filter-prerouting"
        | "filter-input"
        | "filter-forward"
        | "filter-output"
        | "filter-output-post-dnat"
        | "filter-prerouting-pre-dnat"
        | "filter-output-pre-dnat" => "hooks kube-proxy's filtering into the kernel",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Protocol;

    fn spn(ns: &str, name: &str, port: &str) -> ServicePortName {
        ServicePortName {
            namespace: ns.into(),
            name: name.into(),
            port: port.into(),
            protocol: Protocol::Tcp,
        }
    }

    #[test]
    fn iptables_names_match_the_spec_examples() {
        assert_eq!(svc_chain(&spn("ns1", "svc1", "p80")), "KUBE-SVC-XPGD46QRK7WJZT7O");
        assert_eq!(
            sep_chain(&spn("ns1", "svc1", "p80"), "10.180.0.1:80"),
            "KUBE-SEP-SXIVWICOYRO3J4NJ"
        );
        assert_eq!(svc_chain(&spn("ns2", "svc2", "p8080")), "KUBE-SVC-2VJB64SDSIJUP5T6");
        assert_eq!(svc_chain(&spn("ns1", "svc1", "")), "KUBE-SVC-AQI2S6QIMU7PVVRP");
    }

    #[test]
    fn names_hashed_once_per_service_port_equal_the_single_names() {
        for name in [spn("ns1", "svc1", "p80"), spn("ns1", "svc1", "")] {
            let chains = ServicePortChains::new(&name);
            assert_eq!(chains.svc, svc_chain(&name));
            assert_eq!(chains.svl, svl_chain(&name));
            assert_eq!(chains.ext, ext_chain(&name));
            assert_eq!(chains.fw, fw_chain(&name));
        }
        let name = spn("ns1", "svc1", "p80");
        for (ip, port) in [("10.180.0.1", 80), ("fd00:10:180::2:1", 8080)] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(sep_chain_of(&name, ip, port), sep_chain(&name, &join_host_port(ip, port)));
        }
    }

    #[test]
    fn nftables_names_match_the_spec_examples() {
        assert_eq!(nft_service_base(&spn("ns1", "svc1", "p80")), "ULMVA6XW-ns1/svc1/tcp/p80");
        assert_eq!(
            nft_endpoint_base(&spn("ns1", "svc1", "p80"), "10.180.0.1".parse().unwrap(), 80),
            "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
        );
        assert!(
            nft_endpoint_base(&spn("ns1", "svc1", "p80"), "fd00:10:180::2:1".parse().unwrap(), 80)
                .starts_with("2CRNCTTE-")
        );
    }
}
