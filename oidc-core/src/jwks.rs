//! Signature verification of ID tokens against an issuer's JWKS.
//!
//! A publishing client does not need this (the registry verifies), but diagnostics do: a token
//! whose signature does not verify against the issuer it names is a different problem from a
//! trusted-publisher mismatch.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::claims::{Claims, ClaimsError};
use crate::secret::IdToken;

/// What a verified token must satisfy.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The audience the token must be for.
    pub audience: String,
    /// The issuer the token must name.
    pub issuer: String,
    /// Clock leeway in seconds (Warehouse allows 30).
    pub leeway_seconds: u64,
}

/// Why a token did not verify. Never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The header could not be read.
    #[error("the ID token's header is unreadable: {0}")]
    Header(String),
    /// No key in the JWKS has the token's `kid`.
    #[error("no key in the issuer's JWKS has the token's key id `{kid}`")]
    UnknownKey {
        /// The `kid` from the token header.
        kid: String,
    },
    /// The token is not signed with RS256.
    #[error("the ID token is signed with {0:?}; only RS256 is accepted")]
    Algorithm(Algorithm),
    /// The signature or a registered claim (exp, nbf, aud, iss) is invalid.
    #[error("the ID token failed verification: {0}")]
    Invalid(String),
    /// The payload decoded but its claims are malformed.
    #[error(transparent)]
    Claims(#[from] ClaimsError),
}

/// Verifies an RS256 ID token against a JWKS and returns its claims.
pub fn verify(
    token: &IdToken,
    jwks: &JwkSet,
    options: &VerifyOptions,
) -> Result<Claims, VerifyError> {
    let header = jsonwebtoken::decode_header(token.expose())
        .map_err(|err| VerifyError::Header(describe(&err)))?;
    if header.alg != Algorithm::RS256 {
        return Err(VerifyError::Algorithm(header.alg));
    }
    let kid = header.kid.unwrap_or_default();
    let jwk = jwks
        .keys
        .iter()
        .find(|key| key.common.key_id.as_deref() == Some(kid.as_str()))
        .or_else(|| {
            if kid.is_empty() && jwks.keys.len() == 1 {
                jwks.keys.first()
            } else {
                None
            }
        })
        .ok_or_else(|| VerifyError::UnknownKey { kid: kid.clone() })?;
    let key = DecodingKey::from_jwk(jwk).map_err(|err| VerifyError::Invalid(describe(&err)))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[options.audience.as_str()]);
    validation.set_issuer(&[options.issuer.as_str()]);
    validation.leeway = options.leeway_seconds;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let data = jsonwebtoken::decode::<Map<String, Value>>(token.expose(), &key, &validation)
        .map_err(|err| VerifyError::Invalid(describe(&err)))?;
    Ok(Claims::from_map(data.claims)?)
}

/// jsonwebtoken's error kinds, described without the input.
fn describe(err: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidToken => "not a well-formed JWT".into(),
        ErrorKind::InvalidSignature => "the signature does not match the issuer's key".into(),
        ErrorKind::ExpiredSignature => "the token has expired (`exp` is in the past)".into(),
        ErrorKind::ImmatureSignature => {
            "the token is not valid yet (`nbf` is in the future: is the clock skewed?)".into()
        }
        ErrorKind::InvalidAudience => "the `aud` claim is not the expected audience".into(),
        ErrorKind::InvalidIssuer => "the `iss` claim is not the expected issuer".into(),
        ErrorKind::MissingRequiredClaim(claim) => {
            format!("the required claim `{claim}` is missing")
        }
        ErrorKind::InvalidAlgorithm => "the key does not support the token's algorithm".into(),
        other => format!("{other:?}"),
    }
}

/// Reads a JWKS document.
pub fn parse_jwks(value: serde_json::Value) -> Result<JwkSet, VerifyError> {
    serde_json::from_value(value)
        .map_err(|err| VerifyError::Invalid(format!("the JWKS document is malformed: {err}")))
}
