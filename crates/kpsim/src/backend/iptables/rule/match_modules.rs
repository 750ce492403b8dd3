//! The options of the match modules kube-proxy writes in every mode: `-m conntrack
//! --ctstate`, `-m addrtype`, `-m recent` (session affinity) and `-m statistic` (random load
//! balancing), as typed values. Their restore spelling is written with the rest of a rule in
//! [`super`]; the IPVS-only modules are in [`super::ipvs_modules`].

use std::sync::Arc;

use serde::Serialize;

/// A conntrack state (`--ctstate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum CtState {
    Invalid,
    New,
    Related,
    Established,
    Untracked,
    Snat,
    Dnat,
}

impl CtState {
    pub fn parse(s: &str) -> Option<CtState> {
        Some(match s {
            "INVALID" => CtState::Invalid,
            "NEW" => CtState::New,
            "RELATED" => CtState::Related,
            "ESTABLISHED" => CtState::Established,
            "UNTRACKED" => CtState::Untracked,
            "SNAT" => CtState::Snat,
            "DNAT" => CtState::Dnat,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CtState::Invalid => "INVALID",
            CtState::New => "NEW",
            CtState::Related => "RELATED",
            CtState::Established => "ESTABLISHED",
            CtState::Untracked => "UNTRACKED",
            CtState::Snat => "SNAT",
            CtState::Dnat => "DNAT",
        }
    }
}

/// One `--src-type`/`--dst-type` of `-m addrtype`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AddrTypeSpec {
    pub negated: bool,
    /// `LOCAL`, `UNICAST`, … as written (upper case).
    pub types: Vec<String>,
}

/// What `-m recent` does with its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RecentAction {
    Set,
    Rcheck,
    Update,
    Remove,
}

impl RecentAction {
    pub fn option(self) -> &'static str {
        match self {
            RecentAction::Set => "--set",
            RecentAction::Rcheck => "--rcheck",
            RecentAction::Update => "--update",
            RecentAction::Remove => "--remove",
        }
    }
}

/// `-m recent` (session affinity).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Recent {
    pub name: Option<String>,
    pub action: RecentAction,
    /// `!` before the action.
    pub negated: bool,
    pub seconds: Option<u32>,
    pub hitcount: Option<u32>,
    pub rttl: bool,
    pub reap: bool,
    pub mask: Option<String>,
    /// `Some(true)` for `--rsource`, `Some(false)` for `--rdest`, `None` when not written.
    pub rsource: Option<bool>,
}

impl Recent {
    /// `-m recent --<action> [--name NAME]` with no other option written.
    pub fn new(name: Option<String>, action: RecentAction) -> Recent {
        Recent {
            name,
            action,
            negated: false,
            seconds: None,
            hitcount: None,
            rttl: false,
            reap: false,
            mask: None,
            rsource: None,
        }
    }
}

/// `-m statistic`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Statistic {
    /// `--mode random --probability P`, the probability as written (shared: kube-proxy
    /// writes the same few values in every service chain).
    Random { negated: bool, probability: Arc<str> },
    /// `--mode nth --every N [--packet P]`.
    Nth { negated: bool, every: u32, packet: u32 },
}

impl Statistic {
    /// The chance that a new packet matches.
    pub fn chance(&self) -> f64 {
        match self {
            Statistic::Random { negated, probability } => {
                let p = probability.parse::<f64>().unwrap_or(0.0).clamp(0.0, 1.0);
                if *negated { 1.0 - p } else { p }
            }
            Statistic::Nth { negated, every, .. } => {
                let p = if *every == 0 { 1.0 } else { 1.0 / f64::from(*every) };
                if *negated { 1.0 - p } else { p }
            }
        }
    }
}
