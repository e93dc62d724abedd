//! `/_/oidc/audience`, `/_/oidc/mint-token` (and its `github` alias), `/_/oidc/burn-token`.
//!
//! The mint follows Warehouse's steps and error codes in order: `invalid-payload` (pydantic's text for the body,
//! then `malformed JWT`, then `unknown trusted publishing issuer`), `not-enabled`, `invalid-token`,
//! `invalid-pending-publisher`, `invalid-publisher` (with the matching reason), `invalid-reuse-token`. With
//! trusted publishing switched off, only `/_/oidc/audience` answers 403; the mint answers `not-enabled` after
//! the payload and issuer checks, as Warehouse's `mint_token_from_oidc` does.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::matching::{MatchError, PypiPublisher, find_publisher};
use super::pyrepr::{repr_json, repr_str, type_name};
use super::{MintedToken, PypiState, Registry, names};
use crate::issuer::{GITHUB_ISSUER, random_token};
use crate::jwt::{unverified_claims, verify};
use crate::records::{BurnRecord, MintRecord, now_unix};

/// Issuers Warehouse knows, and the service name its `not-enabled` message uses.
const KNOWN_ISSUERS: [(&str, &str); 4] = [
    (GITHUB_ISSUER, "github"),
    ("https://gitlab.com", "gitlab"),
    ("https://accounts.google.com", "google"),
    (
        "https://platform.activestate.com/api/v1/oauth/oidc",
        "activestate",
    ),
];

/// How long a spent `jti` is remembered past the token's `exp`.
const JTI_GRACE_SECS: i64 = 35;

fn disabled() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(json!({"message": "Trusted publishing functionality not enabled"})),
    )
        .into_response()
}

/// `GET /_/oidc/audience`.
pub(crate) async fn audience(State(state): State<Arc<PypiState>>) -> Response {
    if !state.config.trusted_publishing {
        return disabled();
    }
    Json(json!({"audience": state.config.audience})).into_response()
}

/// A mint refusal: `(code, description)` pairs.
type Refusal = Vec<(String, String)>;

fn refusal(code: &str, description: impl Into<String>) -> Refusal {
    vec![(code.to_owned(), description.into())]
}

/// `POST /_/oidc/mint-token`.
pub(crate) async fn mint_token(
    State(state): State<Arc<PypiState>>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let mut record = MintRecord {
        at: now_unix(),
        path: uri.path().to_owned(),
        jti: None,
        errors: Vec::new(),
        projects: Vec::new(),
        expires: None,
    };
    let outcome = mint(&state, &body, &mut record);
    let response = match outcome {
        Ok((token, expires)) => {
            Json(json!({"success": true, "token": token, "expires": expires})).into_response()
        }
        Err(errors) => {
            record.errors.clone_from(&errors);
            let errors: Vec<Value> = errors
                .into_iter()
                .map(|(code, description)| json!({"code": code, "description": description}))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"message": "Token request failed", "errors": errors})),
            )
                .into_response()
        }
    };
    state.recorder.record(|records| records.mints.push(record));
    response
}

fn mint(state: &PypiState, body: &[u8], record: &mut MintRecord) -> Result<(String, i64), Refusal> {
    let token = token_payload(body).map_err(|text| refusal("invalid-payload", text))?;
    let unverified =
        unverified_claims(&token).ok_or_else(|| refusal("invalid-payload", "malformed JWT"))?;
    record.jti = unverified
        .get("jti")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let issuer = unverified
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some((_, service)) = KNOWN_ISSUERS.iter().find(|(url, _)| *url == issuer) else {
        return Err(refusal(
            "invalid-payload",
            "unknown trusted publishing issuer",
        ));
    };
    // Warehouse's `request.flags.disallow_oidc(<the issuer's flag>)` is true when trusted publishing is off
    // altogether (`DISALLOW_OIDC`) or for this provider, and either way the mint answers `not-enabled` (only the
    // audience route answers 403).
    let provider_off = *service == "github" && !state.config.github_provider;
    if !state.config.trusted_publishing || provider_off {
        return Err(refusal(
            "not-enabled",
            format!("{service} trusted publishing functionality not enabled"),
        ));
    }
    // Only the GitHub issuer's keys are known here: tokens claiming another known issuer cannot verify.
    let claims = if *service == "github" {
        verify(
            &token,
            &state.github,
            &state.config.audience,
            state.config.jwt_leeway.as_secs(),
        )
        .map_err(|reason| {
            tracing::debug!(%reason, "ID token rejected");
            refusal("invalid-token", "malformed or invalid token")
        })?
    } else {
        return Err(refusal("invalid-token", "malformed or invalid token"));
    };

    let now = now_unix();
    let mut registry = state.registry();
    registry.used_jtis.retain(|_, until| *until > now);

    // A pending publisher first: it creates the project, unless the project already exists.
    let pending = {
        let Registry {
            pending, used_jtis, ..
        } = &*registry;
        let jti_used = |jti: &str| used_jtis.contains_key(jti);
        find_publisher(
            &claims,
            pending.iter().map(|(_, publisher)| publisher),
            jti_used,
        )
        .ok()
        .cloned()
    };
    if let Some(publisher) = pending {
        let position = registry
            .pending
            .iter()
            .position(|(_, candidate)| *candidate == publisher);
        if let Some(position) = position {
            let (project, _) = registry.pending.remove(position);
            if registry.projects.contains_key(&names::normalize(&project)) {
                return Err(refusal(
                    "invalid-pending-publisher",
                    "valid token, but project already exists",
                ));
            }
            let key = registry.ensure_project(&project);
            registry.add_publisher(key, publisher);
        }
    }

    let publisher: PypiPublisher = {
        let Registry {
            publishers,
            used_jtis,
            ..
        } = &*registry;
        let jti_used = |jti: &str| used_jtis.contains_key(jti);
        match find_publisher(
            &claims,
            publishers.iter().map(|(publisher, _)| publisher),
            jti_used,
        ) {
            Ok(publisher) => publisher.clone(),
            Err(MatchError::Reused) => {
                return Err(refusal(
                    "invalid-reuse-token",
                    "invalid token: already used",
                ));
            }
            Err(MatchError::Publisher(reason)) => {
                return Err(refusal(
                    "invalid-publisher",
                    format!("valid token, but no corresponding publisher ({reason})"),
                ));
            }
        }
    };
    let projects = registry
        .publishers
        .iter()
        .find(|(candidate, _)| *candidate == publisher)
        .map(|(_, projects)| projects.clone())
        .unwrap_or_default();

    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
    if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
        registry
            .used_jtis
            .insert(jti.to_owned(), exp.saturating_add(JTI_GRACE_SECS));
    }
    let lifetime = i64::try_from(state.config.token_lifetime.as_secs()).unwrap_or(i64::MAX);
    let expires = now.saturating_add(lifetime);
    let token = format!("pypi-AgEIcHlwaS5vcmcC{}", random_token(160));
    record.projects = projects
        .iter()
        .filter_map(|key| registry.projects.get(key).map(|p| p.name.clone()))
        .collect();
    record.expires = Some(expires);
    registry.tokens.insert(
        token.clone(),
        MintedToken {
            projects,
            expires,
            publisher,
        },
    );
    Ok((token, expires))
}

/// Reads `{"token": StrictStr}` like pydantic, with pydantic's error text.
fn token_payload(body: &[u8]) -> Result<String, String> {
    const HEADER: &str = "1 validation error for TokenPayload";
    const DOCS: &str = "https://errors.pydantic.dev/2.11/v";
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            let input = repr_str(&String::from_utf8_lossy(body));
            return Err(format!(
                "{HEADER}\n  Invalid JSON: {error} [type=json_invalid, input_value={input}, input_type=str]\n    For further information visit {DOCS}/json_invalid"
            ));
        }
    };
    let Value::Object(object) = &value else {
        return Err(format!(
            "{HEADER}\n  Input should be an object [type=model_type, input_value={}, input_type={}]\n    For further information visit {DOCS}/model_type",
            repr_json(&value),
            type_name(&value)
        ));
    };
    match object.get("token") {
        Some(Value::String(token)) => Ok(token.clone()),
        None => Err(format!(
            "{HEADER}\ntoken\n  Field required [type=missing, input_value={}, input_type=dict]\n    For further information visit {DOCS}/missing",
            repr_json(&value)
        )),
        Some(other) => Err(format!(
            "{HEADER}\ntoken\n  Input should be a valid string [type=string_type, input_value={}, input_type={}]\n    For further information visit {DOCS}/string_type",
            repr_json(other),
            type_name(other)
        )),
    }
}

/// `POST /_/oidc/burn-token` with `{"token": "<minted token>"}`: revokes the token (200 `{"success": true}`
/// whether or not it was live, so the route is no oracle); a body without a string `token` gets the mint's
/// `invalid-payload` refusal.
pub(crate) async fn burn_token(State(state): State<Arc<PypiState>>, body: Bytes) -> Response {
    if !state.config.trusted_publishing {
        return disabled();
    }
    let token = match token_payload(&body) {
        Ok(token) => token,
        Err(text) => {
            let errors = vec![json!({"code": "invalid-payload", "description": text})];
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"message": "Token request failed", "errors": errors})),
            )
                .into_response();
        }
    };
    let revoked_live_token = {
        let mut registry = state.registry();
        registry
            .tokens
            .remove(&token)
            .is_some_and(|minted| minted.expires > now_unix())
    };
    state.recorder.record(|records| {
        records.burns.push(BurnRecord {
            at: now_unix(),
            revoked_live_token,
        })
    });
    Json(json!({"success": true})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pydantic_texts() {
        insta::assert_snapshot!(token_payload(b"{}").unwrap_err(), @r"
        1 validation error for TokenPayload
        token
          Field required [type=missing, input_value={}, input_type=dict]
            For further information visit https://errors.pydantic.dev/2.11/v/missing
        ");
        insta::assert_snapshot!(token_payload(br#"{"token": 123}"#).unwrap_err(), @r"
        1 validation error for TokenPayload
        token
          Input should be a valid string [type=string_type, input_value=123, input_type=int]
            For further information visit https://errors.pydantic.dev/2.11/v/string_type
        ");
        insta::assert_snapshot!(token_payload(b"[]").unwrap_err(), @r"
        1 validation error for TokenPayload
          Input should be an object [type=model_type, input_value=[], input_type=list]
            For further information visit https://errors.pydantic.dev/2.11/v/model_type
        ");
        insta::assert_snapshot!(token_payload(b"nope").unwrap_err(), @r"
        1 validation error for TokenPayload
          Invalid JSON: expected ident at line 1 column 2 [type=json_invalid, input_value='nope', input_type=str]
            For further information visit https://errors.pydantic.dev/2.11/v/json_invalid
        ");
        assert_eq!(
            token_payload(br#"{"token": "abc", "extra": 1}"#).unwrap(),
            "abc"
        );
    }
}
