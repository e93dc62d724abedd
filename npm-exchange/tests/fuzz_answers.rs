//! Property-based fuzzing of every answer trustpub parses from an npm registry: the OIDC token
//! exchange (success and refusal), the packument lookup and the package visibility. Each case is
//! served by a local mock server and read through the public API, as a hostile registry would
//! answer.
//!
//! Asserted: no panic; a failure is a typed error whose message names the registry. CI runs a
//! few cases (`PROPTEST_CASES`, 48 by default here); locally, for longer:
//! `PROPTEST_CASES=100000 cargo test -p npm-exchange --test fuzz_answers`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use base64::Engine;
use npm_exchange::package::PackageName;
use npm_exchange::provenance::fetch_package_visibility;
use npm_exchange::{NpmExchange, NpmRegistry, Publisher};
use oidc_core::{
    AmbientToken, Claims, HttpClient, HttpConfig, IdToken, MapEnv, RetryPolicy, Secret,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use wiremock::matchers::any as any_request;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Real answers, as the seeds the mutations start from.
const SEEDS: &[&str] = &[
    r#"{"token":"npm_AbCdEf0123456789","expires":"2026-12-03T08:00:00.000Z"}"#,
    r#"{"message":"OIDC token exchange error - package not found"}"#,
    r#"{"error":"Unauthorized"}"#,
    r#"{"public":true}"#,
    r#"{"_id":"@octo/pkg","name":"@octo/pkg","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"@octo/pkg","version":"1.0.0","dist":{"integrity":"sha512-AAAA","shasum":"00"}}}}"#,
    "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>",
];

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        proptest::sample::select(SEEDS),
        proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..8),
    )
        .prop_map(|(seed, edits)| {
            let mut bytes = seed.as_bytes().to_vec();
            for (at, byte, kind) in edits {
                let at = at % (bytes.len() + 1);
                match kind {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => bytes.truncate(at),
                }
            }
            bytes
        });
    prop_oneof![
        3 => mutated,
        1 => proptest::collection::vec(any::<u8>(), 0..256),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(201),
        Just(401),
        Just(403),
        Just(404),
        Just(429),
        Just(500),
        100u16..600
    ]
}

fn ambient() -> AmbientToken {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let claims = serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "npm:registry.npmjs.org",
        "sub": "repo:octo-org/octo-repo:ref:refs/tags/v1",
        "repository": "octo-org/octo-repo",
        "iat": 1_900_000_000, "exp": 1_900_000_300
    });
    let token = IdToken::new(format!("{}.{}.sig", b64("{}"), b64(&claims.to_string())));
    AmbientToken {
        provider: "GitHub Actions",
        claims: Claims::decode(&token).unwrap(),
        token,
    }
}

fn http() -> HttpClient {
    HttpClient::new(
        &HttpConfig {
            retry: RetryPolicy::none(),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            ..HttpConfig::default()
        },
        &MapEnv::new(),
    )
    .unwrap()
}

#[test]
fn fuzz_registry_answers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(MockServer::start());
    let registry = NpmRegistry::parse(&format!("{}/", server.uri())).unwrap();
    let host = registry.host();
    let package = PackageName::parse("@octo/pkg").unwrap();
    let ambient = ambient();
    let token = Secret::new("npm_token".to_owned());
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(status(), body()), |(status, body)| {
            runtime.block_on(async {
                server.reset().await;
                Mock::given(any_request())
                    .respond_with(
                        ResponseTemplate::new(status).set_body_raw(body, "application/json"),
                    )
                    .mount(&server)
                    .await;
                let exchange = NpmExchange::new(http(), registry.clone(), package.clone());
                if let Err(err) = exchange.exchange_token(&ambient).await {
                    assert!(err.to_string().contains(&host), "{err}");
                }
                let publisher = Publisher::new(http(), registry.clone(), RetryPolicy::none());
                let _ = publisher
                    .existing_integrity(&package, "1.0.0", &token)
                    .await;
                if let Err(err) =
                    fetch_package_visibility(&http(), &registry, &package, &token).await
                {
                    assert!(!err.to_string().is_empty());
                }
            });
            Ok(())
        })
        .unwrap();
}
