//! Property-based fuzzing of every answer trustpub parses from a Python package index: the OIDC
//! audience, the mint (success and refusal), the burn, the simple index (JSON and HTML), and
//! PEP 740 attestation files. Each case is served by a local mock server and read through the
//! public API, exactly as a hostile index would be.
//!
//! Asserted: no panic, and a failure is a typed error whose message names the host. CI runs a
//! few cases (`PROPTEST_CASES`, 48 by default here); locally, for longer:
//! `PROPTEST_CASES=100000 cargo test -p pypi-exchange --test fuzz_answers`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use base64::Engine;
use oidc_core::{AmbientToken, Claims, HttpClient, HttpConfig, IdToken, MapEnv, RetryPolicy};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use pypi_exchange::attestation::Attestation;
use pypi_exchange::{PackageIndex, PypiExchange};
use wiremock::matchers::any as any_request;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ATTESTATION: &str = include_str!("fixtures/pep740/bundle.publish.attestation");

/// Real answers, as the seeds the mutations start from.
const SEEDS: &[&str] = &[
    r#"{"audience":"pypi"}"#,
    r#"{"success":true,"token":"pypi-AgEIcHlwaS5vcmcCJGQ","expires":1900000000}"#,
    r#"{"message":"Token request failed","errors":[{"code":"invalid-publisher","description":"valid token, but no corresponding publisher (Publisher with matching claims was not found)"}]}"#,
    r#"{"meta":{"api-version":"1.1"},"name":"x","files":[{"filename":"x-1.0.tar.gz","url":"https://files/x-1.0.tar.gz","hashes":{"sha256":"ab"}}]}"#,
    "<!DOCTYPE html><html><body><a href=\"../../files/x-1.0.tar.gz#sha256=ab\">x-1.0.tar.gz</a></body></html>",
    "<html><head><title>503 Service Unavailable</title></head><body>No server is available</body></html>",
];

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// A body: a mutated seed (bytes flipped, inserted, cut), or arbitrary text.
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
        Just(400),
        Just(403),
        Just(404),
        Just(422),
        Just(429),
        Just(500),
        100u16..600
    ]
}

fn content_type() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(
        &[
            "application/json",
            "application/vnd.pypi.simple.v1+json",
            "text/html; charset=utf-8",
            "text/plain",
        ][..],
    )
}

fn ambient() -> AmbientToken {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let claims = serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "pypi",
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

/// Serves `(status, content type, body)` for any request, then runs `check` against the server.
fn fuzz_server<F>(check: F)
where
    F: Fn(&tokio::runtime::Runtime, &MockServer),
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(MockServer::start());
    check(&runtime, &server);
}

fn serve(
    runtime: &tokio::runtime::Runtime,
    server: &MockServer,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
) {
    runtime.block_on(async {
        server.reset().await;
        Mock::given(any_request())
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, content_type))
            .mount(server)
            .await;
    });
}

#[test]
fn fuzz_oidc_answers() {
    fuzz_server(|runtime, server| {
        let index = PackageIndex::parse(&format!("{}/legacy/", server.uri())).unwrap();
        let host = index.host();
        let ambient = ambient();
        runner()
            .run(&(status(), content_type(), body()), |(status, ct, body)| {
                serve(runtime, server, status, ct, body);
                runtime.block_on(async {
                    let exchange = PypiExchange::new(http(), index.clone());
                    if let Err(err) = exchange.audience().await {
                        assert!(err.to_string().contains(&host), "{err}");
                    }
                    match exchange.mint(&ambient).await {
                        Ok(credential) => assert_eq!(status, 200, "{credential:?}"),
                        Err(err) => assert!(err.to_string().contains(&host), "{err}"),
                    }
                });
                Ok(())
            })
            .unwrap();
    });
}

#[test]
fn fuzz_simple_index_answers() {
    fuzz_server(|runtime, server| {
        let simple = url::Url::parse(&format!("{}/simple/", server.uri())).unwrap();
        runner()
            .run(&(status(), content_type(), body()), |(status, ct, body)| {
                serve(runtime, server, status, ct, body);
                runtime.block_on(async {
                    let answer =
                        pypi_exchange::simple::project_files(&http(), &simple, "x", None).await;
                    if let Err(err) = answer {
                        assert!(err.to_string().contains("127.0.0.1"), "{err}");
                    }
                });
                Ok(())
            })
            .unwrap();
    });
}

proptest! {
    #![proptest_config(Config { cases: cases(), failure_persistence: None, ..Config::default() })]

    #[test]
    fn fuzz_simple_html(body in body()) {
        let _ = pypi_exchange::simple::parse_html(&String::from_utf8_lossy(&body));
    }

    #[test]
    fn fuzz_attestation_files(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut bytes = ATTESTATION.as_bytes().to_vec();
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = Attestation::from_json(text);
        }
    }
}
