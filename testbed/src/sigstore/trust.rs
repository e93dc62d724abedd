//! The testbed's trust material in Sigstore's own formats: `trusted_root.json` (protobuf-specs `TrustedRoot`:
//! the Fulcio chain, the Rekor key, the CT log key, each with a log ID and validity) and `trust_config.json`
//! (`ClientTrustConfig`: that root plus a signing config naming the testbed's Fulcio and Rekor), both accepted by
//! sigstore-python, sigstore-js and `sigstore-verify`. The registries verify against [`TrustMaterial`], read back
//! from the same `trusted_root.json` text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::keys::PublicKey;
use super::x509::ParsedCertificate;

/// The trusted root's media type.
pub(crate) const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// RFC 3339 (UTC, whole seconds) of unix seconds.
pub(crate) fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|unix| OffsetDateTime::from_unix_timestamp(unix).ok())
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

fn origin(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// What goes into the trusted root.
pub(crate) struct RootContents<'a> {
    /// Fulcio's origin.
    pub(crate) fulcio_url: &'a Url,
    /// Rekor's origin.
    pub(crate) rekor_url: &'a Url,
    /// The CA's name, for the `subject` field.
    pub(crate) ca_name: &'a str,
    /// Intermediate then root, DER.
    pub(crate) chain: [&'a [u8]; 2],
    /// Rekor's DER SPKI.
    pub(crate) rekor_spki: &'a [u8],
    /// The CT log's DER SPKI.
    pub(crate) ct_spki: &'a [u8],
    /// Start of validity of everything, unix seconds.
    pub(crate) valid_from: u64,
}

fn log_entry(base_url: String, spki: &[u8], valid_from: u64) -> Value {
    let key_id = PublicKey::from_spki_der(spki)
        .map(|key| key.key_id().to_vec())
        .unwrap_or_default();
    json!({
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": STANDARD.encode(spki),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": rfc3339(valid_from)},
        },
        "logId": {"keyId": STANDARD.encode(key_id)},
    })
}

/// The `trusted_root.json` document.
pub(crate) fn trusted_root(contents: &RootContents<'_>) -> Value {
    json!({
        "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
        "tlogs": [log_entry(origin(contents.rekor_url), contents.rekor_spki, contents.valid_from)],
        "certificateAuthorities": [{
            "subject": {"organization": "trustpub testbed", "commonName": contents.ca_name},
            "uri": origin(contents.fulcio_url),
            "certChain": {"certificates": contents.chain.iter().map(|der| json!({"rawBytes": STANDARD.encode(der)})).collect::<Vec<_>>()},
            "validFor": {"start": rfc3339(contents.valid_from)},
        }],
        "ctlogs": [log_entry(format!("{}/ct", origin(contents.fulcio_url)), contents.ct_spki, contents.valid_from)],
        "timestampAuthorities": [],
    })
}

/// The `trust_config.json` document (`ClientTrustConfig` v0.1 with a v0.2 signing config).
pub(crate) fn trust_config(
    root: &Value,
    fulcio_url: &Url,
    rekor_url: &Url,
    valid_from: u64,
) -> Value {
    let service = |url: &Url| {
        json!({
            "url": origin(url),
            "majorApiVersion": 1,
            "validFor": {"start": rfc3339(valid_from)},
            "operator": "trustpub testbed",
        })
    };
    json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": root,
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(fulcio_url)],
            "oidcUrls": [],
            "rekorTlogUrls": [service(rekor_url)],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        },
    })
}

/// A log key (Rekor or CT) a verifier trusts.
#[derive(Debug, Clone)]
pub(crate) struct TrustedLog {
    /// SHA-256 of the key's DER SPKI.
    pub(crate) log_id: [u8; 32],
    /// The key.
    pub(crate) key: PublicKey,
}

/// What the registries verify attestations and provenance against.
#[derive(Debug, Clone)]
pub(crate) struct TrustMaterial {
    /// Each CA's chain, intermediate(s) first, root last.
    pub(crate) certificate_authorities: Vec<Vec<ParsedCertificate>>,
    /// Transparency logs.
    pub(crate) tlogs: Vec<TrustedLog>,
    /// Certificate transparency logs.
    pub(crate) ctlogs: Vec<TrustedLog>,
}

fn read_logs(root: &Value, field: &str) -> Result<Vec<TrustedLog>, String> {
    root.get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("the trusted root has no {field}"))?
        .iter()
        .map(|log| {
            let raw = log
                .pointer("/publicKey/rawBytes")
                .and_then(Value::as_str)
                .and_then(|text| STANDARD.decode(text).ok())
                .ok_or_else(|| format!("a {field} entry has no publicKey.rawBytes"))?;
            let key = PublicKey::from_spki_der(&raw)?;
            let log_id = log
                .pointer("/logId/keyId")
                .and_then(Value::as_str)
                .and_then(|text| STANDARD.decode(text).ok())
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| format!("a {field} entry has no 32-byte logId.keyId"))?;
            Ok(TrustedLog { log_id, key })
        })
        .collect()
}

impl TrustMaterial {
    /// Reads a `trusted_root.json` document.
    pub(crate) fn from_trusted_root(root: &Value) -> Result<Self, String> {
        if root.get("mediaType").and_then(Value::as_str) != Some(TRUSTED_ROOT_MEDIA_TYPE) {
            return Err(format!(
                "not a trusted root (mediaType must be {TRUSTED_ROOT_MEDIA_TYPE})"
            ));
        }
        let certificate_authorities = root
            .get("certificateAuthorities")
            .and_then(Value::as_array)
            .ok_or("the trusted root has no certificateAuthorities")?
            .iter()
            .map(|authority| {
                authority
                    .pointer("/certChain/certificates")
                    .and_then(Value::as_array)
                    .ok_or("a certificate authority has no certChain")?
                    .iter()
                    .map(|certificate| {
                        let der = certificate
                            .get("rawBytes")
                            .and_then(Value::as_str)
                            .and_then(|text| STANDARD.decode(text).ok())
                            .ok_or("a CA certificate has no rawBytes")?;
                        ParsedCertificate::from_der(&der)
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            certificate_authorities,
            tlogs: read_logs(root, "tlogs")?,
            ctlogs: read_logs(root, "ctlogs")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn a_foreign_document_is_not_a_trusted_root() {
        insta::assert_snapshot!(TrustMaterial::from_trusted_root(&json!({"mediaType": "x"})).unwrap_err(), @"not a trusted root (mediaType must be application/vnd.dev.sigstore.trustedroot+json;version=0.1)");
    }
}
