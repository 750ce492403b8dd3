//! kube-proxy's iptables mode: the typed ruleset of one node ([`Ruleset`] of [`Table`]s,
//! [`Chain`]s, [`Rule`]s with [`Match`]es and a [`Target`]), built from the proxy plan.
//!
//! Three spellings of one value: `Display` is the `iptables-restore` input kube-proxy writes
//! (canonical order, without the jump rules it inserts separately); [`Ruleset::save`] is what
//! `iptables-save` prints on the node afterwards; [`parse`] reads either back.
//!
//! This module does not walk packets through the rules: that is `sim::iptables`.

mod build;
mod chain_name;
mod jumps;
mod parse;
mod rule;
mod ruleset;
mod save;

pub use build::{
    CT_STATE_INVALID_DROPPED, LOCALHOST_NODEPORTS_ACCEPTED, apply_restore, build, probability,
};
pub use chain_name::{ChainName, MAX_CHAIN_NAME_LEN};
pub use jumps::{CommandKind, NodeCommand, localnet_rule, node_commands};
pub use parse::parse;
pub use rule::{
    AddrTypeSpec, Address, CtState, IpvsMatch, MarkOp, Match, PortRange, ProtocolName, Recent,
    RecentAction, Rule, RuleLine, RuleOrigin, SetDirection, SetMatch, Statistic, Target, Word,
    parse_mark,
};
pub use ruleset::{Chain, Policy, Ruleset, Table, TableName, canonical_chain_order};
pub use save::{Save, SaveRule, kernel_probability, save_string};
