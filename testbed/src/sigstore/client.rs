//! A tiny test-only Sigstore client, written from the wire formats rather than from the testbed's own code paths:
//! an ephemeral P-256 key, a Fulcio v2 request (either form), a DSSE envelope, a Rekor `dsse` submission, and the
//! v0.3 bundle and PEP 740 attestation assembled from the answers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use x509_cert::der::asn1::BitString;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};

use super::dsse::{IN_TOTO_PAYLOAD_TYPE, pae};
use super::keys::{Curve, EcKey, pem_decode, pem_decode_all, pem_encode};
use crate::Testbed;

/// An HTTP answer: status and JSON body (or the text wrapped in a string).
pub(crate) type Answer = (u16, Value);

/// The client.
pub(crate) struct TestClient {
    http: reqwest::Client,
    fulcio: url::Url,
    rekor: url::Url,
    key: EcKey,
}

/// A signed statement with everything Rekor and Fulcio said.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    /// The leaf certificate, DER.
    pub(crate) certificate: Vec<u8>,
    /// The statement bytes.
    pub(crate) payload: Vec<u8>,
    /// The DSSE signature, DER.
    pub(crate) signature: Vec<u8>,
    /// Rekor's entry (the value under the UUID).
    pub(crate) entry: Value,
}

impl TestClient {
    /// A client with a fresh key, trusting the testbed's TLS CA.
    pub(crate) fn new(testbed: &Testbed) -> Self {
        Self::for_services(testbed, testbed.fulcio_url(), testbed.rekor_url())
    }

    /// A client for explicit Fulcio and Rekor origins (on `testbed`'s TLS CA).
    pub(crate) fn for_services(testbed: &Testbed, fulcio: url::Url, rekor: url::Url) -> Self {
        let http = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(testbed.ca_pem().as_bytes()).unwrap(),
            )
            .build()
            .unwrap();
        Self {
            http,
            fulcio,
            rekor,
            key: EcKey::generate(Curve::P256).unwrap(),
        }
    }

    async fn send(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `publicKeyRequest` form, proving possession by signing `challenge`.
    pub(crate) async fn request_certificate(&self, token: &str, challenge: &str) -> Answer {
        let body = json!({
            "credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": self.key.public_key_pem()},
                "proofOfPossession": STANDARD.encode(self.key.sign(challenge.as_bytes()).unwrap()),
            },
        });
        Self::send(
            self.http
                .post(self.fulcio.join("api/v2/signingCert").unwrap())
                .json(&body),
        )
        .await
    }

    /// The CSR form (sigstore-python's): `Authorization: Bearer`, base64 of a PEM PKCS#10 request.
    pub(crate) async fn request_certificate_with_csr(&self, token: &str) -> Answer {
        let info = CertReqInfo {
            version: Version::V1,
            subject: Name::default(),
            public_key: self.key.spki().unwrap(),
            attributes: Default::default(),
        };
        let signature = self.key.sign(&info.to_der().unwrap()).unwrap();
        let csr = CertReq {
            info,
            algorithm: Curve::P256.signature_algorithm(),
            signature: BitString::from_bytes(&signature).unwrap(),
        };
        let pem = pem_encode("CERTIFICATE REQUEST", &csr.to_der().unwrap());
        Self::send(
            self.http
                .post(self.fulcio.join("api/v2/signingCert").unwrap())
                .bearer_auth(token)
                .header("accept", "application/pem-certificate-chain")
                .json(&json!({"certificateSigningRequest": STANDARD.encode(pem)})),
        )
        .await
    }

    /// The leaf DER of a successful Fulcio answer.
    pub(crate) fn leaf(answer: &Answer) -> Vec<u8> {
        let chain = answer.1["signedCertificateEmbeddedSct"]["chain"]["certificates"]
            .as_array()
            .unwrap_or_else(|| panic!("not a certificate chain: {answer:?}"));
        assert_eq!(chain.len(), 3, "leaf, intermediate, root");
        pem_decode(chain[0].as_str().unwrap()).unwrap().1
    }

    /// A DSSE envelope over `payload`: (envelope JSON text, DER signature).
    pub(crate) fn envelope(&self, payload: &[u8]) -> (String, Vec<u8>) {
        let signature = self.key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, payload)).unwrap();
        let envelope = json!({
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "payload": STANDARD.encode(payload),
            "signatures": [{"sig": STANDARD.encode(&signature), "keyid": ""}],
        });
        (envelope.to_string(), signature)
    }

    /// Submits a `dsse` entry; `verifier_pem` is sent as given (sigstore-rust sends CRLF).
    pub(crate) async fn submit(&self, envelope: &str, verifier_pem: &str) -> Answer {
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {"proposedContent": {
                "envelope": envelope,
                "verifiers": [STANDARD.encode(verifier_pem)],
            }},
        });
        Self::send(
            self.http
                .post(self.rekor.join("api/v1/log/entries").unwrap())
                .json(&body),
        )
        .await
    }

    /// GETs a Rekor path.
    pub(crate) async fn rekor_get(&self, path: &str) -> Answer {
        Self::send(self.http.get(self.rekor.join(path).unwrap())).await
    }

    /// The whole flow for `statement`: certificate (challenge `sub`), envelope, Rekor entry.
    pub(crate) async fn sign(&self, token: &str, statement: &[u8]) -> Result<Signed, Answer> {
        let subject = crate::jwt::unverified_claims(token)
            .and_then(|claims| claims.get("sub").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let answer = self.request_certificate(token, &subject).await;
        if answer.0 != 200 {
            return Err(answer);
        }
        let certificate = Self::leaf(&answer);
        let (envelope, signature) = self.envelope(statement);
        let pem = pem_encode("CERTIFICATE", &certificate).replace('\n', "\r\n");
        let (status, body) = self.submit(&envelope, &pem).await;
        if status != 201 {
            return Err((status, body));
        }
        let entry = body
            .as_object()
            .and_then(|entries| entries.values().next())
            .cloned()
            .unwrap();
        Ok(Signed {
            certificate,
            payload: statement.to_vec(),
            signature,
            entry,
        })
    }
}

/// Rekor's entry as a protobuf-JSON `TransparencyLogEntry` (hex → base64, ints as strings).
pub(crate) fn transparency_log_entry(entry: &Value, kind: &str) -> Value {
    let hex_to_b64 = |value: &Value| STANDARD.encode(hex::decode(value.as_str().unwrap()).unwrap());
    let proof = &entry["verification"]["inclusionProof"];
    json!({
        "logIndex": entry["logIndex"].to_string(),
        "logId": {"keyId": hex_to_b64(&entry["logID"])},
        "kindVersion": {"kind": kind, "version": "0.0.1"},
        "integratedTime": entry["integratedTime"].to_string(),
        "inclusionPromise": {"signedEntryTimestamp": entry["verification"]["signedEntryTimestamp"]},
        "inclusionProof": {
            "logIndex": proof["logIndex"].to_string(),
            "rootHash": hex_to_b64(&proof["rootHash"]),
            "treeSize": proof["treeSize"].to_string(),
            "hashes": proof["hashes"].as_array().unwrap().iter().map(hex_to_b64).collect::<Vec<_>>(),
            "checkpoint": {"envelope": proof["checkpoint"]},
        },
        "canonicalizedBody": entry["body"],
    })
}

impl Signed {
    /// The v0.3 bundle.
    pub(crate) fn bundle(&self) -> Value {
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": STANDARD.encode(&self.certificate)},
                "tlogEntries": [transparency_log_entry(&self.entry, "dsse")],
                "timestampVerificationData": {},
            },
            "dsseEnvelope": {
                "payloadType": IN_TOTO_PAYLOAD_TYPE,
                "payload": STANDARD.encode(&self.payload),
                "signatures": [{"sig": STANDARD.encode(&self.signature)}],
            },
        })
    }

    /// The PEP 740 attestation object (a field copy of the bundle).
    pub(crate) fn attestation(&self) -> Value {
        json!({
            "version": 1,
            "verification_material": {
                "certificate": STANDARD.encode(&self.certificate),
                "transparency_entries": [transparency_log_entry(&self.entry, "dsse")],
            },
            "envelope": {
                "statement": STANDARD.encode(&self.payload),
                "signature": STANDARD.encode(&self.signature),
            },
        })
    }
}

/// The PEM blocks of a Fulcio chain answer, DER.
pub(crate) fn chain_ders(answer: &Answer) -> Vec<Vec<u8>> {
    answer.1["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|pem| pem_decode_all(pem.as_str().unwrap()))
        .map(|(_, der)| der)
        .collect()
}

/// Whether a certificate's DER parses (sanity for chain answers).
pub(crate) fn parses(der: &[u8]) -> bool {
    x509_cert::Certificate::from_der(der).is_ok()
}
