//! PEP 740 attestations: the network-free parts.
//!
//! The flow when trustpub signs: [`publish_statement`] builds the in-toto statement for a
//! distribution; the Sigstore client signs it as DSSE into a v0.3 bundle;
//! [`Attestation::from_bundle_json`] turns the bundle into the PEP 740 attestation object;
//! [`write_attestation`] puts it beside the distribution (`<dist>.publish.attestation`) and
//! [`Attestation::to_json`] is what the upload's `attestations` field carries.
//!
//! When attestation files already exist, [`load_existing`] checks each against its distribution
//! ([`check_subject`], the checks PyPI runs) and returns the upload field. To verify one as a
//! consumer does, [`read_attestation`], verify [`Attestation::to_bundle_json`] with a Sigstore
//! verifier, then [`check_subject`] and, for the signer's identity,
//! [`GithubPublisherPolicy::check`] on the certificate's claims.
//!
//! Everything here follows pypi-attestations 0.0.30 (with sigstore-python 4.5.1): the same
//! bytes, the same checks, and its wording at the start of each error.

mod bundle;
mod file;
mod json;
mod object;
mod policy;
mod statement;
mod subject;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::dist::Distribution;

pub use bundle::ConvertError;
pub use file::{PUBLISH_ATTESTATION_SUFFIX, attestation_path, read_attestation, write_attestation};
pub use object::{Attestation, BUNDLE_V03_MEDIA_TYPE};
pub use policy::{CertificateClaims, GITHUB_ACTIONS_ISSUER, GithubPublisherPolicy, PolicyMismatch};
pub use statement::{IN_TOTO_PAYLOAD_TYPE, PredicateType, STATEMENT_TYPE, publish_statement};
pub use subject::{SubjectProblem, check_subject};

use statement::Statement;

/// Why an attestation file cannot go with its distribution, or cannot be read or written.
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
    /// The attestation file's statement is about another file (or not a valid statement).
    #[error(
        "{path} does not attest {filename}: {problem}. Remove the stale attestation (or rebuild \
         it) before uploading"
    )]
    Mismatch {
        /// The attestation file.
        path: PathBuf,
        /// The distribution.
        filename: String,
        /// What does not match.
        problem: SubjectProblem,
    },
    /// An attestation's statement does not cover the distribution ([`check_subject`]).
    #[error("the attestation for {filename} does not cover it: {problem}")]
    Subject {
        /// The distribution.
        filename: String,
        /// What does not match.
        problem: SubjectProblem,
    },
    /// Two attestation files of one distribution have the same predicate type.
    #[error(
        "{path} and {other} both attest {filename} as {predicate_type}: Multiple attestations for \
         the same file with the same predicate type are not supported by PyPI; keep one of them"
    )]
    DuplicatePredicateType {
        /// The second file.
        path: PathBuf,
        /// The first file.
        other: PathBuf,
        /// The distribution.
        filename: String,
        /// Their predicate type.
        predicate_type: PredicateType,
    },
    /// The file could not be written.
    #[error("cannot write attestation {path}: {reason}")]
    Write {
        /// The attestation file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An attestation with other contents is already there.
    #[error(
        "{path} already exists and holds a different attestation; trustpub does not overwrite \
         attestation files: delete it to sign this file again, or keep it and upload it as it is"
    )]
    Exists {
        /// The attestation file.
        path: PathBuf,
    },
}

/// The statement's subject of a PEP 740 attestation object: `(name, sha256)`, plus the
/// predicate type.
pub fn statement_subject(attestation: &Value) -> Result<(String, String, String), String> {
    let statement = attestation
        .pointer("/envelope/statement")
        .and_then(Value::as_str)
        .ok_or("no envelope.statement")?;
    let decoded = json::decode_base64(statement).ok_or("envelope.statement is not base64")?;
    let statement = Statement::parse(&decoded)
        .map_err(|reason| format!("envelope.statement is not an in-toto statement: {reason}"))?;
    let [subject] = statement.subjects.as_slice() else {
        return Err(format!(
            "the statement has {} subjects; PEP 740 requires exactly one",
            statement.subjects.len()
        ));
    };
    let name = subject.name.as_deref().ok_or("the subject has no name")?;
    let sha256 = subject
        .digest
        .get("sha256")
        .ok_or("the subject has no sha256 digest")?;
    Ok((
        name.to_owned(),
        sha256.to_ascii_lowercase(),
        statement.predicate_type,
    ))
}

/// The upload's `attestations` form field for these attestations: a JSON array of the
/// attestation objects, each byte for byte as [`Attestation::to_json`] writes it (what
/// gh-action-pypi-publish sends); `None` for none, as the field is then left out.
pub fn upload_field(attestations: &[Attestation]) -> Option<String> {
    if attestations.is_empty() {
        return None;
    }
    let objects: Vec<String> = attestations.iter().map(Attestation::to_json).collect();
    Some(format!("[{}]", objects.join(",")))
}

/// Loads the attestation files of `dist` and checks each against it as PyPI will
/// ([`check_subject`]; at most one per predicate type).
pub fn load_existing(
    dist: &Distribution,
    paths: &[PathBuf],
) -> Result<Vec<Attestation>, AttestationError> {
    let mut seen: BTreeMap<PredicateType, &Path> = BTreeMap::new();
    let mut attestations = Vec::new();
    for path in paths {
        let attestation = read_attestation(path)?;
        let predicate_type = subject::subject_problem(&attestation, &dist.filename, &dist.sha256)
            .map_err(|problem| AttestationError::Mismatch {
            path: path.clone(),
            filename: dist.filename.clone(),
            problem,
        })?;
        if let Some(other) = seen.insert(predicate_type, path) {
            return Err(AttestationError::DuplicatePredicateType {
                path: path.clone(),
                other: other.to_owned(),
                filename: dist.filename.clone(),
                predicate_type,
            });
        }
        attestations.push(attestation);
    }
    Ok(attestations)
}

#[cfg(test)]
mod tests;
