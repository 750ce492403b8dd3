//! The diagnostics list under the editor: every diagnostic of the analysis, located
//! (`line L, column C: message`), with its object, field and hint, errors first.
//!
//! Not responsible for the markers inside the editor (see [`super::editor`]) or for the
//! "why doesn't my Service work" findings of the Endpoints panel (see [`super::endpoints`]).

use kpsim::diagnostic::{Diagnostic, DiagnosticKind, Severity};

/// One diagnostic, located in the editor's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticRow {
    pub severity: Severity,
    /// 1-based; 0 when the diagnostic is about the input as a whole.
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

    /// True when the row can move the caret (it points into the text).
    pub fn is_located(&self) -> bool {
        self.line != 0
    }
}

/// What the list shows: problems (errors and warnings) in input order, and the notes
/// (infos: how the input was read, what was filled in) apart, so they never hide a problem.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiagnosticsView {
    pub problems: Vec<DiagnosticRow>,
    pub notes: Vec<DiagnosticRow>,
    pub errors: usize,
    pub warnings: usize,
}

/// The rows for every diagnostic of an analysis.
pub fn diagnostics_view(diagnostics: &[Diagnostic]) -> DiagnosticsView {
    let mut view = DiagnosticsView::default();
    for d in diagnostics {
        let row = diagnostic_row(d);
        match d.severity {
            Severity::Error => {
                view.errors += 1;
                view.problems.push(row);
            }
            Severity::Warning => {
                view.warnings += 1;
                view.problems.push(row);
            }
            Severity::Info => view.notes.push(row),
        }
    }
    view
}

/// The "why doesn't my Service work" kinds: what the Endpoints panel repeats beside the
/// Service concerned.
pub fn is_service_finding(kind: DiagnosticKind) -> bool {
    matches!(
        kind,
        DiagnosticKind::SelectorMatchesNothing
            | DiagnosticKind::SelectorMatchesOtherNamespace
            | DiagnosticKind::NamedPortNotFound
    )
}

pub fn diagnostic_row(d: &Diagnostic) -> DiagnosticRow {
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
    use crate::examples;
    use kpsim::model::Admission;

    fn view(text: &str) -> DiagnosticsView {
        diagnostics_view(&kpsim::analyze(text, Admission::Auto).diagnostics)
    }

    #[test]
    fn the_walkthrough_has_no_problem_and_says_how_it_was_read() {
        let v = view(examples::WALKTHROUGH.text);
        assert_eq!(v.problems, []);
        assert!(v.notes.iter().any(|n| n.message.starts_with("admission cluster")), "{v:?}");
    }

    #[test]
    fn broken_yaml_is_an_error_with_line_and_column() {
        let v = view("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\nkind: [\n");
        assert_eq!(v.errors, 1);
        let d = &v.problems[0];
        assert_eq!(d.severity, Severity::Error);
        assert!(d.is_located());
        assert!(d.headline().starts_with("line 7, column 1: document 2: "), "{}", d.headline());
    }

    #[test]
    fn a_warning_carries_its_object_field_and_hint() {
        let v = view("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  lables: {x: y}\n");
        assert_eq!((v.errors, v.warnings), (0, 1));
        let d = &v.problems[0];
        assert_eq!(d.line, 5);
        assert_eq!(d.context, "Pod default/a, metadata.lables");
        assert!(!d.hint.is_empty());
    }

    #[test]
    fn an_unlocated_headline_is_the_message() {
        let row = DiagnosticRow {
            severity: Severity::Info,
            line: 0,
            column: 0,
            message: "something".into(),
            context: String::new(),
            hint: String::new(),
        };
        assert_eq!(row.headline(), "something");
        assert!(!row.is_located());
    }

    #[test]
    fn a_selector_that_matches_nothing_is_a_service_finding() {
        let text =
            examples::WALKTHROUGH.text.replace("name: server\n  ports", "name: nobody\n  ports");
        let analysis = kpsim::analyze(&text, Admission::Auto);
        let findings: Vec<_> =
            analysis.diagnostics.iter().filter(|d| is_service_finding(d.kind)).collect();
        assert_eq!(findings.len(), 1, "{:?}", analysis.diagnostics);
        assert!(findings[0].message.contains("matches no pod"));
    }
}
