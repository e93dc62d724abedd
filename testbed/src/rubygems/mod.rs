//! RubyGems.org, read from `rubygems/rubygems.org` (`app/controllers/api/v1/oidc/trusted_publisher_controller.rb`,
//! `app/controllers/concerns/jwt_validation.rb`, `app/models/oidc/trusted_publisher/github_action.rb`,
//! `app/controllers/api/base_controller.rb`, `app/controllers/api/v1/rubygems_controller.rb`, `app/models/pusher.rb`):
//! the trusted-publisher token exchange and `gem push`.
//!
//! `POST /api/v1/oidc/trusted_publisher/exchange_token` `{"jwt"}` → 201
//! `{"rubygems_api_key":"rubygems_<48 hex>","name","scopes":["push_rubygem"],"expires_at"}` (15 minutes).
//! Refusals: 400 `{"error": …}` for a missing `jwt` (`Request is missing param 'jwt'`), an unparsable one
//! (`Invalid JWT Format. JWT should include 2 or 3 dots.`) or a missing/non-integer `nbf`/`iat`/`exp` or
//! non-string `iss`/`jti` (`Missing/invalid <claim>`); everything else — time window (`nbf <= now < exp`, no
//! leeway), issuer, key, signature, no matching publisher, access policy — is a bare 404 (`{"error":"Not Found"}`
//! when the client accepts JSON, `Not Found` otherwise). There is no `jti` replay check.
//!
//! Matching (`GitHubAction.for_claims` then the access policy): `repository` owner and name, the
//! `repository_owner_id` when the publisher has one, the workflow file from **`job_workflow_ref`**, which must
//! equal `<repository>/.github/workflows/<file>@<ref or sha>`, the audience, and the environment (publishers with
//! the token's environment preferred, publishers without one accept any; a token without environment only
//! matches publishers without one).
//!
//! `POST /api/v1/gems` with the raw key in `Authorization` stores the gem if the key's publisher owns it:
//! 200 `Successfully registered gem: <name> (<version>)`; 401 `Access Denied. Please sign up for an account at
//! https://rubygems.org` for an unknown or expired key; 403 `You are not allowed to push this gem.`; 409 for a
//! version already pushed; 422 for a file that is not a gem.

mod gem;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use crate::jwt::{TrustedIssuer, unverified_claims};
use crate::records::{Recorder, now_unix};
use crate::tp_jwt::{self, header_text, peek_jti, sha256_hex, text};

/// How the simulated RubyGems.org behaves.
#[derive(Debug, Clone)]
pub struct RubygemsConfig {
    /// The audience (`Gemcutter::HOST`): `rubygems.org`.
    pub audience: String,
    /// Lifetime of exchanged API keys (RubyGems.org: 15 minutes).
    pub key_lifetime: Duration,
    /// Largest accepted gem, in bytes.
    pub max_gem_size: usize,
}

impl Default for RubygemsConfig {
    fn default() -> Self {
        Self {
            audience: "rubygems.org".to_owned(),
            key_lifetime: Duration::from_secs(15 * 60),
            max_gem_size: 64 * 1024 * 1024,
        }
    }
}

/// A GitHub Actions trusted publisher on RubyGems.org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubygemsPublisher {
    /// `repository_owner`.
    pub repository_owner: String,
    /// `repository_name`.
    pub repository_name: String,
    /// `repository_owner_id`: RubyGems.org looks it up on GitHub when the publisher is saved; the testbed has no
    /// GitHub, so it is checked only when set.
    pub repository_owner_id: Option<String>,
    /// The workflow file name under `.github/workflows/`, matched against `job_workflow_ref`.
    pub workflow_filename: String,
    /// Required deployment environment, if any.
    pub environment: Option<String>,
}

impl RubygemsPublisher {
    /// A publisher for `owner/repo` and `workflow_filename`, without environment or owner id.
    pub fn new(owner: &str, repo: &str, workflow_filename: &str) -> Self {
        Self {
            repository_owner: owner.to_owned(),
            repository_name: repo.to_owned(),
            repository_owner_id: None,
            workflow_filename: workflow_filename.to_owned(),
            environment: None,
        }
    }

    /// The same publisher, requiring `repository_owner_id`.
    #[must_use]
    pub fn repository_owner_id(mut self, owner_id: u64) -> Self {
        self.repository_owner_id = Some(owner_id.to_string());
        self
    }

    /// The same publisher, requiring `environment` (or none with `None`).
    #[must_use]
    pub fn environment(mut self, environment: Option<&str>) -> Self {
        self.environment = environment.map(str::to_owned);
        self
    }

    /// RubyGems.org's display name: `GitHub Actions o/r @ .github/workflows/x.yml (env)`.
    fn display_name(&self) -> String {
        let mut name = format!(
            "GitHub Actions {}/{} @ .github/workflows/{}",
            self.repository_owner, self.repository_name, self.workflow_filename
        );
        if let Some(environment) = &self.environment {
            name.push_str(&format!(" ({environment})"));
        }
        name
    }
}

/// One `POST /api/v1/oidc/trusted_publisher/exchange_token` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubygemsExchangeRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The `jti` of the presented JWT, when it could be read.
    pub jti: Option<String>,
    /// The HTTP status of the answer (201 on success).
    pub status: u16,
    /// The `error` of a 400 refusal, or `Not Found`.
    pub error: Option<String>,
}

/// An API key the exchange issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubygemsKeyRecord {
    /// When it was issued (unix seconds).
    pub at: i64,
    /// Hex SHA-256 of the key (what RubyGems.org stores).
    pub key_sha256: String,
    /// The key's `name`.
    pub name: String,
    /// The `jti` of the ID token it was exchanged for.
    pub jti: String,
    /// When it expires (unix seconds).
    pub expires: i64,
}

/// One `POST /api/v1/gems` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GemPushRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The gem name, when the file could be read.
    pub name: Option<String>,
    /// The gem version (with `-<platform>` when not `ruby`), when the file could be read.
    pub version: Option<String>,
    /// Hex SHA-256 of the `Authorization` value.
    pub key_sha256: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The plain-text answer.
    pub message: String,
}

/// A gem version RubyGems.org holds, as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RubygemsVersion {
    /// The gem name.
    pub name: String,
    /// The version (with `-<platform>` when not `ruby`).
    pub version: String,
    /// The `.gem` bytes.
    pub gem_file: Vec<u8>,
}

#[derive(Debug, Clone)]
struct LiveKey {
    publisher: usize,
    expires: i64,
}

#[derive(Debug, Default)]
struct Registry {
    /// Publishers and the gems each owns.
    publishers: Vec<(RubygemsPublisher, BTreeSet<String>)>,
    /// Keys by hex SHA-256 of the whole `Authorization` value.
    keys: HashMap<String, LiveKey>,
    /// Gems: name → version → file.
    gems: BTreeMap<String, BTreeMap<String, Arc<Vec<u8>>>>,
}

/// The shared state of the simulated RubyGems.org.
pub(crate) struct RubygemsState {
    config: RubygemsConfig,
    github: TrustedIssuer,
    registry: Mutex<Registry>,
    recorder: Recorder,
    pub(crate) base_url: OnceLock<Url>,
    /// The exchange's failure knobs.
    pub(crate) faults: crate::RegistryFaults,
}

impl RubygemsState {
    pub(crate) fn new(
        config: RubygemsConfig,
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

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The audience the exchange requires.
    pub(crate) fn audience(&self) -> String {
        self.config.audience.clone()
    }

    /// Lets `publisher` push `gem` (one publisher may own several gems).
    pub(crate) fn add_publisher(&self, gem: &str, publisher: RubygemsPublisher) {
        let mut registry = self.registry();
        match registry
            .publishers
            .iter_mut()
            .find(|(p, _)| *p == publisher)
        {
            Some((_, gems)) => {
                gems.insert(gem.to_owned());
            }
            None => registry
                .publishers
                .push((publisher, BTreeSet::from([gem.to_owned()]))),
        }
    }

    /// The versions of `gem`.
    pub(crate) fn versions(&self, gem: &str) -> Vec<RubygemsVersion> {
        self.registry()
            .gems
            .get(gem)
            .map(|versions| {
                versions
                    .iter()
                    .map(|(version, file)| RubygemsVersion {
                        name: gem.to_owned(),
                        version: version.clone(),
                        gem_file: file.as_ref().clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The routes of the simulated RubyGems.org.
pub(crate) fn router(state: Arc<RubygemsState>) -> Router {
    let limit = state.config.max_gem_size.saturating_add(1024 * 1024);
    Router::new()
        .route(
            "/api/v1/oidc/trusted_publisher/exchange_token",
            post(exchange),
        )
        .route("/api/v1/gems", post(push))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Why an exchange was refused.
enum Refusal {
    /// 400 `{"error": …}`.
    BadRequest(String),
    /// The deliberately bare 404.
    NotFound,
}

fn wants_json(headers: &HeaderMap) -> bool {
    header_text(headers, header::ACCEPT.as_str()).is_some_and(|accept| accept.contains("json"))
}

/// The `jwt` parameter from a JSON or form body.
fn jwt_param(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let content_type = header_text(headers, header::CONTENT_TYPE.as_str()).unwrap_or("");
    if content_type.contains("application/x-www-form-urlencoded") {
        return url::form_urlencoded::parse(body)
            .find(|(key, _)| key == "jwt")
            .map(|(_, value)| value.into_owned())
            .filter(|value| !value.is_empty());
    }
    let parsed: Map<String, Value> = serde_json::from_slice(body).ok()?;
    parsed
        .get("jwt")
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

async fn exchange(
    State(state): State<Arc<RubygemsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let jwt = jwt_param(&headers, &body);
    let mut record = RubygemsExchangeRecord {
        at: now_unix(),
        jti: jwt.as_deref().and_then(peek_jti),
        status: 201,
        error: None,
    };
    if let Some(code) = state.faults.next() {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = "Server error. Please try again.";
        record.status = status.as_u16();
        record.error = Some(message.to_owned());
        state
            .recorder
            .record(|records| records.rubygems_exchanges.push(record));
        let mut response = plain(status, message);
        crate::registry_faults::decorate(code, &mut response);
        return response;
    }
    let response = match exchange_key(&state, jwt.as_deref()) {
        Ok(body) => (StatusCode::CREATED, Json(body)).into_response(),
        Err(Refusal::BadRequest(message)) => {
            record.status = 400;
            record.error = Some(message.clone());
            (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
        }
        Err(Refusal::NotFound) => {
            record.status = 404;
            record.error = Some("Not Found".to_owned());
            if wants_json(&headers) {
                (StatusCode::NOT_FOUND, Json(json!({"error": "Not Found"}))).into_response()
            } else {
                (
                    StatusCode::NOT_FOUND,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "Not Found",
                )
                    .into_response()
            }
        }
    };
    state
        .recorder
        .record(|records| records.rubygems_exchanges.push(record));
    response
}

/// Rails' JSON rendering of a time: ISO 8601 with milliseconds, `Z`.
fn rails_time(unix: i64) -> String {
    let text = tp_jwt::rfc3339(unix);
    match text.strip_suffix('Z') {
        Some(stem) => format!("{stem}.000Z"),
        None => text,
    }
}

fn exchange_key(state: &RubygemsState, jwt: Option<&str>) -> Result<Value, Refusal> {
    let jwt =
        jwt.ok_or_else(|| Refusal::BadRequest("Request is missing param 'jwt'".to_owned()))?;
    let unverified = unverified_claims(jwt).ok_or_else(|| {
        Refusal::BadRequest("Invalid JWT Format. JWT should include 2 or 3 dots.".to_owned())
    })?;
    for claim in ["nbf", "iat", "exp"] {
        if !unverified
            .get(claim)
            .is_some_and(|v| v.is_i64() || v.is_u64())
        {
            return Err(Refusal::BadRequest(format!("Missing/invalid {claim}")));
        }
    }
    for claim in ["iss", "jti"] {
        if !unverified.get(claim).is_some_and(Value::is_string) {
            return Err(Refusal::BadRequest(format!("Missing/invalid {claim}")));
        }
    }
    let now = now_unix();
    let integer = |name: &str| unverified.get(name).and_then(Value::as_i64).unwrap_or(0);
    if !(integer("nbf") <= now && now < integer("exp")) {
        return Err(Refusal::NotFound);
    }
    // Issuer, key, signature and (in the access policy) audience: all a bare 404.
    let claims = tp_jwt::check(jwt, &state.github, &state.config.audience, 0)
        .map_err(|failure| {
            tracing::debug!(?failure, "rubygems exchange: ID token rejected");
            Refusal::NotFound
        })?
        .claims;

    let repository = text(&claims, "repository").ok_or(Refusal::NotFound)?;
    let (owner, name) = repository.split_once('/').ok_or(Refusal::NotFound)?;
    let job_workflow_ref = text(&claims, "job_workflow_ref").ok_or(Refusal::NotFound)?;
    let (workflow_repo, workflow_file) = parse_job_workflow_ref(job_workflow_ref)?;
    if workflow_repo != repository {
        // Cross-repository reusable workflows need a publisher configured with that workflow repository.
        return Err(Refusal::NotFound);
    }
    let owner_id = text(&claims, "repository_owner_id").ok_or(Refusal::NotFound)?;
    let environment = text(&claims, "environment");
    let refs: Vec<&str> = ["ref", "sha"]
        .iter()
        .filter_map(|claim| text(&claims, claim))
        .collect();

    let mut registry = state.registry();
    let mut candidates: Vec<usize> = registry
        .publishers
        .iter()
        .enumerate()
        .filter(|(_, (p, _))| {
            p.repository_owner == owner
                && p.repository_name == name
                && p.workflow_filename == workflow_file
                && p.repository_owner_id
                    .as_deref()
                    .is_none_or(|id| id == owner_id)
                && match (&p.environment, environment) {
                    (None, _) => true,
                    (Some(wanted), Some(signed)) => wanted == signed,
                    (Some(_), None) => false,
                }
        })
        .map(|(index, _)| index)
        .collect();
    // A publisher naming the token's environment wins over one without.
    candidates.sort_by_key(|index| registry.publishers[*index].0.environment.is_none());
    let index = *candidates.first().ok_or(Refusal::NotFound)?;
    let publisher = registry.publishers[index].0.clone();
    let expected_prefix = format!(
        "{repository}/.github/workflows/{}@",
        publisher.workflow_filename
    );
    let policy_ok = refs
        .iter()
        .any(|git_ref| job_workflow_ref == format!("{expected_prefix}{git_ref}"));
    if !policy_ok {
        return Err(Refusal::NotFound);
    }

    let key = format!("rubygems_{}", tp_jwt::random_from(b"0123456789abcdef", 48));
    let expires = tp_jwt::from_now(state.config.key_lifetime.as_secs());
    let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(now);
    let key_name = format!("{} {}", publisher.display_name(), tp_jwt::rfc3339(iat));
    let key_sha256 = sha256_hex(key.as_bytes());
    registry.keys.insert(
        key_sha256.clone(),
        LiveKey {
            publisher: index,
            expires,
        },
    );
    let jti = text(&claims, "jti").unwrap_or_default().to_owned();
    state.recorder.record(|records| {
        records.rubygems_keys.push(RubygemsKeyRecord {
            at: now,
            key_sha256,
            name: key_name.clone(),
            jti,
            expires,
        });
    });
    Ok(json!({
        "rubygems_api_key": key,
        "name": key_name,
        "scopes": ["push_rubygem"],
        "expires_at": rails_time(expires),
    }))
}

/// `owner/repo/.github/workflows/<file>@…` → (`owner/repo`, `<file>`).
fn parse_job_workflow_ref(job_workflow_ref: &str) -> Result<(String, &str), Refusal> {
    let (path, _) = job_workflow_ref.split_once('@').ok_or(Refusal::NotFound)?;
    let mut parts = path.splitn(3, '/');
    let (Some(owner), Some(repo), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Refusal::NotFound);
    };
    let file = rest
        .strip_prefix(".github/workflows/")
        .filter(|file| !file.is_empty())
        .ok_or(Refusal::NotFound)?;
    if owner.is_empty() || repo.is_empty() {
        return Err(Refusal::NotFound);
    }
    Ok((format!("{owner}/{repo}"), file))
}

fn plain(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

async fn push(
    State(state): State<Arc<RubygemsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = header_text(&headers, header::AUTHORIZATION.as_str()).unwrap_or("");
    let key_sha256 = sha256_hex(authorization.as_bytes());
    let mut record = GemPushRecord {
        at: now_unix(),
        name: None,
        version: None,
        key_sha256: (!authorization.is_empty()).then(|| key_sha256.clone()),
        status: 200,
        message: String::new(),
    };
    let (status, message) = push_gem(&state, &key_sha256, &body, &mut record);
    record.status = status.as_u16();
    record.message = message.clone();
    state
        .recorder
        .record(|records| records.gems_pushed.push(record));
    plain(status, &message)
}

fn push_gem(
    state: &RubygemsState,
    key_sha256: &str,
    body: &[u8],
    record: &mut GemPushRecord,
) -> (StatusCode, String) {
    let mut registry = state.registry();
    let now = now_unix();
    let Some(key) = registry
        .keys
        .get(key_sha256)
        .filter(|key| key.expires > now)
        .cloned()
    else {
        return (
            StatusCode::UNAUTHORIZED,
            "Access Denied. Please sign up for an account at https://rubygems.org".to_owned(),
        );
    };
    let spec = match gem::read_spec(body) {
        Ok(spec) => spec,
        Err(why) => {
            tracing::debug!(%why, "rubygems push: not a gem");
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                "RubyGems.org cannot process this gem.\nPlease try rebuilding it and installing it locally to make sure it's valid.\n".to_owned(),
            );
        }
    };
    let version = spec.full_version();
    record.name = Some(spec.name.clone());
    record.version = Some(version.clone());
    let owns = registry
        .publishers
        .get(key.publisher)
        .is_some_and(|(_, gems)| gems.contains(&spec.name));
    if !owns {
        return (
            StatusCode::FORBIDDEN,
            "You are not allowed to push this gem.".to_owned(),
        );
    }
    let versions = registry.gems.entry(spec.name.clone()).or_default();
    if versions.contains_key(&version) {
        return (
            StatusCode::CONFLICT,
            "Repushing of gem versions is not allowed.\nPlease bump the version number and push a new different release.\nSee also `gem yank` if you want to unpublish the bad release.".to_owned(),
        );
    }
    versions.insert(version.clone(), Arc::new(body.to_vec()));
    (
        StatusCode::OK,
        format!("Successfully registered gem: {} ({version})", spec.name),
    )
}
