//! How the testbed's registries verify a DSSE-signed statement against their trust material, in the order of the
//! verifier whose wording they report with:
//!
//! - sigstore-python 4.5 (`Verifier.verify_dsse`, what PyPI runs through pypi-attestations): a time from the Rekor
//!   entry's integrated time (which needs an inclusion promise), the certificate chain to a trusted Fulcio CA at
//!   that time, the embedded SCT, KeyUsage/EKU, the identity policy, the entry's inclusion proof, signed checkpoint
//!   and SET, the DSSE signature over PAE, and last the `dsse` 0.0.1 body (payload hash and
//!   `[{signature, verifier}]`, the verifier as Rekor's LF PEM);
//! - `@sigstore/verify` 3 (what the npm registry runs): the certificate chain and SCT, then the entry's SET,
//!   checkpoint and inclusion proof, the body, and the signature.
//!
//! The texts were taken from those verifiers' output on the testbed's own faults (bad SCT, wrong log key, expired
//! certificate, foreign root).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::ct::parse_sct_list;
use super::dsse::pae;
use super::jcs;
use super::keys::{PublicKey, pem_encode};
use super::merkle::{leaf_hash, verify_inclusion};
use super::trust::{TrustMaterial, TrustedLog};
use super::x509::{ParsedCertificate, SCT_LIST};

/// Why the certificate chain did not validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainFailure {
    /// No trusted CA issued the leaf (or the CA chain does not link up).
    NoPath,
    /// A certificate of the chain was not valid at the log's integrated time.
    NotValidAtTime,
}

/// Why the embedded SCT did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SctFailure {
    /// No SCT list extension.
    Missing,
    /// Not exactly one SCT (the count found).
    Count(usize),
    /// The extension does not parse.
    Malformed(String),
    /// No trusted CT key verifies the SCT's signature.
    Signature,
}

/// Which part of the log entry's proof failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlogFailure {
    /// The audit path does not lead to the proof's root hash (the root it led to instead).
    InclusionProof([u8; 32]),
    /// No checkpoint signature carries the entry's log key hint.
    CheckpointKeyHint(Vec<u8>),
    /// The checkpoint signature does not verify, or the checkpoint does not parse.
    CheckpointSignature,
    /// The checkpoint's root or size is not the proof's.
    CheckpointRoot,
    /// The SET does not verify with any trusted log key.
    InclusionPromise,
}

/// Why a signed statement did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VerifyError {
    /// The transparency log entry is not a well-formed `TransparencyLogEntry`.
    MalformedEntry(String),
    /// The certificate is not DER X.509 (or its key is not one the testbed reads).
    MalformedCertificate(String),
    /// No inclusion promise, so no verified time.
    NoVerifiedTime,
    /// The chain to a trusted CA failed.
    Chain(ChainFailure),
    /// The embedded SCT is missing or does not verify.
    Sct(SctFailure),
    /// KeyUsage lacks digitalSignature.
    KeyUsage,
    /// ExtendedKeyUsage lacks codeSigning.
    ExtendedKeyUsage,
    /// The identity policy refused the certificate (sigstore-python's text, sigstore-js's text).
    Policy(String, String),
    /// The log entry's proof, checkpoint or SET failed.
    Tlog(TlogFailure),
    /// The DSSE signature does not verify with the leaf key.
    Signature,
    /// The log entry's body does not describe this envelope (sigstore-python's text, sigstore-js's text).
    Body(&'static str, &'static str),
}

impl VerifyError {
    /// The message sigstore-python raises (pypi-attestations prefixes it with `Verification failed: `).
    pub(crate) fn python_text(&self) -> String {
        match self {
            VerifyError::MalformedEntry(_) => "invalid transparency log entry".to_owned(),
            VerifyError::MalformedCertificate(_) => "invalid X.509 certificate".to_owned(),
            VerifyError::NoVerifiedTime => "not enough sources of verified time".to_owned(),
            VerifyError::Chain(failure) => format!(
                "failed to build timestamp certificate chain: validation failed: {}",
                match failure {
                    ChainFailure::NoPath => {
                        "candidates exhausted: all candidates exhausted with no interior errors"
                    }
                    ChainFailure::NotValidAtTime => {
                        "cert is not valid at validation time (encountered processing <Certificate(subject=<Name()>, ...)>)"
                    }
                }
            ),
            VerifyError::Sct(failure) => match failure {
                SctFailure::Missing => "failed to verify SCT on signing certificate: Certificate does not contain a signed certificate timestamp extension".to_owned(),
                SctFailure::Count(count) => format!("failed to verify SCT on signing certificate: Expected one certificate timestamp, found {count}"),
                SctFailure::Malformed(reason) => format!("failed to verify SCT on signing certificate: {reason}"),
                SctFailure::Signature => "failed to verify SCT on signing certificate: SCT verify failed: keyring: invalid signature".to_owned(),
            },
            VerifyError::KeyUsage => "Key usage is not of type `digital signature`".to_owned(),
            VerifyError::ExtendedKeyUsage => {
                "Extended usage does not contain `code signing`".to_owned()
            }
            VerifyError::Policy(python, _) => python.clone(),
            VerifyError::Tlog(failure) => format!(
                "invalid log entry: {}",
                match failure {
                    TlogFailure::InclusionProof(calculated) => format!(
                        "inclusion proof contains invalid root hash: calculated {}",
                        hex::encode(calculated)
                    ),
                    TlogFailure::CheckpointKeyHint(log_id) => {
                        format!("checkpoint: Signature not found for log ID {}", hex::encode(log_id))
                    }
                    TlogFailure::CheckpointSignature => {
                        "checkpoint: invalid signature: keyring: invalid signature".to_owned()
                    }
                    TlogFailure::CheckpointRoot => {
                        "Inclusion proof contains invalid root hash signature".to_owned()
                    }
                    TlogFailure::InclusionPromise => {
                        "SET: invalid inclusion promise: keyring: invalid signature".to_owned()
                    }
                }
            ),
            VerifyError::Signature => "DSSE: invalid signature".to_owned(),
            VerifyError::Body(python, _) => (*python).to_owned(),
        }
    }

    /// The message `@sigstore/verify` throws.
    pub(crate) fn js_text(&self) -> String {
        match self {
            VerifyError::MalformedEntry(reason) => format!("invalid bundle: {reason}"),
            VerifyError::MalformedCertificate(reason) => format!("invalid certificate: {reason}"),
            VerifyError::NoVerifiedTime => "expected 1 timestamps, got 0".to_owned(),
            VerifyError::Chain(_) => "Failed to verify certificate chain".to_owned(),
            VerifyError::Sct(SctFailure::Missing | SctFailure::Count(_)) => {
                "expected 1 SCTs, got 0".to_owned()
            }
            VerifyError::Sct(_) => "SCT verification failed".to_owned(),
            VerifyError::KeyUsage | VerifyError::ExtendedKeyUsage => {
                "certificate is not valid for code signing".to_owned()
            }
            VerifyError::Policy(_, js) => js.clone(),
            VerifyError::Tlog(failure) => match failure {
                TlogFailure::InclusionProof(_) | TlogFailure::CheckpointRoot => {
                    "calculated root hash does not match inclusion proof"
                }
                TlogFailure::CheckpointKeyHint(_) | TlogFailure::CheckpointSignature => {
                    "invalid checkpoint signature"
                }
                TlogFailure::InclusionPromise => "inclusion promise could not be verified",
            }
            .to_owned(),
            VerifyError::Signature => "signature verification failed".to_owned(),
            VerifyError::Body(_, js) => (*js).to_owned(),
        }
    }
}

/// A DSSE-signed statement and the material that came with it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedStatement<'a> {
    /// The leaf certificate, DER.
    pub(crate) certificate_der: &'a [u8],
    /// The DSSE payload type.
    pub(crate) payload_type: &'a str,
    /// The DSSE payload (statement bytes).
    pub(crate) payload: &'a [u8],
    /// The one DSSE signature, DER.
    pub(crate) signature: &'a [u8],
    /// The bundle's `tlogEntries[0]` (protobuf JSON).
    pub(crate) tlog_entry: &'a Value,
}

/// A parsed protobuf-JSON `TransparencyLogEntry`.
struct Entry {
    log_index: u64,
    log_id: Vec<u8>,
    kind: String,
    version: String,
    integrated_time: u64,
    set: Option<Vec<u8>>,
    proof: Option<Proof>,
    body: Vec<u8>,
}

struct Proof {
    log_index: u64,
    root_hash: [u8; 32],
    tree_size: u64,
    hashes: Vec<[u8; 32]>,
    checkpoint: String,
}

/// An int64 in protobuf JSON: a decimal string or a number.
fn int(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

fn bytes(value: Option<&Value>) -> Option<Vec<u8>> {
    STANDARD.decode(value?.as_str()?).ok()
}

fn hash(value: Option<&Value>) -> Option<[u8; 32]> {
    bytes(value)?.try_into().ok()
}

fn parse_entry(entry: &Value) -> Result<Entry, String> {
    let text = |pointer: &str| {
        entry
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let proof = match entry.get("inclusionProof") {
        None | Some(Value::Null) => None,
        Some(proof) => Some(Proof {
            log_index: int(proof.get("logIndex")).ok_or("inclusionProof.logIndex is missing")?,
            root_hash: hash(proof.get("rootHash"))
                .ok_or("inclusionProof.rootHash is not 32 bytes")?,
            tree_size: int(proof.get("treeSize")).ok_or("inclusionProof.treeSize is missing")?,
            hashes: proof
                .get("hashes")
                .and_then(Value::as_array)
                .map(|hashes| {
                    hashes
                        .iter()
                        .map(|h| hash(Some(h)))
                        .collect::<Option<Vec<_>>>()
                })
                .unwrap_or(Some(Vec::new()))
                .ok_or("inclusionProof.hashes are not 32-byte hashes")?,
            checkpoint: proof
                .pointer("/checkpoint/envelope")
                .and_then(Value::as_str)
                .ok_or("inclusionProof.checkpoint.envelope is missing")?
                .to_owned(),
        }),
    };
    Ok(Entry {
        log_index: int(entry.get("logIndex")).ok_or("logIndex is missing")?,
        log_id: bytes(entry.pointer("/logId/keyId")).ok_or("logId.keyId is missing")?,
        kind: text("/kindVersion/kind").ok_or("kindVersion.kind is missing")?,
        version: text("/kindVersion/version").ok_or("kindVersion.version is missing")?,
        integrated_time: int(entry.get("integratedTime")).unwrap_or(0),
        set: bytes(entry.pointer("/inclusionPromise/signedEntryTimestamp")),
        proof,
        body: bytes(entry.get("canonicalizedBody")).ok_or("canonicalizedBody is missing")?,
    })
}

/// The keys a log ID selects, as sigstore's keyrings do: the key with that ID, else every trusted key.
fn candidates<'a>(logs: &'a [TrustedLog], log_id: &[u8]) -> Vec<&'a TrustedLog> {
    let exact: Vec<&TrustedLog> = logs.iter().filter(|log| log.log_id == log_id).collect();
    if exact.is_empty() {
        logs.iter().collect()
    } else {
        exact
    }
}

/// Verifies a signed checkpoint (signed note) of the log `log_id`; returns its tree size and root.
fn verify_checkpoint(
    text: &str,
    log_id: &[u8],
    trust: &TrustMaterial,
) -> Result<(u64, [u8; 32]), TlogFailure> {
    let split = text.rfind("\n\n").ok_or(TlogFailure::CheckpointSignature)?;
    let (note, signatures) = (&text[..=split], &text[split + 2..]);
    let mut lines = note.lines();
    let (_origin, size, root) = (lines.next(), lines.next(), lines.next());
    let size: u64 = size
        .and_then(|size| size.parse().ok())
        .ok_or(TlogFailure::CheckpointSignature)?;
    let root: [u8; 32] = root
        .and_then(|root| STANDARD.decode(root).ok())
        .and_then(|root| root.try_into().ok())
        .ok_or(TlogFailure::CheckpointSignature)?;
    let hint = log_id.get(..4).ok_or(TlogFailure::CheckpointSignature)?;
    for line in signatures.lines() {
        let mut parts = line
            .strip_prefix("\u{2014} ")
            .unwrap_or_default()
            .split(' ');
        let (Some(_name), Some(signature), None) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(TlogFailure::CheckpointSignature);
        };
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| TlogFailure::CheckpointSignature)?;
        if signature.len() > 4 && signature[..4] == *hint {
            let verified = candidates(&trust.tlogs, log_id)
                .iter()
                .any(|log| log.key.verify(note.as_bytes(), &signature[4..]));
            return if verified {
                Ok((size, root))
            } else {
                Err(TlogFailure::CheckpointSignature)
            };
        }
    }
    Err(TlogFailure::CheckpointKeyHint(log_id.to_vec()))
}

fn verify_set(entry: &Entry, trust: &TrustMaterial) -> Result<(), TlogFailure> {
    let set = entry.set.as_ref().ok_or(TlogFailure::InclusionPromise)?;
    let payload = serde_json::json!({
        "body": STANDARD.encode(&entry.body),
        "integratedTime": entry.integrated_time,
        "logID": hex::encode(&entry.log_id),
        "logIndex": entry.log_index,
    });
    let canonical = jcs::canonicalize(&payload).unwrap_or_default();
    if candidates(&trust.tlogs, &entry.log_id)
        .iter()
        .any(|log| log.key.verify(canonical.as_bytes(), set))
    {
        Ok(())
    } else {
        Err(TlogFailure::InclusionPromise)
    }
}

fn verify_proof(entry: &Entry, trust: &TrustMaterial) -> Result<(), TlogFailure> {
    let Some(proof) = &entry.proof else {
        return Ok(());
    };
    let leaf = leaf_hash(&entry.body);
    if !verify_inclusion(
        &leaf,
        proof.log_index,
        proof.tree_size,
        &proof.hashes,
        &proof.root_hash,
    ) {
        return Err(TlogFailure::InclusionProof(super::merkle::root_from_path(
            &leaf,
            proof.log_index,
            proof.tree_size,
            &proof.hashes,
        )));
    }
    let (size, root) = verify_checkpoint(&proof.checkpoint, &entry.log_id, trust)?;
    if root != proof.root_hash || size != proof.tree_size {
        return Err(TlogFailure::CheckpointRoot);
    }
    Ok(())
}

/// The entry's inclusion: proof and checkpoint then SET (sigstore-python), or SET first (sigstore-js).
fn verify_tlog(entry: &Entry, trust: &TrustMaterial, flavor: Flavor) -> Result<(), VerifyError> {
    match flavor {
        Flavor::SigstorePython => {
            verify_proof(entry, trust).map_err(VerifyError::Tlog)?;
            verify_set(entry, trust).map_err(VerifyError::Tlog)
        }
        Flavor::SigstoreJs => {
            verify_set(entry, trust).map_err(VerifyError::Tlog)?;
            verify_proof(entry, trust).map_err(VerifyError::Tlog)
        }
    }
}

/// Finds the CA chain that issued `leaf` and checks every certificate at `time`; returns the leaf's issuer.
fn verify_chain<'a>(
    leaf: &ParsedCertificate,
    trust: &'a TrustMaterial,
    time: u64,
) -> Result<&'a ParsedCertificate, VerifyError> {
    let no_path = VerifyError::Chain(ChainFailure::NoPath);
    let chain = trust
        .certificate_authorities
        .iter()
        .find(|chain| {
            chain
                .first()
                .is_some_and(|issuer| leaf.is_signed_by(issuer))
        })
        .ok_or(no_path.clone())?;
    let linked = chain.windows(2).all(|pair| pair[0].is_signed_by(&pair[1]))
        && chain.last().is_some_and(|root| root.is_signed_by(root))
        && chain.iter().all(|ca| ca.is_ca() && ca.allows_cert_sign());
    if !linked {
        return Err(no_path);
    }
    let valid_at_time = std::iter::once(leaf)
        .chain(chain.iter())
        .all(|certificate| {
            let (not_before, not_after) = certificate.validity();
            (not_before..=not_after).contains(&time)
        });
    if !valid_at_time {
        return Err(VerifyError::Chain(ChainFailure::NotValidAtTime));
    }
    chain.first().ok_or(no_path)
}

fn verify_sct(
    leaf: &ParsedCertificate,
    issuer: &ParsedCertificate,
    trust: &TrustMaterial,
) -> Result<(), VerifyError> {
    let value = leaf
        .extension(SCT_LIST)
        .ok_or(VerifyError::Sct(SctFailure::Missing))?;
    let scts =
        parse_sct_list(value).map_err(|reason| VerifyError::Sct(SctFailure::Malformed(reason)))?;
    let [sct] = scts.as_slice() else {
        return Err(VerifyError::Sct(SctFailure::Count(scts.len())));
    };
    let malformed = |reason: String| VerifyError::Sct(SctFailure::Malformed(reason));
    let issuer_key_hash = PublicKey::from_spki_der(&issuer.spki_der().map_err(malformed)?)
        .map_err(malformed)?
        .key_id();
    let tbs = leaf.precertificate_tbs_der().map_err(malformed)?;
    if candidates(&trust.ctlogs, &sct.log_id)
        .iter()
        .any(|log| sct.verify(&log.key, &issuer_key_hash, &tbs))
    {
        Ok(())
    } else {
        Err(VerifyError::Sct(SctFailure::Signature))
    }
}

fn verify_body(
    entry: &Entry,
    statement: &SignedStatement<'_>,
    leaf: &ParsedCertificate,
) -> Result<(), VerifyError> {
    if entry.kind != "dsse" || entry.version != "0.0.1" {
        return Err(VerifyError::Body(
            "invalid DSSE log entry: not a dsse 0.0.1 entry",
            "bundle content and tlog entry do not match",
        ));
    }
    let body: Value = serde_json::from_slice(&entry.body).map_err(|_| {
        VerifyError::Body(
            "invalid DSSE log entry: the body is not JSON",
            "bundle content and tlog entry do not match",
        )
    })?;
    let spec = body.get("spec").cloned().unwrap_or(Value::Null);
    if spec
        .pointer("/payloadHash/algorithm")
        .and_then(Value::as_str)
        != Some("sha256")
    {
        return Err(VerifyError::Body(
            "expected SHA256 payload hash in DSSE log entry",
            "DSSE payload hash mismatch",
        ));
    }
    use sha2::Digest as _;
    let payload_hash = hex::encode(sha2::Sha256::digest(statement.payload));
    if spec.pointer("/payloadHash/value").and_then(Value::as_str) != Some(payload_hash.as_str()) {
        return Err(VerifyError::Body(
            "log entry payload hash does not match bundle",
            "DSSE payload hash mismatch",
        ));
    }
    let expected = serde_json::json!([{
        "signature": STANDARD.encode(statement.signature),
        "verifier": STANDARD.encode(pem_encode("CERTIFICATE", leaf.der())),
    }]);
    if spec.get("signatures") != Some(&expected) {
        return Err(VerifyError::Body(
            "log entry signatures do not match bundle",
            "tlog entry signature mismatch",
        ));
    }
    Ok(())
}

/// Whose order of checks to follow (the first failing check is what gets reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Verifier.verify_dsse`: certificate, SCT, usage, policy, log entry, signature, entry body.
    SigstorePython,
    /// `@sigstore/verify`'s `Verifier.verify`: certificate and SCT, log entry (SET, checkpoint, proof), entry
    /// body, signature.
    SigstoreJs,
}

/// Verifies `statement` against `trust`, applying `policy` to the leaf; returns the verified leaf.
pub(crate) fn verify_statement(
    statement: &SignedStatement<'_>,
    trust: &TrustMaterial,
    policy: &dyn Fn(&ParsedCertificate) -> Result<(), VerifyError>,
    flavor: Flavor,
) -> Result<ParsedCertificate, VerifyError> {
    let leaf = ParsedCertificate::from_der(statement.certificate_der)
        .map_err(VerifyError::MalformedCertificate)?;
    let entry = parse_entry(statement.tlog_entry).map_err(VerifyError::MalformedEntry)?;
    if entry.set.is_none() {
        return Err(VerifyError::NoVerifiedTime);
    }
    let certificate = || -> Result<(), VerifyError> {
        let issuer = verify_chain(&leaf, trust, entry.integrated_time)?;
        verify_sct(&leaf, issuer, trust)?;
        // sigstore-js leaves key usage to the chain builder, which does not look at it for Fulcio's profile.
        if flavor == Flavor::SigstorePython {
            if !leaf.allows_digital_signature() {
                return Err(VerifyError::KeyUsage);
            }
            if !leaf.allows_code_signing() {
                return Err(VerifyError::ExtendedKeyUsage);
            }
        }
        policy(&leaf)
    };
    let signature = || -> Result<(), VerifyError> {
        let key = leaf
            .public_key()
            .map_err(VerifyError::MalformedCertificate)?;
        if key.verify(
            &pae(statement.payload_type, statement.payload),
            statement.signature,
        ) {
            Ok(())
        } else {
            Err(VerifyError::Signature)
        }
    };
    match flavor {
        Flavor::SigstorePython => {
            certificate()?;
            verify_tlog(&entry, trust, flavor)?;
            signature()?;
            verify_body(&entry, statement, &leaf)?;
        }
        Flavor::SigstoreJs => {
            certificate()?;
            verify_tlog(&entry, trust, flavor)?;
            verify_body(&entry, statement, &leaf)?;
            signature()?;
        }
    }
    Ok(leaf)
}
