//! Lookup tables over a ruleset, built once per tracer: chains by name, and set/map elements
//! by exact key, so a map lookup costs O(log n) whatever the number of Services.
//!
//! Interval elements (prefixes, ranges) cannot be found by exact key; sets holding any are
//! searched element by element.

use std::collections::BTreeMap;

use crate::backend::nftables::{Element, Hook, Ruleset, Table, Value};

/// Where a chain is: table index and chain index.
pub(crate) type ChainRef = (usize, usize);

/// The elements of one set or map, indexed by key.
#[derive(Debug)]
pub(crate) struct ElementIndex<'a> {
    pub(crate) elements: &'a [Element],
    by_key: BTreeMap<&'a [Value], usize>,
    has_intervals: bool,
}

impl<'a> ElementIndex<'a> {
    pub(crate) fn new(elements: &'a [Element]) -> ElementIndex<'a> {
        let mut by_key = BTreeMap::new();
        let mut has_intervals = false;
        for (i, e) in elements.iter().enumerate() {
            // Prefixes and ranges contain keys; integers compare by value whatever their spelling.
            has_intervals |= e
                .key
                .iter()
                .any(|v| matches!(v, Value::Prefix(_) | Value::Range(..) | Value::Integer(_)));
            by_key.entry(e.key.as_slice()).or_insert(i);
        }
        ElementIndex { elements, by_key, has_intervals }
    }

    /// The element whose key equals `key`, or (interval sets) contains it, per `contains`.
    pub(crate) fn find(
        &self,
        key: &[Value],
        contains: impl Fn(&Value, &Value) -> bool,
    ) -> Option<&'a Element> {
        if let Some(&i) = self.by_key.get(key) {
            return self.elements.get(i);
        }
        if !self.has_intervals {
            return None;
        }
        self.elements.iter().find(|e| {
            e.key.len() == key.len() && e.key.iter().zip(key).all(|(ek, k)| contains(ek, k))
        })
    }
}

/// Chains, sets and maps of every table, by name.
#[derive(Debug)]
pub(crate) struct RulesetIndex<'a> {
    pub(crate) ruleset: &'a Ruleset,
    chains: Vec<BTreeMap<&'a str, usize>>,
    sets: Vec<BTreeMap<&'a str, ElementIndex<'a>>>,
    /// Every base chain: (hook, priority, chain), by priority.
    base: Vec<(Hook, i32, ChainRef)>,
}

impl<'a> RulesetIndex<'a> {
    pub(crate) fn new(ruleset: &'a Ruleset) -> RulesetIndex<'a> {
        let mut chains = Vec::new();
        let mut sets = Vec::new();
        let mut base = Vec::new();
        for (t, table) in ruleset.tables.iter().enumerate() {
            for (c, chain) in table.chains.iter().enumerate() {
                if let Some(b) = chain.base {
                    base.push((b.hook, b.priority, (t, c)));
                }
            }
            let mut by_chain = BTreeMap::new();
            for (i, c) in table.chains.iter().enumerate() {
                by_chain.insert(c.name.as_str(), i);
            }
            chains.push(by_chain);
            let mut by_name = BTreeMap::new();
            for s in &table.sets {
                by_name.insert(s.name.as_str(), ElementIndex::new(&s.elements));
            }
            for m in &table.maps {
                by_name.insert(m.name.as_str(), ElementIndex::new(&m.elements));
            }
            sets.push(by_name);
        }
        base.sort_by_key(|(_, prio, _)| *prio);
        RulesetIndex { ruleset, chains, sets, base }
    }

    pub(crate) fn table(&self, t: usize) -> &'a Table {
        &self.ruleset.tables[t]
    }

    pub(crate) fn chain(&self, table: usize, name: &str) -> Option<ChainRef> {
        self.chains.get(table)?.get(name).map(|&c| (table, c))
    }

    pub(crate) fn set(&self, table: usize, name: &str) -> Option<&ElementIndex<'a>> {
        self.sets.get(table)?.get(name)
    }

    /// The base chains on `hook` of tables that see `family`'s packets, by priority (ties in
    /// table and chain order).
    pub(crate) fn base_chains(&self, hook: Hook, family: crate::net::IpFamily) -> Vec<ChainRef> {
        self.base
            .iter()
            .filter(|(h, _, (t, _))| *h == hook && self.ruleset.tables[*t].family.sees(family))
            .map(|(_, _, r)| *r)
            .collect()
    }
}
