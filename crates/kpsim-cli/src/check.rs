//! `kpsim check`: the objects read from the input, or every problem found in it.

use std::path::PathBuf;

use crate::input::Input;
use crate::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files (YAML or JSON); `-` or none reads stdin.
    pub files: Vec<PathBuf>,
}

pub fn run(args: &Args) -> Result<Outcome, CliError> {
    let input = Input::read(&args.files)?;
    let manifests = kpsim::manifest::parse(&input.text);
    let has_errors = input.report(&manifests.diagnostics);
    if has_errors {
        return Ok(Outcome::InputErrors);
    }
    for object in &manifests.objects {
        let r = &object.resource;
        if r.is_cluster_scoped() {
            println!("{} {}", r.kind(), r.name());
        } else {
            println!("{} {}/{}", r.kind(), r.namespace(), r.name());
        }
    }
    Ok(Outcome::Ok)
}
