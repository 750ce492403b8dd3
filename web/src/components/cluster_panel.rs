//! The Cluster panel: nodes with their pods (IP, labels, ready), then Services (type,
//! ClusterIP, ports), every filled-in value badged.

use std::rc::Rc;

use yew::prelude::*;

use crate::components::valued::ValuedText;
use crate::computed::Computed;
use crate::view_model::cluster::{ClusterView, PodRow, ServiceRow, cluster_view};

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub computed: Rc<Computed>,
}

/// Nodes and Services as the API server would hold them.
#[component]
pub fn ClusterPanel(props: &Props) -> Html {
    let view: Rc<ClusterView> = use_memo(Rc::clone(&props.computed), |c| cluster_view(&c.analysis));
    html! {
        <section id="panel-cluster" class="panel" aria-labelledby="panel-cluster-title"
                 data-computed={props.computed.id().to_string()}>
            <h2 id="panel-cluster-title" tabindex="-1">{ "Cluster" }</h2>
            <p class="panel-lead">
                { "What the API server holds after your objects were admitted. Values you did not write are badged: hover a badge to see who filled it in." }
            </p>
            <ClusterContents {view} />
        </section>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct ContentsProps {
    /// Compared by value: an edit that leaves the cluster as it was (a comment, a blank
    /// line) redraws nothing, however many Services there are.
    view: Rc<ClusterView>,
}

/// The panel's nodes and Services.
#[component]
fn ClusterContents(props: &ContentsProps) -> Html {
    let view = &props.view;
    html! {
        <>
            <div class="nodes">
                { for view.nodes.iter().map(|n| html! {
                    <article class="node-card" data-node={n.name.clone()}>
                        <h3>
                            { &n.name }
                            if !n.role.is_empty() { <span class="tag">{ n.role }</span> }
                            if n.assumed {
                                <span class="badge badge-defaulted" tabindex="0"
                                      title="not in your input: minikube's default three-node layout">{ "assumed" }</span>
                            }
                        </h3>
                        <p class="node-facts">
                            { format!("InternalIP {} · podCIDR ", n.ip) }
                            <ValuedText value={n.pod_cidr.clone()} />
                        </p>
                        { pods_table(&n.pods) }
                    </article>
                }) }
            </div>
            if !view.unscheduled.is_empty() {
                <h3>{ "Not scheduled" }</h3>
                { pods_table(&view.unscheduled) }
            }
            <h3>{ "Services" }</h3>
            if view.services.is_empty() {
                <p class="empty">{ "No Service." }</p>
            } else {
                <table id="services" class="grid">
                    <thead><tr>
                        <th>{ "Service" }</th><th>{ "Type" }</th><th>{ "ClusterIP" }</th>
                        <th>{ "Ports" }</th><th>{ "Selector" }</th>
                    </tr></thead>
                    <tbody>
                        { for view.services.iter().map(|s| html! {
                            <ServiceRowItem key={s.key.clone()} row={s.clone()} />
                        }) }
                    </tbody>
                </table>
            }
        </>
    }
}

fn pods_table(pods: &[PodRow]) -> Html {
    if pods.is_empty() {
        return html! { <p class="empty">{ "No pod." }</p> };
    }
    html! {
        <table class="grid pods">
            <thead><tr><th>{ "Pod" }</th><th>{ "IP" }</th><th>{ "Ready" }</th><th>{ "Labels" }</th></tr></thead>
            <tbody>
                { for pods.iter().map(|p| html! {
                    <tr data-pod={p.key.clone()} class={classes!((!p.is_ready).then_some("not-ready"))}>
                        <td class="name">
                            { &p.name }
                            if let Some(note) = &p.origin_note {
                                <div class="muted small">{ note }</div>
                            }
                            if p.node.badge.is_some() {
                                <div class="muted small">{ "on " }<ValuedText value={p.node.clone()} /></div>
                            }
                        </td>
                        <td class="mono"><ValuedText value={p.ip.clone()} /></td>
                        <td class={classes!("ready", if p.is_ready { "yes" } else { "no" })}>
                            <ValuedText value={p.ready.clone()} />
                        </td>
                        <td class="labels">
                            { for p.labels.iter().map(|l| html! { <code class="label">{ l }</code> }) }
                        </td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct ServiceRowProps {
    row: ServiceRow,
}

/// One Service's row: a component of its own, so that an edit to one Service of a thousand
/// redraws one row.
#[component]
fn ServiceRowItem(props: &ServiceRowProps) -> Html {
    let s = &props.row;
    html! {
        <tr data-service={s.key.clone()}>
            <td class="name">
                { &s.name }
                if s.built_in { <span class="tag" title="every cluster has it; not in your input">{ "built in" }</span> }
                { for s.details.iter().map(|d| html! { <div class="muted small"><ValuedText value={d.clone()} /></div> }) }
            </td>
            <td><ValuedText value={s.service_type.clone()} /></td>
            <td class="mono"><ValuedText value={s.cluster_ip.clone()} /></td>
            <td class="mono">
                { for s.ports.iter().map(|p| html! {
                    <div class="port">
                        { format!("{}/", p.port) }<ValuedText value={p.protocol.clone()} />
                        { " " }<ValuedText value={p.target.clone()} />
                        if let Some(np) = &p.node_port { { " · " }<ValuedText value={np.clone()} /> }
                    </div>
                }) }
            </td>
            <td class="mono small">{ &s.selector }</td>
        </tr>
    }
}
