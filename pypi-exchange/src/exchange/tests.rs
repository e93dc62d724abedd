use base64::Engine;
use oidc_core::{Claims, IdToken, MapEnv};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn ambient(claims: serde_json::Value) -> AmbientToken {
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let token = IdToken::new(format!(
        "{}.{}.sig",
        b64("{}".into()),
        b64(claims.to_string())
    ));
    AmbientToken {
        provider: "GitHub Actions",
        claims: Claims::decode(&token).unwrap(),
        token,
    }
}

fn github_claims() -> serde_json::Value {
    serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "pypi",
        "sub": "repo:octo-org/octo-repo:environment:pypi",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "repository_owner_id": "4242",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "ref": "refs/tags/v1",
        "environment": "pypi",
        "event_name": "push",
        "iat": 1_900_000_000, "nbf": 1_900_000_000, "exp": 1_900_000_300
    })
}

async fn exchange(server: &MockServer) -> PypiExchange {
    let http = HttpClient::new(
        &oidc_core::HttpConfig {
            retry: oidc_core::RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(50),
            },
            ..Default::default()
        },
        &MapEnv::new(),
    )
    .unwrap();
    PypiExchange::new(
        http,
        PackageIndex::parse(&format!("{}/legacy/", server.uri())).unwrap(),
    )
}

#[tokio::test]
async fn audience_ok_disabled_unsupported_html() {
    let cases: Vec<(ResponseTemplate, Result<&str, &str>)> = vec![
        (
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"audience": "index.example"})),
            Ok("index.example"),
        ),
        (
            ResponseTemplate::new(403).set_body_json(
                serde_json::json!({"message": "Trusted publishing functionality not enabled"}),
            ),
            Err("has trusted publishing disabled (403)"),
        ),
        (
            ResponseTemplate::new(404),
            Err("does not indicate trusted publishing support (404 for /_/oidc/audience)"),
        ),
        (
            ResponseTemplate::new(200)
                .set_body_raw("<html><title>Login</title></html>", "text/html"),
            Err("audience retrieval failed: 127.0.0.1:"),
        ),
        (ResponseTemplate::new(502), Err("answered 502")),
    ];
    for (template, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/_/oidc/audience"))
            .respond_with(template)
            .mount(&server)
            .await;
        let result = exchange(&server).await.audience().await;
        match (result, expected) {
            (Ok(aud), Ok(want)) => assert_eq!(aud, want),
            (Err(err), Err(want)) => assert!(err.to_string().contains(want), "{err}"),
            (other, want) => panic!("{other:?} vs {want:?}"),
        }
    }
}

#[tokio::test]
async fn mint_sends_the_jwt_and_reads_token_and_expiry() {
    let server = MockServer::start().await;
    let ambient = ambient(github_claims());
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::json!({"token": ambient.token.expose()})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"success": true, "token": "pypi-minted", "expires": 4_000_000_000u64}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let credential = exchange(&server).await.mint(&ambient).await.unwrap();
    assert_eq!(credential.secret.expose(), "pypi-minted");
    assert_eq!(
        credential.expires_at,
        Some(UNIX_EPOCH + Duration::from_secs(4_000_000_000))
    );
}

#[tokio::test]
async fn mint_is_never_retried_with_the_same_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let err = exchange(&server)
        .await
        .mint(&ambient(github_claims()))
        .await
        .unwrap_err();
    assert!(PypiExchange::is_transient(&err), "{err}");
}

#[tokio::test]
async fn mint_without_token_or_with_html_is_explained() {
    for (template, expected) in [
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true})),
            "token minting failed: 127.0.0.1",
        ),
        (
            ResponseTemplate::new(500).set_body_raw(
                "<html><head><title>Server Error</title></head></html>",
                "text/html",
            ),
            "an HTML page titled \"Server Error\"",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/_/oidc/mint-token"))
            .respond_with(template)
            .mount(&server)
            .await;
        let err = exchange(&server)
            .await
            .mint(&ambient(github_claims()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
}

async fn rejection(errors: serde_json::Value, claims: serde_json::Value) -> String {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(422).set_body_json(
            serde_json::json!({"message": "Token request failed", "errors": errors}),
        ))
        .mount(&server)
        .await;
    let err = exchange(&server)
        .await
        .mint(&ambient(claims))
        .await
        .unwrap_err();
    assert!(!PypiExchange::is_transient(&err));
    err.to_string()
        .replace(&server.address().to_string(), "HOST")
}

#[tokio::test]
async fn environment_mismatch_is_explained_with_the_claims() {
    let mut claims = github_claims();
    claims.as_object_mut().unwrap().remove("environment");
    let text = rejection(
        serde_json::json!([{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher (Check failed for optional claim 'environment')"}]),
        claims,
    )
    .await;
    insta::assert_snapshot!(text, @r"
    Token request failed: HOST refused the ID token (422) for the following reasons:
      * `invalid-publisher`: valid token, but no corresponding publisher (Check failed for optional claim 'environment')

    The token's claims PyPI matched on (not secret; they must match the trusted publisher):
      repository           octo-org/octo-repo
      repository_owner     octo-org
      repository_owner_id  4242
      job_workflow_ref     octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1
      environment          MISSING
      event_name           push

    Other claims, for context (PyPI does not compare them):
      sub                  repo:octo-org/octo-repo:environment:pypi
      workflow_ref         octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1
      ref                  refs/tags/v1

    What to check:
      - the trusted publisher on HOST names an environment, and this job's `environment` claim is absent: set `environment: <name>` on the publishing job exactly as registered (compared case-insensitively), or change the environment in the publisher

    Troubleshooting: https://docs.pypi.org/trusted-publishers/troubleshooting/
    ");
}

#[tokio::test]
async fn reusable_and_cross_repository_workflows_are_explained() {
    let mut claims = github_claims();
    claims["job_workflow_ref"] =
        "octo-org/octo-repo/.github/workflows/publish-reusable.yml@refs/tags/v1".into();
    let text = rejection(
        serde_json::json!([{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher (Publisher with matching claims was not found)"}]),
        claims.clone(),
    )
    .await;
    assert!(text.contains("this job runs a reusable workflow: PyPI matches the called workflow `publish-reusable.yml` (from job_workflow_ref), not the caller `release.yml`"), "{text}");
    let parsed = oidc_core::claims::Claims::from_map(claims.as_object().unwrap().clone()).unwrap();
    let warning = crate::explain::reusable_workflow_warning(&parsed).unwrap();
    assert!(warning.contains("PyPI matches the trusted publisher on the called workflow: `publish-reusable.yml` in `octo-org/octo-repo`; npm matches the caller: `release.yml`"), "{warning}");
    assert!(
        text.contains("workflow file `publish-reusable.yml` and environment `pypi`"),
        "{text}"
    );

    claims["job_workflow_ref"] = "shared-org/workflows/.github/workflows/pypi.yml@main".into();
    let text = rejection(
        serde_json::json!([{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher (Publisher with matching claims was not found)"}]),
        claims,
    )
    .await;
    assert!(
        text.contains("a cross-repository reusable workflow can never match"),
        "{text}"
    );
}

#[tokio::test]
async fn every_warehouse_code_gets_a_hint() {
    let cases = [
        (
            "invalid-payload",
            "unknown trusted publishing issuer",
            "GitHub Enterprise Server",
        ),
        (
            "not-enabled",
            "GitHub trusted publishing functionality not enabled",
            "switched off",
        ),
        (
            "invalid-token",
            "malformed or invalid token",
            "clock is off (iat 1900000000",
        ),
        (
            "invalid-pending-publisher",
            "valid token, but project already exists",
            "a pending publisher only creates a new project",
        ),
        (
            "invalid-reuse-token",
            "invalid token: already used",
            "already used to mint",
        ),
        (
            "invalid-publisher",
            "valid token, but no corresponding publisher (Publishing from a workflow invoked via 'pull_request_target' is not supported.)",
            "refuses tokens from `pull_request_target`",
        ),
        (
            "invalid-publisher",
            "valid token, but no corresponding publisher (Check failed for required claim 'repository_owner_id')",
            "owner id changes",
        ),
    ];
    for (code, description, hint) in cases {
        let mut claims = github_claims();
        if code == "invalid-payload" {
            claims["iss"] = "https://ghes.example.com/_services/token".into();
        }
        let text = rejection(
            serde_json::json!([{"code": code, "description": description}]),
            claims,
        )
        .await;
        assert!(
            text.contains(&format!("* `{code}`: {description}")),
            "{text}"
        );
        assert!(text.contains(hint), "{code}: {text}");
    }
}

#[tokio::test]
async fn an_unknown_code_is_a_typed_refusal_not_a_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(422).set_body_json(serde_json::json!({
            "message": "Token request failed",
            "errors": [
                {"code": "quota-exceeded", "description": "too many tokens today"},
                {"code": "invalid-token", "description": "malformed or invalid token"}
            ]
        })))
        .mount(&server)
        .await;
    let err = exchange(&server)
        .await
        .mint(&ambient(github_claims()))
        .await
        .unwrap_err();
    let PypiExchangeError::Rejected { errors, .. } = &err else {
        panic!("not a refusal: {err:?}");
    };
    assert_eq!(
        errors.iter().map(|e| e.code.clone()).collect::<Vec<_>>(),
        [
            crate::explain::MintErrorCode::Other("quota-exceeded".into()),
            crate::explain::MintErrorCode::InvalidToken
        ]
    );
    let text = err.to_string();
    assert!(
        text.contains("  * `quota-exceeded`: too many tokens today\n"),
        "{text}"
    );
    assert!(
        text.contains("  - `quota-exceeded` is not an error code trustpub knows"),
        "{text}"
    );
    assert!(text.contains("could not verify the token"), "{text}");
}

#[tokio::test]
async fn an_html_refusal_is_summarised_not_parsed() {
    // A proxy or a maintenance page answers in place of Warehouse: no panic, no raw page,
    // the step, the host and the page's title.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(422).set_body_raw(
            "<!DOCTYPE html><html><head><title>Unprocessable Entity</title></head><body><h1>422</h1>\n::error::x</body></html>",
            "text/html; charset=utf-8",
        ))
        .mount(&server)
        .await;
    let err = exchange(&server)
        .await
        .mint(&ambient(github_claims()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PypiExchangeError::Unexpected { status: 422, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("token minting failed: 127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("answered 422: an HTML page titled \"Unprocessable Entity\""),
        "{text}"
    );
    assert!(!text.contains("::error::"), "{text}");
}

#[tokio::test]
async fn testpypi_rejections_mention_its_separate_publishers() {
    let ambient = ambient(github_claims());
    let errors = vec![MintError {
        code: crate::explain::MintErrorCode::InvalidPublisher,
        description: "valid token, but no corresponding publisher (Publisher with matching claims was not found)".into(),
    }];
    let hints = crate::explain::hints("test.pypi.org", &errors, &ambient.claims, true);
    assert!(
        hints
            .iter()
            .any(|h| h.starts_with("TestPyPI is a separate index")),
        "{hints:?}"
    );
}

#[tokio::test]
async fn burn_posts_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/burn-token"))
        .and(body_json(serde_json::json!({"token": "pypi-minted"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let credential = Credential {
        secret: Secret::new("pypi-minted"),
        expires_at: None,
        scope: String::new(),
    };
    exchange(&server).await.burn(&credential).await.unwrap();

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let err = exchange(&server).await.burn(&credential).await.unwrap_err();
    assert!(
        err.to_string().starts_with("token revocation failed"),
        "{err}"
    );
}

#[tokio::test]
async fn an_index_may_not_ask_for_another_services_audience() {
    for (audience, service) in [
        ("testpypi", "TestPyPI"),
        ("pypi", "PyPI"),
        ("sigstore", "Sigstore"),
        ("npm:registry.npmjs.org", "an npm registry"),
        ("api://AzureADTokenExchange", "Azure"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/_/oidc/audience"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({ "audience": audience })),
            )
            .mount(&server)
            .await;
        let err = exchange(&server).await.audience().await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("asked for the audience `{audience}`"))
                && text.contains(service)
                && text.contains(&format!("--audience {audience}")),
            "{text}"
        );
        // Named with --audience, it is allowed; another one is not.
        let allowed = exchange(&server)
            .await
            .with_allowed_audience(Some(audience.to_owned()));
        assert_eq!(allowed.audience().await.unwrap(), audience);
        let other = exchange(&server)
            .await
            .with_allowed_audience(Some("something-else".into()));
        assert!(
            other
                .audience()
                .await
                .unwrap_err()
                .to_string()
                .contains("--audience allows only `something-else`")
        );
    }
}

#[test]
fn pypi_and_testpypi_get_exactly_their_own_audience() {
    let pypi = PackageIndex::parse("https://upload.pypi.org/legacy/").unwrap();
    let test = PackageIndex::parse("https://test.pypi.org/legacy/").unwrap();
    assert_eq!(check_audience(&pypi, "pypi", None), Ok(()));
    assert_eq!(check_audience(&test, "testpypi", None), Ok(()));
    for (index, other) in [(&pypi, "testpypi"), (&pypi, "sigstore"), (&test, "pypi")] {
        assert!(check_audience(index, other, None).is_err(), "{other}");
        // --audience does not change what pypi.org and test.pypi.org get.
        assert!(
            check_audience(index, other, Some(other)).is_err(),
            "{other}"
        );
    }
    let private = PackageIndex::parse("https://pypi.example.com/legacy/").unwrap();
    assert_eq!(check_audience(&private, "pypi.example.com", None), Ok(()));
    assert!(check_audience(&private, "sts.amazonaws.com", None).is_err());
}

#[test]
fn expiry_arithmetic_cannot_overflow() {
    let now = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let fallback = now + Duration::from_secs(900);
    assert_eq!(expiry(None, now), fallback);
    assert_eq!(expiry(Some(-1), now), fallback);
    assert_eq!(expiry(Some(i64::MIN), now), fallback);
    assert_eq!(
        expiry(Some(1_900_000_300), now),
        UNIX_EPOCH + Duration::from_secs(1_900_000_300)
    );
    // i64::MAX seconds may or may not make a SystemTime on this platform: never a panic.
    let _ = expiry(Some(i64::MAX), now);
}
