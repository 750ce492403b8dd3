//! How the pieces of a rule are spelled, in both renderings: the transaction kube-proxy
//! sends (`mark set mark or 0x4000`, its own spelling) and what `nft list` prints
//! (`meta mark set meta mark | 0x00004000`).
//!
//! Only spelling lives here. Layout of whole objects is in `transaction.rs` and `list.rs`;
//! the kernel's normalisation of what it was given (sorting, merging, collapsing) is in
//! `loaded.rs`, and the list style expects an already loaded rule.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::ruleset::{
    ElementData, Integer, MarkUpdate, Match, Op, Operand, Rule, STANDARD_PRIORITIES, Selector,
    Separator, Statement, Value, VmapSource,
};
use super::{Element, Hook};
use crate::net::IpFamily;

/// Which rendering a piece of text is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// kube-proxy's transaction (`expected.nft`).
    Transaction,
    /// `nft list` (nft 1.0.6).
    List,
}

pub(crate) fn selector(out: &mut String, sel: &Selector, style: Style) {
    match sel {
        Selector::Addr { family, field } => {
            let fam = match family {
                IpFamily::V4 => "ip",
                IpFamily::V6 => "ip6",
            };
            let _ = write!(out, "{fam} {}", field.as_str());
        }
        Selector::L4Proto => out.push_str("meta l4proto"),
        Selector::ThDport => out.push_str("th dport"),
        Selector::Mark => out.push_str(match style {
            Style::Transaction => "mark",
            Style::List => "meta mark",
        }),
        Selector::CtState => out.push_str("ct state"),
        Selector::FibType(field) => {
            let _ = write!(out, "fib {} type", field.as_str());
        }
        Selector::Iifname => out.push_str("iifname"),
        Selector::Oifname => out.push_str("oifname"),
        Selector::NumgenRandom { modulus } => {
            let _ = write!(out, "numgen random mod {modulus}");
        }
    }
}

fn selectors(out: &mut String, sels: &[Selector], style: Style) {
    for (i, s) in sels.iter().enumerate() {
        if i > 0 {
            out.push_str(" . ");
        }
        selector(out, s, style);
    }
}

/// A mark value: as written in the transaction, always 8 hex digits in the list.
fn mark_integer(out: &mut String, value: &Integer, style: Style) {
    match style {
        Style::Transaction => {
            let _ = write!(out, "{value}");
        }
        Style::List => {
            let _ = write!(out, "0x{:08x}", value.value);
        }
    }
}

pub(crate) fn addr(out: &mut String, ip: &IpAddr) {
    let _ = write!(out, "{ip}");
}

pub(crate) fn value(out: &mut String, v: &Value, style: Style, mark: bool) {
    match v {
        Value::Addr(ip) => addr(out, ip),
        Value::Prefix(c) => {
            let _ = write!(out, "{c}");
        }
        Value::Range(a, b) => {
            let _ = write!(out, "{a}-{b}");
        }
        Value::Proto(p) => {
            let _ = write!(out, "{p}");
        }
        Value::Port(p) => {
            let _ = write!(out, "{p}");
        }
        Value::Integer(i) if mark => mark_integer(out, i, style),
        Value::Integer(i) => match style {
            Style::Transaction => {
                let _ = write!(out, "{i}");
            }
            Style::List => {
                let _ = write!(out, "{}", i.value);
            }
        },
        Value::CtState(s) => out.push_str(s.as_str()),
        Value::AddrType(t) => out.push_str(t.as_str()),
        Value::Ifname(name) => match style {
            Style::Transaction => out.push_str(name),
            Style::List => quoted(out, name),
        },
        Value::Other(s) => out.push_str(s),
    }
}

pub(crate) fn quoted(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}

fn key(out: &mut String, key: &[Value], style: Style) {
    for (i, v) in key.iter().enumerate() {
        if i > 0 {
            out.push_str(" . ");
        }
        value(out, v, style, false);
    }
}

/// One element inside braces: `key[ timeout …][ expires …][ comment "…"][ : data]`.
pub(crate) fn element(out: &mut String, e: &Element, style: Style) {
    key(out, &e.key, style);
    if let Some(t) = e.timeout_ms {
        out.push_str(" timeout ");
        duration(out, t, style);
    }
    if let Some(t) = e.expires_ms {
        out.push_str(" expires ");
        duration(out, t, style);
    }
    if let Some(c) = &e.comment {
        out.push_str(" comment ");
        quoted(out, c);
    }
    match &e.data {
        Some(ElementData::Verdict(v)) => {
            let _ = write!(out, " : {v}");
        }
        Some(ElementData::Value(v)) => {
            out.push_str(" : ");
            value(out, v, style, false);
        }
        None => {}
    }
}

pub(crate) fn operand(out: &mut String, op: &Operand, style: Style, mark: bool) {
    match op {
        Operand::Value(v) => value(out, v, style, mark),
        Operand::Named(name) => {
            let _ = write!(out, "@{name}");
        }
        Operand::Set(set) => {
            let sep = match (style, set.separator) {
                (Style::List, _) => ", ",
                (Style::Transaction, Separator::Spaced) => " , ",
                (Style::Transaction, Separator::Bare) => ",",
            };
            out.push_str("{ ");
            for (i, v) in set.elements.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                value(out, v, style, mark);
            }
            out.push_str(" }");
        }
    }
}

fn relational(out: &mut String, m: &Match, style: Style) {
    selectors(out, &m.left, style);
    let is_mark = m.left == [Selector::Mark];
    if let Some(mask) = &m.mask {
        out.push_str(match style {
            Style::Transaction => " and ",
            Style::List => " & ",
        });
        mark_integer(out, mask, style);
    }
    match (m.op, m.mask.is_some()) {
        (Op::Ne, _) => out.push_str(" != "),
        (Op::Eq, true) => out.push_str(" == "),
        (Op::Eq, false) => out.push(' '),
    }
    operand(out, &m.right, style, is_mark);
}

fn statement(out: &mut String, s: &Statement, style: Style) {
    match s {
        Statement::Match(m) => relational(out, m, style),
        Statement::Vmap { key, map } => {
            selectors(out, key, style);
            out.push_str(" vmap ");
            match map {
                VmapSource::Named(name) => {
                    let _ = write!(out, "@{name}");
                }
                VmapSource::Anonymous(elements) => {
                    let sep = match style {
                        Style::Transaction => " , ",
                        Style::List => ", ",
                    };
                    out.push_str("{ ");
                    for (i, e) in elements.iter().enumerate() {
                        if i > 0 {
                            out.push_str(sep);
                        }
                        element(out, e, style);
                    }
                    out.push_str(" }");
                }
            }
        }
        Statement::SetMark(update) => {
            let (op_tx, op_list, v) = match update {
                MarkUpdate::Or(v) => ("or", "|", v),
                MarkUpdate::Xor(v) => ("xor", "^", v),
                MarkUpdate::And(v) => ("and", "&", v),
                MarkUpdate::Set(v) => {
                    selector(out, &Selector::Mark, style);
                    out.push_str(" set ");
                    mark_integer(out, v, style);
                    return;
                }
            };
            selector(out, &Selector::Mark, style);
            out.push_str(" set ");
            selector(out, &Selector::Mark, style);
            out.push(' ');
            out.push_str(match style {
                Style::Transaction => op_tx,
                Style::List => op_list,
            });
            out.push(' ');
            mark_integer(out, v, style);
        }
        Statement::Dnat { addr: ip, port } => {
            out.push_str("dnat to ");
            match (ip, port) {
                (IpAddr::V6(a), Some(p)) => {
                    let _ = write!(out, "[{a}]:{p}");
                }
                (ip, Some(p)) => {
                    let _ = write!(out, "{ip}:{p}");
                }
                (ip, None) => addr(out, ip),
            }
        }
        Statement::Masquerade { fully_random } => {
            out.push_str("masquerade");
            if *fully_random {
                out.push_str(" fully-random");
            }
        }
        Statement::Update { set, key } => {
            let _ = write!(out, "update @{set} {{ ");
            selectors(out, key, style);
            out.push_str(" }");
        }
        Statement::Counter { packets, bytes } => {
            let _ = write!(out, "counter packets {packets} bytes {bytes}");
        }
        Statement::Verdict(v) => {
            let _ = write!(out, "{v}");
        }
        Statement::Unsupported(text) => out.push_str(text),
    }
}

/// The text of a rule (without `add rule …` or indentation).
pub(crate) fn rule(out: &mut String, r: &Rule, style: Style) {
    for (i, s) in r.statements.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        statement(out, s, style);
    }
    if let Some(c) = &r.comment {
        if !r.statements.is_empty() {
            out.push(' ');
        }
        out.push_str("comment ");
        quoted(out, c);
    }
}

/// A duration: `10800s` in the transaction, nft's `3h` / `1d1h1m1s` / `59s988ms` in the list.
pub(crate) fn duration(out: &mut String, ms: u64, style: Style) {
    if style == Style::Transaction && ms.is_multiple_of(1000) {
        let _ = write!(out, "{}s", ms / 1000);
        return;
    }
    let units = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s"), (1, "ms")];
    let mut rest = ms;
    let mut wrote = false;
    for (size, unit) in units {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
            wrote = true;
        }
    }
    if !wrote {
        out.push_str("0s");
    }
}

/// A base chain priority as `nft list` prints it for its hook (`dstnat - 10`, `filter`, or
/// the number when no standard name is compatible with the hook).
pub(crate) fn priority(out: &mut String, hook: Hook, prio: i32) {
    for (name, std, only) in STANDARD_PRIORITIES {
        if (prio - std).abs() <= 10 {
            if only.is_some_and(|h| h != hook) {
                break;
            }
            out.push_str(name);
            let offset = prio - std;
            if offset > 0 {
                let _ = write!(out, " + {offset}");
            } else if offset < 0 {
                let _ = write!(out, " - {}", -offset);
            }
            return;
        }
    }
    let _ = write!(out, "{prio}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_print_like_nft_1_0_6() {
        let p = |hook, prio| {
            let mut s = String::new();
            priority(&mut s, hook, prio);
            s
        };
        assert_eq!(p(Hook::Prerouting, -110), "dstnat - 10");
        assert_eq!(p(Hook::Output, -110), "-110");
        assert_eq!(p(Hook::Output, -100), "-100");
        assert_eq!(p(Hook::Postrouting, 100), "srcnat");
        assert_eq!(p(Hook::Input, 100), "100");
        assert_eq!(p(Hook::Forward, -5), "filter - 5");
        assert_eq!(p(Hook::Forward, 55), "security + 5");
    }

    #[test]
    fn durations_print_like_nft() {
        let d = |ms, style| {
            let mut s = String::new();
            duration(&mut s, ms, style);
            s
        };
        assert_eq!(d(10_800_000, Style::Transaction), "10800s");
        assert_eq!(d(10_800_000, Style::List), "3h");
        assert_eq!(d(90_061_000, Style::List), "1d1h1m1s");
        assert_eq!(d(59_988, Style::List), "59s988ms");
    }
}
