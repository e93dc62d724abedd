//! `POST /-/npm/v1/oidc/token/exchange/package/<escaped name>`: a GitHub ID token (Bearer) in, a package-scoped
//! publish token out (201 `{"token_type":"oidc","token","created","expires"}`).
//!
//! Refusals are `{"message": "OIDC token exchange error - <reason>"}`: `bad request` (400) for a bearer that is not
//! a JWT, `unauthorized` (401) for a missing bearer, a bad signature, issuer, audience or lifetime, or a
//! self-hosted runner, `package not found` (404) for an unknown package, one without a trusted publisher, or
//! claims that do not match it (a literal `/` in the path is also a 404).

use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ExchangedToken, NpmState, names, packument};
use crate::issuer::random_token;
use crate::jwt::{unverified_claims, verify};
use crate::records::{NpmExchangeRecord, now_unix};

const PREFIX: &str = "/-/npm/v1/oidc/token/exchange/package/";

fn refusal(status: StatusCode, reason: &str) -> (StatusCode, String) {
    (status, format!("OIDC token exchange error - {reason}"))
}

/// The bearer credential of a request, if any (scheme matched case-insensitively).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim().to_owned())
}

/// The exchange route.
pub(crate) async fn exchange(
    State(state): State<Arc<NpmState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let raw = uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let package = names::percent_decode(raw).unwrap_or_else(|| raw.to_owned());
    let jwt = bearer(&headers);
    let mut record = NpmExchangeRecord {
        at: now_unix(),
        package: package.clone(),
        jti: jwt
            .as_deref()
            .and_then(unverified_claims)
            .and_then(|c| c.get("jti").and_then(Value::as_str).map(str::to_owned)),
        status: 201,
        error: None,
    };
    let outcome = if raw.contains('/') {
        Err(refusal(StatusCode::NOT_FOUND, "package not found"))
    } else {
        exchange_token(&state, &package, jwt.as_deref())
    };
    let response = match outcome {
        Ok(body) => (StatusCode::CREATED, Json(body)).into_response(),
        Err((status, message)) => {
            record.status = status.as_u16();
            record.error = Some(message.clone());
            (status, Json(json!({"message": message}))).into_response()
        }
    };
    state
        .recorder
        .record(|records| records.npm_exchanges.push(record));
    response
}

fn exchange_token(
    state: &NpmState,
    package: &str,
    jwt: Option<&str>,
) -> Result<Value, (StatusCode, String)> {
    let jwt = jwt.ok_or_else(|| refusal(StatusCode::UNAUTHORIZED, "unauthorized"))?;
    if unverified_claims(jwt).is_none() {
        return Err(refusal(StatusCode::BAD_REQUEST, "bad request"));
    }
    let claims = verify(
        jwt,
        &state.github,
        &state.audience(),
        state.config.jwt_leeway.as_secs(),
    )
    .map_err(|reason| {
        tracing::debug!(%reason, "npm exchange: ID token rejected");
        refusal(StatusCode::UNAUTHORIZED, "unauthorized")
    })?;
    if claims.get("runner_environment").and_then(Value::as_str) != Some("github-hosted") {
        return Err(refusal(StatusCode::UNAUTHORIZED, "unauthorized"));
    }
    let mut registry = state.registry();
    let publisher = registry
        .packages
        .get(package)
        .and_then(|entry| entry.publisher.clone())
        .ok_or_else(|| refusal(StatusCode::NOT_FOUND, "package not found"))?;
    if !publisher.matches(&claims) {
        return Err(refusal(StatusCode::NOT_FOUND, "package not found"));
    }
    let now = now_unix();
    let lifetime = i64::try_from(state.config.token_lifetime.as_secs()).unwrap_or(i64::MAX);
    let expires = now.saturating_add(lifetime);
    let token = format!("npm_{}", random_token(36).replace(['-', '_'], "x"));
    registry.tokens.insert(
        token.clone(),
        ExchangedToken {
            package: package.to_owned(),
            expires,
            claims,
        },
    );
    Ok(json!({
        "token_type": "oidc",
        "token": token,
        "created": packument::iso(now),
        "expires": packument::iso(expires),
    }))
}
