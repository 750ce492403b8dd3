//! The nftables tracer: one packet through a typed nftables [`Ruleset`] the way netfilter
//! walks it — base chains by hook and priority, a routing decision on the destination after
//! DNAT, conntrack keeping NAT for a locally generated packet delivered locally — and the
//! result as the shared [`Trace`].
//!
//! * [`Entry::Arriving`]: prerouting (`filter-prerouting-pre-dnat` at -110, `nat-prerouting`
//!   at -100), then input (destination local) or forward + postrouting.
//! * [`Entry::Local`]: output (`filter-output-pre-dnat`, `nat-output`, `filter-output`),
//!   postrouting, and input when the destination is local (prerouting is not consulted
//!   again: the connection's NAT is already decided).
//!
//! Every traced packet is the first of a new connection (`ct state new`). `fib … type local`
//! is true for the node's addresses (every `nodeInterfaces` address, and loopback).
//! Session-affinity sets are empty unless the ruleset (parsed from a live node) holds
//! elements. Random `numgen` choices follow [`Choices`]: every branch, or one drawn from the
//! seed with [`SeededRng::below`](crate::sim::trace::SeededRng::below).
//!
//! ```
//! use kpsim::sim::{Choices, Entry, Packet, PacketProtocol};
//! let dir = "../../tests/data/oracle/nftables/cluster-ip-general";
//! let input = include_str!("../../tests/data/oracle/nftables/cluster-ip-general/input.yaml");
//! let settings = include_str!("../../tests/data/oracle/nftables/cluster-ip-general/settings.yaml");
//! # let _ = dir;
//! let (cluster, _) = kpsim::model::build::build(&kpsim::manifest::parse(input), kpsim::model::Admission::AsGiven);
//! let settings = kpsim::settings::parse_settings_file(settings).0.resolve(&cluster, &mut Vec::new());
//! let ruleset = kpsim::backend::nftables::build(&kpsim::proxy::plan(&cluster, &settings));
//!
//! let curl = Packet::new("10.180.0.2".parse().unwrap(), "172.30.0.42".parse().unwrap(), PacketProtocol::Tcp, Some(80));
//! let trace = kpsim::sim::nftables::trace(&ruleset, &settings, curl, Entry::Arriving, Choices::AllBranches);
//! assert_eq!(trace.flow_output(), "10.180.0.1:80, 10.180.2.1:80");
//! assert!(!trace.masquerade());
//!
//! // Ping a ClusterIP: rejected at once by `cluster-ips-check` (iptables mode lets it time out).
//! let ping = Packet::new("10.180.0.2".parse().unwrap(), "172.30.0.42".parse().unwrap(), PacketProtocol::Icmp, None);
//! let trace = kpsim::sim::nftables::trace(&ruleset, &settings, ping, Entry::Arriving, Choices::AllBranches);
//! assert_eq!(trace.flow_output(), "REJECT");
//! ```

mod eval;
mod index;
mod walk;

use std::net::IpAddr;

use crate::backend::nftables::{Hook as NftHook, Ruleset};
use crate::net::IpFamily;
use crate::settings::{Mode, ProxySettings};
use crate::sim::trace::SeededRng;
use crate::sim::{Choices, Entry, Hook, Packet, Trace, TracePath, Verdict};

use eval::{Context, interface_for, is_local};
use index::RulesetIndex;
use walk::{ChainEnd, PathState, Walker};

/// Where a packet from `src` enters the node's hooks: `Local` when `src` is one of the
/// node's addresses (loopback included), else `Arriving`.
pub fn entry_for(settings: &ProxySettings, src: IpAddr) -> Entry {
    if is_local(settings, src) { Entry::Local } else { Entry::Arriving }
}

/// Traces one packet through `ruleset` on the node described by `settings`.
pub fn trace(
    ruleset: &Ruleset,
    settings: &ProxySettings,
    packet: Packet,
    entry: Entry,
    choices: Choices,
) -> Trace {
    Tracer::new(ruleset, settings).trace(packet, entry, choices)
}

/// A ruleset indexed for tracing (chains by name, map elements by key): build it once to
/// trace many packets.
#[derive(Debug)]
pub struct Tracer<'a> {
    index: RulesetIndex<'a>,
    settings: &'a ProxySettings,
}

fn sim_hook(hook: NftHook) -> Hook {
    match hook {
        NftHook::Prerouting => Hook::Prerouting,
        NftHook::Input => Hook::Input,
        NftHook::Forward => Hook::Forward,
        NftHook::Output => Hook::Output,
        NftHook::Postrouting => Hook::Postrouting,
    }
}

/// A path that is still travelling, or has ended with a verdict.
enum Progress {
    Going(PathState),
    Ended(PathState, Verdict),
}

impl<'a> Tracer<'a> {
    pub fn new(ruleset: &'a Ruleset, settings: &'a ProxySettings) -> Tracer<'a> {
        Tracer { index: RulesetIndex::new(ruleset), settings }
    }

    pub fn trace(&self, packet: Packet, entry: Entry, choices: Choices) -> Trace {
        let mut rng = match choices {
            Choices::Seed(seed) => Some(SeededRng::new(seed)),
            Choices::AllBranches => None,
        };
        let family = IpFamily::of(packet.dst);
        let start = vec![Progress::Going(PathState::new(packet))];
        let finished: Vec<Progress> = match entry {
            Entry::Arriving => {
                let iif = interface_for(self.settings, packet.src);
                let after_pre = self.hook(start, NftHook::Prerouting, family, &iif, "", &mut rng);
                let mut out = Vec::new();
                for p in after_pre {
                    match p {
                        Progress::Going(s) if is_local(self.settings, s.packet.dst) => {
                            out.extend(self.hook(
                                vec![Progress::Going(s)],
                                NftHook::Input,
                                family,
                                &iif,
                                "",
                                &mut rng,
                            ));
                        }
                        Progress::Going(s) => {
                            let oif = interface_for(self.settings, s.packet.dst);
                            let fwd = self.hook(
                                vec![Progress::Going(s)],
                                NftHook::Forward,
                                family,
                                &iif,
                                &oif,
                                &mut rng,
                            );
                            out.extend(self.hook(
                                fwd,
                                NftHook::Postrouting,
                                family,
                                &iif,
                                &oif,
                                &mut rng,
                            ));
                        }
                        ended => out.push(ended),
                    }
                }
                out
            }
            Entry::Local => {
                let oif = interface_for(self.settings, packet.dst);
                let after_out = self.hook(start, NftHook::Output, family, "", &oif, &mut rng);
                let mut out = Vec::new();
                for p in after_out {
                    let Progress::Going(s) = p else {
                        out.push(p);
                        continue;
                    };
                    let oif = interface_for(self.settings, s.packet.dst);
                    let local = is_local(self.settings, s.packet.dst);
                    let post = self.hook(
                        vec![Progress::Going(s)],
                        NftHook::Postrouting,
                        family,
                        "",
                        &oif,
                        &mut rng,
                    );
                    if local {
                        out.extend(self.hook(post, NftHook::Input, family, "lo", "", &mut rng));
                    } else {
                        out.extend(post);
                    }
                }
                out
            }
        };
        let paths = finished.into_iter().map(finish).collect();
        Trace { node: self.settings.node_name.clone(), mode: Mode::Nftables, entry, packet, paths }
    }

    /// Runs every base chain of `hook` for each travelling path.
    fn hook(
        &self,
        paths: Vec<Progress>,
        hook: NftHook,
        family: IpFamily,
        iifname: &str,
        oifname: &str,
        rng: &mut Option<SeededRng>,
    ) -> Vec<Progress> {
        let chains = self.index.base_chains(hook, family);
        let walker = Walker {
            index: &self.index,
            hook: sim_hook(hook),
            ctx: Context {
                settings: self.settings,
                iifname: iifname.to_owned(),
                oifname: oifname.to_owned(),
            },
        };
        let mut current = paths;
        for chain in chains {
            let mut next = Vec::new();
            for p in current {
                match p {
                    Progress::Going(state) => {
                        for (state, end) in walker.run(state, chain, rng) {
                            next.push(match end {
                                ChainEnd::Continue => Progress::Going(state),
                                ChainEnd::Drop => Progress::Ended(state, Verdict::Drop),
                                ChainEnd::Reject => Progress::Ended(state, Verdict::Reject),
                            });
                        }
                    }
                    ended => next.push(ended),
                }
            }
            current = next;
        }
        current
    }
}

fn finish(progress: Progress) -> TracePath {
    let (state, verdict) = match progress {
        Progress::Ended(state, verdict) => (state, verdict),
        Progress::Going(state) => {
            let verdict = if state.dnat.is_some() {
                Verdict::Dnat
            } else if state.accepted {
                Verdict::Accept
            } else {
                Verdict::None
            };
            (state, verdict)
        }
    };
    TracePath {
        probability: state.probability,
        steps: state.steps,
        verdict,
        dnat: state.dnat,
        masquerade: state.masquerade,
        packet_out: state.packet,
    }
}
