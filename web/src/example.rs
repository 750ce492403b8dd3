//! The walkthrough example the page opens with, compiled into the app (never fetched).
//!
//! Not responsible for parsing it: that is the core's job, as for anything the user types.

/// A client pod, two server pods and a ClusterIP Service in front of them.
pub const WALKTHROUGH: &str =
    include_str!("../../crates/kpsim/tests/data/examples/kube-proxy.yaml");
