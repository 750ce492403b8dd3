//! How an arrow of the path diagram gets from one box to another: a straight line within one
//! node; between columns (node to node, to the network bar or the outside) an orthogonal
//! route — up out of its own box, along a lane between the network bar and the node boxes,
//! down into the other end — so that it never crosses another node's header. A request and
//! its reply keep apart: the request's lane is above the reply's and its vertical legs to the
//! left.
//!
//! Plain geometry. Not responsible for where boxes are ([`super::path_diagram`]).

use super::{BAR_H, BAR_Y, NODE_Y, Rect};

/// How far a request arrow and its reply are drawn apart.
const LANE: f64 = 5.0;
/// The lanes between the network bar and the node boxes (request above, reply below).
const LANE_REQUEST_Y: f64 = BAR_Y + BAR_H + 13.0;
const LANE_REPLY_Y: f64 = BAR_Y + BAR_H + 27.0;
// Both lanes lie between the network bar and the node boxes.
const _: () = assert!(LANE_REQUEST_Y > BAR_Y + BAR_H && LANE_REPLY_Y < NODE_Y);

/// Where an arrow between columns meets a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Port {
    /// The box's centre (a node's anchor point, inside its own header).
    Centre,
    /// The middle of its top edge.
    Top,
    /// The middle of its bottom edge (boxes above the lanes).
    Bottom,
}

/// The polyline from box `a` to box `b` (see the module docs); `None` when both are drawn at
/// the same spot.
pub(super) fn route(
    a: Rect,
    a_port: Port,
    b: Rect,
    b_port: Port,
    same_node: bool,
    reply: bool,
) -> Option<Vec<(f64, f64)>> {
    let (ax, ay) = a.centre();
    let (bx, by) = b.centre();
    if same_node {
        let (dx, dy) = (bx - ax, by - ay);
        let len = dx.hypot(dy);
        if len < 1.0 {
            return None;
        }
        let (x1, y1) = a.exit(dx, dy);
        let (x2, y2) = b.exit(-dx, -dy);
        // Each arrow keeps to the right of its way, so a reply never hides its request.
        let (ox, oy) = (-dy / len * LANE, dx / len * LANE);
        return Some(vec![(x1 + ox, y1 + oy), (x2 + ox, y2 + oy)]);
    }
    let at = |r: Rect, port: Port, (cx, cy): (f64, f64)| match port {
        Port::Centre => (cx, cy),
        Port::Top => (cx, r.y),
        Port::Bottom => (cx, r.y + r.h),
    };
    let (sx, sy) = at(a, a_port, (ax, ay));
    let (ex, ey) = at(b, b_port, (bx, by));
    let (offset, lane) = if reply { (LANE, LANE_REPLY_Y) } else { (-LANE, LANE_REQUEST_Y) };
    let mut points =
        vec![(sx + offset, sy), (sx + offset, lane), (ex + offset, lane), (ex + offset, ey)];
    points.dedup_by(|p, q| (p.0 - q.0).abs() < 0.5 && (p.1 - q.1).abs() < 0.5);
    (points.len() >= 2).then_some(points)
}

/// Whether the segment from `p` to `q` passes through the inside of `r` (Liang–Barsky
/// clipping; touching an edge is not crossing).
#[cfg(test)]
pub(super) fn crosses(p: (f64, f64), q: (f64, f64), r: &Rect) -> bool {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    let edges = [
        (-dx, p.0 - (r.x + 0.5)),
        (dx, (r.x + r.w - 0.5) - p.0),
        (-dy, p.1 - (r.y + 0.5)),
        (dy, (r.y + r.h - 0.5) - p.1),
    ];
    for (pe, qe) in edges {
        if pe.abs() < f64::EPSILON {
            if qe < 0.0 {
                return false;
            }
        } else {
            let t = qe / pe;
            if pe < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    t0 < t1
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEFT: Rect = Rect { x: 10.0, y: 84.0, w: 20.0, h: 20.0 };
    const MIDDLE: Rect = Rect { x: 100.0, y: 84.0, w: 60.0, h: 52.0 };
    const RIGHT: Rect = Rect { x: 300.0, y: 84.0, w: 20.0, h: 20.0 };

    #[test]
    fn between_columns_an_arrow_runs_in_its_lane_above_the_boxes_in_between() {
        let request = route(LEFT, Port::Centre, RIGHT, Port::Centre, false, false).expect("a way");
        assert_eq!(request.len(), 4);
        assert!(request.windows(2).all(|w| w[0].0 == w[1].0 || w[0].1 == w[1].1), "orthogonal");
        assert_eq!(request[1].1, LANE_REQUEST_Y);
        assert!(request.windows(2).all(|w| !crosses(w[0], w[1], &MIDDLE)), "{request:?}");
        let reply = route(RIGHT, Port::Centre, LEFT, Port::Centre, false, true).expect("a way");
        assert_eq!(reply[1].1, LANE_REPLY_Y, "the reply has a lane of its own");
    }

    #[test]
    fn within_a_node_an_arrow_is_straight_and_the_same_spot_has_none() {
        let pod = Rect { x: 10.0, y: 140.0, w: 60.0, h: 20.0 };
        let way = route(pod, Port::Top, LEFT, Port::Centre, true, false).expect("a way");
        assert_eq!(way.len(), 2);
        assert_eq!(route(LEFT, Port::Centre, LEFT, Port::Centre, true, false), None);
    }

    #[test]
    fn crossing_means_passing_through_the_inside() {
        assert!(crosses((0.0, 110.0), (400.0, 110.0), &MIDDLE));
        assert!(!crosses((0.0, 60.0), (400.0, 60.0), &MIDDLE), "above");
        assert!(!crosses((100.0, 0.0), (100.0, 200.0), &MIDDLE), "along its edge");
        assert!(crosses((50.0, 150.0), (200.0, 60.0), &MIDDLE), "diagonally");
    }
}
