//! The command line, as clap sees it.

use clap::{Args, Parser, Subcommand};

use crate::exit;

/// Publish to PyPI and npm from CI with OpenID Connect trusted publishing: no stored secret.
#[derive(Debug, Parser)]
#[command(
    name = "trustpub",
    version,
    about,
    long_about = None,
    after_help = exit::help_table(),
    propagate_version = true,
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output (-v info, -vv debug, -vvv trace). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors and data.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Extra CA certificates (PEM) to trust, on top of the platform's and `SSL_CERT_FILE`.
    #[arg(long, value_name = "PEM", global = true)]
    pub ca_file: Vec<std::path::PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch an ambient OIDC ID token and show its claims (for debugging a CI setup).
    Token(TokenArgs),
    /// Run the whole flow against a built-in simulation of GitHub, PyPI and npm: no CI, no
    /// network, nothing to set up.
    Demo(DemoArgs),
}

/// `trustpub token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The audience to request (`pypi`, `testpypi`, `npm:registry.npmjs.org`, `sigstore`).
    #[arg(long)]
    pub audience: String,

    /// Print every claim as JSON on stdout.
    #[arg(long)]
    pub claims: bool,

    /// Print the raw token on stdout. It is a credential: it is masked first on GitHub Actions.
    #[arg(long)]
    pub reveal: bool,

    /// A variable holding a ready-made token for this audience (`NPM_ID_TOKEN`), checked first.
    #[arg(long, value_name = "NAME")]
    pub token_variable: Option<String>,
}

/// `trustpub demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the simulated services running afterwards and print how to reach them.
    #[arg(long)]
    pub keep_running: bool,
}
