//! The Cluster trace panel: one connection across the whole cluster — the form (from, to,
//! protocol, mode, kube-proxy per node, pods not ready, nodes without routes, seed or all
//! branches), the walkthrough's experiments as one-click buttons, the outcome in large type
//! and the hops.
//!
//! The trace comes computed ([`ClusterTracing`], shared with the Rules panel, whose rules a
//! hop's "show in Rules" button reveals); rows come from
//! [`crate::view_model::cluster_trace`]. kube-proxy per node is running, never ran, or
//! stopped after sync (its rules frozen at the text of that moment, with a resync button).
//! Not responsible for the per-node trace (`trace_panel`).

use std::rc::Rc;

use kpsim::settings::Mode;
use kpsim::sim::Choices;
use kpsim::sim::cluster::TraceRequest;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::cluster_tracing::{ClusterTracing, Traced};
use crate::components::path_diagram::PathDiagramView;
use crate::computed::{Computed, SameCluster};
use crate::state::Action;
use crate::view_model::cluster_trace::{ClusterTraceForm, HopRow, Preset, without_server_pod};
use crate::view_model::distribution::{
    self, DEFAULT_CONNECTIONS, HistogramView, MAX_CONNECTIONS, Method, parse_connections,
};
use crate::view_model::kube_proxy::{FrozenRules, KubeProxyChoice, NodeKubeProxy, frozen_status};

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub computed: Rc<Computed>,
    pub form: ClusterTraceForm,
    /// The trace of `form`, computed by the page (the Rules panel shares it).
    pub tracing: ClusterTracing,
    /// The editor's text and edit count now (how old frozen rules are).
    pub text: AttrValue,
    pub edits: u64,
    pub dispatch: Callback<Action>,
}

/// Which field of the form an input edits.
#[derive(Clone)]
enum Field {
    From,
    To,
    Protocol,
    Mode,
    StoppedEverywhere,
    /// The CNI's routes on this node, present or not.
    NoRoutes(String),
    /// This pod (`namespace/name`) ready or not.
    NotReady(String),
    Seed,
    AllBranches,
}

/// How many pods get a "not ready" switch; a big paste lists the first ones only.
const MAX_POD_SWITCHES: usize = 50;

fn toggle(set: &mut std::collections::BTreeSet<String>, key: &str, on: bool) {
    if on {
        set.insert(key.to_owned());
    } else {
        set.remove(key);
    }
}

/// A connection through the whole cluster.
#[component]
pub fn ClusterTracePanel(props: &Props) -> Html {
    let c = &props.computed;
    let ClusterTracing { prepared, network, traced } = props.tracing.clone();
    let connections = use_state(|| DEFAULT_CONNECTIONS.to_string());
    // One all-branches trace per text, experiments, request and N (the seed and the
    // all-branches switch do not change the spread).
    let histogram = {
        let (prepared, network) = (Rc::clone(&prepared), Rc::clone(&network));
        let asked = prepared.as_ref().as_ref().ok().map(|(request, experiments)| {
            let request = TraceRequest { choices: Choices::Seed(0), ..request.clone() };
            (request, experiments.clone())
        });
        let deps = (SameCluster(Rc::clone(c)), asked, (*connections).clone());
        use_memo(deps, move |(_, _, text)| {
            let n = parse_connections(text)?;
            let (request, _) = prepared.as_ref().as_ref().map_err(Clone::clone)?;
            let network = network.as_ref().as_ref().map_err(Clone::clone)?;
            distribution::run(network, request, n)
        })
    };
    let on_connections = {
        let connections = connections.clone();
        Callback::from(move |e: InputEvent| {
            connections.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on = |field: Field| {
        let (dispatch, form) = (props.dispatch.clone(), props.form.clone());
        Callback::from(move |e: Event| {
            let mut form = form.clone();
            let input = || e.target_unchecked_into::<HtmlInputElement>();
            match &field {
                Field::From => form.from = input().value(),
                Field::To => form.to = input().value(),
                Field::Protocol => {
                    form.protocol = e.target_unchecked_into::<HtmlSelectElement>().value()
                }
                Field::Mode => {
                    let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                    form.mode = Mode::parse(&v).unwrap_or_default();
                }
                Field::StoppedEverywhere => form.stopped_everywhere = input().checked(),
                Field::NoRoutes(node) => toggle(&mut form.no_routes_on, node, input().checked()),
                Field::NotReady(pod) => toggle(&mut form.not_ready, pod, input().checked()),
                Field::Seed => form.seed = input().value().trim().parse().unwrap_or(0),
                Field::AllBranches => form.all_branches = input().checked(),
            }
            dispatch.emit(Action::SetClusterTrace(form));
        })
    };
    let typed = |field: Field| {
        let cb = on(field);
        Callback::from(move |e: InputEvent| cb.emit(e.into()))
    };
    let now = FrozenRules { text: Rc::from(&*props.text), edit: props.edits };
    let delivered_to = match traced.as_ref() {
        Ok(t) => t.view.delivered_to.clone(),
        Err(_) => None,
    };
    let preset = |p: Preset| {
        let (dispatch, form, c) = (props.dispatch.clone(), props.form.clone(), Rc::clone(c));
        let (now, delivered_to) = (now.clone(), delivered_to.clone());
        Callback::from(move |_: MouseEvent| {
            let cluster = &c.analysis.cluster;
            dispatch.emit(Action::SetClusterTrace(p.apply(&form, cluster, c.family, &now)));
            if p == Preset::FreezeThenDeletePod
                && let Some(text) =
                    without_server_pod(&c.text, &c.analysis, delivered_to.as_deref())
            {
                dispatch.emit(Action::Edit(text));
            }
        })
    };
    let kube_proxy = |node: String| {
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(choice) = KubeProxyChoice::from_id(&value) {
                dispatch.emit(Action::SetKubeProxy(vec![node.clone()], choice));
            }
        })
    };
    let resync = |node: String| {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| {
            dispatch
                .emit(Action::SetKubeProxy(vec![node.clone()], KubeProxyChoice::StoppedAfterSync));
        })
    };
    let reveal = {
        let dispatch = props.dispatch.clone();
        let mode = traced.as_ref().as_ref().map_or(props.form.mode, |t| t.mode);
        Callback::from(move |(node, hop): (String, usize)| {
            dispatch.emit(Action::RevealHop { node, mode, hop });
        })
    };
    let f = &props.form;
    let protocol = f.protocol.to_ascii_lowercase();
    let all_pods = &c.analysis.cluster.pods;
    let pods: Vec<String> =
        all_pods.keys().take(MAX_POD_SWITCHES).map(ToString::to_string).collect();
    let hidden_pods = all_pods.len() - pods.len();
    html! {
        <section id="panel-cluster-trace" class="panel" aria-labelledby="panel-cluster-trace-title"
                 data-computed={c.id().to_string()}>
            <h2 id="panel-cluster-trace-title" tabindex="-1">{ "Cluster trace" }</h2>
            <p class="panel-lead">
                { "A whole connection: from the client's socket through veths, routes, every node's kube-proxy rules and conntrack, to a server and back. Leave from/to empty for a client pod and the first Service." }
            </p>
            <div class="experiment-buttons" role="group" aria-label="Experiments">
                { for Preset::ALL.into_iter().map(|p| html! {
                    <button type="button" id={format!("ct-preset-{}", p.id())} class="button"
                            title={p.hint()} onclick={preset(p)}>{ p.label() }</button>
                }) }
            </div>
            <form class="trace-form" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                <label for="ct-from">{ "from" }</label>
                <input id="ct-from" type="text" list="trace-sources" value={f.from.clone()}
                       placeholder="pod, node/NAME or IP (default: pod-client)" oninput={typed(Field::From)}
                       spellcheck="false" autocomplete="off" />
                <label for="ct-to">{ "to" }</label>
                <input id="ct-to" type="text" list="trace-targets" value={f.to.clone()}
                       placeholder="service:port, pod/NAME:PORT, IP or DNS name" oninput={typed(Field::To)}
                       spellcheck="false" autocomplete="off" />
                <label for="ct-protocol">{ "protocol" }</label>
                <select id="ct-protocol" onchange={on(Field::Protocol)}>
                    { for [("tcp", "tcp"), ("udp", "udp"), ("icmp", "icmp (ping)")].into_iter().map(|(v, l)| html! {
                        <option value={v} selected={protocol == v}>{ l }</option>
                    }) }
                </select>
                <label for="ct-mode">{ "mode" }</label>
                <select id="ct-mode" onchange={on(Field::Mode)}>
                    { for [Mode::Iptables, Mode::Nftables, Mode::Ipvs].into_iter().map(|m| html! {
                        <option value={m.as_str()} selected={f.mode == m}>{ m.as_str() }</option>
                    }) }
                </select>
                <label for="ct-seed">{ "seed" }</label>
                <input id="ct-seed" type="number" min="0" value={f.seed.to_string()}
                       disabled={f.all_branches} oninput={typed(Field::Seed)} />
                <label for="ct-all" class="checkbox">
                    <input id="ct-all" type="checkbox" checked={f.all_branches} onchange={on(Field::AllBranches)} />
                    { "all branches" }
                </label>
                <fieldset class="kube-proxy-stopped">
                    <legend>{ "kube-proxy per node" }</legend>
                    <label for="ct-stopped-all" class="checkbox">
                        <input id="ct-stopped-all" type="checkbox" checked={f.stopped_everywhere}
                               onchange={on(Field::StoppedEverywhere)} />
                        { "never ran on any node (no rules)" }
                    </label>
                    { for c.analysis.cluster.nodes.iter().map(|n| {
                        let id = format!("ct-kube-proxy-{}", n.name);
                        let state = f.kube_proxy(&n.name);
                        let choice = state.choice();
                        html! {
                            <div class="kube-proxy-node" data-node={n.name.clone()} data-kube-proxy={choice.id()}>
                                <label for={id.clone()}>{ n.name.clone() }</label>
                                <select id={id} data-node={n.name.clone()} disabled={f.stopped_everywhere}
                                        onchange={kube_proxy(n.name.clone())}>
                                    { for KubeProxyChoice::ALL.into_iter().map(|k| html! {
                                        <option value={k.id()} selected={k == choice}>{ k.label() }</option>
                                    }) }
                                </select>
                                <label for={format!("ct-no-routes-{}", n.name)} class="checkbox no-routes"
                                       title="The node loses the CNI's routes to the other nodes' pod CIDRs: pod IPs there follow the default route out of the cluster">
                                    <input id={format!("ct-no-routes-{}", n.name)} type="checkbox"
                                           checked={f.no_routes_on.contains(&n.name)}
                                           onchange={on(Field::NoRoutes(n.name.clone()))} />
                                    { "no pod routes" }
                                </label>
                                if let NodeKubeProxy::Frozen(frozen) = state {
                                    <span class="frozen-status small" role="status">
                                        { frozen_status(frozen, &props.text, props.edits) }
                                    </span>
                                    <button type="button" class="button small"
                                            id={format!("ct-resync-{}", n.name)}
                                            title="kube-proxy syncs once more: its rules catch up with the manifests as they are now, then stay frozen again"
                                            onclick={resync(n.name.clone())}>{ "resync" }</button>
                                }
                            </div>
                        }
                    }) }
                </fieldset>
                <fieldset class="pods-not-ready">
                    <legend>{ "not ready (readiness probe fails)" }</legend>
                    { for pods.iter().map(|pod| {
                        let id = format!("ct-not-ready-{}", pod.replace('/', "-"));
                        html! {
                            <label for={id.clone()} class="checkbox" data-pod={pod.clone()}>
                                <input {id} type="checkbox" checked={f.not_ready.contains(pod)}
                                       onchange={on(Field::NotReady(pod.clone()))} />
                                { pod.clone() }
                            </label>
                        }
                    }) }
                    if hidden_pods > 0 {
                        <p class="small muted">{ format!("and {hidden_pods} more pods (the first {MAX_POD_SWITCHES} are listed)") }</p>
                    }
                </fieldset>
            </form>
            // Pods marked not ready change the rules kube-proxy writes, so the Rules panel (the
            // manifests as written) would not hold the rule a hop points at.
            { view(&traced, f.not_ready_in(&c.analysis.cluster).is_empty().then_some(&reveal)) }
            <section id="ct-histogram" class="ct-histogram" aria-labelledby="ct-histogram-title">
                <h3 id="ct-histogram-title">{ "N connections" }</h3>
                <p class="small muted">
                    { "How N such connections spread: who answers how often. Computed exactly from every branch of kube-proxy's random choices; traced with seeds 0..N-1 only when there are too many branches or the DNS answer is itself random." }
                </p>
                <label for="ct-connections">{ "connections" }</label>
                { " " }
                <input id="ct-connections" type="number" min="1" max={MAX_CONNECTIONS.to_string()}
                       value={(*connections).clone()} oninput={on_connections} />
                { histogram_view(&histogram) }
            </section>
        </section>
    }
}

fn histogram_view(result: &Result<HistogramView, String>) -> Html {
    let h = match result {
        Ok(h) => h,
        Err(why) => {
            return html! { <p id="ct-histogram-error" class="notice error" role="status">{ why }</p> };
        }
    };
    html! {
        <>
            <p id="ct-histogram-summary" class="small" data-method={match h.method {
                Method::Exact => "exact",
                Method::Sampled => "sampled",
            }}>{ &h.summary }</p>
            <table id="ct-histogram-bars" class="grid histogram">
                <thead><tr><th>{ "Answered by" }</th><th>{ "Connections" }</th><th>{ "Share" }</th></tr></thead>
                <tbody>
                    { for h.bars.iter().map(|b| html! {
                        <tr class={classes!("histogram-bar", b.outcome)} data-label={b.label.clone()}
                            data-count={b.count.to_string()}>
                            <td class="mono">{ &b.label }</td>
                            <td>
                                <meter min="0" max={h.connections.to_string()} value={b.count.to_string()}>
                                    { b.count.to_string() }
                                </meter>
                                { format!(" {}", b.count) }
                            </td>
                            <td>{ format!("{:.1}%", b.percent) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </>
    }
}

fn view(result: &Result<Traced, String>, reveal: Option<&Callback<(String, usize)>>) -> Html {
    let (v, diagram) = match result {
        Ok(t) => (&t.view, &t.diagram),
        Err(why) => {
            return html! { <p id="ct-error" class="notice error" role="status">{ why }</p> };
        }
    };
    html! {
        <div id="ct-result" class="trace-result" data-outcome={v.outcome}>
            <p class="trace-route muted">{ &v.route }</p>
            <p id="ct-outcome" class={classes!("verdict", "ct-outcome", v.outcome)} role="status">
                <strong class="big">{ &v.headline }</strong>
            </p>
            <p id="ct-summary" class="small">{ &v.summary }</p>
            <PathDiagramView diagram={Rc::clone(diagram)} />
            if !v.flows.is_empty() {
                <table id="ct-flows" class="grid">
                    <thead><tr><th>{ "Share" }</th><th>{ "Outcome" }</th><th>{ "Answered by" }</th></tr></thead>
                    <tbody>
                        { for v.flows.iter().map(|f| html! {
                            <tr class="flow" title={f.summary.clone()}>
                                <td>{ format!("{:.1}%", f.percent) }</td>
                                <td>{ f.outcome }</td>
                                <td>{ f.delivered_to.clone().unwrap_or_default() }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
            if let Some(dns) = &v.dns {
                <details id="ct-dns" class="trace-path">
                    <summary>{ format!("DNS: {} — {}", dns.name, dns.result) }</summary>
                    { hops(&dns.hops, None) }
                </details>
            }
            <details id="ct-hops" class="trace-path" open=true>
                <summary>{ format!("Hops ({})", v.hops.len()) }</summary>
                { hops(&v.hops, reveal) }
            </details>
        </div>
    }
}

/// The hop list; with `reveal`, a hop kube-proxy acted in has a button that shows its rule in
/// the Rules panel (the DNS query's hops have none: their node passes are another flow's).
fn hops(rows: &[HopRow], reveal: Option<&Callback<(String, usize)>>) -> Html {
    html! {
        <ol class="hops ct-hops">
            { for rows.iter().map(|h| html! {
                <li class={classes!("hop", "ct-hop", if h.reply { "reply" } else { "request" })}
                    data-actor={h.actor}>
                    <span class={classes!("badge", h.actor_class)}>{ h.actor }</span>
                    { " " }<span class="hop-where mono">{ &h.place }</span>
                    <div class="hop-text">{ &h.text }</div>
                    if let Some(nat) = &h.nat {
                        <div class="hop-nat mono small">{ nat }</div>
                    }
                    if let Some(rule) = &h.rule {
                        <div class="hop-rule mono small">{ rule }</div>
                    }
                    if let (Some(reveal), Some(node)) = (reveal, &h.rule_node) {
                        <button type="button" class="button small hop-show-rule"
                                data-hop={h.number.to_string()}
                                onclick={reveal.reform({
                                    let (node, hop) = (node.clone(), h.number);
                                    move |_: MouseEvent| (node.clone(), hop)
                                })}>
                            { format!("show in Rules ({node})") }
                        </button>
                    }
                </li>
            }) }
        </ol>
    }
}
