//! The transaction rendering: the `add table|set|map|chain|rule|element …` lines kube-proxy
//! hands to `nft -f` (the form of the reference tests' `expected.nft`).
//!
//! Objects are grouped by kind — table, sets, maps, chains, rules chain by chain, elements —
//! so every set, map and chain is declared before a rule or element refers to it and the
//! kernel accepts the transaction as one batch. Within each kind the ruleset's creation order
//! is kept; that order is what `nft list` later shows.

use std::fmt;

use super::ruleset::{Chain, Map, Ruleset, Set, Table};
use super::syntax::{self, Style};

/// `Display`s a ruleset as the transaction kube-proxy sends. Build it with
/// [`Ruleset::transaction`].
#[derive(Debug, Clone, Copy)]
pub struct Transaction<'a>(pub(crate) &'a Ruleset);

impl Ruleset {
    /// The `add …` transaction for `nft -f`, exactly as kube-proxy writes it.
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction(self)
    }
}

impl fmt::Display for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line of about 100 bytes per object, rule and element: sized once up front.
        let lines: usize = self
            .0
            .tables
            .iter()
            .map(|t| {
                let rules: usize = t.chains.iter().map(|c| c.rules.len() + 1).sum();
                let elements: usize = t.sets.iter().map(|s| s.elements.len() + 1).sum::<usize>()
                    + t.maps.iter().map(|m| m.elements.len() + 1).sum::<usize>();
                rules + elements + 1
            })
            .sum();
        let mut out = String::with_capacity(lines * 100);
        for table in &self.0.tables {
            write_table(&mut out, table);
        }
        f.write_str(&out)
    }
}

fn prefix(out: &mut String, verb: &str, table: &Table) {
    out.push_str("add ");
    out.push_str(verb);
    out.push(' ');
    out.push_str(table.family.as_str());
    out.push(' ');
    out.push_str(&table.name);
}

fn write_table(out: &mut String, table: &Table) {
    prefix(out, "table", table);
    if let Some(c) = &table.comment {
        out.push_str(" { comment ");
        syntax::quoted(out, c);
        out.push_str(" ; }");
    }
    out.push('\n');
    for set in &table.sets {
        write_set(out, table, set);
    }
    for map in &table.maps {
        write_map(out, table, map);
    }
    for chain in &table.chains {
        write_chain(out, table, chain);
    }
    for chain in &table.chains {
        for rule in &chain.rules {
            prefix(out, "rule", table);
            out.push(' ');
            out.push_str(&chain.name);
            out.push(' ');
            syntax::rule(out, rule, Style::Transaction);
            out.push('\n');
        }
    }
    let set_elements = table.sets.iter().map(|s| (&s.name, &s.elements));
    let map_elements = table.maps.iter().map(|m| (&m.name, &m.elements));
    for (name, elements) in set_elements.chain(map_elements) {
        for element in elements {
            prefix(out, "element", table);
            out.push(' ');
            out.push_str(name);
            out.push_str(" { ");
            syntax::element(out, element, Style::Transaction);
            out.push_str(" }\n");
        }
    }
}

fn key_type(out: &mut String, key: &[super::DataType]) {
    for (i, t) in key.iter().enumerate() {
        if i > 0 {
            out.push_str(" . ");
        }
        out.push_str(t.as_str());
    }
}

fn flags(out: &mut String, flags: &[super::SetFlag]) {
    if !flags.is_empty() {
        let names: Vec<&str> = flags.iter().map(|f| f.as_str()).collect();
        out.push_str(" flags ");
        out.push_str(&names.join(","));
        out.push_str(" ;");
    }
}

fn comment(out: &mut String, comment: &Option<String>) {
    if let Some(c) = comment {
        out.push_str(" comment ");
        syntax::quoted(out, c);
        out.push_str(" ;");
    }
}

fn write_set(out: &mut String, table: &Table, set: &Set) {
    prefix(out, "set", table);
    out.push(' ');
    out.push_str(&set.name);
    out.push_str(" { type ");
    key_type(out, &set.key);
    out.push_str(" ;");
    flags(out, &set.flags);
    if let Some(t) = set.timeout_ms {
        out.push_str(" timeout ");
        syntax::duration(out, t, Style::Transaction);
        out.push_str(" ;");
    }
    if let Some(size) = set.size {
        out.push_str(&format!(" size {size} ;"));
    }
    comment(out, &set.comment);
    out.push_str(" }\n");
}

fn write_map(out: &mut String, table: &Table, map: &Map) {
    prefix(out, "map", table);
    out.push(' ');
    out.push_str(&map.name);
    out.push_str(" { type ");
    key_type(out, &map.key);
    out.push_str(" : ");
    out.push_str(map.data.as_str());
    out.push_str(" ;");
    flags(out, &map.flags);
    comment(out, &map.comment);
    out.push_str(" }\n");
}

fn write_chain(out: &mut String, table: &Table, chain: &Chain) {
    prefix(out, "chain", table);
    out.push(' ');
    out.push_str(&chain.name);
    if chain.base.is_none() && chain.comment.is_none() {
        out.push('\n');
        return;
    }
    out.push_str(" {");
    if let Some(base) = &chain.base {
        out.push_str(&format!(
            " type {} hook {} priority {} ;",
            base.chain_type.as_str(),
            base.hook.as_str(),
            base.priority
        ));
        if base.policy != super::Policy::Accept {
            out.push_str(&format!(" policy {} ;", base.policy.as_str()));
        }
    }
    comment(out, &chain.comment);
    out.push_str(" }\n");
}
