//! What loading does to a ruleset: the kernel (and nft 1.0.6 reading it back) keeps the
//! meaning of what kube-proxy sent but not every detail of its spelling. `as_loaded()` applies
//! those changes to the typed ruleset, so `nft list` text is a plain printing of the result
//! and parsing that text gives the same value back.
//!
//! Observed with nft 1.0.6 on Linux (see `tests/kernel_nftables.rs`):
//! * set and map elements are listed sorted: a single-field key by its value, a concatenated
//!   key by its bytes read as one little-endian number (so the *last* byte weighs most);
//! * an anonymous set written with one element is stored as a plain value (`{ x }` → `x`);
//!   one with a prefix or range among its elements is an interval set: elements are sorted,
//!   overlapping and adjacent intervals merged, and printed as address, prefix or `a-b`;
//!   one of plain values only is sorted;
//! * `/32` and `/128` prefixes are plain addresses; mark values are 32-bit hex numbers;
//! * a dynamic set that an `update` statement of the same transaction fills gets the default
//!   `size 65535`.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ruleset::{
    AnonSet, Chain, Element, Integer, MarkUpdate, Match, Operand, Rule, Ruleset, Selector,
    Separator, Statement, Table, Value, VmapSource,
};
use crate::net::Cidr;

/// The default size nft gives a dynamic set filled from the packet path.
const DEFAULT_DYNAMIC_SET_SIZE: u32 = 65535;

impl Ruleset {
    /// The ruleset as the kernel holds it after `nft -f` of [`Ruleset::transaction`]: what
    /// `nft list` shows and what [`parse_list`](super::parse_list) returns for that text.
    pub fn as_loaded(&self) -> Ruleset {
        Ruleset { tables: self.tables.iter().map(table).collect() }
    }
}

impl Rule {
    /// The rule as the kernel holds it (see [`Ruleset::as_loaded`]).
    pub fn as_loaded(&self) -> Rule {
        Rule {
            statements: self.statements.iter().map(statement).collect(),
            comment: self.comment.clone(),
        }
    }
}

fn table(t: &Table) -> Table {
    // Chains are copied with their rules already as loaded (not copied, then replaced).
    let mut out = Table {
        family: t.family,
        name: t.name.clone(),
        comment: t.comment.clone(),
        sets: t.sets.clone(),
        maps: t.maps.clone(),
        chains: t
            .chains
            .iter()
            .map(|c| Chain {
                name: c.name.clone(),
                base: c.base,
                comment: c.comment.clone(),
                rules: c.rules.iter().map(Rule::as_loaded).collect(),
            })
            .collect(),
    };
    let updated: BTreeSet<&str> = t
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .flat_map(|r| &r.statements)
        .filter_map(|s| match s {
            Statement::Update { set, .. } => Some(set.as_str()),
            _ => None,
        })
        .collect();
    for set in &mut out.sets {
        sort_elements(&mut set.elements);
        if set.size.is_none() && updated.contains(&set.name.as_str()) {
            set.size = Some(DEFAULT_DYNAMIC_SET_SIZE);
        }
    }
    for map in &mut out.maps {
        sort_elements(&mut map.elements);
    }
    out
}

fn statement(s: &Statement) -> Statement {
    match s {
        Statement::Match(m) => Statement::Match(relational(m)),
        Statement::SetMark(update) => Statement::SetMark(match update {
            MarkUpdate::Or(v) => MarkUpdate::Or(mark(v)),
            MarkUpdate::Xor(v) => MarkUpdate::Xor(mark(v)),
            MarkUpdate::And(v) => MarkUpdate::And(mark(v)),
            MarkUpdate::Set(v) => MarkUpdate::Set(mark(v)),
        }),
        Statement::Vmap { key, map: VmapSource::Anonymous(elements) } => {
            let mut elements: Vec<Element> = elements
                .iter()
                .map(|e| Element {
                    key: e.key.iter().map(|v| plain(v, false)).collect(),
                    ..e.clone()
                })
                .collect();
            sort_elements(&mut elements);
            Statement::Vmap { key: key.clone(), map: VmapSource::Anonymous(elements) }
        }
        other => other.clone(),
    }
}

fn mark(v: &Integer) -> Integer {
    Integer { value: v.value, hex_digits: Some(8) }
}

/// A single value as nft prints it back: host prefixes as addresses, marks in hex, other
/// integers in decimal.
fn plain(v: &Value, is_mark: bool) -> Value {
    match v {
        Value::Prefix(c) if c.size() == 1 => Value::Addr(c.network()),
        Value::Integer(i) if is_mark => Value::Integer(mark(i)),
        Value::Integer(i) => Value::Integer(Integer::decimal(i.value)),
        other => other.clone(),
    }
}

fn relational(m: &Match) -> Match {
    let is_mark = m.left == [Selector::Mark];
    let right = match &m.right {
        Operand::Value(v) => Operand::Value(plain(v, is_mark)),
        Operand::Named(n) => Operand::Named(n.clone()),
        Operand::Set(set) => anonymous_set(set, is_mark),
    };
    Match { left: m.left.clone(), mask: m.mask.as_ref().map(mark), op: m.op, right }
}

fn anonymous_set(set: &AnonSet, is_mark: bool) -> Operand {
    if let [only] = set.elements.as_slice() {
        return Operand::Value(plain(only, is_mark));
    }
    let interval = set.elements.iter().any(|v| matches!(v, Value::Prefix(_) | Value::Range(..)));
    let elements = if interval {
        merge_intervals(&set.elements)
    } else {
        let mut values: Vec<Value> = set.elements.iter().map(|v| plain(v, is_mark)).collect();
        values.sort_by_key(value_bytes);
        values
    };
    Operand::Set(AnonSet { elements, separator: Separator::Spaced })
}

/// An address interval as numbers, with its width in bits.
fn interval(v: &Value) -> Option<(u128, u128, u32)> {
    let num = |ip: &IpAddr| match ip {
        IpAddr::V4(a) => (u128::from(u32::from(*a)), 32),
        IpAddr::V6(a) => (u128::from(*a), 128),
    };
    match v {
        Value::Addr(ip) => {
            let (n, bits) = num(ip);
            Some((n, n, bits))
        }
        Value::Prefix(c) => {
            let (lo, bits) = num(&c.network());
            let host_bits = bits - u32::from(c.prefix_len());
            let hi = if host_bits >= 128 { u128::MAX } else { lo | ((1u128 << host_bits) - 1) };
            Some((lo, hi, bits))
        }
        Value::Range(a, b) => {
            let (lo, bits) = num(a);
            let (hi, _) = num(b);
            Some((lo, hi, bits))
        }
        _ => None,
    }
}

fn ip_of(n: u128, bits: u32) -> IpAddr {
    if bits == 32 {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

/// Sorts, merges overlapping and adjacent intervals and spells each as nft prints it.
fn merge_intervals(values: &[Value]) -> Vec<Value> {
    let mut intervals: Vec<(u128, u128, u32)> = values.iter().filter_map(interval).collect();
    if intervals.len() != values.len() {
        // Not all addresses: keep them as given, sorted.
        let mut out = values.to_vec();
        out.sort_by_key(value_bytes);
        return out;
    }
    intervals.sort();
    let mut merged: Vec<(u128, u128, u32)> = Vec::new();
    for (lo, hi, bits) in intervals {
        match merged.last_mut() {
            Some(last) if last.2 == bits && lo <= last.1.saturating_add(1) => {
                last.1 = last.1.max(hi);
            }
            _ => merged.push((lo, hi, bits)),
        }
    }
    merged
        .into_iter()
        .map(|(lo, hi, bits)| {
            if lo == hi {
                return Value::Addr(ip_of(lo, bits));
            }
            let span = hi - lo;
            // An aligned power-of-two block is a prefix.
            if span.checked_add(1).is_none_or(|size| size.is_power_of_two() && lo % size == 0) {
                let host_bits = 128 - span.leading_zeros();
                let prefix = u8::try_from(bits - host_bits.min(bits)).unwrap_or(0);
                if let Some(c) = Cidr::new(ip_of(lo, bits), prefix) {
                    return Value::Prefix(c);
                }
            }
            Value::Range(ip_of(lo, bits), ip_of(hi, bits))
        })
        .collect()
}

/// The bytes of a value as the kernel stores it (network order for addresses and ports, host
/// order — little-endian — for integers such as marks).
fn value_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Addr(IpAddr::V4(a)) => a.octets().to_vec(),
        Value::Addr(IpAddr::V6(a)) => a.octets().to_vec(),
        Value::Prefix(c) => value_bytes(&Value::Addr(c.network())),
        Value::Range(a, _) => value_bytes(&Value::Addr(*a)),
        Value::Proto(p) => vec![p.0],
        Value::Port(p) => p.to_be_bytes().to_vec(),
        Value::Integer(i) => i.value.to_le_bytes().to_vec(),
        Value::CtState(s) => vec![*s as u8],
        Value::AddrType(t) => vec![*t as u8],
        Value::Ifname(s) | Value::Other(s) => s.as_bytes().to_vec(),
    }
}

/// nft's listing order of a key (`expr_msort_cmp`): a single value by its number, a
/// concatenation by its bytes read as a little-endian number.
fn sort_key(key: &[Value]) -> Vec<u8> {
    match key {
        [Value::Integer(i)] => i.value.to_be_bytes().to_vec(),
        [single] => value_bytes(single),
        many => {
            let mut bytes: Vec<u8> = many.iter().flat_map(value_bytes).collect();
            bytes.reverse();
            bytes
        }
    }
}

fn sort_elements(elements: &mut [Element]) {
    // Stable, like nft's merge sort; each key is computed once, not once per comparison.
    elements.sort_by_cached_key(|e| {
        let key = sort_key(&e.key);
        (key.len(), key)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        match Cidr::parse_strict(s) {
            Some(c) => Value::Prefix(c),
            None => Value::Addr(s.parse().unwrap()),
        }
    }

    fn merged(values: &[&str]) -> Vec<String> {
        let values: Vec<Value> = values.iter().map(|s| v(s)).collect();
        merge_intervals(&values)
            .iter()
            .map(|v| match v {
                Value::Addr(a) => a.to_string(),
                Value::Prefix(c) => c.to_string(),
                Value::Range(a, b) => format!("{a}-{b}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn intervals_merge_as_nft_lists_them() {
        assert_eq!(
            merged(&["192.168.0.0/24", "203.0.113.0/25", "1.2.3.4", "5.6.7.8"]),
            ["1.2.3.4", "5.6.7.8", "192.168.0.0/24", "203.0.113.0/25"]
        );
        assert_eq!(merged(&["10.0.0.0/24", "10.0.1.0/24"]), ["10.0.0.0/23"]);
        assert_eq!(merged(&["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]), ["10.0.0.0-10.0.2.255"]);
        assert_eq!(merged(&["10.0.0.0/8", "10.1.2.3"]), ["10.0.0.0/8"]);
        assert_eq!(merged(&["1.2.3.4/31", "1.2.3.6"]), ["1.2.3.4-1.2.3.6"]);
        assert_eq!(merged(&["fd00::/127", "fd00::2"]), ["fd00::-fd00::2"]);
        assert_eq!(merged(&["0.0.0.0/0", "1.2.3.4"]), ["0.0.0.0/0"]);
        assert_eq!(merged(&["::/0", "fd00::1"]), ["::/0"]);
    }

    #[test]
    fn concatenated_keys_sort_by_their_last_byte_first() {
        let key = |ip: &str, proto: u8, port: u16| {
            vec![v(ip), Value::Proto(super::super::L4Proto(proto)), Value::Port(port)]
        };
        let mut elements: Vec<Element> = [
            key("10.0.0.1", 6, 81),
            key("10.0.0.1", 6, 336),
            key("10.0.0.2", 132, 80),
            key("10.0.0.1", 17, 80),
            key("10.0.0.1", 6, 80),
            key("9.0.0.1", 6, 80),
        ]
        .into_iter()
        .map(Element::key)
        .collect();
        sort_elements(&mut elements);
        let order: Vec<Vec<Value>> = elements.into_iter().map(|e| e.key).collect();
        assert_eq!(
            order,
            [
                key("9.0.0.1", 6, 80),
                key("10.0.0.1", 6, 80),
                key("10.0.0.1", 17, 80),
                key("10.0.0.2", 132, 80),
                key("10.0.0.1", 6, 336),
                key("10.0.0.1", 6, 81),
            ]
        );
    }
}
