//! The Rules panel: one node's ruleset as a jump graph of collapsible chains (each chain name
//! explained on hover, the rules the trace matched highlighted), the spelling switch
//! (what kube-proxy writes / what the node shows), and the whole text with Copy and Download.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use kpsim::settings::Mode;
use web_sys::HtmlDetailsElement;
use yew::prelude::*;

use crate::browser;
use crate::computed::Computed;
use crate::state::Action;
use crate::view_model::rules::{
    ActedRule, ChainView, RulesView, Spelling, TableView, pieces, rules_view,
};

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub computed: Rc<Computed>,
    pub node: AttrValue,
    pub mode: Mode,
    pub spelling: Spelling,
    /// Chains the user opened or closed (`key` → open).
    pub chains: Rc<BTreeMap<String, bool>>,
    /// Rules the trace matched on this node and mode.
    pub acted: Rc<BTreeSet<ActedRule>>,
    pub dispatch: Callback<Action>,
}

/// The ruleset of the selected node.
#[component]
pub fn RulesPanel(props: &Props) -> Html {
    let view: Rc<RulesView> = use_memo(
        (
            Rc::clone(&props.computed),
            props.node.clone(),
            props.mode,
            props.spelling,
            Rc::clone(&props.acted),
        ),
        |(c, node, mode, spelling, acted)| {
            let rules = c.rules(node, *mode);
            rules_view(node, &rules.ruleset, &rules.plan.service_ports, *spelling, acted)
        },
    );
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
                    <span class="acted-legend">{ " Rules the trace matched are highlighted." }</span>
                }
            </p>
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
                        <li class={classes!("rule", r.acted.then_some("acted"))}>
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
