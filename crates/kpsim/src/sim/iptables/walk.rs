//! The walk: hook by hook, table by table, chain by chain, rule by rule, with the netfilter
//! control flow (jump, goto, return, policies, terminal targets) and forks at random choices.
//!
//! A path is a [`State`]; with all-branches a `-m statistic` rule splits it in two (the
//! matching continuation first, the other pushed on a stack), so paths come out depth-first,
//! i.e. in rule order.

use std::net::IpAddr;

use crate::backend::iptables::{Chain, Policy, Rule, Table, TableName, Target};
use crate::backend::ipvs::VirtualServer;
use crate::net::{Protocol, join_host_port};
use crate::sim::trace::{
    Action, Choices, Entry, Hook, Packet, SeededRng, Step, TracePath, Verdict,
};

use super::Tracer;
use super::matching::{Clause, View, clause};

/// At most this many paths with all-branches (further random rules take their match branch).
pub const MAX_PATHS: usize = 4096;
/// At most this many rules evaluated on one path (guards against looping rulesets).
pub const MAX_STEPS: usize = 10_000;
/// At most this many rules evaluated by one trace over all its paths; past it, forks stop
/// and the remaining paths end where they are, saying so.
pub const TRACE_BUDGET: usize = 200_000;
/// At most this many nested jumps (the kernel refuses deeper rulesets).
pub const MAX_DEPTH: usize = 64;

/// One table's walk of one hook, with the interfaces the packet has there.
#[derive(Debug, Clone)]
struct Traversal {
    hook: Hook,
    table: TableName,
    in_iface: Option<String>,
    out_iface: Option<String>,
}

#[derive(Debug, Clone)]
struct Frame<'a> {
    chain: &'a Chain,
    /// Rules to visit (all of them, or the index's candidates), and the position in it.
    candidates: Option<Vec<usize>>,
    pos: usize,
    /// Index of the last rule visited (to report skipped rules).
    last: Option<usize>,
    /// Left with `-g` from a built-in chain: nothing more to visit here.
    exhausted: bool,
}

impl Frame<'_> {
    fn next(&mut self) -> Option<usize> {
        if self.exhausted {
            return None;
        }
        let i = match &self.candidates {
            Some(c) => *c.get(self.pos)?,
            None => {
                if self.pos >= self.chain.rules.len() {
                    return None;
                }
                self.pos
            }
        };
        self.pos += 1;
        Some(i)
    }
}

#[derive(Debug, Clone)]
struct State<'a> {
    packet: Packet,
    plan: Vec<Traversal>,
    next: usize,
    routed: bool,
    current: Option<Traversal>,
    table: Option<&'a Table>,
    frames: Vec<Frame<'a>>,
    dnat: Option<(IpAddr, Option<u16>)>,
    marked: bool,
    masqueraded: bool,
    accepted: bool,
    /// IPVS mode: the plan position where the IPVS stage runs (once).
    ipvs_at: Option<usize>,
    /// IPVS mode: the virtual server that scheduled the packet.
    ipvs_vs: Option<(IpAddr, u16, Protocol)>,
    end: Option<Verdict>,
    probability: f64,
    steps: Vec<Step>,
    evaluated: usize,
}

fn traversals(
    hook: Hook,
    tables: &[TableName],
    in_iface: Option<&str>,
    out_iface: Option<&str>,
) -> Vec<Traversal> {
    tables
        .iter()
        .map(|&table| Traversal {
            hook,
            table,
            in_iface: in_iface.map(str::to_owned),
            out_iface: out_iface.map(str::to_owned),
        })
        .collect()
}

use TableName::{Filter, Mangle, Nat, Raw, Security};

/// Walks every path of a packet.
pub fn walk(tracer: &Tracer<'_>, packet: Packet, entry: Entry, choices: Choices) -> Vec<TracePath> {
    let node = &tracer.node;
    let plan = match entry {
        Entry::Arriving => {
            let i = node.in_interface(packet.src).to_owned();
            traversals(Hook::Prerouting, &[Raw, Mangle, Nat], Some(&i), None)
        }
        Entry::Local => traversals(Hook::Output, &[Raw, Mangle, Nat, Filter, Security], None, None),
    };
    // IPVS takes node-originated packets at LOCAL_OUT, right after the nat table.
    let ipvs_at = match entry {
        Entry::Local if tracer.ipvs.is_some() => Some(3),
        _ => None,
    };
    let start = State {
        packet,
        plan,
        next: 0,
        routed: false,
        current: None,
        table: None,
        frames: Vec::new(),
        dnat: None,
        marked: false,
        masqueraded: false,
        accepted: false,
        ipvs_at,
        ipvs_vs: None,
        end: None,
        probability: 1.0,
        steps: Vec::new(),
        evaluated: 0,
    };
    let mut rng = match choices {
        Choices::Seed(seed) => Some(SeededRng::new(seed)),
        Choices::AllBranches => None,
    };
    let mut pending = vec![start];
    let mut paths = Vec::new();
    let mut budget = TRACE_BUDGET;
    while let Some(state) = pending.pop() {
        let forks_allowed = paths.len() + pending.len() < MAX_PATHS;
        let (path, forks) = run(tracer, state, entry, rng.as_mut(), forks_allowed, &mut budget);
        paths.push(path);
        // Forks come outermost first; the stack runs the innermost (latest) next.
        pending.extend(forks);
    }
    paths
}

fn step(
    st: &State<'_>,
    rule_index: Option<usize>,
    rule: String,
    matched: bool,
    why: String,
    action: Option<Action>,
) -> Step {
    let (hook, table) = st
        .current
        .as_ref()
        .map(|t| (t.hook, t.table.as_str().to_owned()))
        .unwrap_or((Hook::Prerouting, String::new()));
    let chain = st.frames.last().map(|f| f.chain.name.to_string()).unwrap_or_default();
    Step {
        hook,
        table,
        chain,
        rule_index,
        rule,
        matched,
        why,
        action,
        depth: st.frames.len().saturating_sub(1),
    }
}

/// Runs one path to its end; returns it and the states forked off on the way (to run later,
/// last one first).
fn run<'a>(
    tracer: &'a Tracer<'a>,
    mut st: State<'a>,
    entry: Entry,
    mut rng: Option<&mut SeededRng>,
    forks_allowed: bool,
    budget: &mut usize,
) -> (TracePath, Vec<State<'a>>) {
    let mut forks: Vec<State<'a>> = Vec::new();
    loop {
        if st.end.is_some() {
            break;
        }
        if st.frames.is_empty() {
            st.current = None;
            if st.ipvs_at == Some(st.next) {
                st.ipvs_at = None;
                ipvs_stage(tracer, &mut st, entry, rng.as_deref_mut(), forks_allowed, &mut forks);
                continue;
            }
            if st.next >= st.plan.len() {
                if st.routed {
                    break;
                }
                route(tracer, &mut st, entry);
                continue;
            }
            let t = st.plan[st.next].clone();
            st.next += 1;
            let Some(table) = tracer.ruleset.table(t.table) else { continue };
            let Some(chain) = table.chain(t.hook.as_upper()) else { continue };
            st.table = Some(table);
            st.current = Some(t);
            let frame = enter(tracer, &st, chain);
            st.frames.push(frame);
            continue;
        }
        if st.evaluated >= MAX_STEPS {
            let s = step(
                &st,
                None,
                String::new(),
                false,
                format!("stopped after {MAX_STEPS} rules (a loop in the ruleset?)"),
                None,
            );
            st.steps.push(s);
            break;
        }
        let Some(frame) = st.frames.last_mut() else { continue };
        let chain = frame.chain;
        let Some(i) = frame.next() else {
            end_of_chain(&mut st);
            continue;
        };
        let skipped = match frame.last {
            Some(l) => i - l - 1,
            None => i,
        };
        frame.last = Some(i);
        if skipped > 0 {
            let s = step(
                &st,
                None,
                String::new(),
                false,
                format!(
                    "{skipped} rules skipped: indexed for other destinations, protocols or ports"
                ),
                None,
            );
            st.steps.push(s);
        }
        st.evaluated += 1;
        *budget -= 1;
        let rule = &chain.rules[i];
        let (view_in, view_out) = st
            .current
            .as_ref()
            .map(|t| (t.in_iface.clone(), t.out_iface.clone()))
            .unwrap_or((None, None));
        let view = View {
            src: st.packet.src,
            dst: st.packet.dst,
            protocol: st.packet.protocol,
            sport: st.packet.sport,
            dport: st.packet.dport,
            mark: st.packet.mark,
            dnated: st.dnat.is_some(),
            in_iface: view_in.as_deref(),
            out_iface: view_out.as_deref(),
            node: &tracer.node,
            sets: tracer.ipvs.map(|r| r.ipsets.as_slice()),
            ipvs_scheduled: st.ipvs_vs,
        };
        let mut reasons: Vec<String> = Vec::new();
        let mut remembers: Vec<String> = Vec::new();
        let mut failed: Option<String> = None;
        for m in &rule.matches {
            match clause(m, &view) {
                Clause::Holds(why) => {
                    if !why.is_empty() {
                        reasons.push(why);
                    }
                }
                Clause::Fails(why) => {
                    failed = Some(why);
                    break;
                }
                Clause::Remembers(list) => remembers.push(list),
                Clause::Chance(p, _) => {
                    let taken = match rng.as_deref_mut() {
                        Some(rng) => {
                            let draw = rng.next_f64();
                            reasons.push(format!("random draw {draw:.4} < {p:.4}"));
                            draw < p
                        }
                        None if forks_allowed
                            && forks.len() + 1 < MAX_PATHS
                            && p > 0.0
                            && p < 1.0 =>
                        {
                            // Fork: the other branch continues after this rule.
                            let mut other = st.clone();
                            other.probability *= 1.0 - p;
                            let s = step(
                                &other,
                                Some(i),
                                rule.line(&chain.name).to_string(),
                                false,
                                format!("random: the other branch (probability {:.4})", 1.0 - p),
                                Some(Action::Branch { index: 1, of: 2, probability: 1.0 - p }),
                            );
                            other.steps.push(s);
                            forks.push(other);
                            st.probability *= p;
                            reasons.push(format!("random: this branch (probability {p:.4})"));
                            true
                        }
                        None => {
                            reasons.push(format!("random with probability {p:.4}: followed"));
                            p > 0.0
                        }
                    };
                    if !taken {
                        failed = Some(format!("random: not taken (probability {p:.4})"));
                        break;
                    }
                }
            }
        }
        let line = rule.line(&chain.name).to_string();
        if let Some(why) = failed {
            let s = step(&st, Some(i), line, false, why, None);
            st.steps.push(s);
            continue;
        }
        let why = if reasons.is_empty() { "matches".to_owned() } else { reasons.join("; ") };
        apply(tracer, &mut st, rule, i, line, why);
        for list in remembers {
            let src = st.packet.src;
            let s = step(
                &st,
                Some(i),
                String::new(),
                true,
                format!("-m recent --set: remembers client {src} in {list}"),
                Some(Action::Affinity { set: list }),
            );
            st.steps.push(s);
        }
    }
    let verdict = match st.end {
        Some(v) => v,
        None if st.dnat.is_some() => Verdict::Dnat,
        None if st.accepted => Verdict::Accept,
        None => Verdict::None,
    };
    let path = TracePath {
        probability: st.probability,
        steps: st.steps,
        verdict,
        dnat: st.dnat,
        masquerade: st.marked || st.masqueraded,
        packet_out: st.packet,
    };
    // `walk` pops the last fork first: the latest fork is the nearest in rule order.
    (path, forks)
}

/// A new frame for `chain`, restricted to the index's candidates when the chain is indexed.
fn enter<'a>(tracer: &'a Tracer<'a>, st: &State<'a>, chain: &'a Chain) -> Frame<'a> {
    let table = st.current.as_ref().map(|t| t.table).unwrap_or(Filter);
    let candidates = tracer
        .index
        .get(table, &chain.name)
        .map(|ix| ix.candidates(st.packet.dst, st.packet.protocol.transport(), st.packet.dport));
    Frame { chain, candidates, pos: 0, last: None, exhausted: false }
}

/// Falls off the end of the current chain: return to the caller, or the policy of a
/// built-in chain.
fn end_of_chain(st: &mut State<'_>) {
    let Some(frame) = st.frames.last() else { return };
    let skipped = match (&frame.candidates, frame.last) {
        _ if frame.exhausted => 0,
        (Some(_), Some(l)) => frame.chain.rules.len() - l - 1,
        (Some(_), None) => frame.chain.rules.len(),
        _ => 0,
    };
    if skipped > 0 {
        let s = step(
            st,
            None,
            String::new(),
            false,
            format!("{skipped} rules skipped: indexed for other destinations, protocols or ports"),
            None,
        );
        st.steps.push(s);
    }
    if st.frames.len() > 1 {
        st.frames.pop();
    } else {
        apply_policy(st);
    }
}

/// The end of a built-in chain: its policy decides.
fn apply_policy(st: &mut State<'_>) {
    let Some(frame) = st.frames.first() else { return };
    let policy = frame.chain.policy.unwrap_or(Policy::Accept);
    let name = frame.chain.name;
    let action = match policy {
        Policy::Accept => Action::Accept,
        Policy::Drop => Action::Drop,
    };
    let s = step(
        st,
        None,
        format!(":{name} {}", policy.as_str()),
        true,
        format!("end of {name}: policy {}", policy.as_str()),
        Some(action),
    );
    st.steps.push(s);
    if policy == Policy::Drop {
        st.end = Some(Verdict::Drop);
    }
    st.frames.clear();
}

/// Applies a matched rule's target.
fn apply<'a>(
    tracer: &'a Tracer<'a>,
    st: &mut State<'a>,
    rule: &'a Rule,
    i: usize,
    line: String,
    why: String,
) {
    let table_name = st.current.as_ref().map(|t| t.table).unwrap_or(Filter);
    let Some(target) = &rule.target else {
        let s =
            step(st, Some(i), line, true, format!("{why}; no target: counted, continues"), None);
        st.steps.push(s);
        return;
    };
    let push = |st: &mut State<'a>, action: Option<Action>, why: String| {
        let s = step(st, Some(i), line.clone(), true, why, action);
        st.steps.push(s);
    };
    match target {
        Target::Accept => {
            push(st, Some(Action::Accept), why);
            if table_name == Filter && st.dnat.is_none() {
                st.accepted = true;
            }
            st.frames.clear();
        }
        Target::Drop => {
            push(st, Some(Action::Drop), why);
            st.end = Some(Verdict::Drop);
        }
        Target::Reject { .. } => {
            push(st, Some(Action::Reject), why);
            st.end = Some(Verdict::Reject);
        }
        Target::Return => {
            push(st, Some(Action::Return), why);
            if st.frames.len() > 1 {
                st.frames.pop();
            } else {
                // RETURN from a built-in chain: its policy applies.
                apply_policy(st);
            }
        }
        Target::Jump { chain } | Target::Goto { chain } => {
            let goto = matches!(target, Target::Goto { .. });
            let found = st
                .table
                .and_then(|t| t.chain(chain))
                .filter(|_| !st.current.as_ref().is_some_and(|c| c.table.is_builtin(chain)));
            match found {
                Some(c) if st.frames.len() < MAX_DEPTH => {
                    push(st, Some(Action::Jump { chain: chain.to_string() }), why);
                    if goto && st.frames.len() > 1 {
                        st.frames.pop();
                    } else if goto && let Some(base) = st.frames.last_mut() {
                        // `-g` from a built-in chain: when the target returns, the policy
                        // applies.
                        base.exhausted = true;
                    }
                    let frame = enter(tracer, st, c);
                    st.frames.push(frame);
                }
                Some(_) => {
                    push(
                        st,
                        None,
                        format!(
                            "{why}; jump depth limit {MAX_DEPTH} reached (a loop?): the path stops"
                        ),
                    );
                    st.frames.clear();
                    st.plan.truncate(st.next);
                    st.routed = true;
                }
                None => push(
                    st,
                    None,
                    format!("{why}; target {chain} is not a chain of this table: ignored"),
                ),
            }
        }
        Target::Dnat { ip, port } => {
            push(st, Some(Action::Dnat { ip: *ip, port: *port }), why);
            st.packet.dst = *ip;
            if port.is_some() {
                st.packet.dport = *port;
            }
            st.dnat = Some((*ip, *port));
            st.frames.clear();
        }
        Target::Masquerade { random_fully, .. } => {
            push(st, Some(Action::Masquerade { random_fully: *random_fully }), why);
            st.masqueraded = true;
            st.frames.clear();
        }
        Target::Mark(op) => {
            let before = st.packet.mark;
            st.packet.mark = op.apply(before);
            if st.packet.mark & tracer.node.masquerade_mark != 0 {
                st.marked = true;
            }
            let mark = st.packet.mark;
            push(st, Some(Action::Mark { mark }), format!("{why}; mark 0x{before:x} → 0x{mark:x}"));
        }
        Target::Other { name, .. } => match name.as_str() {
            "SNAT" | "NETMAP" => {
                push(
                    st,
                    Some(Action::Masquerade { random_fully: false }),
                    format!("{why}; source NAT"),
                );
                st.masqueraded = true;
                st.frames.clear();
            }
            "REDIRECT" => {
                push(st, None, format!("{why}; redirected to the node: not modelled"));
                st.frames.clear();
            }
            other => push(st, None, format!("{why}; target {other} not modelled: continues")),
        },
    }
}

/// The routing decision after the first hook: where the (possibly DNATed) packet goes next.
fn route(tracer: &Tracer<'_>, st: &mut State<'_>, entry: Entry) {
    st.routed = true;
    let node = &tracer.node;
    let dst = st.packet.dst;
    let local = node.is_local(dst);
    match entry {
        Entry::Arriving => {
            let in_iface = node.in_interface(st.packet.src).to_owned();
            if local {
                st.plan.extend(traversals(
                    Hook::Input,
                    &[Mangle, Filter, Security, Nat],
                    Some(&in_iface),
                    None,
                ));
                // IPVS sits at LOCAL_IN, after the INPUT tables.
                if tracer.ipvs.is_some() {
                    st.ipvs_at = Some(st.plan.len());
                }
            } else {
                let out = node.out_interface(dst).to_owned();
                st.plan.extend(traversals(
                    Hook::Forward,
                    &[Mangle, Filter, Security],
                    Some(&in_iface),
                    Some(&out),
                ));
                st.plan.extend(traversals(Hook::Postrouting, &[Mangle, Nat], None, Some(&out)));
            }
        }
        Entry::Local => {
            let out = node.out_interface(dst).to_owned();
            st.plan.extend(traversals(Hook::Postrouting, &[Mangle, Nat], None, Some(&out)));
            if local {
                st.plan.extend(traversals(Hook::Prerouting, &[Raw, Mangle], Some("lo"), None));
                st.plan.extend(traversals(
                    Hook::Input,
                    &[Mangle, Filter, Security],
                    Some("lo"),
                    None,
                ));
            }
        }
    }
}

/// The IPVS stage (IPVS mode only): the virtual server for the packet's destination, port and
/// protocol picks a real server and rewrites the destination; see `sim::ipvs`.
fn ipvs_stage<'a>(
    tracer: &'a Tracer<'a>,
    st: &mut State<'a>,
    entry: Entry,
    rng: Option<&mut SeededRng>,
    forks_allowed: bool,
    forks: &mut Vec<State<'a>>,
) {
    let Some(ipvs) = tracer.ipvs else { return };
    let hook = match entry {
        Entry::Arriving => Hook::Input,
        Entry::Local => Hook::Output,
    };
    let p = st.packet;
    let vs = p
        .protocol
        .transport()
        .zip(p.dport)
        .and_then(|(protocol, port)| ipvs.virtual_server(p.dst, port, protocol));
    let Some(vs) = vs else {
        if ipvs.dummy.addresses.contains(&p.dst) {
            let port = p.dport.map(|d| format!(" port {d}")).unwrap_or_default();
            let why = format!(
                "no IPVS virtual server for {} {}{port}: {} is on {}, so the node itself receives the packet",
                p.protocol.as_lower(),
                p.dst,
                p.dst,
                crate::sim::ipvs::INTERFACE
            );
            st.steps.push(ipvs_step(hook, String::new(), false, why, None));
        }
        return;
    };
    let header = format!(
        "{} {} {}",
        vs.protocol.as_k8s(),
        join_host_port(vs.address, vs.port),
        vs.scheduler
    );
    let n = vs.real_servers.len();
    if n == 0 {
        let why = "the virtual server has no real server: the kernel cannot schedule the \
                   connection and drops it (spec: general kernel knowledge, not verified)"
            .to_owned();
        st.steps.push(ipvs_step(hook, header, true, why, Some(Action::Drop)));
        st.end = Some(Verdict::Drop);
        return;
    }
    let chosen = match rng {
        Some(rng) => rng.below(n as u64) as usize,
        None => {
            // Every real server is a branch; the stack runs the last pushed first, so push
            // them from the last one down to keep the real servers' order.
            if forks_allowed && n > 1 && forks.len() + n < MAX_PATHS {
                for i in (1..n).rev() {
                    let mut other = st.clone();
                    other.probability /= n as f64;
                    let why = format!("{}: real server {} of {n}", vs.scheduler, i + 1);
                    let branch = Action::Branch { index: i, of: n, probability: 1.0 / n as f64 };
                    let s = ipvs_step(hook, header.clone(), true, why, Some(branch));
                    other.steps.push(s);
                    schedule(tracer, &mut other, vs, i, hook, &header, entry);
                    forks.push(other);
                }
                st.probability /= n as f64;
            }
            0
        }
    };
    let why = match n {
        1 => format!("{}: the only real server", vs.scheduler),
        _ => format!("{}: real server {} of {n}", vs.scheduler, chosen + 1),
    };
    let s = ipvs_step(hook, header.clone(), true, why, None);
    st.steps.push(s);
    schedule(tracer, st, vs, chosen, hook, &header, entry);
}

/// Sends the packet to real server `i` of `vs` (NAT forwarding), then on to the exit hooks.
fn schedule<'a>(
    tracer: &'a Tracer<'a>,
    st: &mut State<'a>,
    vs: &VirtualServer,
    i: usize,
    hook: Hook,
    header: &str,
    entry: Entry,
) {
    let Some(rs) = vs.real_servers.get(i) else { return };
    let mut why = format!("IPVS (Masq) rewrites the destination to {}", rs.endpoint_string());
    if vs.timeout > 0 {
        why.push_str(&format!(
            "; persistent {}: this client's later connections to {} go to the same real server",
            vs.timeout,
            join_host_port(vs.address, vs.port)
        ));
    }
    let action = Action::Dnat { ip: rs.address, port: Some(rs.port) };
    st.steps.push(ipvs_step(hook, header.to_owned(), true, why, Some(action)));
    st.packet.dst = rs.address;
    st.packet.dport = Some(rs.port);
    st.dnat = Some((rs.address, Some(rs.port)));
    st.ipvs_vs = Some(vs.key());
    if entry == Entry::Arriving {
        // Out through LOCAL_OUT (filter OUTPUT) and POSTROUTING.
        let out = tracer.node.out_interface(rs.address).to_owned();
        st.plan.extend(traversals(Hook::Output, &[Filter], None, Some(&out)));
        st.plan.extend(traversals(Hook::Postrouting, &[Mangle, Nat], None, Some(&out)));
    }
}

/// The table name of the IPVS stage's steps: a virtual server, not a netfilter rule.
pub const IPVS_TABLE: &str = "ipvs";

/// A step of the IPVS stage: table `ipvs`, chain `IPVS`, the virtual server as its rule.
fn ipvs_step(hook: Hook, rule: String, matched: bool, why: String, action: Option<Action>) -> Step {
    Step {
        hook,
        table: IPVS_TABLE.to_owned(),
        chain: "IPVS".to_owned(),
        rule_index: None,
        rule,
        matched,
        why,
        action,
        depth: 0,
    }
}
