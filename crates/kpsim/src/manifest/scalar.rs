//! What a YAML scalar's text means: YAML 1.2 core-schema resolution of plain scalars
//! (`~`/`null`, `true`, `80`, `0x1F`, `-0o7`, `1.5`, `.inf`, …) exactly as serde_norway
//! resolves them, so manifests read the same as they did through serde_norway.
//!
//! Pure functions on text; which serde visitor method gets called is
//! [`super::deserializer`]'s business.

use std::num::ParseIntError;

use super::tree::{Style, Tag};

/// A scalar resolved by the core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Unsigned128(u128),
    Signed128(i128),
    Float(f64),
    Str(&'a str),
}

/// Resolves a scalar as written: an explicit core tag (`!!int 80`) decides its type, a plain
/// scalar without one is resolved by [`resolve_plain`], any other is a string. `Err` names
/// what a tagged scalar's text should have been (`!!int eighty`: "an integer").
pub(crate) fn resolve<'a>(
    text: &'a str,
    style: Style,
    tag: &Tag,
) -> Result<Resolved<'a>, &'static str> {
    Ok(match tag {
        Tag::Core(t) if t == "bool" => parse_bool(text).map(Resolved::Bool).ok_or("a boolean")?,
        Tag::Core(t) if t == "int" => resolve_int(text).ok_or("an integer")?,
        Tag::Core(t) if t == "float" => parse_f64(text).map(Resolved::Float).ok_or("a float")?,
        Tag::Core(t) if t == "null" => match is_null(text) {
            true => Resolved::Null,
            false => return Err("null"),
        },
        Tag::Core(_) => Resolved::Str(text),
        Tag::None | Tag::Local(_) if style == Style::Plain => resolve_plain(text),
        Tag::None | Tag::Local(_) => Resolved::Str(text),
    })
}

/// Resolves a plain, untagged scalar.
pub(crate) fn resolve_plain(text: &str) -> Resolved<'_> {
    if text.is_empty() || is_null(text) {
        return Resolved::Null;
    }
    if let Some(b) = parse_bool(text) {
        return Resolved::Bool(b);
    }
    if let Some(int) = resolve_int(text) {
        return int;
    }
    if !digits_but_not_number(text)
        && let Some(f) = parse_f64(text)
    {
        return Resolved::Float(f);
    }
    Resolved::Str(text)
}

/// An integer in any of the forms serde_norway reads, in the narrowest type that holds it.
pub(crate) fn resolve_int(text: &str) -> Option<Resolved<'_>> {
    if let Some(u) = parse_unsigned_int(text, u64::from_str_radix) {
        return Some(Resolved::Unsigned(u));
    }
    if let Some(i) = parse_negative_int(text, i64::from_str_radix) {
        return Some(Resolved::Signed(i));
    }
    if let Some(u) = parse_unsigned_int(text, u128::from_str_radix) {
        return Some(Resolved::Unsigned128(u));
    }
    parse_negative_int(text, i128::from_str_radix).map(Resolved::Signed128)
}

pub(crate) fn is_null(text: &str) -> bool {
    matches!(text, "null" | "Null" | "NULL" | "~")
}

pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

type Radix<T> = fn(&str, u32) -> Result<T, ParseIntError>;

/// `0x`, `0o`, `0b` prefixed digits (after an optional sign handled by the caller).
fn prefixed<T>(digits: &str, from_str_radix: Radix<T>) -> Option<T> {
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = digits.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = from_str_radix(rest, radix) {
                return Some(int);
            }
        }
    }
    None
}

/// `-0x…`, `-0o…`, `-0b…`.
fn negative_prefixed<T>(text: &str, from_str_radix: Radix<T>) -> Option<T> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = text.strip_prefix(prefix)
            && let Ok(int) = from_str_radix(&format!("-{rest}"), radix)
        {
            return Some(int);
        }
    }
    None
}

pub(crate) fn parse_unsigned_int<T>(text: &str, from_str_radix: Radix<T>) -> Option<T> {
    let unpositive = text.strip_prefix('+').unwrap_or(text);
    if let Some(int) = prefixed(unpositive, from_str_radix) {
        return Some(int);
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(text) {
        return None;
    }
    from_str_radix(unpositive, 10).ok()
}

pub(crate) fn parse_signed_int<T>(text: &str, from_str_radix: Radix<T>) -> Option<T> {
    let unpositive = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    if let Some(int) = prefixed(unpositive, from_str_radix) {
        return Some(int);
    }
    if let Some(int) = negative_prefixed(text, from_str_radix) {
        return Some(int);
    }
    if digits_but_not_number(text) {
        return None;
    }
    from_str_radix(unpositive, 10).ok()
}

fn parse_negative_int<T>(text: &str, from_str_radix: Radix<T>) -> Option<T> {
    if let Some(int) = negative_prefixed(text, from_str_radix) {
        return Some(int);
    }
    if digits_but_not_number(text) {
        return None;
    }
    from_str_radix(text, 10).ok()
}

pub(crate) fn parse_f64(text: &str) -> Option<f64> {
    let unpositive = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    if let ".inf" | ".Inf" | ".INF" = unpositive {
        return Some(f64::INFINITY);
    }
    if let "-.inf" | "-.Inf" | "-.INF" = text {
        return Some(f64::NEG_INFINITY);
    }
    if let ".nan" | ".NaN" | ".NAN" = text {
        return Some(f64::NAN.copysign(1.0));
    }
    unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Leading zero(s) followed by digits is a string in YAML 1.2 (`0755`, `-007`).
fn digits_but_not_number(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    t.len() > 1 && t.starts_with('0') && t[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Resolved::*;

    #[test]
    fn plain_scalars_resolve_like_serde_norway() {
        let cases: &[(&str, Resolved<'_>)] = &[
            ("", Null),
            ("~", Null),
            ("null", Null),
            ("NULL", Null),
            ("true", Bool(true)),
            ("False", Bool(false)),
            ("yes", Str("yes")),
            ("on", Str("on")),
            ("80", Unsigned(80)),
            ("+80", Unsigned(80)),
            ("-80", Signed(-80)),
            ("0x1F", Unsigned(31)),
            ("0o17", Unsigned(15)),
            ("0b101", Unsigned(5)),
            ("-0x10", Signed(-16)),
            ("0755", Str("0755")),
            ("1.5", Float(1.5)),
            ("1e3", Float(1000.0)),
            ("1.10", Float(1.1)),
            (".inf", Float(f64::INFINITY)),
            ("-.Inf", Float(f64::NEG_INFINITY)),
            ("inf", Str("inf")),
            ("18446744073709551616", Unsigned128(18446744073709551616)),
            ("10.96.0.1", Str("10.96.0.1")),
            ("eighty", Str("eighty")),
        ];
        for (text, want) in cases {
            assert_eq!(resolve_plain(text), *want, "{text}");
        }
        assert!(matches!(resolve_plain(".nan"), Float(f) if f.is_nan()));
    }

    #[test]
    fn typed_integer_parsing() {
        assert_eq!(parse_signed_int("-0b11", i64::from_str_radix), Some(-3));
        assert_eq!(parse_signed_int("++1", i64::from_str_radix), None);
        assert_eq!(parse_signed_int("007", i64::from_str_radix), None);
        assert_eq!(parse_unsigned_int("-1", u64::from_str_radix), None);
        assert_eq!(parse_f64("+-1"), None);
    }
}
