//! crates.io: the trusted-publishing exchange (every refusal text), revocation, expiry, the publish endpoint's
//! token checks, and a real `cargo publish` + `cargo generate-lockfile`/`cargo fetch` against the sparse index.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest as _;
use testbed::{
    CratesIoConfig, CratesIoPublisher, GithubIdentity, ReusableWorkflow, Testbed, TestbedConfig,
};

use crate::common::{client, fetch_id_token, start, start_with};
use crate::tools;

const CRATE: &str = "tiny-tp-crate";
const AGENT: &str = "trustpub-testbed-tests (help@example.com)";

fn publisher() -> CratesIoPublisher {
    CratesIoPublisher::new("octo-org", "octo-repo", 5_050_505, "release.yml")
}

async fn exchange_with(testbed: &Testbed, jwt: &str, agent: Option<&str>) -> (u16, String) {
    let mut request = client(testbed)
        .post(
            testbed
                .crates_io_url()
                .join("api/v1/trusted_publishing/tokens")
                .unwrap(),
        )
        .json(&json!({ "jwt": jwt }));
    if let Some(agent) = agent {
        request = request.header("user-agent", agent);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// POSTs the exchange; returns status and the parsed JSON body.
async fn exchange(testbed: &Testbed, jwt: &str) -> (u16, Value) {
    let (status, body) = exchange_with(testbed, jwt, Some(AGENT)).await;
    (status, serde_json::from_str(&body).unwrap())
}

/// The single `detail` of a crates.io error body.
fn detail(body: &Value) -> String {
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(errors.len(), 1, "{body}");
    errors[0]["detail"].as_str().unwrap().to_owned()
}

async fn refusal(testbed: &Testbed, jwt: &str) -> String {
    let (status, body) = exchange(testbed, jwt).await;
    assert_eq!(status, 400, "{body}");
    detail(&body)
}

async fn token_for(testbed: &Testbed) -> String {
    let jwt = fetch_id_token(testbed, &testbed.crates_io_audience()).await;
    let (status, body) = exchange(testbed, &jwt).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Signs the current identity's claims for crates.io's audience after `change`.
fn doctored(testbed: &Testbed, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut claims = testbed.id_token_claims(&testbed.crates_io_audience());
    change(&mut claims);
    testbed.sign_id_token(&claims).unwrap()
}

/// Replaces the JWT header (keeping payload and signature).
fn with_header(jwt: &str, header: &Value) -> String {
    let mut parts = jwt.splitn(2, '.');
    let _ = parts.next();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        parts.next().unwrap()
    )
}

#[tokio::test]
async fn exchange_issues_a_token_for_the_matching_crates() {
    let testbed = start().await;
    assert_eq!(
        testbed.crates_io_audience(),
        testbed
            .crates_io_url()
            .as_str()
            .trim_start_matches("https://")
            .trim_end_matches('/')
    );
    testbed.add_crates_io_publisher(CRATE, publisher());
    testbed.add_crates_io_publisher("other-crate", publisher().environment(Some("release")));
    testbed.add_crates_io_publisher(
        "unrelated",
        CratesIoPublisher::new("someone", "else", 1, "release.yml"),
    );
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    let (status, body) = exchange(&testbed, &jwt).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    assert!(token.starts_with("cio_tp_") && token.len() == 39, "{token}");
    assert!(token[7..].chars().all(|c| c.is_ascii_alphanumeric()));

    let records = testbed.records();
    assert_eq!(records.crates_io_tokens.len(), 1);
    let issued = &records.crates_io_tokens[0];
    assert_eq!(issued.crates, [CRATE]);
    assert_eq!(
        issued.token_sha256,
        hex::encode(sha2::Sha256::digest(token))
    );
    assert!(!issued.revoked);
    let lifetime = issued.expires - issued.at;
    assert!((1795..=1805).contains(&lifetime), "{lifetime}");
    assert_eq!(records.crates_io_exchanges[0].status, 200);
}

#[tokio::test]
async fn the_workflow_is_the_caller_from_workflow_ref() {
    let testbed = start().await;
    testbed.add_crates_io_publisher(CRATE, publisher());
    testbed.set_identity(GithubIdentity {
        reusable_workflow: Some(ReusableWorkflow {
            repository: "octo-org/octo-repo".to_owned(),
            workflow_file: "publish-crate.yml".to_owned(),
            git_ref: "refs/tags/v1.0.0".to_owned(),
            sha: "8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1".to_owned(),
        }),
        ..GithubIdentity::default()
    });
    token_for(&testbed).await;

    let called_only =
        CratesIoPublisher::new("octo-org", "octo-repo", 5_050_505, "publish-crate.yml");
    let other = start().await;
    other.add_crates_io_publisher(CRATE, called_only);
    other.set_identity(testbed.identity());
    let jwt = fetch_id_token(&other, &other.crates_io_audience()).await;
    insta::assert_snapshot!(refusal(&other, &jwt).await, @"The Trusted Publishing config for repository `octo-org/octo-repo` does not match the workflow filename `release.yml` in the JWT. Expected workflow filenames: `publish-crate.yml`");
}

#[tokio::test]
async fn config_mismatches_have_their_own_texts() {
    let testbed = start().await;
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    insta::assert_snapshot!(refusal(&testbed, &jwt).await, @"No Trusted Publishing config found for repository `octo-org/octo-repo`.");

    // Owner and repository are matched case-insensitively; the owner id is not.
    testbed.add_crates_io_publisher(
        CRATE,
        CratesIoPublisher::new("Octo-Org", "Octo-Repo", 42, "release.yml"),
    );
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    insta::assert_snapshot!(refusal(&testbed, &jwt).await, @"The Trusted Publishing config for repository `octo-org/octo-repo` does not match the repository owner ID (5050505) in the JWT. Expected owner IDs: 42. Please recreate the Trusted Publishing config to update the repository owner ID.");

    let testbed = start().await;
    testbed.add_crates_io_publisher(
        CRATE,
        CratesIoPublisher::new("octo-org", "octo-repo", 5_050_505, "ci.yml"),
    );
    testbed.add_crates_io_publisher(
        "second",
        CratesIoPublisher::new("octo-org", "octo-repo", 5_050_505, "other.yaml"),
    );
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    insta::assert_snapshot!(refusal(&testbed, &jwt).await, @"The Trusted Publishing config for repository `octo-org/octo-repo` does not match the workflow filename `release.yml` in the JWT. Expected workflow filenames: `ci.yml`, `other.yaml`");

    let testbed = start().await;
    testbed.add_crates_io_publisher(CRATE, publisher().environment(Some("prod")));
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    insta::assert_snapshot!(refusal(&testbed, &jwt).await, @"The Trusted Publishing config for repository `octo-org/octo-repo` requires an environment, but the JWT does not specify one. Expected environments: `prod`");
    testbed.set_identity(GithubIdentity {
        environment: Some("staging".to_owned()),
        ..GithubIdentity::default()
    });
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    insta::assert_snapshot!(refusal(&testbed, &jwt).await, @"The Trusted Publishing config for repository `octo-org/octo-repo` does not match the environment `staging` in the JWT. Expected environments: `prod`");
    testbed.set_identity(GithubIdentity {
        environment: Some("PROD".to_owned()),
        ..GithubIdentity::default()
    });
    token_for(&testbed).await;
}

#[tokio::test]
async fn token_checks_and_their_texts() {
    let testbed = start().await;
    testbed.add_crates_io_publisher(CRATE, publisher());

    // A User-Agent is required (crates.io's middleware, text/plain).
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    let (status, body) = exchange_with(&testbed, &jwt, None).await;
    assert_eq!(status, 403);
    assert!(
        body.starts_with("We require that all requests include a `User-Agent` header."),
        "{body}"
    );
    assert!(testbed.records().crates_io_exchanges.is_empty());

    assert_eq!(refusal(&testbed, "not-a-jwt").await, "Failed to decode JWT");
    let gitlab = doctored(&testbed, |c| {
        c.insert("iss".into(), json!("https://gitlab.com"));
    });
    assert_eq!(
        refusal(&testbed, &gitlab).await,
        "Unsupported JWT issuer: https://gitlab.com"
    );
    let good = doctored(&testbed, |_| {});
    let no_kid = with_header(&good, &json!({"alg": "RS256", "typ": "JWT"}));
    assert_eq!(refusal(&testbed, &no_kid).await, "Missing JWT key ID");
    let bad_kid = with_header(&good, &json!({"alg": "RS256", "typ": "JWT", "kid": "nope"}));
    assert_eq!(refusal(&testbed, &bad_kid).await, "Invalid JWT key ID");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let wrong_audience = testbed.id_token("crates.io").unwrap();
    let expired = doctored(&testbed, |c| {
        c.insert("exp".into(), json!(now - 120));
    });
    let within_leeway = doctored(&testbed, |c| {
        c.insert("exp".into(), json!(now - 20));
    });
    let future = doctored(&testbed, |c| {
        c.insert("iat".into(), json!(now + 600));
    });
    let not_before = doctored(&testbed, |c| {
        c.insert("nbf".into(), json!(now + 600));
    });
    let no_event = doctored(&testbed, |c| {
        c.remove("event_name");
    });
    for jwt in [&wrong_audience, &expired, &future, &not_before, &no_event] {
        assert_eq!(refusal(&testbed, jwt).await, "Failed to decode JWT");
    }
    let (status, _) = exchange(&testbed, &within_leeway).await;
    assert_eq!(status, 200, "60 s of leeway");

    let bad_ref = doctored(&testbed, |c| {
        c.insert(
            "workflow_ref".into(),
            json!("octo-org/octo-repo/.github/workflows/release@main"),
        );
    });
    assert_eq!(
        refusal(&testbed, &bad_ref).await,
        "Unexpected `workflow_ref` value"
    );
    let bad_owner = doctored(&testbed, |c| {
        c.insert("repository_owner_id".into(), json!("not-a-number"));
    });
    assert_eq!(
        refusal(&testbed, &bad_owner).await,
        "Unexpected `repository_owner_id` value"
    );
    let bad_repository = doctored(&testbed, |c| {
        c.insert("repository".into(), json!("no-slash"));
    });
    assert_eq!(
        refusal(&testbed, &bad_repository).await,
        "Unexpected `repository` value"
    );

    // Body problems come from the JSON extractor.
    let response = client(&testbed)
        .post(
            testbed
                .crates_io_url()
                .join("api/v1/trusted_publishing/tokens")
                .unwrap(),
        )
        .header("user-agent", AGENT)
        .json(&json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(detail(&body).contains("missing field `jwt`"), "{body}");
}

#[tokio::test]
async fn a_jti_is_exchanged_once_but_a_refusal_does_not_spend_it() {
    let testbed = start().await;
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    assert!(
        refusal(&testbed, &jwt)
            .await
            .starts_with("No Trusted Publishing config")
    );
    testbed.add_crates_io_publisher(CRATE, publisher());
    let (status, body) = exchange(&testbed, &jwt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(refusal(&testbed, &jwt).await, "JWT has already been used");
    let jti = crate::common::claims_of(&jwt)["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let records = testbed.records();
    assert_eq!(records.crates_io_exchanges.len(), 3);
    assert!(
        records
            .crates_io_exchanges
            .iter()
            .all(|r| r.jti.as_deref() == Some(jti.as_str()))
    );
    assert_eq!(
        records.crates_io_exchanges[2].error.as_deref(),
        Some("JWT has already been used")
    );
}

async fn delete(testbed: &Testbed, authorization: Option<&str>) -> (u16, String) {
    let mut request = client(testbed)
        .delete(
            testbed
                .crates_io_url()
                .join("api/v1/trusted_publishing/tokens")
                .unwrap(),
        )
        .header("user-agent", AGENT);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// cargo's publish body for `name` `version`, with a `.crate` holding `Cargo.toml` and `src/lib.rs`.
fn publish_body(name: &str, version: &str) -> (Vec<u8>, Vec<u8>) {
    let top = format!("{name}-{version}");
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    let manifest =
        format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n");
    for (path, body) in [
        (format!("{top}/Cargo.toml"), manifest.as_str()),
        (format!("{top}/src/lib.rs"), "pub fn one() -> u32 { 1 }\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, body.as_bytes())
            .unwrap();
    }
    let crate_file = builder.into_inner().unwrap().finish().unwrap();
    let metadata = json!({
        "name": name, "vers": version, "deps": [], "features": {}, "authors": [],
        "description": "A tiny crate", "license": "MIT", "links": null,
    })
    .to_string();
    let mut body = Vec::new();
    body.write_all(&(metadata.len() as u32).to_le_bytes())
        .unwrap();
    body.write_all(metadata.as_bytes()).unwrap();
    body.write_all(&(crate_file.len() as u32).to_le_bytes())
        .unwrap();
    body.write_all(&crate_file).unwrap();
    (body, crate_file)
}

async fn publish(testbed: &Testbed, authorization: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut request = client(testbed)
        .put(testbed.crates_io_url().join("api/v1/crates/new").unwrap())
        .header("user-agent", AGENT)
        .body(body);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn revoke_then_the_token_no_longer_publishes() {
    let testbed = start().await;
    testbed.add_crates_io_publisher(CRATE, publisher());
    let token = token_for(&testbed).await;

    assert_eq!(
        delete(&testbed, None).await,
        (
            401,
            json!({"errors": [{"detail": "Missing `Authorization` header"}]}).to_string()
        )
    );
    let (status, body) = delete(&testbed, Some("cio_tp_garbage")).await;
    assert_eq!(status, 401);
    assert!(
        body.contains("Invalid `Authorization` header: Failed to parse token"),
        "{body}"
    );
    let (status, body) = delete(&testbed, Some(&format!("Token {token}"))).await;
    assert_eq!(status, 401);
    assert!(
        body.contains("Found unexpected authentication scheme `Token`"),
        "{body}"
    );
    assert!(!testbed.records().crates_io_tokens[0].revoked);

    assert_eq!(
        delete(&testbed, Some(&format!("Bearer {token}"))).await.0,
        204
    );
    assert!(testbed.records().crates_io_tokens[0].revoked);
    // Revoking again is still 204; publishing with it is refused.
    assert_eq!(delete(&testbed, Some(&token)).await.0, 204);
    let (status, body) = publish(&testbed, Some(&token), publish_body(CRATE, "0.1.0").0).await;
    assert_eq!(
        (status, detail(&body)),
        (403, "Invalid authentication token".to_owned())
    );
}

#[tokio::test]
async fn expired_tokens_are_refused_on_publish() {
    let testbed = start_with(TestbedConfig {
        crates_io: CratesIoConfig {
            token_lifetime: Duration::ZERO,
            ..CratesIoConfig::default()
        },
        ..TestbedConfig::default()
    })
    .await;
    testbed.add_crates_io_publisher(CRATE, publisher());
    let token = token_for(&testbed).await;
    let (status, body) = publish(&testbed, Some(&token), publish_body(CRATE, "0.1.0").0).await;
    assert_eq!(
        (status, detail(&body)),
        (403, "Invalid authentication token".to_owned())
    );
    assert!(testbed.crates_io_versions(CRATE).is_empty());
}

#[tokio::test]
async fn publish_checks_the_token_scope() {
    let testbed = start().await;
    testbed.add_crates_io_publisher(CRATE, publisher());
    testbed.add_crates_io_publisher(
        "foreign",
        CratesIoPublisher::new("a", "b", 7, "release.yml"),
    );
    let token = token_for(&testbed).await;

    let cases = [
        (
            "foreign",
            Some(token.clone()),
            403,
            "The provided access token is not valid for crate `foreign`",
        ),
        (
            "brand-new",
            Some(token.clone()),
            403,
            "Trusted Publishing tokens do not support creating new crates. Publish the crate manually, first",
        ),
        (CRATE, None, 403, "this action requires authentication"),
        (
            CRATE,
            Some("cio_tp_x".to_owned()),
            401,
            "Invalid `Authorization` header: Failed to parse token",
        ),
        (
            CRATE,
            Some("cio0123456789".to_owned()),
            403,
            "authentication failed",
        ),
    ];
    for (name, auth, status, text) in cases {
        let (got, body) = publish(&testbed, auth.as_deref(), publish_body(name, "0.1.0").0).await;
        assert_eq!((got, detail(&body)), (status, text.to_owned()), "{name}");
    }

    let (body, crate_file) = publish_body(CRATE, "0.1.0");
    let (status, answer) = publish(&testbed, Some(&format!("Bearer {token}")), body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["warnings"],
        json!({"invalid_categories": [], "invalid_badges": [], "other": []})
    );
    let (status, answer) = publish(&testbed, Some(&token), body).await;
    assert_eq!(
        (status, detail(&answer)),
        (400, "crate version `0.1.0` is already uploaded".to_owned())
    );

    let versions = testbed.crates_io_versions(CRATE);
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].crate_file, crate_file);
    assert_eq!(
        versions[0].index_entry["cksum"],
        hex::encode(sha2::Sha256::digest(&crate_file))
    );
    let published = testbed.records().crates_published;
    assert_eq!(published.last().unwrap().status, 400);
    assert_eq!(published.iter().filter(|r| r.status == 200).count(), 1);

    // The index file and the download.
    let http = client(&testbed);
    let index = http
        .get(
            testbed
                .crates_io_url()
                .join("index/ti/ny/tiny-tp-crate")
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line: Value = serde_json::from_str(index.trim()).unwrap();
    assert_eq!(
        (line["name"].as_str(), line["vers"].as_str()),
        (Some(CRATE), Some("0.1.0"))
    );
    let download = http
        .get(
            testbed
                .crates_io_url()
                .join("api/v1/crates/tiny-tp-crate/0.1.0/download")
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(download.as_ref(), crate_file.as_slice());
    let missing = http
        .get(testbed.crates_io_url().join("index/fo/re/foreign").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn publish_body_framing_and_metadata() {
    let testbed = start().await;
    testbed.add_crates_io_publisher(CRATE, publisher());
    let token = token_for(&testbed).await;
    let (status, body) = publish(&testbed, Some(&token), vec![1, 0]).await;
    assert_eq!(
        (status, detail(&body)),
        (400, "invalid metadata length".to_owned())
    );
    let (status, body) = publish(&testbed, Some(&token), vec![9, 0, 0, 0, b'{']).await;
    assert_eq!(
        (status, detail(&body)),
        (
            400,
            "invalid metadata length for remaining payload: 9".to_owned()
        )
    );
    let metadata = json!({"name": CRATE, "vers": "one"}).to_string();
    let mut framed = (metadata.len() as u32).to_le_bytes().to_vec();
    framed.extend_from_slice(metadata.as_bytes());
    let (status, body) = publish(&testbed, Some(&token), framed).await;
    assert_eq!(
        (status, detail(&body)),
        (400, "\"one\" is an invalid semver version".to_owned())
    );

    let metadata = json!({"name": CRATE, "vers": "0.2.0", "deps": [], "features": {}}).to_string();
    let (_, crate_file) = publish_body(CRATE, "0.2.0");
    let mut framed = (metadata.len() as u32).to_le_bytes().to_vec();
    framed.extend_from_slice(metadata.as_bytes());
    framed.extend_from_slice(&(crate_file.len() as u32).to_le_bytes());
    framed.extend_from_slice(&crate_file);
    let (status, body) = publish(&testbed, Some(&token), framed).await;
    assert_eq!(status, 400);
    insta::assert_snapshot!(detail(&body), @"missing or empty metadata fields: description, license. Please see https://doc.rust-lang.org/cargo/reference/manifest.html for more information on configuring these fields");
}

fn write(path: &Path, text: &str) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

async fn run_cargo(
    testbed: &Testbed,
    dir: &Path,
    home: &Path,
    args: &[&str],
    token: Option<&str>,
) -> String {
    let mut command = tokio::process::Command::new(tools::cargo());
    command
        .args(args)
        .current_dir(dir)
        .env("CARGO_HOME", home)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env(
            "CARGO_REGISTRIES_TESTBED_INDEX",
            testbed.crates_io_index_url(),
        )
        .env("CARGO_HTTP_CAINFO", testbed.ca_file())
        .env("CARGO_NET_RETRY", "0")
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_REGISTRY_TOKEN")
        .env_remove("RUSTC_WRAPPER")
        .kill_on_drop(true);
    match token {
        Some(token) => command.env("CARGO_REGISTRIES_TESTBED_TOKEN", token),
        None => command.env_remove("CARGO_REGISTRIES_TESTBED_TOKEN"),
    };
    let output = tokio::time::timeout(Duration::from_secs(300), command.output())
        .await
        .expect("cargo finished within 5 minutes")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "cargo {args:?} failed:\n{stderr}");
    stderr
}

/// A real `cargo publish` with an exchanged token, then a second crate resolving and downloading it.
#[tokio::test]
async fn cargo_publishes_with_an_exchanged_token_and_fetches_the_crate() {
    let testbed = start().await;
    testbed.add_crates_io_publisher(CRATE, publisher());
    let token = token_for(&testbed).await;

    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("cargo-home");
    let tiny = work.path().join("tiny");
    write(
        &tiny.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{CRATE}\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"A tiny crate\"\nlicense = \"MIT\"\n\n[workspace]\n"
        ),
    );
    write(
        &tiny.join("src/lib.rs"),
        "pub fn answer() -> u32 {\n    42\n}\n",
    );
    let log = run_cargo(
        &testbed,
        &tiny,
        &home,
        &["publish", "--registry", "testbed", "--no-verify"],
        Some(&token),
    )
    .await;
    assert!(log.contains("Uploaded"), "{log}");
    let versions = testbed.crates_io_versions(CRATE);
    assert_eq!(versions.len(), 1, "{log}");
    let published = testbed.records().crates_published;
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].token_sha256.as_deref(),
        Some(hex::encode(sha2::Sha256::digest(&token)).as_str())
    );

    let user = work.path().join("user");
    write(
        &user.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{CRATE} = {{ version = \"0.1\", registry = \"testbed\" }}\n\n[workspace]\n"
        ),
    );
    write(&user.join("src/lib.rs"), "pub use tiny_tp_crate::answer;\n");
    run_cargo(&testbed, &user, &home, &["generate-lockfile"], None).await;
    let lock = fs_err::read_to_string(user.join("Cargo.lock")).unwrap();
    let cksum = versions[0].index_entry["cksum"].as_str().unwrap();
    assert!(
        lock.contains(&format!("name = \"{CRATE}\"")) && lock.contains(cksum),
        "{lock}"
    );
    run_cargo(&testbed, &user, &home, &["fetch"], None).await;
    let cached = walk(&home.join("registry/cache"))
        .into_iter()
        .find(|path| path.ends_with(format!("{CRATE}-0.1.0.crate")))
        .expect("cargo cached the downloaded .crate");
    assert_eq!(fs_err::read(cached).unwrap(), versions[0].crate_file);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs_err::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn injected_failures_come_first_and_are_recorded() {
    let testbed = start().await;
    testbed.add_crates_io_publisher(CRATE, publisher());
    testbed.crates_io_faults().fail_next_exchanges(1, 429);
    let jwt = fetch_id_token(&testbed, &testbed.crates_io_audience()).await;
    let response = client(&testbed)
        .post(
            testbed
                .crates_io_url()
                .join("api/v1/trusted_publishing/tokens")
                .unwrap(),
        )
        .header("user-agent", AGENT)
        .json(&json!({ "jwt": jwt }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(detail(&response.json().await.unwrap()), "Too Many Requests");
    // The ID token was not spent by the failed attempt.
    assert_eq!(exchange(&testbed, &jwt).await.0, 200);
    let statuses: Vec<u16> = testbed
        .records()
        .crates_io_exchanges
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 200]);
}
