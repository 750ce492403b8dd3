//! nftables mode: kube-proxy's `ip kube-proxy` / `ip6 kube-proxy` table as a typed
//! [`Ruleset`], built from the [`ProxyPlan`](crate::proxy::ProxyPlan), rendered two ways, and
//! read back from `nft list` text.
//!
//! * [`build`] — the table kube-proxy programs on one node (spec `nftables.md` §4–§6).
//! * [`Ruleset::transaction`] — the `add table|set|map|chain|rule|element …` lines kube-proxy
//!   sends to `nft -f` (the reference tests' `expected.nft`).
//! * [`Ruleset::list_view`] — what `nft list table` prints once that is loaded (nft 1.0.6);
//!   [`Ruleset::as_loaded`] is the same ruleset as a value.
//! * [`parse_list`] — `nft list ruleset` text pasted from a node, back into a [`Ruleset`].
//!
//! ```
//! let text = include_str!("../../tests/data/oracle/nftables/overall-nftables-rules/input.yaml");
//! let settings_text = include_str!("../../tests/data/oracle/nftables/overall-nftables-rules/settings.yaml");
//! let m = kpsim::manifest::parse(text);
//! let (cluster, _) = kpsim::model::build::build(&m, kpsim::model::Admission::AsGiven);
//! let (file, _) = kpsim::settings::parse_settings_file(settings_text);
//! let settings = file.resolve(&cluster, &mut Vec::new());
//! let ruleset = kpsim::backend::nftables::build(&kpsim::proxy::plan(&cluster, &settings));
//! let tx = ruleset.transaction().to_string();
//! assert!(tx.starts_with("add table ip kube-proxy { comment \"rules for kube-proxy\" ; }\n"));
//! assert!(tx.contains("add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000\n"));
//! assert!(tx.contains("add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }\n"));
//!
//! // What `nft list table ip kube-proxy` shows once that is loaded, and reading it back.
//! let list = ruleset.list_view().to_string();
//! assert!(list.contains("\t\tmeta mark set meta mark | 0x00004000\n"));
//! assert!(list.contains("\t\ttype filter hook prerouting priority dstnat - 10; policy accept;\n"));
//! let parsed = kpsim::backend::nftables::parse_list(&list).unwrap();
//! assert_eq!(parsed, ruleset.as_loaded());
//! ```
//!
//! Not here: tracing packets through a ruleset (`sim::nftables`).

mod build;
mod list;
mod loaded;
mod parse;
mod ruleset;
mod syntax;
mod transaction;

pub use build::{NodePortAddresses, build, node_port_addresses};
pub use list::ListView;
pub use parse::{ParseError, parse_list};
pub use ruleset::{
    AddrField, AddrType, AnonSet, BaseChain, Chain, ChainType, CtState, DataType, Element,
    ElementData, Family, Hook, Integer, L4Proto, Map, MarkUpdate, Match, Op, Operand, Policy, Rule,
    Ruleset, Selector, Separator, Set, SetFlag, Statement, Table, Value, Verdict, VmapSource,
};
pub use transaction::Transaction;

/// The names of kube-proxy's table and of its fixed chains, sets and maps.
pub mod names {
    pub const TABLE: &str = "kube-proxy";
    pub const CLUSTER_IPS: &str = "cluster-ips";
    pub const NODEPORT_IPS: &str = "nodeport-ips";
    pub const SERVICE_IPS: &str = "service-ips";
    pub const SERVICE_NODEPORTS: &str = "service-nodeports";
    pub const FIREWALL_IPS: &str = "firewall-ips";
    pub const NO_ENDPOINT_SERVICES: &str = "no-endpoint-services";
    pub const NO_ENDPOINT_NODEPORTS: &str = "no-endpoint-nodeports";
    pub const FILTER_PREROUTING_PRE_DNAT: &str = "filter-prerouting-pre-dnat";
    pub const FILTER_OUTPUT_PRE_DNAT: &str = "filter-output-pre-dnat";
    pub const FILTER_FORWARD: &str = "filter-forward";
    pub const FILTER_INPUT: &str = "filter-input";
    pub const FILTER_OUTPUT: &str = "filter-output";
    pub const NAT_PREROUTING: &str = "nat-prerouting";
    pub const NAT_OUTPUT: &str = "nat-output";
    pub const NAT_POSTROUTING: &str = "nat-postrouting";
    pub const CLUSTER_IPS_CHECK: &str = "cluster-ips-check";
    pub const FIREWALL_CHECK: &str = "firewall-check";
    pub const MARK_FOR_MASQUERADE: &str = "mark-for-masquerade";
    pub const MASQUERADING: &str = "masquerading";
    pub const NODEPORT_ENDPOINTS_CHECK: &str = "nodeport-endpoints-check";
    pub const REJECT_CHAIN: &str = "reject-chain";
    pub const SERVICES: &str = "services";
    pub const SERVICE_ENDPOINTS_CHECK: &str = "service-endpoints-check";
}
