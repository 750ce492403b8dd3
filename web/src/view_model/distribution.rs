//! The Cluster trace's N-connections histogram: the number the user typed checked
//! ([`parse_connections`]), and the core's [`Distribution`] (connections with seeds 0..N-1)
//! turned into one bar per server that answered plus one per way the rest failed.
//!
//! Not responsible for tracing (the core's `ClusterNetwork::distribution`) or for HTML
//! (`components::cluster_trace_panel`).

use kpsim::sim::cluster::{ClusterNetwork, Distribution, Outcome, TraceRequest};

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

/// The histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramView {
    pub connections: usize,
    /// Servers by name, then the failures by outcome.
    pub bars: Vec<Bar>,
    /// `100 connections: 100 delivered` / `… 52 delivered, 48 refused`.
    pub summary: String,
}

/// The distribution as bars.
pub fn histogram_view(d: &Distribution) -> HistogramView {
    let percent = |count: usize| {
        if d.connections == 0 { 0.0 } else { count as f64 * 100.0 / d.connections as f64 }
    };
    let mut bars: Vec<Bar> = d
        .delivered
        .iter()
        .map(|(who, &count)| Bar {
            label: who.clone(),
            count,
            percent: percent(count),
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
                percent: percent(count),
                outcome: outcome.as_str(),
            });
        }
    }
    let outcomes: Vec<String> =
        d.outcomes.iter().map(|(o, n)| format!("{n} {}", o.as_str())).collect();
    let noun = if d.connections == 1 { "connection" } else { "connections" };
    HistogramView {
        connections: d.connections,
        bars,
        summary: format!("{} {noun}: {}", d.connections, outcomes.join(", ")),
    }
}

/// Traces `n` connections (seeds 0..n-1) of `request` through `network`.
pub fn run(
    network: &ClusterNetwork,
    request: &TraceRequest,
    n: usize,
) -> Result<HistogramView, String> {
    let d = network.distribution(request, n).map_err(|e| e.to_string())?;
    Ok(histogram_view(&d))
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
    fn a_hundred_curls_of_the_walkthrough_service_reach_both_server_pods() {
        let h = histogram(&ClusterTraceForm::default(), DEFAULT_CONNECTIONS);
        assert_eq!(h.connections, 100);
        let labels: Vec<&str> = h.bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["default/server-pod-1", "default/server-pod-2"]);
        assert_eq!(h.bars.iter().map(|b| b.count).sum::<usize>(), 100);
        assert!(h.bars.iter().all(|b| b.count > 20 && b.outcome == "delivered"), "{h:?}");
        let total: f64 = h.bars.iter().map(|b| b.percent).sum();
        assert!((total - 100.0).abs() < 1e-9);
        assert_eq!(h.summary, "100 connections: 100 delivered");
    }

    #[test]
    fn without_kube_proxy_every_connection_times_out() {
        let form = ClusterTraceForm { stopped_everywhere: true, ..ClusterTraceForm::default() };
        let h = histogram(&form, 10);
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
