//! How manifests become cluster state: through a simulated API server, or exactly as given,
//! and how [`Admission::Auto`] picks between the two.

use serde::Serialize;

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::manifest::{Manifests, Resource};

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
    /// Decide from the input: [`Admission::AsGiven`] when it holds nothing but Services,
    /// EndpointSlices/Endpoints and Namespaces (what kube-proxy itself receives; the
    /// reference cases are of this kind, and some hold no object at all, so an empty input is
    /// as-given too), otherwise [`Admission::Cluster`]. An info diagnostic says which was
    /// chosen.
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
    /// The admission actually used for `manifests` (never `Auto`), with an explanation when
    /// it was chosen automatically.
    pub fn resolve(self, manifests: &Manifests) -> (Admission, Option<Diagnostic>) {
        if self != Admission::Auto {
            return (self, None);
        }
        let proxy_input = manifests.objects.iter().all(|o| {
            matches!(
                o.resource,
                Resource::Service(_)
                    | Resource::EndpointSlice(_)
                    | Resource::Endpoints(_)
                    | Resource::Namespace(_)
            )
        });
        if proxy_input {
            let note = Diagnostic::info(
                DiagnosticKind::Explanation,
                "admission as-given: the input holds only Services and EndpointSlices/Endpoints, as kube-proxy receives them; nothing is allocated or added",
            )
            .hint("choose admission `cluster` (--admission cluster) to simulate the API server: ClusterIPs, NodePorts, built-in Services");
            (Admission::AsGiven, Some(note))
        } else {
            let note = Diagnostic::info(
                DiagnosticKind::Explanation,
                "admission cluster: the API server and controllers are simulated (defaults, ClusterIPs, NodePorts, scheduling, pod IPs, EndpointSlices, built-in kubernetes and kube-dns)",
            )
            .hint("choose admission `as-given` (--admission as-given) to take the objects exactly as written");
            (Admission::Cluster, Some(note))
        }
    }

    /// `auto`, `cluster`, `as-given`.
    pub fn as_str(self) -> &'static str {
        match self {
            Admission::Auto => "auto",
            Admission::Cluster => "cluster",
            Admission::AsGiven => "as-given",
        }
    }

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
