//! The GitHub Actions OIDC issuer.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use testbed::{GithubIdentity, IssuerFault, ReusableWorkflow, RunnerEnvironment, Visibility};

use crate::common::{claims_of, client, fetch_id_token, start};

#[tokio::test]
async fn discovery_and_jwks_verify_issued_tokens() {
    let testbed = start().await;
    let http = client(&testbed);
    let discovery: Value = http
        .get(
            testbed
                .issuer_url()
                .join(".well-known/openid-configuration")
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["issuer"],
        "https://token.actions.githubusercontent.com"
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"][0],
        "RS256"
    );
    let jwks: JwkSet = http
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let token = fetch_id_token(&testbed, "pypi").await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["pypi"]);
    validation.set_issuer(&["https://token.actions.githubusercontent.com"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["repository"], "octo-org/octo-repo");
    assert_eq!(
        claims["sub"],
        "repo:octo-org/octo-repo:ref:refs/tags/v1.0.0"
    );
    assert_eq!(
        claims["job_workflow_ref"],
        "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0"
    );
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((300..=600).contains(&lifetime), "{lifetime}");
    testbed.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_wants_the_request_token_and_defaults_the_audience() {
    let testbed = start().await;
    let http = client(&testbed);
    let env = testbed.github_env();
    let url = &env["ACTIONS_ID_TOKEN_REQUEST_URL"];
    assert!(url.contains("?api-version=2.0"), "{url}");

    let missing = http.get(url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let wrong = http.get(url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(
        body["message"],
        "TF400813: The user '' is not authorized to access this resource."
    );

    let lower = http
        .get(url)
        .header(
            "authorization",
            format!("bearer {}", env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), 200);
    let body: Value = lower.json().await.unwrap();
    let value = body["value"].as_str().unwrap();
    assert_eq!(body["count"].as_u64().unwrap(), value.len() as u64);
    assert_eq!(claims_of(value)["aud"], "https://github.com/octo-org");

    let records = testbed.records();
    assert_eq!(records.tokens_issued.len(), 1);
    assert_eq!(
        records.tokens_issued[0].audience,
        "https://github.com/octo-org"
    );
}

#[tokio::test]
async fn jti_is_unique_and_identity_changes_at_runtime() {
    let testbed = start().await;
    let first = claims_of(&fetch_id_token(&testbed, "pypi").await);
    let second = claims_of(&fetch_id_token(&testbed, "pypi").await);
    assert_ne!(first["jti"], second["jti"]);
    assert!(first.get("environment").is_none());

    testbed.set_identity(GithubIdentity {
        repository: "acme/widgets".to_owned(),
        environment: Some("pypi".to_owned()),
        visibility: Visibility::Private,
        runner_environment: RunnerEnvironment::SelfHosted,
        event_name: "workflow_dispatch".to_owned(),
        git_ref: "refs/heads/main".to_owned(),
        reusable_workflow: Some(ReusableWorkflow {
            repository: "acme/ci".to_owned(),
            workflow_file: "publish.yml".to_owned(),
            git_ref: "refs/tags/v2".to_owned(),
            sha: "1111111111111111111111111111111111111111".to_owned(),
        }),
        issuer: "https://ghes.example.com/_services/token".to_owned(),
        ..GithubIdentity::default()
    });
    let claims = claims_of(&fetch_id_token(&testbed, "sigstore").await);
    assert_eq!(claims["iss"], "https://ghes.example.com/_services/token");
    assert_eq!(claims["sub"], "repo:acme/widgets:environment:pypi");
    assert_eq!(claims["environment"], "pypi");
    assert_eq!(claims["repository_owner"], "acme");
    assert_eq!(claims["repository_visibility"], "private");
    assert_eq!(claims["runner_environment"], "self-hosted");
    assert_eq!(claims["ref_type"], "branch");
    assert_eq!(
        claims["workflow_ref"],
        "acme/widgets/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(
        claims["job_workflow_ref"],
        "acme/ci/.github/workflows/publish.yml@refs/tags/v2"
    );

    let env = testbed.github_env();
    assert_eq!(env["GITHUB_REPOSITORY"], "acme/widgets");
    assert_eq!(env["GITHUB_REF_NAME"], "main");
    assert_eq!(env["GITHUB_REF_TYPE"], "branch");
    assert_eq!(env["RUNNER_ENVIRONMENT"], "self-hosted");
    assert_eq!(env["GITHUB_EVENT_NAME"], "workflow_dispatch");
    assert_eq!(env["GITHUB_SERVER_URL"], "https://github.com");
    assert_eq!(env["GITHUB_ACTIONS"], "true");
    assert_eq!(
        env["SSL_CERT_FILE"],
        testbed.ca_file().display().to_string()
    );
    assert!(testbed.ca_file().exists());
}

#[tokio::test]
async fn clock_offset_shifts_the_time_claims() {
    let testbed = start().await;
    testbed.set_identity(GithubIdentity {
        clock_offset_secs: -3600,
        ..GithubIdentity::default()
    });
    let claims = claims_of(&fetch_id_token(&testbed, "pypi").await);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((claims["iat"].as_i64().unwrap() - (now - 3600)).abs() < 5);
    assert!(claims["exp"].as_i64().unwrap() < now);
}

#[tokio::test]
async fn faults_fail_then_recover() {
    let testbed = start().await;
    let http = client(&testbed);
    let env = testbed.github_env();
    let url = format!("{}&audience=pypi", env["ACTIONS_ID_TOKEN_REQUEST_URL"]);
    let get = || {
        http.get(&url)
            .bearer_auth(&env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
            .send()
    };

    let faults = testbed.issuer_faults();
    faults.fail_next_with_500(2);
    assert_eq!(get().await.unwrap().status(), 500);
    assert_eq!(faults.pending_failures(), 1);
    assert_eq!(get().await.unwrap().status(), 500);
    assert_eq!(get().await.unwrap().status(), 200);

    faults.set(IssuerFault::Unauthorized);
    assert_eq!(get().await.unwrap().status(), 401);

    faults.set(IssuerFault::HtmlPage { status: 200 });
    let html = get().await.unwrap();
    assert_eq!(html.status(), 200);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.text().await.unwrap().starts_with("<!DOCTYPE html>"));

    faults.set(IssuerFault::WrongAudience("not-pypi".to_owned()));
    let body: Value = get().await.unwrap().json().await.unwrap();
    assert_eq!(
        claims_of(body["value"].as_str().unwrap())["aud"],
        "not-pypi"
    );

    faults.clear();
    let body: Value = get().await.unwrap().json().await.unwrap();
    assert_eq!(claims_of(body["value"].as_str().unwrap())["aud"], "pypi");
    assert_eq!(testbed.records().tokens_issued.len(), 3);
}

#[tokio::test]
async fn drop_stops_the_listener() {
    let testbed = start().await;
    let url = testbed.issuer_url();
    let http = client(&testbed);
    drop(testbed);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        http.get(url.join(".well-known/jwks").unwrap())
            .send()
            .await
            .is_err()
    );
}
