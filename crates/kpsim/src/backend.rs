//! Backends: one typed ruleset per proxy mode, built from the [`ProxyPlan`](crate::proxy::ProxyPlan),
//! each rendered to the exact text kube-proxy writes through `Display`.

pub mod iptables;
pub mod nftables;
