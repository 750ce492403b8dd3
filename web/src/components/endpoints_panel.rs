//! The Endpoints panel: per Service port, the endpoints kube-proxy on the selected node
//! uses, why each is in or out, and the findings about Services that do not work.

use std::rc::Rc;

use kpsim::settings::Mode;
use yew::prelude::*;

use crate::components::diagnostic_list::severity_class;
use crate::computed::Computed;
use crate::view_model::diagnostics::DiagnosticRow;
use crate::view_model::endpoints::{EndpointsView, ServicePortView, endpoints_view};

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub computed: Rc<Computed>,
    pub node: AttrValue,
    pub mode: Mode,
}

/// Service ports drawn before the "show all" button: a paste of a thousand Services would
/// otherwise cost every keystroke tens of thousands of elements.
const SHOWN: usize = 100;

/// Endpoints per Service port on one node.
#[component]
pub fn EndpointsPanel(props: &Props) -> Html {
    let view: Rc<EndpointsView> = use_memo(
        (Rc::clone(&props.computed), props.node.clone(), props.mode),
        |(c, node, mode)| endpoints_view(&c.analysis, &c.rules(node, *mode).plan),
    );
    html! {
        <section id="panel-endpoints" class="panel" aria-labelledby="panel-endpoints-title"
                 data-computed={props.computed.id().to_string()}>
            <h2 id="panel-endpoints-title" tabindex="-1">{ "Endpoints" }</h2>
            <EndpointsContents {view} />
        </section>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct ContentsProps {
    /// Compared by value: an edit that changes nothing here redraws nothing.
    view: Rc<EndpointsView>,
}

/// The panel's ports and the Services without rules, the first [`SHOWN`] of each until the
/// reader asks for all.
#[component]
fn EndpointsContents(props: &ContentsProps) -> Html {
    let view = &props.view;
    let all = use_state(|| false);
    let limit = if *all { usize::MAX } else { SHOWN };
    let hidden =
        view.ports.len().saturating_sub(limit) + view.without_rules.len().saturating_sub(limit);
    let show_all = {
        let all = all.clone();
        Callback::from(move |_: MouseEvent| all.set(true))
    };
    html! {
        <>
            <p class="panel-lead">
                { format!("What kube-proxy on {} sends each Service port to, and why each endpoint is in or out.", view.node) }
            </p>
            if view.ports.is_empty() {
                <p class="empty">{ "No Service port gets rules on this node." }</p>
            }
            { for view.ports.iter().take(limit).map(port) }
            if !view.without_rules.is_empty() {
                <h3>{ "Services without rules" }</h3>
                <ul class="without-rules">
                    { for view.without_rules.iter().take(limit).map(|n| html! {
                        <li data-service={n.name.clone()}>
                            <strong>{ &n.name }</strong>{ ": " }{ &n.why }
                            { findings(&n.findings) }
                        </li>
                    }) }
                </ul>
            }
            if hidden > 0 {
                <p class="show-all">
                    <button id="endpoints-show-all" type="button" onclick={show_all}>
                        { format!("Show all ({hidden} more)") }
                    </button>
                </p>
            }
        </>
    }
}

fn port(p: &ServicePortView) -> Html {
    html! {
        <article class={classes!("service-port", p.built_in.then_some("built-in"))} data-port={p.name.clone()}>
            <h3>
                <span class="mono">{ &p.name }</span>
                <span class="muted mono">{ format!(" → {}", p.address) }</span>
                if p.built_in { <span class="tag">{ "built in" }</span> }
            </h3>
            if !p.facts.is_empty() {
                <p class="muted small">{ p.facts.join(" · ") }</p>
            }
            { findings(&p.findings) }
            if let Some(o) = &p.outcome {
                <p class={classes!("outcome", o.verdict)} role="note">
                    <strong>{ o.verdict }</strong>{ ": " }{ &o.text }
                </p>
            }
            if !p.endpoints.is_empty() {
                <table class="grid endpoints">
                    <thead><tr><th>{ "Endpoint" }</th><th>{ "Pod" }</th><th>{ "Node" }</th><th>{ "" }</th><th>{ "Why" }</th></tr></thead>
                    <tbody>
                        { for p.endpoints.iter().map(|e| html! {
                            <tr class={classes!("endpoint", if e.used { "in" } else { "out" })}>
                                <td class="mono">{ &e.address }</td>
                                <td class="pod">{ e.pod.clone().unwrap_or_default() }</td>
                                <td>{ e.node.clone().unwrap_or_default() }</td>
                                <td><span class={classes!("use", if e.used { "in" } else { "out" })}>{ if e.used { "in" } else { "out" } }</span></td>
                                <td class="why">{ &e.why }<span class="muted">{ format!(" ({})", e.conditions) }</span></td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </article>
    }
}

fn findings(rows: &[DiagnosticRow]) -> Html {
    if rows.is_empty() {
        return html! {};
    }
    html! {
        <ul class="findings">
            { for rows.iter().map(|d| html! {
                <li class={classes!("finding", severity_class(d.severity))}>
                    <strong>{ "Why this Service may not work: " }</strong>{ &d.message }
                    if d.line != 0 { <span class="muted">{ format!(" (line {})", d.line) }</span> }
                    if !d.hint.is_empty() { <div class="hint">{ format!("hint: {}", d.hint) }</div> }
                </li>
            }) }
        </ul>
    }
}
