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
//! for `wasm32-unknown-unknown`.

pub mod backend;
pub mod diagnostic;
pub mod manifest;
pub mod model;
pub mod naming;
pub mod net;
pub mod proxy;
pub mod settings;
pub mod sim;
