//! oidc-core against the testbed's issuer: two independent readings of GitHub's OIDC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use oidc_core::jwks::{VerifyOptions, parse_jwks, verify};
use oidc_core::process::TokioRunner;
use oidc_core::provider::IdentityError;
use oidc_core::{
    Detector, HttpClient, HttpConfig, MapEnv, ProviderContext, RetryPolicy, TokenRequest,
};
use testbed::{IssuerFault, Testbed, TestbedConfig};

fn detector(testbed: &Testbed) -> Detector {
    let env = Arc::new(MapEnv::new().with_all(testbed.github_env()));
    let config = HttpConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_millis(100),
        },
        ..HttpConfig::default()
    };
    let http = HttpClient::new(&config, env.as_ref()).unwrap();
    Detector::new(&ProviderContext {
        env,
        runner: Arc::new(TokioRunner),
        http,
    })
}

#[tokio::test]
async fn tokens_from_the_testbed_decode_and_verify() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let ambient = detector(&testbed)
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap();
    let github = &ambient.claims.github;
    let identity = testbed.identity();
    assert_eq!(
        github.repository.as_deref(),
        Some(identity.repository.as_str())
    );
    assert_eq!(
        github.repository_owner_id,
        Some(identity.repository_owner_id.to_string())
    );
    assert_eq!(
        github.job_workflow_ref.as_deref(),
        Some(
            format!(
                "{}/.github/workflows/{}@{}",
                identity.repository, identity.workflow_file, identity.git_ref
            )
            .as_str()
        )
    );
    let jwks = parse_jwks(testbed.jwks()).unwrap();
    let options = VerifyOptions {
        audience: "pypi".into(),
        issuer: identity.issuer.clone(),
        leeway_seconds: 30,
    };
    let verified = verify(&ambient.token, &jwks, &options).unwrap();
    assert_eq!(verified.jti, ambient.claims.jti);

    // Another audience or another issuer does not verify.
    let wrong_aud = VerifyOptions {
        audience: "testpypi".into(),
        ..options.clone()
    };
    assert!(
        verify(&ambient.token, &jwks, &wrong_aud)
            .unwrap_err()
            .to_string()
            .contains("`aud`")
    );
    let wrong_iss = VerifyOptions {
        issuer: "https://ghes.example.com/_services/token".into(),
        ..options
    };
    assert!(
        verify(&ambient.token, &jwks, &wrong_iss)
            .unwrap_err()
            .to_string()
            .contains("`iss`")
    );
}

#[tokio::test]
async fn every_request_gets_a_fresh_token() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let detector = detector(&testbed);
    let request = TokenRequest::new("npm:127.0.0.1");
    let a = detector.detect(&request).await.unwrap();
    let b = detector.detect(&request).await.unwrap();
    assert_ne!(a.claims.jti, b.claims.jti);
    assert_eq!(testbed.records().tokens_issued.len(), 2);
}

#[tokio::test]
async fn issuer_faults_reach_the_user_as_clear_errors() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let detector = detector(&testbed);
    let request = TokenRequest::new("pypi");

    // Two failures, then success: retried.
    let faults = testbed.issuer_faults();
    faults.fail_next_with_500(2);
    detector.detect(&request).await.unwrap();
    assert_eq!(faults.pending_failures(), 0);

    faults.set(IssuerFault::WrongAudience(
        "https://github.com/octo-org".into(),
    ));
    let err = detector.detect(&request).await.unwrap_err();
    assert!(
        matches!(err, IdentityError::AudienceMismatch { .. }),
        "{err}"
    );

    faults.set(IssuerFault::Unauthorized);
    let err = detector.detect(&request).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("GitHub's OIDC token endpoint answered 401"),
        "{err}"
    );

    faults.set(IssuerFault::HtmlPage { status: 200 });
    let err = detector.detect(&request).await.unwrap_err();
    assert!(err.to_string().contains("an HTML page"), "{err}");
    faults.clear();
    detector.detect(&request).await.unwrap();
}
