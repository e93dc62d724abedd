//! PEP 740 verification on upload, as Warehouse's `IntegrityService.parse_attestations` does with
//! pypi-attestations: each attestation is turned into a Sigstore bundle and verified (against the testbed's
//! trusted root rather than production) for the Trusted Publisher that minted the upload token, then its statement
//! must have exactly one subject naming the uploaded file (ultranormalized) with its SHA-256, and a known
//! predicate type, at most one attestation per type.
//!
//! Failures are Warehouse's texts inside `Invalid attestations supplied during upload: …`:
//! `Could not verify the uploaded artifact using the included attestation: Verification failed: …` (with
//! sigstore-python's and pypi-attestations' reasons), `Unknown error while trying to verify included attestations:
//! …` (a certificate or log entry that cannot even be converted), `Multiple attestations for the same file with the
//! same predicate type (…) are not supported`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::PypiPublisher;
use super::errors::UploadError;
use super::names::{Version, normalize};
use super::pyrepr::{repr_bytes, repr_str};
use crate::sigstore::verify::{Flavor, SignedStatement, VerifyError, verify_statement};
use crate::sigstore::{IN_TOTO_PAYLOAD_TYPE, TrustMaterial};
use crate::sigstore::{ParsedCertificate, oids};

const PUBLISH_V1: &str = "https://docs.pypi.org/attestations/publish/v1";
const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn invalid(message: impl std::fmt::Display) -> UploadError {
    UploadError::bad_request(format!(
        "Invalid attestations supplied during upload: {message}"
    ))
}

fn verification_failed(reason: impl std::fmt::Display) -> UploadError {
    invalid(format!(
        "Could not verify the uploaded artifact using the included attestation: Verification failed: {reason}"
    ))
}

/// sigstore-python's `_SingleX509ExtPolicyV2.verify` for one extension.
fn require_extension(
    leaf: &ParsedCertificate,
    policy: &str,
    oid: x509_cert::der::asn1::ObjectIdentifier,
    expected: &str,
) -> Result<String, VerifyError> {
    let found = leaf.utf8_extension(oid).ok_or_else(|| {
        let text = format!("Certificate does not contain {policy} ({oid}) extension");
        VerifyError::Policy(text.clone(), text)
    })?;
    if !expected.is_empty() && found != expected {
        let text =
            format!("Certificate's {policy} does not match (got {found}, expected {expected})");
        return Err(VerifyError::Policy(text.clone(), text));
    }
    Ok(found)
}

/// pypi-attestations' `_GitHubTrustedPublisherPolicy`: issuer, source repository, and the Build Config URI
/// `https://github.com/{repository}/.github/workflows/{workflow}@{digest or ref}`.
fn github_policy(publisher: &PypiPublisher, leaf: &ParsedCertificate) -> Result<(), VerifyError> {
    let repository = format!("{}/{}", publisher.owner, publisher.repo);
    require_extension(leaf, "OIDCIssuerV2", oids::ISSUER_V2, GITHUB_ISSUER)?;
    require_extension(
        leaf,
        "OIDCSourceRepositoryURI",
        oids::SOURCE_REPOSITORY_URI,
        &format!("https://github.com/{repository}"),
    )?;
    let build_config = require_extension(leaf, "OIDCBuildConfigURI", oids::BUILD_CONFIG_URI, "")?;
    let digest = require_extension(
        leaf,
        "OIDCSourceRepositoryDigest",
        oids::SOURCE_REPOSITORY_DIGEST,
        "",
    )?;
    let git_ref = require_extension(
        leaf,
        "OIDCSourceRepositoryRef",
        oids::SOURCE_REPOSITORY_REF,
        "",
    )?;
    let matches = [digest, git_ref].iter().any(|suffix| {
        build_config
            == format!(
                "https://github.com/{repository}/.github/workflows/{}@{suffix}",
                publisher.workflow_filename
            )
    });
    if matches {
        Ok(())
    } else {
        // pypi-attestations formats the `cryptography` extension object, not its value.
        let oid = format!(
            "<ObjectIdentifier(oid={}, name=Unknown OID)>",
            oids::BUILD_CONFIG_URI
        );
        let raw = leaf.extension(oids::BUILD_CONFIG_URI).unwrap_or_default();
        let text = format!(
            "Certificate's Build Config URI (<Extension(oid={oid}, critical=False, value=<UnrecognizedExtension(oid={oid}, value={})>)>) does not match expected Trusted Publisher ({} @ {repository})",
            repr_bytes(raw),
            publisher.workflow_filename
        );
        Err(VerifyError::Policy(text.clone(), text))
    }
}

/// pypi-attestations' `_ultranormalize_dist_filename`, with `packaging`'s filename parsers and their messages.
pub(crate) fn ultranormalize(filename: &str) -> Result<String, String> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.len() != 5 && parts.len() != 6 {
            return Err(format!(
                "Invalid wheel filename (wrong number of parts): {}",
                repr_str(filename)
            ));
        }
        let name = parts[0];
        if name.contains("__")
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return Err(format!("Invalid project name: {}", repr_str(filename)));
        }
        let version = Version::parse(parts[1]).ok_or_else(|| {
            format!(
                "Invalid wheel filename (invalid version): {}",
                repr_str(filename)
            )
        })?;
        let build = if parts.len() == 6 {
            let digits: String = parts[2].chars().take_while(char::is_ascii_digit).collect();
            let number: u64 = digits.parse().map_err(|_| {
                format!(
                    "Invalid build number: {} in {}",
                    parts[2],
                    repr_str(filename)
                )
            })?;
            Some(format!("{number}{}", &parts[2][digits.len()..]))
        } else {
            None
        };
        let tags = |index: usize| {
            let mut set: Vec<String> = parts[index].split('.').map(str::to_lowercase).collect();
            set.sort();
            set.dedup();
            set.join(".")
        };
        let count = parts.len();
        let mut out = vec![normalize(name).replace('-', "_"), version.to_string()];
        out.extend(build);
        out.extend([tags(count - 3), tags(count - 2), tags(count - 1)]);
        return Ok(format!("{}.whl", out.join("-")));
    }
    let (stem, extension) = if let Some(stem) = filename.strip_suffix(".tar.gz") {
        (stem, "tar.gz")
    } else if let Some(stem) = filename.strip_suffix(".zip") {
        (stem, "zip")
    } else {
        return Err(format!("unknown distribution format: {filename}"));
    };
    let (name, version) = stem
        .rsplit_once('-')
        .ok_or_else(|| format!("Invalid sdist filename: {}", repr_str(filename)))?;
    let version = Version::parse(version).ok_or_else(|| {
        format!(
            "Invalid sdist filename (invalid version): {}",
            repr_str(filename)
        )
    })?;
    Ok(format!(
        "{}-{version}.{extension}",
        normalize(name).replace('-', "_")
    ))
}

/// The statement checks of `Attestation.verify` after the signature verified; returns the predicate type.
fn check_statement(payload: &[u8], filename: &str, sha256: &str) -> Result<String, UploadError> {
    let statement: Value = serde_json::from_slice(payload)
        .map_err(|error| verification_failed(format!("invalid statement: {error}")))?;
    if statement.get("_type").and_then(Value::as_str) != Some("https://in-toto.io/Statement/v1") {
        return Err(verification_failed(
            "invalid statement: _type must be https://in-toto.io/Statement/v1",
        ));
    }
    let subjects = statement
        .get("subject")
        .and_then(Value::as_array)
        .filter(|subjects| !subjects.is_empty())
        .ok_or_else(|| {
            verification_failed("invalid statement: subject must be a non-empty list")
        })?;
    let [subject] = subjects.as_slice() else {
        return Err(verification_failed(
            "too many subjects in statement (must be exactly one)",
        ));
    };
    let name = subject
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        return Err(verification_failed("invalid subject: missing name"));
    }
    let subject_name = ultranormalize(name)
        .map_err(|error| verification_failed(format!("invalid subject: {error}")))?;
    let dist_name = ultranormalize(filename).unwrap_or_else(|_| filename.to_owned());
    if subject_name != dist_name {
        return Err(verification_failed(format!(
            "subject does not match distribution name: {subject_name} != {dist_name}"
        )));
    }
    if subject.pointer("/digest/sha256").and_then(Value::as_str) != Some(sha256) {
        return Err(verification_failed(
            "subject does not match distribution digest",
        ));
    }
    let predicate_type = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if predicate_type != PUBLISH_V1 && predicate_type != SLSA_PROVENANCE_V1 {
        return Err(verification_failed(format!(
            "unknown attestation type: {predicate_type}"
        )));
    }
    Ok(predicate_type.to_owned())
}

fn b64_field(attestation: &Value, pointer: &str, index: usize) -> Result<Vec<u8>, UploadError> {
    attestation
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|text| STANDARD.decode(text).ok())
        .ok_or_else(|| {
            invalid(format!(
                "Malformed attestations: attestation {index}: {} must be base64",
                pointer.trim_start_matches('/').replace('/', ".")
            ))
        })
}

/// Verifies every attestation (already shape-checked) for the upload of `filename` with `sha256`, made with a
/// token minted for `publisher`.
pub(crate) fn verify_attestations(
    attestations: &Value,
    trust: &TrustMaterial,
    publisher: &PypiPublisher,
    filename: &str,
    sha256: &str,
) -> Result<(), UploadError> {
    let mut seen = Vec::new();
    for (index, attestation) in attestations.as_array().into_iter().flatten().enumerate() {
        let certificate = b64_field(attestation, "/verification_material/certificate", index)?;
        let payload = b64_field(attestation, "/envelope/statement", index)?;
        let signature = b64_field(attestation, "/envelope/signature", index)?;
        let entry = attestation
            .pointer("/verification_material/transparency_entries/0")
            .ok_or_else(|| {
                invalid(format!(
                    "Malformed attestations: attestation {index}: transparency_entries must hold at least 1 item"
                ))
            })?;
        let statement = SignedStatement {
            certificate_der: &certificate,
            payload_type: IN_TOTO_PAYLOAD_TYPE,
            payload: &payload,
            signature: &signature,
            tlog_entry: entry,
        };
        let policy = |leaf: &ParsedCertificate| github_policy(publisher, leaf);
        match verify_statement(&statement, trust, &policy, Flavor::SigstorePython) {
            Ok(_) => {}
            Err(
                error @ (VerifyError::MalformedCertificate(_) | VerifyError::MalformedEntry(_)),
            ) => {
                return Err(invalid(format!(
                    "Unknown error while trying to verify included attestations: {}",
                    error.python_text()
                )));
            }
            Err(error) => return Err(verification_failed(error.python_text())),
        }
        let predicate_type = check_statement(&payload, filename, sha256)?;
        if seen.contains(&predicate_type) {
            return Err(invalid(format!(
                "Multiple attestations for the same file with the same predicate type ({predicate_type}) are not supported"
            )));
        }
        seen.push(predicate_type);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_ultranormalize_like_pypi_attestations() {
        assert_eq!(
            ultranormalize("Sample.Project-1.0-py3-none-any.whl").unwrap(),
            "sample_project-1.0-py3-none-any.whl"
        );
        assert_eq!(
            ultranormalize("foo-1.0-01abc-py3.py2-none-ANY.whl").unwrap(),
            "foo-1.0-1abc-py2.py3-none-any.whl"
        );
        assert_eq!(
            ultranormalize("Foo.Bar-01.0.tar.gz").unwrap(),
            "foo_bar-1.0.tar.gz"
        );
        insta::assert_snapshot!(ultranormalize("foo-1.0.exe").unwrap_err(), @"unknown distribution format: foo-1.0.exe");
        insta::assert_snapshot!(ultranormalize("foo.tar.gz").unwrap_err(), @"Invalid sdist filename: 'foo.tar.gz'");
        insta::assert_snapshot!(ultranormalize("foo-1.0.whl").unwrap_err(), @"Invalid wheel filename (wrong number of parts): 'foo-1.0.whl'");
    }

    #[test]
    fn statement_checks_use_pypi_attestations_wording() {
        let statement = |subjects: Value, predicate_type: &str| {
            serde_json::to_vec(&serde_json::json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": subjects,
                "predicateType": predicate_type,
                "predicate": null,
            }))
            .unwrap()
        };
        let message = |payload: Vec<u8>| {
            check_statement(&payload, "sample-1.0.tar.gz", "ab").map_err(|error| error.message)
        };
        let one = serde_json::json!([{"name": "sample-1.0.tar.gz", "digest": {"sha256": "ab"}}]);
        assert_eq!(
            message(statement(one.clone(), PUBLISH_V1)).unwrap(),
            PUBLISH_V1
        );
        insta::assert_snapshot!(message(statement(one.clone(), "https://example.com/x")).unwrap_err(), @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: unknown attestation type: https://example.com/x");
        let two = serde_json::json!([one[0], one[0]]);
        insta::assert_snapshot!(message(statement(two, PUBLISH_V1)).unwrap_err(), @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: too many subjects in statement (must be exactly one)");
        let other = serde_json::json!([{"name": "sample-2.0.tar.gz", "digest": {"sha256": "ab"}}]);
        insta::assert_snapshot!(message(statement(other, PUBLISH_V1)).unwrap_err(), @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: subject does not match distribution name: sample-2.0.tar.gz != sample-1.0.tar.gz");
        let digest = serde_json::json!([{"name": "sample-1.0.tar.gz", "digest": {"sha256": "cd"}}]);
        insta::assert_snapshot!(message(statement(digest, PUBLISH_V1)).unwrap_err(), @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: subject does not match distribution digest");
    }
}
