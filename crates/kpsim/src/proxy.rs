//! The backend-neutral proxy plan: kube-proxy's view of Services and endpoints on one node.
//!
//! `plan()` does what kube-proxy's change trackers and `CategorizeEndpoints` do before any
//! rule is written: one [`ServicePortPlan`] per Service port of the proxier's family, its
//! endpoints merged from every slice and sorted as kube-proxy sorts them, and the decision
//! which endpoints serve cluster-wide and which serve node-local traffic. Every backend
//! (`backend::iptables`, `backend::nftables`) reads only this plan and the settings in it.

mod categorize;
mod service_port;

use serde::Serialize;

use crate::model::Cluster;
use crate::settings::ProxySettings;

pub use categorize::{Categorized, EndpointUse, TopologyMode, categorize};
pub use service_port::{ProxyEndpoint, ServicePortName, ServicePortPlan, service_ports};

/// More endpoints than this switch kube-proxy's iptables mode to large-cluster mode
/// (no per-endpoint comments).
pub const LARGE_CLUSTER_ENDPOINTS_THRESHOLD: usize = 1000;

/// What kube-proxy knows and has decided on one node, before writing any rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyPlan {
    pub settings: ProxySettings,
    /// Service ports sorted by `namespace/name` string, ports in spec order (the order the
    /// reference tests canonicalise rules to).
    pub service_ports: Vec<ServicePortPlan>,
    /// All endpoints of all service ports (ready or not): decides large-cluster mode.
    pub total_endpoints: usize,
}

impl ProxyPlan {
    /// iptables large-cluster mode: more than 1000 endpoints in total.
    pub fn large_cluster_mode(&self) -> bool {
        self.total_endpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD
    }
}

/// Builds the plan for the node and family named by `settings`.
///
/// ```
/// let text = include_str!("../tests/data/oracle/iptables/TestOverallIPTablesRules/input.yaml");
/// let m = kpsim::manifest::parse(text);
/// let (cluster, _) = kpsim::model::build::build(&m, kpsim::model::Admission::AsGiven);
/// let settings = kpsim::settings::ProxySettings::for_node(&cluster, "test-node", kpsim::settings::Mode::Iptables, kpsim::net::IpFamily::V4);
/// let plan = kpsim::proxy::plan(&cluster, &settings);
/// let names: Vec<String> = plan.service_ports.iter().map(|p| p.name.to_string()).collect();
/// assert_eq!(names, ["ns1/svc1:p80", "ns2/svc2:p80", "ns3/svc3:p80", "ns4/svc4:p80", "ns5/svc5:p80", "ns6/svc6:p80"]);
/// ```
pub fn plan(cluster: &Cluster, settings: &ProxySettings) -> ProxyPlan {
    let mut service_ports = service_ports(cluster, settings);
    let mut total_endpoints = 0;
    for sp in &mut service_ports {
        total_endpoints += sp.endpoints.len();
        sp.categorized =
            categorize(sp, &settings.node_name, &settings.node_labels, &settings.feature_gates);
    }
    ProxyPlan { settings: settings.clone(), service_ports, total_endpoints }
}
