//! The EndpointSliceMirroring controller: legacy `v1/Endpoints` converted to the slices
//! kube-proxy reads.
//!
//! Per subset and address family, one slice `<endpoints>-<5 chars>` labelled with the
//! Service name and `endpointslicemirroring-controller.k8s.io`, carrying the Endpoints'
//! own labels; `addresses` become endpoints with `ready: true`, `notReadyAddresses` with
//! `ready: false` (serving and terminating left unset, as the mirroring controller does),
//! with their `nodeName`, `hostname` and `targetRef`. At most
//! [`MAX_ENDPOINTS_PER_SUBSET`] addresses per subset are mirrored. Deciding which
//! Endpoints are mirrored at all is the model builder's job.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::model::build::fields::ObjectDiagnostics;
use crate::model::names::unique_generated_name;
use crate::model::{
    AddressType, ENDPOINTSLICE_MIRRORING_CONTROLLER, Endpoint, EndpointConditions, EndpointHints,
    EndpointPort, EndpointSlice, IpFamily, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SliceOrigin,
    TargetRef,
};

/// `--mirroring-max-endpoints-per-subset` default.
pub const MAX_ENDPOINTS_PER_SUBSET: usize = 1000;

/// The label that keeps an Endpoints object from being mirrored.
pub const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";

/// Converts one Endpoints object; slice names avoid `taken` (its namespace), which is
/// extended.
pub(crate) fn mirror(
    d: &mut ObjectDiagnostics<'_>,
    endpoints: &core::Endpoints,
    taken: &mut BTreeSet<String>,
) -> Vec<EndpointSlice> {
    let namespace = d.object.resource.namespace().to_owned();
    let name = d.object.resource.name().to_owned();
    // The Endpoints' labels, with the mirroring controller's own two replacing any given.
    let mut labels: BTreeMap<String, String> =
        endpoints.metadata.labels.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME_LABEL.to_owned(), name.clone());
    labels.insert(MANAGED_BY_LABEL.to_owned(), ENDPOINTSLICE_MIRRORING_CONTROLLER.to_owned());
    let mut out = Vec::new();
    for (s, subset) in endpoints.subsets.iter().flatten().enumerate() {
        let mut ports = Vec::new();
        for (i, p) in subset.ports.iter().flatten().enumerate() {
            let path = format!("subsets[{s}].ports[{i}]");
            let Some(port) = d.port(p.port, &format!("{path}.port")) else { continue };
            ports.push(EndpointPort {
                name: Some(p.name.clone().unwrap_or_default()),
                port: Some(port),
                protocol: d.protocol(p.protocol.as_deref(), &format!("{path}.protocol")).value,
                app_protocol: p.app_protocol.clone(),
            });
        }
        let mut by_family: BTreeMap<AddressType, Vec<Endpoint>> = BTreeMap::new();
        let mut count = 0usize;
        let lists = [
            ("addresses", true, &subset.addresses),
            ("notReadyAddresses", false, &subset.not_ready_addresses),
        ];
        for (field, ready, list) in lists {
            for (i, a) in list.iter().flatten().enumerate() {
                let Some(ip) = d.ip(&a.ip, &format!("subsets[{s}].{field}[{i}].ip")) else {
                    continue;
                };
                count += 1;
                if count > MAX_ENDPOINTS_PER_SUBSET {
                    continue;
                }
                let address_type = match IpFamily::of(ip) {
                    IpFamily::V4 => AddressType::IPv4,
                    IpFamily::V6 => AddressType::IPv6,
                };
                by_family.entry(address_type).or_default().push(Endpoint {
                    addresses: vec![ip],
                    conditions: EndpointConditions {
                        ready: Some(ready),
                        serving: None,
                        terminating: None,
                    },
                    node_name: a.node_name.clone(),
                    zone: None,
                    hints: EndpointHints::default(),
                    target_ref: a.target_ref.as_ref().map(|r| TargetRef {
                        kind: r.kind.clone().unwrap_or_default(),
                        namespace: r.namespace.clone().unwrap_or_default(),
                        name: r.name.clone().unwrap_or_default(),
                    }),
                    hostname: a.hostname.clone().filter(|h| !h.is_empty()),
                });
            }
        }
        if count > MAX_ENDPOINTS_PER_SUBSET {
            d.push(
                Diagnostic::warning(
                    DiagnosticKind::InvalidValue,
                    format!("subset {s} has {count} addresses; only the first {MAX_ENDPOINTS_PER_SUBSET} are mirrored"),
                )
                .hint("use EndpointSlices for large endpoint sets"),
                &format!("subsets[{s}]"),
            );
        }
        for (address_type, endpoints) in by_family {
            let seed = format!("{namespace}/{name}/{s}/{address_type:?}");
            out.push(EndpointSlice {
                namespace: namespace.clone(),
                name: unique_generated_name(&format!("{name}-"), &seed, taken),
                labels: labels.clone(),
                service_name: Some(name.clone()),
                address_type,
                endpoints,
                ports: ports.clone(),
                origin: SliceOrigin::FromEndpoints,
                span: d.span(),
            });
        }
    }
    out
}
