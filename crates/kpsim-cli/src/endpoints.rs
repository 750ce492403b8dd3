//! `kpsim endpoints` (being written).

use std::path::PathBuf;

use crate::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files (YAML or JSON); `-` or none reads stdin.
    pub files: Vec<PathBuf>,
}

pub fn run(_args: &Args) -> Result<Outcome, CliError> {
    Err(CliError("`endpoints` is not implemented yet".to_owned()))
}
