//! The npm registry: OIDC exchange, visibility, publish, packuments, tarballs, attestations.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::Digest as _;
use testbed::{GithubIdentity, NpmPublisher, RunnerEnvironment, Testbed, Visibility};

use crate::common::{client, fetch_id_token, start};

pub(crate) const PACKAGE: &str = "@demo/tiny-pkg";

/// A gzipped npm tarball holding `package/package.json`.
pub fn npm_tarball(name: &str, version: &str) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    let package_json = json!({"name": name, "version": version, "repository": {"type": "git", "url": "git+https://github.com/octo-org/octo-repo.git"}}).to_string();
    for (path, body) in [
        ("package/package.json", package_json.as_str()),
        ("package/index.js", "module.exports = 1;\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, body.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// The libnpmpublish PUT body for `name@version`.
pub fn publish_document(registry: &url::Url, name: &str, version: &str, tarball: &[u8]) -> Value {
    let integrity = format!("sha512-{}", STANDARD.encode(sha2::Sha512::digest(tarball)));
    let shasum = hex::encode(sha1::Sha1::digest(tarball));
    let unscoped = name.rsplit('/').next().unwrap();
    json!({
        "_id": name,
        "name": name,
        "description": "tiny",
        "dist-tags": {"latest": version},
        "versions": {version: {
            "name": name,
            "version": version,
            "repository": {"type": "git", "url": "git+https://github.com/octo-org/octo-repo.git"},
            "_id": format!("{name}@{version}"),
            "_nodeVersion": "22.14.0",
            "_npmVersion": "11.5.1",
            "readme": "ERROR: No README data found!",
            "dist": {"integrity": integrity, "shasum": shasum, "tarball": format!("http://{}/{name}/-/{unscoped}-{version}.tgz", registry.host_str().unwrap())},
        }},
        "access": "public",
        "_attachments": {format!("{name}-{version}.tgz"): {"content_type": "application/octet-stream", "data": STANDARD.encode(tarball), "length": tarball.len()}},
    })
}

fn escaped(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

async fn exchange(testbed: &Testbed, path_name: &str, jwt: Option<&str>) -> (u16, Value) {
    let url = format!(
        "{}-/npm/v1/oidc/token/exchange/package/{path_name}",
        testbed.npm_registry_url()
    );
    let mut request = client(testbed)
        .post(url)
        .header("npm-command", "publish")
        .header("content-length", "0");
    if let Some(jwt) = jwt {
        request = request.bearer_auth(jwt);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

pub(crate) async fn exchange_ok(testbed: &Testbed, name: &str) -> String {
    let jwt = fetch_id_token(testbed, &testbed.npm_audience()).await;
    let (status, body) = exchange(testbed, &escaped(name), Some(&jwt)).await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

pub(crate) async fn put(
    testbed: &Testbed,
    name: &str,
    token: Option<&str>,
    document: &Value,
) -> (u16, Value, Option<String>) {
    let mut request = client(testbed)
        .put(format!("{}{}", testbed.npm_registry_url(), escaped(name)))
        .json(document);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let notice = response
        .headers()
        .get("npm-notice")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        response.json().await.unwrap(),
        notice,
    )
}

pub(crate) async fn ready() -> Testbed {
    let testbed = start().await;
    testbed.add_npm_publisher(
        PACKAGE,
        NpmPublisher::github("octo-org/octo-repo", "release.yml"),
    );
    testbed
}

#[tokio::test]
async fn exchange_then_publish_then_read_back() {
    let testbed = ready().await;
    assert_eq!(testbed.npm_audience(), "npm:127.0.0.1");
    let jwt = fetch_id_token(&testbed, "npm:127.0.0.1").await;
    let (status, body) = exchange(&testbed, "@demo%2ftiny-pkg", Some(&jwt)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["token_type"], "oidc");
    assert!(body["token"].as_str().unwrap().starts_with("npm_"));
    assert!(body["expires"].as_str().unwrap() > body["created"].as_str().unwrap());
    let token = body["token"].as_str().unwrap().to_owned();

    let http = client(&testbed);
    let registry = testbed.npm_registry_url();
    let visibility: Value = http
        .get(format!("{registry}-/package/@demo%2ftiny-pkg/visibility"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(visibility, json!({"public": true}));
    assert_eq!(
        http.get(format!("{registry}@demo%2ftiny-pkg"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let tarball = npm_tarball(PACKAGE, "0.1.0");
    let (status, body, _) = put(
        &testbed,
        PACKAGE,
        Some(&token),
        &publish_document(&registry, PACKAGE, "0.1.0", &tarball),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    for path in ["@demo%2ftiny-pkg", "@demo/tiny-pkg"] {
        let packument: Value = http
            .get(format!("{registry}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(packument["dist-tags"]["latest"], "0.1.0");
        let dist = &packument["versions"]["0.1.0"]["dist"];
        assert_eq!(
            dist["tarball"],
            format!("{registry}@demo/tiny-pkg/-/tiny-pkg-0.1.0.tgz")
        );
        let downloaded = http
            .get(dist["tarball"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(downloaded.as_ref(), tarball.as_slice());
    }

    // Same version again.
    let (status, body, _) = put(
        &testbed,
        PACKAGE,
        Some(&token),
        &publish_document(&registry, PACKAGE, "0.1.0", &tarball),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"error": "You cannot publish over the previously published versions: 0.1.0."})
        )
    );

    let records = testbed.records();
    assert_eq!(records.npm_exchanges.len(), 1);
    assert_eq!(records.npm_exchanges[0].package, PACKAGE);
    assert_eq!(records.npm_publishes.len(), 2);
    assert_eq!(records.npm_publishes[0].version.as_deref(), Some("0.1.0"));
    assert_eq!(records.npm_publishes[0].access.as_deref(), Some("public"));
    assert_eq!(records.npm_publishes[1].status, 403);
    assert_eq!(testbed.npm_versions(PACKAGE).len(), 1);
}

#[tokio::test]
async fn exchange_refusals() {
    let testbed = ready().await;
    let not_found = (
        404,
        json!({"message": "OIDC token exchange error - package not found"}),
    );
    let unauthorized = (
        401,
        json!({"message": "OIDC token exchange error - unauthorized"}),
    );
    let aud = testbed.npm_audience();

    assert_eq!(
        exchange(&testbed, "@demo%2ftiny-pkg", None).await,
        unauthorized
    );
    assert_eq!(
        exchange(&testbed, "@demo%2ftiny-pkg", Some("garbage")).await,
        (
            400,
            json!({"message": "OIDC token exchange error - bad request"})
        )
    );
    assert_eq!(
        exchange(
            &testbed,
            "@demo%2ftiny-pkg",
            Some(&testbed.id_token("npm:registry.npmjs.org").unwrap())
        )
        .await,
        unauthorized
    );
    assert_eq!(
        exchange(
            &testbed,
            "@demo/tiny-pkg",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await,
        not_found
    );
    assert_eq!(
        exchange(
            &testbed,
            "unknown-pkg",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await,
        not_found
    );
    testbed.add_npm_package("no-publisher");
    assert_eq!(
        exchange(
            &testbed,
            "no-publisher",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await,
        not_found
    );

    // The calling workflow is what counts: a reusable workflow named like the publisher does not match.
    testbed.set_identity(GithubIdentity {
        workflow_file: "ci.yml".to_owned(),
        reusable_workflow: Some(testbed::ReusableWorkflow {
            repository: "octo-org/octo-repo".to_owned(),
            workflow_file: "release.yml".to_owned(),
            git_ref: "refs/tags/v1.0.0".to_owned(),
            sha: "8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1".to_owned(),
        }),
        ..GithubIdentity::default()
    });
    assert_eq!(
        exchange(
            &testbed,
            "@demo%2ftiny-pkg",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await,
        not_found
    );

    testbed.set_identity(GithubIdentity {
        runner_environment: RunnerEnvironment::SelfHosted,
        ..GithubIdentity::default()
    });
    assert_eq!(
        exchange(
            &testbed,
            "@demo%2ftiny-pkg",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await,
        unauthorized
    );

    testbed.set_identity(GithubIdentity {
        issuer: "https://ghes.example.com/_services/token".to_owned(),
        ..GithubIdentity::default()
    });
    assert_eq!(
        exchange(
            &testbed,
            "@demo%2ftiny-pkg",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await,
        unauthorized
    );

    testbed.set_identity(GithubIdentity {
        clock_offset_secs: -3600,
        ..GithubIdentity::default()
    });
    assert_eq!(
        exchange(
            &testbed,
            "@demo%2ftiny-pkg",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await,
        unauthorized
    );

    // Environment-constrained publisher.
    testbed.set_identity(GithubIdentity::default());
    testbed.add_npm_publisher(
        PACKAGE,
        NpmPublisher::github("octo-org/octo-repo", "release.yml").with_environment("npm"),
    );
    assert_eq!(
        exchange(
            &testbed,
            "@demo%2ftiny-pkg",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await,
        not_found
    );
    testbed.set_identity(GithubIdentity {
        environment: Some("npm".to_owned()),
        ..GithubIdentity::default()
    });
    assert_eq!(
        exchange(
            &testbed,
            "@demo%2ftiny-pkg",
            Some(&testbed.id_token(&aud).unwrap())
        )
        .await
        .0,
        201
    );
    assert_eq!(testbed.records().npm_exchanges.len(), 12);
}

#[tokio::test]
async fn publish_refusals() {
    let testbed = ready().await;
    testbed.add_npm_publisher(
        "other-pkg",
        NpmPublisher::github("octo-org/octo-repo", "release.yml"),
    );
    let registry = testbed.npm_registry_url();
    let token = exchange_ok(&testbed, PACKAGE).await;
    let tarball = npm_tarball(PACKAGE, "1.0.0");
    let document = publish_document(&registry, PACKAGE, "1.0.0", &tarball);
    let error = |status: u16, message: &str| (status, json!({"error": message}), None::<String>);

    assert_eq!(
        put(&testbed, PACKAGE, None, &document).await,
        error(401, "You must be logged in to publish packages.")
    );
    assert_eq!(
        put(&testbed, PACKAGE, Some("npm_unknown"), &document).await,
        error(404, "Not found")
    );
    let other = exchange_ok(&testbed, "other-pkg").await;
    assert_eq!(
        put(&testbed, PACKAGE, Some(&other), &document).await,
        error(404, "Not found")
    );

    let mut wrong_shasum = document.clone();
    wrong_shasum["versions"]["1.0.0"]["dist"]["shasum"] =
        json!("0000000000000000000000000000000000000000");
    let actual = hex::encode(sha1::Sha1::digest(&tarball));
    assert_eq!(
        put(&testbed, PACKAGE, Some(&token), &wrong_shasum).await,
        error(
            400,
            &format!("shasum error, {actual} != 0000000000000000000000000000000000000000")
        )
    );

    let mut wrong_integrity = document.clone();
    wrong_integrity["versions"]["1.0.0"]["dist"]["integrity"] = json!("sha512-AAAA");
    let (status, body, _) = put(&testbed, PACKAGE, Some(&token), &wrong_integrity).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Integrity check failed: dist.integrity is \"sha512-AAAA\""),
        "{body}"
    );

    let mismatched = publish_document(&registry, PACKAGE, "1.0.0", &npm_tarball(PACKAGE, "9.9.9"));
    assert_eq!(
        put(&testbed, PACKAGE, Some(&token), &mismatched).await,
        error(
            400,
            "Invalid tarball: package/package.json is @demo/tiny-pkg@9.9.9, the document publishes @demo/tiny-pkg@1.0.0"
        )
    );

    let mut bad_semver = document.clone();
    bad_semver["versions"] = json!({"one": {"name": PACKAGE, "version": "one"}});
    assert_eq!(
        put(&testbed, PACKAGE, Some(&token), &bad_semver).await,
        error(400, "Invalid version: \"one\"")
    );

    let mut renamed = document.clone();
    renamed["_id"] = json!("@demo/other");
    assert_eq!(put(&testbed, PACKAGE, Some(&token), &renamed).await.0, 400);

    assert!(testbed.npm_versions(PACKAGE).is_empty());
    assert_eq!(put(&testbed, PACKAGE, Some(&token), &document).await.0, 200);
}

/// A provenance bundle for `name@version` signed against the testbed's Sigstore.
async fn provenance_bundle(
    testbed: &Testbed,
    name: &str,
    version: &str,
    tarball: &[u8],
    repository: &str,
) -> String {
    let statement = crate::sigstore::npm_statement(name, version, tarball, repository);
    crate::sigstore::sign(testbed, &statement).await.to_string()
}

#[tokio::test]
async fn provenance_attachments() {
    let testbed = ready().await;
    let registry = testbed.npm_registry_url();
    let token = exchange_ok(&testbed, PACKAGE).await;
    let tarball = npm_tarball(PACKAGE, "1.0.0");
    let with_bundle = |bundle: String| {
        let mut document = publish_document(&registry, PACKAGE, "1.0.0", &tarball);
        let length = bundle.len();
        document["_attachments"][format!("{PACKAGE}-1.0.0.sigstore")] = json!({"content_type": "application/vnd.dev.sigstore.bundle.v0.3+json", "data": bundle, "length": length});
        document
    };

    let wrong_repo = with_bundle(
        provenance_bundle(
            &testbed,
            PACKAGE,
            "1.0.0",
            &tarball,
            "https://github.com/someone/else",
        )
        .await,
    );
    let (status, body, _) = put(&testbed, PACKAGE, Some(&token), &wrong_repo).await;
    assert_eq!(status, 422);
    insta::assert_snapshot!(body["error"].as_str().unwrap(), @r#"Error verifying sigstore provenance bundle: Failed to validate repository information: package.json: "repository.url" is "git+https://github.com/octo-org/octo-repo.git", expected to match "https://github.com/someone/else" from provenance"#);

    let good = with_bundle(
        provenance_bundle(
            &testbed,
            PACKAGE,
            "1.0.0",
            &tarball,
            "https://github.com/octo-org/octo-repo",
        )
        .await,
    );
    let (status, body, _) = put(&testbed, PACKAGE, Some(&token), &good).await;
    assert_eq!(status, 200, "{body}");
    let stored = testbed.npm_versions(PACKAGE);
    assert_eq!(
        stored[0].provenance.as_ref().unwrap()["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let packument: Value = client(&testbed)
        .get(format!("{registry}@demo%2ftiny-pkg"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attestations_url = packument["versions"]["1.0.0"]["dist"]["attestations"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let attestations: Value = client(&testbed)
        .get(attestations_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        attestations["attestations"][0]["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
    assert!(
        testbed
            .records()
            .npm_publishes
            .iter()
            .all(|p| p.had_provenance)
    );

    // A private repository cannot publish with provenance.
    testbed.set_identity(GithubIdentity {
        visibility: Visibility::Private,
        ..GithubIdentity::default()
    });
    let token = exchange_ok(&testbed, PACKAGE).await;
    let tarball = npm_tarball(PACKAGE, "1.0.1");
    let mut document = publish_document(&registry, PACKAGE, "1.0.1", &tarball);
    let bundle = provenance_bundle(
        &testbed,
        PACKAGE,
        "1.0.1",
        &tarball,
        "https://github.com/octo-org/octo-repo",
    )
    .await;
    document["_attachments"][format!("{PACKAGE}-1.0.1.sigstore")] =
        json!({"content_type": "application/vnd.dev.sigstore.bundle.v0.3+json", "data": bundle});
    let (status, body, _) = put(&testbed, PACKAGE, Some(&token), &document).await;
    assert_eq!(status, 422);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Unsupported GitHub Actions source repository visibility: \"private\"")
    );
}

#[tokio::test]
async fn expired_tokens_are_masked_with_a_notice() {
    let config = testbed::TestbedConfig {
        npm: testbed::NpmConfig {
            token_lifetime: std::time::Duration::from_secs(1),
            ..testbed::NpmConfig::default()
        },
        ..testbed::TestbedConfig::default()
    };
    let testbed = crate::common::start_with(config).await;
    testbed.add_npm_publisher(
        "left-pad",
        NpmPublisher::github("octo-org/octo-repo", "release.yml"),
    );
    let token = exchange_ok(&testbed, "left-pad").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let tarball = npm_tarball("left-pad", "1.0.0");
    let (status, body, notice) = put(
        &testbed,
        "left-pad",
        Some(&token),
        &publish_document(&testbed.npm_registry_url(), "left-pad", "1.0.0", &tarball),
    )
    .await;
    assert_eq!((status, body), (404, json!({"error": "Not found"})));
    assert_eq!(
        notice.as_deref(),
        Some("Access token expired or revoked. Please try logging in again.")
    );

    testbed.set_npm_package_public("left-pad", false);
    let visibility: Value = client(&testbed)
        .get(format!(
            "{}-/package/left-pad/visibility",
            testbed.npm_registry_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(visibility, json!({"public": false}));
}
