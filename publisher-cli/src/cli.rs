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
    /// Audit publish workflows: triggers, OIDC scope, leftover tokens, pins, environments
    /// (rules: docs/audit.md). Exit 7 when a finding reaches --fail-on.
    Audit(crate::commands::audit::AuditArgs),
    /// Write a hardened publish workflow to .github/workflows/ and print the trusted-publisher
    /// fields to enter on the registry.
    Init(crate::commands::init::InitArgs),
    /// Exchange this job's ID token for a crates.io, RubyGems or NuGet credential and run a
    /// command with it in the registry's variable (`trustpub exec crates-io -- cargo publish`);
    /// exits with the command's status, the credential revoked where the registry can.
    Exec(crate::commands::broker::ExecArgs),
    /// Exchange this job's ID token for a crates.io, RubyGems or NuGet credential and write it
    /// for later steps (`$GITHUB_OUTPUT`, a 0600 file, or stdout).
    Exchange(crate::commands::broker::ExchangeCommandArgs),
    /// Revoke a credential `trustpub exchange` minted (crates.io; the others expire by
    /// themselves).
    Revoke(crate::commands::broker::RevokeArgs),
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

/// Parses a boolean the way gh-action-pypi-publish does (see [`crate::flags`]).
fn action_bool(value: &str) -> Result<bool, String> {
    crate::flags::parse_bool(value)
}

/// `--skip-existing[=true|false|strict]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipExistingArg {
    /// Upload everything (an identical file already there is fine; other bytes are an error).
    Off,
    /// As twine: skip every file whose name the index has, warning loudly when the bytes differ.
    On,
    /// Skip identical files only; other bytes under the same name are an error.
    Strict,
}

fn skip_existing_arg(value: &str) -> Result<SkipExistingArg, String> {
    if value.trim().eq_ignore_ascii_case("strict") {
        return Ok(SkipExistingArg::Strict);
    }
    match action_bool(value) {
        Ok(true) => Ok(SkipExistingArg::On),
        Ok(false) => Ok(SkipExistingArg::Off),
        Err(_) => Err(format!(
            "`{value}` is not a --skip-existing value: use true, false or strict"
        )),
    }
}

/// `trustpub pypi upload`: the inputs of gh-action-pypi-publish, as flags.
#[derive(Debug, Args)]
pub struct PypiUploadArgs {
    /// Distributions or directories to upload (default: --packages-dir).
    #[arg(value_name = "PATHS")]
    pub paths: Vec<std::path::PathBuf>,

    /// The upload URL (default: PyPI's, `https://upload.pypi.org/legacy/`; TestPyPI's is
    /// `https://test.pypi.org/legacy/`). Wins over --repository, as in twine.
    #[arg(long, visible_alias = "repository_url", env = "TWINE_REPOSITORY_URL")]
    pub repository_url: Option<String>,

    /// A repository named in the `.pypirc` (`pypi` and `testpypi` are built in): its upload
    /// URL, username and password, as twine reads them. Flags and environment variables win.
    #[arg(short = 'r', long, value_name = "NAME", env = "TWINE_REPOSITORY")]
    pub repository: Option<String>,

    /// The `.pypirc` to read --repository from (default `~/.pypirc`).
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<std::path::PathBuf>,

    /// The index's simple API, when it cannot be told from the upload URL (used to find files
    /// the index already has).
    #[arg(long, value_name = "URL")]
    pub simple_url: Option<String>,

    /// The directory holding the distributions.
    #[arg(long, visible_alias = "packages_dir", default_value = "dist")]
    pub packages_dir: std::path::PathBuf,

    /// Username for token or password uploads (default `__token__`, for API tokens).
    #[arg(long, visible_alias = "username", short = 'u', env = "TWINE_USERNAME")]
    pub user: Option<String>,

    /// Password or API token: turns trusted publishing off. Prefer trusted publishing; on the
    /// command line other processes can read it: prefer TWINE_PASSWORD or --password-stdin.
    #[arg(long, short = 'p', env = "TWINE_PASSWORD", hide_env_values = true, value_parser = crate::trust::secret_arg)]
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

    /// Skip files the index already has, as twine does: a same-named file with other bytes is
    /// skipped with a warning naming both SHA-256s. `strict` skips identical files only and
    /// fails on other bytes.
    #[arg(long, visible_alias = "skip_existing", value_name = "BOOL|strict", value_parser = skip_existing_arg, num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true", action = clap::ArgAction::Set)]
    pub skip_existing: SkipExistingArg,

    /// Print each file's SHA-256, MD5 and BLAKE2b-256 before uploading (as
    /// gh-action-pypi-publish's `print-hash`), and its SHA-256 in the results.
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

/// A secret straight from the command line: never held as a plain `String`.
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

    /// The registry (default: `publishConfig.registry`, else `NPM_CONFIG_REGISTRY`, else
    /// `registry` in ./.npmrc or ~/.npmrc, else npmjs). As in npm, this flag wins over
    /// `publishConfig.registry`, and an `@scope:registry` line wins over it for scoped packages.
    #[arg(long)]
    pub registry: Option<String>,

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

    /// A registry token, used only where no ID token is available (or with
    /// --no-trusted-publishing). Also read: NODE_AUTH_TOKEN, NPM_TOKEN, then the registry's
    /// `//host/path/:_authToken` line in ./.npmrc or ~/.npmrc (NPM_CONFIG_USERCONFIG).
    #[arg(long, value_parser = crate::trust::secret_arg, hide_default_value = true)]
    pub token: Option<oidc_core::Secret>,

    /// Never exchange an ID token: publish with the configured token (for a first publish,
    /// before the package has a trusted publisher).
    #[arg(long)]
    pub no_trusted_publishing: bool,

    /// Packages in flight at once (each with its own exchange and PUT).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

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
