//! Sigstore bundle → PEP 740 attestation object: a pure field copy, refused for bundles the
//! attestation object cannot carry.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::json;
use super::object::{Attestation, BUNDLE_V03_MEDIA_TYPE};
use super::statement::IN_TOTO_PAYLOAD_TYPE;

/// The other spelling of the v0.3 bundle media type, which sigstore-python also reads.
const BUNDLE_V03_MEDIA_TYPE_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";

/// Why a Sigstore bundle cannot become a PEP 740 attestation object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// Not JSON, or not shaped like a Sigstore bundle.
    #[error("the Sigstore bundle cannot be read: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// Not a v0.3 bundle.
    #[error(
        "the Sigstore bundle has media type {found:?}; a PEP 740 attestation is made from a v0.3 \
         bundle ({BUNDLE_V03_MEDIA_TYPE}, a single leaf certificate): sign again with a current \
         Sigstore client"
    )]
    MediaType {
        /// The bundle's `mediaType` (empty when absent).
        found: String,
    },
    /// The bundle carries a certificate chain (v0.1/v0.2 layout) or a public key, not the single
    /// leaf certificate of a v0.3 bundle.
    #[error(
        "the Sigstore bundle's verification material is {found}, not a single certificate: a PEP \
         740 attestation holds exactly one Fulcio leaf certificate (verificationMaterial.certificate \
         of a v0.3 bundle), so sign keylessly with a current Sigstore client"
    )]
    NotACertificate {
        /// What the bundle has instead (`an x509CertificateChain`, `a public key`, `missing`).
        found: &'static str,
    },
    /// A message signature (hashedrekord) instead of a DSSE envelope.
    #[error(
        "the Sigstore bundle holds {found} instead of a DSSE envelope: a PEP 740 attestation is a \
         DSSE-signed in-toto statement, so sign the statement as DSSE (not the file itself)"
    )]
    NotDsse {
        /// What the bundle has instead (`a message signature`, `no signed content`).
        found: &'static str,
    },
    /// The DSSE payload is not an in-toto statement.
    #[error(
        "the Sigstore bundle's DSSE payloadType is {found:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}: \
         PEP 740 attestations sign in-toto statements"
    )]
    PayloadType {
        /// The envelope's `payloadType`.
        found: String,
    },
    /// Not exactly one DSSE signature.
    #[error(
        "expected exactly one signature, got {count}: a PEP 740 attestation carries the one DSSE \
         signature of its certificate"
    )]
    SignatureCount {
        /// How many signatures the envelope has.
        count: usize,
    },
    /// Not exactly one transparency log entry.
    #[error(
        "the Sigstore bundle has {count} transparency log entries, expected exactly one: PEP 740 \
         needs the signature's Rekor entry, so sign with a transparency log (Rekor v1)"
    )]
    TlogEntryCount {
        /// How many entries it has.
        count: usize,
    },
    /// The entry is not a Rekor v1 `dsse` 0.0.1 entry.
    #[error(
        "the transparency log entry is {kind} {version}, not dsse 0.0.1: PEP 740 attestations need \
         a Rekor v1 dsse entry{advice}"
    )]
    KindVersion {
        /// `kindVersion.kind`.
        kind: String,
        /// `kindVersion.version`.
        version: String,
        /// What to do, depending on the entry.
        advice: &'static str,
    },
    /// A part of the Rekor v1 entry that PEP 740 verification relies on is missing.
    #[error("the transparency log entry has no {field}: {why}; sign again against Rekor v1")]
    IncompleteEntry {
        /// The missing field (`integratedTime`, `inclusionPromise`, `inclusionProof.checkpoint`).
        field: &'static str,
        /// Why PEP 740 needs it.
        why: &'static str,
    },
}

/// A bundle as far as the conversion reads it. Unknown keys are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleWire {
    #[serde(default)]
    media_type: String,
    verification_material: Option<MaterialWire>,
    message_signature: Option<Value>,
    dsse_envelope: Option<DsseEnvelopeWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaterialWire {
    certificate: Option<CertificateWire>,
    x509_certificate_chain: Option<Value>,
    public_key: Option<Value>,
    #[serde(default)]
    tlog_entries: Vec<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertificateWire {
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseEnvelopeWire {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<SignatureWire>,
}

#[derive(Deserialize)]
struct SignatureWire {
    sig: String,
}

const REKOR_V2_ADVICE: &str = ". Rekor v2 entries cannot be used for PEP 740 yet: they have no \
     integrated time and the attestation object has no room for the RFC 3161 timestamp that \
     replaces it; sign against a Rekor v1 log";

impl Attestation {
    /// Converts a Sigstore bundle (JSON) into a PEP 740 attestation object, as pypi-attestations'
    /// `Attestation.from_bundle` does: the leaf certificate, the transparency log entry verbatim,
    /// the DSSE payload as the statement and the one DSSE signature.
    ///
    /// Only what PEP 740 can carry is accepted: a v0.3 bundle with a single certificate, a DSSE
    /// envelope of an in-toto statement with exactly one signature, and exactly one Rekor v1
    /// `dsse` 0.0.1 entry with its integrated time, signed entry timestamp and inclusion proof
    /// (with checkpoint). The bundle is not verified here.
    pub fn from_bundle_json(bundle: &str) -> Result<Self, ConvertError> {
        let wire: BundleWire =
            serde_json::from_str(bundle).map_err(|err| ConvertError::Malformed {
                reason: err.to_string(),
            })?;
        if wire.media_type != BUNDLE_V03_MEDIA_TYPE && wire.media_type != BUNDLE_V03_MEDIA_TYPE_ALT
        {
            return Err(ConvertError::MediaType {
                found: wire.media_type,
            });
        }
        let material = wire
            .verification_material
            .ok_or_else(|| malformed("it has no verificationMaterial"))?;
        let certificate = match (
            material.certificate,
            material.x509_certificate_chain,
            material.public_key,
        ) {
            (Some(certificate), None, None) => decode(
                "verificationMaterial.certificate.rawBytes",
                &certificate.raw_bytes,
            )?,
            (_, Some(_), _) => {
                return Err(ConvertError::NotACertificate {
                    found: "an x509CertificateChain",
                });
            }
            (_, _, Some(_)) => {
                return Err(ConvertError::NotACertificate {
                    found: "a public key",
                });
            }
            (None, None, None) => return Err(ConvertError::NotACertificate { found: "missing" }),
        };
        let envelope = match (wire.dsse_envelope, wire.message_signature) {
            (Some(envelope), None) => envelope,
            (_, Some(_)) => {
                return Err(ConvertError::NotDsse {
                    found: "a message signature",
                });
            }
            (None, None) => {
                return Err(ConvertError::NotDsse {
                    found: "no signed content",
                });
            }
        };
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(ConvertError::PayloadType {
                found: envelope.payload_type,
            });
        }
        let [signature] = envelope.signatures.as_slice() else {
            return Err(ConvertError::SignatureCount {
                count: envelope.signatures.len(),
            });
        };
        let signature = decode("dsseEnvelope.signatures[0].sig", &signature.sig)?;
        let statement = decode("dsseEnvelope.payload", &envelope.payload)?;
        let mut entries = material.tlog_entries;
        if entries.len() != 1 {
            return Err(ConvertError::TlogEntryCount {
                count: entries.len(),
            });
        }
        check_entry(&entries[0])?;
        entries.truncate(1);
        Ok(Self {
            certificate,
            transparency_entries: entries,
            statement,
            signature,
        })
    }
}

fn malformed(reason: &str) -> ConvertError {
    ConvertError::Malformed {
        reason: reason.to_owned(),
    }
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, ConvertError> {
    json::decode_base64(text).ok_or_else(|| malformed(&format!("{field} is not base64")))
}

/// Checks that a transparency log entry is one a PEP 740 verifier can use.
fn check_entry(entry: &Map<String, Value>) -> Result<(), ConvertError> {
    let text = |value: Option<&Value>| match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let kind_version = entry.get("kindVersion");
    let kind = text(kind_version.and_then(|k| k.get("kind")));
    let version = text(kind_version.and_then(|k| k.get("version")));
    if (kind.as_str(), version.as_str()) != ("dsse", "0.0.1") {
        let advice = match (kind.as_str(), version.as_str()) {
            ("dsse" | "hashedrekord", "0.0.2") => REKOR_V2_ADVICE,
            ("", _) | (_, "") => " (the entry has no kindVersion)",
            ("hashedrekord", _) => {
                ": a hashedrekord entry logs a signature over a file, not a DSSE envelope"
            }
            _ => ": sign the statement as DSSE against a Rekor v1 log",
        };
        return Err(ConvertError::KindVersion {
            kind: if kind.is_empty() {
                "(no kind)".into()
            } else {
                kind
            },
            version: if version.is_empty() {
                "(no version)".into()
            } else {
                version
            },
            advice,
        });
    }
    // Rekor v2 writes no integrated time; protobuf-JSON also spells "absent" as 0.
    let integrated = match entry.get("integratedTime") {
        Some(Value::String(time)) => time != "0" && !time.is_empty(),
        Some(Value::Number(time)) => time.as_u64() != Some(0),
        _ => false,
    };
    if !integrated {
        return Err(ConvertError::IncompleteEntry {
            field: "integratedTime",
            why: "verifiers take the signing time from it (PEP 740 has no other timestamp)",
        });
    }
    let promise = entry
        .get("inclusionPromise")
        .and_then(|promise| promise.get("signedEntryTimestamp"));
    if promise.is_none() {
        return Err(ConvertError::IncompleteEntry {
            field: "inclusionPromise",
            why: "its signed entry timestamp is what proves the integrated time",
        });
    }
    let checkpoint = entry
        .get("inclusionProof")
        .and_then(|proof| proof.get("checkpoint"))
        .and_then(|checkpoint| checkpoint.get("envelope"))
        .and_then(Value::as_str);
    if checkpoint.is_none_or(str::is_empty) {
        return Err(ConvertError::IncompleteEntry {
            field: "inclusionProof.checkpoint",
            why: "verifiers require an inclusion proof with a signed checkpoint",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A v0.3 bundle as sigstore-rust writes it (tests/fixtures/pep740/make_fixtures.py).
    const BUNDLE: &str = include_str!("../../tests/fixtures/pep740/bundle.sigstore.json");
    /// pypi-attestations' `Attestation.from_bundle(BUNDLE).model_dump_json()`.
    const REFERENCE_ATTESTATION: &str =
        include_str!("../../tests/fixtures/pep740/bundle.publish.attestation");

    fn bundle() -> Value {
        serde_json::from_str(BUNDLE).unwrap()
    }

    fn convert(bundle: &Value) -> Result<Attestation, ConvertError> {
        Attestation::from_bundle_json(&bundle.to_string())
    }

    #[test]
    fn converts_like_pypi_attestations() {
        let attestation = Attestation::from_bundle_json(BUNDLE).unwrap();
        assert_eq!(attestation.to_json(), REFERENCE_ATTESTATION);
    }

    #[test]
    fn round_trips_bundle_to_attestation_to_bundle() {
        let attestation = Attestation::from_bundle_json(BUNDLE).unwrap();
        let back: Value = serde_json::from_str(&attestation.to_bundle_json()).unwrap();
        let mut original = bundle();
        // The only differences: sigstore-python spells empty timestamp data out.
        original["verificationMaterial"]["timestampVerificationData"] =
            json!({"rfc3161Timestamps": []});
        assert_eq!(back, original);
        assert_eq!(
            Attestation::from_bundle_json(&attestation.to_bundle_json()).unwrap(),
            attestation
        );
    }

    #[test]
    fn round_trips_attestation_to_bundle_to_attestation() {
        let attestation = Attestation::from_json(REFERENCE_ATTESTATION).unwrap();
        let again = Attestation::from_bundle_json(&attestation.to_bundle_json()).unwrap();
        assert_eq!(again.to_json(), REFERENCE_ATTESTATION);
    }

    #[test]
    fn accepts_the_alternative_v03_media_type_and_url_safe_base64() {
        let mut value = bundle();
        value["mediaType"] = BUNDLE_V03_MEDIA_TYPE_ALT.into();
        let sig = value["dsseEnvelope"]["signatures"][0]["sig"]
            .as_str()
            .unwrap()
            .replace('+', "-")
            .replace('/', "_")
            .replace('=', "");
        value["dsseEnvelope"]["signatures"][0] = json!({"sig": sig, "keyid": ""});
        assert_eq!(convert(&value).unwrap().to_json(), REFERENCE_ATTESTATION);
    }

    #[test]
    fn refuses_bundles_pep_740_cannot_carry() {
        let error = |edit: &dyn Fn(&mut Value)| {
            let mut value = bundle();
            edit(&mut value);
            convert(&value).unwrap_err().to_string()
        };
        let entry = "/verificationMaterial/tlogEntries/0";
        insta::assert_snapshot!(
            Attestation::from_bundle_json("<html>").unwrap_err(),
            @"the Sigstore bundle cannot be read: expected value at line 1 column 1"
        );
        insta::assert_snapshot!(error(&|v| v["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2".into()), @r#"the Sigstore bundle has media type "application/vnd.dev.sigstore.bundle+json;version=0.2"; a PEP 740 attestation is made from a v0.3 bundle (application/vnd.dev.sigstore.bundle.v0.3+json, a single leaf certificate): sign again with a current Sigstore client"#);
        insta::assert_snapshot!(error(&|v| { v.as_object_mut().unwrap().remove("verificationMaterial"); }), @"the Sigstore bundle cannot be read: it has no verificationMaterial");
        insta::assert_snapshot!(error(&|v| {
            let material = &mut v["verificationMaterial"];
            let certificate = material.as_object_mut().unwrap().remove("certificate").unwrap();
            material["x509CertificateChain"] = json!({"certificates": [certificate]});
        }), @"the Sigstore bundle's verification material is an x509CertificateChain, not a single certificate: a PEP 740 attestation holds exactly one Fulcio leaf certificate (verificationMaterial.certificate of a v0.3 bundle), so sign keylessly with a current Sigstore client");
        insta::assert_snapshot!(error(&|v| {
            let material = v["verificationMaterial"].as_object_mut().unwrap();
            material.remove("certificate");
            material.insert("publicKey".into(), json!({"hint": "k"}));
        }), @"the Sigstore bundle's verification material is a public key, not a single certificate: a PEP 740 attestation holds exactly one Fulcio leaf certificate (verificationMaterial.certificate of a v0.3 bundle), so sign keylessly with a current Sigstore client");
        insta::assert_snapshot!(error(&|v| { v["verificationMaterial"].as_object_mut().unwrap().remove("certificate"); }), @"the Sigstore bundle's verification material is missing, not a single certificate: a PEP 740 attestation holds exactly one Fulcio leaf certificate (verificationMaterial.certificate of a v0.3 bundle), so sign keylessly with a current Sigstore client");
        insta::assert_snapshot!(error(&|v| v["verificationMaterial"]["certificate"]["rawBytes"] = "!".into()), @"the Sigstore bundle cannot be read: verificationMaterial.certificate.rawBytes is not base64");
        insta::assert_snapshot!(error(&|v| {
            let bundle = v.as_object_mut().unwrap();
            bundle.remove("dsseEnvelope");
            bundle.insert("messageSignature".into(), json!({"signature": "AA=="}));
        }), @"the Sigstore bundle holds a message signature instead of a DSSE envelope: a PEP 740 attestation is a DSSE-signed in-toto statement, so sign the statement as DSSE (not the file itself)");
        insta::assert_snapshot!(error(&|v| { v.as_object_mut().unwrap().remove("dsseEnvelope"); }), @"the Sigstore bundle holds no signed content instead of a DSSE envelope: a PEP 740 attestation is a DSSE-signed in-toto statement, so sign the statement as DSSE (not the file itself)");
        insta::assert_snapshot!(error(&|v| v["dsseEnvelope"]["payloadType"] = "text/plain".into()), @r#"the Sigstore bundle's DSSE payloadType is "text/plain", expected "application/vnd.in-toto+json": PEP 740 attestations sign in-toto statements"#);
        insta::assert_snapshot!(error(&|v| v["dsseEnvelope"]["signatures"] = json!([])), @"expected exactly one signature, got 0: a PEP 740 attestation carries the one DSSE signature of its certificate");
        insta::assert_snapshot!(error(&|v| {
            let sig = v["dsseEnvelope"]["signatures"][0].clone();
            v["dsseEnvelope"]["signatures"] = json!([sig.clone(), sig]);
        }), @"expected exactly one signature, got 2: a PEP 740 attestation carries the one DSSE signature of its certificate");
        insta::assert_snapshot!(error(&|v| v["dsseEnvelope"]["payload"] = "!".into()), @"the Sigstore bundle cannot be read: dsseEnvelope.payload is not base64");
        insta::assert_snapshot!(error(&|v| v["verificationMaterial"]["tlogEntries"] = json!([])), @"the Sigstore bundle has 0 transparency log entries, expected exactly one: PEP 740 needs the signature's Rekor entry, so sign with a transparency log (Rekor v1)");
        insta::assert_snapshot!(error(&|v| {
            let entry = v["verificationMaterial"]["tlogEntries"][0].clone();
            v["verificationMaterial"]["tlogEntries"] = json!([entry.clone(), entry]);
        }), @"the Sigstore bundle has 2 transparency log entries, expected exactly one: PEP 740 needs the signature's Rekor entry, so sign with a transparency log (Rekor v1)");
        insta::assert_snapshot!(error(&|v| {
            let entry = v.pointer_mut(entry).unwrap();
            entry["kindVersion"] = json!({"kind": "hashedrekord", "version": "0.0.2"});
            entry.as_object_mut().unwrap().remove("integratedTime");
        }), @"the transparency log entry is hashedrekord 0.0.2, not dsse 0.0.1: PEP 740 attestations need a Rekor v1 dsse entry. Rekor v2 entries cannot be used for PEP 740 yet: they have no integrated time and the attestation object has no room for the RFC 3161 timestamp that replaces it; sign against a Rekor v1 log");
        insta::assert_snapshot!(error(&|v| v.pointer_mut(entry).unwrap()["kindVersion"] = json!({"kind": "dsse", "version": "0.0.2"})), @"the transparency log entry is dsse 0.0.2, not dsse 0.0.1: PEP 740 attestations need a Rekor v1 dsse entry. Rekor v2 entries cannot be used for PEP 740 yet: they have no integrated time and the attestation object has no room for the RFC 3161 timestamp that replaces it; sign against a Rekor v1 log");
        insta::assert_snapshot!(error(&|v| v.pointer_mut(entry).unwrap()["kindVersion"] = json!({"kind": "hashedrekord", "version": "0.0.1"})), @"the transparency log entry is hashedrekord 0.0.1, not dsse 0.0.1: PEP 740 attestations need a Rekor v1 dsse entry: a hashedrekord entry logs a signature over a file, not a DSSE envelope");
        insta::assert_snapshot!(error(&|v| v.pointer_mut(entry).unwrap()["kindVersion"] = json!({"kind": "intoto", "version": "0.0.1"})), @"the transparency log entry is intoto 0.0.1, not dsse 0.0.1: PEP 740 attestations need a Rekor v1 dsse entry: sign the statement as DSSE against a Rekor v1 log");
        insta::assert_snapshot!(error(&|v| v.pointer_mut(entry).unwrap()["kindVersion"] = json!({"kind": "intoto", "version": "0.0.2"})), @"the transparency log entry is intoto 0.0.2, not dsse 0.0.1: PEP 740 attestations need a Rekor v1 dsse entry: sign the statement as DSSE against a Rekor v1 log");
        insta::assert_snapshot!(error(&|v| { v.pointer_mut(entry).unwrap().as_object_mut().unwrap().remove("kindVersion"); }), @"the transparency log entry is (no kind) (no version), not dsse 0.0.1: PEP 740 attestations need a Rekor v1 dsse entry (the entry has no kindVersion)");
        insta::assert_snapshot!(error(&|v| { v.pointer_mut(entry).unwrap().as_object_mut().unwrap().remove("integratedTime"); }), @"the transparency log entry has no integratedTime: verifiers take the signing time from it (PEP 740 has no other timestamp); sign again against Rekor v1");
        insta::assert_snapshot!(error(&|v| v.pointer_mut(entry).unwrap()["integratedTime"] = "0".into()), @"the transparency log entry has no integratedTime: verifiers take the signing time from it (PEP 740 has no other timestamp); sign again against Rekor v1");
        insta::assert_snapshot!(error(&|v| { v.pointer_mut(entry).unwrap().as_object_mut().unwrap().remove("inclusionPromise"); }), @"the transparency log entry has no inclusionPromise: its signed entry timestamp is what proves the integrated time; sign again against Rekor v1");
        insta::assert_snapshot!(error(&|v| { v.pointer_mut(entry).unwrap()["inclusionProof"].as_object_mut().unwrap().remove("checkpoint"); }), @"the transparency log entry has no inclusionProof.checkpoint: verifiers require an inclusion proof with a signed checkpoint; sign again against Rekor v1");
    }

    #[test]
    fn an_integer_integrated_time_is_kept_verbatim() {
        let mut value = bundle();
        value["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = 1767225600.into();
        let attestation = convert(&value).unwrap();
        assert_eq!(
            attestation.transparency_entries()[0]["integratedTime"],
            json!(1767225600)
        );
    }
}
