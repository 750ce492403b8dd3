//! Names that Kubernetes makes up (`generateName` suffixes, `pod-template-hash`), made
//! deterministic: derived from the names of the objects involved instead of drawn at random.
//!
//! The shapes are Kubernetes' own: suffixes use `rand.String`'s alphabet
//! (`bcdfghjklmnpqrstvwxz2456789`, no vowels, no look-alikes), generated names truncate their
//! base to 58 characters before the 5-character suffix, and `pod-template-hash` is
//! `SafeEncodeString` of the decimal FNV-32a hash of the pod template, as the Deployment
//! controller computes it (over the template's canonical form here, see
//! [`crate::manifest::Object::template_fingerprint`], not Go's `spew` dump, so the values differ
//! from a real cluster's while looking the same). Choosing which objects get names is
//! the callers' business.

use sha2::{Digest, Sha256};

/// The alphabet of Kubernetes' `rand.String` and `rand.SafeEncodeString`.
pub const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Longest base kept by `names.SimpleNameGenerator` (63 minus the 5-character suffix).
const MAX_GENERATED_BASE: usize = 58;

/// `n` characters of [`ALPHANUMS`] derived from `seed`.
pub fn suffix(seed: &str, n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut round = 0u32;
    while out.len() < n {
        let mut hasher = Sha256::new();
        hasher.update(seed.as_bytes());
        hasher.update(round.to_be_bytes());
        for b in hasher.finalize() {
            if out.len() == n {
                break;
            }
            out.push(char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]));
        }
        round += 1;
    }
    out
}

/// `metadata.generateName` resolved: `base` (truncated like the API server does) followed by
/// five characters derived from `seed`.
pub fn generate_name(base: &str, seed: &str) -> String {
    let mut end = base.len().min(MAX_GENERATED_BASE);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &base[..end], suffix(seed, 5))
}

/// FNV-32a, the hash behind `pod-template-hash` and `controller-revision-hash`.
pub use crate::manifest::fingerprint::fnv32a;

/// `rand.SafeEncodeString`: every byte mapped into [`ALPHANUMS`].
pub fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()])).collect()
}

/// `controller.ComputeHash`: the safe-encoded decimal of a template's FNV-32a hash
/// (up to 10 characters, like `7c5ddbdf54`).
pub fn template_hash(fnv32a: u32) -> String {
    safe_encode(&fnv32a.to_string())
}

/// Picks a name for each seed, re-deriving on collision with names already `taken` (which
/// it extends), so a set of generated names never repeats.
pub fn unique_generated_name(
    base: &str,
    seed: &str,
    taken: &mut std::collections::BTreeSet<String>,
) -> String {
    let mut attempt = 0u32;
    loop {
        let seeded = if attempt == 0 { seed.to_owned() } else { format!("{seed}#{attempt}") };
        let name = generate_name(base, &seeded);
        if taken.insert(name.clone()) {
            return name;
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_use_the_kubernetes_alphabet_and_are_stable() {
        let s = suffix("default/web/0", 5);
        assert_eq!(s.len(), 5);
        assert!(s.bytes().all(|b| ALPHANUMS.contains(&b)));
        assert_eq!(s, suffix("default/web/0", 5));
        assert_ne!(s, suffix("default/web/1", 5));
    }

    #[test]
    fn template_hashes_look_like_real_ones() {
        // Digits map onto 4-9 and b-f, which is why real hashes read like `7c5ddbdf54`.
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
        let h = template_hash(fnv32a(b"{}"));
        assert!((1..=10).contains(&h.len()));
    }

    #[test]
    fn generated_names_truncate_long_bases() {
        let base = format!("{}-", "a".repeat(70));
        assert_eq!(generate_name(&base, "x").len(), 63);
    }
}
