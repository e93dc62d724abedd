//! crates.io, read from `rust-lang/crates.io` (`src/controllers/trustpub/tokens/{exchange,revoke}`,
//! `src/controllers/krate/publish.rs`, `src/auth.rs`, `src/middleware/require_user_agent.rs`,
//! `crates/crates_io_trustpub/src/access_token.rs`): the trusted-publishing token exchange and revocation, and a
//! sparse registry (`/index/`) that a real `cargo` can publish to (`PUT /api/v1/crates/new`) and fetch from.
//!
//! Simplifications: crates exist once a trusted-publisher config names them ([`crate::Testbed::add_crates_io_publisher`]
//! plays "publish the first version by hand, then add a config"); there are no user API tokens, so only
//! trusted-publishing tokens can publish. State lives in memory.

mod exchange;
mod index;
mod matching;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

pub use matching::CratesIoPublisher;

use crate::jwt::TrustedIssuer;
use crate::records::Recorder;

/// How the simulated crates.io behaves.
#[derive(Debug, Clone)]
pub struct CratesIoConfig {
    /// The audience exchanged ID tokens must carry. `None` means what crates-io-auth-action derives from the
    /// registry URL: the URL without scheme and trailing slash, here `127.0.0.1:<port>`.
    pub audience: Option<String>,
    /// Lifetime of trusted-publishing tokens (crates.io: 30 minutes).
    pub token_lifetime: Duration,
    /// Clock skew tolerated when verifying ID tokens (crates.io: 60 s).
    pub jwt_leeway: Duration,
    /// Largest accepted `.crate` (crates.io's default: 10 MiB).
    pub max_upload_size: u32,
}

impl Default for CratesIoConfig {
    fn default() -> Self {
        Self {
            audience: None,
            token_lifetime: Duration::from_secs(30 * 60),
            jwt_leeway: Duration::from_secs(60),
            max_upload_size: 10 * 1024 * 1024,
        }
    }
}

/// A trusted-publishing token crates.io issued, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CratesIoTokenRecord {
    /// When it was issued (unix seconds).
    pub at: i64,
    /// Hex SHA-256 of the whole token (`cio_tp_…`), to match it against what a client used.
    pub token_sha256: String,
    /// The `jti` of the ID token it was exchanged for.
    pub jti: String,
    /// The crates it may publish.
    pub crates: Vec<String>,
    /// When it expires (unix seconds).
    pub expires: i64,
    /// Whether `DELETE /api/v1/trusted_publishing/tokens` revoked it.
    pub revoked: bool,
}

/// One `POST /api/v1/trusted_publishing/tokens` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CratesIoExchangeRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The `jti` of the presented JWT, when it could be read.
    pub jti: Option<String>,
    /// The HTTP status of the answer (200 on success).
    pub status: u16,
    /// The `detail` of a refusal.
    pub error: Option<String>,
}

/// One `PUT /api/v1/crates/new` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CratePublishRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The crate name from the metadata, when it was read.
    pub name: Option<String>,
    /// The version from the metadata, when it was read.
    pub version: Option<String>,
    /// Hex SHA-256 of the `.crate` (the index `cksum`), when it was read.
    pub cksum: Option<String>,
    /// Hex SHA-256 of the `Authorization` credential (scheme stripped), if one was sent.
    pub token_sha256: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The `detail` of a refusal.
    pub error: Option<String>,
}

/// A version crates.io holds, as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CratesIoVersion {
    /// The crate name as published.
    pub name: String,
    /// The version.
    pub version: String,
    /// The `.crate` bytes.
    pub crate_file: Vec<u8>,
    /// Its index line (JSON).
    pub index_entry: Value,
}

/// A live (or revoked) trusted-publishing token.
#[derive(Debug, Clone)]
pub(crate) struct LiveToken {
    pub(crate) crates: BTreeSet<String>,
    pub(crate) expires: i64,
    pub(crate) record_index: usize,
}

/// A crate: its display name, its versions (index lines and files) and its trusted-publisher configs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Krate {
    pub(crate) name: String,
    /// Configs with their creation sequence number (crates.io lists mismatches in database order).
    pub(crate) configs: Vec<(u64, CratesIoPublisher)>,
    pub(crate) versions: BTreeMap<String, (Value, Arc<Vec<u8>>)>,
    /// Versions in publication order (the index file's line order).
    pub(crate) order: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Crates by canonical name (lowercase, `-` for `_`).
    pub(crate) crates: BTreeMap<String, Krate>,
    /// Tokens by SHA-256 of their raw part (what crates.io stores).
    pub(crate) tokens: HashMap<Vec<u8>, LiveToken>,
    /// `jti`s already exchanged.
    pub(crate) used_jtis: HashSet<String>,
    /// The sequence number of the next config.
    pub(crate) next_config: u64,
}

/// The shared state of the simulated crates.io.
pub(crate) struct CratesIoState {
    pub(crate) config: CratesIoConfig,
    pub(crate) github: TrustedIssuer,
    pub(crate) registry: Mutex<Registry>,
    pub(crate) recorder: Recorder,
    pub(crate) base_url: OnceLock<Url>,
    /// The exchange's failure knobs.
    pub(crate) faults: crate::RegistryFaults,
}

/// crates.io's canonical form of a crate name: `-` and `_` are the same, case does not matter.
pub(crate) fn canonical(name: &str) -> String {
    name.to_lowercase().replace('_', "-")
}

impl CratesIoState {
    pub(crate) fn new(
        config: CratesIoConfig,
        github: TrustedIssuer,
        recorder: Recorder,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            github,
            registry: Mutex::new(Registry::default()),
            recorder,
            base_url: OnceLock::new(),
            faults: crate::RegistryFaults::default(),
        })
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The origin, `https://127.0.0.1:<port>/`.
    pub(crate) fn base_url(&self) -> String {
        self.base_url
            .get()
            .map_or_else(|| "https://127.0.0.1/".to_owned(), Url::to_string)
    }

    /// The audience: configured, or the registry URL without scheme and trailing slash.
    pub(crate) fn audience(&self) -> String {
        if let Some(audience) = &self.config.audience {
            return audience.clone();
        }
        let url = self.base_url();
        let text = url.as_str();
        text.split_once("://")
            .map_or(text, |(_, rest)| rest)
            .trim_end_matches('/')
            .to_owned()
    }

    /// Adds a trusted-publisher config to `krate`, creating the crate (without versions) if needed.
    pub(crate) fn add_publisher(&self, krate: &str, publisher: CratesIoPublisher) {
        let mut registry = self.registry();
        let sequence = registry.next_config;
        registry.next_config += 1;
        let entry = registry
            .crates
            .entry(canonical(krate))
            .or_insert_with(|| Krate {
                name: krate.to_owned(),
                ..Krate::default()
            });
        entry.configs.push((sequence, publisher));
    }

    /// The versions of `krate`, in publication order.
    pub(crate) fn versions(&self, krate: &str) -> Vec<CratesIoVersion> {
        let registry = self.registry();
        let Some(entry) = registry.crates.get(&canonical(krate)) else {
            return Vec::new();
        };
        entry
            .order
            .iter()
            .filter_map(|version| {
                let (line, file) = entry.versions.get(version)?;
                Some(CratesIoVersion {
                    name: line
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or(&entry.name)
                        .to_owned(),
                    version: version.clone(),
                    crate_file: file.as_ref().clone(),
                    index_entry: line.clone(),
                })
            })
            .collect()
    }
}

/// The routes of the simulated crates.io.
pub(crate) fn router(state: Arc<CratesIoState>) -> Router {
    let max_body = usize::try_from(state.config.max_upload_size)
        .unwrap_or(usize::MAX)
        .saturating_add(2 * 1024 * 1024);
    Router::new()
        .route(
            "/api/v1/trusted_publishing/tokens",
            post(exchange::exchange).delete(exchange::revoke),
        )
        .route("/api/v1/crates/new", put(index::publish))
        .route(
            "/api/v1/crates/{name}/{version}/download",
            get(index::download),
        )
        .route("/index/config.json", get(index::config))
        .route("/index/{*path}", get(index::index_file))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
