//! EndpointSlices as a table, one row per endpoint, in the spirit of
//! `kubectl get endpointslices -o wide`: the rows (for any renderer) and their plain-text
//! rendering (for the CLI and tests).
//!
//! Conditions print as `true`/`false`; an unset condition prints as kube-proxy reads it, in
//! parentheses (`(true)` for `ready`/`serving`, `(false)` for `terminating`). A slice without
//! endpoints prints one row with endpoint `<none>`; a slice without ports shows `<unset>`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{AddressType, Cluster, EndpointSlice, SliceOrigin};

/// One endpoint of one slice (or an empty slice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointRow {
    pub namespace: String,
    /// The `kubernetes.io/service-name` label (`<none>` when absent).
    pub service: String,
    pub slice: String,
    pub address_type: AddressType,
    /// `name:port/PROTOCOL,…` (`port/PROTOCOL` for unnamed ports), `<unset>` when empty.
    pub ports: String,
    /// The endpoint's addresses (`<none>` for a slice without endpoints).
    pub endpoint: String,
    pub ready: String,
    pub serving: String,
    pub terminating: String,
    pub node: String,
    /// `pod/name` for endpoints with a pod `targetRef`.
    pub target: String,
    pub origin: SliceOrigin,
}

fn condition(value: Option<bool>, read_as: bool) -> String {
    match value {
        Some(v) => v.to_string(),
        None => format!("({read_as})"),
    }
}

fn ports(slice: &EndpointSlice) -> String {
    if slice.ports.is_empty() {
        return "<unset>".to_owned();
    }
    slice
        .ports
        .iter()
        .map(|p| {
            let number = p.port.map_or("<unset>".to_owned(), |n| n.to_string());
            match p.name.as_deref() {
                Some(n) if !n.is_empty() => format!("{n}:{number}/{}", p.protocol),
                _ => format!("{number}/{}", p.protocol),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The rows of every slice of the cluster, sorted by namespace, Service and slice name.
pub fn rows(cluster: &Cluster) -> Vec<EndpointRow> {
    let mut slices: Vec<&EndpointSlice> = cluster.endpoint_slices.values().collect();
    slices.sort_by(|a, b| {
        (&a.namespace, &a.service_name, &a.name).cmp(&(&b.namespace, &b.service_name, &b.name))
    });
    let mut out = Vec::new();
    for slice in slices {
        let base = EndpointRow {
            namespace: slice.namespace.clone(),
            service: slice.service_name.clone().unwrap_or_else(|| "<none>".to_owned()),
            slice: slice.name.clone(),
            address_type: slice.address_type,
            ports: ports(slice),
            endpoint: "<none>".to_owned(),
            ready: "-".to_owned(),
            serving: "-".to_owned(),
            terminating: "-".to_owned(),
            node: "-".to_owned(),
            target: "-".to_owned(),
            origin: slice.origin,
        };
        if slice.endpoints.is_empty() {
            out.push(base);
            continue;
        }
        for e in &slice.endpoints {
            let addresses: Vec<String> = e.addresses.iter().map(ToString::to_string).collect();
            out.push(EndpointRow {
                endpoint: if addresses.is_empty() {
                    "<none>".to_owned()
                } else {
                    addresses.join(",")
                },
                ready: condition(e.conditions.ready, true),
                serving: condition(e.conditions.serving, true),
                terminating: condition(e.conditions.terminating, false),
                node: e.node_name.clone().unwrap_or_else(|| "-".to_owned()),
                target: e
                    .target_ref
                    .as_ref()
                    .map(|t| format!("{}/{}", t.kind.to_lowercase(), t.name))
                    .unwrap_or_else(|| "-".to_owned()),
                ..base.clone()
            });
        }
    }
    out
}

/// The rows as an aligned text table with a header, like kubectl prints.
///
/// ```
/// let analysis = kpsim::analyze(
///     include_str!("../../tests/data/examples/kube-proxy.yaml"),
///     kpsim::model::Admission::Auto,
/// );
/// let table = kpsim::endpoints::table::render(&kpsim::endpoints::table::rows(&analysis.cluster));
/// assert!(table.starts_with("NAMESPACE "));
/// assert!(table.lines().any(|l| l.contains("server-pod-1") && l.contains("http:80/TCP")));
/// ```
pub fn render(rows: &[EndpointRow]) -> String {
    let header = [
        "NAMESPACE",
        "SERVICE",
        "ENDPOINTSLICE",
        "ADDRESSTYPE",
        "PORTS",
        "ENDPOINT",
        "READY",
        "SERVING",
        "TERMINATING",
        "NODE",
        "TARGET",
    ];
    let cells: Vec<[String; 11]> = rows
        .iter()
        .map(|r| {
            [
                r.namespace.clone(),
                r.service.clone(),
                r.slice.clone(),
                format!("{:?}", r.address_type),
                r.ports.clone(),
                r.endpoint.clone(),
                r.ready.clone(),
                r.serving.clone(),
                r.terminating.clone(),
                r.node.clone(),
                r.target.clone(),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |values: Vec<&str>| {
        let mut text = String::new();
        for (i, v) in values.iter().enumerate() {
            if i + 1 == values.len() {
                text.push_str(v);
            } else {
                let _ = write!(text, "{v:<width$}   ", width = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
    out
}
