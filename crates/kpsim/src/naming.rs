//! kube-proxy's chain and set names, in one place: the hashes people grep their nodes for.
//!
//! iptables: `KUBE-SVC-` + the first 16 characters of base32(sha256(port name + protocol)).
//! nftables: `<8-char hash>-<ns>/<svc>/<proto>/<port>` bases, prefixed per chain kind.

use std::fmt::Write as _;
use std::net::IpAddr;

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

use crate::net::join_host_port;
use crate::proxy::{ServicePortName, ServicePortPlan};

/// First `n` characters of the padded upper-case base32 encoding of SHA-256(`s`).
fn hash_prefix(s: &str, n: usize) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut encoded = BASE32.encode(&digest);
    encoded.truncate(n);
    encoded
}

/// The string kube-proxy hashes for service-port chains: `ns/name:port` + `tcp`.
fn iptables_port_key(name: &ServicePortName) -> String {
    format!("{}{}", name, name.protocol.as_lower())
}

/// `KUBE-SVC-…`: the Cluster-policy endpoint dispatch chain.
pub fn svc_chain(name: &ServicePortName) -> String {
    format!("KUBE-SVC-{}", hash_prefix(&iptables_port_key(name), 16))
}

/// `KUBE-SVL-…`: the Local-policy endpoint dispatch chain.
pub fn svl_chain(name: &ServicePortName) -> String {
    format!("KUBE-SVL-{}", hash_prefix(&iptables_port_key(name), 16))
}

/// `KUBE-EXT-…`: the external-traffic entry chain.
pub fn ext_chain(name: &ServicePortName) -> String {
    format!("KUBE-EXT-{}", hash_prefix(&iptables_port_key(name), 16))
}

/// `KUBE-FW-…`: the loadBalancerSourceRanges firewall chain.
pub fn fw_chain(name: &ServicePortName) -> String {
    format!("KUBE-FW-{}", hash_prefix(&iptables_port_key(name), 16))
}

/// `KUBE-SEP-…`: the chain of one endpoint (`ip:port`) of a service port.
pub fn sep_chain(name: &ServicePortName, endpoint: &str) -> String {
    format!("KUBE-SEP-{}", hash_prefix(&format!("{}{}", iptables_port_key(name), endpoint), 16))
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
