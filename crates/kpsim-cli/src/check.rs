//! `kpsim check`: every problem found in the input (errors, warnings, notes), then the
//! objects read from it; exit 1 when there are errors.

use std::path::PathBuf;

use crate::input::{AdmissionArg, Input};
use crate::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How the input is admitted: `auto` takes Services + EndpointSlices alone as kube-proxy
    /// receives them (as-given) and anything else through a simulated API server (cluster).
    #[arg(long, value_enum, default_value_t = AdmissionArg::Auto)]
    pub admission: AdmissionArg,
    /// Manifest files (YAML or JSON); `-` or none reads stdin.
    pub files: Vec<PathBuf>,
}

pub fn run(args: &Args) -> Result<Outcome, CliError> {
    let input = Input::read(&args.files)?;
    let analysis = kpsim::analyze(&input.text, args.admission.into());
    let has_errors = input.report(&analysis.diagnostics);
    if has_errors {
        return Ok(Outcome::InputErrors);
    }
    for object in &analysis.manifests.objects {
        let r = &object.resource;
        if r.is_cluster_scoped() {
            println!("{} {}", r.kind(), r.name());
        } else {
            println!("{} {}/{}", r.kind(), r.namespace(), r.name());
        }
    }
    Ok(Outcome::Ok)
}
