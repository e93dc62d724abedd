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

    /// The overall deadline, in seconds, of each API request (token, exchange, index lookups),
    /// on top of the read timeout: a server that answers one byte at a time cannot hold the
    /// job longer. Uploads have a deadline of an hour.
    #[arg(long, value_name = "SECONDS", global = true, env = "TRUSTPUB_HTTP_TIMEOUT", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_timeout: u64,

    /// An OIDC ID token in a file, for CI systems trustpub cannot ask for one itself. Used for
    /// requests of the audience it is for; everything else is asked of the CI.
    #[arg(long, value_name = "FILE", global = true)]
    pub id_token_file: Option<std::path::PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch an ambient OIDC ID token and show its claims (for debugging a CI setup).
    Token(TokenArgs),
    /// Publish to PyPI (or any index with the legacy upload API).
    #[command(subcommand)]
    Pypi(PypiCommand),
    /// Publish to npm (or any registry with npm's publish API).
    #[command(subcommand)]
    Npm(NpmCommand),
    /// Check wheels, sdists and npm tarballs against their Sigstore attestations for an
    /// expected identity, as a consumer would.
    Verify(VerifyArgs),
    /// Diagnose trusted publishing: compare this job's token with what the registry matches on,
    /// print the trusted-publisher form values, try the exchange and say what to change.
    #[command(subcommand)]
    Doctor(crate::commands::doctor::DoctorCommand),
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

/// Which Sigstore instance signs, and the trust root bundles are verified against. Every
/// signing or verifying command takes these.
#[derive(Debug, Clone, Args)]
pub struct SigstoreArgs {
    /// Fulcio, the certificate authority (a private instance, or the testbed).
    #[arg(long, value_name = "URL", default_value = oidc_core::sigstore::PUBLIC_GOOD_FULCIO)]
    pub fulcio_url: String,

    /// Rekor, the transparency log (v1 API).
    #[arg(long, value_name = "URL", default_value = oidc_core::sigstore::PUBLIC_GOOD_REKOR)]
    pub rekor_url: String,

    /// The `trusted_root.json` to verify bundles against (default: the public-good root, built
    /// in). Required with a custom --fulcio-url or --rekor-url.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<std::path::PathBuf>,
}

/// Options every publishing command takes: which events may publish, whether to stop before
/// the point of no return, and the Sigstore instance that signs.
#[derive(Debug, Clone, Args)]
pub struct PublishRunArgs {
    /// Accepted for compatibility, no effect: same-repository `pull_request` runs may publish
    /// (with a warning); `pull_request_target` never.
    #[arg(long)]
    pub allow_pull_request: bool,

    /// Do everything up to the point of no return (token, exchange, validation, the plan) and
    /// stop: nothing is signed, uploaded or published, and a minted PyPI token is revoked.
    #[arg(long, visible_alias = "dry_run")]
    pub dry_run: bool,

    /// Sigstore instance and trust root for attestations and provenance.
    #[command(flatten)]
    pub sigstore: SigstoreArgs,
}

/// `trustpub demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the simulated services running afterwards and print how to reach them.
    #[arg(long)]
    pub keep_running: bool,
}

/// `trustpub pypi …`.
#[derive(Debug, Subcommand)]
pub enum PypiCommand {
    /// Upload wheels and sdists: trusted publishing by default, a token with --password.
    Upload(PypiUploadArgs),
}

/// Parses a boolean the way gh-action-pypi-publish does: anything but `false` is true.
fn action_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "false" | "0" | "no" | "off" => Ok(false),
        "true" | "1" | "yes" | "on" | "" => Ok(true),
        other => Err(format!("`{other}` is not a boolean: use true or false")),
    }
}

/// `trustpub pypi upload`: the inputs of gh-action-pypi-publish, as flags.
#[derive(Debug, Args)]
pub struct PypiUploadArgs {
    /// Distributions or directories to upload (default: --packages-dir).
    #[arg(value_name = "PATHS")]
    pub paths: Vec<std::path::PathBuf>,

    /// The upload URL (`https://test.pypi.org/legacy/` for TestPyPI).
    #[arg(long, visible_alias = "repository_url", env = "TWINE_REPOSITORY_URL", default_value = pypi_exchange::index::PYPI_UPLOAD_URL)]
    pub repository_url: String,

    /// The directory holding the distributions.
    #[arg(long, visible_alias = "packages_dir", default_value = "dist")]
    pub packages_dir: std::path::PathBuf,

    /// Username for token or password uploads (`__token__` for API tokens).
    #[arg(long, env = "TWINE_USERNAME", default_value = "__token__")]
    pub user: String,

    /// Password or API token: turns trusted publishing off. Prefer trusted publishing; on the
    /// command line other processes can read it: prefer TWINE_PASSWORD or --password-stdin.
    #[arg(long, env = "TWINE_PASSWORD", hide_env_values = true, value_parser = crate::trust::secret_arg)]
    pub password: Option<oidc_core::Secret>,

    /// Read the password or API token from standard input.
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,

    /// The audience this index may ask for, when it is the audience of another service
    /// (`pypi` on a mirror of PyPI's API): without it such an index is refused, so it cannot
    /// collect a token for PyPI, Sigstore or a cloud. pypi.org and test.pypi.org always get
    /// exactly their own (`pypi`, `testpypi`).
    #[arg(long, value_name = "AUDIENCE", env = "TRUSTPUB_PYPI_AUDIENCE")]
    pub audience: Option<String>,

    /// Check every distribution's metadata and description before uploading.
    #[arg(long, visible_alias = "verify_metadata", value_parser = action_bool, num_args = 0..=1, default_value = "true", default_missing_value = "true", action = clap::ArgAction::Set)]
    pub verify_metadata: bool,

    /// Skip files the index already has with the same hash; fail on a same-named different file.
    #[arg(long, visible_alias = "skip_existing", value_parser = action_bool, num_args = 0..=1, default_value = "false", default_missing_value = "true", action = clap::ArgAction::Set)]
    pub skip_existing: bool,

    /// Print each file's SHA-256 in the results.
    #[arg(long, visible_alias = "print_hash", value_parser = action_bool, num_args = 0..=1, default_value = "true", default_missing_value = "true", action = clap::ArgAction::Set)]
    pub print_hash: bool,

    /// Generate and upload PEP 740 attestations. Default: on with trusted publishing to PyPI or
    /// TestPyPI, where existing `<dist>.publish.attestation` files are uploaded.
    #[arg(long, value_parser = action_bool, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub attestations: Option<bool>,

    /// Files in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// Options every publishing command takes.
    #[command(flatten)]
    pub run: PublishRunArgs,
}

/// `trustpub npm …`.
#[derive(Debug, Subcommand)]
pub enum NpmCommand {
    /// Publish `npm pack` tarballs: one OIDC exchange and one PUT per package.
    Publish(NpmPublishArgs),
}

/// `--access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessArg {
    /// Anyone can install it.
    Public,
    /// Only the scope's members (scoped packages only).
    Restricted,
}

/// `trustpub npm publish`.
#[derive(Debug, Args)]
pub struct NpmPublishArgs {
    /// Tarballs made by `npm pack`, or directories holding them (default: the current directory).
    #[arg(value_name = "TARBALLS|DIR")]
    pub paths: Vec<std::path::PathBuf>,

    /// The registry.
    #[arg(long, env = "NPM_CONFIG_REGISTRY", default_value = npm_exchange::registry::NPMJS_REGISTRY)]
    pub registry: String,

    /// The dist-tag (default `latest`, or `publishConfig.tag`).
    #[arg(long)]
    pub tag: Option<String>,

    /// Package access (default: `publishConfig.access`, else the registry's default).
    #[arg(long, value_enum)]
    pub access: Option<AccessArg>,

    /// Require a signed SLSA provenance statement (the default with trusted publishing when
    /// the repository is public, `repository.url` matches it and the runner is GitHub-hosted;
    /// with this flag an unmet condition is an error instead of a notice).
    #[arg(long, overrides_with = "no_provenance")]
    pub provenance: bool,

    /// Publish without provenance.
    #[arg(long, overrides_with = "provenance")]
    pub no_provenance: bool,

    /// Attach this existing Sigstore bundle as the provenance (its subject must match the
    /// tarball) instead of signing a new one. One package only.
    #[arg(long, value_name = "BUNDLE", conflicts_with = "no_provenance")]
    pub provenance_file: Option<std::path::PathBuf>,

    /// A registry token instead of trusted publishing (for registries without OIDC). Prefer
    /// trusted publishing.
    #[arg(long, env = "NODE_AUTH_TOKEN", hide_env_values = true, value_parser = crate::trust::secret_arg)]
    pub token: Option<oidc_core::Secret>,

    /// Read the registry token from standard input.
    #[arg(long, conflicts_with = "token")]
    pub token_stdin: bool,

    /// Options every publishing command takes.
    #[command(flatten)]
    pub run: PublishRunArgs,
}

/// `trustpub verify`: check artifacts against their Sigstore attestations, as a consumer would.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Wheels and sdists (checked against `<file>.publish.attestation`) or npm tarballs
    /// (checked against `<file>.sigstore.json`, or --bundle).
    #[arg(value_name = "ARTIFACTS", required = true)]
    pub artifacts: Vec<std::path::PathBuf>,

    /// The attestation or bundle to use (only with one artifact).
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<std::path::PathBuf>,

    /// The repository that must have built it (`owner/name`).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: String,

    /// The workflow file that must have run (`release.yml`).
    #[arg(long, value_name = "FILE")]
    pub workflow: String,

    /// The git ref it must have been built from (`refs/tags/v1.0.0`, or `v1.0.0`).
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,

    /// The OIDC issuer of the signing identity.
    #[arg(long, value_name = "URL", default_value = oidc_core::claims::GITHUB_ISSUER)]
    pub issuer: String,

    /// The `trusted_root.json` to verify against (default: the public-good root, built in).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<std::path::PathBuf>,
}
