//! A traced connection told as a story a learner can follow: who sends what to whom, the
//! name lookup with its own DNS query, then one numbered line per hop (the rule that acted
//! quoted), the conntrack entries left behind and the outcome. `Display` of [`ClusterTrace`]
//! is this text; the CLI prints it and the golden files hold it.
//!
//! Not here: producing hops (the walk's) or any JSON (the CLI serialises the values).

use std::fmt;

use super::walk::side;
use super::{ClusterTrace, DnsLookup, Flow, PeerKind, ResolvedTarget, Resolver, TargetKind};

fn target_line(t: &ResolvedTarget) -> String {
    let what = match (t.kind, &t.name) {
        (TargetKind::Service, Some(n)) => format!("Service {n}"),
        (TargetKind::Pod, Some(n)) => format!("pod {n}"),
        (TargetKind::Node, Some(n)) => format!("node {n}"),
        (TargetKind::Name, Some(n)) => format!("the name {} (Service {n})", t.asked),
        (TargetKind::Name, None) => format!("the name {}", t.asked),
        (_, _) => format!("the address {}", t.asked),
    };
    let port = t.service_port.as_ref().map(|p| format!(", Service port {p}")).unwrap_or_default();
    match t.ip {
        Some(ip) => format!("{what} at {}{port}", side(ip, t.port)),
        None => format!("{what} (not resolved)"),
    }
}

fn write_hops(f: &mut fmt::Formatter<'_>, flow: &Flow, indent: &str) -> fmt::Result {
    let width = flow.hops.len().to_string().len();
    for (i, hop) in flow.hops.iter().enumerate() {
        writeln!(f, "{indent}{:>width$}. {hop}", i + 1)?;
    }
    Ok(())
}

fn write_lookup(f: &mut fmt::Formatter<'_>, dns: &DnsLookup) -> fmt::Result {
    match &dns.resolver {
        Resolver::ClusterDns { resolv_conf } => {
            let ns: Vec<String> = resolv_conf.nameservers.iter().map(ToString::to_string).collect();
            writeln!(
                f,
                "name lookup: {} through cluster DNS (nameserver {}, search {}, ndots:{})",
                dns.name,
                ns.join(" "),
                resolv_conf.search.join(" "),
                resolv_conf.ndots
            )?;
        }
        Resolver::Host => writeln!(f, "name lookup: {} through the host's resolver", dns.name)?,
    }
    if let Some(exchange) = &dns.exchange {
        writeln!(f, "  the query's trip to the nameserver and back: {}", exchange.summary)?;
        write_hops(f, exchange, "    ")?;
    }
    for q in &dns.queries {
        writeln!(f, "  query {} → {}", q.name, q.answer)?;
    }
    if let Some(why) = &dns.failure {
        writeln!(f, "  {why}")?;
    }
    Ok(())
}

fn write_flow(f: &mut fmt::Formatter<'_>, flow: &Flow, branches: bool) -> fmt::Result {
    write_hops(f, flow, "  ")?;
    if !flow.conntrack.is_empty() {
        writeln!(f, "  conntrack entries left:")?;
        for e in &flow.conntrack {
            writeln!(f, "    {}: {e}", e.node)?;
        }
    }
    if branches {
        writeln!(f, "  => {}", flow.summary)?;
    }
    Ok(())
}

/// The story (see the module docs).
impl fmt::Display for ClusterTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let src = &self.source;
        let ips: Vec<String> = src.ips.iter().map(ToString::to_string).collect();
        let on = match (src.kind, &src.node) {
            (PeerKind::Pod, Some(n)) if src.host_network => format!(" (hostNetwork on {n})"),
            (PeerKind::Pod, Some(n)) => format!(" on {n}"),
            _ => String::new(),
        };
        writeln!(
            f,
            "{} trace, {} mode: {}{on} ({}) → {}, {}",
            self.protocol.as_lower(),
            self.mode,
            src.describe(),
            ips.join(", "),
            self.target.asked,
            target_line(&self.target)
        )?;
        if let Some(dns) = &self.dns {
            write_lookup(f, dns)?;
        }
        match self.flows.as_slice() {
            [] => {}
            [one] => {
                writeln!(f, "connection:")?;
                write_flow(f, one, false)?;
            }
            many => {
                for (i, flow) in many.iter().enumerate() {
                    writeln!(
                        f,
                        "connection, branch {} of {} (probability {:.4}):",
                        i + 1,
                        many.len(),
                        flow.probability
                    )?;
                    write_flow(f, flow, true)?;
                }
            }
        }
        let to = self.delivered_to.as_deref().map(|d| format!(" to {d}")).unwrap_or_default();
        writeln!(f, "outcome: {}{to}", self.outcome)?;
        writeln!(f, "{}", self.summary)
    }
}
