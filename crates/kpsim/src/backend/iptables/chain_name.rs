//! [`ChainName`]: an iptables chain name as a small `Copy` value.
//!
//! The kernel limits chain names to 28 bytes (`XT_EXTENSION_MAXNAMELEN` less the NUL), so a
//! name fits inline: a ruleset of 100,000 chains and 300,000 jumps holds no heap string for
//! them, and building, copying and dropping one costs nothing beyond its 29 bytes.
//!
//! This file only holds the value; which names kube-proxy uses is `crate::naming`'s business,
//! and which chains exist is the ruleset's.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use serde::Serialize;

/// The longest chain name the kernel accepts, in bytes (`iptables-restore` rejects longer
/// ones: "Invalid chain name … (28 chars max)").
pub const MAX_CHAIN_NAME_LEN: usize = 28;

/// An iptables chain name (`KUBE-SVC-XPGD46QRK7WJZT7O`, `PREROUTING`): at most
/// [`MAX_CHAIN_NAME_LEN`] bytes, stored inline. Reads as a `&str` (it derefs to one),
/// compares, orders and hashes like one, and serialises as one.
#[derive(Clone, Copy)]
pub struct ChainName {
    len: u8,
    bytes: [u8; MAX_CHAIN_NAME_LEN],
}

impl ChainName {
    /// The chain named `name`, or `None` when the name is longer than the kernel allows.
    pub fn new(name: &str) -> Option<ChainName> {
        let src = name.as_bytes();
        if src.len() > MAX_CHAIN_NAME_LEN {
            return None;
        }
        let mut bytes = [0; MAX_CHAIN_NAME_LEN];
        bytes[..src.len()].copy_from_slice(src);
        Some(ChainName { len: src.len() as u8, bytes })
    }

    /// A name known when the program is written (`KUBE-SERVICES`); a name that is too long
    /// fails to compile when used in a `const`, and panics otherwise.
    pub const fn from_static(name: &'static str) -> ChainName {
        let src = name.as_bytes();
        assert!(src.len() <= MAX_CHAIN_NAME_LEN, "iptables chain names have at most 28 bytes");
        let mut bytes = [0; MAX_CHAIN_NAME_LEN];
        let mut i = 0;
        while i < src.len() {
            bytes[i] = src[i];
            i += 1;
        }
        ChainName { len: src.len() as u8, bytes }
    }

    /// `prefix` followed by `suffix`, or `None` when the result would be too long (the
    /// hashed names kube-proxy builds, `KUBE-SEP-` + 16 characters, always fit).
    pub fn concat(prefix: &str, suffix: &str) -> Option<ChainName> {
        let (p, s) = (prefix.as_bytes(), suffix.as_bytes());
        if p.len() + s.len() > MAX_CHAIN_NAME_LEN {
            return None;
        }
        let mut bytes = [0; MAX_CHAIN_NAME_LEN];
        bytes[..p.len()].copy_from_slice(p);
        bytes[p.len()..p.len() + s.len()].copy_from_slice(s);
        Some(ChainName { len: (p.len() + s.len()) as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        // Built only from whole `&str`s, so always UTF-8; the check is over a few bytes.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Deref for ChainName {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ChainName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Lets tables keyed by `ChainName` be searched with a `&str`: `Hash`, `Eq` and `Ord` agree
/// with `str`'s.
impl Borrow<str> for ChainName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for ChainName {
    fn eq(&self, other: &ChainName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ChainName {}

impl PartialOrd for ChainName {
    fn partial_cmp(&self, other: &ChainName) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Byte order, as `str` orders: the unused bytes are zero, so comparing the whole padded
/// arrays (as two big-endian integers: sorting 100,000 names is part of every sync), then the
/// lengths, gives the order of the names.
impl Ord for ChainName {
    fn cmp(&self, other: &ChainName) -> Ordering {
        self.order_key().cmp(&other.order_key()).then(self.len.cmp(&other.len))
    }
}

impl ChainName {
    fn order_key(&self) -> (u128, u128) {
        let mut head = [0; 16];
        let mut tail = [0; 16];
        head.copy_from_slice(&self.bytes[..16]);
        tail[..MAX_CHAIN_NAME_LEN - 16].copy_from_slice(&self.bytes[16..]);
        (u128::from_be_bytes(head), u128::from_be_bytes(tail))
    }
}

impl Hash for ChainName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for ChainName {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for ChainName {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for ChainName {
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ChainName> for str {
    fn eq(&self, other: &ChainName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ChainName> for &str {
    fn eq(&self, other: &ChainName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ChainName> for String {
    fn eq(&self, other: &ChainName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Display for ChainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ChainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for ChainName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl From<ChainName> for String {
    fn from(name: ChainName) -> String {
        name.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn names_up_to_the_kernel_limit_fit_and_longer_ones_do_not() {
        let longest = "KUBE-SEP-ABCDEFGHIJKLMNOPQRS";
        assert_eq!(longest.len(), MAX_CHAIN_NAME_LEN);
        assert_eq!(ChainName::new(longest).map(|c| c.to_string()).as_deref(), Some(longest));
        assert_eq!(ChainName::new("KUBE-SEP-ABCDEFGHIJKLMNOPQRST"), None);
        assert_eq!(
            ChainName::concat("KUBE-SVC-", "XPGD46QRK7WJZT7O").unwrap(),
            "KUBE-SVC-XPGD46QRK7WJZT7O"
        );
        assert_eq!(ChainName::concat("KUBE-SVC-", "XPGD46QRK7WJZT7OXXXXX"), None);
    }

    #[test]
    fn names_order_and_hash_like_strings() {
        let a = ChainName::from_static("KUBE-NODEPORTS");
        let b = ChainName::from_static("KUBE-SERVICES");
        assert!(a < b);
        assert_eq!(a.cmp(&b), "KUBE-NODEPORTS".cmp("KUBE-SERVICES"));
        let names = [
            "",
            "A",
            "A\0",
            "A\0B",
            "AB",
            "KUBE-SVC",
            "KUBE-SVC-A",
            "KUBE-SEP-ABCDEFGHIJKLMNOPQRS",
            "KUBE-SEP-ABCDEFGHIJKLMNOPQRR",
            "KUBE-SEP-ABCDEFGHIJKLMNOP",
            "\u{e9}",
        ];
        for x in names {
            for y in names {
                let (cx, cy) = (ChainName::new(x).unwrap(), ChainName::new(y).unwrap());
                assert_eq!(cx.cmp(&cy), x.cmp(y), "{x:?} vs {y:?}");
            }
        }
        let map: HashMap<ChainName, u8> = [(a, 1), (b, 2)].into_iter().collect();
        assert_eq!(map.get("KUBE-SERVICES"), Some(&2));
        assert_eq!(format!("{a:?}"), "\"KUBE-NODEPORTS\"");
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"KUBE-SERVICES\"");
    }
}
