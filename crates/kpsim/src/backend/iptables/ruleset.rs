//! A node's iptables ruleset as a typed value: tables of chains of rules, and its `Display`
//! as the `iptables-restore` input kube-proxy writes, in the canonical order of kube-proxy's
//! own tests (tables by name; `KUBE-NODEPORTS`, `KUBE-SERVICES`, other `KUBE-*`, the rest;
//! `-X` lines last).
//!
//! Chains are listed in that canonical order; rules keep the order they were added in (the
//! builder adds them in the canonical order, the parser in file order).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::BuildHasherDefault;

use serde::Serialize;

use super::chain_name::ChainName;
use super::rule::{Rule, RuleOrigin};
use crate::naming::NameHasher;
use crate::net::IpFamily;

/// An iptables table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableName {
    // Variant order = name order = the restore text's table order.
    Filter,
    Mangle,
    Nat,
    Raw,
    Security,
}

impl TableName {
    pub fn parse(s: &str) -> Option<TableName> {
        Some(match s {
            "filter" => TableName::Filter,
            "mangle" => TableName::Mangle,
            "nat" => TableName::Nat,
            "raw" => TableName::Raw,
            "security" => TableName::Security,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TableName::Filter => "filter",
            TableName::Mangle => "mangle",
            TableName::Nat => "nat",
            TableName::Raw => "raw",
            TableName::Security => "security",
        }
    }

    /// The built-in chains of the table, in the order `iptables-save` lists them.
    pub fn builtin_chains(self) -> &'static [&'static str] {
        match self {
            TableName::Filter | TableName::Security => &["INPUT", "FORWARD", "OUTPUT"],
            TableName::Mangle => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
            TableName::Nat => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
            TableName::Raw => &["PREROUTING", "OUTPUT"],
        }
    }

    pub fn is_builtin(self, chain: &str) -> bool {
        self.builtin_chains().contains(&chain)
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A built-in chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Policy {
    Accept,
    Drop,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
}

/// A chain and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    pub name: ChainName,
    /// The policy written for a built-in chain (`None`: `-` or not written, i.e. unchanged,
    /// ACCEPT on a fresh node). Always `None` for user chains.
    pub policy: Option<Policy>,
    /// Declared in the restore text (`:NAME - [0:0]`, which also flushes it). Chains that
    /// only exist on the node (built-in chains, chains made with `iptables -N`) are not.
    pub declared: bool,
    pub rules: Vec<Rule>,
}

impl Chain {
    pub fn new(name: ChainName, declared: bool) -> Chain {
        Chain { name, policy: None, declared, rules: Vec::new() }
    }
}

/// The canonical chain order of kube-proxy's tests: `KUBE-NODEPORTS`, `KUBE-SERVICES`, other
/// `KUBE-*` by name, then every other chain by name.
pub fn canonical_chain_order(a: &str, b: &str) -> Ordering {
    chain_group(a).cmp(&chain_group(b)).then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// The group of a chain name in [`canonical_chain_order`].
fn chain_group(name: &str) -> u8 {
    match name {
        "KUBE-NODEPORTS" => 0,
        "KUBE-SERVICES" => 1,
        n if n.starts_with("KUBE-") => 2,
        _ => 3,
    }
}

/// One table. Chains are kept in the order they were created and found through an index;
/// [`Table::chains`] lists them in canonical order.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: TableName,
    chains: Vec<Chain>,
    /// Chain name → position in `chains` (lookups only; never iterated, so the hasher's
    /// order cannot reach output).
    index: HashMap<ChainName, usize, BuildHasherDefault<NameHasher>>,
    /// Chains the restore text deletes (`-X NAME`), in written order.
    pub deleted: Vec<ChainName>,
}

/// Equal when the same chains (in canonical order) and deletions.
impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        self.name == other.name && self.deleted == other.deleted && self.chains() == other.chains()
    }
}

impl Eq for Table {}

impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            name: TableName,
            chains: Vec<&'a Chain>,
            deleted: &'a [ChainName],
        }
        View { name: self.name, chains: self.chains(), deleted: &self.deleted }
            .serialize(serializer)
    }
}

impl Table {
    pub fn new(name: TableName) -> Table {
        Table { name, chains: Vec::new(), index: HashMap::default(), deleted: Vec::new() }
    }

    /// The chains in canonical order (see [`canonical_chain_order`]).
    pub fn chains(&self) -> Vec<&Chain> {
        // The group of each name is computed once, not once per comparison. The stable sort
        // merges runs: the builder adds most chains in canonical order already, and parsed
        // text lists them so, which makes this a linear pass.
        let mut keyed: Vec<(u8, &Chain)> =
            self.chains.iter().map(|c| (chain_group(&c.name), c)).collect();
        keyed.sort_by(|(ga, a), (gb, b)| ga.cmp(gb).then_with(|| a.name.cmp(&b.name)));
        keyed.into_iter().map(|(_, c)| c).collect()
    }

    /// Number of chains.
    pub fn chain_count(&self) -> usize {
        self.chains.len()
    }

    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.index.get(name).map(|&i| &self.chains[i])
    }

    /// Adds a chain; when the table has one of that name already, `chain`'s rules are
    /// appended to it (and it becomes declared if `chain` is).
    pub(crate) fn merge_chain(&mut self, chain: Chain) {
        if let Some(c) = self.add_or_get(chain) {
            c.0.declared |= c.1.declared;
            c.0.rules.extend(c.1.rules);
        }
    }

    /// Adds `chain` when the table has no chain of its name (`None`); otherwise hands back
    /// the table's chain of that name and `chain`. One hash lookup either way.
    pub(crate) fn add_or_get(&mut self, chain: Chain) -> Option<(&mut Chain, Chain)> {
        match self.index.entry(chain.name) {
            Entry::Occupied(e) => Some((&mut self.chains[*e.get()], chain)),
            Entry::Vacant(e) => {
                e.insert(self.chains.len());
                self.chains.push(chain);
                None
            }
        }
    }

    /// Makes room for `additional` more chains.
    pub fn reserve_chains(&mut self, additional: usize) {
        self.chains.reserve(additional);
        self.index.reserve(additional);
    }

    /// The chain named `name`, created (undeclared) when missing.
    pub fn chain_mut(&mut self, name: ChainName) -> &mut Chain {
        let next = self.chains.len();
        let i = *self.index.entry(name).or_insert(next);
        if i == next {
            self.chains.push(Chain::new(name, false));
        }
        &mut self.chains[i]
    }

    /// Declares a chain (as a `:NAME - [0:0]` line does) and returns it.
    pub fn declare(&mut self, name: ChainName) -> &mut Chain {
        let chain = self.chain_mut(name);
        chain.declared = true;
        chain
    }

    /// Appends a rule to a chain (creating the chain, undeclared, when missing).
    pub fn append(&mut self, chain: ChainName, rule: Rule) {
        self.chain_mut(chain).rules.push(rule);
    }

    /// The chains, by value, in the order they were created.
    pub fn into_chains(self) -> Vec<Chain> {
        self.chains
    }

    /// Removes a chain (as `-X` does); true when it existed.
    pub fn remove_chain(&mut self, name: &str) -> bool {
        let Some(i) = self.index.remove(name) else { return false };
        self.chains.remove(i);
        for v in self.index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        true
    }
}

/// A node's ruleset for one IP family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ruleset {
    pub family: IpFamily,
    /// Tables sorted by name.
    pub tables: Vec<Table>,
}

impl Ruleset {
    pub fn new(family: IpFamily) -> Ruleset {
        Ruleset { family, tables: Vec::new() }
    }

    pub fn table(&self, name: TableName) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The table named `name`, created when missing.
    pub fn table_mut(&mut self, name: TableName) -> &mut Table {
        let i = match self.tables.binary_search_by(|t| t.name.cmp(&name)) {
            Ok(i) => i,
            Err(i) => {
                self.tables.insert(i, Table::new(name));
                i
            }
        };
        &mut self.tables[i]
    }

    /// The rules of one chain as restore lines (what kube-proxy's tests compare chain by
    /// chain); empty when the chain is absent.
    pub fn chain_lines(&self, table: TableName, chain: &str) -> Vec<String> {
        self.table(table)
            .and_then(|t| t.chain(chain))
            .map(|c| {
                c.rules
                    .iter()
                    .filter(|r| r.origin == RuleOrigin::Restore)
                    .map(|r| r.line(&c.name).to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Total number of rules (all tables, all chains).
    pub fn rule_count(&self) -> usize {
        self.tables.iter().flat_map(|t| &t.chains).map(|c| c.rules.len()).sum()
    }

    /// The `iptables-save` rendering: what the kernel prints back on the node.
    pub fn save(&self) -> super::save::Save<'_> {
        super::save::Save(self)
    }
}

/// The restore text: for every table, `*table`, the declared
/// chains, the rules from the restore input (not the ones inserted with `iptables -I`),
/// `-X` lines, `COMMIT`.
///
/// Written through a buffer handed to the formatter in 64 KiB pieces: a large cluster's
/// ruleset has hundreds of thousands of lines, each written in a dozen pieces.
impl fmt::Display for Ruleset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Buffered { out: f, buf: String::with_capacity(Buffered::SIZE) };
        self.write_restore(&mut out)?;
        out.flush()
    }
}

/// A write buffer in front of a formatter.
struct Buffered<'a, 'f> {
    out: &'a mut fmt::Formatter<'f>,
    buf: String,
}

impl Buffered<'_, '_> {
    const SIZE: usize = 64 * 1024;

    fn flush(&mut self) -> fmt::Result {
        self.out.write_str(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn push(&mut self, c: char) {
        self.buf.push(c);
    }

    fn push_str(&mut self, s: &str) {
        self.buf.push_str(s);
    }

    /// Flushes once a line has filled most of the buffer (called between lines).
    fn line_done(&mut self) -> fmt::Result {
        if self.buf.len() > Self::SIZE - 4096 { self.flush() } else { Ok(()) }
    }
}

impl fmt::Write for Buffered<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.buf.push_str(s);
        Ok(())
    }

    fn write_char(&mut self, c: char) -> fmt::Result {
        self.buf.push(c);
        Ok(())
    }
}

impl Ruleset {
    fn write_restore(&self, out: &mut Buffered<'_, '_>) -> fmt::Result {
        for table in &self.tables {
            out.push('*');
            out.push_str(table.name.as_str());
            out.push('\n');
            let chains = table.chains();
            for chain in chains.iter().filter(|c| c.declared) {
                let policy = chain.policy.map(Policy::as_str).unwrap_or("-");
                out.push(':');
                out.push_str(chain.name.as_str());
                out.push(' ');
                out.push_str(policy);
                out.push_str(" [0:0]\n");
                out.line_done()?;
            }
            for chain in &chains {
                let name = chain.name.as_str();
                for rule in chain.rules.iter().filter(|r| r.origin == RuleOrigin::Restore) {
                    rule.line(name).write_to(out)?;
                    out.push('\n');
                    out.line_done()?;
                }
            }
            for name in &table.deleted {
                out.push_str("-X ");
                out.push_str(name.as_str());
                out.push('\n');
            }
            out.push_str("COMMIT\n");
        }
        Ok(())
    }
}
