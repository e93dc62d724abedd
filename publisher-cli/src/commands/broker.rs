//! `trustpub exec`, `trustpub exchange` and `trustpub revoke`: the broker for crates.io,
//! RubyGems.org and NuGet.org.
//!
//! `exec` trades the job's ID token for the registry's credential, runs the command with only
//! the registry's native variable added to its environment (never on its command line, never
//! printed, masked on GitHub Actions), forwards SIGINT, SIGTERM and SIGHUP to it, revokes the
//! credential when it ends whatever its status (crates.io), and exits with its status. A
//! refused exchange exits 3 with the explanation, and the command never runs.
//!
//! `exchange` hands the credential to later steps (`--format json|env|github-output`, written
//! to `$GITHUB_OUTPUT` or `--output FILE` with mode 0600, or to stdout, never to a terminal
//! without `--reveal`); `revoke` is the matching cleanup step.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use oidc_core::ci::{EventPolicy, MaskSink};
use oidc_core::{Credential, Secret, Session};
use registry_exchange::{BrokerExchange, BrokerOptions, RegistryKind, SetupError};

use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// The registry and how to reach it: what `exec`, `exchange` and `revoke` share.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// The registry: `crates-io`, `rubygems` or `nuget` (also `crates.io`, `rubygems.org`,
    /// `nuget.org`).
    #[arg(value_name = "REGISTRY", value_parser = parse_registry)]
    pub registry: RegistryKind,

    /// The registry's URL (default: the public registry). crates.io derives the audience from it.
    #[arg(long, value_name = "URL")]
    pub registry_url: Option<String>,
}

/// What the exchanging commands take.
#[derive(Debug, Clone, Args)]
pub struct ExchangeArgs {
    /// The registry and its URL.
    #[command(flatten)]
    pub target: RegistryArgs,

    /// The audience to request (default: the registry's: `crates.io`, `rubygems.org`,
    /// `https://www.nuget.org`).
    #[arg(long, value_name = "AUDIENCE")]
    pub audience: Option<String>,

    /// The registry account that owns the trust policy (NuGet: required; the nuget.org
    /// profile name, not an organization).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Allow minting from a `pull_request` run (never from `pull_request_target`).
    #[arg(long)]
    pub allow_pull_request: bool,
}

/// `trustpub exec REGISTRY [...] -- CMD [ARGS...]`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The registry and the exchange.
    #[command(flatten)]
    pub exchange: ExchangeArgs,

    /// The command to run with the credential in the registry's variable.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// How `trustpub exchange` writes the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialFormat {
    /// `{"schema":"trustpub.credential/v1","registry",…,"variable","token","expires_at"}`.
    Json,
    /// `VARIABLE=token`, for `set -a; . file`.
    Env,
    /// `token=…`, `variable=…`, `expires-at=…` lines for `$GITHUB_OUTPUT`.
    GithubOutput,
}

/// `trustpub exchange REGISTRY [...]`.
#[derive(Debug, Args)]
pub struct ExchangeCommandArgs {
    /// The registry and the exchange.
    #[command(flatten)]
    pub exchange: ExchangeArgs,

    /// What to write.
    #[arg(long, value_enum, default_value = "json")]
    pub format: CredentialFormat,

    /// Write to this file (created with mode 0600) instead of stdout (`github-output`: default
    /// `$GITHUB_OUTPUT`, appended to).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print the credential on stdout even when it is a terminal.
    #[arg(long)]
    pub reveal: bool,
}

/// `trustpub revoke REGISTRY`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The registry and its URL.
    #[command(flatten)]
    pub target: RegistryArgs,

    /// Read the credential from stdin instead of the registry's variable
    /// (`CARGO_REGISTRY_TOKEN`).
    #[arg(long)]
    pub token_stdin: bool,
}

fn parse_registry(name: &str) -> Result<RegistryKind, String> {
    RegistryKind::parse(name).ok_or_else(|| {
        let names: Vec<&str> = RegistryKind::ALL.iter().map(|k| k.info().name).collect();
        format!(
            "`{name}` is not a registry the broker knows: use one of {} (PyPI and npm have `trustpub pypi upload` and `trustpub npm publish`)",
            names.join(", ")
        )
    })
}

/// The exchange for the arguments; a missing `--user` or a bad URL is a usage error.
fn broker(
    context: &Context,
    target: &RegistryArgs,
    audience: Option<&str>,
    user: Option<&str>,
) -> Result<BrokerExchange, CliError> {
    let options = BrokerOptions {
        url: target.registry_url.clone(),
        audience: audience.map(str::to_owned),
        user: user.map(str::to_owned),
    };
    BrokerExchange::new(context.http.clone(), target.registry, &options).map_err(|err| match err {
        SetupError::MissingUser { .. } | SetupError::Url(_) => CliError::Usage(err.to_string()),
    })
}

/// The event policy (the refusals cannot be switched off; `--allow-pull-request` is accepted
/// for compatibility and says it has no effect).
fn policy(args: &ExchangeArgs, printer: &Printer) -> EventPolicy {
    if args.allow_pull_request {
        printer.info(
            "note: --allow-pull-request has no effect: same-repository pull_request runs may publish (with a warning), pull_request_target never",
        );
    }
    EventPolicy
}

/// Minutes until `credential` expires, for messages.
fn lifetime(credential: &Credential) -> String {
    credential
        .expires_at
        .and_then(|at| at.duration_since(SystemTime::now()).ok())
        .map_or_else(
            || "unknown expiry".to_owned(),
            |left| format!("expires in {} min", left.as_secs().div_ceil(60)),
        )
}

/// Runs `trustpub exec`: the child's exit status is the result (128 + N when a signal ended it).
pub async fn exec(args: &ExecArgs, context: &Context, printer: &Printer) -> Result<u8, CliError> {
    let exchange_args = &args.exchange;
    let kind = exchange_args.target.registry;
    let info = kind.info();
    let exchange = broker(
        context,
        &exchange_args.target,
        exchange_args.audience.as_deref(),
        exchange_args.user.as_deref(),
    )?;
    let Some((program, program_args)) = args.command.split_first() else {
        return Err(CliError::Usage(
            "give the command to run after `--`".to_owned(),
        ));
    };
    let detector = context.detector();
    let session = Session::new(
        &detector,
        &exchange,
        policy(exchange_args, printer),
        printer as &dyn MaskSink,
    );
    let obtained = session.credential().await?;
    let shown = program.to_string_lossy();
    printer.status(
        "Exchanged",
        &format!(
            "a {} credential ({}); running `{shown}` with it in {}",
            info.display,
            lifetime(&obtained.credential),
            info.variable
        ),
    );
    let mut command = tokio::process::Command::new(program);
    command
        .args(program_args)
        .env(info.variable, obtained.credential.secret.expose());
    let status = run_forwarding_signals(command, printer).await;
    // The child has ended (or never started): the credential goes, whatever happened.
    finish(session, kind, printer).await;
    match status {
        Ok(status) => Ok(exit_code(status, &shown, printer)),
        Err(err) => {
            let code = if err.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            printer.error(
                "Command failed to start",
                &format!("cannot run `{shown}`: {err}"),
            );
            Ok(code)
        }
    }
}

/// Revokes what the session minted (crates.io), saying so; a failure is a warning.
async fn finish(session: Session<'_, BrokerExchange>, kind: RegistryKind, printer: &Printer) {
    let failures = session.finish().await;
    for failure in &failures {
        printer.warning(
            "Revocation failed",
            &format!(
                "{} (it expires by itself within {} minutes)",
                failure.error,
                kind.info().lifetime.as_secs() / 60
            ),
        );
    }
    if kind.info().revocable && failures.is_empty() {
        printer.status(
            "Revoked",
            &format!("the {} credential", kind.info().display),
        );
    }
}

/// The shell's convention: the child's code, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus, shown: &str, printer: &Printer) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            printer.info(&format!("`{shown}` was ended by signal {signal}"));
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    let _ = (shown, printer);
    1
}

/// Runs the command to its end, passing on the signals a runner or a shell sends to stop a
/// job. The handlers are in place before the command starts, so no signal can end trustpub
/// (and skip the revocation) while the command runs.
#[cfg(unix)]
async fn run_forwarding_signals(
    mut command: tokio::process::Command,
    printer: &Printer,
) -> std::io::Result<std::process::ExitStatus> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use tokio::signal::unix::{SignalKind, signal};

    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut child = command.spawn()?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    loop {
        let received = tokio::select! {
            status = child.wait() => return status,
            _ = interrupt.recv() => Signal::SIGINT,
            _ = terminate.recv() => Signal::SIGTERM,
            _ = hangup.recv() => Signal::SIGHUP,
        };
        printer.info(&format!("Passing {received} on to the command"));
        if let Some(pid) = pid {
            let _ = kill(pid, received);
        }
    }
}

/// Runs the command to its end (Ctrl+C reaches the whole console group on Windows by itself).
#[cfg(not(unix))]
async fn run_forwarding_signals(
    mut command: tokio::process::Command,
    _printer: &Printer,
) -> std::io::Result<std::process::ExitStatus> {
    command.spawn()?.wait().await
}

/// Runs `trustpub exchange`.
pub async fn exchange(
    args: &ExchangeCommandArgs,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    let exchange_args = &args.exchange;
    let kind = exchange_args.target.registry;
    let info = kind.info();
    // Where it goes is settled before anything is minted.
    let destination = destination(args, context)?;
    let exchange = broker(
        context,
        &exchange_args.target,
        exchange_args.audience.as_deref(),
        exchange_args.user.as_deref(),
    )?;
    let obtained = oidc_core::obtain(
        &context.detector(),
        &exchange,
        &policy(exchange_args, printer),
        printer as &dyn MaskSink,
    )
    .await?;
    let credential = &obtained.credential;
    let text = render(kind, credential, args.format);
    match &destination {
        Destination::Stdout => {
            for line in text.lines() {
                printer.data(line);
            }
        }
        Destination::File { path, append } => {
            write_private(path, &text, *append).map_err(|err| {
                CliError::Internal(format!(
                    "cannot write the credential to {}: {err}",
                    path.display()
                ))
            })?;
        }
    }
    let place = match &destination {
        Destination::Stdout => "stdout".to_owned(),
        Destination::File { path, .. } => path.display().to_string(),
    };
    printer.status(
        "Exchanged",
        &format!(
            "a {} credential ({}), written to {place}{}",
            info.display,
            lifetime(credential),
            if info.revocable {
                format!("; revoke it when done: trustpub revoke {}", info.name)
            } else {
                String::new()
            }
        ),
    );
    Ok(Outcome::Success)
}

enum Destination {
    Stdout,
    File { path: PathBuf, append: bool },
}

fn destination(args: &ExchangeCommandArgs, context: &Context) -> Result<Destination, CliError> {
    if let Some(path) = &args.output {
        return Ok(Destination::File {
            path: path.clone(),
            append: args.format == CredentialFormat::GithubOutput,
        });
    }
    if args.format == CredentialFormat::GithubOutput {
        return match context.env.non_empty("GITHUB_OUTPUT") {
            Some(path) => Ok(Destination::File {
                path: PathBuf::from(path),
                append: true,
            }),
            None => Err(CliError::Usage(
                "--format github-output writes to $GITHUB_OUTPUT, which is not set: run it in a GitHub Actions step or pass --output FILE".to_owned(),
            )),
        };
    }
    if std::io::stdout().is_terminal() && !args.reveal {
        return Err(CliError::Usage(
            "refusing to print a registry credential on a terminal: pass --output FILE, pipe it to the program that needs it, or add --reveal".to_owned(),
        ));
    }
    Ok(Destination::Stdout)
}

/// The credential in the chosen format (one line per value; nothing here is ever logged).
fn render(kind: RegistryKind, credential: &Credential, format: CredentialFormat) -> String {
    let info = kind.info();
    let token = credential.secret.expose();
    let expires = credential.expires_at.and_then(|at| {
        let secs = at.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
        let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()?;
        at.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    match format {
        CredentialFormat::Json => serde_json::json!({
            "schema": "trustpub.credential/v1",
            "registry": info.name,
            "variable": info.variable,
            "token": token,
            "expires_at": expires,
            "revocable": info.revocable,
        })
        .to_string(),
        CredentialFormat::Env => format!("{}={token}\n", info.variable),
        CredentialFormat::GithubOutput => {
            let mut text = format!("token={token}\nvariable={}\n", info.variable);
            if let Some(expires) = expires {
                text.push_str(&format!("expires-at={expires}\n"));
            }
            text
        }
    }
}

/// Writes (or appends) `text` to a file only its owner can read.
fn write_private(path: &Path, text: &str, append: bool) -> std::io::Result<()> {
    let mut options = fs_err::OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    if !append {
        use std::os::unix::fs::PermissionsExt;
        file.file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    file.flush()
}

/// Runs `trustpub revoke`.
pub async fn revoke(
    args: &RevokeArgs,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    let kind = args.target.registry;
    let info = kind.info();
    let token = Secret::new(if args.token_stdin {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .map_err(|err| CliError::Usage(format!("--token-stdin: cannot read stdin: {err}")))?;
        text.trim().to_owned()
    } else {
        context.env.non_empty(info.variable).unwrap_or_default()
    });
    if token.is_empty() {
        return Err(CliError::Usage(format!(
            "no credential to revoke: set {} or pass it on stdin with --token-stdin",
            info.variable
        )));
    }
    printer.mask(token.expose());
    if !info.revocable {
        printer.info(&format!(
            "{} has no endpoint to revoke trusted-publishing credentials: this one expires by itself within {} minutes. Nothing to do",
            info.display,
            info.lifetime.as_secs() / 60
        ));
        return Ok(Outcome::Success);
    }
    // NuGet's user is not needed to revoke, and only crates.io gets here.
    let exchange = broker(context, &args.target, None, Some("-"))?;
    let credential = Credential {
        secret: token,
        expires_at: None,
        scope: String::new(),
    };
    exchange
        .revoke_token(&credential)
        .await
        .map_err(|err| CliError::Exchange(Box::new(err)))?;
    printer.status("Revoked", &format!("the {} credential", info.display));
    Ok(Outcome::Success)
}
