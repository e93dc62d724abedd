//! ECDSA keys (P-256 and P-384, aws-lc-rs), their DER `SubjectPublicKeyInfo`, and PEM as Go's `encoding/pem`
//! writes it (LF line endings, 64 columns): the form real Fulcio and Rekor put on the wire. PEM framing is the
//! `pem` crate's, configured to Go's shape.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _, UnparsedPublicKey,
};
use sha2::{Digest as _, Sha256};
use x509_cert::der::asn1::{BitString, ObjectIdentifier};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::TestbedError;

/// `id-ecPublicKey`.
pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (P-256).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (P-384).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `ecdsa-with-SHA256`.
pub(crate) const ECDSA_WITH_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `ecdsa-with-SHA384`.
pub(crate) const ECDSA_WITH_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// The two NIST curves the testbed signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    /// P-256 with SHA-256: CT log, Rekor, and the clients' ephemeral keys.
    P256,
    /// P-384 with SHA-384: the Fulcio root and intermediate.
    P384,
}

impl Curve {
    fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => SECP256R1,
            Curve::P384 => SECP384R1,
        }
    }

    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }

    fn verifying(self) -> &'static signature::EcdsaVerificationAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1,
        }
    }

    /// The X.509 signature algorithm of a signature made with this curve's hash.
    pub(crate) fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            Curve::P256 => ECDSA_WITH_SHA256,
            Curve::P384 => ECDSA_WITH_SHA384,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }
}

/// The hash of an ECDSA signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl HashAlgorithm {
    /// The hash an X.509 `ecdsa-with-SHA*` signature algorithm names.
    pub(crate) fn of_signature_algorithm(oid: &ObjectIdentifier) -> Option<Self> {
        if *oid == ECDSA_WITH_SHA256 {
            Some(Self::Sha256)
        } else if *oid == ECDSA_WITH_SHA384 {
            Some(Self::Sha384)
        } else {
            None
        }
    }
}

/// A private ECDSA key with its encoded public half.
pub(crate) struct EcKey {
    pair: EcdsaKeyPair,
    curve: Curve,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for EcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcKey")
            .field("curve", &self.curve)
            .field("key_id", &hex::encode(self.key_id()))
            .finish_non_exhaustive()
    }
}

impl EcKey {
    /// A fresh random key on `curve`.
    pub(crate) fn generate(curve: Curve) -> Result<Self, TestbedError> {
        let pair = EcdsaKeyPair::generate(curve.signing())
            .map_err(|_| TestbedError::Crypto(format!("generating a {curve:?} key failed")))?;
        let spki_der = spki_der(curve, pair.public_key().as_ref())?;
        Ok(Self {
            pair,
            curve,
            spki_der,
        })
    }

    /// The curve.
    pub(crate) fn curve(&self) -> Curve {
        self.curve
    }

    /// DER `SubjectPublicKeyInfo` of the public key.
    pub(crate) fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The decoded `SubjectPublicKeyInfo`, for certificate building.
    pub(crate) fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, TestbedError> {
        SubjectPublicKeyInfoOwned::from_der(&self.spki_der)
            .map_err(|error| TestbedError::Crypto(format!("re-reading our own SPKI: {error}")))
    }

    /// SHA-256 of the DER SPKI: a CT log's or Rekor's log ID, and the checkpoint key hint.
    pub(crate) fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// The raw public point (uncompressed), what SKI/AKI are hashed from.
    pub(crate) fn public_point(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// ASN.1 DER ECDSA signature over `message`, hashed with the curve's hash.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TestbedError> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| TestbedError::Crypto("ECDSA signing failed".to_owned()))
    }

    /// `-----BEGIN PUBLIC KEY-----` PEM of the public key.
    #[cfg(test)]
    pub(crate) fn public_key_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki_der)
    }

    /// The public half, for verification.
    #[cfg(test)]
    pub(crate) fn public_key(&self) -> PublicKey {
        PublicKey {
            curve: self.curve,
            point: self.public_point().to_vec(),
            spki_der: self.spki_der.clone(),
        }
    }
}

/// DER SPKI of an EC public point on `curve`.
fn spki_der(curve: Curve, point: &[u8]) -> Result<Vec<u8>, TestbedError> {
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(curve.oid().into()),
        },
        subject_public_key: BitString::from_bytes(point)
            .map_err(|error| TestbedError::Crypto(format!("encoding a public key: {error}")))?,
    };
    spki.to_der()
        .map_err(|error| TestbedError::Crypto(format!("encoding a public key: {error}")))
}

/// A public ECDSA key read from untrusted input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicKey {
    curve: Curve,
    point: Vec<u8>,
    spki_der: Vec<u8>,
}

impl PublicKey {
    /// Reads a DER `SubjectPublicKeyInfo`; only EC keys on P-256 and P-384 are understood.
    pub(crate) fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|error| format!("not a SubjectPublicKeyInfo: {error}"))?;
        Self::from_spki(&spki)
    }

    /// Reads a decoded `SubjectPublicKeyInfo`.
    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, String> {
        if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
            return Err(format!(
                "unsupported public key algorithm {}",
                spki.algorithm.oid
            ));
        }
        let curve_oid = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok())
            .ok_or("the EC key names no curve")?;
        let curve = if curve_oid == SECP256R1 {
            Curve::P256
        } else if curve_oid == SECP384R1 {
            Curve::P384
        } else {
            return Err(format!("unsupported elliptic curve {curve_oid}"));
        };
        let point = spki
            .subject_public_key
            .as_bytes()
            .ok_or("the public key is not a whole number of bytes")?
            .to_vec();
        let spki_der = spki
            .to_der()
            .map_err(|error| format!("re-encoding the key: {error}"))?;
        let key = Self {
            curve,
            point,
            spki_der,
        };
        // Reject points not on the curve now rather than at the first verification.
        UnparsedPublicKey::new(curve.verifying(), &key.point)
            .parse()
            .map_err(|_| "the EC point is not on the curve".to_owned())?;
        Ok(key)
    }

    /// Reads a `PUBLIC KEY` PEM block.
    #[cfg(test)]
    pub(crate) fn from_pem(text: &str) -> Result<Self, String> {
        let (label, der) = pem_decode(text).ok_or("not PEM")?;
        if label != "PUBLIC KEY" {
            return Err(format!("a {label} PEM block, not a PUBLIC KEY"));
        }
        Self::from_spki_der(&der)
    }

    /// The curve.
    pub(crate) fn curve(&self) -> Curve {
        self.curve
    }

    /// SHA-256 of the DER SPKI.
    pub(crate) fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// Whether `signature` (ASN.1 DER) is this key's ECDSA signature over `message` with the curve's hash.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(self.curve.verifying(), &self.point)
            .verify(message, signature)
            .is_ok()
    }

    /// Whether `signature` is this key's ECDSA signature over a message whose SHA-256 is `digest` (Rekor's
    /// `hashedrekord`, signed over a digest the log never sees the message of).
    pub(crate) fn verify_sha256_digest(&self, digest: &[u8], signature: &[u8]) -> bool {
        let Ok(digest) =
            aws_lc_rs::digest::Digest::import_less_safe(digest, &aws_lc_rs::digest::SHA256)
        else {
            return false;
        };
        let algorithm: &'static signature::EcdsaVerificationAlgorithm = match self.curve {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            Curve::P384 => &signature::ECDSA_P384_SHA256_ASN1,
        };
        UnparsedPublicKey::new(algorithm, &self.point)
            .verify_digest(&digest, signature)
            .is_ok()
    }

    /// Whether `signature` is this key's ECDSA signature over `message` hashed with `hash`, whatever the curve (Go's
    /// `signature.LoadVerifier(key, crypto.SHA256)`, which Fulcio checks proofs of possession with).
    pub(crate) fn verify_hashed(
        &self,
        hash: HashAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let algorithm: &'static signature::EcdsaVerificationAlgorithm = match (self.curve, hash) {
            (Curve::P256, HashAlgorithm::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (Curve::P256, HashAlgorithm::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (Curve::P384, HashAlgorithm::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (Curve::P384, HashAlgorithm::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        };
        UnparsedPublicKey::new(algorithm, &self.point)
            .verify(message, signature)
            .is_ok()
    }
}

/// PEM as Go's `pem.EncodeToMemory` writes it: 64-column base64, LF line endings, trailing newline.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// The first PEM block of `text`: its label and decoded bytes. Lenient like Go's `pem.Decode` (CRLF, surrounding
/// text, whitespace inside the base64).
pub(crate) fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let block = pem::parse(text).ok()?;
    Some((block.tag().to_owned(), block.into_contents()))
}

/// Every PEM block of `text`, in order (none if one of them is malformed).
#[cfg(test)]
pub(crate) fn pem_decode_all(text: &str) -> Vec<(String, Vec<u8>)> {
    pem::parse_many(text)
        .unwrap_or_default()
        .into_iter()
        .map(|block| (block.tag().to_owned(), block.into_contents()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sign_and_verify_on_both_curves() {
        for curve in [Curve::P256, Curve::P384] {
            let key = EcKey::generate(curve).unwrap();
            let signature = key.sign(b"message").unwrap();
            let public = PublicKey::from_spki_der(key.spki_der()).unwrap();
            assert_eq!(public.curve(), curve);
            assert_eq!(public.key_id(), key.key_id());
            assert!(public.verify(b"message", &signature));
            assert!(!public.verify(b"other message", &signature));
            assert_eq!(PublicKey::from_pem(&key.public_key_pem()).unwrap(), public);
        }
    }

    #[test]
    fn pem_is_go_shaped_and_decoding_is_lenient() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = pem_encode("CERTIFICATE", &der);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(pem.ends_with("\n-----END CERTIFICATE-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
        assert!(!pem.contains('\r'));
        let crlf = pem.replace('\n', "\r\n");
        assert_eq!(
            pem_decode(&crlf).unwrap(),
            ("CERTIFICATE".to_owned(), der.clone())
        );
        let two = format!("{pem}{}", pem_encode("PUBLIC KEY", b"xyz"));
        let blocks = pem_decode_all(&two);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1], ("PUBLIC KEY".to_owned(), b"xyz".to_vec()));
        assert!(pem_decode("no pem here").is_none());
        // Byte for byte what Go's pem.EncodeToMemory writes (no headers, a full last line, an empty body).
        assert_eq!(
            pem_encode("PUBLIC KEY", b"xyz"),
            "-----BEGIN PUBLIC KEY-----\neHl6\n-----END PUBLIC KEY-----\n"
        );
        assert_eq!(
            pem_encode("X", &[0xff; 48]),
            format!("-----BEGIN X-----\n{}\n-----END X-----\n", "/".repeat(64))
        );
        assert_eq!(pem_encode("X", b""), "-----BEGIN X-----\n-----END X-----\n");
        // Surrounding text and whitespace inside the base64, as Go's pem.Decode allows.
        assert_eq!(
            pem_decode("chain:\n-----BEGIN X-----\n eH\tl6 \n-----END X-----\ntrailer").unwrap(),
            ("X".to_owned(), b"xyz".to_vec())
        );
        assert!(pem_decode("-----BEGIN X-----\neHl6\n-----END Y-----\n").is_none());
    }

    #[test]
    fn foreign_keys_are_refused_with_a_reason() {
        assert!(
            PublicKey::from_spki_der(b"junk")
                .unwrap_err()
                .starts_with("not a SubjectPublicKeyInfo")
        );
    }
}
