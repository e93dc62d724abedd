//! `testbed serve`: run the GitHub OIDC issuer, PyPI, npm, crates.io, RubyGems.org, NuGet.org, Fulcio and Rekor
//! simulations until killed, so that real
//! clients (uv, twine, the npm CLI, sigstore-python) can be pointed at them.
//!
//! On start it prints (or writes to `--describe-to`) one JSON object: every URL, the CA file, the Sigstore trust
//! files (`trusted_root.json`, `trust_config.json`), and the GitHub Actions environment a job would see. On SIGTERM or Ctrl-C it writes the records to `--state-file` (if given),
//! stops, and exits 0.
//!
//! Exit codes: 0 after a signal, 1 if the testbed could not start or a file could not be written, 2 for usage
//! errors.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use testbed::{
    CratesIoPublisher, GithubIdentity, NpmConfig, NpmPublisher, NugetPolicy, PypiConfig,
    PypiPublisher, RubygemsPublisher, Testbed, TestbedConfig,
};
use url::Url;

/// Loopback simulations of GitHub's OIDC issuer, PyPI, npm, Fulcio and Rekor, for testing trusted publishing clients.
#[derive(Debug, Parser)]
#[command(name = "testbed", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start every service and run until SIGTERM or Ctrl-C.
    Serve(Serve),
}

#[derive(Debug, Args)]
struct Serve {
    /// Write the JSON description to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    describe_to: Option<PathBuf>,
    /// On exit, write everything recorded (tokens issued, mints, uploads, exchanges, publishes) to this JSON file.
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,

    /// The job's repository (`owner/name`).
    #[arg(long, default_value = "octo-org/octo-repo")]
    repository: String,
    /// The numeric id of the repository owner.
    #[arg(long, default_value_t = 5_050_505)]
    repository_owner_id: u64,
    /// The top-level workflow file name.
    #[arg(long, default_value = "release.yml")]
    workflow: String,
    /// The ref that triggered the run.
    #[arg(long = "ref", default_value = "refs/tags/v1.0.0")]
    git_ref: String,
    /// The job's deployment environment.
    #[arg(long)]
    environment: Option<String>,
    /// The event that triggered the run.
    #[arg(long, default_value = "push")]
    event_name: String,

    /// Register a PyPI trusted publisher: `PROJECT=OWNER/REPO/WORKFLOW[:ENVIRONMENT]` (owner id from
    /// `--repository-owner-id`). Repeatable.
    #[arg(long = "pypi-publisher", value_name = "SPEC")]
    pypi_publishers: Vec<String>,
    /// Register an npm trusted publisher: `PACKAGE=OWNER/REPO/WORKFLOW[:ENVIRONMENT]`. Repeatable.
    #[arg(long = "npm-publisher", value_name = "SPEC")]
    npm_publishers: Vec<String>,
    /// Add a crates.io trusted-publisher config: `CRATE=OWNER/REPO/WORKFLOW[:ENVIRONMENT]` (owner id from
    /// `--repository-owner-id`). Repeatable.
    #[arg(long = "crates-io-publisher", value_name = "SPEC")]
    crates_io_publishers: Vec<String>,
    /// Register a RubyGems.org trusted publisher: `GEM=OWNER/REPO/WORKFLOW[:ENVIRONMENT]`. Repeatable.
    #[arg(long = "rubygems-publisher", value_name = "SPEC")]
    rubygems_publishers: Vec<String>,
    /// Add a NuGet.org trust policy: `USER=OWNER/REPO/WORKFLOW[:ENVIRONMENT]`. Repeatable.
    #[arg(long = "nuget-policy", value_name = "SPEC")]
    nuget_policies: Vec<String>,

    /// The audience PyPI announces (`pypi` or `testpypi`).
    #[arg(long, default_value = "pypi")]
    pypi_audience: String,
    /// The largest file PyPI accepts, in bytes.
    #[arg(long, default_value_t = 100 * 1024 * 1024)]
    pypi_max_file_size: u64,
    /// Forward accepted uploads to this legacy upload URL (e.g. pypiserver's `http://127.0.0.1:8080/`).
    #[arg(long, value_name = "URL")]
    pypi_forward: Option<Url>,
    /// Basic-auth user for `--pypi-forward`.
    #[arg(long, requires = "pypi_forward")]
    pypi_forward_user: Option<String>,
    /// Basic-auth password for `--pypi-forward`.
    #[arg(
        long,
        env = "TESTBED_PYPI_FORWARD_PASSWORD",
        requires = "pypi_forward_user",
        hide_env_values = true
    )]
    pypi_forward_password: Option<String>,
    /// Forward accepted publishes to this registry (e.g. verdaccio's `http://127.0.0.1:4873/`).
    #[arg(long, value_name = "URL")]
    npm_forward: Option<Url>,
    /// Bearer token for `--npm-forward`.
    #[arg(
        long,
        env = "TESTBED_NPM_FORWARD_TOKEN",
        requires = "npm_forward",
        hide_env_values = true
    )]
    npm_forward_token: Option<String>,

    /// Switch on a Sigstore fault for the whole run. Repeatable.
    #[arg(long = "sigstore-fault", value_name = "FAULT")]
    sigstore_faults: Vec<SigstoreFault>,
}

/// A standing Fulcio/Rekor misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SigstoreFault {
    /// Fulcio embeds an SCT no trusted CT key signed.
    BadSct,
    /// Rekor signs SETs and checkpoints with a key outside the trusted root.
    WrongLogKey,
    /// Fulcio issues certificates that expired before they are logged.
    ExpiredCertificate,
}

/// A `NAME=OWNER/REPO/WORKFLOW[:ENVIRONMENT]` publisher spec.
#[derive(Debug, PartialEq, Eq)]
struct PublisherSpec {
    name: String,
    owner: String,
    repo: String,
    workflow: String,
    environment: Option<String>,
}

fn parse_publisher(spec: &str) -> Result<PublisherSpec, String> {
    let usage = || {
        format!(
            "publisher spec {spec:?} should look like NAME=OWNER/REPO/WORKFLOW.yml[:ENVIRONMENT]"
        )
    };
    let (name, rest) = spec.split_once('=').ok_or_else(usage)?;
    let (path, environment) = match rest.split_once(':') {
        Some((path, environment)) if !environment.is_empty() => {
            (path, Some(environment.to_owned()))
        }
        Some(_) => return Err(usage()),
        None => (rest, None),
    };
    let mut parts = path.split('/');
    let (Some(owner), Some(repo), Some(workflow), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(usage());
    };
    if [name, owner, repo, workflow]
        .iter()
        .any(|part| part.is_empty())
    {
        return Err(usage());
    }
    Ok(PublisherSpec {
        name: name.to_owned(),
        owner: owner.to_owned(),
        repo: repo.to_owned(),
        workflow: workflow.to_owned(),
        environment,
    })
}

/// Writes `contents` to `path` through a temporary sibling and a rename, so readers never see half a file.
fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    fs_err::write(&temporary, contents)?;
    fs_err::rename(&temporary, path)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(args: Serve) -> Result<(), String> {
    let pypi_publishers = args
        .pypi_publishers
        .iter()
        .map(|spec| parse_publisher(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let npm_publishers = args
        .npm_publishers
        .iter()
        .map(|spec| parse_publisher(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let parse_all = |specs: &[String]| {
        specs
            .iter()
            .map(|spec| parse_publisher(spec))
            .collect::<Result<Vec<_>, _>>()
    };
    let crates_io_publishers = parse_all(&args.crates_io_publishers)?;
    let rubygems_publishers = parse_all(&args.rubygems_publishers)?;
    let nuget_policies = parse_all(&args.nuget_policies)?;
    let identity = GithubIdentity {
        repository: args.repository,
        repository_owner_id: args.repository_owner_id,
        workflow_file: args.workflow,
        git_ref: args.git_ref,
        environment: args.environment,
        event_name: args.event_name,
        ..GithubIdentity::default()
    };
    let config = TestbedConfig {
        identity,
        pypi: PypiConfig {
            audience: args.pypi_audience,
            max_file_size: args.pypi_max_file_size,
            forward_to: args.pypi_forward,
            forward_auth: args
                .pypi_forward_user
                .map(|user| (user, args.pypi_forward_password.unwrap_or_default())),
            ..PypiConfig::default()
        },
        npm: NpmConfig {
            forward_to: args.npm_forward,
            forward_token: args.npm_forward_token,
            ..NpmConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = Testbed::start(config)
        .await
        .map_err(|error| format!("the testbed could not start: {error}"))?;

    let faults = testbed.sigstore_faults();
    for fault in &args.sigstore_faults {
        match fault {
            SigstoreFault::BadSct => faults.set_bad_sct(true),
            SigstoreFault::WrongLogKey => faults.set_wrong_log_key(true),
            SigstoreFault::ExpiredCertificate => faults.set_expired_certificate(true),
        }
    }

    let owner_id = testbed.identity().repository_owner_id;
    for spec in pypi_publishers {
        let mut publisher = PypiPublisher::new(&spec.owner, &spec.repo, owner_id, &spec.workflow);
        if let Some(environment) = &spec.environment {
            publisher = publisher.with_environment(environment);
        }
        testbed.add_pypi_publisher(&spec.name, publisher);
    }
    for spec in npm_publishers {
        let mut publisher =
            NpmPublisher::github(&format!("{}/{}", spec.owner, spec.repo), &spec.workflow);
        if let Some(environment) = &spec.environment {
            publisher = publisher.with_environment(environment);
        }
        testbed.add_npm_publisher(&spec.name, publisher);
    }
    for spec in crates_io_publishers {
        let publisher = CratesIoPublisher::new(&spec.owner, &spec.repo, owner_id, &spec.workflow)
            .environment(spec.environment.as_deref());
        testbed.add_crates_io_publisher(&spec.name, publisher);
    }
    for spec in rubygems_publishers {
        let publisher = RubygemsPublisher::new(&spec.owner, &spec.repo, &spec.workflow)
            .environment(spec.environment.as_deref());
        testbed.add_rubygems_publisher(&spec.name, publisher);
    }
    for spec in nuget_policies {
        let policy = NugetPolicy::new(&spec.owner, &spec.repo, &spec.workflow)
            .environment(spec.environment.as_deref());
        testbed.add_nuget_policy(&spec.name, policy);
    }

    let description = json!({
        "version": 1,
        "pid": std::process::id(),
        "ca_file": testbed.ca_file(),
        "issuer_url": testbed.issuer_url().to_string(),
        "pypi_url": testbed.pypi_url().to_string(),
        "pypi_upload_url": testbed.pypi_upload_url().to_string(),
        "npm_registry_url": testbed.npm_registry_url().to_string(),
        "npm_audience": testbed.npm_audience(),
        "crates_io_url": testbed.crates_io_url().to_string(),
        "crates_io_index_url": testbed.crates_io_index_url(),
        "crates_io_audience": testbed.crates_io_audience(),
        "rubygems_url": testbed.rubygems_url().to_string(),
        "rubygems_audience": testbed.rubygems_audience(),
        "nuget_url": testbed.nuget_url().to_string(),
        "nuget_audience": testbed.nuget_audience(),
        "fulcio_url": testbed.fulcio_url().to_string(),
        "rekor_url": testbed.rekor_url().to_string(),
        "sigstore_trusted_root": testbed.sigstore_trusted_root_path(),
        "sigstore_trust_config": testbed.sigstore_trust_config_path(),
        "github_env": testbed.github_env(),
    });
    let text = serde_json::to_string_pretty(&description).map_err(|error| error.to_string())?;
    match &args.describe_to {
        Some(path) => write_atomically(path, &text)
            .map_err(|error| format!("could not write the description: {error}"))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{text}")
                .and_then(|()| stdout.flush())
                .map_err(|error| format!("could not print the description: {error}"))?;
        }
    }
    tracing::info!("testbed running; send SIGTERM or Ctrl-C to stop");

    wait_for_signal().await;
    let records = testbed.records();
    let _ = tokio::time::timeout(Duration::from_secs(10), testbed.shutdown()).await;
    if let Some(path) = &args.state_file {
        let text = serde_json::to_string_pretty(&records).map_err(|error| error.to_string())?;
        write_atomically(path, &text)
            .map_err(|error| format!("could not write the state file: {error}"))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "testbed=info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("could not start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let Command::Serve(args) = cli.command;
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publisher_specs() {
        assert_eq!(
            parse_publisher("sampleproject=octo-org/octo-repo/release.yml:pypi").unwrap(),
            PublisherSpec {
                name: "sampleproject".to_owned(),
                owner: "octo-org".to_owned(),
                repo: "octo-repo".to_owned(),
                workflow: "release.yml".to_owned(),
                environment: Some("pypi".to_owned()),
            }
        );
        assert_eq!(
            parse_publisher("@demo/pkg=o/r/publish.yml").unwrap().name,
            "@demo/pkg"
        );
        assert!(parse_publisher("x=o/r").is_err());
        assert!(parse_publisher("x=o/r/w.yml:").is_err());
        assert!(parse_publisher("o/r/w.yml").is_err());
    }

    #[test]
    fn cli_parses() {
        let cli = Cli::try_parse_from([
            "testbed",
            "serve",
            "--npm-publisher",
            "left-pad=o/r/w.yml",
            "--crates-io-publisher",
            "tiny=o/r/w.yml:release",
            "--nuget-policy",
            "octo-user=o/r/w.yml",
            "--describe-to",
            "/tmp/x.json",
            "--sigstore-fault",
            "bad-sct",
            "--sigstore-fault",
            "expired-certificate",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command;
        assert_eq!(args.npm_publishers, ["left-pad=o/r/w.yml"]);
        assert_eq!(args.crates_io_publishers, ["tiny=o/r/w.yml:release"]);
        assert_eq!(args.nuget_policies, ["octo-user=o/r/w.yml"]);
        assert_eq!(
            args.sigstore_faults,
            [SigstoreFault::BadSct, SigstoreFault::ExpiredCertificate]
        );
        assert!(Cli::try_parse_from(["testbed", "serve", "--pypi-forward-user", "u"]).is_err());
    }
}
