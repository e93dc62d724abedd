//! Does an attestation's statement speak about this file? The checks pypi-attestations'
//! `Attestation.verify` runs once the signature has verified, with its wording.

use std::collections::BTreeSet;

use crate::dist::{Version, WheelFilename, normalize_name};

use super::AttestationError;
use super::object::Attestation;
use super::statement::{PredicateType, Statement};

/// Why an attestation's statement does not cover a distribution. The first words of each
/// message are pypi-attestations' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectProblem {
    /// The signed payload is not an in-toto Statement v1.
    #[error("invalid statement: {reason}; it was not made by a PEP 740 signer")]
    InvalidStatement {
        /// What is wrong with it.
        reason: String,
    },
    /// More than one subject.
    #[error(
        "too many subjects in statement (must be exactly one): it names {count} files, a PEP 740 \
         attestation names one"
    )]
    SubjectCount {
        /// How many subjects it has.
        count: usize,
    },
    /// The subject has no name.
    #[error("invalid subject: missing name")]
    MissingName,
    /// The subject's name is not a wheel or sdist filename.
    #[error("invalid subject: {reason}")]
    InvalidName {
        /// Why it does not parse.
        reason: String,
    },
    /// The distribution's own filename is not a wheel or sdist filename.
    #[error("{filename} cannot carry an attestation: {reason}")]
    InvalidDistribution {
        /// The distribution's filename.
        filename: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The subject names another file.
    #[error(
        "subject does not match distribution name: {subject} != {filename}; the attestation was \
         made for another file"
    )]
    NameMismatch {
        /// The subject's name.
        subject: String,
        /// The distribution's filename.
        filename: String,
    },
    /// The subject's SHA-256 is not the file's.
    #[error(
        "subject does not match distribution digest: the statement has {}, the file has sha256 \
         {sha256}; the attestation was made for another build of this file",
        subject_sha256.as_ref().map_or_else(|| "no sha256 digest".to_owned(), |d| format!("sha256 {d}"))
    )]
    DigestMismatch {
        /// The subject's sha256, if it has one.
        subject_sha256: Option<String>,
        /// The file's sha256.
        sha256: String,
    },
    /// A predicate type PyPI does not accept.
    #[error(
        "unknown attestation type: {predicate_type} (PyPI accepts {} and {})",
        PredicateType::PublishV1,
        PredicateType::SlsaProvenanceV1
    )]
    UnknownPredicateType {
        /// The statement's predicate type.
        predicate_type: String,
    },
}

/// Checks that `attestation`'s statement covers the distribution `filename` with SHA-256
/// `sha256_hex`, as pypi-attestations' `Attestation.verify` does after the signature check: an
/// in-toto Statement v1 with exactly one subject; the subject's name parses as a wheel or sdist
/// filename that means the same distribution (normalized name, version, and for wheels build tag
/// and tag set); its sha256 equals the file's; the predicate type is one PyPI accepts, which is
/// returned.
///
/// This does not verify the signature: run it on an attestation whose bundle
/// ([`Attestation::to_bundle_json`]) has verified, or before uploading one.
pub fn check_subject(
    attestation: &Attestation,
    filename: &str,
    sha256_hex: &str,
) -> Result<PredicateType, AttestationError> {
    subject_problem(attestation, filename, sha256_hex).map_err(|problem| {
        AttestationError::Subject {
            filename: filename.to_owned(),
            problem,
        }
    })
}

pub(super) fn subject_problem(
    attestation: &Attestation,
    filename: &str,
    sha256_hex: &str,
) -> Result<PredicateType, SubjectProblem> {
    let statement = Statement::parse(attestation.statement())
        .map_err(|reason| SubjectProblem::InvalidStatement { reason })?;
    let [subject] = statement.subjects.as_slice() else {
        return Err(SubjectProblem::SubjectCount {
            count: statement.subjects.len(),
        });
    };
    let name = subject
        .name
        .as_deref()
        .filter(|name| !name.is_empty())
        .ok_or(SubjectProblem::MissingName)?;
    let subject_dist =
        DistName::parse(name).map_err(|reason| SubjectProblem::InvalidName { reason })?;
    let dist = DistName::parse(filename).map_err(|reason| SubjectProblem::InvalidDistribution {
        filename: filename.to_owned(),
        reason,
    })?;
    if subject_dist != dist {
        return Err(SubjectProblem::NameMismatch {
            subject: name.to_owned(),
            filename: filename.to_owned(),
        });
    }
    let sha256 = sha256_hex.to_ascii_lowercase();
    let subject_sha256 = subject.digest.get("sha256");
    if subject_sha256 != Some(&sha256) {
        return Err(SubjectProblem::DigestMismatch {
            subject_sha256: subject_sha256.cloned(),
            sha256,
        });
    }
    PredicateType::from_uri(&statement.predicate_type).ok_or_else(|| {
        SubjectProblem::UnknownPredicateType {
            predicate_type: statement.predicate_type.clone(),
        }
    })
}

/// What a distribution filename identifies, compared as `packaging` compares the tuples of
/// `parse_wheel_filename` / `parse_sdist_filename`.
#[derive(Debug, PartialEq)]
enum DistName {
    Wheel {
        name: String,
        version: Version,
        /// The build tag's number (without leading zeros) and the rest.
        build: Option<(String, String)>,
        /// Every `(python, abi, platform)` tag, lowercase.
        tags: BTreeSet<(String, String, String)>,
    },
    Sdist {
        name: String,
        version: Version,
    },
}

impl DistName {
    /// Parses a wheel (`.whl`) or sdist (`.tar.gz`, `.zip`) filename; the error is
    /// pypi-attestations' (`packaging`'s) reason.
    fn parse(filename: &str) -> Result<Self, String> {
        if filename.ends_with(".whl") {
            let wheel = WheelFilename::parse(filename).map_err(|err| err.to_string())?;
            if wheel.name.contains("__") {
                return Err(format!(
                    "Invalid project name: {filename:?} has '__' in its name"
                ));
            }
            let build = wheel.build.as_deref().map(|build| {
                let digits = build.bytes().take_while(u8::is_ascii_digit).count();
                let (number, rest) = build.split_at(digits);
                let number = number.trim_start_matches('0');
                (
                    if number.is_empty() { "0" } else { number }.to_owned(),
                    rest.to_owned(),
                )
            });
            let mut tags = BTreeSet::new();
            for python in &wheel.python_tags {
                for abi in &wheel.abi_tags {
                    for platform in &wheel.platform_tags {
                        tags.insert((
                            python.to_ascii_lowercase(),
                            abi.to_ascii_lowercase(),
                            platform.to_ascii_lowercase(),
                        ));
                    }
                }
            }
            Ok(Self::Wheel {
                name: normalize_name(&wheel.name),
                version: wheel.version,
                build,
                tags,
            })
        } else if let Some(stem) = filename
            .strip_suffix(".tar.gz")
            .or_else(|| filename.strip_suffix(".zip"))
        {
            // A PEP 440 version has no '-', so the name is everything before the last one.
            let Some((name, version)) = stem.rsplit_once('-') else {
                return Err(format!("Invalid sdist filename: {filename:?}"));
            };
            let version = version
                .parse()
                .map_err(|_| format!("Invalid sdist filename (invalid version): {filename:?}"))?;
            Ok(Self::Sdist {
                name: normalize_name(name),
                version,
            })
        } else {
            Err(format!("unknown distribution format: {filename}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::json;
    use crate::attestation::statement::publish_statement;
    use serde_json::{Value, json};

    const REFERENCE_ATTESTATION: &str =
        include_str!("../../tests/fixtures/pep740/bundle.publish.attestation");
    const FILENAME: &str = "sampleproject-4.0.0-py3-none-any.whl";
    const SHA256: &str = "ddcd6b9c2b91a32e8ead528d0c2dc4e1b7c975ba1c09271cf1384ea94d45882b";

    /// The reference attestation with `statement` as its signed statement.
    fn with_statement(statement: &[u8]) -> Attestation {
        let mut value: Value = serde_json::from_str(REFERENCE_ATTESTATION).unwrap();
        value["envelope"]["statement"] = json::encode_base64(statement).into();
        Attestation::from_json(&value.to_string()).unwrap()
    }

    fn statement(subjects: Value, predicate_type: &str) -> Vec<u8> {
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subjects,
            "predicateType": predicate_type,
            "predicate": null,
        })
        .to_string()
        .into_bytes()
    }

    fn problem(attestation: &Attestation, filename: &str, sha256: &str) -> String {
        check_subject(attestation, filename, sha256)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn accepts_the_file_it_was_made_for() {
        let attestation = Attestation::from_json(REFERENCE_ATTESTATION).unwrap();
        assert_eq!(
            check_subject(&attestation, FILENAME, SHA256).unwrap(),
            PredicateType::PublishV1
        );
        assert_eq!(
            check_subject(&attestation, FILENAME, &SHA256.to_ascii_uppercase()).unwrap(),
            PredicateType::PublishV1
        );
    }

    #[test]
    fn names_are_compared_parsed_as_packaging_does() {
        let same = [
            (
                "Sample.Project-4.0.0-py3-none-any.whl",
                "sample_project-4.0-py3-none-any.whl",
            ),
            (
                "foo-1.0-py2.py3-none-any.whl",
                "foo-1.0-py3.py2-none-any.whl",
            ),
            ("foo-1.0-01-py3-none-any.whl", "foo-1.0-1-py3-none-any.whl"),
            ("foo-1.0-PY3-none-ANY.whl", "foo-1.0-py3-none-any.whl"),
            ("foo-1.0.zip", "foo-1.0.tar.gz"),
            ("Foo.Bar-1.0.0rc1.tar.gz", "foo_bar-1.0rc1.tar.gz"),
        ];
        for (subject, filename) in same {
            let attestation = with_statement(&publish_statement(subject, SHA256));
            assert_eq!(
                check_subject(&attestation, filename, SHA256).ok(),
                Some(PredicateType::PublishV1),
                "{subject} should cover {filename}"
            );
        }
        let different = [
            (
                "sampleproject-4.0.0-py3-none-any.whl",
                "sample_project-4.0.0-py3-none-any.whl",
            ),
            ("foo-1.0-py3-none-any.whl", "foo-1.0.post0-py3-none-any.whl"),
            ("foo-1.0-py3-none-any.whl", "foo-1.0-1-py3-none-any.whl"),
            ("foo-1.0-1a-py3-none-any.whl", "foo-1.0-1b-py3-none-any.whl"),
            (
                "foo-1.0-py3-none-any.whl",
                "foo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            ),
            ("foo-1.0-py2.py3-none-any.whl", "foo-1.0-py3-none-any.whl"),
            ("foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz"),
        ];
        for (subject, filename) in different {
            let attestation = with_statement(&publish_statement(subject, SHA256));
            assert!(
                matches!(
                    subject_problem(&attestation, filename, SHA256),
                    Err(SubjectProblem::NameMismatch { .. })
                ),
                "{subject} should not cover {filename}"
            );
        }
    }

    #[test]
    fn the_slsa_predicate_type_is_accepted() {
        let attestation = with_statement(&statement(
            json!([{"name": FILENAME, "digest": {"sha256": SHA256}}]),
            "https://slsa.dev/provenance/v1",
        ));
        assert_eq!(
            check_subject(&attestation, FILENAME, SHA256).unwrap(),
            PredicateType::SlsaProvenanceV1
        );
    }

    #[test]
    fn explains_every_mismatch() {
        let reference = Attestation::from_json(REFERENCE_ATTESTATION).unwrap();
        let subject = |name: Value, digest: Value| json!([{"name": name, "digest": digest}]);
        let publish = "https://docs.pypi.org/attestations/publish/v1";
        let sha = json!({"sha256": SHA256});

        insta::assert_snapshot!(problem(&with_statement(b"{}"), FILENAME, SHA256), @r#"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: invalid statement: it has no _type (expected "https://in-toto.io/Statement/v1"); it was not made by a PEP 740 signer"#);
        let two =
            json!([{"name": FILENAME, "digest": sha}, {"name": "other-1.0.tar.gz", "digest": sha}]);
        insta::assert_snapshot!(problem(&with_statement(&statement(two, publish)), FILENAME, SHA256), @"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: too many subjects in statement (must be exactly one): it names 2 files, a PEP 740 attestation names one");
        insta::assert_snapshot!(problem(&with_statement(&statement(subject(Value::Null, sha.clone()), publish)), FILENAME, SHA256), @"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: invalid subject: missing name");
        insta::assert_snapshot!(problem(&with_statement(&statement(subject("".into(), sha.clone()), publish)), FILENAME, SHA256), @"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: invalid subject: missing name");
        insta::assert_snapshot!(problem(&with_statement(&statement(subject("sampleproject-4.0.0.egg".into(), sha.clone()), publish)), FILENAME, SHA256), @"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: invalid subject: unknown distribution format: sampleproject-4.0.0.egg");
        insta::assert_snapshot!(problem(&with_statement(&statement(subject("sampleproject.tar.gz".into(), sha.clone()), publish)), FILENAME, SHA256), @r#"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: invalid subject: Invalid sdist filename: "sampleproject.tar.gz""#);
        insta::assert_snapshot!(problem(&with_statement(&statement(subject("sampleproject-four.tar.gz".into(), sha.clone()), publish)), FILENAME, SHA256), @r#"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: invalid subject: Invalid sdist filename (invalid version): "sampleproject-four.tar.gz""#);
        insta::assert_snapshot!(problem(&with_statement(&statement(subject("sample__project-4.0-py3-none-any.whl".into(), sha.clone()), publish)), FILENAME, SHA256), @r#"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: invalid subject: Invalid project name: "sample__project-4.0-py3-none-any.whl" has '__' in its name"#);
        insta::assert_snapshot!(problem(&with_statement(&statement(subject("sampleproject-4.0-py3-none.whl".into(), sha.clone()), publish)), FILENAME, SHA256), @"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: invalid subject: 'sampleproject-4.0-py3-none.whl' is not a wheel filename: expected {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl with no '-' inside a part, found 4 parts; rebuild the wheel with a current build backend");
        insta::assert_snapshot!(problem(&reference, "sampleproject-4.0.0.egg", SHA256), @"the attestation for sampleproject-4.0.0.egg does not cover it: sampleproject-4.0.0.egg cannot carry an attestation: unknown distribution format: sampleproject-4.0.0.egg");
        insta::assert_snapshot!(problem(&reference, "sampleproject-4.0.1-py3-none-any.whl", SHA256), @"the attestation for sampleproject-4.0.1-py3-none-any.whl does not cover it: subject does not match distribution name: sampleproject-4.0.0-py3-none-any.whl != sampleproject-4.0.1-py3-none-any.whl; the attestation was made for another file");
        let other_sha = "0".repeat(64);
        insta::assert_snapshot!(problem(&reference, FILENAME, &other_sha), @"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: subject does not match distribution digest: the statement has sha256 ddcd6b9c2b91a32e8ead528d0c2dc4e1b7c975ba1c09271cf1384ea94d45882b, the file has sha256 0000000000000000000000000000000000000000000000000000000000000000; the attestation was made for another build of this file");
        insta::assert_snapshot!(problem(&with_statement(&statement(subject(FILENAME.into(), json!({"sha512": "00"})), publish)), FILENAME, SHA256), @"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: subject does not match distribution digest: the statement has no sha256 digest, the file has sha256 ddcd6b9c2b91a32e8ead528d0c2dc4e1b7c975ba1c09271cf1384ea94d45882b; the attestation was made for another build of this file");
        insta::assert_snapshot!(problem(&with_statement(&statement(subject(FILENAME.into(), sha.clone()), "https://slsa.dev/provenance/v0.2")), FILENAME, SHA256), @"the attestation for sampleproject-4.0.0-py3-none-any.whl does not cover it: unknown attestation type: https://slsa.dev/provenance/v0.2 (PyPI accepts https://docs.pypi.org/attestations/publish/v1 and https://slsa.dev/provenance/v1)");
    }
}
