//! Reading a `discovery.k8s.io/v1` EndpointSlice exactly as given: kube-proxy tolerates
//! values an API server rejects (leading-zero IPs, NodePort-like ports), and so does this.

use std::net::IpAddr;

use k8s_openapi::api::discovery::v1 as discovery;

use super::fields::ObjectDiagnostics;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::model::{
    AddressType, Endpoint, EndpointConditions, EndpointHints, EndpointPort, EndpointSlice,
    SERVICE_NAME_LABEL, SliceOrigin, TargetRef,
};
use crate::net::IpFamily;

/// Reads an EndpointSlice exactly as given: kube-proxy tolerates values an API server
/// rejects, and so does this.
pub(crate) fn read_endpoint_slice(
    d: &mut ObjectDiagnostics<'_>,
    slice: &discovery::EndpointSlice,
) -> EndpointSlice {
    let meta = &slice.metadata;
    let address_type = match slice.address_type.as_str() {
        "IPv4" => AddressType::IPv4,
        "IPv6" => AddressType::IPv6,
        "FQDN" => AddressType::FQDN,
        other => {
            d.push(
                Diagnostic::error(
                    DiagnosticKind::InvalidValue,
                    format!("addressType `{other}` is not IPv4, IPv6 or FQDN; kube-proxy ignores the slice"),
                )
                .hint("write IPv4 or IPv6"),
                "addressType",
            );
            AddressType::FQDN
        }
    };
    let labels = meta.labels.clone().unwrap_or_default();
    let service_name = labels.get(SERVICE_NAME_LABEL).cloned();
    if service_name.is_none() {
        d.push(
            Diagnostic::warning(
                DiagnosticKind::MissingField,
                format!("no `{SERVICE_NAME_LABEL}` label: kube-proxy cannot tell which Service this slice belongs to"),
            )
            .hint(format!("add the label `{SERVICE_NAME_LABEL}: <service name>`")),
            "metadata.labels",
        );
    }
    let mut endpoints = Vec::new();
    for (i, ep) in slice.endpoints.iter().flatten().enumerate() {
        let path = format!("endpoints[{i}]");
        let mut addresses = Vec::new();
        for (j, a) in ep.addresses.iter().enumerate() {
            if address_type == AddressType::FQDN {
                continue;
            }
            let field = format!("{path}.addresses[{j}]");
            if let Some(ip) = d.ip(a, &field) {
                if let Some(declared) = address_type.family()
                    && IpFamily::of(ip) != declared
                {
                    d.push(wrong_family(ip, j == 0), &field);
                }
                addresses.push(ip);
            }
        }
        let conditions = ep
            .conditions
            .as_ref()
            .map(|c| EndpointConditions {
                ready: c.ready,
                serving: c.serving,
                terminating: c.terminating,
            })
            .unwrap_or_default();
        let hints = ep
            .hints
            .as_ref()
            .map(|h| EndpointHints {
                for_zones: h.for_zones.as_ref().map(|z| z.iter().map(|z| z.name.clone()).collect()),
                for_nodes: h.for_nodes.as_ref().map(|n| n.iter().map(|n| n.name.clone()).collect()),
            })
            .unwrap_or_default();
        let target_ref = ep.target_ref.as_ref().map(|r| TargetRef {
            kind: r.kind.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            name: r.name.clone().unwrap_or_default(),
        });
        endpoints.push(Endpoint {
            addresses,
            conditions,
            node_name: ep.node_name.clone(),
            zone: ep.zone.clone(),
            hints,
            target_ref,
            hostname: ep.hostname.clone(),
        });
    }
    let mut ports = Vec::new();
    for (i, p) in slice.ports.iter().flatten().enumerate() {
        let path = format!("ports[{i}]");
        let port = match p.port {
            None | Some(0) => None,
            Some(n) => d.port(n, &format!("{path}.port")),
        };
        let protocol = d.protocol(p.protocol.as_deref(), &format!("{path}.protocol")).value;
        ports.push(EndpointPort {
            name: p.name.clone(),
            port,
            protocol,
            app_protocol: p.app_protocol.clone(),
        });
    }
    EndpointSlice {
        namespace: d.object.resource.namespace().to_owned(),
        name: meta.name.clone().unwrap_or_default(),
        labels,
        service_name,
        address_type,
        endpoints,
        ports,
        origin: SliceOrigin::Given,
        span: d.span(),
    }
}

/// An address of the other family than the slice's `addressType`. An API server rejects it;
/// kube-proxy takes an endpoint's family from its first address, so the proxier of the slice's
/// family skips that endpoint and the other family's proxier never reads the slice.
fn wrong_family(ip: IpAddr, first: bool) -> Diagnostic {
    let (found, declared) = match IpFamily::of(ip) {
        IpFamily::V4 => ("IPv4", "IPv6"),
        IpFamily::V6 => ("IPv6", "IPv4"),
    };
    let effect = if first {
        "kube-proxy uses this endpoint in neither family"
    } else {
        "kube-proxy reads only an endpoint's first address, so this one is unused anyway"
    };
    Diagnostic::warning(
        DiagnosticKind::InvalidAddress,
        format!("{ip} is an {found} address in an `addressType: {declared}` slice: {effect}"),
    )
    .hint(format!("put {found} addresses in a separate slice with `addressType: {found}`"))
}
