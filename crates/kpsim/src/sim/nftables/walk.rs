//! Walking one base chain: rules in order, `jump` (returns) and `goto` (does not), `return`,
//! verdict maps, `numgen` branches (forked or drawn from the seed), the statements with
//! effects (`meta mark set`, `dnat`, `masquerade`, `update @set`) and terminal verdicts.
//! Every rule looked at becomes a [`Step`].
//!
//! Which base chains run in which order (hooks, priorities, routing) is `sim::nftables`'.

use std::cell::Cell;
use std::net::IpAddr;

use super::eval::{Context, eval_match, lookup_verdict, select};
use super::index::{ChainRef, RulesetIndex};
use crate::backend::nftables::{
    Element, MarkUpdate, Policy, Selector, Statement, Value, Verdict as NftVerdict, VmapSource,
};
use crate::sim::trace::SeededRng;
use crate::sim::{Action, Hook, Packet, Step};

/// How deep jumps and gotos may nest before a path is cut as a loop (a chain of `goto`s does
/// not grow the jump stack). The kernel rejects looping rulesets at load time, so only
/// hand-written ones get here.
const MAX_DEPTH: usize = 64;

/// The kernel's jump stack (`NFT_JUMP_STACK_SIZE`): deeper `jump`s cannot be loaded.
const JUMP_STACK: usize = 16;

/// Bounds that keep a hand-written ruleset from exploding a trace: steps recorded over all
/// paths of one trace (a path is cut when they run out), and paths followed (further random
/// branches are not forked).
const MAX_STEPS: usize = 200_000;
const MAX_PATHS: usize = 4096;

/// One way through the rules so far.
#[derive(Debug, Clone)]
pub(crate) struct PathState {
    pub(crate) packet: Packet,
    pub(crate) steps: Vec<Step>,
    pub(crate) probability: f64,
    /// Marked for masquerade (or masqueraded) somewhere on the path.
    pub(crate) masquerade: bool,
    pub(crate) dnat: Option<(IpAddr, Option<u16>)>,
    /// An explicit `accept` decided somewhere.
    pub(crate) accepted: bool,
}

impl PathState {
    pub(crate) fn new(packet: Packet) -> PathState {
        PathState {
            packet,
            steps: Vec::new(),
            probability: 1.0,
            masquerade: false,
            dnat: None,
            accepted: false,
        }
    }
}

/// How a base chain ended for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainEnd {
    /// Accepted (policy or verdict): the next base chain runs.
    Continue,
    Drop,
    Reject,
}

/// What a rule decided.
enum Flow {
    Next,
    Verdict(NftVerdict),
    /// Random branches: (index, of, verdict).
    Fork(Vec<(usize, usize, NftVerdict)>),
}

struct Frame {
    state: PathState,
    chain: ChainRef,
    rule: usize,
    depth: usize,
    /// Where `return` goes: chain, next rule, depth.
    stack: Vec<(ChainRef, usize, usize)>,
}

pub(crate) struct Walker<'i, 'a> {
    pub(crate) index: &'i RulesetIndex<'a>,
    pub(crate) hook: Hook,
    pub(crate) ctx: Context<'a>,
    /// Paths and steps of the whole trace so far (shared by the walkers of every hook).
    pub(crate) paths: &'i Cell<usize>,
    pub(crate) steps: &'i Cell<usize>,
}

fn verdict_action(v: &NftVerdict) -> Option<Action> {
    match v {
        NftVerdict::Accept => Some(Action::Accept),
        NftVerdict::Drop => Some(Action::Drop),
        NftVerdict::Reject => Some(Action::Reject),
        NftVerdict::Return => Some(Action::Return),
        NftVerdict::Jump(c) | NftVerdict::Goto(c) => Some(Action::Jump { chain: c.clone() }),
        NftVerdict::Continue => None,
    }
}

impl Walker<'_, '_> {
    /// Runs base chain `start` for `state`: one result per path (several when a `numgen`
    /// map was expanded).
    pub(crate) fn run(
        &self,
        state: PathState,
        start: ChainRef,
        rng: &mut Option<SeededRng>,
    ) -> Vec<(PathState, ChainEnd)> {
        let mut done = Vec::new();
        let mut work = vec![Frame { state, chain: start, rule: 0, depth: 0, stack: Vec::new() }];
        while let Some(mut frame) = work.pop() {
            loop {
                if self.steps.get() >= MAX_STEPS {
                    let why = format!("more than {MAX_STEPS} steps in this trace: path cut");
                    self.step(&mut frame, None, "drop".to_owned(), true, why, Some(Action::Drop));
                    done.push((frame.state, ChainEnd::Drop));
                    break;
                }
                let table = self.index.table(frame.chain.0);
                let chain = &table.chains[frame.chain.1];
                let Some(rule) = chain.rules.get(frame.rule) else {
                    // Fell off the end of the chain.
                    match frame.stack.pop() {
                        Some((chain_ref, rule, depth)) => {
                            self.step(
                                &mut frame,
                                None,
                                "return".to_owned(),
                                true,
                                "end of chain: back to the calling chain".to_owned(),
                                Some(Action::Return),
                            );
                            frame.chain = chain_ref;
                            frame.rule = rule;
                            frame.depth = depth;
                            continue;
                        }
                        None => {
                            let policy = chain.base.map(|b| b.policy).unwrap_or_default();
                            let end = if policy == Policy::Drop {
                                ChainEnd::Drop
                            } else {
                                ChainEnd::Continue
                            };
                            let action = (policy == Policy::Drop).then_some(Action::Drop);
                            self.step(
                                &mut frame,
                                None,
                                format!("policy {}", policy.as_str()),
                                true,
                                "end of base chain".to_owned(),
                                action,
                            );
                            done.push((frame.state, end));
                            break;
                        }
                    }
                };
                let (matched, why, action, flow) =
                    self.eval_rule(&mut frame.state, &rule.statements, frame.chain.0, rng);
                let text = rule.list_text();
                let index = frame.rule;
                match flow {
                    Flow::Fork(mut branches) => {
                        let room = MAX_PATHS.saturating_sub(self.paths.get()).max(1);
                        if branches.len() > room {
                            branches.truncate(room);
                        }
                        self.paths.set(self.paths.get() + branches.len() - 1);
                        let copied = frame.state.steps.len() * (branches.len() - 1);
                        self.steps.set(self.steps.get() + copied);
                        // Later branches are pushed first so branch 0 is walked first.
                        for (k, n, verdict) in branches.into_iter().rev() {
                            let mut branch = Frame {
                                state: frame.state.clone(),
                                chain: frame.chain,
                                rule: frame.rule,
                                depth: frame.depth,
                                stack: frame.stack.clone(),
                            };
                            let p = 1.0 / n as f64;
                            branch.state.probability *= p;
                            let why = format!("{why}: branch {k} of {n} → {verdict}");
                            self.step(
                                &mut branch,
                                Some(index),
                                text.clone(),
                                true,
                                why,
                                Some(Action::Branch { index: k, of: n, probability: p }),
                            );
                            if let Some(end) = self.apply(&mut branch, &verdict) {
                                done.push((branch.state, end));
                            } else {
                                work.push(branch);
                            }
                        }
                        break;
                    }
                    Flow::Next => {
                        self.step(&mut frame, Some(index), text, matched, why, action);
                        frame.rule += 1;
                    }
                    Flow::Verdict(verdict) => {
                        let action = action.or_else(|| verdict_action(&verdict));
                        self.step(&mut frame, Some(index), text, true, why, action);
                        if let Some(end) = self.apply(&mut frame, &verdict) {
                            done.push((frame.state, end));
                            break;
                        }
                    }
                }
            }
        }
        done
    }

    fn step(
        &self,
        frame: &mut Frame,
        rule_index: Option<usize>,
        rule: String,
        matched: bool,
        why: String,
        action: Option<Action>,
    ) {
        let table = self.index.table(frame.chain.0);
        self.steps.set(self.steps.get() + 1);
        frame.state.steps.push(Step {
            hook: self.hook,
            table: table.qualified_name(),
            chain: table.chains[frame.chain.1].name.clone(),
            rule_index,
            rule,
            matched,
            why,
            action,
            depth: frame.depth,
        });
    }

    /// Applies a verdict to a frame: `Some(end)` when the base chain is over for it.
    fn apply(&self, frame: &mut Frame, verdict: &NftVerdict) -> Option<ChainEnd> {
        match verdict {
            NftVerdict::Accept => {
                frame.state.accepted = true;
                Some(ChainEnd::Continue)
            }
            NftVerdict::Drop => Some(ChainEnd::Drop),
            NftVerdict::Reject => Some(ChainEnd::Reject),
            NftVerdict::Continue => {
                frame.rule += 1;
                None
            }
            NftVerdict::Return => match frame.stack.pop() {
                Some((chain, rule, depth)) => {
                    frame.chain = chain;
                    frame.rule = rule;
                    frame.depth = depth;
                    None
                }
                // `return` from a base chain applies its policy.
                None => {
                    let table = self.index.table(frame.chain.0);
                    let policy =
                        table.chains[frame.chain.1].base.map(|b| b.policy).unwrap_or_default();
                    Some(if policy == Policy::Drop { ChainEnd::Drop } else { ChainEnd::Continue })
                }
            },
            NftVerdict::Jump(name) | NftVerdict::Goto(name) => {
                let too_deep = frame.depth >= MAX_DEPTH
                    || (matches!(verdict, NftVerdict::Jump(_)) && frame.stack.len() >= JUMP_STACK);
                if too_deep {
                    let why =
                        "jumps nested too deep: a loop (the kernel refuses to load one)".to_owned();
                    self.step(frame, None, verdict.to_string(), true, why, Some(Action::Drop));
                    return Some(ChainEnd::Drop);
                }
                match self.index.chain(frame.chain.0, name) {
                    Some(target) => {
                        if matches!(verdict, NftVerdict::Jump(_)) {
                            frame.stack.push((frame.chain, frame.rule + 1, frame.depth));
                        }
                        frame.chain = target;
                        frame.rule = 0;
                        frame.depth += 1;
                    }
                    // A dangling reference (only in a hand-edited ruleset): skip the rule.
                    None => frame.rule += 1,
                }
                None
            }
        }
    }

    /// Evaluates a rule's statements in order: (matched, why, action, flow).
    fn eval_rule(
        &self,
        state: &mut PathState,
        statements: &[Statement],
        table: usize,
        rng: &mut Option<SeededRng>,
    ) -> (bool, String, Option<Action>, Flow) {
        let mut why: Vec<String> = Vec::new();
        let mut action = None;
        for statement in statements {
            match statement {
                Statement::Match(m) => {
                    match eval_match(m, &state.packet, &self.ctx, self.index, table) {
                        Ok((true, w)) => why.push(w),
                        Ok((false, w)) | Err(w) => {
                            why.push(w);
                            return (false, why.join("; "), None, Flow::Next);
                        }
                    }
                }
                Statement::Vmap { key, map: VmapSource::Anonymous(elements) }
                    if matches!(key.as_slice(), [Selector::NumgenRandom { .. }]) =>
                {
                    let n = match key.as_slice() {
                        [Selector::NumgenRandom { modulus }] => *modulus as usize,
                        _ => 0,
                    };
                    return self.numgen(n, elements, why, rng);
                }
                Statement::Vmap { key, map } => {
                    let mut values: Vec<Value> = Vec::with_capacity(key.len());
                    for sel in key {
                        match select(sel, &state.packet, &self.ctx) {
                            Ok(f) => values.push(f.to_value()),
                            Err(w) => {
                                why.push(w);
                                return (false, why.join("; "), None, Flow::Next);
                            }
                        }
                    }
                    let shown: Vec<String> = values.iter().map(ToString::to_string).collect();
                    let (found, source) = match map {
                        VmapSource::Named(name) => (
                            lookup_verdict(self.index.set(table, name), None, &values),
                            format!("@{name}"),
                        ),
                        VmapSource::Anonymous(elements) => {
                            (lookup_verdict(None, Some(elements), &values), "the map".to_owned())
                        }
                    };
                    match found {
                        Some(v) => {
                            why.push(format!("{} found in {source}: {v}", shown.join(" . ")));
                            return (true, why.join("; "), None, Flow::Verdict(v.clone()));
                        }
                        None => {
                            why.push(format!("{} not in {source}", shown.join(" . ")));
                            return (false, why.join("; "), None, Flow::Next);
                        }
                    }
                }
                Statement::SetMark(update) => {
                    let mark = &mut state.packet.mark;
                    *mark = match update {
                        MarkUpdate::Or(v) => *mark | v.value,
                        MarkUpdate::Xor(v) => *mark ^ v.value,
                        MarkUpdate::And(v) => *mark & v.value,
                        MarkUpdate::Set(v) => v.value,
                    };
                    why.push(format!("mark is now 0x{:08x}", *mark));
                    // Marked for masquerade (what `Trace::masquerade` reports), whether or not
                    // a postrouting hook later acts on it.
                    if *mark & self.ctx.settings.masquerade_mark_value() != 0 {
                        state.masquerade = true;
                    }
                    action = Some(Action::Mark { mark: *mark });
                }
                Statement::Dnat { addr, port } => {
                    state.packet.dst = *addr;
                    if port.is_some() {
                        state.packet.dport = *port;
                    }
                    state.dnat = Some((*addr, state.packet.dport));
                    why.push("destination rewritten; NAT ends the chain".to_owned());
                    let action = Some(Action::Dnat { ip: *addr, port: state.packet.dport });
                    return (true, why.join("; "), action, Flow::Verdict(NftVerdict::Accept));
                }
                Statement::Masquerade { fully_random } => {
                    state.masquerade = true;
                    why.push("source NAT to the outgoing interface's address".to_owned());
                    let action = Some(Action::Masquerade { random_fully: *fully_random });
                    return (true, why.join("; "), action, Flow::Verdict(NftVerdict::Accept));
                }
                Statement::Update { set, .. } => {
                    why.push(format!("client remembered in @{set}"));
                    action = Some(Action::Affinity { set: set.clone() });
                }
                Statement::Counter { .. } => {}
                Statement::Verdict(v) => {
                    if why.is_empty() {
                        why.push("unconditional".to_owned());
                    }
                    return (true, why.join("; "), action, Flow::Verdict(v.clone()));
                }
                Statement::Unsupported(text) => {
                    why.push(format!("`{text}` is not simulated; assumed not to match"));
                    return (false, why.join("; "), None, Flow::Next);
                }
            }
        }
        if why.is_empty() {
            why.push("no condition".to_owned());
        }
        (true, why.join("; "), action, Flow::Next)
    }

    /// `numgen random mod n vmap { … }`: every branch, or the one the seed draws.
    fn numgen(
        &self,
        n: usize,
        elements: &[Element],
        mut why: Vec<String>,
        rng: &mut Option<SeededRng>,
    ) -> (bool, String, Option<Action>, Flow) {
        let verdict_of = |k: usize| {
            let key = [Value::Integer(crate::backend::nftables::Integer::decimal(
                u32::try_from(k).unwrap_or(u32::MAX),
            ))];
            lookup_verdict(None, Some(elements), &key).cloned()
        };
        let picks: Vec<usize> = match rng {
            Some(rng) => vec![usize::try_from(rng.below(n as u64)).unwrap_or(0)],
            None => (0..n).collect(),
        };
        let branches: Vec<(usize, usize, NftVerdict)> =
            picks.into_iter().filter_map(|k| verdict_of(k).map(|v| (k, n, v))).collect();
        why.push(format!("numgen random mod {n}"));
        if branches.is_empty() {
            why.push("no element for the number drawn".to_owned());
            return (false, why.join("; "), None, Flow::Next);
        }
        (true, why.join("; "), None, Flow::Fork(branches))
    }
}
