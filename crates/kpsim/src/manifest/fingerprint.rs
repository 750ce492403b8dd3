//! A fingerprint of one node of a document's tree that depends on what the node means, not
//! on how it was written: what the workload controllers hash to name what they create
//! (`pod-template-hash`, `controller-revision-hash`).
//!
//! The node is written out in a canonical form (mapping keys sorted, aliases followed,
//! scalars by their resolved value and type, so `80`, `0x50` and `+80` are one value but `80`
//! and `"80"` are two) and hashed with FNV-32a. Comments, indentation, quoting style, flow or
//! block style and key order change nothing. Which nodes are fingerprinted is [`super`]'s
//! business; turning the number into a name is [`crate::model`]'s.

use super::scalar::{self, Resolved};
use super::tree::{NodeId, NodeKind, Tree};

/// The fingerprint of `spec.template` of the object at `object`, if it has one.
pub(crate) fn template(tree: &Tree, object: NodeId) -> Option<u32> {
    let template = tree.get(tree.get(object, "spec")?, "template")?;
    Some(fingerprint(tree, template))
}

/// FNV-32a of `node`'s canonical form.
pub(crate) fn fingerprint(tree: &Tree, node: NodeId) -> u32 {
    let mut out = Vec::new();
    canonical(tree, node, &mut out);
    fnv32a(&out)
}

/// FNV-32a, the hash Kubernetes' `controller.ComputeHash` uses.
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in data {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Appends the canonical form of `node` to `out`. Every value starts with a byte saying its
/// type and is self-delimiting (strings carry their length), so no two different trees write
/// the same bytes.
fn canonical(tree: &Tree, node: NodeId, out: &mut Vec<u8>) {
    match &tree.node(tree.resolve(node)).kind {
        NodeKind::Scalar { text, style, tag } => match scalar::resolve(text, *style, tag) {
            Ok(Resolved::Null) => out.push(b'~'),
            Ok(Resolved::Bool(b)) => out.extend_from_slice(if b { b"T" } else { b"F" }),
            Ok(Resolved::Unsigned(u)) => integer(out, u.to_string()),
            Ok(Resolved::Unsigned128(u)) => integer(out, u.to_string()),
            Ok(Resolved::Signed(i)) => integer(out, i.to_string()),
            Ok(Resolved::Signed128(i)) => integer(out, i.to_string()),
            Ok(Resolved::Float(f)) => {
                out.push(b'f');
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Ok(Resolved::Str(s)) => string(out, b's', s),
            // A tagged scalar whose text does not fit its tag (`!!int eighty`).
            Err(_) => string(out, b'!', text),
        },
        NodeKind::Seq(items) => {
            out.push(b'[');
            for &item in items {
                canonical(tree, item, out);
            }
            out.push(b']');
        }
        NodeKind::Map(entries) => {
            let mut written: Vec<Vec<u8>> = entries
                .iter()
                .map(|&(key, value)| {
                    let mut entry = Vec::new();
                    canonical(tree, key, &mut entry);
                    canonical(tree, value, &mut entry);
                    entry
                })
                .collect();
            // Keys are self-delimiting, so ordering whole entries orders them by key.
            written.sort_unstable();
            out.push(b'{');
            for entry in written {
                out.extend_from_slice(&entry);
            }
            out.push(b'}');
        }
        // `resolve` followed every alias.
        NodeKind::Alias(_) => out.push(b'*'),
    }
}

fn integer(out: &mut Vec<u8>, decimal: String) {
    out.push(b'i');
    out.extend_from_slice(decimal.as_bytes());
    out.push(b';');
}

fn string(out: &mut Vec<u8>, kind: u8, s: &str) {
    out.push(kind);
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    fn of(text: &str) -> u32 {
        let tree = parse(text).unwrap();
        fingerprint(&tree, tree.root())
    }

    const TEMPLATE: &str = "\
metadata:
  labels: {app: web}
spec:
  containers:
  - name: web
    image: nginx
    ports:
    - containerPort: 80
";

    #[test]
    fn key_order_comments_and_layout_do_not_change_it() {
        let reordered = "\
# the same template, written differently
spec:
  containers:
  - ports: [{containerPort: 0x50}]   # 80 in hex
    image: 'nginx'
    name: \"web\"
metadata:
  labels:
    app: web
";
        assert_eq!(of(TEMPLATE), of(reordered));
    }

    #[test]
    fn a_changed_container_port_changes_it() {
        assert_ne!(of(TEMPLATE), of(&TEMPLATE.replace("80", "8080")));
    }

    #[test]
    fn types_tell_values_apart() {
        assert_ne!(of("port: 80"), of("port: \"80\""));
        assert_ne!(of("a: true"), of("a: 'true'"));
        assert_ne!(of("a: ~"), of("a: ''"));
        assert_eq!(of("port: 80"), of("port: !!int '80'"));
        assert_ne!(of("a: [x, y]"), of("a: [y, x]"));
        assert_ne!(of("{a: bc}"), of("{ab: c}"));
    }

    #[test]
    fn an_empty_mapping_writes_braces() {
        // What `model::workload` hashes for a workload written without a template.
        assert_eq!(of("{}"), fnv32a(b"{}"));
    }

    #[test]
    fn aliases_are_followed() {
        assert_eq!(of("a: &x {k: v}\nb: *x\n"), of("a: {k: v}\nb: {k: v}\n"));
    }
}
