//! View models: core values turned into the rows and labels the page shows.
//!
//! Plain Rust with no Yew or DOM types, so it is tested natively. Not responsible for reading
//! YAML (the core's [`kpsim::manifest`]) or for HTML (the components).

use kpsim::diagnostic::{Diagnostic, Severity, has_errors};
use kpsim::manifest::{Manifests, Object};

/// What the page shows about the editor's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestView {
    /// The objects read, in input order; `None` when the input has errors (then only the
    /// diagnostics are shown, as `kpsim check` does).
    pub objects: Option<Vec<ObjectRow>>,
    /// Every diagnostic, errors and warnings, in input order.
    pub diagnostics: Vec<DiagnosticRow>,
}

/// One object of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRow {
    pub kind: String,
    /// `namespace/name`, or `name` for cluster-scoped kinds (as `kpsim check` prints it).
    pub name: String,
    /// 1-based line where the object starts.
    pub line: usize,
}

/// One diagnostic, located in the editor's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticRow {
    pub severity: Severity,
    /// 1-based; 0 when the core could not place it.
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The object and field concerned (`Service default/web, spec.ports[0].port`), or empty.
    pub context: String,
    /// How to fix it, or empty.
    pub hint: String,
}

impl DiagnosticRow {
    /// `line L, column C: message`.
    pub fn headline(&self) -> String {
        if self.line == 0 {
            self.message.clone()
        } else {
            format!("line {}, column {}: {}", self.line, self.column, self.message)
        }
    }
}

/// The rows for everything the core read.
pub fn manifest_view(manifests: &Manifests) -> ManifestView {
    let diagnostics = manifests.diagnostics.iter().map(diagnostic_row).collect();
    let objects = if has_errors(&manifests.diagnostics) {
        None
    } else {
        Some(manifests.objects.iter().map(object_row).collect())
    };
    ManifestView { objects, diagnostics }
}

fn object_row(object: &Object) -> ObjectRow {
    let r = &object.resource;
    let name = if r.is_cluster_scoped() {
        r.name().to_owned()
    } else {
        format!("{}/{}", r.namespace(), r.name())
    };
    ObjectRow { kind: r.kind().to_owned(), name, line: object.location.line }
}

fn diagnostic_row(d: &Diagnostic) -> DiagnosticRow {
    let context = match (&d.object, d.field_path.is_empty()) {
        (Some(o), false) => format!("{o}, {}", d.field_path),
        (Some(o), true) => o.to_string(),
        (None, false) => d.field_path.clone(),
        (None, true) => String::new(),
    };
    DiagnosticRow {
        severity: d.severity,
        line: d.location.line,
        column: d.location.column,
        message: d.message.clone(),
        context,
        hint: d.hint.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::WALKTHROUGH;

    fn view(text: &str) -> ManifestView {
        manifest_view(&kpsim::manifest::parse(text))
    }

    #[test]
    fn walkthrough_lists_four_objects_with_namespace_and_line() {
        let v = view(WALKTHROUGH);
        assert!(v.diagnostics.is_empty());
        let rows: Vec<_> = v
            .objects
            .unwrap_or_default()
            .into_iter()
            .map(|r| format!("{} {} @{}", r.kind, r.name, r.line))
            .collect();
        assert_eq!(
            rows,
            [
                "Pod default/pod-client @1",
                "Pod default/server-pod-1 @14",
                "Pod default/server-pod-2 @28",
                "Service default/service @42",
            ]
        );
    }

    #[test]
    fn cluster_scoped_objects_have_no_namespace() {
        let v = view("apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n");
        let objects = v.objects.unwrap_or_default();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].name, "worker-1");
    }

    #[test]
    fn broken_yaml_shows_located_errors_instead_of_objects() {
        let v = view("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\nkind: [\n");
        assert_eq!(v.objects, None);
        assert_eq!(v.diagnostics.len(), 1);
        let d = &v.diagnostics[0];
        assert_eq!(d.severity, Severity::Error);
        assert!(d.headline().starts_with("line 7, column 1: document 2: "), "{}", d.headline());
    }

    #[test]
    fn warnings_keep_the_object_list_and_carry_their_context() {
        let v = view("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  lables: {x: y}\n");
        assert_eq!(v.objects.as_ref().map(Vec::len), Some(1));
        assert_eq!(v.diagnostics.len(), 1);
        let d = &v.diagnostics[0];
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(d.line, 5);
        assert_eq!(d.context, "Pod default/a, metadata.lables");
        assert!(!d.hint.is_empty());
    }

    #[test]
    fn unlocated_diagnostic_headline_is_the_message() {
        let row = DiagnosticRow {
            severity: Severity::Error,
            line: 0,
            column: 0,
            message: "something".into(),
            context: String::new(),
            hint: String::new(),
        };
        assert_eq!(row.headline(), "something");
    }

    #[test]
    fn empty_input_has_no_objects_and_no_errors() {
        let v = view("");
        assert_eq!(v.objects, Some(Vec::new()));
        assert!(v.diagnostics.is_empty());
    }
}
