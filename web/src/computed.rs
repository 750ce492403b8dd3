//! Everything computed from a text, once per text: the analysis, and — on demand, once per
//! node and mode — kube-proxy's plan and ruleset for that node.
//!
//! The page recomputes on every keystroke, so this is where the memoisation lives: a
//! [`Computed`] belongs to one text and caches what was asked of it; a [`Cache`] keeps the
//! `Computed` of the last few texts (the editor's, and the older texts that experiments
//! freeze rules from). A text whose cluster is the same as the previous text's (an edit in a
//! comment, blank lines, a keystroke that leaves a value as it was) shares that text's plans
//! and rulesets, and its [`Computed::cluster_id`], so what depends only on the cluster is not
//! computed again. Not responsible for turning results into rows (`view_model`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use kpsim::Analysis;
use kpsim::backend::Ruleset;
use kpsim::model::Admission;
use kpsim::net::IpFamily;
use kpsim::proxy::ProxyPlan;
use kpsim::settings::{Mode, ProxySettings};
use yew::AttrValue;

/// The node name used when the input has no node at all (as-given admission of Services and
/// EndpointSlices): kube-proxy still runs somewhere.
pub const FALLBACK_NODE: &str = "node";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What one text yields.
#[derive(Debug)]
pub struct Computed {
    id: u64,
    pub text: AttrValue,
    pub analysis: Analysis,
    /// The family kube-proxy is simulated for: the cluster's primary one.
    pub family: IpFamily,
    /// Node names, sorted (the fallback node when the input has none).
    pub nodes: Vec<String>,
    /// Equal for two computations whose clusters are equal (see [`Cache::get`]).
    cluster_id: u64,
    /// Shared by the computations of one cluster.
    rules: Rc<RulesByNode>,
}

/// kube-proxy's rules per node and mode, computed on first use.
type RulesByNode = RefCell<BTreeMap<(String, Mode), Rc<NodeRules>>>;

/// kube-proxy on one node: its settings, plan and ruleset.
#[derive(Debug)]
pub struct NodeRules {
    pub settings: ProxySettings,
    pub plan: ProxyPlan,
    pub ruleset: Ruleset,
}

/// Two `Computed` are the same when they are the same computation (cheap to compare in
/// Yew's props and memo dependencies).
impl PartialEq for Computed {
    fn eq(&self, other: &Computed) -> bool {
        self.id == other.id
    }
}

impl Computed {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The identity of the cluster: equal ids, equal clusters (and shared rules).
    pub fn cluster_id(&self) -> u64 {
        self.cluster_id
    }

    /// Takes `earlier`'s cluster identity and rules when the clusters are equal.
    fn share_cluster_of(&mut self, earlier: &Computed) {
        if self.analysis.cluster == earlier.analysis.cluster {
            self.cluster_id = earlier.cluster_id;
            self.rules = Rc::clone(&earlier.rules);
        }
    }

    /// Analyses `text` (the only eager work).
    ///
    /// Its id is unique for the page's lifetime: the panels show it (`data-computed`), so a
    /// test can tell when every panel shows the latest text.
    pub fn new(text: AttrValue) -> Computed {
        let analysis = kpsim::analyze(&text, Admission::Auto);
        let family = analysis.cluster.ip_families().first().copied().unwrap_or(IpFamily::V4);
        let mut nodes: Vec<String> =
            analysis.cluster.nodes.iter().map(|n| n.name.clone()).collect();
        if nodes.is_empty() {
            nodes.push(FALLBACK_NODE.to_owned());
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Computed {
            id,
            text,
            analysis,
            family,
            nodes,
            cluster_id: id,
            rules: Rc::new(RefCell::new(BTreeMap::new())),
        }
    }

    /// A node that exists: `wanted` when it does, else the first one.
    pub fn node_or_first<'a>(&'a self, wanted: Option<&'a str>) -> &'a str {
        match wanted {
            Some(n) if self.nodes.iter().any(|m| m == n) => n,
            _ => self.nodes.first().map_or(FALLBACK_NODE, String::as_str),
        }
    }

    /// kube-proxy's plan and ruleset on `node` in `mode`, computed on first use.
    pub fn rules(&self, node: &str, mode: Mode) -> Rc<NodeRules> {
        let key = (node.to_owned(), mode);
        if let Some(rules) = self.rules.borrow().get(&key) {
            return Rc::clone(rules);
        }
        let settings = ProxySettings::for_node(&self.analysis.cluster, node, mode, self.family);
        let plan = kpsim::proxy::plan(&self.analysis.cluster, &settings);
        let ruleset = kpsim::backend::Ruleset::build(&plan);
        let rules = Rc::new(NodeRules { settings, plan, ruleset });
        self.rules.borrow_mut().insert(key, Rc::clone(&rules));
        rules
    }
}

/// A computation as a memo key for what depends only on its cluster: two keys are equal
/// when their clusters are ([`Computed::cluster_id`]).
#[derive(Debug, Clone)]
pub struct SameCluster(pub Rc<Computed>);

impl PartialEq for SameCluster {
    fn eq(&self, other: &SameCluster) -> bool {
        self.0.cluster_id() == other.0.cluster_id()
    }
}

/// The `Computed` of the last few texts, most recent first.
#[derive(Debug, Default)]
pub struct Cache {
    entries: RefCell<Vec<Rc<Computed>>>,
}

/// How many texts are kept: the editor's current and previous text, and a few frozen ones.
const CACHE_SIZE: usize = 6;

impl Cache {
    /// The computation of `text`, reusing an earlier one for the same text, and the latest
    /// text's rules when the cluster is the same.
    pub fn get(&self, text: &AttrValue) -> Rc<Computed> {
        let mut entries = self.entries.borrow_mut();
        if let Some(i) = entries.iter().position(|c| *c.text == **text) {
            let found = entries.remove(i);
            entries.insert(0, Rc::clone(&found));
            return found;
        }
        let mut computed = Computed::new(text.clone());
        if let Some(latest) = entries.first() {
            computed.share_cluster_of(latest);
        }
        let computed = Rc::new(computed);
        entries.insert(0, Rc::clone(&computed));
        entries.truncate(CACHE_SIZE);
        computed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;

    #[test]
    fn rules_are_computed_once_per_node_and_mode() {
        let c = Computed::new(examples::WALKTHROUGH.text.into());
        assert_eq!(c.nodes, ["minikube", "minikube-m02", "minikube-m03"]);
        let a = c.rules("minikube", Mode::Iptables);
        let b = c.rules("minikube", Mode::Iptables);
        assert!(Rc::ptr_eq(&a, &b));
        let nft = c.rules("minikube", Mode::Nftables);
        assert_eq!(nft.ruleset.mode(), Mode::Nftables);
        assert_eq!(c.rules("minikube", Mode::Ipvs).ruleset.mode(), Mode::Ipvs);
        assert_eq!(a.settings.node_name, "minikube");
    }

    #[test]
    fn an_input_without_nodes_still_has_a_node_to_show() {
        let c = Computed::new("".into());
        assert_eq!(c.nodes, [FALLBACK_NODE]);
        assert_eq!(c.node_or_first(Some("gone")), FALLBACK_NODE);
    }

    #[test]
    fn a_text_with_the_same_cluster_shares_its_rules_and_a_changed_one_does_not() {
        let cache = Cache::default();
        let text = examples::WALKTHROUGH.text;
        let first = cache.get(&text.into());
        let rules = first.rules("minikube", Mode::Iptables);
        let comment = cache.get(&format!("{text}# a comment\n").into());
        assert_ne!(first.id(), comment.id());
        assert_eq!(first.cluster_id(), comment.cluster_id());
        assert!(SameCluster(Rc::clone(&first)) == SameCluster(Rc::clone(&comment)));
        assert!(Rc::ptr_eq(&rules, &comment.rules("minikube", Mode::Iptables)));
        let changed = cache.get(&text.replace("8080", "8081").into());
        assert_ne!(changed.cluster_id(), comment.cluster_id());
        let other = changed.rules("minikube", Mode::Iptables);
        assert!(!Rc::ptr_eq(&rules, &other));
        assert_ne!(other.ruleset, rules.ruleset);
    }

    #[test]
    fn the_cache_reuses_a_text_and_forgets_old_ones() {
        let cache = Cache::default();
        let first: AttrValue = "a: 1\n".into();
        let a = cache.get(&first);
        assert!(Rc::ptr_eq(&a, &cache.get(&"a: 1\n".into())));
        for i in 0..CACHE_SIZE {
            cache.get(&format!("b: {i}\n").into());
        }
        assert!(!Rc::ptr_eq(&a, &cache.get(&first)));
        assert_ne!(*a, *cache.get(&"c: 1\n".into()));
    }
}
