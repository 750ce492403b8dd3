//! Revealing the rule a Cluster trace hop acted by: which chains of the jump graph must be
//! open for it to be drawn (its own chain and every chain above it, as the graph's spanning
//! tree nests them).
//!
//! Not responsible for the graph itself ([`super::rules_view`]) or for scrolling and focus
//! (the Rules panel and `crate::browser`).

use super::RulesView;

/// The keys of the chains to open so that the rules hop `hop` acted in are drawn: their own
/// chains and every chain above them in the jump graph.
pub fn chains_to_open(view: &RulesView, hop: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for table in &view.tables {
        // The chain each chain is drawn under (its owning jump's chain).
        let mut parent = vec![None; table.chains.len()];
        for (i, c) in table.chains.iter().enumerate() {
            for j in c.rules.iter().flat_map(|r| &r.jumps).filter(|j| j.owns) {
                if let Some(p) = parent.get_mut(j.chain) {
                    *p = Some(i);
                }
            }
        }
        for (i, c) in table.chains.iter().enumerate() {
            if !c.rules.iter().any(|r| r.hops.contains(&hop)) {
                continue;
            }
            let mut at = Some(i);
            // Bounded by the chain count: the drawn graph is a tree.
            for _ in 0..table.chains.len() {
                let Some(k) = at else { break };
                if let Some(chain) = table.chains.get(k)
                    && !keys.contains(&chain.key)
                {
                    keys.push(chain.key.clone());
                }
                at = parent.get(k).copied().flatten();
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kpsim::settings::Mode;

    use super::*;
    use crate::computed::Computed;
    use crate::examples;
    use crate::view_model::rules::{ActedRule, Spelling, rules_view};

    #[test]
    fn a_hop_in_an_endpoint_chain_opens_every_chain_down_to_it() {
        let c = Computed::new(examples::WALKTHROUGH.text.into());
        let rules = c.rules("minikube", Mode::Iptables);
        let ports = &rules.plan.service_ports;
        let first = |prefix: &str| {
            let v =
                rules_view("minikube", &rules.ruleset, ports, Spelling::Written, &BTreeMap::new());
            v.tables
                .iter()
                .flat_map(|t| &t.chains)
                .find(|c| c.name.starts_with(prefix))
                .map(|c| c.name.clone())
                .expect(prefix)
        };
        let sep = first("KUBE-SEP-");
        let acted: BTreeMap<ActedRule, Vec<usize>> =
            [(ActedRule { table: "nat".into(), chain: sep.clone(), index: Some(1) }, vec![4])]
                .into();
        let v = rules_view("minikube", &rules.ruleset, ports, Spelling::Written, &acted);
        let keys = chains_to_open(&v, 4);
        assert_eq!(keys.first(), Some(&format!("nat/{sep}")), "{keys:?}");
        assert!(keys.iter().any(|k| k.starts_with("nat/KUBE-SVC-")), "{keys:?}");
        assert!(keys.contains(&"nat/KUBE-SERVICES".to_owned()), "{keys:?}");
        assert!(keys.iter().all(|k| k.starts_with("nat/")), "only the nat table: {keys:?}");
        assert!(chains_to_open(&v, 5).is_empty(), "no rule acted in hop 5");
    }
}
