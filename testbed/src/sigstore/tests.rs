//! End-to-end tests of the testbed's Fulcio and Rekor with the tiny client, checked by a third-party verifier
//! (`sigstore-verify`, given the testbed's `trusted_root.json`) and by the registries' own verification.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::client::{Signed, TestClient, chain_ders, parses};
use super::keys::pem_encode;
use super::trust::TrustMaterial;
use super::verify::{ChainFailure, Flavor, SignedStatement, VerifyError, verify_statement};
use super::x509::ParsedCertificate;
use crate::{GITHUB_ISSUER, Testbed, TestbedConfig};

const ARTIFACT: &[u8] = b"the artifact's bytes";

fn statement(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": hex::encode(Sha256::digest(ARTIFACT))}}],
        "predicateType": "https://docs.pypi.org/attestations/publish/v1",
        "predicate": null,
    }))
    .unwrap()
}

async fn start() -> Testbed {
    Testbed::start(TestbedConfig::default()).await.unwrap()
}

fn san(testbed: &Testbed) -> String {
    format!(
        "https://github.com/{}",
        testbed.identity().job_workflow_ref()
    )
}

/// `sigstore-verify`'s verdict on a bundle, with the testbed's trusted root.
fn third_party_verdict(testbed: &Testbed, signed: &Signed) -> Result<(), String> {
    let root =
        sigstore_verify::trust_root::TrustedRoot::from_file(testbed.sigstore_trusted_root_path())
            .map_err(|error| format!("trusted root: {error}"))?;
    let bundle = sigstore_verify::types::Bundle::from_json(&signed.bundle().to_string())
        .map_err(|error| format!("bundle: {error}"))?;
    let verifier =
        sigstore_verify::Verifier::new(&root).map_err(|error| format!("verifier: {error}"))?;
    let policy = sigstore_verify::VerificationPolicy::new(san(testbed), GITHUB_ISSUER);
    verifier
        .verify(ARTIFACT, &bundle, &policy)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// The registries' verdict, with `trust`.
fn registry_verdict(
    trust: &TrustMaterial,
    signed: &Signed,
) -> Result<ParsedCertificate, VerifyError> {
    let entry = super::client::transparency_log_entry(&signed.entry, "dsse");
    let statement = SignedStatement {
        certificate_der: &signed.certificate,
        payload_type: super::dsse::IN_TOTO_PAYLOAD_TYPE,
        payload: &signed.payload,
        signature: &signed.signature,
        tlog_entry: &entry,
    };
    verify_statement(&statement, trust, &|_| Ok(()), Flavor::SigstorePython)
}

fn trust_of(testbed: &Testbed) -> TrustMaterial {
    let text = fs_err::read_to_string(testbed.sigstore_trusted_root_path()).unwrap();
    TrustMaterial::from_trusted_root(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[tokio::test]
async fn bundles_verify_with_a_third_party_verifier_and_proofs_grow() {
    let testbed = start().await;
    let client = TestClient::new(&testbed);
    let mut last = None;
    for index in 0..3 {
        let token = testbed.id_token("sigstore").unwrap();
        let signed = client
            .sign(&token, &statement(&format!("sample-1.{index}.tar.gz")))
            .await
            .unwrap();
        third_party_verdict(&testbed, &signed).unwrap();
        registry_verdict(&trust_of(&testbed), &signed).unwrap();
        last = Some(signed);
    }
    let last = last.unwrap();
    let proof = &last.entry["verification"]["inclusionProof"];
    assert_eq!(proof["treeSize"], 3);
    assert_eq!(proof["logIndex"], 2);
    assert!(!proof["hashes"].as_array().unwrap().is_empty(), "{proof}");
    let records = testbed.records();
    assert_eq!(records.certificates_issued.len(), 3);
    assert_eq!(records.rekor_entries.len(), 3);
    assert_eq!(
        records.certificates_issued[0].subject_alternative_name,
        san(&testbed)
    );
    assert_eq!(records.rekor_entries[2].kind, "dsse");
    testbed.shutdown().await;
}

#[tokio::test]
async fn each_fault_makes_the_bundle_fail_verification() {
    let testbed = start().await;
    let client = TestClient::new(&testbed);
    let faults = testbed.sigstore_faults();
    let trust = trust_of(&testbed);
    type Knob = fn(&crate::SigstoreFaults, bool);
    let knobs: [(&str, Knob); 3] = [
        ("bad SCT", crate::SigstoreFaults::set_bad_sct),
        ("wrong log key", crate::SigstoreFaults::set_wrong_log_key),
        (
            "expired certificate",
            crate::SigstoreFaults::set_expired_certificate,
        ),
    ];
    let mut registry_errors = Vec::new();
    for (index, (name, knob)) in knobs.into_iter().enumerate() {
        knob(&faults, true);
        let token = testbed.id_token("sigstore").unwrap();
        let signed = client
            .sign(&token, &statement(&format!("fault-{index}.tar.gz")))
            .await
            .unwrap();
        let verdict = third_party_verdict(&testbed, &signed);
        assert!(
            verdict.is_err(),
            "{name}: sigstore-verify accepted the bundle"
        );
        registry_errors.push(format!(
            "{name}: {}",
            registry_verdict(&trust, &signed).unwrap_err().python_text()
        ));
        faults.clear();
    }
    insta::assert_snapshot!(registry_errors.join("\n"), @r"
    bad SCT: failed to verify SCT on signing certificate: SCT verify failed: keyring: invalid signature
    wrong log key: invalid log entry: checkpoint: invalid signature: keyring: invalid signature
    expired certificate: failed to build timestamp certificate chain: validation failed: cert is not valid at validation time (encountered processing <Certificate(subject=<Name()>, ...)>)
    ");
    assert!(testbed.records().rekor_entries[1].signed_with_wrong_key);
    // With the knobs off again, the same client signs verifiable bundles.
    let token = testbed.id_token("sigstore").unwrap();
    let signed = client
        .sign(&token, &statement("after.tar.gz"))
        .await
        .unwrap();
    third_party_verdict(&testbed, &signed).unwrap();
    testbed.shutdown().await;
}

#[tokio::test]
async fn outages_answer_500_then_recover() {
    let testbed = start().await;
    let client = TestClient::new(&testbed);
    let faults = testbed.sigstore_faults();
    let token = testbed.id_token("sigstore").unwrap();
    let subject = testbed.identity().subject();
    faults.fail_next_fulcio_requests(1);
    let answer = client.request_certificate(&token, &subject).await;
    assert_eq!(
        answer,
        (
            500,
            json!({"code": 13, "message": "error communicating with CA backend", "details": []})
        )
    );
    let answer = client.request_certificate(&token, &subject).await;
    assert_eq!(answer.0, 200);
    let certificate = TestClient::leaf(&answer);
    assert!(chain_ders(&answer).iter().all(|der| parses(der)));

    faults.fail_next_rekor_requests(1);
    let (envelope, _) = client.envelope(&statement("x.tar.gz"));
    let pem = pem_encode("CERTIFICATE", &certificate);
    let answer = client.submit(&envelope, &pem).await;
    assert_eq!(
        answer,
        (
            500,
            json!({"code": 500, "message": "unexpected result from transparency log"})
        )
    );
    assert_eq!(client.submit(&envelope, &pem).await.0, 201);
    assert_eq!(testbed.records().rekor_entries.len(), 1);
    testbed.shutdown().await;
}

#[tokio::test]
async fn fulcio_refuses_bad_tokens_and_proofs() {
    let testbed = start().await;
    let client = TestClient::new(&testbed);
    let subject = testbed.identity().subject();
    let message = |answer: (u16, Value)| {
        format!(
            "{} {}",
            answer.0,
            answer.1["message"].as_str().unwrap_or_default()
        )
    };

    let wrong_audience = testbed.id_token("pypi").unwrap();
    insta::assert_snapshot!(message(client.request_certificate(&wrong_audience, &subject).await), @"400 There was an error processing the identity token");
    let mut claims = testbed.id_token_claims("sigstore");
    claims.insert("exp".to_owned(), json!(crate::records::now_unix() - 10));
    let expired = testbed.sign_id_token(&claims).unwrap();
    insta::assert_snapshot!(message(client.request_certificate(&expired, &subject).await), @"400 There was an error processing the identity token");
    let mut claims = testbed.id_token_claims("sigstore");
    claims.insert(
        "iss".to_owned(),
        json!("https://token.actions.githubusercontent.com/enterprise"),
    );
    let foreign_issuer = testbed.sign_id_token(&claims).unwrap();
    insta::assert_snapshot!(message(client.request_certificate(&foreign_issuer, &subject).await), @"400 There was an error processing the identity token");
    let token = testbed.id_token("sigstore").unwrap();
    insta::assert_snapshot!(message(client.request_certificate(&token, "not the subject").await), @"400 The signature supplied in the request could not be verified");
    insta::assert_snapshot!(message(client.request_certificate(&format!("{token}x"), &subject).await), @"400 There was an error processing the identity token");

    // A token with an email claim is challenged on the email.
    let mut claims = testbed.id_token_claims("sigstore");
    claims.insert("email".to_owned(), json!("octocat@example.com"));
    let with_email = testbed.sign_id_token(&claims).unwrap();
    assert_eq!(
        client.request_certificate(&with_email, &subject).await.0,
        400
    );
    assert_eq!(
        client
            .request_certificate(&with_email, "octocat@example.com")
            .await
            .0,
        200
    );

    // sigstore-python's form: a CSR and the token in Authorization.
    let answer = client.request_certificate_with_csr(&token).await;
    assert_eq!(answer.0, 200, "{answer:?}");
    let leaf = ParsedCertificate::from_der(&TestClient::leaf(&answer)).unwrap();
    assert_eq!(leaf.san_uris(), [san(&testbed)]);
    let forms: Vec<String> = testbed
        .records()
        .certificates_issued
        .iter()
        .map(|record| record.request_form.clone())
        .collect();
    assert_eq!(forms, ["publicKeyRequest", "certificateSigningRequest"]);
    testbed.shutdown().await;
}

#[tokio::test]
async fn rekor_canonicalizes_serves_and_refuses_duplicates_and_bad_signatures() {
    let testbed = start().await;
    let client = TestClient::new(&testbed);
    let token = testbed.id_token("sigstore").unwrap();
    let answer = client
        .request_certificate(&token, &testbed.identity().subject())
        .await;
    let certificate = TestClient::leaf(&answer);
    let lf_pem = pem_encode("CERTIFICATE", &certificate);
    let crlf_pem = lf_pem.replace('\n', "\r\n");
    let (envelope, signature) = client.envelope(&statement("a.tar.gz"));

    let (status, created) = client.submit(&envelope, &crlf_pem).await;
    assert_eq!(status, 201, "{created}");
    let (uuid, entry) = created.as_object().unwrap().iter().next().unwrap();
    assert_eq!(uuid.len(), 80);
    let body: Value =
        serde_json::from_slice(&STANDARD.decode(entry["body"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope.as_bytes()))},
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(statement("a.tar.gz")))},
            "signatures": [{"signature": STANDARD.encode(&signature), "verifier": STANDARD.encode(&lf_pem)}],
        }})
    );

    let (status, duplicate) = client.submit(&envelope, &lf_pem).await;
    assert_eq!(status, 409);
    assert_eq!(
        duplicate["message"],
        format!("an equivalent entry already exists in the transparency log with UUID {uuid}")
    );
    for path in [
        format!("api/v1/log/entries/{uuid}"),
        format!("api/v1/log/entries/{}", &uuid[16..]),
        "api/v1/log/entries?logIndex=0".to_owned(),
    ] {
        let (status, fetched) = client.rekor_get(&path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(fetched[uuid]["body"], entry["body"], "{path}");
    }
    assert_eq!(
        client
            .rekor_get(&format!("api/v1/log/entries/{}", "0".repeat(64)))
            .await
            .0,
        404
    );
    let (_, info) = client.rekor_get("api/v1/log").await;
    assert_eq!(info["treeSize"], 1);
    assert!(
        info["signedTreeHead"]
            .as_str()
            .unwrap()
            .contains("\n\n\u{2014} 127.0.0.1:")
    );
    let (_, key) = client.rekor_get("api/v1/log/publicKey").await;
    let root: Value = serde_json::from_str(
        &fs_err::read_to_string(testbed.sigstore_trusted_root_path()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        super::keys::pem_decode(key.as_str().unwrap()).unwrap().1,
        STANDARD
            .decode(root["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap())
            .unwrap()
    );

    // An envelope signed by a key other than the verifier's.
    let stranger = TestClient::new(&testbed);
    let (forged, _) = stranger.envelope(&statement("b.tar.gz"));
    let (status, refused) = client.submit(&forged, &lf_pem).await;
    assert_eq!(status, 400);
    insta::assert_snapshot!(refused["message"].as_str().unwrap(), @"error processing entry: could not verify envelope: accepted signatures do not match threshold, Found: 0, Expected 1");
    assert_eq!(testbed.records().rekor_entries.len(), 1);
    testbed.shutdown().await;
}

#[tokio::test]
async fn a_foreign_trust_root_and_tampering_are_refused_by_the_registries() {
    let testbed = start().await;
    let other = start().await;
    let client = TestClient::new(&testbed);
    let token = testbed.id_token("sigstore").unwrap();
    let signed = client.sign(&token, &statement("c.tar.gz")).await.unwrap();
    assert!(registry_verdict(&trust_of(&testbed), &signed).is_ok());
    assert_eq!(
        registry_verdict(&trust_of(&other), &signed).unwrap_err(),
        VerifyError::Chain(ChainFailure::NoPath)
    );
    let mut tampered = signed.clone();
    tampered.payload = statement("d.tar.gz");
    assert_eq!(
        registry_verdict(&trust_of(&testbed), &tampered).unwrap_err(),
        VerifyError::Signature
    );
    assert!(third_party_verdict(&testbed, &tampered).is_err());
    testbed.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn pep740_attestations_verify_for_the_minting_publisher_only() {
    use crate::pypi::attestations::verify_attestations;
    let testbed = start().await;
    let client = TestClient::new(&testbed);
    let token = testbed.id_token("sigstore").unwrap();
    let filename = "sampleproject-1.0.tar.gz";
    let signed = client.sign(&token, &statement(filename)).await.unwrap();
    let attestations = json!([signed.attestation()]);
    let sha256 = hex::encode(Sha256::digest(ARTIFACT));
    let trust = trust_of(&testbed);
    let ours = crate::PypiPublisher::new("octo-org", "octo-repo", 5_050_505, "release.yml");
    let check = |publisher: &crate::PypiPublisher, filename: &str| {
        verify_attestations(&attestations, &trust, publisher, filename, &sha256)
            .map_err(|error| error.message)
    };
    check(&ours, filename).unwrap();
    let theirs = crate::PypiPublisher::new("someone", "else", 1, "release.yml");
    insta::assert_snapshot!(check(&theirs, filename).unwrap_err(), @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: Certificate's OIDCSourceRepositoryURI does not match (got https://github.com/octo-org/octo-repo, expected https://github.com/someone/else)");
    let other_workflow = crate::PypiPublisher::new("octo-org", "octo-repo", 5_050_505, "ci.yml");
    insta::assert_snapshot!(check(&other_workflow, filename).unwrap_err(), @r"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: Certificate's Build Config URI (<Extension(oid=<ObjectIdentifier(oid=1.3.6.1.4.1.57264.1.18, name=Unknown OID)>, critical=False, value=<UnrecognizedExtension(oid=<ObjectIdentifier(oid=1.3.6.1.4.1.57264.1.18, name=Unknown OID)>, value=b'\x0cThttps://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0')>)>) does not match expected Trusted Publisher (ci.yml @ octo-org/octo-repo)");
    insta::assert_snapshot!(check(&ours, "sampleproject-2.0.tar.gz").unwrap_err(), @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: subject does not match distribution name: sampleproject-1.0.tar.gz != sampleproject-2.0.tar.gz");
    let twice = json!([signed.attestation(), signed.attestation()]);
    insta::assert_snapshot!(verify_attestations(&twice, &trust, &ours, filename, &sha256).unwrap_err().message, @"Invalid attestations supplied during upload: Multiple attestations for the same file with the same predicate type (https://docs.pypi.org/attestations/publish/v1) are not supported");
    testbed.shutdown().await;
}
