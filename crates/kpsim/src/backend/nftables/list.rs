//! The `nft list table` / `nft list ruleset` view (nft 1.0.6, Debian 12): what an admin sees
//! on a node after kube-proxy's transaction was loaded.
//!
//! The kernel's changes to what was sent are applied first (`loaded.rs`); this file only lays
//! out the result: tabs, symbolic priorities, `policy accept;`, element wrapping.

use std::fmt;

use super::ruleset::{
    Chain, DataType, Element, Map, Operand, Rule, Ruleset, Selector, Set, SetFlag, Table, Value,
};
use super::syntax::{self, Style};

/// `Display`s a ruleset as `nft list ruleset` prints it once loaded. Build it with
/// [`Ruleset::list_view`].
#[derive(Debug, Clone, Copy)]
pub struct ListView<'a>(&'a Ruleset);

impl Ruleset {
    /// What `nft list ruleset` (or `nft list table`, for a single table) prints after the
    /// transaction was loaded.
    pub fn list_view(&self) -> ListView<'_> {
        ListView(self)
    }
}

impl Rule {
    /// The rule as `nft list` prints it.
    pub fn list_text(&self) -> String {
        let mut out = String::new();
        syntax::rule(&mut out, &self.as_loaded(), Style::List);
        out
    }

    /// The rule as kube-proxy writes it in its transaction.
    pub fn transaction_text(&self) -> String {
        let mut out = String::new();
        syntax::rule(&mut out, self, Style::Transaction);
        out
    }
}

/// `ip daddr`, `meta mark`, … as `nft list` spells them.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        syntax::selector(&mut out, self, Style::List);
        f.write_str(&out)
    }
}

/// A value as `nft list` spells it.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        syntax::value(&mut out, self, Style::List, false);
        f.write_str(&out)
    }
}

/// A match operand (`10.0.0.0/8`, `{ a, b }`, `@set`) as `nft list` spells it.
impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        syntax::operand(&mut out, self, Style::List, false);
        f.write_str(&out)
    }
}

impl fmt::Display for ListView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loaded = self.0.as_loaded();
        let rules: usize =
            loaded.tables.iter().flat_map(|t| &t.chains).map(|c| c.rules.len() + 3).sum();
        let mut out = String::with_capacity(rules * 80);
        for table in &loaded.tables {
            write_table(&mut out, table);
        }
        f.write_str(&out)
    }
}

fn write_table(out: &mut String, table: &Table) {
    out.push_str(&format!("table {} {} {{\n", table.family, table.name));
    if let Some(c) = &table.comment {
        out.push_str("\tcomment ");
        syntax::quoted(out, c);
        out.push('\n');
    }
    let mut first = true;
    let mut delimit = |out: &mut String| {
        if !first {
            out.push('\n');
        }
        first = false;
    };
    for set in &table.sets {
        delimit(out);
        write_set(out, set);
    }
    for map in &table.maps {
        delimit(out);
        write_map(out, map);
    }
    for chain in &table.chains {
        delimit(out);
        write_chain(out, chain);
    }
    out.push_str("}\n");
}

fn type_line(out: &mut String, key: &[DataType], data: Option<&DataType>) {
    out.push_str("\t\ttype ");
    for (i, t) in key.iter().enumerate() {
        if i > 0 {
            out.push_str(" . ");
        }
        out.push_str(t.as_str());
    }
    if let Some(d) = data {
        out.push_str(" : ");
        out.push_str(d.as_str());
    }
    out.push('\n');
}

fn flags_line(out: &mut String, flags: &[SetFlag]) {
    if !flags.is_empty() {
        let names: Vec<&str> = flags.iter().map(|f| f.as_str()).collect();
        out.push_str(&format!("\t\tflags {}\n", names.join(",")));
    }
}

fn comment_line(out: &mut String, comment: &Option<String>) {
    if let Some(c) = comment {
        out.push_str("\t\tcomment ");
        syntax::quoted(out, c);
        out.push('\n');
    }
}

/// How many elements nft 1.0.6 puts on one line (`calculate_delim`): two addresses, sixteen
/// small integers, otherwise one.
fn per_line(key: &[DataType]) -> usize {
    match key {
        [DataType::Ipv4Addr] => 2,
        [DataType::InetProto | DataType::InetService | DataType::Mark] => 16,
        _ => 1,
    }
}

fn elements_line(out: &mut String, key: &[DataType], elements: &[Element]) {
    if elements.is_empty() {
        return;
    }
    let per_line = per_line(key);
    out.push_str("\t\telements = { ");
    for (i, e) in elements.iter().enumerate() {
        if i > 0 {
            out.push_str(if i % per_line == 0 { ",\n\t\t\t     " } else { ", " });
        }
        syntax::element(out, e, Style::List);
    }
    out.push_str(" }\n");
}

fn write_set(out: &mut String, set: &Set) {
    out.push_str(&format!("\tset {} {{\n", set.name));
    type_line(out, &set.key, None);
    if let Some(size) = set.size {
        out.push_str(&format!("\t\tsize {size}\n"));
    }
    flags_line(out, &set.flags);
    if let Some(t) = set.timeout_ms {
        out.push_str("\t\ttimeout ");
        syntax::duration(out, t, Style::List);
        out.push('\n');
    }
    comment_line(out, &set.comment);
    elements_line(out, &set.key, &set.elements);
    out.push_str("\t}\n");
}

fn write_map(out: &mut String, map: &Map) {
    out.push_str(&format!("\tmap {} {{\n", map.name));
    type_line(out, &map.key, Some(&map.data));
    flags_line(out, &map.flags);
    comment_line(out, &map.comment);
    elements_line(out, &map.key, &map.elements);
    out.push_str("\t}\n");
}

fn write_chain(out: &mut String, chain: &Chain) {
    out.push_str("\tchain ");
    out.push_str(&chain.name);
    out.push_str(" {\n");
    comment_line(out, &chain.comment);
    if let Some(base) = &chain.base {
        out.push_str(&format!(
            "\t\ttype {} hook {} priority ",
            base.chain_type.as_str(),
            base.hook.as_str()
        ));
        syntax::priority(out, base.hook, base.priority);
        out.push_str(&format!("; policy {};\n", base.policy.as_str()));
    }
    for rule in &chain.rules {
        out.push_str("\t\t");
        syntax::rule(out, rule, Style::List);
        out.push('\n');
    }
    out.push_str("\t}\n");
}
