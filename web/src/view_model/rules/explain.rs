//! What a chain name stands for: kube-proxy's fixed chains (their meanings are the core's,
//! `naming::fixed_chain_meaning`), the hashed iptables names of a plan's service ports and
//! endpoints, and nftables' readable names; and a rule line cut into
//! pieces so the chain names in it can carry their explanation.
//!
//! Not responsible for the jump graph ([`super::rules_view`]).

use std::collections::{BTreeMap, HashMap};

use kpsim::naming;
use kpsim::net::join_host_port;
use kpsim::proxy::ServicePortPlan;
use kpsim::settings::Mode;

/// What a chain name stands for; `meanings` are the hashed iptables names of the plan
/// ([`iptables_meanings`]).
pub fn explain(name: &str, mode: Mode, meanings: &HashMap<String, String>) -> Option<String> {
    if let Some(fixed) = naming::fixed_chain_meaning(name, mode) {
        return Some(fixed.to_owned());
    }
    match mode {
        Mode::Nftables => explain_nft(name),
        _ => meanings.get(name).cloned(),
    }
}

/// Every hashed iptables chain name the plan's service ports can have, with its meaning (as
/// `naming::explain_chain` words it). Hashing each name once keeps a 1,000-Service ruleset
/// fast, where asking `explain_chain` per chain would hash every port again.
pub fn iptables_meanings(ports: &[ServicePortPlan]) -> HashMap<String, String> {
    let mut meanings = HashMap::new();
    for sp in ports {
        let service_port = sp.name.to_string();
        let chains = [
            (naming::svc_chain(&sp.name), "Cluster-policy endpoint dispatch"),
            (naming::svl_chain(&sp.name), "Local-policy endpoint dispatch"),
            (naming::ext_chain(&sp.name), "external traffic entry"),
            (naming::fw_chain(&sp.name), "load-balancer source-range firewall"),
        ];
        for (chain, kind) in chains {
            meanings.entry(chain).or_insert_with(|| {
                naming::ChainMeaning::ServicePort { kind, service_port: service_port.clone() }
                    .to_string()
            });
        }
        for ep in &sp.endpoints {
            let endpoint = join_host_port(ep.ip, ep.port);
            meanings.entry(naming::sep_chain(&sp.name, &endpoint)).or_insert_with(|| {
                naming::ChainMeaning::Endpoint { service_port: service_port.clone(), endpoint }
                    .to_string()
            });
        }
    }
    meanings
}

/// nftables chain names carry their meaning: `service-HASH-ns/name/proto/port`,
/// `endpoint-HASH-ns/name/proto/port__ip/port`.
fn explain_nft(name: &str) -> Option<String> {
    let (kind, rest) = name.split_once('-')?;
    let (_hash, base) = rest.split_once('-')?;
    let port_name = |s: &str| -> Option<String> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [ns, svc, proto, port] => Some(if port.is_empty() {
                format!("{ns}/{svc} ({proto})")
            } else {
                format!("{ns}/{svc}:{port} ({proto})")
            }),
            _ => None,
        }
    };
    match kind {
        "service" => Some(format!("Cluster-policy endpoint dispatch of {}", port_name(base)?)),
        "local" => Some(format!("Local-policy endpoint dispatch of {}", port_name(base)?)),
        "external" => Some(format!("external traffic entry of {}", port_name(base)?)),
        "firewall" => Some(format!("load-balancer source-range firewall of {}", port_name(base)?)),
        "endpoint" => {
            let (port, endpoint) = base.split_once("__")?;
            let (ip, ep_port) = endpoint.rsplit_once('/')?;
            let ip = if ip.contains('.') && ip.matches('.').count() > 3 {
                // IPv6 with `:` written as `.`.
                format!("[{}]", ip.replace('.', ":"))
            } else {
                ip.to_owned()
            };
            Some(format!("endpoint {ip}:{ep_port} of {}", port_name(port)?))
        }
        _ => None,
    }
}

/// A piece of a text line: plain, or a chain name with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<'a> {
    pub text: &'a str,
    pub explanation: Option<&'a str>,
}

/// Splits a line so that every chain name in it can carry its explanation on hover.
pub fn pieces<'a>(line: &'a str, explanations: &'a BTreeMap<String, String>) -> Vec<Piece<'a>> {
    let mut out = Vec::new();
    let mut plain_from = 0;
    let mut i = 0;
    let bytes = line.as_bytes();
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let word = line[start..i].trim_end_matches([',', ';', '}', '{']);
        let word = word.strip_prefix(':').unwrap_or(word);
        let offset = line[start..i].find(word).map_or(start, |o| start + o);
        if let Some(e) = explanations.get(word) {
            if offset > plain_from {
                out.push(Piece { text: &line[plain_from..offset], explanation: None });
            }
            out.push(Piece { text: &line[offset..offset + word.len()], explanation: Some(e) });
            plain_from = offset + word.len();
        }
    }
    if plain_from < line.len() || out.is_empty() {
        out.push(Piece { text: &line[plain_from..], explanation: None });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_in_text_carry_their_explanation() {
        let mut e = BTreeMap::new();
        e.insert("KUBE-SVC-ABC".to_owned(), "dispatch".to_owned());
        let p = pieces("-A KUBE-SERVICES -j KUBE-SVC-ABC", &e);
        assert_eq!(
            p,
            [
                Piece { text: "-A KUBE-SERVICES -j ", explanation: None },
                Piece { text: "KUBE-SVC-ABC", explanation: Some("dispatch") }
            ]
        );
        let p = pieces(":KUBE-SVC-ABC - [0:0]", &e);
        assert_eq!(p[1], Piece { text: "KUBE-SVC-ABC", explanation: Some("dispatch") });
        assert_eq!(p.iter().map(|p| p.text).collect::<String>(), ":KUBE-SVC-ABC - [0:0]");
        assert_eq!(pieces("", &e), [Piece { text: "", explanation: None }]);
    }

    #[test]
    fn nft_endpoint_names_with_ipv6_are_explained() {
        assert_eq!(
            explain_nft("endpoint-2CRNCTTE-ns1/svc1/tcp/p80__fd00.10.180..2.1/80").as_deref(),
            Some("endpoint [fd00:10:180::2:1]:80 of ns1/svc1:p80 (tcp)")
        );
        assert_eq!(explain_nft("nonsense"), None);
    }
}
