//! How the simulated registries read and verify a GitHub ID token: an unverified peek at the claims (to pick the
//! issuer), then RS256 verification against the issuer's JWKS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::records::now_unix;

/// An issuer a registry trusts, with the keys it verifies that issuer's tokens with.
#[derive(Clone)]
pub(crate) struct TrustedIssuer {
    /// The exact `iss` value.
    pub(crate) issuer: String,
    /// The issuer's published keys.
    pub(crate) jwks: JwkSet,
}

/// Decodes the payload of a compact JWS without checking anything: the first step of Warehouse's mint
/// (`malformed JWT` when this fails).
pub(crate) fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?).ok()?;
    header.as_object()?;
    match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
        .ok()?
    {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// Verifies `token` like PyJWT does for Warehouse: RS256 with a JWKS key chosen by `kid`; `iss`, `iat`, `exp`,
/// `aud` required; `iss` must equal the issuer; `nbf` checked when present; exactly one audience, equal to
/// `audience` (`strict_aud`); `leeway` seconds of clock skew tolerated. The error text is for logs only.
pub(crate) fn verify(
    token: &str,
    issuer: &TrustedIssuer,
    audience: &str,
    leeway: u64,
) -> Result<Map<String, Value>, String> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|error| format!("bad header: {error}"))?;
    if header.alg != Algorithm::RS256 {
        return Err(format!("algorithm {:?} is not RS256", header.alg));
    }
    let kid = header.kid.ok_or("the header has no kid")?;
    let jwk = issuer
        .jwks
        .find(&kid)
        .ok_or_else(|| format!("no key with kid {kid} in the issuer's JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|error| format!("unusable JWK {kid}: {error}"))?;

    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = leeway;
    validation.set_required_spec_claims(&["iss", "exp", "aud"]);
    validation.set_issuer(&[issuer.issuer.as_str()]);
    validation.validate_nbf = true;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|error| format!("verification failed: {error}"))?
        .claims;

    let leeway = i64::try_from(leeway).unwrap_or(i64::MAX);
    match claims.get("iat").and_then(Value::as_f64) {
        None => return Err("the token has no numeric iat".to_owned()),
        Some(iat) if iat > (now_unix().saturating_add(leeway)) as f64 => {
            return Err("iat is in the future".to_owned());
        }
        Some(_) => {}
    }
    let audiences: Vec<&Value> = match claims.get("aud") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
        None => Vec::new(),
    };
    match audiences.as_slice() {
        [only] if only.as_str() == Some(audience) => Ok(claims),
        [_] => Err(format!("audience does not match {audience}")),
        _ => Err("the token must carry exactly one audience".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unverified_claims_needs_three_parts_and_json_objects() {
        let encode = |text: &str| URL_SAFE_NO_PAD.encode(text);
        let good = format!(
            "{}.{}.sig",
            encode(r#"{"alg":"RS256"}"#),
            encode(r#"{"iss":"x"}"#)
        );
        assert_eq!(unverified_claims(&good).unwrap()["iss"], "x");
        assert!(unverified_claims("a.b").is_none());
        assert!(unverified_claims(&format!("{good}.extra")).is_none());
        assert!(unverified_claims(&format!("{}.{}.sig", encode("{}"), encode("[1]"))).is_none());
        assert!(unverified_claims("not a jwt at all").is_none());
    }
}
