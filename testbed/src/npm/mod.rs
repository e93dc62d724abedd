//! The npm registry, read from the npm CLI, libnpmpublish and the registry's OpenAPI: the OIDC token exchange,
//! the package visibility route, publishing (`PUT /<name>`), packuments, tarballs and attestations.
//!
//! State lives in memory. With [`NpmConfig::forward_to`] set, every publish the testbed accepts is also sent to a
//! real registry (verdaccio), minus the `.sigstore` attachment verdaccio cannot take; packuments and tarballs are
//! still served from the testbed's own copy.

mod exchange;
mod forward;
mod matching;
mod names;
mod packument;
mod provenance;
mod publish;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Map, Value};
use url::Url;

pub use matching::NpmPublisher;

use crate::jwt::TrustedIssuer;
use crate::records::Recorder;
use crate::sigstore::TrustMaterial;

/// How the simulated npm registry behaves.
#[derive(Debug, Clone)]
pub struct NpmConfig {
    /// The audience exchanged ID tokens must carry; `None` means npm's rule, `npm:<registry host>`
    /// (`npm:127.0.0.1` here).
    pub audience: Option<String>,
    /// Lifetime of exchanged tokens (npm: "typically 1 hour").
    pub token_lifetime: Duration,
    /// Clock skew tolerated when verifying ID tokens.
    pub jwt_leeway: Duration,
    /// Largest accepted publish document, in bytes (base64 tarball included).
    pub max_body_size: usize,
    /// Forward every accepted publish to this registry (e.g. verdaccio's `http://127.0.0.1:4873/`).
    pub forward_to: Option<Url>,
    /// The bearer token to authenticate to [`NpmConfig::forward_to`] with.
    pub forward_token: Option<String>,
}

impl Default for NpmConfig {
    fn default() -> Self {
        Self {
            audience: None,
            token_lifetime: Duration::from_secs(3600),
            jwt_leeway: Duration::from_secs(30),
            max_body_size: 256 * 1024 * 1024,
            forward_to: None,
            forward_token: None,
        }
    }
}

/// One published version as the testbed holds it.
#[derive(Debug, Clone)]
pub(crate) struct StoredVersion {
    pub(crate) manifest: Map<String, Value>,
    pub(crate) tarball: Arc<Vec<u8>>,
    pub(crate) provenance: Option<Value>,
    pub(crate) published_at: String,
}

/// A package: registered (it "exists", so a trusted publisher can be attached) and maybe published.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) public: bool,
    pub(crate) publisher: Option<NpmPublisher>,
    pub(crate) dist_tags: BTreeMap<String, String>,
    pub(crate) versions: BTreeMap<String, StoredVersion>,
    pub(crate) created: String,
}

/// An exchanged token: which package it may publish, until when, and the identity it came from.
#[derive(Debug, Clone)]
pub(crate) struct ExchangedToken {
    pub(crate) package: String,
    pub(crate) expires: i64,
    pub(crate) claims: Map<String, Value>,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) packages: BTreeMap<String, Package>,
    pub(crate) tokens: HashMap<String, ExchangedToken>,
}

/// The shared state of the simulated registry.
pub(crate) struct NpmState {
    pub(crate) config: NpmConfig,
    pub(crate) github: TrustedIssuer,
    pub(crate) registry: Mutex<Registry>,
    pub(crate) recorder: Recorder,
    pub(crate) base_url: OnceLock<Url>,
    pub(crate) http: reqwest::Client,
    /// The Sigstore trusted root provenance bundles are verified against.
    pub(crate) trust: Arc<TrustMaterial>,
}

/// A published version, as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmVersion {
    /// The package name.
    pub package: String,
    /// The version.
    pub version: String,
    /// The tarball bytes.
    pub tarball: Vec<u8>,
    /// The provenance bundle, if one was attached.
    pub provenance: Option<Value>,
    /// The version manifest as stored (with the registry's `dist`).
    pub manifest: Value,
}

impl NpmState {
    pub(crate) fn new(
        config: NpmConfig,
        github: TrustedIssuer,
        recorder: Recorder,
        trust: Arc<TrustMaterial>,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            github,
            registry: Mutex::new(Registry::default()),
            recorder,
            base_url: OnceLock::new(),
            http: reqwest::Client::new(),
            trust,
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

    /// `npm:<registry host>` unless configured otherwise.
    pub(crate) fn audience(&self) -> String {
        self.config.audience.clone().unwrap_or_else(|| {
            let host = self
                .base_url
                .get()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_else(|| "127.0.0.1".to_owned());
            format!("npm:{host}")
        })
    }

    /// Registers `package` (public) if unknown.
    pub(crate) fn add_package(&self, package: &str) {
        let now = packument::now_iso();
        self.registry()
            .packages
            .entry(package.to_owned())
            .or_insert_with(|| Package {
                public: true,
                publisher: None,
                dist_tags: BTreeMap::new(),
                versions: BTreeMap::new(),
                created: now,
            });
    }

    /// Sets the (single) trusted publisher of `package`, registering the package if needed.
    pub(crate) fn add_publisher(&self, package: &str, publisher: NpmPublisher) {
        self.add_package(package);
        if let Some(entry) = self.registry().packages.get_mut(package) {
            entry.publisher = Some(publisher);
        }
    }

    /// Marks `package` public or private (what the visibility route answers).
    pub(crate) fn set_public(&self, package: &str, public: bool) {
        self.add_package(package);
        if let Some(entry) = self.registry().packages.get_mut(package) {
            entry.public = public;
        }
    }

    /// The published versions of `package`.
    pub(crate) fn versions(&self, package: &str) -> Vec<NpmVersion> {
        let registry = self.registry();
        let Some(entry) = registry.packages.get(package) else {
            return Vec::new();
        };
        entry
            .versions
            .iter()
            .map(|(version, stored)| NpmVersion {
                package: package.to_owned(),
                version: version.clone(),
                tarball: stored.tarball.as_ref().clone(),
                provenance: stored.provenance.clone(),
                manifest: Value::Object(stored.manifest.clone()),
            })
            .collect()
    }
}

/// The routes of the simulated registry.
pub(crate) fn router(state: Arc<NpmState>) -> Router {
    Router::new()
        .route(
            "/-/npm/v1/oidc/token/exchange/package/{*name}",
            post(exchange::exchange),
        )
        .route("/-/package/{*rest}", get(packument::visibility))
        .route(
            "/-/npm/v1/attestations/{*spec}",
            get(packument::attestations),
        )
        .route("/-/ping", get(packument::ping))
        .fallback(packument::package_route)
        .with_state(state)
}
