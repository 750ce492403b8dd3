//! An index over long dispatch chains (`KUBE-SERVICES` has a few rules per service): rules
//! that can only match one destination address, protocol and port are filed under that key,
//! so a trace evaluates only the rules that can match its packet, in rule order, and reports
//! how many it skipped. The walk over the candidates is exactly the walk over the chain.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::backend::iptables::{Chain, ChainName, Match, TableName};
use crate::net::Protocol;

/// Chains shorter than this are walked rule by rule.
pub const MIN_INDEXED_RULES: usize = 32;

/// (destination, protocol, port) a rule is restricted to.
type Key = (IpAddr, Protocol, u16);

/// The index of one chain.
#[derive(Debug, Clone, Default)]
pub struct ChainIndex {
    by_key: BTreeMap<Key, Vec<usize>>,
    /// Rules that may match any packet (in rule order).
    open: Vec<usize>,
}

fn key_of(matches: &[Match]) -> Option<Key> {
    let mut dst = None;
    let mut proto = None;
    let mut port = None;
    for m in matches {
        match m {
            Match::Destination { negated: false, address } => dst = address.single(),
            Match::Protocol { negated: false, protocol } if protocol.transport().is_some() => {
                proto = protocol.transport()
            }
            Match::DestinationPort { negated: false, ports } if ports.first == ports.last => {
                port = Some(ports.first)
            }
            _ => {}
        }
    }
    Some((dst?, proto?, port?))
}

impl ChainIndex {
    pub fn new(chain: &Chain) -> ChainIndex {
        let mut index = ChainIndex::default();
        for (i, rule) in chain.rules.iter().enumerate() {
            match key_of(&rule.matches) {
                Some(k) => index.by_key.entry(k).or_default().push(i),
                None => index.open.push(i),
            }
        }
        index
    }

    /// The rules that can match a packet to `dst`/`protocol`/`port`, in rule order.
    pub fn candidates(
        &self,
        dst: IpAddr,
        protocol: Option<Protocol>,
        port: Option<u16>,
    ) -> Vec<usize> {
        let keyed = protocol
            .zip(port)
            .and_then(|(protocol, p)| self.by_key.get(&(dst, protocol, p)))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut out = Vec::with_capacity(keyed.len() + self.open.len());
        let (mut a, mut b) = (0, 0);
        while a < keyed.len() || b < self.open.len() {
            let take_keyed = b >= self.open.len() || (a < keyed.len() && keyed[a] < self.open[b]);
            if take_keyed {
                out.push(keyed[a]);
                a += 1;
            } else {
                out.push(self.open[b]);
                b += 1;
            }
        }
        out
    }
}

/// Indexes of every long chain of a ruleset, by table and chain name.
#[derive(Debug, Clone, Default)]
pub struct RulesetIndex {
    pub chains: BTreeMap<(TableName, ChainName), ChainIndex>,
}

impl RulesetIndex {
    pub fn new(ruleset: &crate::backend::iptables::Ruleset) -> RulesetIndex {
        let mut chains = BTreeMap::new();
        for table in &ruleset.tables {
            for chain in table.chains() {
                if chain.rules.len() >= MIN_INDEXED_RULES {
                    chains.insert((table.name, chain.name), ChainIndex::new(chain));
                }
            }
        }
        RulesetIndex { chains }
    }

    pub fn get(&self, table: TableName, chain: &str) -> Option<&ChainIndex> {
        self.chains.get(&(table, ChainName::new(chain)?))
    }
}
