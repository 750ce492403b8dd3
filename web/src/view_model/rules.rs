//! The Rules panel: one node's ruleset as a jump graph (KUBE-SERVICES → KUBE-SVC → KUBE-SEP;
//! nftables: base chain → services map → service chain → endpoint chains), every chain name
//! explained, the rules a trace went through marked, and the whole text in either of its
//! spellings (what kube-proxy writes, what the node shows) for copying and downloading.
//!
//! The graph is a spanning tree: each chain is drawn once, under the first rule that jumps to
//! it in depth-first order; later jumps to it are links. Not responsible for building or
//! walking rules (the core's `backend` and `sim`).

mod explain;
mod reveal;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kpsim::backend::{Ruleset, iptables, nftables};
use kpsim::proxy::ServicePortPlan;
use kpsim::settings::Mode;

pub use explain::{explain, iptables_meanings, pieces};
pub use reveal::chains_to_open;

/// Which spelling of the rules to show.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Spelling {
    /// What kube-proxy writes: `iptables-restore` input, or the `nft -f` transaction.
    #[default]
    Written,
    /// What the node shows: `iptables-save`, or `nft list table`.
    OnNode,
}

impl Spelling {
    /// The name of the spelling in `mode`.
    pub fn label(self, mode: Mode) -> &'static str {
        match (mode, self) {
            (Mode::Nftables, Spelling::Written) => "nft -f transaction",
            (Mode::Nftables, Spelling::OnNode) => "nft list table",
            (Mode::Ipvs, Spelling::Written) => "IPVS, ipsets, iptables-restore input",
            (Mode::Ipvs, Spelling::OnNode) => "IPVS, ipsets, iptables-save",
            (_, Spelling::Written) => "iptables-restore input",
            (_, Spelling::OnNode) => "iptables-save",
        }
    }
}

/// A rule a trace went through: table, chain, and its index in the chain (`None`: the
/// chain's policy).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActedRule {
    pub table: String,
    pub chain: String,
    pub index: Option<usize>,
}

/// Everything the panel shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RulesView {
    pub node: String,
    pub mode: Mode,
    pub spelling: Spelling,
    /// The whole ruleset in the chosen spelling.
    pub text: String,
    /// Download name: `minikube.iptables-restore`, `minikube.nft`, …
    pub file_name: String,
    pub tables: Vec<TableView>,
    /// Chain name → what it stands for, for every chain that has an explanation.
    pub explanations: BTreeMap<String, String>,
    pub chain_count: usize,
    pub rule_count: usize,
    /// Large rulesets open only their entry chains.
    pub large: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableView {
    /// `nat`, `filter`, `ip kube-proxy`.
    pub title: String,
    pub chains: Vec<ChainView>,
    /// Chains drawn at the top level (entry points), indices into `chains`.
    pub roots: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChainView {
    pub name: String,
    /// `table/chain`: stable key for expanding and collapsing.
    pub key: String,
    /// Depth in the jump tree (0 for an entry point).
    pub depth: usize,
    /// `policy ACCEPT`, `type nat hook prerouting priority dstnat - 10`, or empty.
    pub header: String,
    pub explanation: Option<String>,
    pub rules: Vec<RuleView>,
    /// A trace went through this chain.
    pub acted: bool,
    /// Open unless the user toggled it.
    pub open_by_default: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleView {
    pub text: String,
    /// A remark about where the rule comes from, or empty.
    pub note: &'static str,
    pub jumps: Vec<Jump>,
    /// The trace matched this rule (or took this policy).
    pub acted: bool,
    /// The Cluster trace's hops (1-based numbers) this rule acted in.
    pub hops: Vec<usize>,
}

/// A jump or goto from a rule to a chain of the same table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jump {
    /// The map element that leads there (`10.96.0.10 . udp . 53`, `0`), for verdict maps.
    pub label: Option<String>,
    /// Index of the target in the table's chains.
    pub chain: usize,
    /// The target is drawn here (first reached); otherwise this is a link to it.
    pub owns: bool,
}

/// More rules than this and only entry chains start open.
const LARGE_RULES: usize = 400;

/// The panel for one node's ruleset.
pub fn rules_view(
    node: &str,
    ruleset: &Ruleset,
    ports: &[ServicePortPlan],
    spelling: Spelling,
    acted: &BTreeMap<ActedRule, Vec<usize>>,
) -> RulesView {
    let (mode, text, extension, mut tables) = match ruleset {
        Ruleset::Iptables(r) => {
            let (text, ext) = match spelling {
                Spelling::Written => (r.to_string(), "iptables-restore"),
                Spelling::OnNode => (r.save().to_string(), "iptables-save"),
            };
            (Mode::Iptables, text, ext, iptables_tables(r, spelling))
        }
        Ruleset::Nftables(r) => {
            let (text, ext) = match spelling {
                Spelling::Written => (r.transaction().to_string(), "nft"),
                Spelling::OnNode => (r.list_view().to_string(), "nft-list"),
            };
            (Mode::Nftables, text, ext, nftables_tables(r, spelling))
        }
        // IPVS state: its text in sections, and the iptables rules as chains.
        Ruleset::Ipvs(r) => {
            let (text, ext) = match spelling {
                Spelling::Written => (r.to_string(), "ipvs"),
                Spelling::OnNode => (r.on_node().to_string(), "ipvs-save"),
            };
            (Mode::Ipvs, text, ext, iptables_tables(&r.kernel, spelling))
        }
    };
    let rule_count: usize = tables.iter().flat_map(|t| &t.chains).map(|c| c.rules.len()).sum();
    let chain_count: usize = tables.iter().map(|t| t.chains.len()).sum();
    let large = rule_count > LARGE_RULES;
    let meanings = match mode {
        Mode::Nftables => HashMap::new(),
        _ => iptables_meanings(ports),
    };
    let mut explanations = BTreeMap::new();
    for table in &mut tables {
        let short = table.title.rsplit(' ').next().unwrap_or_default().to_owned();
        for chain in &mut table.chains {
            chain.explanation = explain(&chain.name, mode, &meanings);
            if let Some(e) = &chain.explanation {
                explanations.insert(chain.name.clone(), e.clone());
            }
            chain.open_by_default = if large { chain.depth < 1 } else { chain.depth < 4 };
            for (i, rule) in chain.rules.iter_mut().enumerate() {
                for (a, hops) in acted {
                    if a.chain == chain.name && a.index == Some(i) && same_table(&a.table, &short) {
                        rule.acted = true;
                        rule.hops.extend(hops);
                    }
                }
                rule.hops.sort_unstable();
                rule.hops.dedup();
            }
            chain.acted =
                acted.keys().any(|a| a.chain == chain.name && same_table(&a.table, &short));
        }
    }
    RulesView {
        node: node.to_owned(),
        mode,
        spelling,
        text,
        file_name: format!("{node}.{extension}"),
        tables,
        explanations,
        chain_count,
        rule_count,
        large,
    }
}

/// Trace steps name iptables tables `nat`/`filter` and nftables tables by name or with
/// their family; both match the table's short title.
fn same_table(step_table: &str, short: &str) -> bool {
    step_table == short || step_table.rsplit(' ').next() == Some(short)
}

fn iptables_tables(r: &iptables::Ruleset, spelling: Spelling) -> Vec<TableView> {
    // nat first: it is where Services are.
    let is_nat = |t: &&iptables::Table| t.name == iptables::TableName::Nat;
    let (nat, others): (Vec<&iptables::Table>, Vec<&iptables::Table>) =
        r.tables.iter().partition(is_nat);
    nat.into_iter()
        .chain(others)
        .map(|table| {
            let chains = table.chains();
            let index: HashMap<&str, usize> =
                chains.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
            let views: Vec<ChainView> = chains
                .iter()
                .map(|c| ChainView {
                    name: c.name.to_string(),
                    key: format!("{}/{}", table.name, c.name),
                    header: c.policy.map(|p| format!("policy {}", p.as_str())).unwrap_or_default(),
                    rules: c
                        .rules
                        .iter()
                        .map(|rule| {
                            let inserted = rule.origin == iptables::RuleOrigin::Inserted;
                            let text = match spelling {
                                Spelling::Written => rule.line(&c.name).to_string(),
                                Spelling::OnNode => {
                                    iptables::SaveRule { chain: &c.name, rule, family: r.family }
                                        .to_string()
                                }
                            };
                            let target = match &rule.target {
                                Some(
                                    iptables::Target::Jump { chain }
                                    | iptables::Target::Goto { chain },
                                ) => index.get(chain.as_str()).copied(),
                                _ => None,
                            };
                            RuleView {
                                text,
                                note: if inserted && spelling == Spelling::Written {
                                    "inserted with iptables -I, not part of the restore input"
                                } else {
                                    ""
                                },
                                jumps: target
                                    .map(|chain| Jump { label: None, chain, owns: false })
                                    .into_iter()
                                    .collect(),
                                acted: false,
                                hops: Vec::new(),
                            }
                        })
                        .collect(),
                    ..ChainView::default()
                })
                .collect();
            let builtin = |c: &ChainView| table.name.is_builtin(&c.name);
            tree(table.name.to_string(), views, builtin)
        })
        .collect()
}

fn nftables_tables(r: &nftables::Ruleset, spelling: Spelling) -> Vec<TableView> {
    r.tables
        .iter()
        .map(|table| {
            let index: HashMap<&str, usize> =
                table.chains.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
            let target = |verdict: &nftables::Verdict| match verdict {
                nftables::Verdict::Jump(c) | nftables::Verdict::Goto(c) => {
                    index.get(c.as_str()).copied()
                }
                _ => None,
            };
            let element_jumps = |elements: &[nftables::Element]| -> Vec<Jump> {
                elements
                    .iter()
                    .filter_map(|e| match &e.data {
                        Some(nftables::ElementData::Verdict(v)) => target(v).map(|chain| Jump {
                            label: Some(
                                e.key
                                    .iter()
                                    .map(ToString::to_string)
                                    .collect::<Vec<_>>()
                                    .join(" . "),
                            ),
                            chain,
                            owns: false,
                        }),
                        _ => None,
                    })
                    .collect()
            };
            let views: Vec<ChainView> = table
                .chains
                .iter()
                .map(|c| ChainView {
                    name: c.name.to_string(),
                    key: format!("{} {}/{}", table.family, table.name, c.name),
                    header: c
                        .base
                        .as_ref()
                        .map(|b| {
                            format!(
                                "type {} hook {} priority {}",
                                b.chain_type.as_str(),
                                b.hook.as_str(),
                                b.priority
                            )
                        })
                        .unwrap_or_default(),
                    rules: c
                        .rules
                        .iter()
                        .map(|rule| {
                            let mut jumps = Vec::new();
                            for s in &rule.statements {
                                match s {
                                    nftables::Statement::Verdict(v) => {
                                        jumps.extend(target(v).map(|chain| Jump {
                                            label: None,
                                            chain,
                                            owns: false,
                                        }));
                                    }
                                    nftables::Statement::Vmap { map, .. } => match map {
                                        nftables::VmapSource::Named(name) => {
                                            if let Some(m) = table.map(name) {
                                                jumps.extend(element_jumps(&m.elements));
                                            }
                                        }
                                        nftables::VmapSource::Anonymous(elements) => {
                                            jumps.extend(element_jumps(elements));
                                        }
                                    },
                                    _ => {}
                                }
                            }
                            RuleView {
                                text: match spelling {
                                    Spelling::Written => rule.transaction_text(),
                                    Spelling::OnNode => rule.list_text(),
                                },
                                note: "",
                                jumps,
                                acted: false,
                                hops: Vec::new(),
                            }
                        })
                        .collect(),
                    ..ChainView::default()
                })
                .collect();
            let mut base: BTreeSet<&str> = BTreeSet::new();
            base.extend(table.chains.iter().filter(|c| c.base.is_some()).map(|c| c.name.as_str()));
            tree(format!("{} {}", table.family, table.name), views, |c| {
                base.contains(c.name.as_str())
            })
        })
        .collect()
}

/// Orders the graph: entry points (chains nobody jumps to; built-in/base chains first), then
/// a depth-first walk that gives each chain its depth and its one owning jump.
fn tree(
    title: String,
    mut chains: Vec<ChainView>,
    is_entry: impl Fn(&ChainView) -> bool,
) -> TableView {
    let mut referenced = vec![false; chains.len()];
    for c in &chains {
        for r in &c.rules {
            for j in &r.jumps {
                referenced[j.chain] = true;
            }
        }
    }
    let (mut candidates, others): (Vec<usize>, Vec<usize>) =
        (0..chains.len()).filter(|&i| !referenced[i]).partition(|&i| is_entry(&chains[i]));
    candidates.extend(others);
    let mut seen = vec![false; chains.len()];
    let mut roots = Vec::new();
    let walk_from = |start: usize, chains: &mut Vec<ChainView>, seen: &mut Vec<bool>| {
        // Iterative DFS: (chain, depth); children in rule order.
        let mut stack = vec![(start, 0usize)];
        seen[start] = true;
        while let Some((i, depth)) = stack.pop() {
            chains[i].depth = depth;
            let mut children = Vec::new();
            for r in &mut chains[i].rules {
                for j in &mut r.jumps {
                    if !seen[j.chain] {
                        seen[j.chain] = true;
                        j.owns = true;
                        children.push(j.chain);
                    }
                }
            }
            for c in children.into_iter().rev() {
                stack.push((c, depth + 1));
            }
        }
    };
    for i in candidates {
        if !seen[i] {
            roots.push(i);
            walk_from(i, &mut chains, &mut seen);
        }
    }
    // Whatever only a cycle reaches (not written by kube-proxy, but total).
    for i in 0..chains.len() {
        if !seen[i] {
            roots.push(i);
            walk_from(i, &mut chains, &mut seen);
        }
    }
    TableView { title, chains, roots }
}

#[cfg(test)]
mod tests {
    use kpsim::naming;

    use super::*;
    use crate::computed::Computed;
    use crate::examples;

    fn view(text: &str, mode: Mode, spelling: Spelling) -> RulesView {
        let c = Computed::new(text.to_owned().into());
        let rules = c.rules("minikube", mode);
        rules_view(
            "minikube",
            &rules.ruleset,
            &rules.plan.service_ports,
            spelling,
            &BTreeMap::new(),
        )
    }

    fn chain<'a>(v: &'a RulesView, prefix: &str) -> Vec<&'a ChainView> {
        v.tables.iter().flat_map(|t| &t.chains).filter(|c| c.name.starts_with(prefix)).collect()
    }

    #[test]
    fn iptables_services_form_a_tree_from_kube_services_to_endpoints() {
        let v = view(examples::WALKTHROUGH.text, Mode::Iptables, Spelling::Written);
        assert_eq!(v.tables[0].title, "nat");
        let nat = &v.tables[0];
        let services =
            nat.chains.iter().position(|c| c.name == "KUBE-SERVICES").expect("KUBE-SERVICES");
        assert!(nat.chains[services].depth >= 1, "reached from PREROUTING/OUTPUT");
        assert!(nat.roots.iter().any(|&r| nat.chains[r].name == "PREROUTING"));
        // The Service's KUBE-SVC chain hangs under KUBE-SERVICES, its two KUBE-SEP under it.
        let svc = nat
            .chains
            .iter()
            .find(|c| {
                c.name.starts_with("KUBE-SVC-")
                    && c.explanation.as_deref().is_some_and(|e| e.contains("default/service:http"))
            })
            .expect("the Service's KUBE-SVC chain");
        assert_eq!(svc.depth, nat.chains[services].depth + 1);
        let seps: Vec<&str> = svc
            .rules
            .iter()
            .flat_map(|r| &r.jumps)
            .map(|j| nat.chains[j.chain].name.as_str())
            .filter(|n| n.starts_with("KUBE-SEP-"))
            .collect();
        assert_eq!(seps.len(), 2, "{svc:#?}");
        for sep in seps {
            let c = nat.chains.iter().find(|c| c.name == sep).expect("sep");
            assert!(
                c.explanation.as_deref().is_some_and(|e| e.starts_with("endpoint 10.244.")),
                "{c:?}"
            );
            assert!(c.open_by_default, "small rulesets open down to the endpoints");
        }
        assert_eq!(v.file_name, "minikube.iptables-restore");
        assert!(v.text.starts_with("*filter") || v.text.starts_with("*nat"));
    }

    #[test]
    fn each_chain_is_owned_by_exactly_one_jump_or_is_a_root() {
        for mode in [Mode::Iptables, Mode::Nftables, Mode::Ipvs] {
            let v = view(examples::WALKTHROUGH.text, mode, Spelling::OnNode);
            for t in &v.tables {
                let mut owners = vec![0; t.chains.len()];
                for c in &t.chains {
                    for j in c.rules.iter().flat_map(|r| &r.jumps).filter(|j| j.owns) {
                        owners[j.chain] += 1;
                    }
                }
                for r in &t.roots {
                    owners[*r] += 1;
                }
                assert!(owners.iter().all(|&n| n == 1), "{mode}: {owners:?}");
            }
        }
    }

    #[test]
    fn nftables_goes_from_the_services_map_to_service_and_endpoint_chains() {
        let v = view(examples::WALKTHROUGH.text, Mode::Nftables, Spelling::Written);
        assert_eq!(v.tables.len(), 1);
        let t = &v.tables[0];
        assert_eq!(t.title, "ip kube-proxy");
        let services = t.chains.iter().find(|c| c.name == "services").expect("services");
        let labels: Vec<&str> = services
            .rules
            .iter()
            .flat_map(|r| &r.jumps)
            .filter_map(|j| j.label.as_deref())
            .collect();
        assert!(labels.iter().any(|l| l.ends_with(". tcp . 8080")), "{labels:?}");
        let svc = chain(&v, "service-")
            .into_iter()
            .find(|c| c.name.ends_with("default/service/tcp/http"));
        let svc = svc.expect("service chain");
        assert_eq!(
            svc.explanation.as_deref(),
            Some("Cluster-policy endpoint dispatch of default/service:http (tcp)")
        );
        assert_eq!(svc.depth, services.depth + 1);
        let endpoints = chain(&v, "endpoint-");
        assert!(
            endpoints.iter().any(|c| c
                .explanation
                .as_deref()
                .is_some_and(|e| e.starts_with("endpoint 10.244.1.")
                    && e.ends_with("of default/service:http (tcp)"))),
            "{endpoints:?}"
        );
        assert_eq!(v.file_name, "minikube.nft");
    }

    #[test]
    fn ipvs_shows_its_virtual_servers_and_sets_and_the_iptables_rules_as_chains() {
        let written = view(examples::WALKTHROUGH.text, Mode::Ipvs, Spelling::Written);
        assert_eq!(written.file_name, "minikube.ipvs");
        assert!(written.text.starts_with("# kube-ipvs0 addresses\n"), "{}", written.text);
        assert!(written.text.contains("\nTCP  10.100.253.115:8080 rr\n"), "{}", written.text);
        assert!(written.text.contains("\n# iptables-restore input\n*nat\n"));
        let nat = written.tables.iter().find(|t| t.title == "nat").expect("nat");
        let services = nat.chains.iter().find(|c| c.name == "KUBE-SERVICES").expect("chain");
        assert!(
            services.rules.iter().any(|r| r.text.contains("--match-set KUBE-CLUSTER-IP dst,dst")),
            "{services:?}"
        );
        assert!(
            services.explanation.as_deref().is_some_and(|e| e.contains("IPVS, not iptables")),
            "{:?}",
            services.explanation
        );
        let filter = written.tables.iter().find(|t| t.title == "filter").expect("filter");
        let access = filter.chains.iter().find(|c| c.name == "KUBE-IPVS-FILTER").expect("chain");
        assert!(access.explanation.as_deref().is_some_and(|e| e.contains("ping")));
        let saved = view(examples::WALKTHROUGH.text, Mode::Ipvs, Spelling::OnNode);
        assert_eq!(saved.file_name, "minikube.ipvs-save");
        assert!(saved.text.contains("\n# iptables-save\n"), "{}", saved.text);
        assert!(saved.text.contains(
            "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        ));
        assert_eq!(Spelling::OnNode.label(Mode::Ipvs), "IPVS, ipsets, iptables-save");
    }

    #[test]
    fn the_save_spelling_shows_inserted_jumps_without_a_note() {
        let written = view(examples::WALKTHROUGH.text, Mode::Iptables, Spelling::Written);
        let saved = view(examples::WALKTHROUGH.text, Mode::Iptables, Spelling::OnNode);
        let note = |v: &RulesView| {
            v.tables
                .iter()
                .flat_map(|t| &t.chains)
                .flat_map(|c| &c.rules)
                .filter(|r| !r.note.is_empty())
                .count()
        };
        assert!(note(&written) > 0);
        assert_eq!(note(&saved), 0);
        assert!(saved.text.contains(
            "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        ));
        assert_eq!(saved.file_name, "minikube.iptables-save");
    }

    #[test]
    fn acted_rules_are_marked_in_their_chain() {
        let c = Computed::new(examples::WALKTHROUGH.text.into());
        let rules = c.rules("minikube", Mode::Iptables);
        let acted: BTreeMap<ActedRule, Vec<usize>> = [(
            ActedRule { table: "nat".into(), chain: "KUBE-SERVICES".into(), index: Some(0) },
            Vec::new(),
        )]
        .into();
        let v = rules_view(
            "minikube",
            &rules.ruleset,
            &rules.plan.service_ports,
            Spelling::Written,
            &acted,
        );
        let services = chain(&v, "KUBE-SERVICES")[0];
        assert!(services.acted);
        assert!(services.rules[0].acted);
        assert!(!services.rules.iter().skip(1).any(|r| r.acted));
        assert!(!chain(&v, "KUBE-POSTROUTING")[0].acted);
    }

    #[test]
    fn hashed_names_mean_what_the_core_says_they_mean() {
        let c = Computed::new(examples::WALKTHROUGH.text.into());
        let rules = c.rules("minikube", Mode::Iptables);
        let ports = &rules.plan.service_ports;
        let meanings = iptables_meanings(ports);
        assert!(meanings.len() > 4);
        for (chain, meaning) in &meanings {
            let core = naming::explain_chain(chain, ports).map(|m| m.to_string());
            assert_eq!(core.as_ref(), Some(meaning), "{chain}");
        }
    }

    #[test]
    fn large_rulesets_open_only_their_entry_chains() {
        let mut text = String::new();
        for i in 0..150 {
            text.push_str(&format!(
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\nspec:\n  selector: {{app: web}}\n  ports: [{{port: 80}}]\n"
            ));
        }
        text.push_str("---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: web}}\nspec: {containers: [{name: c, image: x}]}\n");
        let v = view(&text, Mode::Iptables, Spelling::Written);
        assert!(v.large, "{} rules", v.rule_count);
        assert!(
            v.tables.iter().flat_map(|t| &t.chains).all(|c| c.open_by_default == (c.depth == 0))
        );
    }
}
