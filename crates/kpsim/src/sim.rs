//! The simulator: walks typed rulesets (never text) and routes, and returns a [`Trace`].
//!
//! `trace` holds the shared result types; `iptables` and `nftables` are the node-level
//! tracers of each backend's ruleset.

pub mod iptables;
pub mod nftables;
pub mod trace;

pub use trace::{
    Action, Choices, Entry, Hook, Packet, PacketProtocol, Step, Trace, TracePath, Verdict,
};
