use base64::Engine;
use oidc_core::{IdToken, MapEnv};
use wiremock::matchers::{body_string, header, method, path};
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

fn claims() -> serde_json::Value {
    serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "npm:127.0.0.1",
        "repository": "octo-org/octo-repo",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "runner_environment": "github-hosted",
        "repository_visibility": "public"
    })
}

fn exchange(server: &MockServer, package: &str) -> NpmExchange {
    let http = HttpClient::new(&oidc_core::HttpConfig::default(), &MapEnv::new()).unwrap();
    NpmExchange::new(
        http,
        NpmRegistry::parse(&format!("{}/some/prefix/", server.uri())).unwrap(),
        PackageName::parse(package).unwrap(),
    )
}

#[tokio::test]
async fn sends_what_the_npm_cli_sends_and_reads_the_token() {
    let server = MockServer::start().await;
    let ambient = ambient(claims());
    Mock::given(method("POST"))
        // The path prefix of the registry URL is dropped; the scope's slash is `%2f`.
        .and(path("/-/npm/v1/oidc/token/exchange/package/@octo%2fpkg"))
        .and(header("authorization", format!("Bearer {}", ambient.token.expose()).as_str()))
        .and(header("npm-command", "publish"))
        .and(header("content-length", "0"))
        .and(header("accept", "application/json"))
        .and(body_string(""))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "token_type": "oidc", "token": "npm_exchanged", "created": "2026-11-22T00:00:00Z", "expires": "2026-11-22T01:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let exchange = exchange(&server, "@octo/pkg");
    let credential = exchange.exchange_token(&ambient).await.unwrap();
    assert_eq!(credential.secret.expose(), "npm_exchanged");
    assert_eq!(
        credential.expires_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_309_200))
    );
    let request = exchange.token_request().await.unwrap();
    assert_eq!(request.audience, "npm:127.0.0.1");
    assert_eq!(request.token_variable.as_deref(), Some("NPM_ID_TOKEN"));
}

async fn refused(body: ResponseTemplate, claims: serde_json::Value) -> NpmExchangeError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(body)
        .mount(&server)
        .await;
    exchange(&server, "tiny-pkg")
        .exchange_token(&ambient(claims))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn every_status_is_surfaced_with_hints() {
    let cases = [
        (
            404,
            "OIDC token exchange error - package not found",
            "can only be added to an existing package",
        ),
        (
            401,
            "OIDC token exchange error - unauthorized",
            "the calling workflow's file `release.yml`",
        ),
        (
            400,
            "OIDC token exchange error - bad request",
            "audience `npm:127.0.0.1`",
        ),
        (
            403,
            "OIDC permission denied for this action",
            "lacks permission",
        ),
        (
            500,
            "OIDC token exchange error - internal server error",
            "answered 500",
        ),
    ];
    for (status, message, hint) in cases {
        let err = refused(
            ResponseTemplate::new(status).set_body_json(serde_json::json!({ "message": message })),
            claims(),
        )
        .await;
        let text = err.to_string();
        assert!(
            text.contains(&format!("answered {status}: {message}")),
            "{text}"
        );
        assert!(text.contains(hint), "{status}: {text}");
        assert_eq!(NpmExchange::is_transient(&err), status >= 500);
    }
}

#[tokio::test]
async fn reusable_workflows_and_self_hosted_runners_are_explained() {
    let mut claims = claims();
    claims["job_workflow_ref"] = "octo-org/shared/.github/workflows/npm.yml@main".into();
    claims["runner_environment"] = "self-hosted".into();
    let err = refused(
        ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"message": "OIDC token exchange error - unauthorized"}),
        ),
        claims,
    )
    .await;
    let text = err.to_string();
    assert!(text.contains("self-hosted runner"), "{text}");
    assert!(
        text.contains(
            "reusable workflow (`npm.yml`): npm matches the calling workflow `release.yml`"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn html_and_missing_token_are_unexpected() {
    let err = refused(
        ResponseTemplate::new(502)
            .set_body_raw("<html><title>Bad Gateway</title></html>", "text/html"),
        claims(),
    )
    .await;
    assert!(
        err.to_string()
            .contains("an HTML page titled \"Bad Gateway\""),
        "{err}"
    );
    assert!(NpmExchange::is_transient(&err));
    let err = refused(
        ResponseTemplate::new(201).set_body_json(serde_json::json!({})),
        claims(),
    )
    .await;
    assert!(
        err.to_string().contains("the response has no `token`"),
        "{err}"
    );
}

/// The exchange is sent once (its ID token may be used once; `obtain` retries with a fresh
/// one): a 503 is transient, a 501 is not, and a 503 that asks to wait longer than trustpub
/// waits ends the retries with an error saying how long.
#[tokio::test]
async fn retryable_answers_follow_the_shared_retry_rule() {
    let err = refused(ResponseTemplate::new(503), claims()).await;
    assert!(NpmExchange::is_transient(&err), "{err}");
    let err = refused(ResponseTemplate::new(501), claims()).await;
    assert!(!NpmExchange::is_transient(&err), "{err}");
    let err = refused(
        ResponseTemplate::new(503).insert_header("Retry-After", "3600"),
        claims(),
    )
    .await;
    assert!(!NpmExchange::is_transient(&err), "{err}");
    assert!(
        err.to_string()
            .contains("answered 503 Service Unavailable; the server asked to wait 3600 s"),
        "{err}"
    );
}
