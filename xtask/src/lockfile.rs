//! Reading pinned versions: a crate's version in `Cargo.lock`, a tool's in `Trunk.toml`.
//!
//! Line-based on purpose: both files are machine-written with one `key = "value"` per line,
//! and xtask stays free of parser dependencies.

/// The version of `name` in a `Cargo.lock` (the first one, if several are locked).
pub fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            return lines.next().and_then(|next| quoted_value(next, "version"));
        }
    }
    None
}

/// The value of `key` in the `[section]` of a simple TOML file.
pub fn toml_value(toml: &str, section: &str, key: &str) -> Option<String> {
    let header = format!("[{section}]");
    let mut in_section = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == header;
        } else if in_section && let Some(value) = quoted_value(line, key) {
            return Some(value);
        }
    }
    None
}

/// `key = "value"` → `value`.
fn quoted_value(line: &str, key: &str) -> Option<String> {
    let (k, v) = line.split_once('=')?;
    if k.trim() != key {
        return None;
    }
    let v = v.trim();
    v.strip_prefix('"')?.split('"').next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_locked_version_of_a_crate() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.1\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\nsource = \"registry\"\n";
        assert_eq!(locked_version(lock, "wasm-bindgen").as_deref(), Some("0.2.130"));
        assert_eq!(locked_version(lock, "yew"), None);
    }

    #[test]
    fn reads_a_key_only_inside_its_section() {
        let toml = "[build]\nwasm_bindgen = \"wrong\"\n\n[tools]\n# pinned\nwasm_bindgen = \"0.2.130\"\nwasm_opt = \"version_132\"\n";
        assert_eq!(toml_value(toml, "tools", "wasm_bindgen").as_deref(), Some("0.2.130"));
        assert_eq!(toml_value(toml, "tools", "wasm_opt").as_deref(), Some("version_132"));
        assert_eq!(toml_value(toml, "serve", "port"), None);
    }

    #[test]
    fn the_repository_pins_agree() {
        // Trunk downloads any wasm-bindgen other than the one it is told to use, and the
        // download fails on our machines: Trunk.toml must follow Cargo.lock.
        let lock = include_str!("../../Cargo.lock");
        let trunk = include_str!("../../Trunk.toml");
        let locked = locked_version(lock, "wasm-bindgen");
        assert!(locked.is_some());
        assert_eq!(toml_value(trunk, "tools", "wasm_bindgen"), locked);
    }
}
