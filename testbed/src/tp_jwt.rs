//! ID-token checks shared by the crates.io, RubyGems and NuGet simulations, split into the separate steps those
//! servers report differently: format, issuer, key id, signature, time window, audience.
//!
//! Each registry maps a [`JwtFailure`] to its own wire text (crates.io: mostly `Failed to decode JWT`; RubyGems:
//! a bare 404; NuGet: one sentence per kind).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::jwt::{TrustedIssuer, unverified_claims};
use crate::records::now_unix;

/// Why an ID token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwtFailure {
    /// Not three base64url parts with a JSON header and a JSON object payload.
    Malformed,
    /// `iss` missing or not a string.
    MissingIssuer,
    /// `iss` is not the trusted issuer.
    UnsupportedIssuer(String),
    /// The header has no `kid`.
    MissingKeyId,
    /// The `kid` is not in the issuer's JWKS.
    UnknownKeyId,
    /// Not RS256, or the signature does not verify.
    BadSignature,
    /// `exp` missing or not a number.
    MissingExpiry,
    /// `exp` is past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway), or missing.
    BadIssuedAt,
    /// No `aud`.
    MissingAudience,
    /// `aud` is a list of several values.
    SeveralAudiences,
    /// `aud` is not the expected value.
    WrongAudience,
}

/// A verified ID token: its header key id and its claims.
pub(crate) struct Verified {
    pub(crate) claims: Map<String, Value>,
}

/// Peeks at the claims without verifying (for records and for the issuer lookup).
pub(crate) fn peek(token: &str) -> Option<Map<String, Value>> {
    unverified_claims(token)
}

/// The `jti` of a token, unverified (for records).
pub(crate) fn peek_jti(token: &str) -> Option<String> {
    peek(token).and_then(|claims| claims.get("jti").and_then(Value::as_str).map(str::to_owned))
}

/// Verifies `token` step by step: format, `iss` (exactly `issuer.issuer`), `kid`, RS256 signature, then `exp`,
/// `nbf`, `iat` with `leeway` seconds, then a single `aud` equal to `audience`.
pub(crate) fn check(
    token: &str,
    issuer: &TrustedIssuer,
    audience: &str,
    leeway: i64,
) -> Result<Verified, JwtFailure> {
    let claims = unverified_claims(token).ok_or(JwtFailure::Malformed)?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtFailure::Malformed)?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(JwtFailure::MissingIssuer)?;
    if iss != issuer.issuer {
        return Err(JwtFailure::UnsupportedIssuer(iss.to_owned()));
    }
    let kid = header.kid.ok_or(JwtFailure::MissingKeyId)?;
    let jwk = issuer.jwks.find(&kid).ok_or(JwtFailure::UnknownKeyId)?;
    if header.alg != Algorithm::RS256 {
        return Err(JwtFailure::BadSignature);
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| JwtFailure::BadSignature)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|_| JwtFailure::BadSignature)?
        .claims;

    let now = now_unix();
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    let exp = number("exp").ok_or(JwtFailure::MissingExpiry)?;
    if exp + leeway as f64 <= now as f64 {
        return Err(JwtFailure::Expired);
    }
    if let Some(nbf) = number("nbf")
        && nbf > (now + leeway) as f64
    {
        return Err(JwtFailure::NotYetValid);
    }
    match number("iat") {
        Some(iat) if iat <= (now + leeway) as f64 => {}
        _ => return Err(JwtFailure::BadIssuedAt),
    }
    match claims.get("aud") {
        None => Err(JwtFailure::MissingAudience),
        Some(Value::Array(items)) if items.len() > 1 => Err(JwtFailure::SeveralAudiences),
        Some(Value::Array(items)) if items.first().and_then(Value::as_str) == Some(audience) => {
            Ok(Verified { claims })
        }
        Some(Value::String(single)) if single == audience => Ok(Verified { claims }),
        Some(_) => Err(JwtFailure::WrongAudience),
    }
}

/// A string claim, if present and a string.
pub(crate) fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// `now + seconds` as unix seconds.
pub(crate) fn from_now(seconds: u64) -> i64 {
    now_unix().saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX))
}

/// Unix seconds in RFC 3339 (`2026-12-03T07:50:00Z`).
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A random string of `len` characters from `alphabet`.
pub(crate) fn random_from(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
        .collect()
}

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The value of a request header as text, if present and visible ASCII.
pub(crate) fn header_text<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
