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
//! A path counts as masqueraded ([`TracePath::masquerade`]) when a rule set the masquerade
//! mark of the settings on it, as in the reference tests; the `masquerade` statement itself
//! shows as an [`Action::Masquerade`](crate::sim::Action::Masquerade) step in postrouting.
//!
//! Every traced packet is the first of a new connection (`ct state new`). `fib … type local`
//! is true for the node's addresses (every `nodeInterfaces` address, and loopback).
//! Session-affinity sets are empty unless the ruleset (parsed from a live node) holds
//! elements. Random `numgen` choices follow [`Choices`]: every branch, or one drawn from the
//! seed with [`SeededRng::below`](crate::sim::trace::SeededRng::below). A hand-written ruleset
//! cannot make a trace run away: paths are cut at 64 nested chains (a loop) or when the trace
//! holds 200,000 steps, and at most 4096 random branches are followed.
//!
//! ```
//! use kpsim::sim::{Choices, Entry, Packet, PacketProtocol};
//! let input = include_str!("../../tests/data/oracle/nftables/cluster-ip-general/input.yaml");
//! let settings = include_str!("../../tests/data/oracle/nftables/cluster-ip-general/settings.yaml");
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

use std::cell::Cell;

use crate::backend::nftables::Ruleset;
use crate::net::IpFamily;
use crate::settings::{Mode, ProxySettings};
use crate::sim::trace::SeededRng;
use crate::sim::{Choices, Entry, Hook, Packet, Trace, TracePath, Verdict};

use eval::{Context, interface_for, is_local};
use index::RulesetIndex;
use walk::{ChainEnd, PathState, Walker};

pub use crate::sim::entry_for;

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
        let rng = match choices {
            Choices::Seed(seed) => Some(SeededRng::new(seed)),
            Choices::AllBranches => None,
        };
        let mut run =
            Run { family: IpFamily::of(packet.dst), paths: Cell::new(1), steps: Cell::new(0), rng };
        let start = vec![Progress::Going(PathState::new(packet))];
        let mut finished: Vec<Progress> = Vec::new();
        match entry {
            Entry::Arriving => {
                let iif = interface_for(self.settings, packet.src);
                for p in self.hook(&mut run, start, Hook::Prerouting, (&iif, "")) {
                    let Progress::Going(s) = p else {
                        finished.push(p);
                        continue;
                    };
                    // Routing on the destination after DNAT.
                    if is_local(self.settings, s.packet.dst) {
                        let input = vec![Progress::Going(s)];
                        finished.extend(self.hook(&mut run, input, Hook::Input, (&iif, "")));
                    } else {
                        let oif = interface_for(self.settings, s.packet.dst);
                        let forward = vec![Progress::Going(s)];
                        let fwd = self.hook(&mut run, forward, Hook::Forward, (&iif, &oif));
                        finished.extend(self.hook(&mut run, fwd, Hook::Postrouting, (&iif, &oif)));
                    }
                }
            }
            Entry::Local => {
                let oif = interface_for(self.settings, packet.dst);
                for p in self.hook(&mut run, start, Hook::Output, ("", &oif)) {
                    let Progress::Going(s) = p else {
                        finished.push(p);
                        continue;
                    };
                    let oif = interface_for(self.settings, s.packet.dst);
                    let local = is_local(self.settings, s.packet.dst);
                    let out = vec![Progress::Going(s)];
                    let post = self.hook(&mut run, out, Hook::Postrouting, ("", &oif));
                    if local {
                        // Delivered over loopback: conntrack already holds the NAT.
                        finished.extend(self.hook(&mut run, post, Hook::Input, ("lo", "")));
                    } else {
                        finished.extend(post);
                    }
                }
            }
        }
        let paths = finished.into_iter().map(finish).collect();
        Trace { node: self.settings.node_name.clone(), mode: Mode::Nftables, entry, packet, paths }
    }

    /// Runs every base chain of `hook` for each travelling path.
    fn hook(
        &self,
        run: &mut Run,
        paths: Vec<Progress>,
        hook: Hook,
        (iifname, oifname): (&str, &str),
    ) -> Vec<Progress> {
        let chains = self.index.base_chains(hook, run.family);
        let walker = Walker {
            index: &self.index,
            hook,
            ctx: Context {
                settings: self.settings,
                iifname: iifname.to_owned(),
                oifname: oifname.to_owned(),
            },
            paths: &run.paths,
            steps: &run.steps,
        };
        let mut current = paths;
        for chain in chains {
            let mut next = Vec::new();
            for p in current {
                match p {
                    Progress::Going(state) => {
                        for (state, end) in walker.run(state, chain, &mut run.rng) {
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

/// The state of one trace shared by its hooks: the packet family, how many paths exist, and
/// the seeded generator (none when following every branch).
struct Run {
    family: IpFamily,
    paths: Cell<usize>,
    steps: Cell<usize>,
    rng: Option<SeededRng>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::nftables::{self, Element, Value};
    use crate::model::Admission;
    use crate::sim::{Action, PacketProtocol};

    const SETTINGS: &str =
        include_str!("../../tests/data/oracle/nftables/overall-nftables-rules/settings.yaml");

    fn build(input: &str) -> (Ruleset, ProxySettings) {
        let (cluster, _) =
            crate::model::build::build(&crate::manifest::parse(input), Admission::AsGiven);
        let settings =
            crate::settings::parse_settings_file(SETTINGS).0.resolve(&cluster, &mut Vec::new());
        (nftables::build(&crate::proxy::plan(&cluster, &settings)), settings)
    }

    fn overall() -> (Ruleset, ProxySettings) {
        build(include_str!("../../tests/data/oracle/nftables/overall-nftables-rules/input.yaml"))
    }

    fn packet(src: &str, dst: &str, protocol: PacketProtocol, port: Option<u16>) -> Packet {
        Packet::new(src.parse().unwrap(), dst.parse().unwrap(), protocol, port)
    }

    fn run(r: &Ruleset, s: &ProxySettings, p: Packet, choices: Choices) -> Trace {
        trace(r, s, p, entry_for(s, p.src), choices)
    }

    #[test]
    fn ping_to_a_cluster_ip_is_rejected_by_cluster_ips_check() {
        let (r, s) = overall();
        let t = run(
            &r,
            &s,
            packet("10.0.0.2", "172.30.0.41", PacketProtocol::Icmp, None),
            Choices::AllBranches,
        );
        assert_eq!(t.flow_output(), "REJECT");
        let last = t.paths[0].steps.last().unwrap();
        assert_eq!((last.hook, last.chain.as_str()), (Hook::Forward, "cluster-ips-check"));
        assert_eq!(
            last.rule,
            "ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\""
        );
        assert_eq!(last.action, Some(Action::Reject));
    }

    #[test]
    fn a_service_without_endpoints_rejects_through_the_no_endpoint_map() {
        let (r, s) = overall();
        let t = run(
            &r,
            &s,
            packet("10.0.0.2", "172.30.0.46", PacketProtocol::Tcp, Some(80)),
            Choices::AllBranches,
        );
        assert_eq!(t.flow_output(), "REJECT");
        let chains: Vec<&str> =
            t.paths[0].steps.iter().filter(|s| s.matched).map(|s| s.chain.as_str()).collect();
        assert!(
            chains.ends_with(&["filter-forward", "service-endpoints-check", "reject-chain"]),
            "{chains:?}"
        );
    }

    #[test]
    fn the_node_reaching_a_node_port_without_local_endpoints_is_dropped_in_the_input_hook() {
        // svc2 has eTP=Local and no local endpoint: external traffic to its NodePort is dropped
        // by `nodeport-endpoints-check`, which only the input hook runs.
        let (r, s) = overall();
        let t = run(
            &r,
            &s,
            packet("203.0.113.9", "192.168.0.2", PacketProtocol::Tcp, Some(3001)),
            Choices::AllBranches,
        );
        assert_eq!(t.flow_output(), "DROP");
        let last = t.paths[0].steps.last().unwrap();
        assert_eq!((last.hook, last.chain.as_str()), (Hook::Input, "nodeport-endpoints-check"));
        // From the node itself it is masqueraded and short-circuited to every endpoint.
        let t = run(
            &r,
            &s,
            packet("192.168.0.2", "192.168.0.2", PacketProtocol::Tcp, Some(3001)),
            Choices::AllBranches,
        );
        assert_eq!(t.entry, Entry::Local);
        assert_eq!(t.flow_output(), "10.180.0.2:80");
        assert!(t.masquerade());
        assert!(t.paths[0].steps.iter().any(|s| s.hook == Hook::Output && s.chain == "nat-output"));
    }

    #[test]
    fn masquerade_happens_in_postrouting_and_clears_the_mark() {
        let (r, s) = overall();
        let t = run(
            &r,
            &s,
            packet("203.0.113.9", "172.30.0.44", PacketProtocol::Tcp, Some(80)),
            Choices::AllBranches,
        );
        assert_eq!(t.paths.len(), 2);
        for path in &t.paths {
            assert!(path.masquerade);
            assert_eq!(path.packet_out.mark, 0);
            let masq = path
                .steps
                .iter()
                .find(|s| matches!(s.action, Some(Action::Masquerade { .. })))
                .unwrap();
            assert_eq!((masq.hook, masq.chain.as_str()), (Hook::Postrouting, "masquerading"));
            assert!((path.probability - 0.5).abs() < 1e-9);
        }
        assert_eq!(t.destinations(), ["10.180.0.4:80", "10.180.0.5:80"]);
    }

    #[test]
    fn a_seed_takes_one_branch_and_the_same_seed_the_same_one() {
        let (r, s) = overall();
        let p = packet("10.0.0.2", "172.30.0.44", PacketProtocol::Tcp, Some(80));
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..32 {
            let t = run(&r, &s, p, Choices::Seed(seed));
            assert_eq!(t.paths.len(), 1);
            assert_eq!(t, run(&r, &s, p, Choices::Seed(seed)));
            seen.insert(t.flow_output());
        }
        assert_eq!(seen.len(), 2, "both endpoints are drawn over 32 seeds: {seen:?}");
    }

    #[test]
    fn affinity_sets_are_empty_on_a_fresh_trace_and_filled_ones_pin_the_client() {
        let (mut r, s) = overall();
        let p = packet("10.0.0.2", "172.30.0.45", PacketProtocol::Tcp, Some(80));
        let t = run(&r, &s, p, Choices::AllBranches);
        let steps = &t.paths[0].steps;
        let lookup = steps.iter().find(|s| s.rule.starts_with("ip saddr @affinity-")).unwrap();
        assert!(!lookup.matched);
        assert!(steps.iter().any(|s| matches!(&s.action, Some(Action::Affinity { set }) if set.starts_with("affinity-GTK6MW7G"))));
        // On a live node the set holds the client: the lookup decides before numgen.
        let set = r.tables[0].sets.iter_mut().find(|s| s.name.starts_with("affinity-")).unwrap();
        set.elements.push(Element::key(vec![Value::Addr(p.src)]));
        let t = run(&r, &s, p, Choices::AllBranches);
        assert_eq!(t.flow_output(), "10.180.0.3:80");
        assert!(
            t.paths[0].steps.iter().any(|s| s.rule.starts_with("ip saddr @affinity-") && s.matched)
        );
        assert!(!t.paths[0].steps.iter().any(|s| s.rule.starts_with("numgen")));
    }

    #[test]
    fn jump_returns_and_goto_does_not() {
        let text = "table ip t {\n\tchain pre {\n\t\ttype filter hook prerouting priority filter; policy accept;\n\t\tjump a\n\t\tip saddr 1.1.1.1 drop\n\t}\n\n\tchain a {\n\t\tgoto b\n\t\tmeta mark set 0x00000001\n\t}\n\n\tchain b {\n\t\tmeta mark set meta mark | 0x00000002\n\t}\n}\n";
        let r = nftables::parse_list(text).unwrap();
        let (_, s) = overall();
        let t = run(
            &r,
            &s,
            packet("1.1.1.1", "10.9.9.9", PacketProtocol::Tcp, Some(80)),
            Choices::AllBranches,
        );
        assert_eq!(t.flow_output(), "DROP");
        assert_eq!(t.paths[0].packet_out.mark, 2);
        let visited: Vec<(&str, Option<usize>)> =
            t.paths[0].steps.iter().map(|s| (s.chain.as_str(), s.rule_index)).collect();
        assert_eq!(
            visited,
            [("pre", Some(0)), ("a", Some(0)), ("b", Some(0)), ("b", None), ("pre", Some(1))]
        );
    }

    #[test]
    fn ipv6_node_ports_dnat_to_bracketed_endpoints() {
        let input = include_str!("../../tests/data/oracle/nftables/node-ports-ipv6/input.yaml");
        let settings_text =
            include_str!("../../tests/data/oracle/nftables/node-ports-ipv6/settings.yaml");
        let (cluster, _) =
            crate::model::build::build(&crate::manifest::parse(input), Admission::AsGiven);
        let s = crate::settings::parse_settings_file(settings_text)
            .0
            .resolve(&cluster, &mut Vec::new());
        let r = nftables::build(&crate::proxy::plan(&cluster, &s));
        let t = run(
            &r,
            &s,
            packet("2600:5200::1", "2001:db8::1", PacketProtocol::Tcp, Some(3001)),
            Choices::AllBranches,
        );
        assert_eq!(t.flow_output(), "[fd00:10:180::1]:80, [fd00:10:180::2:1]:80");
        let dnat = t.paths[0]
            .steps
            .iter()
            .find(|s| matches!(s.action, Some(Action::Dnat { .. })))
            .unwrap();
        assert_eq!(dnat.rule, "meta l4proto tcp dnat to [fd00:10:180::1]:80");
    }
}
