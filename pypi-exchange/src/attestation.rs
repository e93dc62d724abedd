//! PEP 740 attestations that already sit beside a distribution (`<dist>.publish.attestation`),
//! checked against the distribution before they are sent: the in-toto statement's single
//! subject must name the file and carry its SHA-256.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use crate::dist::Distribution;

/// Why an attestation file cannot go with its distribution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// The file could not be read.
    #[error("cannot read attestation {path}: {reason}")]
    Read {
        /// The attestation file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not a PEP 740 attestation object.
    #[error("{path} is not a PEP 740 attestation: {reason}")]
    Malformed {
        /// The attestation file.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// The statement is about another file.
    #[error(
        "{path} does not attest {filename}: its subject is `{subject}` with sha256 {subject_sha256}, the file is sha256 {sha256}. Remove the stale attestation (or rebuild it) before uploading"
    )]
    Mismatch {
        /// The attestation file.
        path: PathBuf,
        /// The distribution.
        filename: String,
        /// The statement's subject name.
        subject: String,
        /// The statement's subject digest.
        subject_sha256: String,
        /// The distribution's digest.
        sha256: String,
    },
}

/// The statement's subject of a PEP 740 attestation object: `(name, sha256)`, plus the
/// predicate type.
pub fn statement_subject(attestation: &Value) -> Result<(String, String, String), String> {
    let statement = attestation
        .pointer("/envelope/statement")
        .and_then(Value::as_str)
        .ok_or("no envelope.statement")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(statement)
        .map_err(|_| "envelope.statement is not base64")?;
    let statement: Value =
        serde_json::from_slice(&decoded).map_err(|_| "envelope.statement is not JSON")?;
    let subjects = statement
        .get("subject")
        .and_then(Value::as_array)
        .ok_or("the statement has no subject list")?;
    let [subject] = subjects.as_slice() else {
        return Err(format!(
            "the statement has {} subjects; PEP 740 requires exactly one",
            subjects.len()
        ));
    };
    let name = subject
        .get("name")
        .and_then(Value::as_str)
        .ok_or("the subject has no name")?;
    let sha256 = subject
        .pointer("/digest/sha256")
        .and_then(Value::as_str)
        .ok_or("the subject has no sha256 digest")?;
    let predicate_type = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok((
        name.to_owned(),
        sha256.to_ascii_lowercase(),
        predicate_type.to_owned(),
    ))
}

/// Loads the attestation files of `dist`, checks each against it, and returns the upload's
/// `attestations` field (a JSON array).
pub fn load_existing(dist: &Distribution, paths: &[PathBuf]) -> Result<String, AttestationError> {
    let mut attestations = Vec::new();
    for path in paths {
        attestations.push(load_one(dist, path)?);
    }
    Ok(Value::Array(attestations).to_string())
}

fn load_one(dist: &Distribution, path: &Path) -> Result<Value, AttestationError> {
    let text = fs_err::read_to_string(path).map_err(|err| AttestationError::Read {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|err| AttestationError::Malformed {
        path: path.to_owned(),
        reason: format!("not JSON ({err})"),
    })?;
    let (subject, subject_sha256, _) =
        statement_subject(&value).map_err(|reason| AttestationError::Malformed {
            path: path.to_owned(),
            reason,
        })?;
    if subject != dist.filename || subject_sha256 != dist.sha256 {
        return Err(AttestationError::Mismatch {
            path: path.to_owned(),
            filename: dist.filename.clone(),
            subject,
            subject_sha256,
            sha256: dist.sha256.clone(),
        });
    }
    Ok(value)
}
