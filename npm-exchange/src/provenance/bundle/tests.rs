use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::*;
use crate::package::test_support::{package_tgz, scrub, write};
use crate::package::{PackageTarball, PublishDocument, PublishOptions};

/// A bundle around `statement` (any JSON text), formatted loosely on purpose (indentation,
/// escapes that `JSON.stringify` writes differently, keys out of alphabetical order).
fn bundle_with_payload(media_type: &str, payload: &str) -> String {
    format!(
        r#"{{
  "mediaType": "{media_type}",
  "verificationMaterial": {{
    "certificate": {{"rawBytes": "MIIB\/Zz=="}},
    "tlogEntries": [{{"logIndex": "12345", "kindVersion": {{"kind": "dsse", "version": "0.0.1"}}, "integratedTime": "1700000000"}}],
    "timestampVerificationData": {{}}
  }},
  "dsseEnvelope": {{
    "payloadType": "application/vnd.in-toto+json",
    "payload": {payload},
    "signatures": [{{"sig": "MEUCIQ\u0043=", "keyid": ""}}]
  }},
  "note": "caf\u00e9 \ud83d\ude80",
  "zeta": 1.50, "alpha": 1e2
}}"#
    )
}

fn bundle(statement: &str) -> String {
    bundle_with_payload(
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        &format!("\"{}\"", STANDARD.encode(statement)),
    )
}

fn statement_with_subjects(subjects: &str) -> String {
    format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":{subjects},"predicateType":"https://slsa.dev/provenance/v1","predicate":{{}}}}"#
    )
}

fn one_subject(name: &str, sha512: &str) -> String {
    statement_with_subjects(&format!(
        r#"[{{"name":"{name}","digest":{{"sha512":"{sha512}"}}}}]"#
    ))
}

/// Bundles on which libnpmpublish's `verifyProvenance` and [`ProvenanceBundle::parse`] must
/// agree (compared with npm in `npm_tests`).
pub(crate) fn cases(subject: &ProvenanceSubject) -> Vec<(&'static str, String)> {
    let (name, sha) = (subject.name(), subject.sha512_hex());
    let good = one_subject(name, sha);
    vec![
        ("valid", bundle(&good)),
        (
            "valid, payload without padding",
            bundle_with_payload(
                "application/vnd.dev.sigstore.bundle+json;version=0.2",
                &format!("\"{}\"", STANDARD_NO_PAD.encode(&good)),
            ),
        ),
        ("not JSON", "{\"mediaType\": ".to_owned()),
        ("an array", "[]".to_owned()),
        (
            "no envelope",
            r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{}}"#
                .to_owned(),
        ),
        (
            "empty payload",
            bundle_with_payload("application/vnd.dev.sigstore.bundle.v0.3+json", "\"\""),
        ),
        (
            "payload not a string",
            bundle_with_payload("application/vnd.dev.sigstore.bundle.v0.3+json", "5"),
        ),
        ("payload not JSON", bundle("hello")),
        ("statement is a number", bundle("5")),
        (
            "no subject",
            bundle(r#"{"_type":"https://in-toto.io/Statement/v1"}"#),
        ),
        ("empty subject", bundle(&statement_with_subjects("[]"))),
        (
            "two subjects",
            bundle(&statement_with_subjects(&format!(
                r#"[{{"name":"{name}","digest":{{"sha512":"{sha}"}}}},{{"name":"x","digest":{{}}}}]"#
            ))),
        ),
        (
            "another package",
            bundle(&one_subject("pkg:npm/%40demo/other@1.2.3", sha)),
        ),
        (
            "another version",
            bundle(&one_subject("pkg:npm/%40demo/pkg@1.2.4", sha)),
        ),
        (
            "purl with repository_url",
            bundle(&one_subject(
                &format!("{name}?repository_url=https://npm.example.com"),
                sha,
            )),
        ),
        (
            "unencoded scope",
            bundle(&one_subject("pkg:npm/@demo/pkg@1.2.3", sha)),
        ),
        (
            "subject without a name",
            bundle(&statement_with_subjects(&format!(
                r#"[{{"digest":{{"sha512":"{sha}"}}}}]"#
            ))),
        ),
        (
            "subject that is a string",
            bundle(&statement_with_subjects(r#"["pkg"]"#)),
        ),
        ("another tarball", bundle(&one_subject(name, &"0".repeat(128)))),
        (
            "upper-case digest",
            bundle(&one_subject(name, &sha.to_ascii_uppercase())),
        ),
    ]
}

fn subject() -> ProvenanceSubject {
    ProvenanceSubject::new(
        &crate::package::PackageName::parse("@demo/pkg").unwrap(),
        &semver::Version::new(1, 2, 3),
        &[0xab; 64],
    )
}

#[test]
fn checks_the_subject_with_npms_messages() {
    let subject = subject();
    let outcomes: Vec<String> = cases(&subject)
        .into_iter()
        .map(
            |(label, text)| match ProvenanceBundle::parse(&text, &subject) {
                Ok(bundle) => format!("{label}: ok, {}", bundle.media_type()),
                Err(error) => format!("{label}: {error}"),
            },
        )
        .collect();
    insta::assert_snapshot!(outcomes.join("\n"), @r#"
        valid: ok, application/vnd.dev.sigstore.bundle.v0.3+json
        valid, payload without padding: ok, application/vnd.dev.sigstore.bundle+json;version=0.2
        not JSON: Invalid provenance provided: EOF while parsing a value at line 1 column 14
        an array: No dsseEnvelope with payload found in sigstore bundle
        no envelope: No dsseEnvelope with payload found in sigstore bundle
        empty payload: No dsseEnvelope with payload found in sigstore bundle
        payload not a string: Failed to parse payload from dsseEnvelope: the payload is not a string
        payload not JSON: Failed to parse payload from dsseEnvelope: the payload is not JSON (expected value at line 1 column 1)
        statement is a number: No subject found in sigstore bundle payload
        no subject: No subject found in sigstore bundle payload
        empty subject: No subject found in sigstore bundle payload
        two subjects: Found more than one subject in the sigstore bundle payload
        another package: Provenance subject pkg:npm/%40demo/other@1.2.3 does not match the package: pkg:npm/%40demo/pkg@1.2.3
        another version: Provenance subject pkg:npm/%40demo/pkg@1.2.4 does not match the package: pkg:npm/%40demo/pkg@1.2.3
        purl with repository_url: Provenance subject pkg:npm/%40demo/pkg@1.2.3?repository_url=https://npm.example.com does not match the package: pkg:npm/%40demo/pkg@1.2.3
        unencoded scope: Provenance subject pkg:npm/@demo/pkg@1.2.3 does not match the package: pkg:npm/%40demo/pkg@1.2.3
        subject without a name: Provenance subject undefined does not match the package: pkg:npm/%40demo/pkg@1.2.3
        subject that is a string: Provenance subject undefined does not match the package: pkg:npm/%40demo/pkg@1.2.3
        another tarball: Provenance subject digest does not match the package
        upper-case digest: Provenance subject digest does not match the package
        "#);
}

#[test]
fn attaches_the_bundle_as_npm_serialises_it() {
    let subject = subject();
    let text = bundle(&one_subject(subject.name(), subject.sha512_hex()));
    let bundle = ProvenanceBundle::parse(&text, &subject).unwrap();
    assert_eq!(
        bundle.media_type(),
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let payload = STANDARD.encode(one_subject(subject.name(), subject.sha512_hex()));
    assert_eq!(
        bundle.json(),
        format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"certificate":{{"rawBytes":"MIIB/Zz=="}},"tlogEntries":[{{"logIndex":"12345","kindVersion":{{"kind":"dsse","version":"0.0.1"}},"integratedTime":"1700000000"}}],"timestampVerificationData":{{}}}},"dsseEnvelope":{{"payloadType":"application/vnd.in-toto+json","payload":"{payload}","signatures":[{{"sig":"MEUCIQC=","keyid":""}}]}},"note":"café 🚀","zeta":1.5,"alpha":100}}"#
        )
    );
    assert_eq!(bundle.clone().into_json(), bundle.json());
}

#[test]
fn the_bundle_fits_the_publish_document() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = package_tgz(r#"{"name":"@demo/pkg","version":"1.2.3"}"#);
    let tarball = PackageTarball::read(&write(dir.path(), "pkg.tgz", &bytes)).unwrap();
    let subject = ProvenanceSubject::for_tarball(&tarball);
    let text = bundle(&one_subject(subject.name(), subject.sha512_hex()));
    let bundle = ProvenanceBundle::parse(&text, &subject).unwrap();
    let registry = url::Url::parse("https://registry.npmjs.org/").unwrap();
    let options = PublishOptions {
        registry: &registry,
        tag: None,
        access: None,
    };
    let document = PublishDocument::new(&tarball, &options)
        .unwrap()
        .with_provenance_bundle(bundle.json())
        .unwrap();
    let sent: serde_json::Value = serde_json::from_str(&document.to_json().unwrap()).unwrap();
    let attachment = &sent["_attachments"]["@demo/pkg-1.2.3.sigstore"];
    assert_eq!(attachment["content_type"], bundle.media_type());
    assert_eq!(attachment["data"], bundle.json());
    assert_eq!(
        attachment["length"],
        bundle.json().encode_utf16().count() as u64
    );
}

#[test]
fn media_types_are_those_sigstore_accepts() {
    let subject = subject();
    let statement = one_subject(subject.name(), subject.sha512_hex());
    let payload = format!("\"{}\"", STANDARD.encode(&statement));
    let check = |media_type: &str| {
        ProvenanceBundle::parse(&bundle_with_payload(media_type, &payload), &subject)
            .map(|b| b.media_type().to_owned())
            .map_err(|e| e.to_string())
    };
    for accepted in [
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
    ] {
        assert_eq!(check(accepted), Ok(accepted.to_owned()));
    }
    insta::assert_snapshot!(check("application/json").unwrap_err(), @r#"the bundle's "mediaType" is "application/json", not a Sigstore bundle's (application/vnd.dev.sigstore.bundle.v0.3+json, or application/vnd.dev.sigstore.bundle+json;version=0.1 to 0.3)"#);
    assert!(check("application/vnd.dev.sigstore.bundle.v0.3").is_err());
    assert!(check("application/vnd.dev.sigstore.bundle+json;version=x").is_err());
    let no_media_type = format!(r#"{{"dsseEnvelope":{{"payload":{payload}}}}}"#);
    insta::assert_snapshot!(ProvenanceBundle::parse(&no_media_type, &subject).unwrap_err(), @r#"the bundle's "mediaType" is missing, not a Sigstore bundle's (application/vnd.dev.sigstore.bundle.v0.3+json, or application/vnd.dev.sigstore.bundle+json;version=0.1 to 0.3)"#);
}

#[test]
fn a_subject_without_a_digest_does_not_match() {
    // npm throws a TypeError here (`digest.sha512` of undefined); we say what it means.
    let subject = subject();
    let text = bundle(&statement_with_subjects(&format!(
        r#"[{{"name":"{}"}}]"#,
        subject.name()
    )));
    let error = ProvenanceBundle::parse(&text, &subject).unwrap_err();
    assert_eq!(
        error,
        BundleError::DigestMismatch {
            found: None,
            expected: subject.sha512_hex().to_owned()
        }
    );
    assert_eq!(
        ProvenanceBundle::parse(&bundle("null"), &subject).unwrap_err(),
        BundleError::NoSubject
    );
}

#[tokio::test]
async fn reads_files_and_names_them_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let subject = subject();
    let good = write(
        dir.path(),
        "good.sigstore",
        bundle(&one_subject(subject.name(), subject.sha512_hex())).as_bytes(),
    );
    let bundle_read = ProvenanceBundle::read(&good, &subject).await.unwrap();
    assert_eq!(
        bundle_read.media_type(),
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );

    let other = write(
        dir.path(),
        "other.sigstore",
        bundle(&one_subject("pkg:npm/left-pad@1.0.0", subject.sha512_hex())).as_bytes(),
    );
    let error = ProvenanceBundle::read(&other, &subject).await.unwrap_err();
    insta::assert_snapshot!(scrub(&error.to_string(), dir.path()), @"the provenance file [TMP]/other.sigstore cannot be attached: Provenance subject pkg:npm/left-pad@1.0.0 does not match the package: pkg:npm/%40demo/pkg@1.2.3 (the bundle was made for another package or version; sign a statement for this tarball)");

    let binary = write(dir.path(), "binary.sigstore", &[0xff, 0xfe, 0x00]);
    let error = ProvenanceBundle::read(&binary, &subject).await.unwrap_err();
    assert!(
        matches!(
            error,
            ProvenanceFileError::Invalid {
                source: BundleError::InvalidJson { .. },
                ..
            }
        ),
        "{error:?}"
    );

    let missing = dir.path().join("missing.sigstore");
    let error = ProvenanceBundle::read(&missing, &subject)
        .await
        .unwrap_err();
    insta::assert_snapshot!(scrub(&error.to_string(), dir.path()), @"cannot read the provenance file: failed to read from file `[TMP]/missing.sigstore`: No such file or directory (os error 2)");
}
