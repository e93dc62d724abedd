//! The testbed's Fulcio and Rekor driven by a third-party client (sigstore-rust's `sigstore-sign`, which sends the
//! verifier PEM with CRLF), and the registries verifying what it signs: PEP 740 attestations on PyPI upload and
//! provenance bundles on npm publish, each accepted when good and refused with the registry's text otherwise.

use serde_json::{Value, json};
use sha2::Digest as _;
use testbed::{GithubIdentity, Testbed};

/// Signs `statement` against the testbed's Fulcio and Rekor with a fresh `sigstore` ID token of its issuer;
/// returns the v0.3 bundle JSON.
pub async fn sign(testbed: &Testbed, statement: &[u8]) -> Value {
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(testbed.ca_pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let origin = |url: url::Url| url.as_str().trim_end_matches('/').to_owned();
    let services = sigstore_sign::SigningServices::new(
        origin(testbed.fulcio_url()),
        origin(testbed.rekor_url()),
    );
    let context = sigstore_sign::SigningContext::new(services).with_http_client(http);
    let token = testbed.id_token("sigstore").unwrap();
    let signer = context.signer(sigstore_sign::oidc::IdentityToken::from_jwt(&token).unwrap());
    let bundle = signer.sign_raw_statement(statement).await.unwrap();
    serde_json::from_str(&bundle.to_json().unwrap()).unwrap()
}

/// The PEP 740 attestation object of a v0.3 DSSE bundle (a field copy, as `Attestation.from_bundle`).
pub fn attestation(bundle: &Value) -> Value {
    json!({
        "version": 1,
        "verification_material": {
            "certificate": bundle["verificationMaterial"]["certificate"]["rawBytes"],
            "transparency_entries": [bundle["verificationMaterial"]["tlogEntries"][0]],
        },
        "envelope": {
            "statement": bundle["dsseEnvelope"]["payload"],
            "signature": bundle["dsseEnvelope"]["signatures"][0]["sig"],
        },
    })
}

/// The PEP 740 publish statement for a dist.
pub fn publish_statement(filename: &str, content: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": filename, "digest": {"sha256": hex::encode(sha2::Sha256::digest(content))}}],
        "predicateType": "https://docs.pypi.org/attestations/publish/v1",
        "predicate": null,
    }))
    .unwrap()
}

/// npm's SLSA v1 provenance statement for `name@version` (the parts the registry reads).
pub fn npm_statement(name: &str, version: &str, tarball: &[u8], repository: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": format!("pkg:npm/{}@{version}", name.replacen('@', "%40", 1)), "digest": {"sha512": hex::encode(sha2::Sha512::digest(tarball))}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {
            "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
            "externalParameters": {"workflow": {"ref": "refs/tags/v1.0.0", "repository": repository, "path": ".github/workflows/release.yml"}},
        }},
    }))
    .unwrap()
}

mod pypi {
    use super::*;
    use crate::common::{Upload, default_pypi_publisher, mint_ok, start};

    async fn ready() -> (Testbed, String) {
        let testbed = start().await;
        testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
        let token = mint_ok(&testbed).await;
        (testbed, token)
    }

    async fn upload_with(
        testbed: &Testbed,
        token: &str,
        upload: &Upload,
        bundle: &Value,
    ) -> (u16, String) {
        let answer = upload
            .clone()
            .set("attestations", &json!([attestation(bundle)]).to_string())
            .send(testbed, token)
            .await;
        if answer.status == 200 {
            (200, String::new())
        } else {
            (answer.status, answer.message())
        }
    }

    #[tokio::test]
    async fn a_good_attestation_is_verified_and_stored() {
        let (testbed, token) = ready().await;
        let wheel = Upload::wheel("sampleproject", "1.0.0");
        let bundle = sign(
            &testbed,
            &publish_statement(&wheel.filename, &wheel.content),
        )
        .await;
        assert_eq!(
            upload_with(&testbed, &token, &wheel, &bundle).await,
            (200, String::new())
        );
        let stored = testbed.pypi_files("sampleproject")[0].attestations.clone();
        assert_eq!(stored, Some(json!([attestation(&bundle)])));
        let records = testbed.records();
        assert!(records.uploads[0].had_attestations);
        assert_eq!(records.certificates_issued.len(), 1);
        assert_eq!(records.rekor_entries.len(), 1);
    }

    #[tokio::test]
    async fn wrong_subject_foreign_identity_and_foreign_root_are_refused() {
        let (testbed, token) = ready().await;
        let wheel = Upload::wheel("sampleproject", "1.0.0");

        let other = Upload::sdist("sampleproject", "1.0.0");
        let wrong_subject = sign(
            &testbed,
            &publish_statement(&other.filename, &wheel.content),
        )
        .await;
        let (status, message) = upload_with(&testbed, &token, &wheel, &wrong_subject).await;
        assert_eq!(status, 400);
        insta::assert_snapshot!(message, @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: subject does not match distribution name: sampleproject-1.0.0.tar.gz != sampleproject-1.0.0-py3-none-any.whl");

        let statement = publish_statement(&wheel.filename, &wheel.content);
        let elsewhere = testbed::Testbed::start(testbed::TestbedConfig::default())
            .await
            .unwrap();
        let foreign_root = sign(&elsewhere, &statement).await;
        let (status, message) = upload_with(&testbed, &token, &wheel, &foreign_root).await;
        assert_eq!(status, 400);
        insta::assert_snapshot!(message, @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: failed to build timestamp certificate chain: validation failed: candidates exhausted: all candidates exhausted with no interior errors");

        testbed.set_identity(GithubIdentity {
            repository: "evil-org/evil-repo".to_owned(),
            ..GithubIdentity::default()
        });
        let foreign_identity = sign(&testbed, &statement).await;
        let (status, message) = upload_with(&testbed, &token, &wheel, &foreign_identity).await;
        assert_eq!(status, 400);
        insta::assert_snapshot!(message, @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: Certificate's OIDCSourceRepositoryURI does not match (got https://github.com/evil-org/evil-repo, expected https://github.com/octo-org/octo-repo)");

        testbed.set_identity(GithubIdentity::default());
        testbed.sigstore_faults().set_expired_certificate(true);
        let expired = sign(&testbed, &statement).await;
        let (_, message) = upload_with(&testbed, &token, &wheel, &expired).await;
        insta::assert_snapshot!(message, @"Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: failed to build timestamp certificate chain: validation failed: cert is not valid at validation time (encountered processing <Certificate(subject=<Name()>, ...)>)");
        testbed.sigstore_faults().clear();

        assert!(testbed.pypi_files("sampleproject").is_empty());
        let good = sign(&testbed, &statement).await;
        assert_eq!(upload_with(&testbed, &token, &wheel, &good).await.0, 200);
        elsewhere.shutdown().await;
    }
}

mod npm {
    use super::*;
    use crate::npm::{PACKAGE, exchange_ok, npm_tarball, publish_document, put, ready};

    fn provenance_statement(tarball: &[u8], repository: &str) -> Vec<u8> {
        npm_statement(PACKAGE, "1.0.0", tarball, repository)
    }

    fn with_bundle(testbed: &Testbed, tarball: &[u8], bundle: &Value) -> Value {
        let mut document = publish_document(&testbed.npm_registry_url(), PACKAGE, "1.0.0", tarball);
        let data = bundle.to_string();
        document["_attachments"][format!("{PACKAGE}-1.0.0.sigstore")] =
            json!({"content_type": bundle["mediaType"], "data": data, "length": data.len()});
        document
    }

    #[tokio::test]
    async fn provenance_is_verified_against_the_trusted_root() {
        let testbed = ready().await;
        let token = exchange_ok(&testbed, PACKAGE).await;
        let tarball = npm_tarball(PACKAGE, "1.0.0");
        let repository = "https://github.com/octo-org/octo-repo";
        let error = |body: &Value| body["error"].as_str().unwrap_or_default().to_owned();

        let other_tarball = npm_tarball(PACKAGE, "1.0.0-other");
        let wrong_digest = sign(&testbed, &provenance_statement(&other_tarball, repository)).await;
        let (status, body, _) = put(
            &testbed,
            PACKAGE,
            Some(&token),
            &with_bundle(&testbed, &tarball, &wrong_digest),
        )
        .await;
        assert_eq!(status, 422);
        insta::assert_snapshot!(error(&body), @"Error verifying sigstore provenance bundle: Provenance subject digest does not match the package");

        let elsewhere = testbed::Testbed::start(testbed::TestbedConfig::default())
            .await
            .unwrap();
        let foreign = sign(&elsewhere, &provenance_statement(&tarball, repository)).await;
        let (status, body, _) = put(
            &testbed,
            PACKAGE,
            Some(&token),
            &with_bundle(&testbed, &tarball, &foreign),
        )
        .await;
        assert_eq!(status, 422);
        insta::assert_snapshot!(error(&body), @"Error verifying sigstore provenance bundle: Failed to verify certificate chain");

        testbed.sigstore_faults().set_bad_sct(true);
        let bad_sct = sign(&testbed, &provenance_statement(&tarball, repository)).await;
        testbed.sigstore_faults().clear();
        let (_, body, _) = put(
            &testbed,
            PACKAGE,
            Some(&token),
            &with_bundle(&testbed, &tarball, &bad_sct),
        )
        .await;
        insta::assert_snapshot!(error(&body), @"Error verifying sigstore provenance bundle: SCT verification failed");

        let mut tampered = sign(&testbed, &provenance_statement(&tarball, repository)).await;
        tampered["dsseEnvelope"]["signatures"][0]["sig"] =
            wrong_digest["dsseEnvelope"]["signatures"][0]["sig"].clone();
        let (_, body, _) = put(
            &testbed,
            PACKAGE,
            Some(&token),
            &with_bundle(&testbed, &tarball, &tampered),
        )
        .await;
        insta::assert_snapshot!(error(&body), @"Error verifying sigstore provenance bundle: tlog entry signature mismatch");

        assert!(testbed.npm_versions(PACKAGE).is_empty());
        let good = sign(&testbed, &provenance_statement(&tarball, repository)).await;
        let (status, body, _) = put(
            &testbed,
            PACKAGE,
            Some(&token),
            &with_bundle(&testbed, &tarball, &good),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            testbed.npm_versions(PACKAGE)[0].provenance.as_ref(),
            Some(&good)
        );
        elsewhere.shutdown().await;
    }
}
