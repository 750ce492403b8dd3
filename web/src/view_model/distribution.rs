//! The Cluster trace's N-connections histogram: the number the user typed checked
//! ([`parse_connections`]), and how N connections spread — one bar per server that answered
//! plus one per way the rest failed.
//!
//! Connections are independent (kube-proxy's random choices are per connection, and a trace
//! keeps no state between connections), so the spread is computed exactly from one
//! all-branches trace: each flow's probability is the product of the random splits on its
//! way, and N connections are apportioned by those shares ([`run`]). Only when that trace
//! cannot be exact — more branches than the core follows ([`MAX_FLOWS`]), or a name lookup
//! whose own answer is a random choice (the DNS query is always seeded) — are N connections
//! traced with seeds 0..N-1 instead (the core's [`Distribution`]). One trace instead of N is
//! what lets the page show the histogram on every keystroke.
//!
//! Not responsible for tracing (the core's `ClusterNetwork::distribution`) or for HTML
//! (`components::cluster_trace_panel`).

use std::collections::BTreeMap;

use kpsim::sim::Choices;
use kpsim::sim::cluster::{
    ClusterNetwork, ClusterTrace, Distribution, MAX_FLOWS, Outcome, TraceRequest,
};

/// Connections traced when the user has not said.
pub const DEFAULT_CONNECTIONS: usize = 100;
/// At most this many: each is a whole trace, and the page recomputes as the user types.
pub const MAX_CONNECTIONS: usize = 2000;

/// The number of connections from the input, or one sentence why not.
pub fn parse_connections(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("trace at least one connection".to_owned()),
        Ok(n) if n > MAX_CONNECTIONS => Err(format!("at most {MAX_CONNECTIONS} connections")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{}` is not a number of connections", text.trim())),
    }
}

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// `default/server-pod-1`, or an outcome (`timeout`) for connections nobody answered.
    pub label: String,
    pub count: usize,
    /// Share of all connections, 0–100.
    pub percent: f64,
    /// `delivered`, `refused`, `unreachable`, `timeout` (the CSS class).
    pub outcome: &'static str,
}

/// How the spread was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// From the probabilities of every branch (counts are the shares apportioned).
    Exact,
    /// N traces with seeds 0..N-1.
    Sampled,
}

/// The histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramView {
    pub connections: usize,
    pub method: Method,
    /// Servers by name, then the failures by outcome.
    pub bars: Vec<Bar>,
    /// `100 connections: 100 delivered` / `… 52 delivered, 48 refused`.
    pub summary: String,
}

/// The distribution as bars; `shares` are the exact chances (0–1) by bar label when known,
/// else the counts' shares are shown.
fn histogram_view(d: &Distribution, shares: Option<&BTreeMap<String, f64>>) -> HistogramView {
    let percent_of = |count: usize| {
        if d.connections == 0 { 0.0 } else { count as f64 * 100.0 / d.connections as f64 }
    };
    let share = |label: &str, count: usize| match shares.and_then(|s| s.get(label)) {
        Some(p) => p * 100.0,
        None => percent_of(count),
    };
    let mut bars: Vec<Bar> = d
        .delivered
        .iter()
        .map(|(who, &count)| Bar {
            label: who.clone(),
            count,
            percent: share(who, count),
            outcome: Outcome::Delivered.as_str(),
        })
        .collect();
    // Delivered connections with nobody named (cannot happen today) still add up.
    let named: usize = d.delivered.values().sum();
    for (&outcome, &count) in &d.outcomes {
        let count = if outcome == Outcome::Delivered { count.saturating_sub(named) } else { count };
        if count > 0 {
            bars.push(Bar {
                label: outcome.as_str().to_owned(),
                count,
                percent: share(outcome.as_str(), count),
                outcome: outcome.as_str(),
            });
        }
    }
    let outcomes: Vec<String> =
        d.outcomes.iter().map(|(o, n)| format!("{n} {}", o.as_str())).collect();
    let noun = if d.connections == 1 { "connection" } else { "connections" };
    let (method, how) = match shares {
        Some(_) => (Method::Exact, "exact shares of every branch"),
        None => (Method::Sampled, "sampled with seeds 0..N-1"),
    };
    HistogramView {
        connections: d.connections,
        method,
        bars,
        summary: format!("{} {noun}: {} ({how})", d.connections, outcomes.join(", ")),
    }
}

/// How `n` connections of `request` through `network` spread: exactly from one all-branches
/// trace when it can be, else by tracing them with seeds 0..n-1.
pub fn run(
    network: &ClusterNetwork,
    request: &TraceRequest,
    n: usize,
) -> Result<HistogramView, String> {
    let all = TraceRequest { choices: Choices::AllBranches, ..request.clone() };
    let trace = network.trace(&all).map_err(|e| e.to_string())?;
    if let Some((d, shares)) = exact(&trace, n) {
        return Ok(histogram_view(&d, Some(&shares)));
    }
    let d = network.distribution(request, n).map_err(|e| e.to_string())?;
    Ok(histogram_view(&d, None))
}

/// `n` connections apportioned by the all-branches `trace`'s flow probabilities, with the
/// exact share of every bar label; `None` when the flows are not the whole story.
fn exact(trace: &ClusterTrace, n: usize) -> Option<(Distribution, BTreeMap<String, f64>)> {
    let total: f64 = trace.flows.iter().map(|f| f.probability).sum();
    let dns_is_random = trace.dns.as_ref().and_then(|d| d.exchange.as_ref()).is_some_and(|f| {
        f.hops
            .iter()
            .filter_map(|h| h.rule.as_ref())
            .any(|r| r.probability.is_some_and(|p| p < 1.0))
    });
    if dns_is_random {
        return None;
    }
    // A name that does not resolve: every connection ends the same way.
    if trace.flows.is_empty() {
        let label = trace.outcome.as_str().to_owned();
        let outcomes = [(trace.outcome, n)].into();
        let d = Distribution { connections: n, delivered: BTreeMap::new(), outcomes };
        return Some((d, [(label, 1.0)].into()));
    }
    if trace.flows.len() >= MAX_FLOWS || (total - 1.0).abs() > 1e-6 {
        return None;
    }
    // One bar per server, then one per way of failing (as the sampled histogram has them).
    let mut shares: BTreeMap<String, f64> = BTreeMap::new();
    let mut outcomes: BTreeMap<Outcome, f64> = BTreeMap::new();
    for f in &trace.flows {
        let label = match (&f.delivered_to, f.outcome) {
            (Some(who), Outcome::Delivered) => who.clone(),
            (_, o) => o.as_str().to_owned(),
        };
        *shares.entry(label).or_default() += f.probability;
        *outcomes.entry(f.outcome).or_default() += f.probability;
    }
    let counts = apportion(&shares, n);
    let mut d =
        Distribution { connections: n, delivered: BTreeMap::new(), outcomes: BTreeMap::new() };
    for f in &trace.flows {
        if let (Some(who), Outcome::Delivered) = (&f.delivered_to, f.outcome) {
            d.delivered.insert(who.clone(), counts.get(who).copied().unwrap_or(0));
        }
    }
    for o in outcomes.keys() {
        let count = if *o == Outcome::Delivered {
            d.delivered.values().sum()
        } else {
            counts.get(o.as_str()).copied().unwrap_or(0)
        };
        d.outcomes.insert(*o, count);
    }
    d.outcomes.retain(|_, c| *c > 0);
    d.delivered.retain(|_, c| *c > 0);
    Some((d, shares))
}

/// `n` split by `shares` (summing to 1) in whole numbers that add up to `n`: each its floor,
/// then one more to the largest remainders (ties to the first in order).
fn apportion(shares: &BTreeMap<String, f64>, n: usize) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut rest: Vec<(f64, &String)> = Vec::new();
    for (label, p) in shares {
        let exact = p * n as f64;
        let floor = exact.floor();
        counts.insert(label.clone(), floor as usize);
        rest.push((exact - floor, label));
    }
    let given: usize = counts.values().sum();
    rest.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, label) in rest.into_iter().take(n.saturating_sub(given)) {
        if let Some(c) = counts.get_mut(label) {
            *c += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use crate::view_model::cluster_trace::{ClusterTraceForm, prepare};
    use kpsim::net::IpFamily;

    fn histogram(form: &ClusterTraceForm, n: usize) -> HistogramView {
        let analysis = kpsim::analyze(examples::WALKTHROUGH.text, kpsim::model::Admission::Auto);
        let c = &analysis.cluster;
        let (request, experiments) = prepare(form, c, IpFamily::V4, |_| None).expect("a request");
        let net = ClusterNetwork::new(c, &experiments).expect("a network");
        run(&net, &request, n).expect("traced")
    }

    #[test]
    fn a_hundred_curls_of_the_walkthrough_service_split_exactly_between_both_server_pods() {
        let h = histogram(&ClusterTraceForm::default(), DEFAULT_CONNECTIONS);
        assert_eq!((h.connections, h.method), (100, Method::Exact));
        let bars: Vec<(&str, usize)> = h.bars.iter().map(|b| (b.label.as_str(), b.count)).collect();
        assert_eq!(bars, [("default/server-pod-1", 50), ("default/server-pod-2", 50)]);
        assert!(h.bars.iter().all(|b| (b.percent - 50.0).abs() < 1e-9 && b.outcome == "delivered"));
        assert_eq!(h.summary, "100 connections: 100 delivered (exact shares of every branch)");
    }

    #[test]
    fn the_exact_spread_agrees_with_sampling_many_seeds() {
        let analysis = kpsim::analyze(examples::WALKTHROUGH.text, kpsim::model::Admission::Auto);
        let c = &analysis.cluster;
        let form = ClusterTraceForm::default();
        let (request, experiments) = prepare(&form, c, IpFamily::V4, |_| None).expect("a request");
        let net = ClusterNetwork::new(c, &experiments).expect("a network");
        let sampled = net.distribution(&request, 1000).expect("sampled");
        let exact = run(&net, &request, 1000).expect("exact");
        for bar in &exact.bars {
            let seen = sampled.delivered.get(&bar.label).copied().unwrap_or(0) as f64 / 10.0;
            assert!(
                (seen - bar.percent).abs() < 6.0,
                "{}: sampled {seen}%, exact {}%",
                bar.label,
                bar.percent
            );
        }
    }

    #[test]
    fn whole_connections_are_apportioned_by_the_largest_remainders() {
        let shares: BTreeMap<String, f64> =
            [("a".to_owned(), 1.0 / 3.0), ("b".to_owned(), 1.0 / 3.0), ("c".to_owned(), 1.0 / 3.0)]
                .into();
        let counts = apportion(&shares, 100);
        assert_eq!(counts.values().sum::<usize>(), 100);
        assert_eq!(counts["a"], 34, "the tie goes to the first");
        assert_eq!((counts["b"], counts["c"]), (33, 33));
        assert_eq!(apportion(&shares, 1).values().sum::<usize>(), 1);
    }

    #[test]
    fn without_kube_proxy_every_connection_times_out() {
        let form = ClusterTraceForm { stopped_everywhere: true, ..ClusterTraceForm::default() };
        let h = histogram(&form, 10);
        assert_eq!(h.method, Method::Exact);
        assert_eq!(h.bars.len(), 1, "{h:?}");
        assert_eq!((h.bars[0].label.as_str(), h.bars[0].count), ("timeout", 10));
        assert_eq!(h.bars[0].percent, 100.0);
    }

    #[test]
    fn the_number_of_connections_is_checked() {
        assert_eq!(parse_connections(" 250 "), Ok(250));
        assert!(parse_connections("0").unwrap_err().contains("at least one"));
        assert!(parse_connections("abc").unwrap_err().contains("not a number"));
        assert!(parse_connections("-3").is_err());
        assert!(parse_connections(&(MAX_CONNECTIONS + 1).to_string()).is_err());
        assert_eq!(parse_connections(&MAX_CONNECTIONS.to_string()), Ok(MAX_CONNECTIONS));
    }
}
