//! The Rules panel: one node's ruleset as a jump graph of collapsible chains (each chain name
//! explained on hover, the rules the traces matched highlighted, the Cluster trace's hop
//! numbers beside the rules that acted in them), the spelling switch (what kube-proxy writes /
//! what the node shows), and the whole text with Copy and Download.
//!
//! On a node where the Cluster trace's kube-proxy stopped after a sync, it shows the frozen
//! rules (what is on the node), with a note. A "show in Rules" click on a hop opens the
//! chains down to that hop's rule and focuses it.

use std::collections::BTreeMap;
use std::rc::Rc;

use kpsim::settings::Mode;
use web_sys::HtmlDetailsElement;
use yew::prelude::*;

use crate::browser;
use crate::computed::{Computed, SameCluster};
use crate::state::{Action, Reveal};
use crate::view_model::rules::{
    ActedRule, ChainView, RulesView, Spelling, TableView, chains_to_open, pieces, rules_view,
};

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub computed: Rc<Computed>,
    pub node: AttrValue,
    pub mode: Mode,
    pub spelling: Spelling,
    /// Chains the user opened or closed (`key` → open).
    pub chains: Rc<BTreeMap<String, bool>>,
    /// Rules the traces matched on this node and mode, with the Cluster trace hops each
    /// acted in.
    pub acted: Rc<BTreeMap<ActedRule, Vec<usize>>>,
    /// The text kube-proxy last synced on this node, when it stopped after that sync, and
    /// what to say about it.
    pub frozen: Option<(Rc<Computed>, AttrValue)>,
    /// Something else about kube-proxy on this node in the Cluster trace (it never ran).
    pub note: Option<AttrValue>,
    /// The hop whose rule to show.
    pub reveal: Option<Reveal>,
    pub dispatch: Callback<Action>,
}

/// The ruleset of the selected node.
#[component]
pub fn RulesPanel(props: &Props) -> Html {
    // The rules on the node: the frozen ones when kube-proxy stopped after a sync.
    let source = props.frozen.as_ref().map_or(&props.computed, |(c, _)| c);
    // Rules depend on the cluster only: an edit that leaves it as it was reuses the view.
    let view: Rc<RulesView> = use_memo(
        (
            SameCluster(Rc::clone(source)),
            props.node.clone(),
            props.mode,
            props.spelling,
            Rc::clone(&props.acted),
        ),
        |(SameCluster(c), node, mode, spelling, acted)| {
            let rules = c.rules(node, *mode);
            rules_view(node, &rules.ruleset, &rules.plan.service_ports, *spelling, acted)
        },
    );
    // A hop to reveal: open the chains down to its rule, then (once drawn) focus it.
    {
        let (dispatch, chains, view) =
            (props.dispatch.clone(), Rc::clone(&props.chains), Rc::clone(&view));
        let done = use_mut_ref(|| 0u64);
        // Runs when the hop to reveal or the open chains change (the view is this render's:
        // a reveal also selects the node, so it is already the node's view).
        use_effect_with((props.reveal, chains), move |(reveal, chains)| {
            let Some(reveal) = reveal.filter(|r| r.seq != *done.borrow()) else { return };
            let closed: Vec<String> = chains_to_open(&view, reveal.hop)
                .into_iter()
                .filter(|key| !chain_open(&view, chains, key))
                .collect();
            if !closed.is_empty() {
                dispatch.emit(Action::OpenChains(closed));
                return;
            }
            *done.borrow_mut() = reveal.seq;
            browser::focus_selector(&format!(
                "#panel-rules li.rule[data-hops~=\"{}\"]",
                reveal.hop
            ));
        });
    }
    let spelling_input = |spelling: Spelling| {
        let dispatch = props.dispatch.clone();
        let onchange =
            Callback::from(move |_: Event| dispatch.emit(Action::SelectSpelling(spelling)));
        let id = match spelling {
            Spelling::Written => "spelling-written",
            Spelling::OnNode => "spelling-on-node",
        };
        html! {
            <label for={id} class="radio">
                <input type="radio" name="spelling" id={id} checked={props.spelling == spelling} {onchange} />
                { spelling.label(view.mode) }
            </label>
        }
    };
    let copy = {
        let view = Rc::clone(&view);
        Callback::from(move |_: MouseEvent| browser::copy_text(&view.text))
    };
    let download = {
        let view = Rc::clone(&view);
        Callback::from(move |_: MouseEvent| {
            if let Err(why) = browser::download(&view.file_name, &view.text) {
                web_sys::console::warn_1(&format!("download failed: {why}").into());
            }
        })
    };
    let ctx = Ctx { view: &view, chains: &props.chains, dispatch: &props.dispatch };
    html! {
        <section id="panel-rules" class="panel" aria-labelledby="panel-rules-title"
                 data-computed={props.computed.id().to_string()} data-mode={view.mode.as_str()}>
            <h2 id="panel-rules-title" tabindex="-1">{ "Rules" }</h2>
            <p class="panel-lead">
                { format!(
                    "What kube-proxy on {} writes in {} mode: {} chains, {} rules. Chains jump to chains: open and close them; hover a chain name to see what it stands for.",
                    view.node, view.mode.as_str(), view.chain_count, view.rule_count
                ) }
                if !props.acted.is_empty() {
                    <span class="acted-legend">{ " Rules the traces matched are highlighted; numbers are the Cluster trace's hops." }</span>
                }
            </p>
            if let Some((_, note)) = &props.frozen {
                <p id="rules-frozen" class="notice rules-frozen" role="status">{ note.clone() }</p>
            }
            if let Some(note) = &props.note {
                <p id="rules-kube-proxy-note" class="notice" role="status">{ note.clone() }</p>
            }
            <div class="rules-toolbar">
                <fieldset class="spellings">
                    <legend>{ "show" }</legend>
                    { spelling_input(Spelling::Written) }
                    { spelling_input(Spelling::OnNode) }
                </fieldset>
                <button id="rules-copy" type="button" onclick={copy}>{ "Copy" }</button>
                <button id="rules-download" type="button" onclick={download}
                        title={format!("Save as {}", view.file_name)}>{ "Download" }</button>
            </div>
            <div id="rules-graph" class="rules-graph">
                { for view.tables.iter().map(|t| table(&ctx, t)) }
            </div>
            <details id="rules-full" class="rules-full">
                <summary>{ format!("The whole ruleset as {}", view.spelling.label(view.mode)) }</summary>
                <pre id="rules-text" class="rules-text">{ &view.text }</pre>
            </details>
        </section>
    }
}

struct Ctx<'a> {
    view: &'a RulesView,
    chains: &'a BTreeMap<String, bool>,
    dispatch: &'a Callback<Action>,
}

fn table(ctx: &Ctx<'_>, t: &TableView) -> Html {
    html! {
        <div class="rules-table" data-table={t.title.clone()}>
            <h3 class="mono">{ format!("table {}", t.title) }</h3>
            { for t.roots.iter().map(|&i| chain(ctx, t, i)) }
        </div>
    }
}

/// A chain and, under each rule that owns a jump, the chain it jumps to.
fn chain(ctx: &Ctx<'_>, t: &TableView, index: usize) -> Html {
    let Some(c) = t.chains.get(index) else { return html! {} };
    let open = ctx.chains.get(&c.key).copied().unwrap_or(c.open_by_default);
    let hops = |r: &[usize]| r.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
    let ontoggle = {
        let (dispatch, key) = (ctx.dispatch.clone(), c.key.clone());
        Callback::from(move |e: Event| {
            let details: HtmlDetailsElement = e.target_unchecked_into();
            // The browser also reports the state this render set: only a change is news.
            if details.open() != open {
                dispatch.emit(Action::SetChainOpen(key.clone(), details.open()));
            }
        })
    };
    html! {
        <details class={classes!("chain", c.acted.then_some("acted"))} data-chain={c.name.clone()}
                 {open} {ontoggle}>
            <summary>
                { chain_name(c) }
                if !c.header.is_empty() { <span class="chain-header muted">{ format!(" {}", c.header) }</span> }
                <span class="muted small">{ format!(" {} rule{}", c.rules.len(), if c.rules.len() == 1 { "" } else { "s" }) }</span>
            </summary>
            // A closed chain's rules are drawn once it is opened: a large ruleset stays cheap.
            if open {
                if let Some(e) = &c.explanation {
                    <p class="chain-explanation">{ e }</p>
                }
                <ol class="rules">
                    { for c.rules.iter().map(|r| html! {
                        <li class={classes!("rule", r.acted.then_some("acted"), (!r.hops.is_empty()).then_some("hop-acted"))}
                            data-hops={(!r.hops.is_empty()).then(|| hops(&r.hops))}
                            tabindex={(!r.hops.is_empty()).then_some("-1")}>
                            { for r.hops.iter().map(|h| html! {
                                <span class="hop-badge" title={format!("Cluster trace hop {h}")}>{ h.to_string() }</span>
                            }) }
                            <code class="rule-text">{ rule_text(ctx, &r.text) }</code>
                            if !r.note.is_empty() { <span class="rule-note muted small">{ format!(" ({})", r.note) }</span> }
                            { for r.jumps.iter().filter(|j| j.owns).map(|j| html! {
                                <div class="jump">
                                    if let Some(label) = &j.label { <span class="jump-label mono muted">{ format!("{label} →") }</span> }
                                    { chain(ctx, t, j.chain) }
                                </div>
                            }) }
                        </li>
                    }) }
                    if c.rules.is_empty() { <li class="empty muted">{ "(no rules)" }</li> }
                </ol>
            }
        </details>
    }
}

/// Whether the chain `key` is drawn open.
fn chain_open(view: &RulesView, chains: &BTreeMap<String, bool>, key: &str) -> bool {
    let by_default = view
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .find(|c| c.key == key)
        .is_some_and(|c| c.open_by_default);
    chains.get(key).copied().unwrap_or(by_default)
}

fn chain_name(c: &ChainView) -> Html {
    match &c.explanation {
        Some(e) => html! { <span class="chain-name mono" title={e.clone()}>{ &c.name }</span> },
        None => html! { <span class="chain-name mono">{ &c.name }</span> },
    }
}

/// A rule's text with every chain name in it explained on hover.
fn rule_text(ctx: &Ctx<'_>, text: &str) -> Html {
    html! {
        { for pieces(text, &ctx.view.explanations).into_iter().map(|p| match p.explanation {
            Some(e) => html! { <abbr class="chain-ref" title={e.to_owned()}>{ p.text.to_owned() }</abbr> },
            None => html! { { p.text.to_owned() } },
        }) }
    }
}
