//! NuGet.org, read from `NuGet/NuGetGallery` (`src/NuGetGallery/Controllers/TokenApiController.cs`,
//! `src/NuGetGallery.Services/Authentication/Federated/{FederatedCredentialService,FederatedCredentialPolicyEvaluator,
//! GitHubTokenPolicyValidator,TokenPolicyValidator}.cs`, `src/NuGetGallery/Controllers/ApiController.cs`,
//! `src/NuGetGallery/Strings.resx`): the trusted-publishing token API and package push.
//!
//! `POST /api/v2/token` with the ID token as `Authorization: Bearer`, `Content-Type: application/json`, a
//! User-Agent and `{"username","tokenType":"ApiKey"}` → 200 `{"tokenType":"ApiKey","expires":"<O format>",
//! "apiKey":"<84 chars>"}`. Every refusal is `{"error": "<message>"}` with the message also as the reason
//! phrase; 401s carry `WWW-Authenticate: Bearer`. Policies of the named user are tried oldest first; the
//! "disclosable" mismatches (missing claims, `job_workflow_ref` prefix, workflow file, environment, banned event)
//! are joined into one message, the others (owner, repository, locked ids) give
//! `No matching trust policy owned by user '<u>' was found.`. The repository owner and repository ids are locked
//! on a policy's first use. An ID token (`jti`) can be exchanged once.
//!
//! `PUT /api/v2/package` with `X-NuGet-ApiKey` and the `.nupkg` (multipart or raw) → 201; 401 without a key,
//! 403 for an unknown or expired one, 409 for a version that exists.

mod push;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use crate::jwt::TrustedIssuer;
use crate::records::{Recorder, now_unix};
use crate::tp_jwt::{self, JwtFailure, header_text, peek_jti, sha256_hex, text};

/// How the simulated NuGet.org behaves.
#[derive(Debug, Clone)]
pub struct NugetConfig {
    /// `FederatedCredential.NuGetAudience`; NuGet/login's default is `https://www.nuget.org`.
    pub audience: String,
    /// Lifetime of exchanged API keys (`ShortLivedApiKeyDuration`; the class default is 15 minutes).
    pub key_lifetime: Duration,
    /// Clock skew tolerated on `exp`/`nbf` (Microsoft.IdentityModel's default: 5 minutes).
    pub jwt_leeway: Duration,
    /// `BannedGitHubActionsEvents` (production's list is not public; none by default).
    pub banned_events: Vec<String>,
    /// Largest accepted push body, in bytes.
    pub max_package_size: usize,
}

impl Default for NugetConfig {
    fn default() -> Self {
        Self {
            audience: "https://www.nuget.org".to_owned(),
            key_lifetime: Duration::from_secs(15 * 60),
            jwt_leeway: Duration::from_secs(300),
            banned_events: Vec::new(),
            max_package_size: 64 * 1024 * 1024,
        }
    }
}

/// A GitHub Actions trust policy on NuGet.org, created by a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NugetPolicy {
    /// The policy's name (shown in mismatch messages).
    pub name: String,
    /// `repository_owner` (compared case-insensitively).
    pub repository_owner: String,
    /// The repository name (compared case-insensitively as `owner/name` with `repository`).
    pub repository: String,
    /// The workflow file under `.github/workflows/`, matched case-insensitively against `job_workflow_ref`.
    pub workflow_file: String,
    /// Required environment (case-insensitive), if any.
    pub environment: Option<String>,
    /// The package owner whose packages the keys may push; `None` means the creating user.
    pub package_owner: Option<String>,
}

impl NugetPolicy {
    /// A policy for `owner/repo` and `workflow_file`, named after the repository.
    pub fn new(owner: &str, repo: &str, workflow_file: &str) -> Self {
        Self {
            name: repo.to_owned(),
            repository_owner: owner.to_owned(),
            repository: repo.to_owned(),
            workflow_file: workflow_file.to_owned(),
            environment: None,
            package_owner: None,
        }
    }

    /// The same policy, requiring `environment` (or none with `None`).
    #[must_use]
    pub fn environment(mut self, environment: Option<&str>) -> Self {
        self.environment = environment.map(str::to_owned);
        self
    }

    /// The same policy under another name.
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// The same policy, scoped to the packages of `owner` (an organisation the user administers).
    #[must_use]
    pub fn package_owner(mut self, owner: &str) -> Self {
        self.package_owner = Some(owner.to_owned());
        self
    }
}

/// One `POST /api/v2/token` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NugetExchangeRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The `username` of the body, if any.
    pub username: Option<String>,
    /// The `jti` of the bearer JWT, when it could be read.
    pub jti: Option<String>,
    /// The HTTP status of the answer (200 on success).
    pub status: u16,
    /// The `error` of a refusal.
    pub error: Option<String>,
}

/// An API key the token API issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NugetKeyRecord {
    /// When it was issued (unix seconds).
    pub at: i64,
    /// Hex SHA-256 of the key.
    pub key_sha256: String,
    /// The user whose policy matched.
    pub username: String,
    /// The matched policy's name.
    pub policy: String,
    /// The `jti` of the ID token it was exchanged for.
    pub jti: String,
    /// When it expires (unix seconds).
    pub expires: i64,
}

/// One `PUT /api/v2/package` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NugetPushRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The package id, when the package could be read.
    pub id: Option<String>,
    /// The package version, when the package could be read.
    pub version: Option<String>,
    /// Hex SHA-256 of the `X-NuGet-ApiKey` value, if one was sent.
    pub key_sha256: Option<String>,
    /// The HTTP status of the answer (201 on success).
    pub status: u16,
    /// The message of a refusal (also the reason phrase).
    pub error: Option<String>,
}

/// A package version NuGet.org holds, as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NugetPackage {
    /// The package id as pushed.
    pub id: String,
    /// The version as pushed.
    pub version: String,
    /// The `.nupkg` bytes.
    pub nupkg: Vec<u8>,
}

#[derive(Debug, Clone)]
struct StoredPolicy {
    policy: NugetPolicy,
    /// `repository_owner_id` and `repository_id`, locked on first use.
    locked_ids: Option<(String, String)>,
}

#[derive(Debug, Clone)]
struct LiveKey {
    package_owner: String,
    expires: i64,
}

#[derive(Debug, Default)]
struct Registry {
    /// Policies by (lowercased) creating user, oldest first.
    policies: BTreeMap<String, Vec<StoredPolicy>>,
    keys: HashMap<String, LiveKey>,
    used_jtis: HashSet<String>,
    /// Packages by lowercased id.
    packages: BTreeMap<String, StoredPackage>,
}

/// A package registration: its owner, its id as first pushed, and its versions.
#[derive(Debug, Clone, Default)]
struct StoredPackage {
    owner: String,
    id: String,
    versions: BTreeMap<String, Arc<Vec<u8>>>,
}

/// The shared state of the simulated NuGet.org.
pub(crate) struct NugetState {
    config: NugetConfig,
    github: TrustedIssuer,
    registry: Mutex<Registry>,
    recorder: Recorder,
    pub(crate) base_url: OnceLock<Url>,
    /// The token API's failure knobs.
    pub(crate) faults: crate::RegistryFaults,
}

impl NugetState {
    pub(crate) fn new(config: NugetConfig, github: TrustedIssuer, recorder: Recorder) -> Arc<Self> {
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

    /// The audience the token API requires.
    pub(crate) fn audience(&self) -> String {
        self.config.audience.clone()
    }

    /// Adds a trust policy created by `user` (the user exists once it has a policy).
    pub(crate) fn add_policy(&self, user: &str, policy: NugetPolicy) {
        let policy = NugetPolicy {
            package_owner: Some(
                policy
                    .package_owner
                    .clone()
                    .unwrap_or_else(|| user.to_owned()),
            ),
            ..policy
        };
        self.registry()
            .policies
            .entry(user.to_lowercase())
            .or_default()
            .push(StoredPolicy {
                policy,
                locked_ids: None,
            });
    }

    /// The versions of a package (any case of the id).
    pub(crate) fn packages(&self, id: &str) -> Vec<NugetPackage> {
        self.registry()
            .packages
            .get(&id.to_lowercase())
            .map(|package| {
                package
                    .versions
                    .iter()
                    .map(|(version, file)| NugetPackage {
                        id: package.id.clone(),
                        version: version.clone(),
                        nupkg: file.as_ref().clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The routes of the simulated NuGet.org.
pub(crate) fn router(state: Arc<NugetState>) -> Router {
    let limit = state.config.max_package_size.saturating_add(1024 * 1024);
    Router::new()
        .route("/api/v2/token", post(token))
        .route("/api/v2/package", put(push::push))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// NuGet's error answer: `{"error": message}` with the message as the reason phrase too.
pub(crate) fn error_json(status: StatusCode, message: &str) -> Response {
    let mut response = (status, Json(json!({ "error": message }))).into_response();
    set_reason(&mut response, message);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Puts `message` in the status line (best effort, like `Response.StatusDescription`).
pub(crate) fn set_reason(response: &mut Response, message: &str) {
    let phrase: String = message
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(phrase.into_bytes()) {
        response.extensions_mut().insert(reason);
    }
}

/// A refusal: status and message.
type Refusal = (StatusCode, String);

fn unauthorized(message: impl Into<String>) -> Refusal {
    (StatusCode::UNAUTHORIZED, message.into())
}

fn bad_request(message: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, message.into())
}

/// `TryGetBearerToken`.
fn bearer_token(headers: &HeaderMap) -> Result<String, Refusal> {
    let values: Vec<&HeaderValue> = headers.get_all(header::AUTHORIZATION).iter().collect();
    let value = match values.as_slice() {
        [] => return Err(unauthorized("The Authorization header is missing.")),
        [one] => one.to_str().unwrap_or(""),
        _ => return Err(unauthorized("Only one Authorization header is allowed.")),
    };
    let prefix = "Bearer ";
    if value.len() < prefix.len() || !value[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return Err(unauthorized(
            "The Authorization header value must start with 'Bearer '.",
        ));
    }
    let token = value[prefix.len()..].trim();
    if token.is_empty() {
        return Err(unauthorized(
            "The bearer token is missing from the Authorization header.",
        ));
    }
    Ok(token.to_owned())
}

/// A body property, matched case-insensitively like MVC model binding.
fn property(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, value)| value.as_str())
        .map(str::to_owned)
}

async fn token(State(state): State<Arc<NugetState>>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed: Map<String, Value> = serde_json::from_slice(&body).unwrap_or_default();
    let username = property(&parsed, "username");
    let mut record = NugetExchangeRecord {
        at: now_unix(),
        username: username.clone(),
        jti: bearer_token(&headers).ok().as_deref().and_then(peek_jti),
        status: 200,
        error: None,
    };
    let injected = state.faults.next();
    let outcome = match injected {
        Some(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err((status, "An unexpected error occurred.".to_owned()))
        }
        None => create_token(&state, &headers, &parsed),
    };
    let response = match outcome {
        Ok(body) => Json(body).into_response(),
        Err((status, message)) => {
            record.status = status.as_u16();
            record.error = Some(message.clone());
            let mut response = error_json(status, &message);
            crate::registry_faults::decorate(status.as_u16(), &mut response);
            response
        }
    };
    state
        .recorder
        .record(|records| records.nuget_exchanges.push(record));
    response
}

fn create_token(
    state: &NugetState,
    headers: &HeaderMap,
    body: &Map<String, Value>,
) -> Result<Value, Refusal> {
    let bearer = bearer_token(headers)?;
    let content_type = header_text(headers, header::CONTENT_TYPE.as_str()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The request must have a Content-Type of 'application/json'.".to_owned(),
        ));
    }
    if header_text(headers, header::USER_AGENT.as_str()).is_none_or(|ua| ua.trim().is_empty()) {
        return Err(bad_request("A User-Agent header is required."));
    }
    let username = property(body, "username")
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| bad_request("The username property in the request body is required."))?;
    if property(body, "tokenType").as_deref() != Some("ApiKey") {
        return Err(bad_request(
            "The tokenType property in the request body is required and must set to 'ApiKey'.",
        ));
    }
    let no_match = || {
        unauthorized(format!(
            "No matching trust policy owned by user '{username}' was found."
        ))
    };

    let mut registry = state.registry();
    if !registry.policies.contains_key(&username.to_lowercase()) {
        return Err(no_match());
    }
    let leeway = i64::try_from(state.config.jwt_leeway.as_secs()).unwrap_or(i64::MAX);
    let claims = validate(state, &bearer, leeway).map_err(unauthorized)?;
    let jti = text(&claims, "jti").unwrap_or_default().to_owned();

    let banned = &state.config.banned_events;
    let policies = registry
        .policies
        .get_mut(&username.to_lowercase())
        .ok_or_else(no_match)?;
    let mut disclosable: Vec<String> = Vec::new();
    let mut matched = None;
    for stored in policies.iter_mut() {
        match evaluate(stored, &claims, banned) {
            Ok(()) => {
                matched = Some(stored.policy.clone());
                break;
            }
            Err(Some(message)) => disclosable.push(message),
            Err(None) => {}
        }
    }
    let Some(policy) = matched else {
        if disclosable.is_empty() {
            return Err(no_match());
        }
        let mut joined = String::new();
        for message in disclosable {
            if !joined.is_empty() {
                if !joined.ends_with('.') {
                    joined.push('.');
                }
                joined.push(' ');
            }
            joined.push_str(&message);
        }
        return Err(unauthorized(joined));
    };
    if !registry.used_jtis.insert(jti.clone()) {
        return Err(unauthorized(
            "This bearer token has already been used. A new bearer token must be used for each request.",
        ));
    }
    let expires = tp_jwt::from_now(state.config.key_lifetime.as_secs());
    let key = api_key(expires);
    let key_sha256 = sha256_hex(key.as_bytes());
    let package_owner = policy
        .package_owner
        .clone()
        .unwrap_or_else(|| username.clone());
    registry.keys.insert(
        key_sha256.clone(),
        LiveKey {
            package_owner,
            expires,
        },
    );
    state.recorder.record(|records| {
        records.nuget_keys.push(NugetKeyRecord {
            at: now_unix(),
            key_sha256,
            username: username.clone(),
            policy: policy.name.clone(),
            jti,
            expires,
        });
    });
    Ok(json!({
        "tokenType": "ApiKey",
        "expires": dotnet_o(expires),
        "apiKey": key,
    }))
}

/// The base validation of `ValidateJwtByIssuerAsync`, with its user-facing messages.
fn validate(state: &NugetState, bearer: &str, leeway: i64) -> Result<Map<String, Value>, String> {
    let claims =
        tp_jwt::peek(bearer).ok_or("The bearer token could not be parsed as a JSON web token.")?;
    match claims.get("aud") {
        Some(Value::Array(items)) if items.len() != 1 => {
            return Err("The JSON web token must have exactly one aud claim value.".to_owned());
        }
        None => return Err("The JSON web token must have an aud claim.".to_owned()),
        _ => {}
    }
    let iss = text(&claims, "iss").ok_or("The JSON web token must have an iss claim.")?;
    let https = Url::parse(iss).is_ok_and(|url| url.scheme() == "https");
    if !https {
        return Err("The JSON web token iss claim must be a valid HTTPS URL.".to_owned());
    }
    match tp_jwt::check(bearer, &state.github, &state.config.audience, leeway) {
        Ok(verified) => {
            if text(&verified.claims, "jti").is_none_or(str::is_empty) {
                return Err("The JSON web token could not be validated.".to_owned());
            }
            Ok(verified.claims)
        }
        Err(failure) => Err(match failure {
            JwtFailure::UnsupportedIssuer(_) => "The JSON web token iss claim is not supported.",
            JwtFailure::Expired => "The JSON web token has expired.",
            JwtFailure::NotYetValid => "The JSON web token is not yet valid.",
            JwtFailure::WrongAudience => "The JSON web token has an incorrect audience.",
            JwtFailure::BadSignature | JwtFailure::UnknownKeyId | JwtFailure::MissingKeyId => {
                "The JSON web token has an invalid signature."
            }
            _ => "The JSON web token could not be validated.",
        }
        .to_owned()),
    }
}

/// `GitHubTokenPolicyValidator.EvaluatePolicyAsync`: `Ok` on a match, `Err(Some(message))` for a disclosable
/// mismatch, `Err(None)` for one that is not disclosed.
fn evaluate(
    stored: &mut StoredPolicy,
    claims: &Map<String, Value>,
    banned_events: &[String],
) -> Result<(), Option<String>> {
    let missing = |claim: &str| {
        Some(format!(
            "The JSON Web Token is missing the required claim '{claim}'."
        ))
    };
    let required = |claim: &'static str| -> Result<String, Option<String>> {
        text(claims, claim)
            .filter(|value| !value.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| missing(claim))
    };
    let repository = required("repository")?;
    let repository_owner = required("repository_owner")?;
    let owner_id = required("repository_owner_id")?;
    let repository_id = required("repository_id")?;
    let event_name = required("event_name")?;
    let policy = &stored.policy;
    if !repository_owner.eq_ignore_ascii_case(&policy.repository_owner)
        || !repository.eq_ignore_ascii_case(&format!(
            "{}/{}",
            policy.repository_owner, policy.repository
        ))
    {
        return Err(None);
    }
    match &stored.locked_ids {
        None => stored.locked_ids = Some((owner_id, repository_id)),
        Some((locked_owner, locked_repo)) => {
            if *locked_owner != owner_id || *locked_repo != repository_id {
                return Err(None);
            }
        }
    }
    let policy = &stored.policy;
    if banned_events
        .iter()
        .any(|banned| banned.eq_ignore_ascii_case(&event_name))
    {
        return Err(Some(format!(
            "The GitHub Actions event '{event_name}' is not allowed."
        )));
    }
    let workflow_ref = required("job_workflow_ref")?;
    let prefix = format!(
        "{}/{}/.github/workflows/",
        policy.repository_owner, policy.repository
    );
    let starts = workflow_ref.len() > prefix.len()
        && workflow_ref
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(&prefix));
    let at = workflow_ref
        .get(prefix.len()..)
        .filter(|_| starts)
        .and_then(|rest| rest.find('@'));
    let Some(at) = at else {
        return Err(Some(format!(
            "Claim 'job_workflow_ref' has value '{workflow_ref}' which does not start with {prefix}."
        )));
    };
    let workflow_file = &workflow_ref[prefix.len()..prefix.len() + at];
    if !workflow_file.eq_ignore_ascii_case(&policy.workflow_file) {
        return Err(Some(format!(
            "Workflow mismatch for policy '{}': expected '{}', actual '{workflow_file}'",
            policy.name, policy.workflow_file
        )));
    }
    if let Some(expected) = policy
        .environment
        .as_deref()
        .filter(|e| !e.trim().is_empty())
    {
        let actual = text(claims, "environment")
            .filter(|e| !e.trim().is_empty())
            .unwrap_or("");
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(Some(format!(
                "Environment mismatch for policy '{}': expected '{expected}', actual '{actual}'",
                policy.name
            )));
        }
    }
    Ok(())
}

/// An API key shaped like NuGet's ApiKeyV5 (84 characters, `JQQJ99` signature, `NUGT` tag).
fn api_key(expires: i64) -> String {
    const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let random = tp_jwt::random_from(LOWER, 52);
    let owner = tp_jwt::random_from(BASE62, 6);
    let when = tp_jwt::random_from(BASE62, 5);
    let expiry_units = (expires.rem_euclid(62 * 62 * 62) / 300).to_string();
    let expiry = format!("{expiry_units:0>3}");
    let expiry = &expiry[expiry.len() - 3..];
    let check = tp_jwt::random_from(BASE62, 4);
    format!("{random}JQQJ99{when}N5P{owner}S{expiry}NUGT{check}")
}

/// .NET's `DateTimeOffset.ToString("O")` for a UTC time: `2026-12-03T07:50:00.0000000+00:00`.
fn dotnet_o(unix: i64) -> String {
    let text = tp_jwt::rfc3339(unix);
    match text.strip_suffix('Z') {
        Some(stem) => format!("{stem}.0000000+00:00"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_84_characters() {
        let key = api_key(1_800_000_000);
        assert_eq!(key.len(), 84, "{key}");
        assert!(key.contains("JQQJ99") && key.contains("NUGT"));
    }

    #[test]
    fn o_format() {
        assert_eq!(dotnet_o(0), "1970-01-01T00:00:00.0000000+00:00");
    }
}
