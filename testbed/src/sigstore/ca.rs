//! Fulcio's certificate authority: a self-signed P-384 root, a P-384 intermediate (CA, path length 0, code-signing
//! EKU, as Fulcio's public-good intermediate), and leaf issuance with an embedded SCT.
//!
//! A leaf is laid out as Go's `x509.CreateCertificate` lays out Fulcio's template: empty subject; extensions
//! KeyUsage (digitalSignature, critical), ExtendedKeyUsage (codeSigning), SubjectKeyIdentifier,
//! AuthorityKeyIdentifier, SubjectAltName (URI, critical because the subject is empty), the Fulcio OID extensions,
//! and last the SCT list that replaced the precertificate's poison extension. The TBS signed by the CT log is this
//! TBS minus the SCT extension, so a verifier that strips it gets exactly the bytes the log signed.

use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::der::Encode as _;
use x509_cert::der::asn1::{Ia5String, OctetString};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use super::claims::CertificateIdentity;
use super::ct::sct_extension;
use super::keys::{Curve, EcKey};
use super::x509::{
    CODE_SIGNING, extension, key_identifier, random_serial, sign_certificate, validity,
};
use crate::TestbedError;

const KEY_USAGE: &str = "2.5.29.15";
const EXTENDED_KEY_USAGE: &str = "2.5.29.37";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";
const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
const AUTHORITY_KEY_IDENTIFIER: &str = "2.5.29.35";
const SUBJECT_ALT_NAME: &str = "2.5.29.17";

fn oid(text: &'static str) -> x509_cert::der::asn1::ObjectIdentifier {
    x509_cert::der::asn1::ObjectIdentifier::new_unwrap(text)
}

fn name(text: &str) -> Result<Name, TestbedError> {
    text.parse()
        .map_err(|error| TestbedError::Crypto(format!("building the name {text}: {error}")))
}

fn octets(bytes: Vec<u8>) -> Result<OctetString, TestbedError> {
    OctetString::new(bytes)
        .map_err(|error| TestbedError::Crypto(format!("encoding a key id: {error}")))
}

/// How a leaf should be issued.
#[derive(Debug, Clone)]
pub(crate) struct LeafRequest {
    /// The requester's public key.
    pub(crate) spki: SubjectPublicKeyInfoOwned,
    /// SAN and OID extensions from the token.
    pub(crate) identity: CertificateIdentity,
    /// Validity, unix seconds.
    pub(crate) not_before: u64,
    /// Validity end, unix seconds.
    pub(crate) not_after: u64,
    /// When the CT log saw the precertificate, unix milliseconds.
    pub(crate) sct_timestamp_ms: u64,
}

/// The CA keys and certificates.
pub(crate) struct FulcioCa {
    root_der: Vec<u8>,
    intermediate_key: EcKey,
    intermediate_der: Vec<u8>,
    intermediate_name: Name,
    intermediate_key_id: Vec<u8>,
}

impl FulcioCa {
    /// Generates a root and an intermediate valid from `not_before` to `not_after` (unix seconds). `label` goes
    /// into the names, so that two testbeds' CAs are told apart in error messages.
    pub(crate) fn generate(
        label: &str,
        not_before: u64,
        not_after: u64,
    ) -> Result<Self, TestbedError> {
        let root_key = EcKey::generate(Curve::P384)?;
        let root_name = name(&format!("CN={label},O=trustpub testbed"))?;
        let root_key_id = key_identifier(&root_key);
        let root_tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial()?,
            signature: root_key.curve().signature_algorithm(),
            issuer: root_name.clone(),
            validity: validity(not_before, not_after)?,
            subject: root_name.clone(),
            subject_public_key_info: root_key.spki()?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                extension(
                    oid(KEY_USAGE),
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                )?,
                extension(
                    oid(BASIC_CONSTRAINTS),
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(1),
                    },
                )?,
                extension(
                    oid(SUBJECT_KEY_IDENTIFIER),
                    false,
                    &SubjectKeyIdentifier(octets(root_key_id.clone())?),
                )?,
            ]),
        };
        let root_der = sign_certificate(root_tbs, &root_key)?;

        let intermediate_key = EcKey::generate(Curve::P384)?;
        let intermediate_name = name(&format!("CN={label}-intermediate,O=trustpub testbed"))?;
        let intermediate_key_id = key_identifier(&intermediate_key);
        let intermediate_tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial()?,
            signature: root_key.curve().signature_algorithm(),
            issuer: root_name,
            validity: validity(not_before, not_after)?,
            subject: intermediate_name.clone(),
            subject_public_key_info: intermediate_key.spki()?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                extension(
                    oid(KEY_USAGE),
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                )?,
                extension(
                    oid(EXTENDED_KEY_USAGE),
                    false,
                    &ExtendedKeyUsage(vec![CODE_SIGNING]),
                )?,
                extension(
                    oid(BASIC_CONSTRAINTS),
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(0),
                    },
                )?,
                extension(
                    oid(SUBJECT_KEY_IDENTIFIER),
                    false,
                    &SubjectKeyIdentifier(octets(intermediate_key_id.clone())?),
                )?,
                authority_key_identifier(root_key_id)?,
            ]),
        };
        let intermediate_der = sign_certificate(intermediate_tbs, &root_key)?;
        Ok(Self {
            root_der,
            intermediate_key,
            intermediate_der,
            intermediate_name,
            intermediate_key_id,
        })
    }

    /// The root certificate, DER.
    pub(crate) fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The intermediate certificate, DER.
    pub(crate) fn intermediate_der(&self) -> &[u8] {
        &self.intermediate_der
    }

    /// Issues a leaf: builds the precertificate TBS, has `ct_log` (log ID, signing key) sign an SCT over it, embeds
    /// the SCT and signs the final certificate with the intermediate. Returns the leaf DER.
    pub(crate) fn issue(
        &self,
        request: &LeafRequest,
        ct_log: (&[u8; 32], &EcKey),
    ) -> Result<Vec<u8>, TestbedError> {
        let leaf_key_id = sha1_of_spki_point(&request.spki)?;
        let san = SubjectAltName(vec![GeneralName::UniformResourceIdentifier(
            Ia5String::new(&request.identity.san_uri).map_err(|error| {
                TestbedError::Crypto(format!("the SAN URI is not IA5: {error}"))
            })?,
        )]);
        let mut extensions = vec![
            extension(
                oid(KEY_USAGE),
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?,
            extension(
                oid(EXTENDED_KEY_USAGE),
                false,
                &ExtendedKeyUsage(vec![CODE_SIGNING]),
            )?,
            extension(
                oid(SUBJECT_KEY_IDENTIFIER),
                false,
                &SubjectKeyIdentifier(octets(leaf_key_id)?),
            )?,
            authority_key_identifier(self.intermediate_key_id.clone())?,
            extension(oid(SUBJECT_ALT_NAME), true, &san)?,
        ];
        extensions.extend(request.identity.extensions()?);
        let mut tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial()?,
            signature: self.intermediate_key.curve().signature_algorithm(),
            issuer: self.intermediate_name.clone(),
            validity: validity(request.not_before, request.not_after)?,
            subject: Name::default(),
            subject_public_key_info: request.spki.clone(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        let precert_der = tbs.to_der().map_err(|error| {
            TestbedError::Crypto(format!("encoding the precertificate: {error}"))
        })?;
        let issuer_key_hash = self.intermediate_key.key_id();
        let (log_id, signer) = ct_log;
        let sct: Extension = sct_extension(
            log_id,
            signer,
            &issuer_key_hash,
            &precert_der,
            request.sct_timestamp_ms,
        )?;
        if let Some(extensions) = tbs.extensions.as_mut() {
            extensions.push(sct);
        }
        sign_certificate(tbs, &self.intermediate_key)
    }
}

fn authority_key_identifier(key_id: Vec<u8>) -> Result<Extension, TestbedError> {
    extension(
        oid(AUTHORITY_KEY_IDENTIFIER),
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(octets(key_id)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

/// SHA-1 of the public key bits of a requester's SPKI.
fn sha1_of_spki_point(spki: &SubjectPublicKeyInfoOwned) -> Result<Vec<u8>, TestbedError> {
    use sha2::Digest as _;
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| TestbedError::Crypto("the public key has unused bits".to_owned()))?;
    Ok(sha1::Sha1::digest(point).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GithubIdentity;
    use crate::sigstore::ct::parse_sct_list;
    use crate::sigstore::x509::{ParsedCertificate, SCT_LIST};

    #[test]
    fn the_chain_links_and_the_leaf_has_fulcios_profile() {
        let ca = FulcioCa::generate("testbed sigstore", 1_700_000_000, 2_000_000_000).unwrap();
        let root = ParsedCertificate::from_der(ca.root_der()).unwrap();
        let intermediate = ParsedCertificate::from_der(ca.intermediate_der()).unwrap();
        assert!(root.is_signed_by(&root));
        assert!(intermediate.is_signed_by(&root));
        assert!(intermediate.is_ca() && intermediate.allows_cert_sign());

        let log = EcKey::generate(Curve::P256).unwrap();
        let client = EcKey::generate(Curve::P256).unwrap();
        let claims = GithubIdentity::default().claims("sigstore", "jti", 1_700_000_100);
        let request = LeafRequest {
            spki: client.spki().unwrap(),
            identity: CertificateIdentity::from_claims(&claims).unwrap(),
            not_before: 1_700_000_100,
            not_after: 1_700_000_700,
            sct_timestamp_ms: 1_700_000_100_000,
        };
        let leaf = ParsedCertificate::from_der(&ca.issue(&request, (&log.key_id(), &log)).unwrap())
            .unwrap();
        assert!(leaf.is_signed_by(&intermediate));
        assert!(!leaf.is_signed_by(&root));
        assert!(!leaf.is_ca());
        assert!(leaf.allows_digital_signature() && leaf.allows_code_signing());
        assert_eq!(leaf.validity(), (1_700_000_100, 1_700_000_700));
        assert_eq!(
            leaf.san_uris(),
            std::slice::from_ref(&request.identity.san_uri)
        );
        assert_eq!(leaf.public_key().unwrap(), client.public_key());

        // The SCT covers exactly the TBS without the SCT extension, under the intermediate's key.
        let scts = parse_sct_list(leaf.extension(SCT_LIST).unwrap()).unwrap();
        let issuer_hash = intermediate.public_key().unwrap().key_id();
        assert!(scts[0].verify(
            &log.public_key(),
            &issuer_hash,
            &leaf.precertificate_tbs_der().unwrap()
        ));
        let last = leaf
            .certificate()
            .tbs_certificate
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.last())
            .map(|extension| extension.extn_id);
        assert_eq!(last, Some(SCT_LIST));
    }
}
