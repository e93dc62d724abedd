//! Existing attestation files checked against a real distribution before upload.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::*;

const REFERENCE_ATTESTATION: &str =
    include_str!("../../tests/fixtures/pep740/bundle.publish.attestation");
const WHEEL: &str = "sampleproject-4.0.0-py3-none-any.whl";

/// Writes a small wheel and reads it back.
fn wheel(dir: &Path) -> Distribution {
    let path = dir.join(WHEEL);
    let mut zip = zip::ZipWriter::new(fs_err::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (member, text) in [
        (
            "sampleproject-4.0.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: sampleproject\nVersion: 4.0.0\n",
        ),
        (
            "sampleproject-4.0.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        ("sampleproject-4.0.0.dist-info/RECORD", ""),
    ] {
        zip.start_file(member, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    Distribution::read(&path).unwrap()
}

/// The reference attestation re-pointed at `statement` (the signature no longer verifies; the
/// checks here do not look at it).
fn attestation_of(statement: &[u8]) -> Attestation {
    let mut value: Value = serde_json::from_str(REFERENCE_ATTESTATION).unwrap();
    value["envelope"]["statement"] = json::encode_base64(statement).into();
    Attestation::from_json(&value.to_string()).unwrap()
}

fn slsa_statement(filename: &str, sha256: &str) -> Vec<u8> {
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": filename, "digest": {"sha256": sha256}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {}},
    })
    .to_string()
    .into_bytes()
}

fn redact(message: &str, dir: &Path, dist: &Distribution) -> String {
    message
        .replace(&dir.display().to_string(), "[dir]")
        .replace(&dist.sha256, "[sha256]")
}

#[test]
fn loads_matching_files_into_the_upload_field() {
    let dir = tempfile::tempdir().unwrap();
    let dist = wheel(dir.path());
    let publish = attestation_of(&publish_statement(&dist.filename, &dist.sha256));
    let slsa = attestation_of(&slsa_statement(&dist.filename, &dist.sha256));
    let publish_path = write_attestation(&dist.path, &publish).unwrap();
    let slsa_path = dir.path().join(format!("{WHEEL}.slsa.attestation"));
    fs_err::write(&slsa_path, slsa.to_json()).unwrap();

    let loaded = load_existing(&dist, &[publish_path, slsa_path]).unwrap();
    assert_eq!(loaded, [publish.clone(), slsa.clone()]);
    let field = upload_field(&loaded).unwrap();
    assert_eq!(field, format!("[{},{}]", publish.to_json(), slsa.to_json()));
    let parsed: Vec<Value> = serde_json::from_str(&field).unwrap();
    assert_eq!(parsed.len(), 2);
    assert!(load_existing(&dist, &[]).unwrap().is_empty());
    assert_eq!(
        upload_field(&[]),
        None,
        "no attestations: the field is left out"
    );
}

#[test]
fn refuses_files_that_do_not_attest_the_distribution() {
    let dir = tempfile::tempdir().unwrap();
    let dist = wheel(dir.path());
    // The fixture attests another build of the same filename.
    let stale = attestation_path(&dist.path);
    fs_err::write(&stale, REFERENCE_ATTESTATION).unwrap();
    let error = load_existing(&dist, std::slice::from_ref(&stale)).unwrap_err();
    insta::assert_snapshot!(redact(&error.to_string(), dir.path(), &dist), @"[dir]/sampleproject-4.0.0-py3-none-any.whl.publish.attestation does not attest sampleproject-4.0.0-py3-none-any.whl: subject does not match distribution digest: the statement has sha256 ddcd6b9c2b91a32e8ead528d0c2dc4e1b7c975ba1c09271cf1384ea94d45882b, the file has sha256 [sha256]; the attestation was made for another build of this file. Remove the stale attestation (or rebuild it) before uploading");

    let other = attestation_of(&publish_statement(
        "sampleproject-4.0.0.tar.gz",
        &dist.sha256,
    ));
    fs_err::write(&stale, other.to_json()).unwrap();
    let error = load_existing(&dist, std::slice::from_ref(&stale)).unwrap_err();
    insta::assert_snapshot!(redact(&error.to_string(), dir.path(), &dist), @"[dir]/sampleproject-4.0.0-py3-none-any.whl.publish.attestation does not attest sampleproject-4.0.0-py3-none-any.whl: subject does not match distribution name: sampleproject-4.0.0.tar.gz != sampleproject-4.0.0-py3-none-any.whl; the attestation was made for another file. Remove the stale attestation (or rebuild it) before uploading");

    fs_err::write(&stale, "{}").unwrap();
    let error = load_existing(&dist, std::slice::from_ref(&stale)).unwrap_err();
    insta::assert_snapshot!(redact(&error.to_string(), dir.path(), &dist), @"[dir]/sampleproject-4.0.0-py3-none-any.whl.publish.attestation is not a PEP 740 attestation: missing field `version` at line 1 column 2");
}

#[test]
fn refuses_two_files_with_one_predicate_type() {
    let dir = tempfile::tempdir().unwrap();
    let dist = wheel(dir.path());
    let publish = attestation_of(&publish_statement(&dist.filename, &dist.sha256));
    let first = write_attestation(&dist.path, &publish).unwrap();
    let second = dir.path().join(format!("{WHEEL}.copy.attestation"));
    fs_err::write(&second, publish.to_json()).unwrap();
    let error = load_existing(&dist, &[first, second]).unwrap_err();
    insta::assert_snapshot!(redact(&error.to_string(), dir.path(), &dist), @"[dir]/sampleproject-4.0.0-py3-none-any.whl.copy.attestation and [dir]/sampleproject-4.0.0-py3-none-any.whl.publish.attestation both attest sampleproject-4.0.0-py3-none-any.whl as https://docs.pypi.org/attestations/publish/v1: Multiple attestations for the same file with the same predicate type are not supported by PyPI; keep one of them");
}

#[test]
fn statement_subject_reads_the_subject() {
    let value: Value = serde_json::from_str(REFERENCE_ATTESTATION).unwrap();
    assert_eq!(
        statement_subject(&value).unwrap(),
        (
            WHEEL.to_owned(),
            "ddcd6b9c2b91a32e8ead528d0c2dc4e1b7c975ba1c09271cf1384ea94d45882b".to_owned(),
            "https://docs.pypi.org/attestations/publish/v1".to_owned(),
        )
    );
    let error = |statement: &[u8]| {
        let mut value = value.clone();
        value["envelope"]["statement"] = json::encode_base64(statement).into();
        statement_subject(&value).unwrap_err()
    };
    insta::assert_snapshot!(error(b"[]"), @"envelope.statement is not an in-toto statement: it is not a JSON object");
    insta::assert_snapshot!(error(&slsa_statement("a", "b")[..0]), @"envelope.statement is not an in-toto statement: it is not JSON (EOF while parsing a value at line 1 column 0)");
    let two = json!({"_type": STATEMENT_TYPE, "subject": [{"name": "a", "digest": {}}, {"name": "b", "digest": {}}], "predicateType": "p"});
    insta::assert_snapshot!(error(two.to_string().as_bytes()), @"the statement has 2 subjects; PEP 740 requires exactly one");
    let nameless = json!({"_type": STATEMENT_TYPE, "subject": [{"digest": {"sha256": "AB"}}], "predicateType": "p"});
    insta::assert_snapshot!(error(nameless.to_string().as_bytes()), @"the subject has no name");
    let digestless = json!({"_type": STATEMENT_TYPE, "subject": [{"name": "a", "digest": {}}], "predicateType": "p"});
    insta::assert_snapshot!(error(digestless.to_string().as_bytes()), @"the subject has no sha256 digest");
    assert_eq!(
        statement_subject(&json!({})).unwrap_err(),
        "no envelope.statement"
    );
}
