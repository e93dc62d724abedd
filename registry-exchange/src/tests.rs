//! Each registry's wire format against a mock server: the request as the registry documents it,
//! the credential read back, every refusal form, HTML pages, retryable failures, revocation.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;
use oidc_core::ci::{EventPolicy, NoMask};
use oidc_core::doctor::{ExchangeOutcome, Expectations, RegistryDoctor, Verdict};
use oidc_core::process::BoxFuture;
use oidc_core::provider::Provider;
use oidc_core::{
    AmbientToken, Claims, Detector, Exchange, HttpClient, HttpConfig, IdToken, IdentityError,
    MapEnv, RetryPolicy, TokenRequest,
};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::doctor::BrokerDoctor;
use crate::{BrokerError, BrokerExchange, BrokerOptions, RegistryKind};

fn jwt(claims: &serde_json::Value) -> IdToken {
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    IdToken::new(format!(
        "{}.{}.sig",
        b64(r#"{"alg":"RS256"}"#.into()),
        b64(claims.to_string())
    ))
}

fn claims(aud: &str) -> serde_json::Value {
    let now = oidc_core::doctor::unix_now();
    serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": aud,
        "iat": now, "nbf": now, "exp": now + 300,
        "jti": format!("jti-{}", fastrand_like()),
        "repository": "octo-org/octo-crate",
        "repository_owner": "octo-org",
        "repository_owner_id": "4242",
        "workflow_ref": "octo-org/octo-crate/.github/workflows/release.yml@refs/tags/v1",
        "job_workflow_ref": "octo-org/octo-crate/.github/workflows/release.yml@refs/tags/v1",
        "event_name": "push",
        "environment": "release",
    })
}

fn fastrand_like() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn ambient(claims: serde_json::Value) -> AmbientToken {
    let token = jwt(&claims);
    AmbientToken {
        provider: "GitHub Actions",
        claims: Claims::decode(&token).unwrap(),
        token,
    }
}

fn http() -> HttpClient {
    let config = HttpConfig {
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        },
        ..HttpConfig::default()
    };
    HttpClient::new(&config, &MapEnv::new()).unwrap()
}

fn broker(server: &MockServer, kind: RegistryKind) -> BrokerExchange {
    BrokerExchange::new(
        http(),
        kind,
        &BrokerOptions {
            url: Some(format!("{}/", server.uri())),
            audience: None,
            user: Some("octo-user".into()),
        },
    )
    .unwrap()
}

async fn refused(kind: RegistryKind, response: ResponseTemplate) -> BrokerError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    let exchange = broker(&server, kind);
    exchange
        .exchange_token(&ambient(claims(exchange.audience())))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn crates_io_exchange_and_revocation() {
    let server = MockServer::start().await;
    let exchange = broker(&server, RegistryKind::CratesIo);
    // The audience is the registry URL without its scheme and trailing slash.
    let host = server.uri().trim_start_matches("http://").to_owned();
    assert_eq!(exchange.audience(), host);
    let ambient = ambient(claims(&host));
    Mock::given(method("POST"))
        .and(path("/api/v1/trusted_publishing/tokens"))
        .and(header("content-type", "application/json"))
        .and(header("user-agent", oidc_core::http::USER_AGENT))
        .and(body_json(
            serde_json::json!({"jwt": ambient.token.expose()}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"token": "cio_tp_abcdefghijklmnopqrstuvwxyz01234"}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/trusted_publishing/tokens"))
        .and(header(
            "authorization",
            "Bearer cio_tp_abcdefghijklmnopqrstuvwxyz01234",
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let credential = exchange.exchange_token(&ambient).await.unwrap();
    assert_eq!(
        credential.secret.expose(),
        "cio_tp_abcdefghijklmnopqrstuvwxyz01234"
    );
    // Not reported by crates.io: its 30 minutes.
    assert!(credential.expires_within(Duration::from_secs(31 * 60)));
    assert!(!credential.expires_within(Duration::from_secs(29 * 60)));
    exchange.revoke_token(&credential).await.unwrap();
    // Through the trait (what Session::finish calls) too.
    let request = exchange.token_request().await.unwrap();
    assert_eq!(request.audience, host);
}

#[tokio::test]
async fn crates_io_refusals_are_explained_field_by_field() {
    let err = refused(
        RegistryKind::CratesIo,
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"errors": [{"detail":
            "The Trusted Publishing config for repository `octo-org/octo-crate` does not match the workflow filename `release.yml` in the JWT. Expected workflow filenames: `publish.yml`"}]})),
    )
    .await;
    let text = err.to_string();
    assert!(
        text.contains("crates.io refused the trusted-publishing exchange"),
        "{text}"
    );
    assert!(
        text.contains("answered 400: The Trusted Publishing config"),
        "{text}"
    );
    assert!(
        text.contains("workflow filename    workflow_ref         release.yml"),
        "{text}"
    );
    assert!(
        text.contains("the calling workflow's file `release.yml` (from workflow_ref, exact)"),
        "{text}"
    );
    assert!(text.contains("trustpub doctor crates-io"), "{text}");
    assert!(!err.is_transient());

    let err = refused(
        RegistryKind::CratesIo,
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"errors": [{"detail": "No Trusted Publishing config found for repository `octo-org/octo-crate`."}]})),
    )
    .await;
    assert!(
        err.to_string()
            .contains("crates.io has no trusted publisher for repository `octo-org/octo-crate`"),
        "{err}"
    );
    let err = refused(
        RegistryKind::CratesIo,
        ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"errors": [{"detail": "JWT has already been used"}]}),
        ),
    )
    .await;
    assert!(
        err.to_string().contains("accepts each ID token once"),
        "{err}"
    );

    // A missing User-Agent is refused in plain text: not crates.io's envelope.
    let err = refused(
        RegistryKind::CratesIo,
        ResponseTemplate::new(403)
            .set_body_string("We require that all requests include a `User-Agent` header."),
    )
    .await;
    assert!(
        matches!(err, BrokerError::Unexpected { status: 403, .. }),
        "{err:?}"
    );
    // A key-set failure is the registry's own trouble: worth another token.
    let err = refused(
        RegistryKind::CratesIo,
        ResponseTemplate::new(500).set_body_json(
            serde_json::json!({"errors": [{"detail": "Failed to load OIDC key set"}]}),
        ),
    )
    .await;
    assert!(err.is_transient());
}

#[tokio::test]
async fn crates_io_revocation_failure_names_the_registry() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"errors": [{"detail": "Invalid `Authorization` header: Failed to parse token"}]}),
        ))
        .mount(&server)
        .await;
    let exchange = broker(&server, RegistryKind::CratesIo);
    let credential = oidc_core::Credential {
        secret: oidc_core::Secret::new("cio_tp_x"),
        expires_at: None,
        scope: String::new(),
    };
    let err = exchange.revoke_token(&credential).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "crates.io token revocation failed: {} answered 401: Invalid `Authorization` header: Failed to parse token",
            server.uri().trim_start_matches("http://")
        )
    );
    assert!(!err.to_string().contains("cio_tp_x"));
}

#[tokio::test]
async fn rubygems_exchange_reads_the_key_and_its_expiry() {
    let server = MockServer::start().await;
    let exchange = broker(&server, RegistryKind::Rubygems);
    assert_eq!(exchange.audience(), "rubygems.org");
    let ambient = ambient(claims("rubygems.org"));
    Mock::given(method("POST"))
        .and(path("/api/v1/oidc/trusted_publisher/exchange_token"))
        .and(header("accept", "application/json"))
        .and(body_json(
            serde_json::json!({"jwt": ambient.token.expose()}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "rubygems_api_key": "rubygems_0123456789abcdef0123456789abcdef0123456789abcdef",
            "name": "GitHub Actions octo-org/octo-crate @ .github/workflows/release.yml",
            "scopes": ["push_rubygem"],
            "expires_at": "2026-11-22T01:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let credential = exchange.exchange_token(&ambient).await.unwrap();
    assert!(credential.secret.expose().starts_with("rubygems_"));
    assert_eq!(
        credential.expires_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_309_200))
    );
    assert!(
        credential.scope.starts_with("push_rubygem on "),
        "{}",
        credential.scope
    );
    // No revocation: the trait does nothing, the explicit call says why.
    exchange.revoke(&credential).await.unwrap();
    let err = exchange.revoke_token(&credential).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("RubyGems.org has no endpoint to revoke"),
        "{err}"
    );
}

#[tokio::test]
async fn rubygems_bare_404_is_explained_from_the_claims() {
    for response in [
        ResponseTemplate::new(404).set_body_string("Not Found"),
        ResponseTemplate::new(404).set_body_json(serde_json::json!({"error": "Not Found"})),
    ] {
        let err = refused(RegistryKind::Rubygems, response).await;
        let text = err.to_string();
        assert!(text.contains("answered 404: Not Found"), "{text}");
        assert!(text.contains("bare 404 for every trust failure"), "{text}");
        assert!(
            text.contains("workflow filename    job_workflow_ref     release.yml"),
            "{text}"
        );
        assert!(!err.is_transient());
    }
    let err = refused(
        RegistryKind::Rubygems,
        ResponseTemplate::new(400)
            .set_body_json(serde_json::json!({"error": "Missing/invalid jti"})),
    )
    .await;
    assert!(
        err.to_string().contains("lacks a valid `jti` claim"),
        "{err}"
    );
}

#[tokio::test]
async fn rubygems_reusable_workflows_match_the_called_file() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .mount(&server)
        .await;
    let mut claims = claims("rubygems.org");
    claims["job_workflow_ref"] = "octo-org/shared/.github/workflows/gem.yml@refs/heads/main".into();
    let err = broker(&server, RegistryKind::Rubygems)
        .exchange_token(&ambient(claims))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("RubyGems matches the called file `gem.yml`, not the caller `release.yml`, and since it lives in `octo-org/shared`"),
        "{text}"
    );
}

#[tokio::test]
async fn nuget_exchange_sends_the_token_as_bearer_with_the_user() {
    let server = MockServer::start().await;
    let exchange = broker(&server, RegistryKind::Nuget);
    assert_eq!(exchange.audience(), "https://www.nuget.org");
    let ambient = ambient(claims("https://www.nuget.org"));
    Mock::given(method("POST"))
        .and(path("/api/v2/token"))
        .and(header(
            "authorization",
            format!("Bearer {}", ambient.token.expose()).as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(body_json(
            serde_json::json!({"username": "octo-user", "tokenType": "ApiKey"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "tokenType": "ApiKey",
            "expires": "2026-11-22T01:00:00.0000000+00:00",
            "apiKey": "oy2abcdefJQQJ99"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let credential = exchange.exchange_token(&ambient).await.unwrap();
    assert_eq!(credential.secret.expose(), "oy2abcdefJQQJ99");
    assert_eq!(
        credential.expires_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_309_200))
    );
}

#[tokio::test]
async fn nuget_refusals_name_the_user_and_the_policy() {
    let err = refused(
        RegistryKind::Nuget,
        ResponseTemplate::new(401)
            .insert_header("WWW-Authenticate", "Bearer")
            .set_body_json(serde_json::json!({"error": "No matching trust policy owned by user 'octo-user' was found."})),
    )
    .await;
    let text = err.to_string();
    assert!(
        text.contains("NuGet.org refused the trusted-publishing exchange"),
        "{text}"
    );
    assert!(
        text.contains("--user must be the nuget.org profile name"),
        "{text}"
    );
    assert!(
        text.contains("the workflow file the job runs in `release.yml` (from job_workflow_ref, case-insensitive"),
        "{text}"
    );
    let err = refused(
        RegistryKind::Nuget,
        ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": "This bearer token has already been used. A new bearer token must be used for each request."})),
    )
    .await;
    assert!(
        err.to_string().contains("accepts each ID token once"),
        "{err}"
    );
    let err = refused(
        RegistryKind::Nuget,
        ResponseTemplate::new(400)
            .set_body_json(serde_json::json!({"error": "The user 'octo-org' is an organization."})),
    )
    .await;
    assert!(
        err.to_string().contains("is a user (not an organization)"),
        "{err}"
    );
}

#[tokio::test]
async fn nuget_needs_a_user() {
    let err = BrokerExchange::new(http(), RegistryKind::Nuget, &BrokerOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("pass --user NAME"), "{err}");
}

#[tokio::test]
async fn html_pages_and_missing_credentials_are_unexpected() {
    for kind in RegistryKind::ALL {
        let err = refused(
            kind,
            ResponseTemplate::new(502)
                .set_body_raw("<html><title>Bad Gateway</title></html>", "text/html"),
        )
        .await;
        assert!(
            err.to_string()
                .contains("an HTML page titled \"Bad Gateway\""),
            "{kind}: {err}"
        );
        assert!(err.is_transient(), "{kind}");
        let err = refused(
            kind,
            ResponseTemplate::new(404)
                .set_body_raw("<html><title>Nope</title></html>", "text/html"),
        )
        .await;
        assert!(
            matches!(err, BrokerError::Unexpected { .. }),
            "{kind}: {err:?}"
        );
        assert!(!err.is_transient(), "{kind}");
        let err = refused(
            kind,
            ResponseTemplate::new(if kind == RegistryKind::Rubygems {
                201
            } else {
                200
            })
            .set_body_json(serde_json::json!({})),
        )
        .await;
        assert!(
            err.to_string().contains("the answer has no"),
            "{kind}: {err}"
        );
    }
}

#[tokio::test]
async fn an_oversized_answer_is_refused_naming_the_host_and_the_cap() {
    for kind in RegistryKind::ALL {
        let err = refused(
            kind,
            ResponseTemplate::new(200)
                .set_body_raw("x".repeat(crate::wire::MAX_BODY + 1), "application/json"),
        )
        .await;
        let text = err.to_string();
        assert!(
            text.contains("127.0.0.1") && text.contains("larger than 64 KiB"),
            "{kind}: {text}"
        );
    }
}

/// Every token has a new `jti`, as a real CI's.
struct FreshTokens {
    audience: String,
}

impl Provider for FreshTokens {
    fn name(&self) -> &'static str {
        "fresh"
    }

    fn id_token<'a>(
        &'a self,
        _: &'a TokenRequest,
    ) -> BoxFuture<'a, Result<Option<IdToken>, IdentityError>> {
        let token = jwt(&claims(&self.audience));
        Box::pin(async move { Ok(Some(token)) })
    }
}

/// 503 first, then a token; records every JWT it saw.
struct FlakyThenOk {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Respond for FlakyThenOk {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let mut seen = self.seen.lock().unwrap();
        seen.push(body["jwt"].as_str().unwrap().to_owned());
        if seen.len() == 1 {
            ResponseTemplate::new(503).set_body_string("busy")
        } else {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "cio_tp_second"}))
        }
    }
}

#[tokio::test]
async fn the_driver_retries_a_5xx_with_a_fresh_id_token() {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .respond_with(FlakyThenOk { seen: seen.clone() })
        .mount(&server)
        .await;
    let exchange = broker(&server, RegistryKind::CratesIo);
    let detector = Detector::with_providers(
        Arc::new(MapEnv::new()),
        vec![Box::new(FreshTokens {
            audience: exchange.audience().to_owned(),
        })],
    );
    let obtained = oidc_core::obtain(&detector, &exchange, &EventPolicy, &NoMask)
        .await
        .unwrap();
    assert_eq!(obtained.credential.secret.expose(), "cio_tp_second");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1], "each attempt used a new ID token");
}

/// Runs the driver against a registry answering every exchange with `response`; returns the
/// error and how many exchanges it saw.
async fn obtain_against(kind: RegistryKind, response: ResponseTemplate) -> (String, bool, usize) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    let exchange = broker(&server, kind);
    let detector = Detector::with_providers(
        Arc::new(MapEnv::new()),
        vec![Box::new(FreshTokens {
            audience: exchange.audience().to_owned(),
        })],
    );
    let err = oidc_core::obtain(&detector, &exchange, &EventPolicy, &NoMask)
        .await
        .unwrap_err();
    let transient = match &err {
        oidc_core::ObtainError::Exchange(err) => err.is_transient(),
        _ => false,
    };
    let requests = server.received_requests().await.unwrap_or_default().len();
    (err.to_string(), transient, requests)
}

/// Every registry's exchange follows the shared retry rule: a refusal is exchanged once; a
/// retryable answer that asks to wait longer than trustpub waits ends the retries at once,
/// and the error says how long the registry asked.
#[tokio::test]
async fn refusals_and_long_retry_afters_are_not_retried() {
    for kind in RegistryKind::ALL {
        for status in [400, 401, 403] {
            let (_, transient, requests) = obtain_against(
                kind,
                ResponseTemplate::new(status).set_body_json(serde_json::json!({"message": "no"})),
            )
            .await;
            assert!(!transient, "{kind} {status}");
            assert_eq!(requests, 1, "{kind} {status}");
        }
        let (text, transient, requests) = obtain_against(
            kind,
            ResponseTemplate::new(503).insert_header("Retry-After", "600"),
        )
        .await;
        assert!(!transient, "{kind}");
        assert_eq!(requests, 1, "{kind}");
        assert!(
            text.contains("answered 503 Service Unavailable; the server asked to wait 600 s"),
            "{kind}: {text}"
        );
    }
}

#[tokio::test]
async fn the_doctor_compares_fills_the_form_and_revokes_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "cio_tp_doctor"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(header("authorization", "Bearer cio_tp_doctor"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let exchange = broker(&server, RegistryKind::CratesIo);
    let mut claims = claims(exchange.audience());
    claims["job_workflow_ref"] =
        "octo-org/octo-crate/.github/workflows/reusable.yml@refs/tags/v1".into();
    let doctor = BrokerDoctor::new(
        exchange,
        Expectations {
            repository: Some("octo-org/octo-crate".into()),
            workflow: Some("reusable.yml".into()),
            environment: None,
        },
    );
    let ambient = ambient(claims);
    let comparison = doctor.compare(&ambient.claims);
    let workflow = comparison
        .checks
        .iter()
        .find(|c| c.field == oidc_core::doctor::PublisherField::WorkflowFilename)
        .unwrap();
    // crates.io matches the caller: registering the reusable workflow is the mistake.
    assert_eq!(workflow.claim, "workflow_ref");
    assert_eq!(workflow.verdict, Verdict::Mismatch);
    assert!(
        comparison
            .findings
            .iter()
            .any(|f| f.code == "workflow-mismatch")
    );
    assert!(
        comparison
            .findings
            .iter()
            .any(|f| f.code == "reusable-workflow")
    );
    let form = comparison.form.unwrap();
    let values: Vec<_> = form.fields.iter().map(|f| f.value.as_str()).collect();
    assert_eq!(values, ["octo-org", "octo-crate", "release.yml", "release"]);
    let attempt = doctor.attempt(&ambient, &NoMask).await;
    match attempt.outcome {
        ExchangeOutcome::Succeeded { detail } => {
            assert!(detail.contains("revoked it at once"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_doctor_reports_a_refusal_with_its_fixes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .mount(&server)
        .await;
    let doctor = BrokerDoctor::new(
        broker(&server, RegistryKind::Rubygems),
        Expectations::default(),
    );
    let attempt = doctor
        .attempt(&ambient(claims("rubygems.org")), &NoMask)
        .await;
    match &attempt.outcome {
        ExchangeOutcome::Refused {
            http_status, fixes, ..
        } => {
            assert_eq!(*http_status, 404);
            assert!(fixes.iter().any(|f| f.contains("bare 404")), "{fixes:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(attempt.findings[0].code, "exchange-refused");
}

#[test]
fn registry_text_is_escaped_before_it_is_shown() {
    let refusal = crate::Refusal {
        registry: RegistryKind::Nuget,
        host: "www.nuget.org".into(),
        status: 401,
        messages: vec!["bad\n::error::injected".into()],
        claims: Claims::decode(&jwt(&claims("https://www.nuget.org"))).unwrap(),
        user: Some("u".into()),
        audience: "https://www.nuget.org".into(),
    };
    let text = crate::explain::render_refusal(&refusal);
    assert!(!text.contains("\n::error::"), "{text}");
    assert!(text.contains("bad%0A::error::injected"), "{text}");
}
