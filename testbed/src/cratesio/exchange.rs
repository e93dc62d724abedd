//! `POST /api/v1/trusted_publishing/tokens` (`{"jwt"}` → `{"token":"cio_tp_…"}`) and
//! `DELETE /api/v1/trusted_publishing/tokens` (Bearer or scheme-less token → 204).
//!
//! Refusals are crates.io's `{"errors":[{"detail": "…"}]}`; the exchange checks, in crates.io's order: a
//! User-Agent (403, text/plain), the JSON body (axum's rejection), the unverified JWT (`Failed to decode JWT`), the
//! issuer (`Unsupported JWT issuer: <iss>`), the key id (`Missing JWT key ID`, `Invalid JWT key ID`), the signature,
//! `iss`/`aud`/`exp`/`nbf`/`iat` with 60 s leeway and the required claims (all `Failed to decode JWT`), `jti`
//! reuse (`JWT has already been used`), the claim formats, then the configs (see `matching`).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::matching::{Presented, matching, workflow_filename};
use super::{CratesIoExchangeRecord, CratesIoState, CratesIoTokenRecord, LiveToken};
use crate::records::now_unix;
use crate::tp_jwt::{self, JwtFailure, header_text, peek_jti, sha256_hex, text};

/// The token prefix.
pub(crate) const PREFIX: &str = "cio_tp_";
const RAW_LENGTH: usize = 31;
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The body of `require_user_agent`'s 403 (`no_user_agent_message.txt`, empty request id).
const NO_USER_AGENT: &str = "We require that all requests include a `User-Agent` header.  To allow us to determine the impact your bot has on our service, we ask that your user agent actually identify your bot, and not just report the HTTP client library you're using.  Including contact information will also reduce the chance that we will need to take action against your bot.\n\nBad:\n  User-Agent: reqwest/0.9.1\n\nBetter:\n  User-Agent: my_crawler\n\nBest:\n  User-Agent: my_crawler (my_crawler.com/info)\n  User-Agent: my_crawler (help@my_crawler.com)\n\nIf you believe you've received this message in error, please email help@crates.io and include the request id .\n";

/// crates.io's error envelope.
pub(crate) fn error(status: StatusCode, detail: &str) -> Response {
    (status, Json(json!({"errors": [{"detail": detail}]}))).into_response()
}

/// The 403 a request without a (non-empty) User-Agent gets, or `None` if it has one.
pub(crate) fn require_user_agent(headers: &HeaderMap) -> Option<Response> {
    let agent = header_text(headers, header::USER_AGENT.as_str()).unwrap_or("");
    agent.is_empty().then(|| {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            NO_USER_AGENT,
        )
            .into_response()
    })
}

fn checksum(raw: &[u8]) -> u8 {
    let xor = raw.iter().fold(0u8, |acc, byte| acc ^ byte);
    ALPHANUMERIC[usize::from(xor) % ALPHANUMERIC.len()]
}

/// A fresh token: `cio_tp_` + 31 alphanumerics + checksum; and the SHA-256 of its raw part.
fn generate() -> (String, Vec<u8>) {
    let raw = tp_jwt::random_from(ALPHANUMERIC, RAW_LENGTH);
    let check = char::from(checksum(raw.as_bytes()));
    let hashed = Sha256::digest(raw.as_bytes()).to_vec();
    (format!("{PREFIX}{raw}{check}"), hashed)
}

/// Parses a `cio_tp_` token as crates.io's `AccessToken::from_str` does; the SHA-256 of its raw part.
pub(crate) fn parse(token: &str) -> Option<Vec<u8>> {
    let suffix = token.strip_prefix(PREFIX)?;
    if suffix.len() != RAW_LENGTH + 1 || !suffix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (raw, claimed) = suffix.split_at(RAW_LENGTH);
    (claimed.as_bytes().first() == Some(&checksum(raw.as_bytes())))
        .then(|| Sha256::digest(raw.as_bytes()).to_vec())
}

/// The credential of `Authorization` as crates.io's `AuthHeader` reads it: `Bearer <token>` or a bare token.
/// `Err` carries the 401 detail.
pub(crate) fn auth_header(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        "Invalid `Authorization` header: Found unexpected non-ASCII characters".to_owned()
    })?;
    let (scheme, token) = value.split_once(' ').unwrap_or(("", value));
    if !(scheme.eq_ignore_ascii_case("Bearer") || scheme.is_empty()) {
        return Err(format!(
            "Invalid `Authorization` header: Found unexpected authentication scheme `{scheme}`"
        ));
    }
    Ok(Some(token.trim().to_owned()))
}

#[derive(Deserialize)]
pub(crate) struct ExchangeRequest {
    jwt: String,
}

/// The exchange route.
pub(crate) async fn exchange(
    State(state): State<Arc<CratesIoState>>,
    headers: HeaderMap,
    body: Result<Json<ExchangeRequest>, JsonRejection>,
) -> Response {
    if let Some(refusal) = require_user_agent(&headers) {
        return refusal;
    }
    let mut record = CratesIoExchangeRecord {
        at: now_unix(),
        jti: None,
        status: 200,
        error: None,
    };
    let injected = state.faults.next();
    let outcome = match body {
        _ if injected.is_some() => {
            let status = injected
                .and_then(|code| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err((
                status,
                status.canonical_reason().unwrap_or("Error").to_owned(),
            ))
        }
        Err(rejection) => Err((rejection.status(), rejection.body_text())),
        Ok(Json(request)) => {
            record.jti = peek_jti(&request.jwt);
            issue(&state, &request.jwt).map_err(|detail| (StatusCode::BAD_REQUEST, detail))
        }
    };
    let response = match outcome {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        Err((status, detail)) => {
            record.status = status.as_u16();
            record.error = Some(detail.clone());
            let mut response = error(status, &detail);
            crate::registry_faults::decorate(status.as_u16(), &mut response);
            response
        }
    };
    state
        .recorder
        .record(|records| records.crates_io_exchanges.push(record));
    response
}

fn issue(state: &CratesIoState, jwt: &str) -> Result<String, String> {
    let decode_failed = || "Failed to decode JWT".to_owned();
    let leeway = i64::try_from(state.config.jwt_leeway.as_secs()).unwrap_or(i64::MAX);
    let verified = match tp_jwt::check(jwt, &state.github, &state.audience(), leeway) {
        Ok(verified) => verified,
        Err(JwtFailure::UnsupportedIssuer(iss)) => {
            return Err(format!("Unsupported JWT issuer: {iss}"));
        }
        Err(JwtFailure::MissingIssuer) => return Err(decode_failed()),
        Err(JwtFailure::MissingKeyId) => return Err("Missing JWT key ID".to_owned()),
        Err(JwtFailure::UnknownKeyId) => return Err("Invalid JWT key ID".to_owned()),
        Err(_) => return Err(decode_failed()),
    };
    let claims = verified.claims;
    // `GitHubClaims` needs these (strings), `aud` as one string, and numeric `iat`/`exp`.
    let required = [
        "jti",
        "repository_owner_id",
        "repository",
        "workflow_ref",
        "event_name",
        "run_id",
        "sha",
    ];
    if required.iter().any(|name| text(&claims, name).is_none())
        || !claims.get("aud").is_some_and(Value::is_string)
        || claims
            .get("environment")
            .is_some_and(|env| !env.is_string() && !env.is_null())
    {
        return Err(decode_failed());
    }
    let jti = text(&claims, "jti").unwrap_or_default().to_owned();
    let mut registry = state.registry();
    // crates.io inserts the jti inside the exchange's transaction: a refusal further down rolls it back.
    if registry.used_jtis.contains(&jti) {
        return Err("JWT has already been used".to_owned());
    }
    let repository = text(&claims, "repository").unwrap_or_default();
    if !repository.contains('/') {
        return Err("Unexpected `repository` value".to_owned());
    }
    let workflow = workflow_filename(text(&claims, "workflow_ref").unwrap_or_default())
        .ok_or_else(|| "Unexpected `workflow_ref` value".to_owned())?;
    let owner_id = text(&claims, "repository_owner_id")
        .and_then(|id| id.parse::<i32>().ok())
        .ok_or_else(|| "Unexpected `repository_owner_id` value".to_owned())?;
    let presented = Presented {
        repository,
        owner_id: i64::from(owner_id),
        workflow_filename: workflow,
        environment: text(&claims, "environment"),
    };
    let crates: BTreeSet<String> = {
        let mut configs: Vec<(u64, &str, &super::CratesIoPublisher)> = registry
            .crates
            .values()
            .flat_map(|krate| {
                krate
                    .configs
                    .iter()
                    .map(move |(sequence, config)| (*sequence, krate.name.as_str(), config))
            })
            .collect();
        configs.sort_by_key(|(sequence, _, _)| *sequence);
        let configs = configs
            .into_iter()
            .map(|(_, name, config)| (name, config))
            .collect();
        matching(configs, &presented)?
            .into_iter()
            .map(super::canonical)
            .collect()
    };

    registry.used_jtis.insert(jti.clone());
    let (token, hashed) = generate();
    let expires = tp_jwt::from_now(state.config.token_lifetime.as_secs());
    let names: Vec<String> = crates
        .iter()
        .filter_map(|key| registry.crates.get(key).map(|krate| krate.name.clone()))
        .collect();
    let token_sha256 = sha256_hex(token.as_bytes());
    let mut record_index = 0;
    state.recorder.record(|records| {
        record_index = records.crates_io_tokens.len();
        records.crates_io_tokens.push(CratesIoTokenRecord {
            at: now_unix(),
            token_sha256,
            jti,
            crates: names,
            expires,
            revoked: false,
        });
    });
    registry.tokens.insert(
        hashed,
        LiveToken {
            crates,
            expires,
            record_index,
        },
    );
    Ok(token)
}

/// The revoke route.
pub(crate) async fn revoke(
    State(state): State<Arc<CratesIoState>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = require_user_agent(&headers) {
        return refusal;
    }
    let token = match auth_header(&headers) {
        Ok(Some(token)) => token,
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "Missing `Authorization` header"),
        Err(detail) => return error(StatusCode::UNAUTHORIZED, &detail),
    };
    let Some(hashed) = parse(&token) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "Invalid `Authorization` header: Failed to parse token",
        );
    };
    let removed = state.registry().tokens.remove(&hashed);
    if let Some(live) = removed {
        state.recorder.record(|records| {
            if let Some(entry) = records.crates_io_tokens.get_mut(live.record_index) {
                entry.revoked = true;
            }
        });
    }
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_tampered_ones_do_not() {
        let (token, hashed) = generate();
        assert_eq!(token.len(), 39);
        assert_eq!(parse(&token), Some(hashed));
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(parse(&String::from_utf8(tampered).unwrap()), None);
        assert_eq!(parse("cio_tp_short"), None);
        assert_eq!(parse("pypi-abc"), None);
    }
}
