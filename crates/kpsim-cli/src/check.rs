//! `kpsim check`: every problem found in the input (errors, warnings, notes), then the
//! objects read from it; exit 1 when there are errors.

use crate::input::ManifestArgs;
use crate::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

pub fn run(args: &Args) -> Result<Outcome, CliError> {
    let (analysis, has_errors) = args.manifests.analyze()?;
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
