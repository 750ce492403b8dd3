//! The path diagram of the Cluster trace panel, as SVG: the network bar, node boxes with their
//! pods, the client and server highlighted, the hops as numbered arrows (the reply dashed) and
//! kube-proxy's DNAT marked. Every name is a text node; tooltips are `<title>` children.
//!
//! The geometry comes from [`crate::view_model::path_diagram`]; not responsible for layout
//! decisions or tracing.

use std::rc::Rc;

use yew::prelude::*;

use crate::view_model::path_diagram::{Arrow, HOP_DOT_R, Mark, NodeBox, PathDiagram, PodBox, Rect};

#[derive(Debug, Properties, PartialEq)]
pub struct Props {
    pub diagram: Rc<PathDiagram>,
}

fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// The connection drawn across nodes and pods.
#[component]
pub fn PathDiagramView(props: &Props) -> Html {
    let d = &props.diagram;
    let description = format!(
        "Request: {}. Reply: {}.",
        d.request_path.join(" → "),
        if d.reply_path.is_empty() { "none".to_owned() } else { d.reply_path.join(" → ") }
    );
    html! {
        <figure id="ct-diagram" class="path-diagram">
            <svg viewBox={format!("0 0 {} {}", n(d.width), n(d.height))} role="img"
                 aria-labelledby="ct-diagram-desc" xmlns="http://www.w3.org/2000/svg"
                 width={n(d.width)} height={n(d.height)}>
                <title id="ct-diagram-desc">{ description.clone() }</title>
                <defs>
                    <marker id="pd-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"
                            markerHeight="7" orient="auto-start-reverse">
                        <path class="pd-head" d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                    <marker id="pd-head-reply" viewBox="0 0 10 10" refX="9" refY="5"
                            markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path class="pd-head-reply" d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                </defs>
                { rect(&d.network, "pd-network") }
                <text class="pd-label pd-network-label" x={n(d.network.x + 8.0)}
                      y={n(d.network.y + d.network.h / 2.0 + 4.0)}>
                    { "network between the nodes" }
                </text>
                if let Some((r, role)) = &d.outside {
                    <g class={classes!("pd-outside", role.class())}>
                        { rect(r, "pd-outside-box") }
                        <text class="pd-label" x={n(r.x + 8.0)} y={n(r.y + r.h / 2.0 + 4.0)}>
                            { "outside (gateway)" }
                        </text>
                    </g>
                }
                { for d.nodes.iter().map(node) }
                if d.more_nodes > 0 {
                    <text class="pd-more" x={n(d.width - 16.0)} y={n(d.height - 4.0)} text-anchor="end">
                        { format!("+{} more nodes", d.more_nodes) }
                    </text>
                }
                { for d.arrows.iter().map(arrow) }
                { for d.marks.iter().map(mark) }
            </svg>
            <figcaption class="small muted">
                if d.dns_only {
                    { "The name did not resolve: the arrows are the DNS query's trip (numbered as the DNS hops below)." }
                } else {
                    { "Solid arrows: the request; dashed: the reply. Numbers are hops in the list below." }
                }
            </figcaption>
        </figure>
    }
}

/// The DNAT badge's box: rounder corners than a node's.
fn badge(r: &Rect) -> Html {
    html! {
        <rect class="pd-mark-box" x={n(r.x)} y={n(r.y)} width={n(r.w)} height={n(r.h)} rx="4" />
    }
}

fn rect(r: &Rect, class: &'static str) -> Html {
    html! {
        <rect class={class} x={n(r.x)} y={n(r.y)} width={n(r.w)} height={n(r.h)} rx="6" />
    }
}

fn node(b: &NodeBox) -> Html {
    let r = &b.rect;
    let (ax, ay) = b.anchor;
    html! {
        <g class={classes!("pd-node", b.role.class(), b.kube_proxy_stopped.then_some("pd-stopped"))}
           data-node={b.name.clone()}>
            { rect(r, "pd-node-box") }
            <text class="pd-label pd-node-name" x={n(r.x + 10.0)} y={n(r.y + 20.0)}>{ b.text.clone() }</text>
            <text class="pd-detail" x={n(r.x + 10.0)} y={n(r.y + 38.0)}>{ b.detail.clone() }</text>
            <circle class="pd-host" cx={n(ax)} cy={n(ay)} r="5">
                <title>{ format!("{}: the node's own network namespace (routes, kube-proxy's rules)", b.name) }</title>
            </circle>
            { for b.pods.iter().map(pod) }
            if b.more_pods > 0 {
                <text class="pd-more" x={n(r.x + 10.0)} y={n(r.y + r.h - 6.0)}>
                    { format!("+{} more pods", b.more_pods) }
                </text>
            }
        </g>
    }
}

fn pod(p: &PodBox) -> Html {
    let r = &p.rect;
    html! {
        <g class={classes!("pd-pod", p.role.class())} data-pod={p.label.clone()}>
            <title>{ format!("pod {} {}", p.label, p.ip) }</title>
            { rect(r, "pd-pod-box") }
            <text class="pd-label" x={n(r.x + 8.0)} y={n(r.y + 16.0)}>{ p.text.clone() }</text>
            <text class="pd-detail" x={n(r.x + 8.0)} y={n(r.y + 32.0)}>{ p.ip.clone() }</text>
        </g>
    }
}

fn arrow(a: &Arrow) -> Html {
    let (mx, my) = a.label;
    let (class, head) = if a.reply {
        ("pd-arrow pd-reply", "url(#pd-head-reply)")
    } else {
        ("pd-arrow pd-request", "url(#pd-head)")
    };
    html! {
        <g class={class} data-hop={a.hop.to_string()}>
            <title>{ format!("hop {}: {}", a.hop, a.title) }</title>
            <polyline points={a.svg_points()} marker-end={head} />
            <circle class="pd-hop-dot" cx={n(mx)} cy={n(my)} r={n(HOP_DOT_R)} />
            <text class="pd-hop-number" x={n(mx)} y={n(my + 3.5)} text-anchor="middle">
                { a.hop.to_string() }
            </text>
        </g>
    }
}

fn mark(m: &Mark) -> Html {
    html! {
        <g class="pd-mark" data-hop={m.hop.to_string()}>
            <title>{ format!("hop {}: kube-proxy's {}: {}", m.hop, m.label, m.title) }</title>
            { badge(&m.rect) }
            <text class="pd-mark-label" x={n(m.rect.x + m.rect.w / 2.0)} y={n(m.y + 4.0)} text-anchor="middle">
                { m.label }
            </text>
        </g>
    }
}
