//! The PEP 740 attestation object (`<dist>.publish.attestation`, and one element of the upload's
//! `attestations` array), read and written as pypi-attestations' `Attestation` model does.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::json::{self, ANY, Shape};
use super::statement::IN_TOTO_PAYLOAD_TYPE;

/// The media type of the Sigstore bundles [`Attestation::to_bundle_json`] writes.
pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A PEP 740 attestation object: a DSSE-signed in-toto statement with the Fulcio certificate and
/// the Rekor entry that make it verifiable.
///
/// Wire form (pypi-attestations' `model_dump_json()`):
/// `{"version":1,"verification_material":{"certificate":"<b64 DER>","transparency_entries":[<Rekor
/// entry, protobuf-JSON>]},"envelope":{"statement":"<b64 statement>","signature":"<b64 DSSE sig>"}}`.
///
/// Made from a Sigstore bundle with [`Attestation::from_bundle_json`], read from a file with
/// [`read_attestation`](super::read_attestation) or deserialized; written with
/// [`Attestation::to_json`], turned back into a bundle for verification with
/// [`Attestation::to_bundle_json`]. It always has at least one transparency entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "AttestationWire")]
pub struct Attestation {
    /// The signing certificate, DER.
    pub(super) certificate: Vec<u8>,
    /// The transparency log entries, kept as they came (protobuf-JSON, camelCase); never empty.
    pub(super) transparency_entries: Vec<Map<String, Value>>,
    /// The signed statement: the DSSE payload, byte for byte.
    pub(super) statement: Vec<u8>,
    /// The DSSE signature over the statement's PAE.
    pub(super) signature: Vec<u8>,
}

/// Key order of a Rekor v1 transparency log entry, as sigstore-python's protobuf models declare
/// it (and so as pypi-attestations writes it).
pub(super) static TLOG_ENTRY_SHAPE: Shape = Shape {
    keys: &[
        ("logIndex", &ANY),
        ("logId", &LOG_ID_SHAPE),
        ("kindVersion", &KIND_VERSION_SHAPE),
        ("integratedTime", &ANY),
        ("inclusionPromise", &ANY),
        ("inclusionProof", &INCLUSION_PROOF_SHAPE),
        ("canonicalizedBody", &ANY),
    ],
};
static LOG_ID_SHAPE: Shape = Shape {
    keys: &[("keyId", &ANY)],
};
static KIND_VERSION_SHAPE: Shape = Shape {
    keys: &[("kind", &ANY), ("version", &ANY)],
};
static INCLUSION_PROOF_SHAPE: Shape = Shape {
    keys: &[
        ("logIndex", &ANY),
        ("rootHash", &ANY),
        ("treeSize", &ANY),
        ("hashes", &ANY),
        ("checkpoint", &ANY),
    ],
};

static ATTESTATION_SHAPE: Shape = Shape {
    keys: &[
        ("version", &ANY),
        ("verification_material", &VERIFICATION_MATERIAL_SHAPE),
        ("envelope", &ENVELOPE_SHAPE),
    ],
};
static VERIFICATION_MATERIAL_SHAPE: Shape = Shape {
    keys: &[
        ("certificate", &ANY),
        ("transparency_entries", &TLOG_ENTRY_SHAPE),
    ],
};
static ENVELOPE_SHAPE: Shape = Shape {
    keys: &[("statement", &ANY), ("signature", &ANY)],
};

static BUNDLE_SHAPE: Shape = Shape {
    keys: &[
        ("mediaType", &ANY),
        ("verificationMaterial", &BUNDLE_MATERIAL_SHAPE),
        ("dsseEnvelope", &DSSE_ENVELOPE_SHAPE),
    ],
};
static BUNDLE_MATERIAL_SHAPE: Shape = Shape {
    keys: &[
        ("certificate", &ANY),
        ("tlogEntries", &TLOG_ENTRY_SHAPE),
        ("timestampVerificationData", &ANY),
    ],
};
static DSSE_ENVELOPE_SHAPE: Shape = Shape {
    keys: &[
        ("payload", &ANY),
        ("payloadType", &ANY),
        ("signatures", &ANY),
    ],
};

impl Attestation {
    /// The signing (Fulcio leaf) certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// The transparency log entries as protobuf-JSON objects; never empty. Verifiers use the
    /// first.
    pub fn transparency_entries(&self) -> &[Map<String, Value>] {
        &self.transparency_entries
    }

    /// The signed in-toto statement (the DSSE payload), byte for byte.
    pub fn statement(&self) -> &[u8] {
        &self.statement
    }

    /// The DSSE signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Reads an attestation object from JSON, as pypi-attestations' `model_validate_json` does:
    /// version 1, base64 certificate, statement and signature, at least one transparency entry;
    /// other keys are ignored.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The attestation object as compact JSON, byte for byte as pypi-attestations'
    /// `model_dump_json()` writes it: keys `version`, `verification_material` (`certificate`,
    /// `transparency_entries`), `envelope` (`statement`, `signature`), bytes in standard base64,
    /// each transparency entry in the order of sigstore-python's model.
    pub fn to_json(&self) -> String {
        let value = json!({
            "version": 1,
            "verification_material": {
                "certificate": json::encode_base64(&self.certificate),
                "transparency_entries": self.transparency_entries,
            },
            "envelope": {
                "statement": json::encode_base64(&self.statement),
                "signature": json::encode_base64(&self.signature),
            },
        });
        json::to_string(&value, &ATTESTATION_SHAPE)
    }

    /// The Sigstore bundle the attestation stands for, as pypi-attestations' `to_bundle()` builds
    /// it for verification: a v0.3 bundle with the certificate, the first transparency entry and
    /// a DSSE envelope (`application/vnd.in-toto+json`, the statement, the one signature).
    /// Compact JSON, byte for byte as sigstore-python's `Bundle.to_json()` writes it.
    pub fn to_bundle_json(&self) -> String {
        let entries: &[Map<String, Value>] = self.transparency_entries.get(..1).unwrap_or(&[]);
        let value = json!({
            "mediaType": BUNDLE_V03_MEDIA_TYPE,
            "verificationMaterial": {
                "certificate": {"rawBytes": json::encode_base64(&self.certificate)},
                "tlogEntries": entries,
                "timestampVerificationData": {"rfc3161Timestamps": []},
            },
            "dsseEnvelope": {
                "payload": json::encode_base64(&self.statement),
                "payloadType": IN_TOTO_PAYLOAD_TYPE,
                "signatures": [{"sig": json::encode_base64(&self.signature)}],
            },
        });
        json::to_string(&value, &BUNDLE_SHAPE)
    }
}

/// The attestation object as it is on the wire, before its fields are decoded.
#[derive(Deserialize)]
struct AttestationWire {
    version: Value,
    verification_material: VerificationMaterialWire,
    envelope: EnvelopeWire,
}

#[derive(Deserialize)]
struct VerificationMaterialWire {
    certificate: String,
    transparency_entries: Vec<Map<String, Value>>,
}

#[derive(Deserialize)]
struct EnvelopeWire {
    statement: String,
    signature: String,
}

impl TryFrom<AttestationWire> for Attestation {
    type Error = String;

    fn try_from(wire: AttestationWire) -> Result<Self, Self::Error> {
        if wire.version != 1 {
            return Err(format!(
                "version is {}; PEP 740 defines attestation objects of version 1 only",
                wire.version
            ));
        }
        let bytes = |field: &str, text: &str| {
            json::decode_base64(text).ok_or_else(|| format!("{field} is not base64"))
        };
        let material = wire.verification_material;
        if material.transparency_entries.is_empty() {
            return Err(
                "verification_material.transparency_entries is empty; it needs the Rekor entry of the signature"
                    .into(),
            );
        }
        Ok(Self {
            certificate: bytes("verification_material.certificate", &material.certificate)?,
            transparency_entries: material.transparency_entries,
            statement: bytes("envelope.statement", &wire.envelope.statement)?,
            signature: bytes("envelope.signature", &wire.envelope.signature)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pypi-attestations' `model_dump_json()` of the fixture bundle's attestation.
    pub(crate) const REFERENCE_ATTESTATION: &str =
        include_str!("../../tests/fixtures/pep740/bundle.publish.attestation");
    /// pypi-attestations' `to_bundle().to_json()` of that attestation.
    const REFERENCE_BUNDLE: &str =
        include_str!("../../tests/fixtures/pep740/roundtrip.sigstore.json");

    #[test]
    fn reads_and_writes_pypi_attestations_json_byte_for_byte() {
        let attestation = Attestation::from_json(REFERENCE_ATTESTATION).unwrap();
        assert_eq!(attestation.to_json(), REFERENCE_ATTESTATION);
        assert_eq!(attestation.transparency_entries().len(), 1);
        assert!(attestation.certificate().starts_with(&[0x30, 0x82]));
        assert_eq!(
            attestation.statement(),
            include_bytes!("../../tests/fixtures/pep740/statement.json")
        );
        assert_eq!(attestation.signature()[0], 0x30);
    }

    #[test]
    fn to_bundle_matches_pypi_attestations_byte_for_byte() {
        let attestation = Attestation::from_json(REFERENCE_ATTESTATION).unwrap();
        assert_eq!(attestation.to_bundle_json(), REFERENCE_BUNDLE);
    }

    #[test]
    fn output_order_does_not_depend_on_input_order() {
        // Keys scrambled, pretty-printed, with an extra top-level key pydantic would ignore.
        let mut value: Value = serde_json::from_str(REFERENCE_ATTESTATION).unwrap();
        let entry = value["verification_material"]["transparency_entries"][0]
            .as_object()
            .unwrap()
            .clone();
        let mut reversed = Map::new();
        for (key, value) in entry.into_iter().rev() {
            reversed.insert(key, value);
        }
        value["verification_material"]["transparency_entries"][0] = Value::Object(reversed);
        value["comment"] = "ignored".into();
        let text = serde_json::to_string_pretty(&value).unwrap();
        let attestation = Attestation::from_json(&text).unwrap();
        assert_eq!(attestation.to_json(), REFERENCE_ATTESTATION);
    }

    #[test]
    fn to_bundle_uses_the_first_transparency_entry() {
        let mut attestation = Attestation::from_json(REFERENCE_ATTESTATION).unwrap();
        let mut second = attestation.transparency_entries[0].clone();
        second.insert("logIndex".into(), "1".into());
        attestation.transparency_entries.push(second);
        assert_eq!(attestation.to_bundle_json(), REFERENCE_BUNDLE);
        let back: Value = serde_json::from_str(&attestation.to_json()).unwrap();
        assert_eq!(
            back["verification_material"]["transparency_entries"][1]["logIndex"],
            "1"
        );
    }

    #[test]
    fn rejects_malformed_attestation_objects() {
        let reference: Value = serde_json::from_str(REFERENCE_ATTESTATION).unwrap();
        let error = |edit: &dyn Fn(&mut Value)| {
            let mut value = reference.clone();
            edit(&mut value);
            let error = Attestation::from_json(&value.to_string()).unwrap_err();
            // serde_json appends the position, which depends on the map's key order.
            let text = error.to_string();
            text.split(" at line ").next().unwrap().to_owned()
        };
        insta::assert_snapshot!(error(&|v| v["version"] = 2.into()), @"version is 2; PEP 740 defines attestation objects of version 1 only");
        insta::assert_snapshot!(error(&|v| { v.as_object_mut().unwrap().remove("envelope"); }), @"missing field `envelope`");
        insta::assert_snapshot!(error(&|v| v["verification_material"]["certificate"] = "***".into()), @"verification_material.certificate is not base64");
        insta::assert_snapshot!(error(&|v| v["envelope"]["statement"] = "%".into()), @"envelope.statement is not base64");
        insta::assert_snapshot!(error(&|v| v["envelope"]["signature"] = "%".into()), @"envelope.signature is not base64");
        insta::assert_snapshot!(error(&|v| v["verification_material"]["transparency_entries"] = Value::Array(vec![])), @"verification_material.transparency_entries is empty; it needs the Rekor entry of the signature");
        insta::assert_snapshot!(error(&|v| v["verification_material"]["transparency_entries"] = Value::Array(vec![1.into()])), @"invalid type: integer `1`, expected a map");
        assert!(Attestation::from_json("not json").is_err());
    }
}
