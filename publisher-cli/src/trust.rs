//! Secrets from the command line and stdin, and the event policy of publishing commands.

use std::io::Read;

use clap::ArgMatches;
use clap::parser::ValueSource;
use oidc_core::Secret;
use oidc_core::ci::EventPolicy;

use crate::cli::{Cli, Command, NpmCommand, PublishRunArgs, PypiCommand};
use crate::error::CliError;
use crate::output::Printer;

/// Parses a secret flag straight into [`Secret`], so the value never sits in a `String` of
/// a `Debug`-deriving struct.
pub fn secret_arg(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// Reads `--password-stdin` / `--token-stdin` and warns about a secret given on the command
/// line (where `ps` and the shell history show it).
pub fn complete_secrets(
    cli: &mut Cli,
    matches: &ArgMatches,
    printer: &Printer,
) -> Result<(), CliError> {
    let (flag, env, stdin_flag, sub, slot, from_stdin) = match &mut cli.command {
        Command::Pypi(PypiCommand::Upload(args)) => (
            "--password",
            "TWINE_PASSWORD",
            "--password-stdin",
            matches
                .subcommand_matches("pypi")
                .and_then(|m| m.subcommand_matches("upload")),
            &mut args.password,
            args.password_stdin,
        ),
        Command::Npm(NpmCommand::Publish(args)) => (
            "--token",
            "NODE_AUTH_TOKEN",
            "--token-stdin",
            matches
                .subcommand_matches("npm")
                .and_then(|m| m.subcommand_matches("publish")),
            &mut args.token,
            args.token_stdin,
        ),
        _ => return Ok(()),
    };
    let id = flag.trim_start_matches("--");
    if sub.and_then(|m| m.value_source(id)) == Some(ValueSource::CommandLine) {
        printer.warning(
            "Secret on the command line",
            &format!(
                "{flag} was given on the command line, where other processes (`ps`) and the shell history can read it: pass it in {env} or with {stdin_flag}"
            ),
        );
    }
    if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .map_err(|err| CliError::Usage(format!("{stdin_flag}: cannot read stdin: {err}")))?;
        let value = text.trim_end_matches(['\r', '\n']);
        if value.is_empty() {
            return Err(CliError::Usage(format!(
                "{stdin_flag}: stdin held no secret (pipe the token in: `printf %s \"$TOKEN\" | trustpub ... {stdin_flag}`)"
            )));
        }
        *slot = Some(Secret::new(value));
    }
    Ok(())
}

impl PublishRunArgs {
    /// The event policy. `--allow-pull-request` is accepted and has no effect any more.
    pub fn event_policy(&self, printer: &Printer) -> EventPolicy {
        if self.allow_pull_request {
            printer.info(
                "note: --allow-pull-request has no effect: same-repository pull_request runs may publish (with a warning), pull_request_target never",
            );
        }
        EventPolicy
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use crate::cli::{Cli, Command, PypiCommand};

    #[test]
    fn a_password_flag_lands_in_a_secret_and_never_in_debug() {
        let matches = Cli::command()
            .try_get_matches_from([
                "trustpub",
                "pypi",
                "upload",
                "--password",
                "pypi-hunter2-very-secret",
            ])
            .unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let Command::Pypi(PypiCommand::Upload(args)) = &cli.command else {
            panic!("not pypi upload");
        };
        assert_eq!(
            args.password.as_ref().unwrap().expose(),
            "pypi-hunter2-very-secret"
        );
    }
}
