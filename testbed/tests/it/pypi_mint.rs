//! PyPI's OIDC routes: audience, mint (every error code and text), burn.

use std::time::Duration;

use serde_json::{Value, json};
use testbed::{GithubIdentity, PypiConfig, PypiPublisher, ReusableWorkflow, TestbedConfig};

use crate::common::{
    Upload, client, default_pypi_publisher, fetch_id_token, mint, mint_errors, mint_ok, post_json,
    start, start_with,
};

fn one(errors: Vec<(String, String)>) -> (String, String) {
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.into_iter().next().unwrap()
}

#[tokio::test]
async fn audience_route() {
    let testbed = start().await;
    let body: Value = client(&testbed)
        .get(testbed.pypi_url().join("_/oidc/audience").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"audience": "pypi"}));

    let config = TestbedConfig {
        pypi: PypiConfig {
            audience: "testpypi".to_owned(),
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testpypi = start_with(config).await;
    let body: Value = client(&testpypi)
        .get(testpypi.pypi_url().join("_/oidc/audience").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"audience": "testpypi"}));
}

#[tokio::test]
async fn a_disabled_index_refuses_the_audience_and_the_mint_like_warehouse() {
    let config = TestbedConfig {
        pypi: PypiConfig {
            trusted_publishing: false,
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = start_with(config).await;
    let response = client(&testbed)
        .get(testbed.pypi_url().join("_/oidc/audience").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Trusted publishing functionality not enabled"})
    );
    // Warehouse's mint checks the payload and the issuer first, then answers `not-enabled`.
    let (status, body) = mint(&testbed, "x").await;
    assert_eq!(status, 422);
    assert_eq!(
        one(mint_errors(&body)),
        ("invalid-payload".to_owned(), "malformed JWT".to_owned())
    );
    let (status, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(body["message"], "Token request failed");
    assert_eq!(
        one(mint_errors(&body)),
        (
            "not-enabled".to_owned(),
            "github trusted publishing functionality not enabled".to_owned()
        )
    );
    assert_eq!(testbed.records().mints.len(), 2);
}

#[tokio::test]
async fn mint_succeeds_and_scopes_the_token() {
    let testbed = start().await;
    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
    testbed.add_pypi_publisher("other-project", default_pypi_publisher());
    let jwt = fetch_id_token(&testbed, "pypi").await;
    let (status, body) = mint(&testbed, &jwt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert!(body["token"].as_str().unwrap().starts_with("pypi-"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((body["expires"].as_i64().unwrap() - (now + 900)).abs() < 5);

    // The alias route mints too (with a fresh JWT).
    let jwt = fetch_id_token(&testbed, "pypi").await;
    let (status, _) = post_json(&testbed, "_/oidc/github/mint-token", &json!({"token": jwt})).await;
    assert_eq!(status, 200);

    let records = testbed.records();
    assert_eq!(records.mints.len(), 2);
    assert!(records.mints[0].succeeded());
    assert_eq!(
        records.mints[0].projects,
        ["other-project", "sampleproject"]
    );
    assert_eq!(records.mints[1].path, "/_/oidc/github/mint-token");
}

#[tokio::test]
async fn invalid_payload_texts() {
    let testbed = start().await;
    let (status, body) = post_json(&testbed, "_/oidc/mint-token", &json!({})).await;
    assert_eq!(status, 422);
    let (code, description) = one(mint_errors(&body));
    assert_eq!(code, "invalid-payload");
    insta::assert_snapshot!(description, @r"
    1 validation error for TokenPayload
    token
      Field required [type=missing, input_value={}, input_type=dict]
        For further information visit https://errors.pydantic.dev/2.11/v/missing
    ");
    let (_, body) = post_json(&testbed, "_/oidc/mint-token", &json!({"token": 42})).await;
    assert!(one(mint_errors(&body)).1.contains(
        "Input should be a valid string [type=string_type, input_value=42, input_type=int]"
    ));

    let (_, body) = mint(&testbed, "not.a-jwt").await;
    assert_eq!(
        one(mint_errors(&body)),
        ("invalid-payload".to_owned(), "malformed JWT".to_owned())
    );

    testbed.set_identity(GithubIdentity {
        issuer: "https://ghes.example.com/_services/token".to_owned(),
        ..GithubIdentity::default()
    });
    let (_, body) = mint(&testbed, &fetch_id_token(&testbed, "pypi").await).await;
    assert_eq!(
        one(mint_errors(&body)),
        (
            "invalid-payload".to_owned(),
            "unknown trusted publishing issuer".to_owned()
        )
    );
}

#[tokio::test]
async fn not_enabled_when_the_github_provider_is_off() {
    let config = TestbedConfig {
        pypi: PypiConfig {
            github_provider: false,
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = start_with(config).await;
    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    assert_eq!(
        one(mint_errors(&body)),
        (
            "not-enabled".to_owned(),
            "github trusted publishing functionality not enabled".to_owned()
        )
    );
}

#[tokio::test]
async fn invalid_token_cases() {
    let testbed = start().await;
    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
    let invalid = (
        "invalid-token".to_owned(),
        "malformed or invalid token".to_owned(),
    );

    // Wrong audience.
    let (_, body) = mint(&testbed, &testbed.id_token("npm:127.0.0.1").unwrap()).await;
    assert_eq!(one(mint_errors(&body)), invalid);

    // Two audiences (strict_aud).
    let mut claims = testbed.id_token_claims("pypi");
    claims.insert("aud".to_owned(), json!(["pypi", "other"]));
    let (_, body) = mint(&testbed, &testbed.sign_id_token(&claims).unwrap()).await;
    assert_eq!(one(mint_errors(&body)), invalid);

    // A one-element audience list is fine.
    let mut claims = testbed.id_token_claims("pypi");
    claims.insert("aud".to_owned(), json!(["pypi"]));
    let (status, _) = mint(&testbed, &testbed.sign_id_token(&claims).unwrap()).await;
    assert_eq!(status, 200);

    // Missing iat.
    let mut claims = testbed.id_token_claims("pypi");
    claims.remove("iat");
    let (_, body) = mint(&testbed, &testbed.sign_id_token(&claims).unwrap()).await;
    assert_eq!(one(mint_errors(&body)), invalid);

    // Expired beyond the 30 s leeway, and not yet valid.
    testbed.set_identity(GithubIdentity {
        clock_offset_secs: -400,
        ..GithubIdentity::default()
    });
    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    assert_eq!(one(mint_errors(&body)), invalid);
    testbed.set_identity(GithubIdentity {
        clock_offset_secs: 120,
        ..GithubIdentity::default()
    });
    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    assert_eq!(one(mint_errors(&body)), invalid);

    // Within the leeway: 20 s in the future still mints.
    testbed.set_identity(GithubIdentity {
        clock_offset_secs: 20,
        ..GithubIdentity::default()
    });
    let (status, _) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    assert_eq!(status, 200);

    // Tampered signature.
    testbed.set_identity(GithubIdentity::default());
    let jwt = testbed.id_token("pypi").unwrap();
    let (head, signature) = jwt.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let (_, body) = mint(&testbed, &format!("{head}.{flipped}{}", &signature[1..])).await;
    assert_eq!(one(mint_errors(&body)), invalid);
}

#[tokio::test]
async fn invalid_publisher_reasons() {
    let testbed = start().await;
    let reason = |body: &Value| {
        let (code, description) = one(mint_errors(body));
        assert_eq!(code, "invalid-publisher");
        description
    };

    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    insta::assert_snapshot!(reason(&body), @"valid token, but no corresponding publisher (Publisher with matching claims was not found)");

    testbed.add_pypi_publisher(
        "sampleproject",
        default_pypi_publisher().with_environment("release"),
    );
    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    insta::assert_snapshot!(reason(&body), @"valid token, but no corresponding publisher (Publisher with matching claims was not found)");
    testbed.set_identity(GithubIdentity {
        environment: Some("Release".to_owned()),
        ..GithubIdentity::default()
    });
    let (status, _) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    assert_eq!(status, 200, "environment matches case-insensitively");

    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
    testbed.set_identity(GithubIdentity {
        event_name: "pull_request_target".to_owned(),
        ..GithubIdentity::default()
    });
    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    insta::assert_snapshot!(reason(&body), @"valid token, but no corresponding publisher (Publishing from a workflow invoked via 'pull_request_target' is not supported.)");

    testbed.set_identity(GithubIdentity {
        reusable_workflow: Some(ReusableWorkflow {
            repository: "octo-org/shared-workflows".to_owned(),
            workflow_file: "release.yml".to_owned(),
            git_ref: "refs/heads/main".to_owned(),
            sha: "2222222222222222222222222222222222222222".to_owned(),
        }),
        ..GithubIdentity::default()
    });
    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    insta::assert_snapshot!(reason(&body), @"valid token, but no corresponding publisher (The job_workflow_ref claim does not match, expecting one of ['octo-org/octo-repo/.github/workflows/release.yml@8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1', 'octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0'], got 'octo-org/shared-workflows/.github/workflows/release.yml@refs/heads/main')");

    testbed.set_identity(GithubIdentity::default());
    let mut claims = testbed.id_token_claims("pypi");
    claims.remove("sha");
    let (_, body) = mint(&testbed, &testbed.sign_id_token(&claims).unwrap()).await;
    insta::assert_snapshot!(reason(&body), @"valid token, but no corresponding publisher (Missing claim 'sha')");

    testbed.set_identity(GithubIdentity {
        workflow_file: "ci.yml".to_owned(),
        ..GithubIdentity::default()
    });
    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    insta::assert_snapshot!(reason(&body), @"valid token, but no corresponding publisher (Publisher with matching claims was not found)");
}

#[tokio::test]
async fn a_jwt_mints_once() {
    let testbed = start().await;
    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());
    let jwt = fetch_id_token(&testbed, "pypi").await;
    assert_eq!(mint(&testbed, &jwt).await.0, 200);
    let (status, body) = mint(&testbed, &jwt).await;
    assert_eq!(status, 422);
    assert_eq!(
        one(mint_errors(&body)),
        (
            "invalid-reuse-token".to_owned(),
            "invalid token: already used".to_owned()
        )
    );
    let records = testbed.records();
    assert_eq!(records.mints[0].jti, records.mints[1].jti);
    assert!(!records.mints[1].succeeded());
}

#[tokio::test]
async fn pending_publishers_create_projects_once() {
    let testbed = start().await;
    testbed.add_pypi_pending_publisher("Brand-New", default_pypi_publisher());
    let token = mint_ok(&testbed).await;
    assert_eq!(testbed.records().mints[0].projects, ["Brand-New"]);
    let answer = Upload::wheel("brand-new", "0.1.0")
        .send(&testbed, &token)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // A pending publisher for a project that exists by now is refused.
    testbed.add_pypi_project("taken");
    let other = PypiPublisher::new("octo-org", "octo-repo", 5_050_505, "other.yml");
    testbed.add_pypi_pending_publisher("taken", other);
    testbed.set_identity(GithubIdentity {
        workflow_file: "other.yml".to_owned(),
        ..GithubIdentity::default()
    });
    let (_, body) = mint(&testbed, &testbed.id_token("pypi").unwrap()).await;
    assert_eq!(
        one(mint_errors(&body)),
        (
            "invalid-pending-publisher".to_owned(),
            "valid token, but project already exists".to_owned()
        )
    );
}

#[tokio::test]
async fn burned_and_expired_tokens_cannot_upload() {
    let config = TestbedConfig {
        pypi: PypiConfig {
            token_lifetime: Duration::from_secs(1),
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = start_with(config).await;
    testbed.add_pypi_publisher("sampleproject", default_pypi_publisher());

    let token = mint_ok(&testbed).await;
    let (status, body) = post_json(&testbed, "_/oidc/burn-token", &json!({"token": token})).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let answer = Upload::wheel("sampleproject", "1.0.0")
        .send(&testbed, &token)
        .await;
    assert_eq!(answer.status, 403);
    insta::assert_snapshot!(answer.message(), @"Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.");
    let (status, body) = post_json(&testbed, "_/oidc/burn-token", &json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(mint_errors(&body)[0].0, "invalid-payload");
    let burns = testbed.records().burns;
    assert_eq!(burns.len(), 1);
    assert!(burns[0].revoked_live_token);

    let token = mint_ok(&testbed).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let answer = Upload::wheel("sampleproject", "1.0.0")
        .send(&testbed, &token)
        .await;
    assert_eq!(answer.status, 403);
    insta::assert_snapshot!(answer.message(), @"Invalid API Token: token is expired");
}
