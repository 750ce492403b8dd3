//! The iptables part of IPVS mode (spec ipvs §6): the fixed chains kube-proxy restores, whose
//! rules match ipsets rather than services, and the jumps it inserts from the built-in chains.
//!
//! Rules are typed `iptables::Rule`s and spelled by the iptables backend's renderer. The
//! restore input is kept in kube-proxy's own layout — `*nat` then `*filter`, each with its
//! chain declarations and then its rules in the order they were generated, which interleaves
//! chains — so the text is exactly what kube-proxy writes. [`Skeleton::to_iptables`] gives the
//! same rules as an `iptables::Ruleset` (rules grouped per chain, as the kernel holds them).

use std::fmt;

use serde::Serialize;

use crate::backend::iptables::{self, ChainName, Rule, RuleOrigin, TableName};
use crate::net::IpFamily;

/// One table of the restore input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkeletonTable {
    pub name: TableName,
    /// Declared (and flushed) chains, in declaration order.
    pub chains: Vec<ChainName>,
    /// `(chain, rule)` in generation order.
    pub rules: Vec<(ChainName, Rule)>,
}

impl SkeletonTable {
    pub fn new(name: TableName, chains: &[&'static str]) -> SkeletonTable {
        SkeletonTable {
            name,
            chains: chains.iter().map(|c| ChainName::from_static(c)).collect(),
            rules: Vec::new(),
        }
    }

    pub fn append(&mut self, chain: ChainName, rule: Rule) {
        self.rules.push((chain, rule));
    }

    /// The rules of one chain, in order.
    pub fn chain_rules<'a>(&'a self, chain: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |(c, _)| c.as_str() == chain).map(|(_, r)| r)
    }
}

impl fmt::Display for SkeletonTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "*{}", self.name)?;
        for c in &self.chains {
            writeln!(f, ":{c} - [0:0]")?;
        }
        for (c, r) in &self.rules {
            writeln!(f, "{}", r.line(c))?;
        }
        writeln!(f, "COMMIT")
    }
}

/// A jump rule kube-proxy ensures at the top of a built-in chain (`iptables -C … || iptables
/// -I …`), outside the restore input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltinJump {
    pub table: TableName,
    pub chain: ChainName,
    pub rule: Rule,
}

/// The iptables state IPVS mode writes on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skeleton {
    pub family: IpFamily,
    pub nat: SkeletonTable,
    pub filter: SkeletonTable,
    /// In the order kube-proxy ensures them; each is inserted at position 1, so on a fresh
    /// node the last one of a chain ends up first.
    pub jumps: Vec<BuiltinJump>,
}

impl Skeleton {
    /// The rules of `chain` as kube-proxy's tests collect them: the nat table's, then the
    /// filter table's (`KUBE-NODE-PORT` exists in both).
    pub fn chain_rules<'a>(&'a self, chain: &'a str) -> Vec<(TableName, &'a Rule)> {
        let nat = self.nat.chain_rules(chain).map(|r| (TableName::Nat, r));
        let filter = self.filter.chain_rules(chain).map(|r| (TableName::Filter, r));
        nat.chain(filter).collect()
    }

    /// The jump commands, one per line (`iptables -t nat -I OUTPUT …`), in the order they run.
    pub fn jumps_text(&self) -> String {
        let program = match self.family {
            IpFamily::V4 => "iptables",
            IpFamily::V6 => "ip6tables",
        };
        let mut out = String::new();
        for j in &self.jumps {
            let line = j.rule.line(&j.chain).to_string();
            let rest = line.strip_prefix("-A ").unwrap_or(&line);
            out.push_str(&format!("{program} -t {} -I {rest}\n", j.table));
        }
        out
    }

    /// The same rules as the kernel holds them: an `iptables::Ruleset` with the declared
    /// chains, each chain's rules in order, and the built-in chains' jumps as inserted rules
    /// in the order a fresh node ends up with.
    pub fn to_iptables(&self) -> iptables::Ruleset {
        let mut out = iptables::Ruleset::new(self.family);
        for t in [&self.filter, &self.nat] {
            let table = out.table_mut(t.name);
            for c in &t.chains {
                table.declare(*c);
            }
            for (c, r) in &t.rules {
                table.append(*c, r.clone());
            }
        }
        for j in &self.jumps {
            let mut rule = j.rule.clone();
            rule.origin = RuleOrigin::Inserted;
            out.table_mut(j.table).chain_mut(j.chain).rules.insert(0, rule);
        }
        out
    }
}

/// The restore input: the nat table, then the filter table.
impl fmt::Display for Skeleton {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.nat, self.filter)
    }
}
