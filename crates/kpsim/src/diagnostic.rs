//! Diagnostics: user mistakes and surprises, each located in the input and carrying a fix hint.
//!
//! Every stage returns its value *and* its diagnostics; nothing here stops the pipeline.
//! Rendering diagnostics for a terminal or a page is the caller's job; [`Diagnostic`]'s
//! `Display` is the one-line `line:col: severity: message` form the CLI builds on.

use std::fmt;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something worth knowing that is not wrong (a value was defaulted, an input mode chosen).
    Info,
    /// Accepted, but probably not what the user meant, or not what an API server would accept.
    Warning,
    /// The object (or the part of it named by the field path) could not be used.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What went wrong, as a closed set so callers (the page, tests) can match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnosticKind {
    /// The text is not valid YAML or JSON.
    Syntax,
    /// The input is too large or too deeply nested to be parsed safely.
    InputTooLarge,
    /// A document has no `apiVersion`/`kind`, or they are not strings.
    MissingTypeMeta,
    /// A kind kpsim does not model; the document is skipped.
    UnknownKind,
    /// A field has the wrong type (`port: "eighty"`).
    WrongType,
    /// A field kpsim (and Kubernetes) does not know, usually a typo (`lables:`).
    UnknownField,
    /// A required field is missing or empty.
    MissingField,
    /// A value is outside what the API server accepts (port 0, unknown enum value, …).
    InvalidValue,
    /// An address or prefix that does not parse, or parses only sloppily.
    InvalidAddress,
    /// The same object (kind, namespace, name) appears twice.
    Duplicate,
    /// A Service selector matches no pod.
    SelectorMatchesNothing,
    /// A Service selector matches pods only in other namespaces.
    SelectorMatchesOtherNamespace,
    /// A named `targetPort` that no selected pod exposes.
    NamedPortNotFound,
    /// A pod IP outside the pod CIDR of its node.
    PodIpOutsideNodeCidr,
    /// A pod bound to a node that does not exist.
    UnknownNode,
    /// An allocation (ClusterIP, NodePort, pod IP) ran out of addresses or ports.
    AllocationExhausted,
    /// An explanation of a defaulted or allocated value or of how the input was read.
    Explanation,
}

/// Where in the input a diagnostic points. Lines and columns are 1-based and count
/// Unicode scalar values, as editors show them; line 0 means "the input as a whole" (which
/// admission was chosen, a derived CIDR, an object kpsim made up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct Location {
    /// 0-based index of the YAML/JSON document in the stream.
    pub document: usize,
    pub line: usize,
    pub column: usize,
}

/// The object a diagnostic is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    /// Empty for cluster-scoped objects (Node, Namespace).
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef { kind: kind.to_owned(), namespace: namespace.to_owned(), name: name.to_owned() }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One finding about the input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub kind: DiagnosticKind,
    pub location: Location,
    /// The object concerned, when known.
    pub object: Option<ObjectRef>,
    /// Field path inside the object (`spec.ports[0].port`); empty for the whole document.
    pub field_path: String,
    pub message: String,
    /// One line saying how to fix it.
    pub hint: String,
}

impl Diagnostic {
    pub fn new(severity: Severity, kind: DiagnosticKind, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            kind,
            location: Location::default(),
            object: None,
            field_path: String::new(),
            message: message.into(),
            hint: String::new(),
        }
    }

    pub fn error(kind: DiagnosticKind, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, kind, message)
    }

    pub fn warning(kind: DiagnosticKind, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, kind, message)
    }

    pub fn info(kind: DiagnosticKind, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Info, kind, message)
    }

    pub fn at(mut self, location: Location) -> Diagnostic {
        self.location = location;
        self
    }

    pub fn on(mut self, object: ObjectRef) -> Diagnostic {
        self.object = Some(object);
        self
    }

    pub fn field(mut self, path: impl Into<String>) -> Diagnostic {
        self.field_path = path.into();
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = hint.into();
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `line:column: severity: message [object, field] (hint)` — the CLI prefixes the file name.
/// A diagnostic about the input as a whole (line 0) has no `line:column: ` part.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.line != 0 {
            write!(f, "{}:{}: ", self.location.line, self.location.column)?;
        }
        write!(f, "{}: {}", self.severity, self.message)?;
        match (&self.object, self.field_path.is_empty()) {
            (Some(o), false) => write!(f, " [{o}, {}]", self.field_path)?,
            (Some(o), true) => write!(f, " [{o}]")?,
            (None, false) => write!(f, " [{}]", self.field_path)?,
            (None, true) => {}
        }
        if !self.hint.is_empty() {
            write!(f, " (hint: {})", self.hint)?;
        }
        Ok(())
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// Puts diagnostics in reading order: those not located in the text (line 0) first, then by
/// document, line and column. Stable: diagnostics at one place keep the order they were made in.
pub fn sort_by_location(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| {
        (d.location.line != 0, d.location.document, d.location.line, d.location.column)
    });
}
