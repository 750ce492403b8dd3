//! `kpsim`: a thin shell over the `kpsim` library. Reads files, calls the core, prints.
//!
//! Exit codes (one place: [`exit_code`]): 0 success, 1 the input has errors or the request
//! cannot be answered, 2 bad usage.

mod check;
mod cluster_trace;
mod endpoints;
mod input;
mod rules;
mod trace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What kube-proxy would do with your Services: endpoints, rules, packet traces.
#[derive(Debug, Parser)]
#[command(name = "kpsim", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check manifests: list the objects read, or every problem found (exit 1 on errors).
    Check(check::Args),
    /// Show the EndpointSlices kube-proxy reads, like `kubectl get endpointslices -o wide`.
    Endpoints(endpoints::Args),
    /// Print the rules kube-proxy writes on a node.
    Rules(rules::Args),
    /// Trace a packet through a node's rules, or a connection across the cluster.
    Trace(trace::Args),
}

/// A failure the user can act on; printed as `kpsim: <message>`.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> CliError {
        CliError(e.to_string())
    }
}

/// What a command achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The command ran, but the input had errors.
    InputErrors,
}

fn exit_code(result: Result<Outcome, CliError>) -> ExitCode {
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::InputErrors) => ExitCode::from(1),
        Err(CliError(message)) => {
            eprintln!("kpsim: {message}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Endpoints(args) => endpoints::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::Trace(args) => trace::run(&args),
    };
    exit_code(result)
}
