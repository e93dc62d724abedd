//! `trustpub`: publish to PyPI and npm from CI with OpenID Connect trusted publishing.
//!
//! This binary only wires the libraries: it parses arguments, builds the context, runs one
//! command and maps its result to a documented exit code. All output goes through
//! [`output::Printer`].

mod cli;
mod commands;
mod context;
mod error;
mod exit;
mod flags;
mod output;
mod progress;
mod shared;
mod trust;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, NpmCommand, PypiCommand};
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

fn main() -> ExitCode {
    let mut command = flags::with_boolean_spellings(Cli::command());
    command.build();
    let args = flags::join_boolean_values(&command, std::env::args_os().collect());
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            // --help and --version are not errors; everything else clap rejects is usage.
            let outcome = if err.use_stderr() {
                Outcome::Usage
            } else {
                Outcome::Success
            };
            let _ = err.print();
            return outcome.into();
        }
    };
    init_logging(cli.global.verbose);
    let printer = Printer::from_process(cli.global.quiet);
    if let Err(err) = trust::complete_secrets(&mut cli, &matches, &printer) {
        printer.error(err.title(), &err.to_string());
        return err.outcome().into();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            printer.error(
                "Internal error",
                &format!("cannot start the async runtime: {err}"),
            );
            return Outcome::Internal.into();
        }
    };
    if let Command::Exec(args) = &cli.command {
        // `exec` exits with the command's own status, which no Outcome names.
        let result = runtime.block_on(async {
            let context = process_context(&cli)?;
            commands::broker::exec(args, &context, &printer).await
        });
        return match result {
            Ok(code) => ExitCode::from(code),
            Err(err) => {
                printer.error(err.title(), &err.to_string());
                err.outcome().into()
            }
        };
    }
    match runtime.block_on(run(&cli, &printer)) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            printer.error(err.title(), &err.to_string());
            err.outcome().into()
        }
    }
}

async fn run(cli: &Cli, printer: &Printer) -> Result<Outcome, CliError> {
    match &cli.command {
        Command::Demo(args) => commands::demo::run(args, printer).await,
        Command::Pypi(PypiCommand::Upload(args)) => {
            let context = process_context(cli)?;
            commands::pypi::upload(args, &context, printer).await
        }
        Command::Npm(NpmCommand::Publish(args)) => {
            let context = process_context(cli)?;
            commands::npm::publish(args, &context, printer).await
        }
        Command::Doctor(command) => {
            let context = process_context(cli)?;
            commands::doctor::run(command, &context, printer).await
        }
        Command::Token(args) => {
            let context = process_context(cli)?;
            commands::token::run(args, &context, printer).await
        }
        Command::Verify(args) => commands::verify::run(args, printer).await,
        Command::Audit(args) => {
            let context = process_context(cli)?;
            commands::audit::run(args, &context, printer).await
        }
        Command::Init(args) => commands::init::run(args, printer).await,
        Command::Exec(_) => Err(CliError::Internal(
            "`exec` is run before the other commands".to_owned(),
        )),
        Command::Exchange(args) => {
            let context = process_context(cli)?;
            commands::broker::exchange(args, &context, printer).await
        }
        Command::Revoke(args) => {
            let context = process_context(cli)?;
            commands::broker::revoke(args, &context, printer).await
        }
    }
}

/// The context of a real run: the process environment.
fn process_context(cli: &Cli) -> Result<Context, CliError> {
    let config = oidc_core::HttpConfig {
        extra_ca_files: cli.global.ca_file.clone(),
        request_deadline: std::time::Duration::from_secs(cli.global.http_timeout),
        ..oidc_core::HttpConfig::default()
    };
    Ok(
        Context::with_config(Arc::new(oidc_core::ProcessEnv), &config)?
            .with_id_token_file(cli.global.id_token_file.clone()),
    )
}

/// Logs go to stderr. `-v` shows trustpub's info, `-vv` debug, `-vvv` trace (and debug for the
/// libraries underneath). `TRUSTPUB_LOG` takes a full filter instead.
fn init_logging(verbose: u8) {
    let filter = std::env::var("TRUSTPUB_LOG").ok().filter(|f| !f.is_empty()).unwrap_or_else(|| {
        let ours = match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let deps = if verbose >= 3 { "debug" } else { "warn" };
        format!("{deps},trustpub={ours},oidc_core={ours},pypi_exchange={ours},npm_exchange={ours},registry_exchange={ours},testbed={ours}")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(output::log_writer)
        // The log writer escapes control characters, so no color codes in logs.
        .with_ansi(false)
        .with_target(verbose >= 2)
        .without_time()
        .try_init();
}
