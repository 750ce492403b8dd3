//! The spellings of a trace request — sources, targets and `:PORT` — and the errors a request
//! can have. Parsing is syntax only; what a name refers to is decided against the cluster by
//! `resolve`.
//!
//! Sources: `pod/NS/NAME`, `pod/NAME`, `NS/NAME` (a pod), `node/NAME`, an IP (the pod or node
//! holding it, else a client outside the cluster), or a bare word (a pod of `default`, else the
//! only pod of that name, else a node).
//!
//! Targets: `svc/NS/NAME` (`service/…`, `svc/NAME` in `default`), `pod/NS/NAME`, `pod/NAME`,
//! `node/NAME`, an IP, `NS/NAME` (the Service of that name, else the pod), or anything else as
//! a host name resolved the way the source resolves names. Each may end in `:PORT`
//! (`[IPv6]:PORT` for an IPv6 address).

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::net::parse_ip_sloppy;

/// Where a connection starts, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// A pod (`namespace` `None`: `default`, else the only pod of that name).
    Pod {
        namespace: Option<String>,
        name: String,
    },
    Node {
        name: String,
    },
    /// The pod or node holding this address, else a client outside the cluster.
    Ip {
        ip: IpAddr,
    },
    /// A bare word: a pod of `default`, else the only pod so named, else a node.
    Name {
        name: String,
    },
}

/// Where a connection goes, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    Service {
        namespace: String,
        name: String,
    },
    Pod {
        namespace: Option<String>,
        name: String,
    },
    Node {
        name: String,
    },
    Ip {
        ip: IpAddr,
    },
    /// `NS/NAME`: the Service of that name, else the pod.
    Object {
        namespace: String,
        name: String,
    },
    /// A host name, resolved the way the source resolves names.
    Name {
        name: String,
    },
}

/// Why a request cannot be traced: the user's mistake, said so that it can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum TraceError {
    /// `--from`/`--to` text that is not a source or target.
    Syntax { what: String, text: String, expected: String },
    /// No such object; `known` lists what exists (a few names).
    NotFound { what: String, known: Vec<String> },
    /// A bare name several pods share.
    Ambiguous { name: String, candidates: Vec<String> },
    /// The object has no address to use (a pending pod, a Service without ClusterIP).
    NoAddress { what: String, why: String },
    /// TCP, UDP and SCTP need a port here.
    PortRequired { target: String },
    /// Source and target are of different IP families.
    FamilyMismatch { source: String, target: String },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Syntax { what, text, expected } => {
                write!(f, "{what} `{text}` is not {expected}")
            }
            TraceError::NotFound { what, known } if known.is_empty() => write!(f, "no {what}"),
            TraceError::NotFound { what, known } => {
                write!(f, "no {what} (there is: {})", known.join(", "))
            }
            TraceError::Ambiguous { name, candidates } => write!(
                f,
                "`{name}` names several pods ({}): write NAMESPACE/NAME",
                candidates.join(", ")
            ),
            TraceError::NoAddress { what, why } => write!(f, "{what} has no address: {why}"),
            TraceError::PortRequired { target } => write!(
                f,
                "`{target}` needs a port: write {target}:PORT (or use --proto icmp to ping)"
            ),
            TraceError::FamilyMismatch { source, target } => write!(
                f,
                "the source ({source}) and the target ({target}) are of different IP families"
            ),
        }
    }
}

impl std::error::Error for TraceError {}

fn syntax(what: &str, text: &str, expected: &str) -> TraceError {
    TraceError::Syntax {
        what: what.to_owned(),
        text: text.to_owned(),
        expected: expected.to_owned(),
    }
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
    parse_ip_sloppy(s)
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

fn pod_ref(parts: &[&str]) -> Option<(Option<String>, String)> {
    match parts {
        [name] if is_name(name) => Some((None, (*name).to_owned())),
        [ns, name] if is_name(ns) && is_name(name) => {
            Some((Some((*ns).to_owned()), (*name).to_owned()))
        }
        _ => None,
    }
}

impl Source {
    /// Parses a `--from` spelling.
    pub fn parse(s: &str) -> Result<Source, TraceError> {
        const EXPECTED: &str =
            "a source (POD, NAMESPACE/POD, pod/NAMESPACE/NAME, node/NAME or an IP)";
        let s = s.trim();
        if let Some(ip) = parse_ip(s) {
            return Ok(Source::Ip { ip });
        }
        let parts: Vec<&str> = s.split('/').collect();
        let parsed = match parts.as_slice() {
            ["pod", rest @ ..] => {
                pod_ref(rest).map(|(namespace, name)| Source::Pod { namespace, name })
            }
            ["node", name] if is_name(name) => Some(Source::Node { name: (*name).to_owned() }),
            [ns, name] if is_name(ns) && is_name(name) => {
                Some(Source::Pod { namespace: Some((*ns).to_owned()), name: (*name).to_owned() })
            }
            [name] if is_name(name) => Some(Source::Name { name: (*name).to_owned() }),
            _ => None,
        };
        parsed.ok_or_else(|| syntax("--from", s, EXPECTED))
    }
}

/// Splits `TARGET[:PORT]`: an IP alone has no port (`fd00::1`), `[fd00::1]:80` and
/// `name:80` do.
fn split_port(s: &str) -> Result<(&str, Option<u16>), TraceError> {
    if parse_ip(s).is_some() {
        return Ok((s, None));
    }
    if let Some(rest) = s.strip_prefix('[')
        && let Some((ip, port)) = rest.split_once("]:")
    {
        let port = port.parse().map_err(|_| syntax("--to", s, "[IPv6]:PORT"))?;
        return Ok((ip, Some(port)));
    }
    match s.rsplit_once(':') {
        Some((target, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            let port: u16 = port
                .parse()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| syntax("--to", s, "TARGET:PORT with a port from 1 to 65535"))?;
            Ok((target, Some(port)))
        }
        Some(_) => Err(syntax("--to", s, "TARGET or TARGET:PORT")),
        None => Ok((s, None)),
    }
}

impl Target {
    /// Parses a `--to` spelling with its optional `:PORT`.
    pub fn parse(s: &str) -> Result<(Target, Option<u16>), TraceError> {
        const EXPECTED: &str = "a target (a Service name, svc/NAMESPACE/NAME, pod/NAMESPACE/NAME, node/NAME, a DNS name or an IP)";
        let s = s.trim();
        let (target, port) = split_port(s)?;
        if let Some(ip) = parse_ip(target) {
            return Ok((Target::Ip { ip }, port));
        }
        let parts: Vec<&str> = target.split('/').collect();
        let parsed = match parts.as_slice() {
            ["svc" | "service", name] if is_name(name) => {
                Some(Target::Service { namespace: "default".to_owned(), name: (*name).to_owned() })
            }
            ["svc" | "service", ns, name] if is_name(ns) && is_name(name) => {
                Some(Target::Service { namespace: (*ns).to_owned(), name: (*name).to_owned() })
            }
            ["pod", rest @ ..] => {
                pod_ref(rest).map(|(namespace, name)| Target::Pod { namespace, name })
            }
            ["node", name] if is_name(name) => Some(Target::Node { name: (*name).to_owned() }),
            [ns, name] if is_name(ns) && is_name(name) => {
                Some(Target::Object { namespace: (*ns).to_owned(), name: (*name).to_owned() })
            }
            [name] if is_name(name) => Some(Target::Name { name: (*name).to_owned() }),
            _ => None,
        };
        parsed.map(|t| (t, port)).ok_or_else(|| syntax("--to", s, EXPECTED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_targets_parse() {
        assert_eq!(
            Source::parse("kube-system/coredns-1").unwrap(),
            Source::Pod { namespace: Some("kube-system".into()), name: "coredns-1".into() }
        );
        assert_eq!(
            Source::parse("node/minikube").unwrap(),
            Source::Node { name: "minikube".into() }
        );
        assert_eq!(
            Source::parse("203.0.113.7").unwrap(),
            Source::Ip { ip: "203.0.113.7".parse().unwrap() }
        );
        assert!(Source::parse("a/b/c/d").is_err());
        assert_eq!(
            Target::parse("svc/kube-system/kube-dns:53").unwrap(),
            (
                Target::Service { namespace: "kube-system".into(), name: "kube-dns".into() },
                Some(53)
            )
        );
        assert_eq!(
            Target::parse("service.default.svc.cluster.local:8080").unwrap(),
            (Target::Name { name: "service.default.svc.cluster.local".into() }, Some(8080))
        );
        assert_eq!(
            Target::parse("fd00::1").unwrap(),
            (Target::Ip { ip: "fd00::1".parse().unwrap() }, None)
        );
        assert_eq!(
            Target::parse("[fd00::1]:443").unwrap(),
            (Target::Ip { ip: "fd00::1".parse().unwrap() }, Some(443))
        );
        assert!(Target::parse("service:http").is_err());
        assert!(Target::parse("service:0").is_err());
    }
}
