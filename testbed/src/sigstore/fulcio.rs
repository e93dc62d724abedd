//! Fulcio v2: `POST /api/v2/signingCert` (and `GET /api/v2/trustBundle`), read from `fulcio/pkg/server`.
//!
//! In Fulcio's order: the identity token (`credentials.oidcIdentityToken`, else `Authorization: Bearer`) is
//! authenticated against the testbed's GitHub issuer (RS256 signature, `iss` known, `aud` = `sigstore`, not
//! expired); then the key: a PEM CSR (`certificateSigningRequest`, whose self-signature must verify) or a
//! `publicKeyRequest` (PEM or DER public key, with a proof of possession: an ECDSA/SHA-256 signature over the
//! token's `email` if it has one, else `sub`); then the certificate. Errors are grpc-gateway's
//! `{"code", "message", "details"}` with Fulcio's client messages: `InvalidArgument` → 400, `Internal` → 500.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::request::CertReq;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use super::SigstoreState;
use super::ca::LeafRequest;
use super::claims::CertificateIdentity;
use super::dsse::decode_b64;
use super::keys::{HashAlgorithm, PublicKey, pem_decode, pem_encode};
use crate::jwt::{TrustedIssuer, unverified_claims, verify};
use crate::records::{CertificateRecord, now_unix};

const INVALID_SIGNATURE: &str = "The signature supplied in the request could not be verified";
const INVALID_PUBLIC_KEY: &str = "The public key supplied in the request could not be parsed";
const INVALID_CSR: &str = "The certificate signing request could not be parsed";
const INVALID_IDENTITY_TOKEN: &str = "There was an error processing the identity token";
const GENERIC_CA_ERROR: &str = "error communicating with CA backend";

/// The audience Fulcio's GitHub issuer is configured with (`client-id`).
pub(crate) const FULCIO_AUDIENCE: &str = "sigstore";

/// A gRPC status rendered by grpc-gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FulcioError {
    code: u16,
    message: String,
}

impl FulcioError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        Self {
            code: 13,
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self.code {
            3 => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn into_response(self) -> Response {
        (
            self.status(),
            Json(json!({"code": self.code, "message": self.message, "details": []})),
        )
            .into_response()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default)]
    public_key_request: Option<PublicKeyRequest>,
    #[serde(default)]
    certificate_signing_request: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(default)]
    oidc_identity_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    #[serde(default)]
    public_key: Option<PublicKeyField>,
    #[serde(default)]
    proof_of_possession: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PublicKeyField {
    /// `""`, `"ECDSA"` or another `PublicKeyAlgorithm` name: Fulcio ignores it and parses `content`.
    #[serde(default)]
    #[allow(dead_code)]
    algorithm: Option<Value>,
    #[serde(default)]
    content: Option<String>,
}

/// `POST /api/v2/signingCert`.
pub(crate) async fn signing_cert(
    State(state): State<Arc<SigstoreState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = state.faults.fulcio_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if state.faults.take_fulcio_failure() {
        return FulcioError::internal(GENERIC_CA_ERROR).into_response();
    }
    match issue(&state, &headers, &body) {
        Ok(chain) => Json(json!({
            "signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}
        }))
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /api/v2/trustBundle`.
pub(crate) async fn trust_bundle(State(state): State<Arc<SigstoreState>>) -> Response {
    Json(json!({"chains": [{"certificates": [
        pem_encode("CERTIFICATE", state.ca.intermediate_der()),
        pem_encode("CERTIFICATE", state.ca.root_der()),
    ]}]}))
    .into_response()
}

/// The token: the request's credentials, else `Authorization` with its first `Bearer ` removed (grpc-gateway
/// metadata, as `extractOIDCTokenFromAuthHeader` does).
fn token(request: &Request, headers: &HeaderMap) -> String {
    let from_body = request
        .credentials
        .as_ref()
        .and_then(|credentials| credentials.oidc_identity_token.clone())
        .unwrap_or_default();
    if !from_body.is_empty() {
        return from_body;
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.replacen("Bearer ", "", 1))
        .unwrap_or_default()
}

/// Authenticates like Fulcio's issuer pool: the issuer must be configured, then the token must verify for it.
fn authenticate(token: &str, github: &TrustedIssuer) -> Result<Map<String, Value>, String> {
    let claims = unverified_claims(token).ok_or("the token is not a JWT")?;
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if issuer != github.issuer {
        return Err(format!("unknown issuer {issuer}"));
    }
    verify(token, github, FULCIO_AUDIENCE, 0)
}

fn issue(
    state: &SigstoreState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<String>, FulcioError> {
    let request: Request = serde_json::from_slice(body)
        .map_err(|error| FulcioError::invalid(format!("invalid request body: {error}")))?;
    let token = token(&request, headers);
    let claims = authenticate(&token, &state.github).map_err(|reason| {
        tracing::debug!(%reason, "Fulcio refused the identity token");
        FulcioError::invalid(INVALID_IDENTITY_TOKEN)
    })?;

    let csr = request
        .certificate_signing_request
        .as_deref()
        .filter(|csr| !csr.is_empty());
    let (spki, form) = match csr {
        Some(encoded) => (csr_public_key(encoded)?, "certificateSigningRequest"),
        None => (
            proven_public_key(request.public_key_request.as_ref(), &claims)?,
            "publicKeyRequest",
        ),
    };

    let identity = CertificateIdentity::from_claims(&claims).map_err(FulcioError::invalid)?;
    let now = u64::try_from(now_unix()).unwrap_or_default();
    let (not_before, not_after) = if state.faults.expired_certificate() {
        (now.saturating_sub(1200), now.saturating_sub(600))
    } else {
        let lifetime = state
            .faults
            .certificate_lifetime()
            .map_or(600, |lifetime| lifetime.as_secs().max(1));
        (now, now + lifetime)
    };
    let leaf_request = LeafRequest {
        spki,
        identity,
        not_before,
        not_after,
        sct_timestamp_ms: now.saturating_mul(1000),
    };
    let log_id = state.ct_key.key_id();
    let signer = if state.faults.bad_sct() {
        &state.rogue_ct_key
    } else {
        &state.ct_key
    };
    let leaf = state
        .ca
        .issue(&leaf_request, (&log_id, signer))
        .map_err(|error| {
            tracing::error!(%error, "issuing a certificate failed");
            FulcioError::internal(GENERIC_CA_ERROR)
        })?;
    let leaf_pem = pem_encode("CERTIFICATE", &leaf);
    let record = CertificateRecord {
        at: now_unix(),
        subject_alternative_name: leaf_request.identity.san_uri.clone(),
        token_jti: claims.get("jti").and_then(Value::as_str).map(str::to_owned),
        request_form: form.to_owned(),
        not_after: i64::try_from(not_after).unwrap_or(i64::MAX),
        pem: leaf_pem.clone(),
    };
    state
        .recorder
        .record(|records| records.certificates_issued.push(record));
    Ok(vec![
        leaf_pem,
        pem_encode("CERTIFICATE", state.ca.intermediate_der()),
        pem_encode("CERTIFICATE", state.ca.root_der()),
    ])
}

/// Option 1: a base64-encoded PEM CSR whose signature verifies.
fn csr_public_key(encoded: &str) -> Result<SubjectPublicKeyInfoOwned, FulcioError> {
    let pem = decode_b64(encoded).ok_or_else(|| FulcioError::invalid(INVALID_CSR))?;
    let text = String::from_utf8_lossy(&pem);
    let (label, der) = pem_decode(&text).ok_or_else(|| FulcioError::invalid(INVALID_CSR))?;
    if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
        return Err(FulcioError::invalid(INVALID_CSR));
    }
    let csr = CertReq::from_der(&der).map_err(|_| FulcioError::invalid(INVALID_CSR))?;
    let spki = csr.info.public_key.clone();
    let key = PublicKey::from_spki(&spki).map_err(|_| FulcioError::invalid(INVALID_PUBLIC_KEY))?;
    let info = csr
        .info
        .to_der()
        .map_err(|_| FulcioError::invalid(INVALID_CSR))?;
    let verified = HashAlgorithm::of_signature_algorithm(&csr.algorithm.oid).is_some_and(|hash| {
        csr.signature
            .as_bytes()
            .is_some_and(|signature| key.verify_hashed(hash, &info, signature))
    });
    if !verified {
        return Err(FulcioError::invalid(INVALID_SIGNATURE));
    }
    Ok(spki)
}

/// Option 2: a public key (PEM, or DER as raw bytes) and a signature over the challenge claim.
fn proven_public_key(
    request: Option<&PublicKeyRequest>,
    claims: &Map<String, Value>,
) -> Result<SubjectPublicKeyInfoOwned, FulcioError> {
    let content = request
        .and_then(|request| request.public_key.as_ref())
        .and_then(|key| key.content.clone())
        .unwrap_or_default();
    if content.is_empty() {
        return Err(FulcioError::invalid(INVALID_PUBLIC_KEY));
    }
    let der = match pem_decode(&content) {
        Some((label, der)) if label == "PUBLIC KEY" => der,
        Some(_) => return Err(FulcioError::invalid(INVALID_PUBLIC_KEY)),
        None => content.into_bytes(),
    };
    let spki = SubjectPublicKeyInfoOwned::from_der(&der)
        .map_err(|_| FulcioError::invalid(INVALID_PUBLIC_KEY))?;
    let key = PublicKey::from_spki(&spki).map_err(|_| FulcioError::invalid(INVALID_PUBLIC_KEY))?;

    let challenge = claims
        .get("email")
        .and_then(Value::as_str)
        .or_else(|| claims.get("sub").and_then(Value::as_str))
        .unwrap_or_default();
    let proof = request
        .and_then(|request| request.proof_of_possession.as_deref())
        .and_then(decode_b64)
        .unwrap_or_default();
    if !key.verify_hashed(HashAlgorithm::Sha256, challenge.as_bytes(), &proof) {
        return Err(FulcioError::invalid(INVALID_SIGNATURE));
    }
    Ok(spki)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_like_grpc_gateway() {
        let error = FulcioError::invalid(INVALID_IDENTITY_TOKEN);
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            FulcioError::internal(GENERIC_CA_ERROR).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn the_token_comes_from_the_body_first_then_the_bearer_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer from-header".parse().unwrap());
        let with_body: Request =
            serde_json::from_str(r#"{"credentials":{"oidcIdentityToken":"from-body"}}"#).unwrap();
        assert_eq!(token(&with_body, &headers), "from-body");
        assert_eq!(token(&Request::default(), &headers), "from-header");
        assert_eq!(token(&Request::default(), &HeaderMap::new()), "");
    }
}
