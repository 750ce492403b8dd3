//! `kpsim endpoints`: the EndpointSlices kube-proxy reads (given, mirrored from Endpoints,
//! or made by the EndpointSlice controller), as a table or as JSON.

use crate::input::ManifestArgs;
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
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

pub fn run(args: &Args) -> Result<Outcome, CliError> {
    let (analysis, has_errors) = args.manifests.analyze()?;
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
