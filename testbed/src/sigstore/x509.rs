//! X.509 plumbing shared by the CA (building and signing certificates) and the registries' verification (reading
//! them): DER extensions, times, serial numbers, and a parsed-certificate view with the lookups Sigstore needs.

use std::time::Duration;

use sha1::Sha1;
use sha2::Digest as _;
use x509_cert::Certificate;
use x509_cert::certificate::TbsCertificate;
use x509_cert::der::asn1::{BitString, ObjectIdentifier, OctetString, UtcTime, Utf8StringRef};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use super::keys::{EcKey, PublicKey};
use crate::TestbedError;

/// `id-kp-codeSigning`.
pub(crate) const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// The embedded SCT list extension (RFC 6962 §3.3).
pub(crate) const SCT_LIST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
#[cfg(test)]
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

fn crypto_error(what: &str, error: impl std::fmt::Display) -> TestbedError {
    TestbedError::Crypto(format!("{what}: {error}"))
}

/// An extension whose value is the DER encoding of `value`.
pub(crate) fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl x509_cert::der::Encode,
) -> Result<Extension, TestbedError> {
    let der = value
        .to_der()
        .map_err(|error| crypto_error("encoding an extension", error))?;
    raw_extension(oid, critical, der)
}

/// An extension whose value is `bytes` as they are (Fulcio's legacy raw-string extensions).
pub(crate) fn raw_extension(
    oid: ObjectIdentifier,
    critical: bool,
    bytes: Vec<u8>,
) -> Result<Extension, TestbedError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(bytes)
            .map_err(|error| crypto_error("encoding an extension", error))?,
    })
}

/// An extension whose value is a DER UTF8String (Fulcio's 1.3.6.1.4.1.57264.1.8 and later).
pub(crate) fn utf8_extension(oid: ObjectIdentifier, text: &str) -> Result<Extension, TestbedError> {
    let value =
        Utf8StringRef::new(text).map_err(|error| crypto_error("encoding a UTF8String", error))?;
    extension(oid, false, &value)
}

/// A UTCTime from unix seconds.
pub(crate) fn utc_time(unix: u64) -> Result<Time, TestbedError> {
    UtcTime::from_unix_duration(Duration::from_secs(unix))
        .map(Time::UtcTime)
        .map_err(|error| crypto_error("encoding a time", error))
}

/// A validity period in unix seconds.
pub(crate) fn validity(not_before: u64, not_after: u64) -> Result<Validity, TestbedError> {
    Ok(Validity {
        not_before: utc_time(not_before)?,
        not_after: utc_time(not_after)?,
    })
}

/// A random positive serial below 2^159, like `cryptoutils.GenerateSerialNumber`.
pub(crate) fn random_serial() -> Result<SerialNumber, TestbedError> {
    let mut bytes = [0u8; 20];
    bytes.iter_mut().for_each(|byte| *byte = fastrand::u8(..));
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).map_err(|error| crypto_error("encoding a serial number", error))
}

/// RFC 5280 method 1 key identifier: SHA-1 of the public key bits (what Go's `x509` uses).
pub(crate) fn key_identifier(key: &EcKey) -> Vec<u8> {
    Sha1::digest(key.public_point()).to_vec()
}

/// Signs `tbs` with `key` (whose algorithm `tbs.signature` must already name) into a DER certificate.
pub(crate) fn sign_certificate(tbs: TbsCertificate, key: &EcKey) -> Result<Vec<u8>, TestbedError> {
    let tbs_der = tbs
        .to_der()
        .map_err(|error| crypto_error("encoding a TBSCertificate", error))?;
    let signature = key.sign(&tbs_der)?;
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: key.curve().signature_algorithm(),
        signature: BitString::from_bytes(&signature)
            .map_err(|error| crypto_error("encoding a signature", error))?,
    };
    certificate
        .to_der()
        .map_err(|error| crypto_error("encoding a certificate", error))
}

/// A certificate read from untrusted input, with the lookups verification needs.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCertificate {
    certificate: Certificate,
    der: Vec<u8>,
}

impl ParsedCertificate {
    /// Parses DER.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, String> {
        let certificate = Certificate::from_der(der)
            .map_err(|error| format!("the certificate is not valid DER X.509: {error}"))?;
        Ok(Self {
            certificate,
            der: der.to_vec(),
        })
    }

    /// The DER bytes.
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded certificate.
    #[cfg(test)]
    pub(crate) fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The certified public key.
    pub(crate) fn public_key(&self) -> Result<PublicKey, String> {
        PublicKey::from_spki(&self.certificate.tbs_certificate.subject_public_key_info)
    }

    /// DER of the certified `SubjectPublicKeyInfo` (what an SCT's issuer key hash covers).
    pub(crate) fn spki_der(&self) -> Result<Vec<u8>, String> {
        self.certificate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|error| format!("re-encoding the public key: {error}"))
    }

    /// Whether `issuer`'s key signed this certificate (and the names chain).
    pub(crate) fn is_signed_by(&self, issuer: &ParsedCertificate) -> bool {
        let tbs = &self.certificate.tbs_certificate;
        if tbs.issuer != issuer.certificate.tbs_certificate.subject {
            return false;
        }
        let (Ok(key), Ok(tbs_der), Some(signature)) = (
            issuer.public_key(),
            tbs.to_der(),
            self.certificate.signature.as_bytes(),
        ) else {
            return false;
        };
        self.certificate.signature_algorithm == key.curve().signature_algorithm()
            && key.verify(&tbs_der, signature)
    }

    /// `notBefore` and `notAfter` in unix seconds.
    pub(crate) fn validity(&self) -> (u64, u64) {
        let validity = &self.certificate.tbs_certificate.validity;
        (
            validity.not_before.to_unix_duration().as_secs(),
            validity.not_after.to_unix_duration().as_secs(),
        )
    }

    /// The value bytes of the extension `oid`, if present exactly once.
    pub(crate) fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        let mut found = self
            .certificate
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|extension| extension.extn_id == oid);
        let first = found.next()?;
        found
            .next()
            .is_none()
            .then_some(first.extn_value.as_bytes())
    }

    /// A Fulcio extension holding a DER UTF8String (1.3.6.1.4.1.57264.1.8 and later).
    pub(crate) fn utf8_extension(&self, oid: ObjectIdentifier) -> Option<String> {
        let bytes = self.extension(oid)?;
        Utf8StringRef::from_der(bytes)
            .ok()
            .map(|text| text.as_str().to_owned())
    }

    /// The URIs of the subject alternative name.
    #[cfg(test)]
    pub(crate) fn san_uris(&self) -> Vec<String> {
        use x509_cert::ext::pkix::SubjectAltName;
        use x509_cert::ext::pkix::name::GeneralName;
        self.extension(SUBJECT_ALT_NAME)
            .and_then(|bytes| SubjectAltName::from_der(bytes).ok())
            .map(|san| {
                san.0
                    .iter()
                    .filter_map(|name| match name {
                        GeneralName::UniformResourceIdentifier(uri) => {
                            Some(uri.as_str().to_owned())
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether KeyUsage allows digital signatures.
    pub(crate) fn allows_digital_signature(&self) -> bool {
        self.extension(KEY_USAGE)
            .and_then(|bytes| KeyUsage::from_der(bytes).ok())
            .is_some_and(|usage| usage.0.contains(KeyUsages::DigitalSignature))
    }

    /// Whether KeyUsage allows signing certificates.
    pub(crate) fn allows_cert_sign(&self) -> bool {
        self.extension(KEY_USAGE)
            .and_then(|bytes| KeyUsage::from_der(bytes).ok())
            .is_some_and(|usage| usage.0.contains(KeyUsages::KeyCertSign))
    }

    /// Whether ExtendedKeyUsage includes code signing.
    pub(crate) fn allows_code_signing(&self) -> bool {
        self.extension(EXTENDED_KEY_USAGE)
            .and_then(|bytes| ExtendedKeyUsage::from_der(bytes).ok())
            .is_some_and(|usage| usage.0.contains(&CODE_SIGNING))
    }

    /// Whether BasicConstraints marks a CA.
    pub(crate) fn is_ca(&self) -> bool {
        self.extension(BASIC_CONSTRAINTS)
            .and_then(|bytes| BasicConstraints::from_der(bytes).ok())
            .is_some_and(|constraints| constraints.ca)
    }

    /// The TBS with the embedded SCT list removed, DER-encoded: what the CT log signed (RFC 6962 §3.2).
    pub(crate) fn precertificate_tbs_der(&self) -> Result<Vec<u8>, String> {
        let mut tbs = self.certificate.tbs_certificate.clone();
        tbs.extensions = tbs.extensions.map(|extensions| {
            extensions
                .into_iter()
                .filter(|extension| extension.extn_id != SCT_LIST)
                .collect()
        });
        tbs.to_der()
            .map_err(|error| format!("re-encoding the certificate: {error}"))
    }
}
