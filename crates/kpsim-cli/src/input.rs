//! Reading the user's files (or stdin) and printing diagnostics against them.
//!
//! Several files are read as one stream, joined with `---`; every diagnostic is mapped back to
//! the file and line it came from.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use kpsim::diagnostic::Diagnostic;
use kpsim::model::Admission;

use crate::CliError;

/// `--admission`: how manifests become cluster state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AdmissionArg {
    /// as-given for Services + EndpointSlices alone, cluster otherwise.
    Auto,
    /// Simulate the API server and controllers (allocation, scheduling, built-ins).
    Cluster,
    /// Take the objects exactly as written, like kube-proxy's unit tests.
    AsGiven,
}

impl From<AdmissionArg> for Admission {
    fn from(a: AdmissionArg) -> Admission {
        match a {
            AdmissionArg::Auto => Admission::Auto,
            AdmissionArg::Cluster => Admission::Cluster,
            AdmissionArg::AsGiven => Admission::AsGiven,
        }
    }
}

/// The manifests of a command that reads nothing else: `--admission` and the files.
#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// How the input is admitted: `auto` takes Services + EndpointSlices alone as kube-proxy
    /// receives them (as-given) and anything else through a simulated API server (cluster).
    #[arg(long, value_enum, default_value_t = AdmissionArg::Auto)]
    pub admission: AdmissionArg,
    /// Manifest files (YAML or JSON); `-` or none reads stdin.
    pub files: Vec<PathBuf>,
}

impl ManifestArgs {
    /// Reads the files, analyses them and prints every diagnostic; returns the analysis and
    /// whether any diagnostic was an error.
    pub fn analyze(&self) -> Result<(kpsim::Analysis, bool), CliError> {
        let input = Input::read(&self.files)?;
        let analysis = kpsim::analyze(&input.text, self.admission.into());
        let has_errors = input.report(&analysis.diagnostics);
        Ok((analysis, has_errors))
    }
}

/// One file of the input.
#[derive(Debug)]
pub struct Source {
    pub name: String,
    /// Line of the combined text where this file starts (1-based).
    pub first_line: usize,
}

/// The user's input: every file, joined into one YAML stream.
#[derive(Debug)]
pub struct Input {
    pub text: String,
    pub sources: Vec<Source>,
}

impl Input {
    /// Reads the named files in order; no files, or `-`, reads stdin.
    pub fn read(files: &[PathBuf]) -> Result<Input, CliError> {
        let mut input = Input { text: String::new(), sources: Vec::new() };
        let stdin = [PathBuf::from("-")];
        let files = if files.is_empty() { &stdin[..] } else { files };
        for file in files {
            let (name, text) = read_one(file)?;
            input.push(name, &text);
        }
        Ok(input)
    }

    /// Adds one file's text to the stream.
    pub fn push(&mut self, name: String, text: &str) {
        if !self.sources.is_empty() {
            if !self.text.ends_with('\n') {
                self.text.push('\n');
            }
            self.text.push_str("---\n");
        }
        let first_line = self.text.matches('\n').count() + 1;
        self.text.push_str(text);
        self.sources.push(Source { name, first_line });
    }

    /// The file and the line inside it of a line of the combined text.
    pub fn position(&self, line: usize) -> (&str, usize) {
        let source =
            self.sources.iter().rev().find(|s| s.first_line <= line).or(self.sources.first());
        match source {
            Some(s) => (s.name.as_str(), line.saturating_sub(s.first_line) + 1),
            None => ("-", line),
        }
    }

    /// `file:line:col: severity: message …` for one diagnostic; `file: severity: message …`
    /// for one about the input as a whole (line 0).
    pub fn format(&self, d: &Diagnostic) -> String {
        if d.location.line == 0 {
            let name = self.sources.first().map_or("-", |s| s.name.as_str());
            return format!("{name}: {d}");
        }
        let (name, line) = self.position(d.location.line);
        let mut local = d.clone();
        local.location.line = line;
        format!("{name}:{local}")
    }

    /// Prints diagnostics to stderr; returns true when any is an error.
    pub fn report(&self, diagnostics: &[Diagnostic]) -> bool {
        for d in diagnostics {
            eprintln!("{}", self.format(d));
        }
        kpsim::diagnostic::has_errors(diagnostics)
    }
}

/// Reads a file (or stdin for `-`).
pub fn read_one(path: &Path) -> Result<(String, String), CliError> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError(format!("reading stdin: {e}")))?;
        return Ok(("<stdin>".to_owned(), text));
    }
    let bytes = std::fs::read(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError(format!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok((path.display().to_string(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_map_back_to_their_file() {
        let mut input = Input { text: String::new(), sources: Vec::new() };
        input.push("a.yaml".into(), "x: 1\ny: 2\n");
        input.push("b.yaml".into(), "z: 3\n");
        assert_eq!(input.text, "x: 1\ny: 2\n---\nz: 3\n");
        assert_eq!(input.position(2), ("a.yaml", 2));
        assert_eq!(input.position(4), ("b.yaml", 1));
    }
}
