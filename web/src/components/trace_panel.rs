//! The Trace panel: the form (from, to, protocol, seed or all branches) and the node trace
//! it yields — verdict, destinations, masquerade, and the hop list per path.
//!
//! The trace itself is computed by the parent (the Rules panel highlights what it matched);
//! this component only shows it and reports form changes.

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::state::Action;
use crate::view_model::trace::{NodeTraceView, PathView, Resolved, Suggestions, TraceForm};

/// The form resolved and traced, or why it could not be.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceResult {
    pub resolved: Option<Resolved>,
    pub view: Result<NodeTraceView, String>,
}

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub form: TraceForm,
    pub result: Rc<TraceResult>,
    pub suggestions: Rc<Suggestions>,
    /// The computation the result belongs to (`data-computed`, for tests).
    pub computed_id: u64,
    pub dispatch: Callback<Action>,
}

/// Which field of the form an input edits.
#[derive(Clone, Copy)]
enum Field {
    From,
    To,
    Protocol,
    Seed,
    AllBranches,
}

/// A packet through one node's rules.
#[component]
pub fn TracePanel(props: &Props) -> Html {
    let on = |field: Field| {
        let (dispatch, form) = (props.dispatch.clone(), props.form.clone());
        Callback::from(move |e: Event| {
            let mut form = form.clone();
            match field {
                Field::From => form.from = e.target_unchecked_into::<HtmlInputElement>().value(),
                Field::To => form.to = e.target_unchecked_into::<HtmlInputElement>().value(),
                Field::Protocol => {
                    form.protocol = e.target_unchecked_into::<HtmlSelectElement>().value()
                }
                Field::Seed => {
                    form.seed = e
                        .target_unchecked_into::<HtmlInputElement>()
                        .value()
                        .trim()
                        .parse()
                        .unwrap_or(0);
                }
                Field::AllBranches => {
                    form.all_branches = e.target_unchecked_into::<HtmlInputElement>().checked();
                }
            }
            dispatch.emit(Action::SetTrace(form));
        })
    };
    // Text fields update on every keystroke (`input`), the others on `change`.
    let typed = |field: Field| {
        let cb = on(field);
        Callback::from(move |e: InputEvent| cb.emit(e.into()))
    };
    let f = &props.form;
    let protocol = f.protocol.to_ascii_lowercase();
    html! {
        <section id="panel-trace" class="panel" aria-labelledby="panel-trace-title"
                 data-computed={props.computed_id.to_string()}>
            <h2 id="panel-trace-title" tabindex="-1">{ "Trace" }</h2>
            <p class="panel-lead">
                { "One packet — the first of a new connection — through the kube-proxy rules of the node it enters. Leave a field empty for the natural choice." }
            </p>
            <form class="trace-form" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                <label for="trace-from">{ "from" }</label>
                <input id="trace-from" type="text" list="trace-sources" value={f.from.clone()}
                       placeholder="pod, node or IP (default: a client pod)" oninput={typed(Field::From)}
                       spellcheck="false" autocomplete="off" />
                <label for="trace-to">{ "to" }</label>
                <input id="trace-to" type="text" list="trace-targets" value={f.to.clone()}
                       placeholder="service:port, pod:port or IP:port" oninput={typed(Field::To)}
                       spellcheck="false" autocomplete="off" />
                <label for="trace-protocol">{ "protocol" }</label>
                <select id="trace-protocol" onchange={on(Field::Protocol)}>
                    { for ["tcp", "udp", "sctp", "icmp"].into_iter().map(|p| html! {
                        <option value={p} selected={protocol == p}>{ p }</option>
                    }) }
                </select>
                <label for="trace-seed">{ "seed" }</label>
                <input id="trace-seed" type="number" min="0" value={f.seed.to_string()}
                       disabled={f.all_branches} oninput={typed(Field::Seed)} />
                <label for="trace-all" class="checkbox">
                    <input id="trace-all" type="checkbox" checked={f.all_branches} onchange={on(Field::AllBranches)} />
                    { "all branches" }
                </label>
                <datalist id="trace-sources">
                    { for props.suggestions.sources.iter().map(|(v, l)| html! { <option value={v.clone()} label={l.clone()} /> }) }
                </datalist>
                <datalist id="trace-targets">
                    { for props.suggestions.targets.iter().map(|(v, l)| html! { <option value={v.clone()} label={l.clone()} /> }) }
                </datalist>
            </form>
            { result(&props.result) }
        </section>
    }
}

fn result(r: &TraceResult) -> Html {
    let v = match &r.view {
        Ok(v) => v,
        Err(why) => {
            return html! { <p id="trace-error" class="notice error" role="status">{ why }</p> };
        }
    };
    html! {
        <div id="trace-result" class="trace-result" data-verdict={v.verdict_class}>
            if let Some(resolved) = &r.resolved {
                <p class="trace-route muted">
                    { format!("{} → {} · traced on node {} ({} mode) · ", resolved.from_label, resolved.to_label, v.node, v.mode.as_str()) }
                    <code>{ &v.packet }</code>
                    { format!(" · {}", v.entry) }
                </p>
            }
            <p id="trace-verdict" class={classes!("verdict", v.verdict_class)} role="status">
                <strong>{ &v.verdict }</strong>{ " " }{ &v.summary }
            </p>
            if !v.destinations.is_empty() {
                <table id="trace-destinations" class="grid">
                    <thead><tr><th>{ "Destination" }</th><th>{ "Pod" }</th><th>{ "Node" }</th><th>{ "Share" }</th></tr></thead>
                    <tbody>
                        { for v.destinations.iter().map(|d| html! {
                            <tr class="destination">
                                <td class="mono">{ &d.address }</td>
                                <td class="pod">{ d.pod.clone().unwrap_or_default() }</td>
                                <td>{ d.node.clone().unwrap_or_default() }</td>
                                <td>{ format!("{:.0}%", d.percent) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
            <p class="masquerade">
                { if v.masquerade { "Masquerade: yes — the source address is rewritten to the node's on the way out." } else { "Masquerade: no — the source address is kept." } }
            </p>
            { for v.paths.iter().enumerate().map(|(i, p)| path(i, p, v.paths.len())) }
        </div>
    }
}

fn path(i: usize, p: &PathView, count: usize) -> Html {
    let title = if count == 1 {
        format!("Hops: {}", p.outcome)
    } else {
        format!("Path {} ({:.1}%): {}", i + 1, p.percent, p.outcome)
    };
    let matched = p.steps.iter().filter(|s| s.matched).count();
    html! {
        <details class="trace-path" open={i == 0}>
            <summary>{ title }<span class="muted small">{ format!(" — {matched} of {} rules matched", p.steps.len()) }</span></summary>
            <ol class="hops">
                { for p.steps.iter().map(|s| html! {
                    <li class={classes!("hop", if s.matched { "matched" } else { "skipped" }, format!("depth-{}", s.depth.min(6)))}>
                        <span class="hop-where mono">{ format!("{} {}/{} #{}", s.hook, s.table, s.chain, s.position) }</span>
                        if !s.action.is_empty() { <span class="hop-action">{ format!(" {}", s.action) }</span> }
                        <div class="hop-rule mono small">{ &s.rule }</div>
                        if !s.why.is_empty() { <div class="hop-why muted small">{ &s.why }</div> }
                    </li>
                }) }
            </ol>
        </details>
    }
}
