//! The geometry of the Cluster trace's path diagram: nodes as boxes with their pods inside,
//! the network between the nodes as a bar above them, the outside world beyond the gateway,
//! the client and the server marked, and the connection's hops as arrows from place to place
//! (the request solid, the reply dashed) with kube-proxy's DNAT marked where it happened.
//!
//! Plain numbers and strings only, so the layout is tested natively. Not responsible for
//! tracing (the core's `kpsim::sim::cluster`) or for SVG markup
//! (`components::path_diagram`).

use kpsim::model::Cluster;
use kpsim::net::IpFamily;
use kpsim::net::join_host_port;
use kpsim::sim::cluster::{ClusterTrace, Direction, Hop, HopKind, PeerKind, Place};

use super::cluster::short_name;
use route::{Port, route};

mod annotate;
mod route;

pub use annotate::{HOP_DOT_R, Mark};
use annotate::{dnat_marks, place_hop_numbers};

/// At most this many node boxes (the nodes on the path always among them).
pub const MAX_NODES: usize = 6;
/// At most this many pods drawn in one node box (the pods on the path always among them).
pub const MAX_PODS_PER_NODE: usize = 5;

const MARGIN: f64 = 16.0;
const BAR_Y: f64 = 16.0;
const BAR_H: f64 = 28.0;
const NODE_Y: f64 = BAR_Y + BAR_H + 40.0;
const NODE_W: f64 = 210.0;
const NODE_GAP: f64 = 48.0;
const NODE_HEADER: f64 = 52.0;
const POD_W: f64 = 170.0;
const POD_H: f64 = 40.0;
const POD_GAP: f64 = 14.0;
const NODE_FOOTER: f64 = 22.0;
const OUTSIDE_W: f64 = 130.0;
/// Characters of a name that fit in a pod box, and in a node's title beside the DNAT mark.
const POD_CHARS: usize = 23;
const NODE_CHARS: usize = 18;

/// An axis-aligned rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    fn centre(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// Whether a disc of `radius` around `(x, y)` touches the rectangle.
    pub fn near(&self, (x, y): (f64, f64), radius: f64) -> bool {
        let nx = x.clamp(self.x, self.x + self.w);
        let ny = y.clamp(self.y, self.y + self.h);
        (x - nx).hypot(y - ny) <= radius
    }

    /// Where the line from the centre toward `(dx, dy)` leaves the rectangle.
    fn exit(&self, dx: f64, dy: f64) -> (f64, f64) {
        let (cx, cy) = self.centre();
        let tx = if dx.abs() > f64::EPSILON { (self.w / 2.0) / dx.abs() } else { f64::INFINITY };
        let ty = if dy.abs() > f64::EPSILON { (self.h / 2.0) / dy.abs() } else { f64::INFINITY };
        let t = tx.min(ty);
        if t.is_finite() { (cx + dx * t, cy + dy * t) } else { (cx, cy) }
    }
}

/// What part a box plays in the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
    /// Visited by the packet, neither end.
    OnPath,
    Bystander,
}

impl Role {
    /// The CSS class (`pd-client`, `pd-server`, …).
    pub fn class(self) -> &'static str {
        match self {
            Role::Client => "pd-client",
            Role::Server => "pd-server",
            Role::OnPath => "pd-on-path",
            Role::Bystander => "pd-bystander",
        }
    }

    /// The word under the name (`client`, `server`), if any.
    pub fn word(self) -> Option<&'static str> {
        match self {
            Role::Client => Some("client"),
            Role::Server => Some("server"),
            Role::OnPath | Role::Bystander => None,
        }
    }
}

/// A pod inside its node's box.
#[derive(Debug, Clone, PartialEq)]
pub struct PodBox {
    /// `pod-client`, `kube-system/coredns-6b6c955475-cz2lq`.
    pub label: String,
    /// What fits in the box: `pod-client (client)`, `kube-system/coredns-6b…`.
    pub text: String,
    /// The pod's address, or empty.
    pub ip: String,
    pub rect: Rect,
    pub role: Role,
}

/// A node with its pods.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeBox {
    pub name: String,
    /// The name as it fits in the box.
    pub text: String,
    /// `192.168.49.2`, and `no kube-proxy` when it is stopped.
    pub detail: String,
    pub kube_proxy_stopped: bool,
    pub rect: Rect,
    /// Where the node's own network namespace sits (routing, kube-proxy's rules).
    pub anchor: (f64, f64),
    pub role: Role,
    pub pods: Vec<PodBox>,
    /// Pods on the node that are not drawn.
    pub more_pods: usize,
}

/// One move of the packet from one place to the next.
///
/// Within a node it is a straight line; between columns (node to node, node to the network
/// or the outside) it is routed orthogonally: up out of its own box, along a lane between the
/// network bar and the node boxes, and down into the other end — never across another node.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    /// The 1-based number of the first hop at the destination (as in the hop list).
    pub hop: usize,
    /// The polyline, start to end (at least two points).
    pub points: Vec<(f64, f64)>,
    /// The nodes the arrow starts and ends in (a pod's node; `None` for the network and the
    /// outside).
    pub from_node: Option<String>,
    pub to_node: Option<String>,
    /// Drawn dashed: the reply (or an error) on its way back.
    pub reply: bool,
    /// The destination hop's sentence (the arrow's tooltip).
    pub title: String,
    /// Where the hop number is drawn (see [`place_hop_numbers`]).
    pub label: (f64, f64),
}

impl Arrow {
    /// The `points` attribute of an SVG polyline.
    pub fn svg_points(&self) -> String {
        let p: Vec<String> = self.points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        p.join(" ")
    }
}

/// The whole diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct PathDiagram {
    pub width: f64,
    pub height: f64,
    /// The network between the nodes.
    pub network: Rect,
    /// Beyond the default gateway; drawn when the path goes there.
    pub outside: Option<(Rect, Role)>,
    pub nodes: Vec<NodeBox>,
    /// Nodes not drawn.
    pub more_nodes: usize,
    pub arrows: Vec<Arrow>,
    pub marks: Vec<Mark>,
    /// The places the request visits, in order (`pod-client`, `minikube`, `network`, …).
    pub request_path: Vec<String>,
    /// The places the reply (or error) visits, in order.
    pub reply_path: Vec<String>,
    /// The name did not resolve: the arrows are the DNS query's (numbered as its own hops).
    pub dns_only: bool,
}

/// Where a hop happens, as the diagram tells places apart.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Station {
    Pod { namespace: String, name: String, node: String },
    Node(String),
    Network,
    Outside,
}

impl Station {
    fn of(place: &Place) -> Station {
        match place {
            Place::Pod { namespace, name, node } => Station::Pod {
                namespace: namespace.clone(),
                name: name.clone(),
                node: node.clone(),
            },
            Place::Node { name } => Station::Node(name.clone()),
            Place::Network => Station::Network,
            Place::Outside => Station::Outside,
        }
    }

    fn label(&self) -> String {
        match self {
            Station::Pod { namespace, name, .. } => short_name(namespace, name),
            Station::Node(name) => name.clone(),
            Station::Network => "network".to_owned(),
            Station::Outside => "outside".to_owned(),
        }
    }

    fn node(&self) -> Option<&str> {
        match self {
            Station::Pod { node, .. } => Some(node),
            Station::Node(name) => Some(name),
            Station::Network | Station::Outside => None,
        }
    }

    /// Where an arrow between columns meets the station's box: a node's own namespace at its
    /// anchor point; a pod, the network bar and the outside at the edge nearest the lanes.
    fn port(&self) -> Port {
        match self {
            Station::Node(_) => Port::Centre,
            Station::Pod { .. } => Port::Top,
            Station::Network | Station::Outside => Port::Bottom,
        }
    }
}

/// A pod to draw in a node's box.
struct PodPlace {
    namespace: String,
    name: String,
    ip: String,
    on_path: bool,
}

/// The stations the hops visit, in order, with the index of the first hop at each: a hop
/// that leaves the cluster through the gateway leads on to [`Station::Outside`].
fn runs(hops: &[Hop]) -> Vec<(Station, usize)> {
    let mut out: Vec<(Station, usize)> = Vec::new();
    let mut push = |s: Station, i: usize| {
        if out.last().is_none_or(|(last, _)| *last != s) {
            out.push((s, i));
        }
    };
    for (i, h) in hops.iter().enumerate() {
        push(Station::of(&h.place), i);
        if h.kind == HopKind::Leave {
            push(Station::Outside, i);
        }
    }
    out
}

/// Whether a hop belongs to the way back; the server taking the request still belongs to the
/// way there.
fn is_reply(hop: &Hop) -> bool {
    hop.direction == Direction::Reply && hop.kind != HopKind::Deliver
}

fn path_of(hops: &[Hop], runs: &[(Station, usize)], reply: bool) -> Vec<String> {
    runs.iter().filter(|(_, i)| is_reply(&hops[*i]) == reply).map(|(s, _)| s.label()).collect()
}

/// Lays out the first flow of `trace` over `cluster`; `kube_proxy(node)` says what is
/// unusual about kube-proxy on a node (`no kube-proxy`, `frozen at edit 3`), if anything.
pub fn path_diagram(
    trace: &ClusterTrace,
    cluster: &Cluster,
    family: IpFamily,
    kube_proxy: impl Fn(&str) -> Option<String>,
) -> PathDiagram {
    // A name that did not resolve leaves no connection: draw the DNS query's trip instead.
    let dns_only = trace.flows.is_empty();
    let hops = match (&trace.dns, dns_only) {
        (Some(dns), true) => dns.exchange.as_ref().map(|f| f.hops.as_slice()).unwrap_or(&[]),
        _ => trace.hops(),
    };
    let runs = runs(hops);
    let client_pod = (trace.source.kind == PeerKind::Pod).then(|| trace.source.name.clone());
    let client_node = (trace.source.kind == PeerKind::Node).then(|| trace.source.name.clone());
    let server = trace.delivered_to.clone().unwrap_or_default();
    let server_node = server.strip_prefix("node/").map(str::to_owned);
    let pod_role = |namespace: &str, name: &str, on_path: bool| {
        let key = format!("{namespace}/{name}");
        if client_pod.as_deref() == Some(key.as_str()) {
            Role::Client
        } else if server == key {
            Role::Server
        } else if on_path {
            Role::OnPath
        } else {
            Role::Bystander
        }
    };
    let on_path_pod = |namespace: &str, name: &str| {
        runs.iter().any(|(s, _)| {
            matches!(s, Station::Pod { namespace: n, name: p, .. } if n == namespace && p == name)
        })
    };
    let on_path_node = |node: &str| runs.iter().any(|(s, _)| s.node() == Some(node));

    // Which nodes: the cluster's, in order, then any the path names that the cluster lacks;
    // at most MAX_NODES, the ones on the path kept first.
    let mut names: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
    for (s, _) in &runs {
        if let Some(n) = s.node()
            && !names.iter().any(|m| m == n)
        {
            names.push(n.to_owned());
        }
    }
    let total_nodes = names.len();
    let mut room = MAX_NODES.saturating_sub(names.iter().filter(|n| on_path_node(n)).count());
    names.retain(|n| {
        if on_path_node(n) {
            true
        } else if room > 0 {
            room -= 1;
            true
        } else {
            false
        }
    });
    let more_nodes = total_nodes - names.len();

    // Each node's pods: the ones on the path first, then the rest by name.
    let mut node_pods: Vec<(Vec<PodPlace>, usize)> = Vec::new();
    for node in &names {
        let mut pods: Vec<PodPlace> = cluster
            .pods
            .values()
            .filter(|p| p.node() == Some(node.as_str()))
            .map(|p| {
                let ip = p.ip(family).or_else(|| p.primary_ip());
                let ip = ip.map(|ip| ip.to_string()).unwrap_or_default();
                let on = on_path_pod(&p.namespace, &p.name);
                PodPlace { namespace: p.namespace.clone(), name: p.name.clone(), ip, on_path: on }
            })
            .collect();
        for (s, _) in &runs {
            if let Station::Pod { namespace, name, node: n } = s
                && n == node
                && !pods.iter().any(|p| p.namespace == *namespace && p.name == *name)
            {
                pods.push(PodPlace {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    ip: String::new(),
                    on_path: true,
                });
            }
        }
        let (mut pods, others): (Vec<PodPlace>, Vec<PodPlace>) =
            pods.into_iter().partition(|p| p.on_path);
        pods.extend(others);
        let more = pods.len().saturating_sub(MAX_PODS_PER_NODE);
        pods.truncate(MAX_PODS_PER_NODE);
        node_pods.push((pods, more));
    }
    let rows = node_pods.iter().map(|(p, _)| p.len()).max().unwrap_or(0) as f64;
    let node_h = NODE_HEADER + rows * (POD_H + POD_GAP) + NODE_FOOTER;

    let mut nodes = Vec::new();
    for (i, (name, (pods, more))) in names.iter().zip(node_pods).enumerate() {
        let x = MARGIN + i as f64 * (NODE_W + NODE_GAP);
        let rect = Rect { x, y: NODE_Y, w: NODE_W, h: node_h };
        let ip = cluster
            .nodes
            .iter()
            .find(|n| n.name == *name)
            .and_then(|n| n.internal_ips.first())
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let note = kube_proxy(name);
        let kube_proxy_stopped = note.is_some();
        let detail = match (ip.is_empty(), note) {
            (_, None) => ip,
            (true, Some(note)) => note,
            (false, Some(note)) => format!("{ip} · {note}"),
        };
        let role = if client_node.as_deref() == Some(name.as_str()) {
            Role::Client
        } else if server_node.as_deref() == Some(name.as_str()) {
            Role::Server
        } else if on_path_node(name) {
            Role::OnPath
        } else {
            Role::Bystander
        };
        let pods = pods
            .into_iter()
            .enumerate()
            .map(|(j, p)| {
                let label = short_name(&p.namespace, &p.name);
                let role = pod_role(&p.namespace, &p.name, p.on_path);
                let text = match role.word() {
                    Some(word) => format!("{} ({word})", fit(&label, POD_CHARS - word.len() - 3)),
                    None => fit(&label, POD_CHARS),
                };
                PodBox {
                    label,
                    text,
                    rect: Rect {
                        x: x + (NODE_W - POD_W) / 2.0,
                        y: NODE_Y + NODE_HEADER + j as f64 * (POD_H + POD_GAP),
                        w: POD_W,
                        h: POD_H,
                    },
                    role,
                    ip: p.ip,
                }
            })
            .collect();
        nodes.push(NodeBox {
            name: name.clone(),
            text: fit(name, NODE_CHARS),
            detail,
            kube_proxy_stopped,
            rect,
            anchor: (x + NODE_W - 18.0, NODE_Y + 18.0),
            role,
            pods,
            more_pods: more,
        });
    }

    // The network bar spans the nodes; the outside, when drawn, takes the bar's right end
    // (widening the drawing only when the nodes leave too little room).
    let nodes_right = MARGIN + nodes.len().max(1) as f64 * (NODE_W + NODE_GAP) - NODE_GAP;
    let goes_outside = runs.iter().any(|(s, _)| *s == Station::Outside);
    let right = if goes_outside {
        nodes_right.max(MARGIN + NODE_W + NODE_GAP + OUTSIDE_W)
    } else {
        nodes_right
    };
    let bar_w = if goes_outside { right - MARGIN - NODE_GAP - OUTSIDE_W } else { right - MARGIN };
    let network = Rect { x: MARGIN, y: BAR_Y, w: bar_w, h: BAR_H };
    let outside = goes_outside.then(|| {
        let role =
            if trace.source.kind == PeerKind::External { Role::Client } else { Role::OnPath };
        (Rect { x: right - OUTSIDE_W, y: BAR_Y, w: OUTSIDE_W, h: BAR_H }, role)
    });
    let width = right + MARGIN;
    let height = NODE_Y + node_h + MARGIN;

    // The box each station is drawn as (a station off the drawing has none).
    let point = |(x, y): (f64, f64)| Rect { x: x - 4.0, y: y - 4.0, w: 8.0, h: 8.0 };
    let station_rect = |s: &Station| -> Option<Rect> {
        match s {
            Station::Pod { namespace, name, node } => {
                let label = short_name(namespace, name);
                let n = nodes.iter().find(|n| n.name == *node)?;
                n.pods.iter().find(|p| p.label == label).map(|p| p.rect).or(Some(n.rect))
            }
            Station::Node(name) => nodes.iter().find(|n| n.name == *name).map(|n| point(n.anchor)),
            Station::Outside => outside.map(|(r, _)| r),
            Station::Network => None,
        }
    };
    let rects: Vec<Option<Rect>> = runs
        .iter()
        .enumerate()
        .map(|(i, (s, _))| match s {
            Station::Network => {
                // On the bar, between the places before and after it.
                let near = |r: Option<&(Station, usize)>| {
                    r.and_then(|(s, _)| station_rect(s)).map(|r| r.centre().0)
                };
                let before = near(i.checked_sub(1).and_then(|j| runs.get(j)));
                let after = near(runs.get(i + 1));
                let x = match (before, after) {
                    (Some(a), Some(b)) => (a + b) / 2.0,
                    (Some(a), None) | (None, Some(a)) => a,
                    (None, None) => network.centre().0,
                };
                Some(Rect { x: x - 4.0, y: network.y, w: 8.0, h: network.h })
            }
            s => station_rect(s),
        })
        .collect();

    let mut arrows = Vec::new();
    for (i, pair) in runs.windows(2).enumerate() {
        let (Some(a), Some(b)) = (rects[i], rects[i + 1]) else { continue };
        // The hop that moved the packet: a veth crossing is told where the packet was.
        let moved = pair[1]
            .1
            .checked_sub(1)
            .filter(|&j| j >= pair[0].1 && hops[j].kind == HopKind::Link)
            .unwrap_or(pair[1].1);
        let hop = &hops[moved];
        let reply = is_reply(hop);
        let (from, to) = (&pair[0].0, &pair[1].0);
        let same_node = from.node().is_some() && from.node() == to.node();
        let Some(points) = route(a, from.port(), b, to.port(), same_node, reply) else { continue };
        arrows.push(Arrow {
            hop: moved + 1,
            points,
            from_node: from.node().map(str::to_owned),
            to_node: to.node().map(str::to_owned),
            reply,
            title: hop.text.clone(),
            label: (0.0, 0.0),
        });
    }

    let marks = dnat_marks(hops, station_rect);
    place_hop_numbers(&mut arrows, &marks);

    PathDiagram {
        width,
        height,
        network,
        outside,
        nodes,
        more_nodes,
        arrows,
        marks,
        request_path: path_of(hops, &runs, false),
        reply_path: path_of(hops, &runs, true),
        dns_only,
    }
}

/// `text` cut to `max` characters, the cut marked with `…`.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// `10.96.0.10:53`, `[fd00::1]:80`, or the bare address without a port.
fn endpoint(ip: std::net::IpAddr, port: Option<u16>) -> String {
    match port {
        Some(port) => join_host_port(ip, port),
        None => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use crate::view_model::cluster_trace::{ClusterTraceForm, prepare};
    use kpsim::sim::cluster::ClusterNetwork;
    use route::crosses;

    fn diagram(form: &ClusterTraceForm) -> (PathDiagram, ClusterTrace) {
        let analysis = kpsim::analyze(examples::WALKTHROUGH.text, kpsim::model::Admission::Auto);
        let c = &analysis.cluster;
        let (request, experiments) = prepare(form, c, IpFamily::V4, |_| None).expect("a request");
        let net = ClusterNetwork::new(c, &experiments).expect("a network");
        let trace = net.trace(&request).expect("a trace");
        (path_diagram(&trace, c, IpFamily::V4, |n| form.kube_proxy(n).diagram_note()), trace)
    }

    fn pod<'a>(d: &'a PathDiagram, label: &str) -> &'a PodBox {
        d.nodes.iter().flat_map(|n| &n.pods).find(|p| p.label == label).expect(label)
    }

    #[test]
    fn the_walkthrough_curl_goes_from_the_client_pod_through_both_nodes_to_a_server_pod() {
        let (d, trace) = diagram(&ClusterTraceForm::default());
        let server = trace.delivered_to.clone().expect("delivered");
        let server = server.strip_prefix("default/").expect("a default pod").to_owned();
        let p = &d.request_path;
        assert_eq!(p.first().map(String::as_str), Some("pod-client"), "{p:?}");
        assert_eq!(p.get(1).map(String::as_str), Some("minikube"), "{p:?}");
        assert_eq!(p.last(), Some(&server), "{p:?}");
        let server_node = &p[p.len() - 2];
        assert!(server_node.starts_with("minikube-m0"), "{p:?}");
        // The reply comes back the same way.
        let back: Vec<String> = p.iter().rev().skip(1).cloned().collect();
        assert_eq!(d.reply_path, back, "the server pod answers from where it is");
        let reply_arrows = d.arrows.iter().filter(|a| a.reply).count();
        assert_eq!(reply_arrows, back.len(), "{:?}", d.arrows);
        assert_eq!(d.arrows.len(), 2 * back.len());
        assert_eq!(pod(&d, "pod-client").role, Role::Client);
        assert_eq!(pod(&d, &server).role, Role::Server);
        let other = if server == "server-pod-1" { "server-pod-2" } else { "server-pod-1" };
        assert_eq!(pod(&d, other).role, Role::Bystander);
        assert!(d.outside.is_none());
        assert!(d.arrows.iter().any(|a| a.reply) && d.arrows.iter().any(|a| !a.reply));
    }

    #[test]
    fn the_dnat_is_marked_on_the_client_node() {
        let (d, _) = diagram(&ClusterTraceForm::default());
        assert_eq!(d.marks.len(), 1, "{:?}", d.marks);
        let mark = &d.marks[0];
        assert_eq!(mark.label, "DNAT");
        assert!(mark.title.starts_with("10.100.253.115:8080 → 10.244."), "{}", mark.title);
        assert!(mark.title.ends_with(":80"), "{}", mark.title);
        let minikube = d.nodes.iter().find(|n| n.name == "minikube").expect("minikube");
        assert_eq!((mark.x, mark.y), minikube.anchor);
    }

    #[test]
    fn without_kube_proxy_the_request_ends_at_the_gateway() {
        for to in ["10.100.253.115:8080", "service:8080"] {
            let form = ClusterTraceForm {
                to: to.into(),
                stopped_everywhere: true,
                ..ClusterTraceForm::default()
            };
            let (d, _) = diagram(&form);
            assert!(d.marks.is_empty(), "nobody DNATs: {:?}", d.marks);
            let p = &d.request_path;
            assert_eq!(p.first().map(String::as_str), Some("pod-client"), "{to}: {p:?}");
            assert_eq!(p.get(1).map(String::as_str), Some("minikube"), "{to}: {p:?}");
            assert_eq!(p.last().map(String::as_str), Some("outside"), "{to}: {p:?}");
            let (outside, _) = d.outside.expect("the outside is drawn");
            assert!(outside.x + outside.w <= d.width);
            assert!(outside.x >= d.network.x + d.network.w, "beside the network bar");
            assert!(d.reply_path.is_empty(), "nothing answers: {:?}", d.reply_path);
            assert!(d.nodes.iter().all(|n| n.kube_proxy_stopped));
            assert!(d.nodes.iter().all(|n| n.detail.ends_with(" · no kube-proxy")));
            assert!(d.arrows.iter().all(|a| !a.reply));
            // The name does not resolve: what is drawn is the DNS query's trip.
            assert_eq!(d.dns_only, to.starts_with("service"));
        }
    }

    #[test]
    fn every_box_and_arrow_fits_in_the_drawing_and_pods_sit_inside_their_node() {
        for form in [
            ClusterTraceForm::default(),
            ClusterTraceForm { stopped_everywhere: true, ..ClusterTraceForm::default() },
        ] {
            let (d, _) = diagram(&form);
            let inside =
                |x: f64, y: f64| (0.0..=d.width).contains(&x) && (0.0..=d.height).contains(&y);
            for n in &d.nodes {
                assert!(
                    inside(n.rect.x, n.rect.y) && inside(n.rect.x + n.rect.w, n.rect.y + n.rect.h)
                );
                for p in &n.pods {
                    assert!(p.rect.x >= n.rect.x && p.rect.x + p.rect.w <= n.rect.x + n.rect.w);
                    assert!(p.rect.y >= n.rect.y && p.rect.y + p.rect.h <= n.rect.y + n.rect.h);
                }
            }
            for a in &d.arrows {
                assert!(
                    a.points.len() >= 2 && a.points.iter().all(|&(x, y)| inside(x, y)),
                    "{a:?}"
                );
                assert!(a.hop >= 1);
                let (lx, ly) = a.label;
                assert!(inside(lx, ly));
            }
        }
    }

    #[test]
    fn long_names_are_cut_to_fit_their_box_and_kept_whole_for_the_tooltip() {
        let (d, _) = diagram(&ClusterTraceForm::default());
        let dns = d
            .nodes
            .iter()
            .flat_map(|n| &n.pods)
            .find(|p| p.label.starts_with("kube-system/coredns-"));
        let dns = dns.expect("the cluster DNS pod is drawn");
        assert!(dns.text.ends_with('…') && dns.text.chars().count() == POD_CHARS, "{}", dns.text);
        assert_eq!(pod(&d, "pod-client").text, "pod-client (client)");
        assert_eq!(fit("minikube-m02", NODE_CHARS), "minikube-m02");
        assert_eq!(fit("abcdef", 4), "abc…");
    }

    /// Traces of the walkthrough that draw different paths: a stopped kube-proxy, the
    /// outside, a node or an external client, ping, and several seeds.
    fn varied_forms() -> Vec<ClusterTraceForm> {
        let mut forms = vec![
            ClusterTraceForm::default(),
            ClusterTraceForm { stopped_everywhere: true, ..ClusterTraceForm::default() },
            ClusterTraceForm {
                to: "10.100.253.115:8080".into(),
                stopped_everywhere: true,
                ..ClusterTraceForm::default()
            },
            ClusterTraceForm { to: "203.0.113.9:443".into(), ..ClusterTraceForm::default() },
            ClusterTraceForm { from: "node/minikube-m03".into(), ..ClusterTraceForm::default() },
            ClusterTraceForm { from: "203.0.113.9".into(), ..ClusterTraceForm::default() },
            ClusterTraceForm {
                protocol: "icmp".into(),
                to: "10.100.253.115".into(),
                ..ClusterTraceForm::default()
            },
        ];
        forms.extend((0..6).map(|seed| ClusterTraceForm { seed, ..ClusterTraceForm::default() }));
        forms
    }

    #[test]
    fn no_hop_number_is_covered_by_the_dnat_badge_or_another_number() {
        let mut marks = 0;
        for form in varied_forms() {
            let (d, _) = diagram(&form);
            for m in &d.marks {
                marks += 1;
                let b = m.rect;
                let node =
                    d.nodes.iter().find(|n| n.rect.x <= b.x && b.x + b.w <= n.rect.x + n.rect.w);
                let node = node.unwrap_or_else(|| panic!("{form:?}: {m:?} outside every node"));
                assert!(node.rect.y <= b.y && b.y + b.h <= node.rect.y + node.rect.h, "{m:?}");
                for a in &d.arrows {
                    assert!(
                        !b.near(a.label, HOP_DOT_R),
                        "{form:?}: the badge {b:?} covers hop {}'s number at {:?} {:?}",
                        a.hop,
                        a.label,
                        d.arrows.iter().map(|a| (a.hop, a.label, &a.points)).collect::<Vec<_>>()
                    );
                }
            }
            for (i, a) in d.arrows.iter().enumerate() {
                for b in &d.arrows[i + 1..] {
                    let ((ax, ay), (bx, by)) = (a.label, b.label);
                    assert!(
                        (ax - bx).hypot(ay - by) > 2.0 * HOP_DOT_R,
                        "{form:?}: hops {} and {} have their numbers on each other",
                        a.hop,
                        b.hop
                    );
                }
            }
        }
        assert!(marks >= 6, "{marks} badges checked");
    }

    #[test]
    fn no_arrow_crosses_the_header_of_a_node_it_does_not_start_or_end_in() {
        let forms = varied_forms();
        let mut checked = 0;
        let mut across = 0;
        for form in &forms {
            let (d, _) = diagram(form);
            assert_eq!(d.nodes.len(), 3, "the walkthrough's three nodes");
            for a in &d.arrows {
                if a.from_node != a.to_node {
                    across += 1;
                }
                for n in &d.nodes {
                    if Some(&n.name) == a.from_node.as_ref() || Some(&n.name) == a.to_node.as_ref()
                    {
                        continue;
                    }
                    let header = Rect { h: NODE_HEADER, ..n.rect };
                    for w in a.points.windows(2) {
                        assert!(
                            !crosses(w[0], w[1], &header),
                            "{form:?}: hop {} crosses {}'s header: {:?}",
                            a.hop,
                            n.name,
                            a.points
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(across > 10 && checked > 50, "{across} arrows between columns, {checked} checks");
        // The check itself catches the straight line this layout used to draw.
        let (d, _) = diagram(&forms[1]);
        let m02 = d.nodes.iter().find(|n| n.name == "minikube-m02").expect("m02");
        let (ax, ay) = d.nodes[0].anchor;
        let outside = d.outside.expect("outside").0;
        assert!(crosses(
            (ax, ay),
            (outside.x + outside.w / 2.0, outside.y + outside.h / 2.0),
            &Rect { h: NODE_HEADER, ..m02.rect }
        ));
    }

    #[test]
    fn arrows_are_numbered_like_the_hop_list_in_order() {
        let (d, trace) = diagram(&ClusterTraceForm::default());
        let numbers: Vec<usize> = d.arrows.iter().map(|a| a.hop).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        for a in &d.arrows {
            assert_eq!(a.title, trace.hops()[a.hop - 1].text);
        }
    }
}
