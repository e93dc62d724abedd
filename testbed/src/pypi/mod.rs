//! PyPI, read from Warehouse: the OIDC routes (`/_/oidc/audience`, `/_/oidc/mint-token`), a token burn route, the
//! legacy upload API (`/legacy/`), the simple index (`/simple/`), and file downloads (`/files/`).
//!
//! State lives in memory (projects, publishers, minted tokens, spent `jti`s); uploaded files live in the
//! testbed's temporary directory. With [`PypiConfig::forward_to`] set, every upload the testbed accepts is also
//! sent to a real index (pypiserver); the simple index is still served from the testbed's own copy.

pub(crate) mod attestations;
mod dist;
mod errors;
mod faults;
mod fields;
mod forward;
mod matching;
mod md5;
mod mint;
mod multipart;
mod names;
mod pyrepr;
mod simple;
mod upload;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

pub use faults::{PypiFault, PypiFaults, PypiRoute};
pub use matching::PypiPublisher;

use crate::jwt::TrustedIssuer;
use crate::records::Recorder;
use crate::sigstore::TrustMaterial;

/// How the simulated PyPI behaves.
#[derive(Debug, Clone)]
pub struct PypiConfig {
    /// What `/_/oidc/audience` announces and the mint requires: `pypi`, or `testpypi` to play TestPyPI.
    pub audience: String,
    /// `false` plays an index with trusted publishing switched off: `/_/oidc/audience` answers 403
    /// `Trusted publishing functionality not enabled` and the mint `not-enabled` (burn-token answers 403).
    pub trusted_publishing: bool,
    /// `false` switches off the GitHub provider only: the mint answers `not-enabled`.
    pub github_provider: bool,
    /// Lifetime of minted tokens (Warehouse: 15 minutes).
    pub token_lifetime: Duration,
    /// Clock skew tolerated when verifying ID tokens (Warehouse: 30 s).
    pub jwt_leeway: Duration,
    /// Largest accepted file (Warehouse's default: 100 MiB; projects can get up to 1 GiB).
    pub max_file_size: u64,
    /// Forward every accepted upload to this legacy upload endpoint (e.g. pypiserver's `http://127.0.0.1:8080/`).
    pub forward_to: Option<Url>,
    /// Basic credentials for [`PypiConfig::forward_to`].
    pub forward_auth: Option<(String, String)>,
    /// How long every upload is held before it is processed (an index far away, for benchmarks).
    pub upload_latency: Duration,
}

impl Default for PypiConfig {
    fn default() -> Self {
        Self {
            audience: "pypi".to_owned(),
            trusted_publishing: true,
            github_provider: true,
            token_lifetime: Duration::from_secs(900),
            jwt_leeway: Duration::from_secs(30),
            max_file_size: 100 * 1024 * 1024,
            forward_to: None,
            forward_auth: None,
            upload_latency: Duration::ZERO,
        }
    }
}

/// A file the simulated PyPI holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PypiFile {
    /// The project's display name (as first uploaded or registered).
    pub project: String,
    /// The canonical version string.
    pub version: String,
    /// The file name.
    pub filename: String,
    /// `sdist` or `bdist_wheel`.
    pub filetype: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256.
    pub sha256: String,
    /// Hex BLAKE2b-256.
    pub blake2_256: String,
    /// The `requires_python` field, if sent.
    pub requires_python: Option<String>,
    /// The PEP 740 attestations sent with it, if any (verified on upload against the testbed Sigstore).
    pub attestations: Option<Value>,
    /// Where the bytes are.
    pub path: PathBuf,
    /// Upload time (unix seconds).
    pub uploaded_at: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Project {
    pub(crate) name: String,
    pub(crate) files: Vec<PypiFile>,
}

#[derive(Debug)]
pub(crate) struct MintedToken {
    pub(crate) projects: BTreeSet<String>,
    pub(crate) expires: i64,
    /// The publisher the token was minted for: the identity attestations must carry.
    pub(crate) publisher: PypiPublisher,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Projects by normalized name.
    pub(crate) projects: BTreeMap<String, Project>,
    /// Publishers and the normalized names of the projects they may publish.
    pub(crate) publishers: Vec<(PypiPublisher, BTreeSet<String>)>,
    /// Pending publishers: (project name as registered, publisher).
    pub(crate) pending: Vec<(String, PypiPublisher)>,
    /// Live minted tokens.
    pub(crate) tokens: HashMap<String, MintedToken>,
    /// Spent `jti`s and until when they are remembered.
    pub(crate) used_jtis: HashMap<String, i64>,
}

impl Registry {
    pub(crate) fn ensure_project(&mut self, name: &str) -> String {
        let key = names::normalize(name);
        self.projects.entry(key.clone()).or_insert_with(|| Project {
            name: name.to_owned(),
            files: Vec::new(),
        });
        key
    }

    pub(crate) fn add_publisher(&mut self, project_key: String, publisher: PypiPublisher) {
        match self
            .publishers
            .iter_mut()
            .find(|(existing, _)| *existing == publisher)
        {
            Some((_, projects)) => {
                projects.insert(project_key);
            }
            None => self
                .publishers
                .push((publisher, BTreeSet::from([project_key]))),
        }
    }
}

/// The shared state of the simulated PyPI.
pub(crate) struct PypiState {
    pub(crate) config: PypiConfig,
    pub(crate) github: TrustedIssuer,
    pub(crate) registry: Mutex<Registry>,
    pub(crate) recorder: Recorder,
    pub(crate) files_dir: PathBuf,
    pub(crate) base_url: OnceLock<Url>,
    pub(crate) http: reqwest::Client,
    /// The Sigstore trusted root attestations are verified against.
    pub(crate) trust: Arc<TrustMaterial>,
    /// The failure knobs (fault matrix).
    pub(crate) faults: PypiFaults,
}

impl PypiState {
    pub(crate) fn new(
        config: PypiConfig,
        github: TrustedIssuer,
        recorder: Recorder,
        files_dir: PathBuf,
        trust: Arc<TrustMaterial>,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            github,
            registry: Mutex::new(Registry::default()),
            recorder,
            files_dir,
            base_url: OnceLock::new(),
            http: reqwest::Client::new(),
            trust,
            faults: PypiFaults::default(),
        })
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn base_url(&self) -> String {
        self.base_url
            .get()
            .map_or_else(|| "https://127.0.0.1/".to_owned(), Url::to_string)
    }

    /// Where Warehouse's help links point (`pypi.org`, or `test.pypi.org` when playing TestPyPI).
    pub(crate) fn help_url(&self, anchor: &str) -> String {
        let host = if self.config.audience == "testpypi" {
            "test.pypi.org"
        } else {
            "pypi.org"
        };
        format!("https://{host}/help/#{anchor}")
    }

    /// Registers `publisher` for `project` (creating the project if needed).
    pub(crate) fn add_publisher(&self, project: &str, publisher: PypiPublisher) {
        let mut registry = self.registry();
        let key = registry.ensure_project(project);
        registry.add_publisher(key, normalized(publisher));
    }

    /// Registers a pending publisher that will create `project` on first use.
    pub(crate) fn add_pending_publisher(&self, project: &str, publisher: PypiPublisher) {
        self.registry()
            .pending
            .push((project.to_owned(), normalized(publisher)));
    }

    /// Creates an empty project.
    pub(crate) fn add_project(&self, project: &str) {
        self.registry().ensure_project(project);
    }

    /// The files of a project.
    pub(crate) fn files(&self, project: &str) -> Vec<PypiFile> {
        self.registry()
            .projects
            .get(&names::normalize(project))
            .map(|p| p.files.clone())
            .unwrap_or_default()
    }
}

fn normalized(mut publisher: PypiPublisher) -> PypiPublisher {
    publisher.environment = publisher
        .environment
        .map(|e| e.to_lowercase())
        .filter(|e| !e.is_empty());
    publisher
}

/// The routes of the simulated PyPI.
pub(crate) fn router(state: Arc<PypiState>) -> Router {
    Router::new()
        .route("/_/oidc/audience", get(mint::audience))
        .route("/_/oidc/mint-token", post(mint::mint_token))
        .route("/_/oidc/github/mint-token", post(mint::mint_token))
        .route("/_/oidc/burn-token", post(mint::burn_token))
        .route("/legacy/", post(upload::upload))
        // pypiserver-style clients post to the root; Warehouse's upload host routes that to the same view.
        .route("/", post(upload::upload))
        .route("/legacy", post(upload::redirect_to_slash))
        .route("/simple/", get(simple::index))
        .route("/simple/{project}", get(simple::redirect_to_slash))
        .route("/simple/{project}/", get(simple::project))
        .route("/files/{project}/{filename}", get(simple::download))
        .layer(axum::extract::DefaultBodyLimit::max(2 * 1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            faults::apply,
        ))
        .with_state(state)
}
