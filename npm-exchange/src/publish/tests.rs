use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oidc_core::MapEnv;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;
use crate::package::{PackageTarball, PublishOptions};

fn tarball(dir: &std::path::Path, name: &str, version: &str) -> PackageTarball {
    let path = dir.join("pkg.tgz");
    let file = std::fs::File::create(&path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let manifest = serde_json::json!({"name": name, "version": version, "description": "d", "repository": {"type": "git", "url": "git+https://github.com/octo-org/octo-repo.git"}}).to_string();
    for (member, contents) in [
        ("package/package.json", manifest.as_str()),
        ("package/index.js", "module.exports = 1;\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, member, contents.as_bytes())
            .unwrap();
    }
    let mut gz = tar.into_inner().unwrap();
    gz.flush().unwrap();
    gz.finish().unwrap();
    PackageTarball::read(&path).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    tarball: PackageTarball,
    document: PublishDocument,
    publisher: Publisher,
}

fn fixture(server: &MockServer, name: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let tarball = tarball(dir.path(), name, "1.0.0");
    let registry = NpmRegistry::parse(&server.uri()).unwrap();
    let document = PublishDocument::new(
        &tarball,
        &PublishOptions {
            registry: registry.url(),
            tag: None,
            access: None,
        },
    )
    .unwrap();
    let http = HttpClient::new(&oidc_core::HttpConfig::default(), &MapEnv::new()).unwrap();
    let retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
    };
    Fixture {
        _dir: dir,
        tarball,
        document,
        publisher: Publisher::new(http, registry, retry),
    }
}

struct Recording(Arc<Mutex<Vec<Vec<u8>>>>, Vec<ResponseTemplate>);
impl wiremock::Respond for Recording {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut bodies = self.0.lock().unwrap();
        bodies.push(request.body.clone());
        self.1[(bodies.len() - 1).min(self.1.len() - 1)].clone()
    }
}

async fn put(
    server: &MockServer,
    escaped: &str,
    responses: Vec<ResponseTemplate>,
) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("PUT"))
        .and(path(format!("/{escaped}")))
        .and(header("authorization", "Bearer npm_token"))
        .and(header("content-type", "application/json"))
        .and(header("npm-command", "publish"))
        .respond_with(Recording(bodies.clone(), responses))
        .mount(server)
        .await;
    bodies
}

fn token() -> Secret {
    Secret::new("npm_token")
}

#[tokio::test]
async fn puts_the_whole_document_and_retries_5xx_with_a_rebuilt_body() {
    let server = MockServer::start().await;
    let bodies = put(
        &server,
        "@octo%2fpkg",
        vec![ResponseTemplate::new(503), ResponseTemplate::new(201)],
    )
    .await;
    let f = fixture(&server, "@octo/pkg");
    let status = f
        .publisher
        .publish(&f.document, &f.tarball.integrity(), &token())
        .await
        .unwrap();
    assert_eq!(status, PublishStatus::Published);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2);
    let expected = f.document.to_json().unwrap();
    for body in bodies.iter() {
        assert_eq!(
            String::from_utf8_lossy(body),
            expected,
            "each attempt sends the full document"
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(
        json["versions"]["1.0.0"]["dist"]["integrity"],
        f.tarball.integrity()
    );
}

async fn packument(server: &MockServer, escaped: &str, integrity: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/{escaped}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "name": "tiny-pkg", "versions": {"1.0.0": {"dist": {"integrity": integrity}}}
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_identical_version_is_already_published_and_a_different_one_is_an_error() {
    let server = MockServer::start().await;
    put(&server, "tiny-pkg", vec![ResponseTemplate::new(403).set_body_json(serde_json::json!({"error": "You cannot publish over the previously published versions: 1.0.0."}))]).await;
    let f = fixture(&server, "tiny-pkg");
    packument(&server, "tiny-pkg", &f.tarball.integrity()).await;
    let status = f
        .publisher
        .publish(&f.document, &f.tarball.integrity(), &token())
        .await
        .unwrap();
    assert_eq!(status, PublishStatus::AlreadyPublished);

    let server = MockServer::start().await;
    put(
        &server,
        "tiny-pkg",
        vec![
            ResponseTemplate::new(409)
                .set_body_json(serde_json::json!({"error": "this package is already present"})),
        ],
    )
    .await;
    let f = fixture(&server, "tiny-pkg");
    packument(&server, "tiny-pkg", "sha512-other").await;
    let err = f
        .publisher
        .publish(&f.document, &f.tarball.integrity(), &token())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("tiny-pkg@1.0.0 is already on 127.0.0.1"),
        "{err}"
    );
    assert!(
        err.to_string().contains("integrity sha512-other there"),
        "{err}"
    );
}

#[tokio::test]
async fn errors_are_explained() {
    let cases = [
        (
            404,
            serde_json::json!({"error": "Not found"}),
            "hides authorization failures as 404",
        ),
        (
            401,
            serde_json::json!({"error": "unauthorized"}),
            "token was refused",
        ),
        (
            422,
            serde_json::json!({"error": "Error verifying sigstore provenance bundle: repository.url mismatch"}),
            "`repository.url` must match",
        ),
    ];
    for (status, body, hint) in cases {
        let server = MockServer::start().await;
        put(
            &server,
            "tiny-pkg",
            vec![ResponseTemplate::new(status).set_body_json(body)],
        )
        .await;
        let f = fixture(&server, "tiny-pkg");
        let err = f
            .publisher
            .publish(&f.document, &f.tarball.integrity(), &token())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(&format!("answered {status}")),
            "{err}"
        );
        assert!(err.to_string().contains(hint), "{err}");
    }
}

/// A refusal (400, 401, 403 that is not "previously published") is sent once.
#[tokio::test]
async fn refusals_are_not_retried() {
    for status in [400, 401, 403] {
        let server = MockServer::start().await;
        let bodies = put(
            &server,
            "tiny-pkg",
            vec![
                ResponseTemplate::new(status).set_body_json(serde_json::json!({"error": "no"})),
                ResponseTemplate::new(201),
            ],
        )
        .await;
        let f = fixture(&server, "tiny-pkg");
        let err = f
            .publisher
            .publish(&f.document, &f.tarball.integrity(), &token())
            .await
            .unwrap_err();
        assert!(
            matches!(err, PublishError::Rejected { status: s, .. } if s == status),
            "{err:?}"
        );
        assert_eq!(bodies.lock().unwrap().len(), 1, "status {status}");
    }
}

/// A `Retry-After` longer than the policy's longest wait (50 ms here): no sleep, one PUT, and
/// the error says how long the registry asked. A short one is waited for, then retried.
#[tokio::test]
async fn a_long_retry_after_ends_the_retries_and_says_how_long() {
    let server = MockServer::start().await;
    let bodies = put(
        &server,
        "tiny-pkg",
        vec![
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "600")
                .set_body_json(serde_json::json!({"error": "maintenance"})),
            ResponseTemplate::new(201),
        ],
    )
    .await;
    let f = fixture(&server, "tiny-pkg");
    let started = std::time::Instant::now();
    let err = f
        .publisher
        .publish(&f.document, &f.tarball.integrity(), &token())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(bodies.lock().unwrap().len(), 1);
    let text = err
        .to_string()
        .replace(&server.address().to_string(), "[host]");
    insta::assert_snapshot!(text, @"publishing tiny-pkg@1.0.0 failed: [host] answered 503: maintenance; the server asked to wait 600 s before another attempt, longer than trustpub waits between attempts (0.05 s): not retried, run the job again later");

    let server = MockServer::start().await;
    let bodies = put(
        &server,
        "tiny-pkg",
        vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "0"),
            ResponseTemplate::new(201),
        ],
    )
    .await;
    let f = fixture(&server, "tiny-pkg");
    let status = f
        .publisher
        .publish(&f.document, &f.tarball.integrity(), &token())
        .await
        .unwrap();
    assert_eq!(status, PublishStatus::Published);
    assert_eq!(bodies.lock().unwrap().len(), 2);
}
