//! The GitHub Actions OIDC issuer: discovery document, JWKS, and the job's token endpoint
//! (`ACTIONS_ID_TOKEN_REQUEST_URL`).
//!
//! The token endpoint behaves like GitHub's: its URL already carries `?api-version=2.0` so clients append
//! `&audience=<aud>`; it wants `Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>` (scheme matched
//! case-insensitively) and answers 401 otherwise; without `audience` the token's `aud` is the owner's URL
//! `https://github.com/<owner>`; the answer is `{"count": <length of value>, "value": "<jwt>"}`.

mod faults;
mod identity;
mod signing;

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use url::Url;

pub use faults::{IssuerFault, IssuerFaults};
pub use identity::{
    GITHUB_ISSUER, GithubIdentity, ReusableWorkflow, RunnerEnvironment, Visibility,
};

use crate::TestbedError;
use crate::records::{IssuedToken, Recorder, now_unix};
use faults::Applied;
use signing::SigningKey;

/// The shared state of the issuer.
pub(crate) struct IssuerState {
    identity: RwLock<GithubIdentity>,
    key: SigningKey,
    request_token: String,
    plan_id: String,
    job_id: String,
    faults: IssuerFaults,
    recorder: Recorder,
    base_url: OnceLock<Url>,
}

/// A random identifier shaped like a UUID.
pub(crate) fn random_uuid() -> String {
    let hex: String = (0..32)
        .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A random token of `len` characters from the base64url alphabet.
pub(crate) fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

impl IssuerState {
    /// A new issuer signing for `identity`.
    pub(crate) fn new(
        identity: GithubIdentity,
        recorder: Recorder,
    ) -> Result<Arc<Self>, TestbedError> {
        Ok(Arc::new(Self {
            identity: RwLock::new(identity),
            key: SigningKey::generate()?,
            request_token: random_token(64),
            plan_id: random_uuid(),
            job_id: random_uuid(),
            faults: IssuerFaults::default(),
            recorder,
            base_url: OnceLock::new(),
        }))
    }

    /// Tells the issuer where it is served (once bound).
    pub(crate) fn set_base_url(&self, url: Url) {
        let _ = self.base_url.set(url);
    }

    fn base_url(&self) -> String {
        self.base_url
            .get()
            .map_or_else(|| "https://127.0.0.1/".to_owned(), Url::to_string)
    }

    /// The current identity.
    pub(crate) fn identity(&self) -> GithubIdentity {
        self.identity
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the identity; later tokens and `github_env` follow it.
    pub(crate) fn set_identity(&self, identity: GithubIdentity) {
        *self
            .identity
            .write()
            .unwrap_or_else(PoisonError::into_inner) = identity;
    }

    /// The failure knobs.
    pub(crate) fn faults(&self) -> IssuerFaults {
        self.faults.clone()
    }

    /// The JWKS document.
    pub(crate) fn jwks(&self) -> &Value {
        self.key.jwks()
    }

    /// The URL clients GET (with `&audience=` appended) for a token: `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub(crate) fn token_request_url(&self) -> String {
        format!(
            "{}_apis/distributedtask/hubs/Actions/plans/{}/jobs/{}/idtoken?api-version=2.0",
            self.base_url(),
            self.plan_id,
            self.job_id
        )
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub(crate) fn request_token(&self) -> &str {
        &self.request_token
    }

    /// The claims a token for `audience` would carry right now (fresh `jti`).
    pub(crate) fn claims_for(&self, audience: &str) -> Map<String, Value> {
        self.identity().claims(audience, &random_uuid(), now_unix())
    }

    /// Signs arbitrary claims with the issuer's key, recording the token.
    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> Result<String, TestbedError> {
        let token = self.key.sign(claims)?;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let issued = IssuedToken {
            jti: text("jti"),
            audience: text("aud"),
            issued_at: now_unix(),
            repository: text("repository"),
        };
        self.recorder
            .record(|records| records.tokens_issued.push(issued));
        Ok(token)
    }
}

/// The issuer's routes.
pub(crate) fn router(state: Arc<IssuerState>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks", get(jwks))
        .route(
            "/_apis/distributedtask/hubs/Actions/plans/{plan}/jobs/{job}/idtoken",
            get(token),
        )
        .with_state(state)
}

async fn discovery(State(state): State<Arc<IssuerState>>) -> Response {
    let base = state.base_url();
    Json(json!({
        "issuer": state.identity().issuer,
        "jwks_uri": format!("{base}.well-known/jwks"),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": [
            "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id",
            "repository_owner", "repository_owner_id", "enterprise", "enterprise_id", "run_id", "run_number",
            "run_attempt", "actor", "actor_id", "workflow", "workflow_ref", "workflow_sha", "head_ref", "base_ref",
            "event_name", "ref_type", "ref_protected", "environment", "environment_node_id", "job_workflow_ref",
            "job_workflow_sha", "repository_visibility", "runner_environment", "issuer_scope"
        ],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "repo", "repository_owner", "repository_owner_id", "workflow"],
    }))
    .into_response()
}

async fn jwks(State(state): State<Arc<IssuerState>>) -> Response {
    Json(state.jwks().clone()).into_response()
}

async fn token(
    State(state): State<Arc<IssuerState>>,
    Path((plan, job)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if plan != state.plan_id || job != state.job_id {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "The job or plan does not exist."})),
        )
            .into_response();
    }
    let mut audience_override = None;
    match state.faults.next() {
        Some(Applied::ServerError) => return server_error(),
        Some(Applied::Standing(IssuerFault::Unauthorized)) => return unauthorized(),
        Some(Applied::Standing(IssuerFault::HtmlPage { status })) => return html_page(status),
        Some(Applied::Standing(IssuerFault::WrongAudience(audience))) => {
            audience_override = Some(audience)
        }
        None => {}
    }
    if !bearer_matches(&headers, &state.request_token) {
        return unauthorized();
    }
    let identity = state.identity();
    let requested = query
        .iter()
        .find(|(key, _)| key == "audience")
        .map(|(_, value)| value.clone());
    let audience = audience_override
        .or(requested.filter(|audience| !audience.is_empty()))
        .unwrap_or_else(|| format!("https://github.com/{}", identity.owner()));
    let claims = identity.claims(&audience, &random_uuid(), now_unix());
    match state.sign(&claims) {
        Ok(value) => Json(json!({"count": value.len(), "value": value})).into_response(),
        Err(error) => {
            tracing::error!(%error, "signing failed");
            server_error()
        }
    }
}

/// Whether `Authorization` is `Bearer <expected>` (scheme case-insensitive).
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, credential)) = value.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && credential.trim() == expected
}

fn azure_error(status: StatusCode, type_key: &str, message: &str) -> Response {
    let body = json!({
        "$id": "1",
        "innerException": null,
        "message": message,
        "typeName": format!("Microsoft.TeamFoundation.Framework.Server.{type_key}, Microsoft.TeamFoundation.Framework.Server"),
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000,
    });
    (status, Json(body)).into_response()
}

fn unauthorized() -> Response {
    azure_error(
        StatusCode::UNAUTHORIZED,
        "UnauthorizedRequestException",
        "TF400813: The user '' is not authorized to access this resource.",
    )
}

fn server_error() -> Response {
    azure_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerErrorException",
        "An unexpected error occurred.",
    )
}

fn html_page(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = format!(
        "<!DOCTYPE html>\n<html>\n<head><title>{status} · GitHub</title></head>\n<body>\n<h1>Unicorn!</h1>\n\
         <p>We're having a really bad day. The Unicorns have taken over.</p>\n</body>\n</html>\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Parses the query string of a token request URL into pairs (used by tests of the env map).
#[cfg(test)]
pub(crate) fn query_pairs(url: &str) -> std::collections::HashMap<String, String> {
    Url::parse(url)
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert!(bearer_matches(&headers, "abc"));
        headers.insert(header::AUTHORIZATION, "BEARER abc".parse().unwrap());
        assert!(bearer_matches(&headers, "abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(!bearer_matches(&headers, "abc"));
        headers.insert(header::AUTHORIZATION, "Bearer abd".parse().unwrap());
        assert!(!bearer_matches(&headers, "abc"));
    }

    #[test]
    fn token_request_url_carries_the_api_version() {
        let state = IssuerState::new(GithubIdentity::default(), Recorder::default()).unwrap();
        state.set_base_url(Url::parse("https://127.0.0.1:4000/").unwrap());
        let url = state.token_request_url();
        assert!(
            url.starts_with("https://127.0.0.1:4000/_apis/distributedtask/hubs/Actions/plans/")
        );
        assert_eq!(
            query_pairs(&url).get("api-version").map(String::as_str),
            Some("2.0")
        );
    }
}
