//! The certificate transparency log behind Fulcio, reduced to what a verifier sees: a P-256 key that signs
//! RFC 6962 v1 SCTs over precertificates, embedded in the issued leaf (extension 1.3.6.1.4.1.11129.2.4.2).
//!
//! The signed structure (RFC 6962 §3.2): `version(0) ‖ signature_type(0) ‖ timestamp(u64 ms) ‖ entry_type(1,
//! precert, u16) ‖ issuer_key_hash(SHA-256 of the issuer's DER SPKI) ‖ u24 length ‖ TBSCertificate without the SCT
//! extension ‖ extensions(u16 0)`. The SCT itself: `version ‖ log_id(32) ‖ timestamp ‖ u16 0 ‖ 0x04 0x03
//! (SHA-256/ECDSA) ‖ u16 length ‖ DER signature`, wrapped as a u16-prefixed list inside an OCTET STRING.

use x509_cert::der::Decode as _;
use x509_cert::der::asn1::OctetString;
use x509_cert::ext::Extension;

use super::keys::{EcKey, PublicKey};
use super::x509::{SCT_LIST, extension};
use crate::TestbedError;

/// `hash_algorithm = sha256(4)`, `signature_algorithm = ecdsa(3)`.
const SHA256_ECDSA: [u8; 2] = [4, 3];

/// The bytes an SCT signature covers.
fn signed_data(timestamp_ms: u64, issuer_key_hash: &[u8; 32], tbs_der: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(tbs_der.len() + 50);
    data.push(0); // version v1
    data.push(0); // signature_type certificate_timestamp
    data.extend_from_slice(&timestamp_ms.to_be_bytes());
    data.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
    data.extend_from_slice(issuer_key_hash);
    let length = u32::try_from(tbs_der.len()).unwrap_or(u32::MAX);
    data.extend_from_slice(&length.to_be_bytes()[1..]);
    data.extend_from_slice(tbs_der);
    data.extend_from_slice(&0u16.to_be_bytes()); // no extensions
    data
}

/// An embedded-SCT extension for the precertificate `tbs_der` (TBS without any SCT extension) issued under the key
/// whose DER SPKI hashes to `issuer_key_hash`. `log_id` names the log; `signer` signs (the log's key, or another
/// one for the bad-SCT fault).
pub(crate) fn sct_extension(
    log_id: &[u8; 32],
    signer: &EcKey,
    issuer_key_hash: &[u8; 32],
    tbs_der: &[u8],
    timestamp_ms: u64,
) -> Result<Extension, TestbedError> {
    let signature = signer.sign(&signed_data(timestamp_ms, issuer_key_hash, tbs_der))?;
    let mut sct = Vec::with_capacity(signature.len() + 50);
    sct.push(0);
    sct.extend_from_slice(log_id);
    sct.extend_from_slice(&timestamp_ms.to_be_bytes());
    sct.extend_from_slice(&0u16.to_be_bytes());
    sct.extend_from_slice(&SHA256_ECDSA);
    sct.extend_from_slice(&u16_length(signature.len())?);
    sct.extend_from_slice(&signature);

    let mut list = Vec::with_capacity(sct.len() + 4);
    list.extend_from_slice(&u16_length(sct.len() + 2)?);
    list.extend_from_slice(&u16_length(sct.len())?);
    list.extend_from_slice(&sct);
    let inner = OctetString::new(list)
        .map_err(|error| TestbedError::Crypto(format!("encoding the SCT list: {error}")))?;
    extension(SCT_LIST, false, &inner)
}

fn u16_length(length: usize) -> Result<[u8; 2], TestbedError> {
    u16::try_from(length)
        .map(u16::to_be_bytes)
        .map_err(|_| TestbedError::Crypto("an SCT field is longer than 65535 bytes".to_owned()))
}

/// One parsed SCT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sct {
    /// The log's ID (SHA-256 of its DER SPKI).
    pub(crate) log_id: [u8; 32],
    /// Milliseconds since the epoch.
    pub(crate) timestamp_ms: u64,
    extensions: Vec<u8>,
    algorithm: [u8; 2],
    signature: Vec<u8>,
}

/// A cursor over TLS-encoded bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|bytes| usize::from(u16::from_be_bytes([bytes[0], bytes[1]])))
    }

    fn u64(&mut self) -> Option<u64> {
        let bytes: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    }
}

/// Parses the value of the SCT list extension (an OCTET STRING holding the TLS list).
pub(crate) fn parse_sct_list(extension_value: &[u8]) -> Result<Vec<Sct>, String> {
    let list = OctetString::from_der(extension_value)
        .map_err(|error| format!("the SCT extension is not an OCTET STRING: {error}"))?;
    let mut outer = Reader(list.as_bytes());
    let total = outer.u16().ok_or("the SCT list is truncated")?;
    let mut items = Reader(outer.take(total).ok_or("the SCT list is truncated")?);
    let mut scts = Vec::new();
    while !items.0.is_empty() {
        let length = items.u16().ok_or("an SCT is truncated")?;
        let mut sct = Reader(items.take(length).ok_or("an SCT is truncated")?);
        let truncated = "an SCT is truncated";
        let version = sct.take(1).ok_or(truncated)?[0];
        if version != 0 {
            return Err(format!("unsupported SCT version {version}"));
        }
        let log_id: [u8; 32] = sct
            .take(32)
            .ok_or(truncated)?
            .try_into()
            .map_err(|_| truncated)?;
        let timestamp_ms = sct.u64().ok_or(truncated)?;
        let extensions_length = sct.u16().ok_or(truncated)?;
        let extensions = sct.take(extensions_length).ok_or(truncated)?.to_vec();
        let algorithm: [u8; 2] = sct
            .take(2)
            .ok_or(truncated)?
            .try_into()
            .map_err(|_| truncated)?;
        let signature_length = sct.u16().ok_or(truncated)?;
        let signature = sct.take(signature_length).ok_or(truncated)?.to_vec();
        scts.push(Sct {
            log_id,
            timestamp_ms,
            extensions,
            algorithm,
            signature,
        });
    }
    Ok(scts)
}

impl Sct {
    /// Whether `log_key` signed this SCT over `tbs_der` (precertificate TBS) issued under `issuer_key_hash`.
    pub(crate) fn verify(
        &self,
        log_key: &PublicKey,
        issuer_key_hash: &[u8; 32],
        tbs_der: &[u8],
    ) -> bool {
        if self.algorithm != SHA256_ECDSA || !self.extensions.is_empty() {
            return false;
        }
        log_key.verify(
            &signed_data(self.timestamp_ms, issuer_key_hash, tbs_der),
            &self.signature,
        )
    }
}

/// Re-encodes an SCT extension value, for tests that tamper with certificates.
#[cfg(test)]
pub(crate) fn extension_value(extension: &Extension) -> Vec<u8> {
    extension.extn_value.as_bytes().to_vec()
}

/// The DER of an OCTET STRING, for tests.
#[cfg(test)]
pub(crate) fn octet_string_der(bytes: &[u8]) -> Vec<u8> {
    use x509_cert::der::Encode as _;
    OctetString::new(bytes.to_vec())
        .and_then(|octets| octets.to_der())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigstore::keys::Curve;

    #[test]
    fn an_sct_round_trips_and_verifies_only_over_its_precertificate() {
        let log = EcKey::generate(Curve::P256).unwrap();
        let issuer_hash = [7u8; 32];
        let extension = sct_extension(
            &log.key_id(),
            &log,
            &issuer_hash,
            b"tbs bytes",
            1_700_000_000_123,
        )
        .unwrap();
        assert_eq!(extension.extn_id, SCT_LIST);
        let scts = parse_sct_list(&extension_value(&extension)).unwrap();
        let [sct] = scts.as_slice() else {
            panic!("one SCT expected, got {scts:?}")
        };
        assert_eq!(sct.log_id, log.key_id());
        assert_eq!(sct.timestamp_ms, 1_700_000_000_123);
        assert!(sct.verify(&log.public_key(), &issuer_hash, b"tbs bytes"));
        assert!(!sct.verify(&log.public_key(), &issuer_hash, b"other tbs"));
        assert!(!sct.verify(&log.public_key(), &[8u8; 32], b"tbs bytes"));
        let stranger = EcKey::generate(Curve::P256).unwrap();
        assert!(!sct.verify(&stranger.public_key(), &issuer_hash, b"tbs bytes"));
    }

    #[test]
    fn truncated_lists_are_refused() {
        assert!(parse_sct_list(&octet_string_der(&[0, 5, 0, 3, 0])).is_err());
        assert!(parse_sct_list(b"not der").is_err());
        assert_eq!(parse_sct_list(&octet_string_der(&[0, 0])).unwrap(), []);
    }
}
