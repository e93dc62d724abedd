//! Loopback simulations of the services trustpub talks to: GitHub Actions' OIDC issuer, PyPI (Warehouse), the
//! npm registry, crates.io, RubyGems.org, NuGet.org, and Sigstore (Fulcio and Rekor), each on its own HTTPS origin on `127.0.0.1`, all under one
//! freshly generated TLS CA. Sigstore's own trust material (`trusted_root.json`, `trust_config.json`) is written
//! into the testbed directory; see the `sigstore` module for what is faithful and what is simplified.
//!
//! The testbed is an independent reading of the specs in `shared/reference/` and depends on none of the product
//! crates. It is used in-process by tests and by `trustpub demo`, and as the standalone `testbed` binary by
//! `.ci/run` so that real clients (uv, the npm CLI) can be run against it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), testbed::TestbedError> {
//! use testbed::{PypiPublisher, Testbed, TestbedConfig};
//!
//! let testbed = Testbed::start(TestbedConfig::default()).await?;
//! testbed.add_pypi_publisher("sampleproject", PypiPublisher::new("octo-org", "octo-repo", 5_050_505, "release.yml"));
//! let env = testbed.github_env(); // GITHUB_ACTIONS, ACTIONS_ID_TOKEN_REQUEST_URL, SSL_CERT_FILE, …
//! // … run the client with `env`, upload to `testbed.pypi_upload_url()` …
//! assert_eq!(testbed.records().uploads.len(), 0);
//! testbed.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # crates.io, RubyGems.org and NuGet.org (issue #13)
//!
//! Three more registries, each on its own origin, read from their server code (see the [`cratesio`],
//! [`rubygems`] and [`nuget`] modules for the exact checks and texts):
//!
//! | Registry | Origin | Audience | Set up | What tests can read |
//! |---|---|---|---|---|
//! | crates.io | [`Testbed::crates_io_url`]; cargo index [`Testbed::crates_io_index_url`] (`sparse+https://…/index/`) | [`Testbed::crates_io_audience`] = `127.0.0.1:<port>` (URL minus scheme) | [`Testbed::add_crates_io_publisher`] with [`CratesIoPublisher::new`]`(owner, repo, owner_id, workflow_filename)` `.environment(Option<&str>)` | [`Records::crates_io_exchanges`], [`Records::crates_io_tokens`] (issued, `revoked` flag), [`Records::crates_published`], [`Testbed::crates_io_versions`] |
//! | RubyGems.org | [`Testbed::rubygems_url`] (the `gem push --host`) | [`Testbed::rubygems_audience`] = `rubygems.org` | [`Testbed::add_rubygems_publisher`] with [`RubygemsPublisher::new`]`(owner, repo, workflow_filename)` `.environment(…)` `.repository_owner_id(…)` | [`Records::rubygems_exchanges`], [`Records::rubygems_keys`], [`Records::gems_pushed`], [`Testbed::rubygems_versions`] |
//! | NuGet.org | [`Testbed::nuget_url`] (token API `api/v2/token`, push `api/v2/package`) | [`Testbed::nuget_audience`] = `https://www.nuget.org` | [`Testbed::add_nuget_policy`]`(user, `[`NugetPolicy::new`]`(owner, repo, workflow_filename))` `.environment(…)` `.name(…)` | [`Records::nuget_exchanges`], [`Records::nuget_keys`], [`Records::nuget_pushed`], [`Testbed::nuget_packages`] |
//!
//! Each exchange endpoint has failure knobs ([`Testbed::crates_io_faults`], [`Testbed::rubygems_faults`],
//! [`Testbed::nuget_faults`]: the next N requests answer a chosen 5xx, or 429 with `Retry-After: 1`) for retry
//! tests; injected failures are recorded like refusals.
//!
//! Issued credentials are recorded by the hex SHA-256 of the whole credential (`token_sha256`/`key_sha256`), so a
//! test can check which credential a client used without the testbed keeping secrets in its records. Lifetimes
//! and audiences are set through [`TestbedConfig::crates_io`], [`TestbedConfig::rubygems`] and
//! [`TestbedConfig::nuget`] (a zero lifetime makes every issued credential already expired).
//!
//! To point a real `cargo` at the testbed's crates.io: `CARGO_REGISTRIES_<NAME>_INDEX` =
//! [`Testbed::crates_io_index_url`], `CARGO_HTTP_CAINFO` = [`Testbed::ca_file`], `CARGO_REGISTRIES_<NAME>_TOKEN`
//! = the exchanged token, then `cargo publish --registry <name>`. Trusted-publishing tokens cannot create crates
//! (as on crates.io): [`Testbed::add_crates_io_publisher`] registers the crate as already existing.

pub mod cratesio;
pub mod issuer;
mod jwt;
pub mod npm;
pub mod nuget;
pub mod pypi;
mod records;
mod registry_faults;
pub mod rubygems;
mod server;
mod sigstore;
mod tls;
mod tp_jwt;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use url::Url;

pub use cratesio::{
    CratePublishRecord, CratesIoConfig, CratesIoExchangeRecord, CratesIoPublisher,
    CratesIoTokenRecord, CratesIoVersion,
};
pub use issuer::{
    GITHUB_ISSUER, GithubIdentity, IssuerFault, IssuerFaults, ReusableWorkflow, RunnerEnvironment,
    Visibility,
};
pub use npm::{NpmConfig, NpmPublisher, NpmVersion};
pub use nuget::{
    NugetConfig, NugetExchangeRecord, NugetKeyRecord, NugetPackage, NugetPolicy, NugetPushRecord,
};
pub use pypi::{PypiConfig, PypiFault, PypiFaults, PypiFile, PypiPublisher, PypiRoute};
pub use records::{
    BurnRecord, CertificateRecord, IssuedToken, MintRecord, NpmExchangeRecord, NpmPublishRecord,
    Records, RekorEntryRecord, UploadRecord,
};
pub use registry_faults::RegistryFaults;
pub use rubygems::{
    GemPushRecord, RubygemsConfig, RubygemsExchangeRecord, RubygemsKeyRecord, RubygemsPublisher,
    RubygemsVersion,
};
pub use sigstore::SigstoreFaults;

use cratesio::CratesIoState;
use issuer::IssuerState;
use jwt::TrustedIssuer;
use npm::NpmState;
use nuget::NugetState;
use pypi::PypiState;
use records::Recorder;
use rubygems::RubygemsState;
use server::Listener;
use sigstore::{SigstoreState, TrustFiles};
use tls::TlsMaterial;

/// Why the testbed could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// Creating the testbed's temporary directory or writing a file in it failed.
    #[error("testbed file I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// Generating or loading the CA or server certificate failed.
    #[error("testbed TLS setup failed: {0}")]
    Tls(String),
    /// Generating a key or signing failed.
    #[error("testbed cryptography failed: {0}")]
    Crypto(String),
    /// A listener could not bind `127.0.0.1`.
    #[error("could not bind 127.0.0.1 for the {service} service: {source}")]
    Bind {
        /// Which simulated service.
        service: &'static str,
        /// The socket error.
        source: std::io::Error,
    },
}

/// How to start a [`Testbed`].
#[derive(Debug, Clone, Default)]
pub struct TestbedConfig {
    /// The GitHub job identity tokens are issued for (changeable later with [`Testbed::set_identity`]).
    pub identity: GithubIdentity,
    /// How the simulated PyPI behaves.
    pub pypi: PypiConfig,
    /// How the simulated npm registry behaves.
    pub npm: NpmConfig,
    /// How the simulated crates.io behaves.
    pub crates_io: CratesIoConfig,
    /// How the simulated RubyGems.org behaves.
    pub rubygems: RubygemsConfig,
    /// How the simulated NuGet.org behaves.
    pub nuget: NugetConfig,
}

/// A running testbed: the issuer, PyPI, npm, crates.io, RubyGems.org, NuGet.org, Fulcio and Rekor, each on its own
/// HTTPS port of `127.0.0.1`.
///
/// Dropping it stops every listener; [`Testbed::shutdown`] also waits for in-flight requests.
pub struct Testbed {
    dir: tempfile::TempDir,
    tls: TlsMaterial,
    issuer: Arc<IssuerState>,
    recorder: Recorder,
    pypi: Arc<PypiState>,
    npm: Arc<NpmState>,
    sigstore: Arc<SigstoreState>,
    trust: TrustFiles,
    crates_io: Arc<CratesIoState>,
    rubygems: Arc<RubygemsState>,
    nuget: Arc<NugetState>,
    issuer_listener: Listener,
    pypi_listener: Listener,
    npm_listener: Listener,
    fulcio_listener: Listener,
    rekor_listener: Listener,
    crates_io_listener: Listener,
    rubygems_listener: Listener,
    nuget_listener: Listener,
}

impl Testbed {
    /// Generates the CA and keys and starts every service.
    pub async fn start(config: TestbedConfig) -> Result<Testbed, TestbedError> {
        let dir = tempfile::Builder::new()
            .prefix("trustpub-testbed-")
            .tempdir()?;
        let tls = TlsMaterial::generate(dir.path())?;
        let recorder = Recorder::default();
        let issuer = IssuerState::new(config.identity, recorder.clone())?;
        let issuer_listener = Listener::bind(
            "issuer",
            issuer::router(Arc::clone(&issuer)),
            tls.server_config(),
        )
        .await?;
        issuer.set_base_url(issuer_listener.url());
        let github = TrustedIssuer {
            issuer: GITHUB_ISSUER.to_owned(),
            jwks: serde_json::from_value(issuer.jwks().clone()).map_err(|error| {
                TestbedError::Crypto(format!("the issuer's JWKS does not parse: {error}"))
            })?,
        };

        let sigstore = SigstoreState::new(github.clone(), recorder.clone())?;
        let fulcio_listener = Listener::bind(
            "fulcio",
            sigstore::fulcio_router(Arc::clone(&sigstore)),
            tls.server_config(),
        )
        .await?;
        let rekor_listener = Listener::bind(
            "rekor",
            sigstore::rekor_router(Arc::clone(&sigstore)),
            tls.server_config(),
        )
        .await?;
        sigstore.set_rekor_url(&rekor_listener.url());
        let trust = sigstore.write_trust_files(
            dir.path(),
            &fulcio_listener.url(),
            &rekor_listener.url(),
        )?;

        let pypi = PypiState::new(
            config.pypi,
            github.clone(),
            recorder.clone(),
            dir.path().join("pypi"),
            Arc::clone(&trust.material),
        );
        let pypi_listener =
            Listener::bind("pypi", pypi::router(Arc::clone(&pypi)), tls.server_config()).await?;
        let _ = pypi.base_url.set(pypi_listener.url());

        let crates_io = CratesIoState::new(config.crates_io, github.clone(), recorder.clone());
        let crates_io_listener = Listener::bind(
            "crates.io",
            cratesio::router(Arc::clone(&crates_io)),
            tls.server_config(),
        )
        .await?;
        let _ = crates_io.base_url.set(crates_io_listener.url());

        let rubygems = RubygemsState::new(config.rubygems, github.clone(), recorder.clone());
        let rubygems_listener = Listener::bind(
            "rubygems",
            rubygems::router(Arc::clone(&rubygems)),
            tls.server_config(),
        )
        .await?;
        let _ = rubygems.base_url.set(rubygems_listener.url());

        let nuget = NugetState::new(config.nuget, github.clone(), recorder.clone());
        let nuget_listener = Listener::bind(
            "nuget",
            nuget::router(Arc::clone(&nuget)),
            tls.server_config(),
        )
        .await?;
        let _ = nuget.base_url.set(nuget_listener.url());

        let npm = NpmState::new(
            config.npm,
            github,
            recorder.clone(),
            Arc::clone(&trust.material),
        );
        let npm_listener =
            Listener::bind("npm", npm::router(Arc::clone(&npm)), tls.server_config()).await?;
        let _ = npm.base_url.set(npm_listener.url());

        Ok(Testbed {
            dir,
            tls,
            issuer,
            recorder,
            pypi,
            npm,
            sigstore,
            trust,
            issuer_listener,
            pypi_listener,
            npm_listener,
            fulcio_listener,
            rekor_listener,
            crates_io,
            rubygems,
            nuget,
            crates_io_listener,
            rubygems_listener,
            nuget_listener,
        })
    }

    /// The testbed CA certificate, PEM-encoded: trust it to talk to any of the services.
    pub fn ca_pem(&self) -> &str {
        self.tls.ca_pem()
    }

    /// The file holding [`Testbed::ca_pem`] (inside the testbed's temporary directory).
    pub fn ca_file(&self) -> &Path {
        self.tls.ca_file()
    }

    /// The testbed's temporary directory (CA file, Sigstore trust files, stored uploads).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The issuer's origin, `https://127.0.0.1:<port>/` (discovery at `.well-known/openid-configuration`).
    pub fn issuer_url(&self) -> Url {
        self.issuer_listener.url()
    }

    /// PyPI's origin, `https://127.0.0.1:<port>/` (`_/oidc/audience` and `simple/` live under it).
    pub fn pypi_url(&self) -> Url {
        self.pypi_listener.url()
    }

    /// PyPI's legacy upload endpoint, `https://127.0.0.1:<port>/legacy/`.
    pub fn pypi_upload_url(&self) -> Url {
        let mut url = self.pypi_listener.url();
        url.set_path("/legacy/");
        url
    }

    /// Registers a GitHub trusted publisher for `project` on PyPI (creating the project if it does not exist).
    /// Registering the same publisher on several projects makes its tokens valid for all of them.
    pub fn add_pypi_publisher(&self, project: &str, publisher: PypiPublisher) {
        self.pypi.add_publisher(project, publisher);
    }

    /// Registers a pending publisher: its first successful mint creates `project` (or fails with
    /// `invalid-pending-publisher` if the project exists by then).
    pub fn add_pypi_pending_publisher(&self, project: &str, publisher: PypiPublisher) {
        self.pypi.add_pending_publisher(project, publisher);
    }

    /// Creates an empty project on PyPI without any publisher.
    pub fn add_pypi_project(&self, project: &str) {
        self.pypi.add_project(project);
    }

    /// PyPI's failure knobs (status codes, `Retry-After`, HTML pages, truncated JSON, broken
    /// connections, slow answers, expiring tokens) for the mint, burn and upload routes.
    pub fn pypi_faults(&self) -> PypiFaults {
        self.pypi.faults.clone()
    }

    /// The files PyPI holds for `project` (any spelling of the name).
    pub fn pypi_files(&self, project: &str) -> Vec<PypiFile> {
        self.pypi.files(project)
    }

    /// The npm registry's origin, `https://127.0.0.1:<port>/` (use it as `--registry`).
    pub fn npm_registry_url(&self) -> Url {
        self.npm_listener.url()
    }

    /// The audience the npm exchange requires: `npm:127.0.0.1` unless configured otherwise.
    pub fn npm_audience(&self) -> String {
        self.npm.audience()
    }

    /// Sets the trusted publisher of `package` on npm (registering the package, public, if it is unknown: a
    /// trusted publisher needs an existing package).
    pub fn add_npm_publisher(&self, package: &str, publisher: NpmPublisher) {
        self.npm.add_publisher(package, publisher);
    }

    /// Registers `package` on npm (public, no versions, no trusted publisher).
    pub fn add_npm_package(&self, package: &str) {
        self.npm.add_package(package);
    }

    /// Makes `package` public or private: what `GET /-/package/<name>/visibility` answers.
    pub fn set_npm_package_public(&self, package: &str, public: bool) {
        self.npm.set_public(package, public);
    }

    /// The published versions of an npm package.
    pub fn npm_versions(&self, package: &str) -> Vec<NpmVersion> {
        self.npm.versions(package)
    }

    /// Fulcio's origin, `https://127.0.0.1:<port>/` (`api/v2/signingCert` under it): the `--fulcio-url`.
    pub fn fulcio_url(&self) -> Url {
        self.fulcio_listener.url()
    }

    /// Rekor's origin, `https://127.0.0.1:<port>/` (`api/v1/log/entries` under it): the `--rekor-url`.
    pub fn rekor_url(&self) -> Url {
        self.rekor_listener.url()
    }

    /// `trusted_root.json` for this testbed's Fulcio, CT log and Rekor (`--trusted-root`; sigstore-python's
    /// `TrustedRoot.from_file`, `sigstore-verify`'s `TrustedRoot::from_file`).
    pub fn sigstore_trusted_root_path(&self) -> &Path {
        &self.trust.trusted_root
    }

    /// `trust_config.json` (trusted root plus signing config naming this Fulcio and Rekor), for
    /// `sigstore --trust-config`.
    pub fn sigstore_trust_config_path(&self) -> &Path {
        &self.trust.trust_config
    }

    /// The Fulcio/Rekor failure knobs (bad SCT, wrong log key, expired certificate, 5xx).
    pub fn sigstore_faults(&self) -> SigstoreFaults {
        self.sigstore.faults()
    }

    /// crates.io's origin, `https://127.0.0.1:<port>/`: the API (`api/v1/trusted_publishing/tokens`,
    /// `api/v1/crates/new`) lives under it. This is the "registry URL" a client derives the audience from.
    pub fn crates_io_url(&self) -> Url {
        self.crates_io_listener.url()
    }

    /// The sparse index for cargo, `sparse+https://127.0.0.1:<port>/index/` (use it as
    /// `CARGO_REGISTRIES_<NAME>_INDEX`, with `CARGO_HTTP_CAINFO` naming [`Testbed::ca_file`]).
    pub fn crates_io_index_url(&self) -> String {
        format!("sparse+{}index/", self.crates_io_listener.url())
    }

    /// The audience crates.io's exchange requires: `127.0.0.1:<port>` (the registry URL without scheme and
    /// trailing slash, as crates-io-auth-action derives it) unless configured otherwise.
    pub fn crates_io_audience(&self) -> String {
        self.crates_io.audience()
    }

    /// Adds a GitHub trusted-publisher config to `krate` on crates.io, creating the crate (as if its first version
    /// had been published by hand: trusted-publishing tokens cannot create crates) if it is unknown. Several
    /// configs may name the same repository; a token is valid for every crate whose config matched.
    pub fn add_crates_io_publisher(&self, krate: &str, publisher: CratesIoPublisher) {
        self.crates_io.add_publisher(krate, publisher);
    }

    /// crates.io's exchange failure knobs (5xx, 429 with `Retry-After`), for retry tests.
    pub fn crates_io_faults(&self) -> RegistryFaults {
        self.crates_io.faults.clone()
    }

    /// The versions crates.io holds for `krate` (any spelling of the name), in publication order.
    pub fn crates_io_versions(&self, krate: &str) -> Vec<CratesIoVersion> {
        self.crates_io.versions(krate)
    }

    /// RubyGems.org's origin, `https://127.0.0.1:<port>/` (the `--host` of `gem push`; the exchange is at
    /// `api/v1/oidc/trusted_publisher/exchange_token`, pushes at `api/v1/gems`).
    pub fn rubygems_url(&self) -> Url {
        self.rubygems_listener.url()
    }

    /// The audience RubyGems.org's exchange requires: `rubygems.org` unless configured otherwise.
    pub fn rubygems_audience(&self) -> String {
        self.rubygems.audience()
    }

    /// Registers a GitHub Actions trusted publisher allowed to push `gem` (the same publisher may be added for
    /// several gems; its keys may push all of them).
    pub fn add_rubygems_publisher(&self, gem: &str, publisher: RubygemsPublisher) {
        self.rubygems.add_publisher(gem, publisher);
    }

    /// RubyGems.org's exchange failure knobs (5xx, 429 with `Retry-After`), for retry tests.
    pub fn rubygems_faults(&self) -> RegistryFaults {
        self.rubygems.faults.clone()
    }

    /// The versions RubyGems.org holds for `gem`.
    pub fn rubygems_versions(&self, gem: &str) -> Vec<RubygemsVersion> {
        self.rubygems.versions(gem)
    }

    /// NuGet.org's origin, `https://127.0.0.1:<port>/` (token API at `api/v2/token`, push at `api/v2/package`).
    pub fn nuget_url(&self) -> Url {
        self.nuget_listener.url()
    }

    /// The audience NuGet.org's token API requires: `https://www.nuget.org` unless configured otherwise.
    pub fn nuget_audience(&self) -> String {
        self.nuget.audience()
    }

    /// Adds a trust policy created by nuget.org user `user` (the `username` of token requests). Policies of one
    /// user are tried in the order they were added.
    pub fn add_nuget_policy(&self, user: &str, policy: NugetPolicy) {
        self.nuget.add_policy(user, policy);
    }

    /// NuGet.org's token API failure knobs (5xx, 429 with `Retry-After`), for retry tests.
    pub fn nuget_faults(&self) -> RegistryFaults {
        self.nuget.faults.clone()
    }

    /// The versions NuGet.org holds for package `id` (any case).
    pub fn nuget_packages(&self, id: &str) -> Vec<NugetPackage> {
        self.nuget.packages(id)
    }

    /// The variables a GitHub Actions job with the current identity sees, pointing at this testbed:
    /// `GITHUB_ACTIONS=true`, `ACTIONS_ID_TOKEN_REQUEST_URL`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `GITHUB_*`,
    /// `RUNNER_ENVIRONMENT`, plus `SSL_CERT_FILE` (uv, Rust clients), `REQUESTS_CA_BUNDLE` (twine),
    /// `NODE_EXTRA_CA_CERTS` (node's own fetch) and `NPM_CONFIG_CAFILE` (the npm CLI, whose `cafile` setting would
    /// otherwise replace node's trust store) naming the CA file.
    pub fn github_env(&self) -> BTreeMap<String, String> {
        let mut env = self.issuer.identity().env();
        env.insert(
            "ACTIONS_ID_TOKEN_REQUEST_URL".to_owned(),
            self.issuer.token_request_url(),
        );
        env.insert(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_owned(),
            self.issuer.request_token().to_owned(),
        );
        let ca_file = self.ca_file().display().to_string();
        for key in [
            "SSL_CERT_FILE",
            "NODE_EXTRA_CA_CERTS",
            "REQUESTS_CA_BUNDLE",
            "NPM_CONFIG_CAFILE",
        ] {
            env.insert(key.to_owned(), ca_file.clone());
        }
        // The testbed's PyPI is not pypi.org, and trustpub hands the audience of a well-known
        // service (`pypi`) to no other index unless told to.
        env.insert(
            "TRUSTPUB_PYPI_AUDIENCE".to_owned(),
            self.pypi.config.audience.clone(),
        );
        env
    }

    /// Replaces the job identity; later tokens and [`Testbed::github_env`] follow it.
    pub fn set_identity(&self, identity: GithubIdentity) {
        self.issuer.set_identity(identity);
    }

    /// The current job identity.
    pub fn identity(&self) -> GithubIdentity {
        self.issuer.identity()
    }

    /// The issuer's failure knobs (500s, 401, HTML page, wrong audience).
    pub fn issuer_faults(&self) -> IssuerFaults {
        self.issuer.faults()
    }

    /// The claims a token for `audience` would carry now (fresh `jti`): a starting point for
    /// [`Testbed::sign_id_token`] when a test needs a doctored token.
    pub fn id_token_claims(&self, audience: &str) -> Map<String, Value> {
        self.issuer.claims_for(audience)
    }

    /// Signs `claims` with the issuer's key (as a genuine token of this issuer), recording it.
    pub fn sign_id_token(&self, claims: &Map<String, Value>) -> Result<String, TestbedError> {
        self.issuer.sign(claims)
    }

    /// A fresh ID token for `audience` with the current identity, without going through HTTP.
    pub fn id_token(&self, audience: &str) -> Result<String, TestbedError> {
        self.issuer.sign(&self.issuer.claims_for(audience))
    }

    /// The issuer's JWKS document.
    pub fn jwks(&self) -> Value {
        self.issuer.jwks().clone()
    }

    /// A snapshot of everything recorded so far.
    pub fn records(&self) -> Records {
        self.recorder.snapshot()
    }

    /// Stops every service, letting in-flight requests finish (a few seconds at most).
    pub async fn shutdown(self) {
        let Testbed {
            dir,
            tls,
            issuer,
            recorder,
            pypi,
            npm,
            sigstore,
            trust,
            issuer_listener,
            pypi_listener,
            npm_listener,
            fulcio_listener,
            rekor_listener,
            crates_io,
            rubygems,
            nuget,
            crates_io_listener,
            rubygems_listener,
            nuget_listener,
        } = self;
        issuer_listener.shutdown().await;
        pypi_listener.shutdown().await;
        npm_listener.shutdown().await;
        fulcio_listener.shutdown().await;
        rekor_listener.shutdown().await;
        crates_io_listener.shutdown().await;
        rubygems_listener.shutdown().await;
        nuget_listener.shutdown().await;
        drop((tls, issuer, recorder, pypi, npm, sigstore, trust, dir));
        drop((crates_io, rubygems, nuget));
    }
}
