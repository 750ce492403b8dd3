//! What is drawn on top of the boxes and arrows: the DNAT badge where kube-proxy rewrote the
//! destination, and each arrow's hop number, placed where no badge and no other number
//! covers it. Not responsible for the boxes or the arrows' routes.

use kpsim::sim::cluster::{Direction, Hop};
use kpsim::sim::trace::Action;

use super::{Arrow, Rect, Station, endpoint};

/// The DNAT badge.
const MARK_W: f64 = 40.0;
const MARK_H: f64 = 18.0;
/// The radius of the disc a hop number is drawn on.
pub const HOP_DOT_R: f64 = 8.0;

/// Where along its arrow a hop number is drawn, first choice first: a third of the way, so
/// the numbers of a request and its reply on the same short way do not cover each other;
/// the next ones when that spot is under a DNAT badge or another number.
const LABEL_AT: [f64; 8] = [0.35, 0.2, 0.1, 0.45, 0.58, 0.72, 0.85, 0.92];

/// A rewrite worth pointing at (kube-proxy's DNAT).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub hop: usize,
    pub x: f64,
    pub y: f64,
    /// The badge, beside the node's anchor where no hop number is.
    pub rect: Rect,
    /// `DNAT`.
    pub label: &'static str,
    /// The destination before and after: `10.100.253.115:8080 → 10.244.1.2:80`.
    pub title: String,
}

/// A badge for every DNAT of the request, left of the anchor of the place it happened.
pub(super) fn dnat_marks(
    hops: &[Hop],
    station_rect: impl Fn(&Station) -> Option<Rect>,
) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (i, h) in hops.iter().enumerate() {
        let dnat = h.rule.as_ref().is_some_and(|r| matches!(r.action, Some(Action::Dnat { .. })));
        if !dnat || h.direction != Direction::Request {
            continue;
        }
        let Some(r) = station_rect(&Station::of(&h.place)) else { continue };
        let (cx, cy) = r.centre();
        marks.push(Mark {
            hop: i + 1,
            x: cx,
            y: cy,
            rect: Rect { x: cx - 12.0 - MARK_W, y: cy - MARK_H / 2.0, w: MARK_W, h: MARK_H },
            label: "DNAT",
            title: format!(
                "{} → {}",
                endpoint(h.before.dst, h.before.dport),
                endpoint(h.after.dst, h.after.dport)
            ),
        });
    }
    marks
}

/// Sets each arrow's [`Arrow::label`]: the first spot of [`LABEL_AT`] clear of every badge
/// and of the numbers placed before it (the first choice when none is).
pub(super) fn place_hop_numbers(arrows: &mut [Arrow], marks: &[Mark]) {
    let mut placed: Vec<(f64, f64)> = Vec::new();
    for a in arrows {
        let free = |&(x, y): &(f64, f64)| {
            marks.iter().all(|m| !m.rect.near((x, y), HOP_DOT_R))
                && placed.iter().all(|&(px, py)| (x - px).hypot(y - py) > 2.0 * HOP_DOT_R)
        };
        let candidates = LABEL_AT.map(|f| point_at(&a.points, f));
        a.label = candidates.iter().copied().find(free).unwrap_or(candidates[0]);
        placed.push(a.label);
    }
}

/// The point `fraction` of the way along a polyline.
fn point_at(points: &[(f64, f64)], fraction: f64) -> (f64, f64) {
    let segments = || points.windows(2).map(|w| (w[0], w[1]));
    let length = |((x1, y1), (x2, y2)): ((f64, f64), (f64, f64))| (x2 - x1).hypot(y2 - y1);
    let mut left = segments().map(length).sum::<f64>() * fraction;
    for segment in segments() {
        let l = length(segment);
        if left <= l && l > 0.0 {
            let ((x1, y1), (x2, y2)) = segment;
            return (x1 + (x2 - x1) * left / l, y1 + (y2 - y1) * left / l);
        }
        left -= l;
    }
    points.first().copied().unwrap_or_default()
}
