//! `cargo xtask serve`: install what is missing, then `trunk serve` the playground on
//! 127.0.0.1, offline, until interrupted.

use std::path::Path;

use crate::Result;
use crate::install::Installer;
use crate::process::Env;
use crate::step::Steps;

/// Flags of `serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub port: u16,
    /// Serve an optimised build (slower to build, the size users get).
    pub release: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options { port: 8080, release: false };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--release" => options.release = true,
                "--port" => {
                    let value = args.next().ok_or("--port needs a number")?;
                    options.port =
                        value.parse().map_err(|_| format!("--port {value}: not a port number"))?;
                }
                other => match other.strip_prefix("--port=") {
                    Some(value) => {
                        options.port = value
                            .parse()
                            .map_err(|_| format!("--port={value}: not a port number"))?
                    }
                    None => return Err(format!("serve: unknown argument `{other}`")),
                },
            }
        }
        Ok(options)
    }
}

pub fn run(root: &Path, options: &Options) -> Result {
    let env = Env::new(root);
    let mut steps = Steps::new();
    Installer::new(&env).for_web(&mut steps)?;
    steps.run("cargo fetch --locked", || {
        env.run(env.command("cargo").args(["fetch", "--locked"]))
    })?;
    steps.summary();
    println!(
        "\nserving the playground on http://127.0.0.1:{}/ once built (Ctrl-C stops)\n",
        options.port
    );
    let port = options.port.to_string();
    let mut trunk = env.command("trunk");
    trunk.args([
        "serve",
        "--offline",
        "--locked",
        "--skip-version-check",
        "--address",
        "127.0.0.1",
        "--port",
        &port,
    ]);
    if options.release {
        trunk.arg("--release");
    }
    env.run(&mut trunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn serve_defaults_to_port_8080_debug() {
        assert_eq!(parse(&[]), Ok(Options { port: 8080, release: false }));
    }

    #[test]
    fn serve_reads_port_and_release() {
        assert_eq!(
            parse(&["--port", "9000", "--release"]),
            Ok(Options { port: 9000, release: true })
        );
        assert_eq!(parse(&["--port=9001"]), Ok(Options { port: 9001, release: false }));
        assert!(parse(&["--port", "http"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
