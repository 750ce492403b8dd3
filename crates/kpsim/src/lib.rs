//! kpsim: what kube-proxy would do, computed from Kubernetes manifests.
//!
//! The crate is a pipeline of pure stages, one module each (see ARCHITECTURE.md):
//!
//! ```text
//! text ─manifest─▶ objects ─model─▶ Cluster ─endpoints─▶ slices ─proxy─▶ ProxyPlan
//!      ─backend::{iptables,nftables}─▶ typed ruleset (Display = real text) ─sim─▶ Trace
//! ```
//!
//! No stage does I/O, reads a clock or draws randomness it was not given; everything builds
//! for `wasm32-unknown-unknown`. [`analyze`] runs the first stages in one call.

pub mod backend;
pub mod diagnostic;
pub mod endpoints;
pub mod manifest;
pub mod model;
pub mod naming;
pub mod net;
pub mod proxy;
pub mod settings;
pub mod sim;

use serde::Serialize;

/// Everything the first stages make of one input text.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The objects as read, with their locations.
    pub manifests: manifest::Manifests,
    /// The cluster as the API server and its controllers would hold it.
    pub cluster: model::Cluster,
    /// Every diagnostic of every stage, unplaced ones first, then in input order.
    pub diagnostics: Vec<diagnostic::Diagnostic>,
}

impl Analysis {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        diagnostic::has_errors(&self.diagnostics)
    }
}

/// Summary counts, for callers that show a one-line status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// From text to cluster: parses every document ([`manifest::parse`]) and builds the cluster
/// ([`model::build::build`], which also runs the EndpointSlice controller), collecting every
/// diagnostic. Never panics, whatever the input.
///
/// ```
/// use kpsim::model::Admission;
///
/// let analysis = kpsim::analyze(include_str!("../tests/data/examples/kube-proxy.yaml"), Admission::Auto);
/// assert!(!analysis.has_errors());
/// assert_eq!(analysis.cluster.admission, Admission::Cluster);
///
/// // The controller's slice for `default/service`: both server pods, port 80, ready.
/// let key = kpsim::model::NamespacedName::new("default", "service");
/// let slice = analysis.cluster.slices_of(&key).next().unwrap();
/// let pods: Vec<(&str, &str)> = slice
///     .endpoints
///     .iter()
///     .map(|e| (e.target_ref.as_ref().unwrap().name.as_str(), e.node_name.as_deref().unwrap()))
///     .collect();
/// assert_eq!(pods, [("server-pod-1", "minikube-m02"), ("server-pod-2", "minikube-m03")]);
/// assert_eq!(slice.ports[0].port, Some(80));
/// assert!(slice.endpoints.iter().all(|e| e.conditions.is_ready()));
///
/// // Built-in objects exist, and every filled-in value says so.
/// let dns = analysis.cluster.service("kube-system", "kube-dns").unwrap();
/// assert_eq!(dns.cluster_ip.value.primary().unwrap().to_string(), "10.96.0.10");
/// assert!(analysis.cluster.service("default", "service").unwrap().cluster_ip.is_filled_in());
/// ```
pub fn analyze(text: &str, admission: model::Admission) -> Analysis {
    let manifests = manifest::parse(text);
    let (cluster, model_diagnostics) = model::build::build(&manifests, admission);
    let mut diagnostics = manifests.diagnostics.clone();
    diagnostics.extend(model_diagnostics);
    diagnostic::sort_by_location(&mut diagnostics);
    Analysis { manifests, cluster, diagnostics }
}

/// Counts diagnostics by severity.
pub fn count(diagnostics: &[diagnostic::Diagnostic]) -> Counts {
    let of = |s| diagnostics.iter().filter(|d| d.severity == s).count();
    Counts {
        errors: of(diagnostic::Severity::Error),
        warnings: of(diagnostic::Severity::Warning),
        infos: of(diagnostic::Severity::Info),
    }
}
