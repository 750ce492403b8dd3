//! `kpsim endpoints`: the EndpointSlices kube-proxy reads (given, mirrored from Endpoints,
//! or made by the EndpointSlice controller), as a table or as JSON.

use std::path::PathBuf;

use crate::input::{AdmissionArg, Input};
use crate::{CliError, Outcome};

/// How to print the slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One row per endpoint, like `kubectl get endpointslices -o wide`.
    Text,
    /// The slices as JSON.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// How the input is admitted (see `kpsim check --help`).
    #[arg(long, value_enum, default_value_t = AdmissionArg::Auto)]
    pub admission: AdmissionArg,
    /// Manifest files (YAML or JSON); `-` or none reads stdin.
    pub files: Vec<PathBuf>,
}

pub fn run(args: &Args) -> Result<Outcome, CliError> {
    let input = Input::read(&args.files)?;
    let analysis = kpsim::analyze(&input.text, args.admission.into());
    let has_errors = input.report(&analysis.diagnostics);
    match args.output {
        Output::Text => {
            print!(
                "{}",
                kpsim::endpoints::table::render(&kpsim::endpoints::table::rows(&analysis.cluster))
            );
        }
        Output::Json => {
            let slices: Vec<_> = analysis.cluster.endpoint_slices.values().collect();
            println!("{}", serde_json::to_string_pretty(&slices)?);
        }
    }
    Ok(if has_errors { Outcome::InputErrors } else { Outcome::Ok })
}
