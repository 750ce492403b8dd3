//! How manifests become cluster state: through a simulated API server, or exactly as given.

use serde::Serialize;

/// How the input is admitted into the cluster model.
///
/// kube-proxy's own unit tests (and the reference cases in `shared/oracle`) feed Services and
/// EndpointSlices straight into the proxier, with values no API server would produce
/// (`type: NodePort` without a `nodePort`, NodePort 3001, leading-zero IPs). A person pasting
/// hand-written manifests expects the API server's defaults and allocations instead. Both are
/// legitimate inputs, so the choice is explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Admission {
    /// Decide from the input: [`Admission::AsGiven`] when it holds only Services and
    /// EndpointSlices/Endpoints (what kube-proxy itself receives), otherwise
    /// [`Admission::Cluster`].
    #[default]
    Auto,
    /// Simulate the API server and controllers: defaults, ClusterIP/NodePort allocation,
    /// scheduling, pod IPs, generated EndpointSlices, built-in `kubernetes` and `kube-dns`.
    Cluster,
    /// Take objects as kube-proxy would receive them: only kube-proxy's own reading of absent
    /// fields, no allocation, no built-in objects. Selector Services without slices still get
    /// slices from the EndpointSlice controller when pods are given.
    AsGiven,
}

impl Admission {
    /// Parses `auto`, `cluster`, `as-given`.
    pub fn parse(s: &str) -> Option<Admission> {
        match s {
            "auto" => Some(Admission::Auto),
            "cluster" => Some(Admission::Cluster),
            "as-given" => Some(Admission::AsGiven),
            _ => None,
        }
    }
}
