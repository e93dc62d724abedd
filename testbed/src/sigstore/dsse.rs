//! DSSE envelopes (the pre-authentication encoding every signature covers) and the Rekor `dsse` v0.0.1 canonical
//! entry body, as `rekor/pkg/types/dsse/v0.0.1` builds it.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::jcs;
use super::keys::{PublicKey, pem_decode, pem_encode};
use super::x509::ParsedCertificate;

/// The in-toto payload type.
pub(crate) const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// `PAE(type, body)` = `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub(crate) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Decodes base64 like Go's DSSE library: standard alphabet first, then URL-safe.
pub(crate) fn decode_b64(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .ok()
        .or_else(|| URL_SAFE.decode(text).ok())
}

/// One envelope signature as sent.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EnvelopeSignature {
    /// Base64 of the DER signature, kept as sent (Rekor stores it verbatim).
    pub(crate) sig: String,
}

/// A DSSE envelope as sent to Rekor.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope {
    /// The payload type.
    pub(crate) payload_type: String,
    /// Base64 of the payload.
    pub(crate) payload: String,
    /// The signatures.
    #[serde(default)]
    pub(crate) signatures: Vec<EnvelopeSignature>,
}

/// A verifier Rekor accepts for a `dsse` entry: a certificate or a bare public key (PEM), and its canonical form.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    /// The key the signatures are checked with.
    pub(crate) key: PublicKey,
    /// PEM as Rekor stores it (Go's encoding of the DER: LF, 64 columns).
    pub(crate) canonical_pem: String,
}

impl Verifier {
    /// Reads a verifier (PEM, any line endings), as `rekor/pkg/pki/x509.NewPublicKey` does.
    pub(crate) fn from_pem(text: &str) -> Result<Self, String> {
        let (label, der) = pem_decode(text).ok_or(
            "could not parse public key as x509: invalid public key: failed to decode PEM",
        )?;
        match label.as_str() {
            "CERTIFICATE" => {
                let certificate = ParsedCertificate::from_der(&der)?;
                Ok(Self {
                    key: certificate.public_key()?,
                    canonical_pem: pem_encode("CERTIFICATE", &der),
                })
            }
            "PUBLIC KEY" => Ok(Self {
                key: PublicKey::from_spki_der(&der)?,
                canonical_pem: pem_encode("PUBLIC KEY", &der),
            }),
            other => Err(format!(
                "could not parse public key as x509: unsupported PEM type {other}"
            )),
        }
    }
}

/// The canonical body (JCS bytes) of a `dsse` v0.0.1 entry for `envelope_text` (hashed exactly as sent), whose
/// signatures each verify with one of `verifiers`; `Err` is Rekor's reason.
pub(crate) fn canonical_entry(
    envelope_text: &str,
    verifiers: &[Verifier],
) -> Result<Vec<u8>, String> {
    let envelope: Envelope = serde_json::from_str(envelope_text)
        .map_err(|error| format!("could not parse envelope: {error}"))?;
    if envelope.signatures.is_empty() {
        return Err("could not verify envelope: no signatures found".to_owned());
    }
    let payload = decode_b64(&envelope.payload)
        .ok_or("could not verify envelope: illegal base64 data in payload")?;
    let signed = pae(&envelope.payload_type, &payload);

    // Like `verifyEnvelope`: every verifier must verify at least one signature, and every signature must be
    // verified by some verifier.
    let decoded: Vec<Option<Vec<u8>>> = envelope
        .signatures
        .iter()
        .map(|signature| decode_b64(&signature.sig))
        .collect();
    let mut signatures: Vec<(String, String)> = Vec::new();
    for verifier in verifiers {
        let accepted: Vec<&EnvelopeSignature> = envelope
            .signatures
            .iter()
            .zip(&decoded)
            .filter(|(_, bytes)| {
                bytes
                    .as_ref()
                    .is_some_and(|bytes| verifier.key.verify(&signed, bytes))
            })
            .map(|(signature, _)| signature)
            .collect();
        if accepted.is_empty() {
            return Err(
                "could not verify envelope: accepted signatures do not match threshold, Found: 0, Expected 1"
                    .to_owned(),
            );
        }
        for signature in accepted {
            signatures.push((
                signature.sig.clone(),
                STANDARD.encode(&verifier.canonical_pem),
            ));
        }
    }
    if envelope
        .signatures
        .iter()
        .any(|signature| !signatures.iter().any(|(sig, _)| *sig == signature.sig))
    {
        return Err("all signatures must have a key that verifies it".to_owned());
    }
    signatures.sort();
    signatures.dedup_by(|a, b| a.0 == b.0);

    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope_text.as_bytes()))},
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload))},
            "signatures": signatures
                .into_iter()
                .map(|(signature, verifier)| json!({"signature": signature, "verifier": verifier}))
                .collect::<Vec<Value>>(),
        },
    });
    jcs::canonicalize(&body)
        .map(String::into_bytes)
        .ok_or_else(|| "error generating canonicalized entry".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigstore::keys::{Curve, EcKey};

    #[test]
    fn pae_counts_bytes() {
        assert_eq!(
            pae("application/vnd.in-toto+json", "hé".as_bytes()),
            b"DSSEv1 28 application/vnd.in-toto+json 3 h\xc3\xa9".to_vec()
        );
    }

    #[test]
    fn canonical_body_hashes_the_envelope_as_sent_and_re_encodes_the_verifier() {
        let key = EcKey::generate(Curve::P256).unwrap();
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
        let signature = STANDARD.encode(key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, payload)).unwrap());
        let envelope = format!(
            r#"{{"payloadType":"{IN_TOTO_PAYLOAD_TYPE}","payload":"{}","signatures":[{{"sig":"{signature}","keyid":""}}]}}"#,
            STANDARD.encode(payload)
        );
        let crlf_pem = key.public_key_pem().replace('\n', "\r\n");
        let verifier = Verifier::from_pem(&crlf_pem).unwrap();
        assert_eq!(verifier.canonical_pem, key.public_key_pem());

        let body: Value =
            serde_json::from_slice(&canonical_entry(&envelope, &[verifier]).unwrap()).unwrap();
        assert_eq!(
            body["spec"]["envelopeHash"]["value"],
            hex::encode(Sha256::digest(envelope.as_bytes()))
        );
        assert_eq!(
            body["spec"]["payloadHash"]["value"],
            hex::encode(Sha256::digest(payload))
        );
        assert_eq!(
            body["spec"]["signatures"][0]["signature"],
            signature.as_str()
        );
        let stored = STANDARD
            .decode(body["spec"]["signatures"][0]["verifier"].as_str().unwrap())
            .unwrap();
        assert_eq!(stored, key.public_key_pem().as_bytes());

        let stranger =
            Verifier::from_pem(&EcKey::generate(Curve::P256).unwrap().public_key_pem()).unwrap();
        insta::assert_snapshot!(canonical_entry(&envelope, &[stranger]).unwrap_err(), @"could not verify envelope: accepted signatures do not match threshold, Found: 0, Expected 1");
    }
}
