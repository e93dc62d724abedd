//! RubyGems.org: the trusted-publisher exchange (success, the 400s, the bare 404s), `job_workflow_ref` matching,
//! key expiry, `POST /api/v1/gems`, and a real `gem build` + `gem push` when Ruby is installed.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::Digest as _;
use testbed::{
    GithubIdentity, ReusableWorkflow, RubygemsConfig, RubygemsPublisher, Testbed, TestbedConfig,
};

use crate::common::{client, fetch_id_token, start, start_with};
use crate::tools;

const GEM: &str = "tiny-tp-gem";

fn publisher() -> RubygemsPublisher {
    RubygemsPublisher::new("octo-org", "octo-repo", "release.yml")
}

async fn exchange_raw(testbed: &Testbed, body: &Value, accept_json: bool) -> (u16, String) {
    let mut request = client(testbed)
        .post(
            testbed
                .rubygems_url()
                .join("api/v1/oidc/trusted_publisher/exchange_token")
                .unwrap(),
        )
        .json(body);
    if accept_json {
        request = request.header("accept", "application/json");
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn exchange(testbed: &Testbed, jwt: &str) -> (u16, String) {
    exchange_raw(testbed, &json!({ "jwt": jwt }), true).await
}

async fn key_for(testbed: &Testbed) -> String {
    let jwt = fetch_id_token(testbed, "rubygems.org").await;
    let (status, body) = exchange(testbed, &jwt).await;
    assert_eq!(status, 201, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["rubygems_api_key"].as_str().unwrap().to_owned()
}

fn doctored(testbed: &Testbed, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut claims = testbed.id_token_claims("rubygems.org");
    change(&mut claims);
    testbed.sign_id_token(&claims).unwrap()
}

#[tokio::test]
async fn exchange_returns_a_key_named_after_the_publisher() {
    let testbed = start().await;
    assert_eq!(testbed.rubygems_audience(), "rubygems.org");
    testbed.add_rubygems_publisher(GEM, publisher().repository_owner_id(5_050_505));
    let jwt = fetch_id_token(&testbed, "rubygems.org").await;
    let (status, body) = exchange(&testbed, &jwt).await;
    assert_eq!(status, 201, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let key = body["rubygems_api_key"].as_str().unwrap();
    let hex_part = key.strip_prefix("rubygems_").unwrap();
    assert!(
        hex_part.len() == 48
            && hex_part
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let name = body["name"].as_str().unwrap();
    assert!(
        name.starts_with("GitHub Actions octo-org/octo-repo @ .github/workflows/release.yml 20")
            && name.ends_with('Z'),
        "{name}"
    );
    assert_eq!(body["scopes"], json!(["push_rubygem"]));
    assert!(body.get("gem").is_none());
    let expires = body["expires_at"].as_str().unwrap();
    assert!(expires.ends_with(".000Z"), "{expires}");
    let records = testbed.records();
    assert_eq!(records.rubygems_keys.len(), 1);
    assert_eq!(
        records.rubygems_keys[0].key_sha256,
        hex::encode(sha2::Sha256::digest(key))
    );
    assert_eq!(
        records.rubygems_keys[0].expires - records.rubygems_keys[0].at,
        900
    );
    // No replay protection on RubyGems.org: the same ID token works twice.
    assert_eq!(exchange(&testbed, &jwt).await.0, 201);
}

#[tokio::test]
async fn malformed_requests_are_400_everything_else_a_bare_404() {
    let testbed = start().await;
    testbed.add_rubygems_publisher(GEM, publisher());
    assert_eq!(
        exchange_raw(&testbed, &json!({}), true).await,
        (
            400,
            json!({"error": "Request is missing param 'jwt'"}).to_string()
        )
    );
    assert_eq!(
        exchange(&testbed, "abc").await,
        (
            400,
            json!({"error": "Invalid JWT Format. JWT should include 2 or 3 dots."}).to_string()
        )
    );
    let no_nbf = doctored(&testbed, |c| {
        c.remove("nbf");
    });
    assert_eq!(
        exchange(&testbed, &no_nbf).await,
        (400, json!({"error": "Missing/invalid nbf"}).to_string())
    );
    let numeric_jti = doctored(&testbed, |c| {
        c.insert("jti".into(), json!(7));
    });
    assert_eq!(
        exchange(&testbed, &numeric_jti).await,
        (400, json!({"error": "Missing/invalid jti"}).to_string())
    );

    let not_found = (404, json!({"error": "Not Found"}).to_string());
    let wrong_audience = testbed.id_token("https://rubygems.org").unwrap();
    let wrong_issuer = doctored(&testbed, |c| {
        c.insert("iss".into(), json!("https://gitlab.com"));
    });
    let expired = doctored(&testbed, |c| {
        let iat = c["iat"].as_i64().unwrap();
        c.insert("exp".into(), json!(iat - 1));
    });
    let other_repo = doctored(&testbed, |c| {
        c.insert("repository".into(), json!("octo-org/elsewhere"));
    });
    for jwt in [&wrong_audience, &wrong_issuer, &expired, &other_repo] {
        assert_eq!(exchange(&testbed, jwt).await, not_found);
    }
    // Without `Accept: application/json` the 404 is plain text.
    assert_eq!(
        exchange_raw(&testbed, &json!({"jwt": wrong_audience}), false).await,
        (404, "Not Found".to_owned())
    );
    let records = testbed.records();
    assert_eq!(records.rubygems_exchanges.len(), 9);
    assert!(records.rubygems_keys.is_empty());
}

#[tokio::test]
async fn matching_uses_job_workflow_ref_owner_id_and_environment() {
    let reusable = GithubIdentity {
        reusable_workflow: Some(ReusableWorkflow {
            repository: "octo-org/octo-repo".to_owned(),
            workflow_file: "push-gem.yml".to_owned(),
            git_ref: "refs/tags/v1.0.0".to_owned(),
            sha: "8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1".to_owned(),
        }),
        ..GithubIdentity::default()
    };
    // The caller's file (workflow_ref) does not match; the called one (job_workflow_ref) does.
    let testbed = start().await;
    testbed.set_identity(reusable.clone());
    testbed.add_rubygems_publisher(GEM, publisher());
    let jwt = fetch_id_token(&testbed, "rubygems.org").await;
    assert_eq!(exchange(&testbed, &jwt).await.0, 404);
    testbed.add_rubygems_publisher(
        GEM,
        RubygemsPublisher::new("octo-org", "octo-repo", "push-gem.yml"),
    );
    key_for(&testbed).await;

    // A called workflow in another repository needs a publisher configured for it.
    let testbed = start().await;
    testbed.set_identity(GithubIdentity {
        reusable_workflow: Some(ReusableWorkflow {
            repository: "octo-org/shared".to_owned(),
            ..reusable.reusable_workflow.clone().unwrap()
        }),
        ..GithubIdentity::default()
    });
    testbed.add_rubygems_publisher(
        GEM,
        RubygemsPublisher::new("octo-org", "octo-repo", "push-gem.yml"),
    );
    let jwt = fetch_id_token(&testbed, "rubygems.org").await;
    assert_eq!(exchange(&testbed, &jwt).await.0, 404);

    // Owner id, when the publisher has one, and environment.
    let testbed = start().await;
    testbed.add_rubygems_publisher(GEM, publisher().repository_owner_id(1));
    testbed.add_rubygems_publisher("env-gem", publisher().environment(Some("release")));
    let jwt = fetch_id_token(&testbed, "rubygems.org").await;
    assert_eq!(exchange(&testbed, &jwt).await.0, 404);
    testbed.set_identity(GithubIdentity {
        environment: Some("release".to_owned()),
        ..GithubIdentity::default()
    });
    let jwt = fetch_id_token(&testbed, "rubygems.org").await;
    let (status, body) = exchange(&testbed, &jwt).await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("release.yml (release) 20"), "{body}");
}

/// A minimal `.gem`: a tar of `metadata.gz` (the gemspec YAML) and `data.tar.gz`.
fn gem_file(name: &str, version: &str) -> Vec<u8> {
    use std::io::Write as _;
    let gzip = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    };
    let spec = format!(
        "--- !ruby/object:Gem::Specification\nname: {name}\nversion: !ruby/object:Gem::Version\n  version: {version}\nplatform: ruby\nauthors:\n- Octo\nfiles: []\n"
    );
    let data = {
        let mut inner = tar::Builder::new(Vec::new());
        let body = b"module Tiny; end\n";
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        inner
            .append_data(&mut header, "lib/tiny.rb", &body[..])
            .unwrap();
        gzip(&inner.into_inner().unwrap())
    };
    let mut outer = tar::Builder::new(Vec::new());
    for (path, body) in [
        ("metadata.gz", gzip(spec.as_bytes())),
        ("data.tar.gz", data),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o444);
        header.set_cksum();
        outer
            .append_data(&mut header, path, body.as_slice())
            .unwrap();
    }
    outer.into_inner().unwrap()
}

async fn push(testbed: &Testbed, key: Option<&str>, gem: Vec<u8>) -> (u16, String) {
    let mut request = client(testbed)
        .post(testbed.rubygems_url().join("api/v1/gems").unwrap())
        .header("content-type", "application/octet-stream")
        .body(gem);
    if let Some(key) = key {
        request = request.header("authorization", key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn push_with_the_raw_key() {
    let testbed = start().await;
    testbed.add_rubygems_publisher(GEM, publisher());
    let key = key_for(&testbed).await;
    let denied = (
        401,
        "Access Denied. Please sign up for an account at https://rubygems.org".to_owned(),
    );
    assert_eq!(push(&testbed, None, gem_file(GEM, "0.1.0")).await, denied);
    assert_eq!(
        push(
            &testbed,
            Some(&format!("Bearer {key}")),
            gem_file(GEM, "0.1.0")
        )
        .await,
        denied
    );
    assert_eq!(
        push(&testbed, Some(&key), gem_file("someone-elses", "0.1.0")).await,
        (403, "You are not allowed to push this gem.".to_owned())
    );
    let (status, body) = push(&testbed, Some(&key), b"not a gem".to_vec()).await;
    assert_eq!(status, 422);
    assert!(
        body.starts_with("RubyGems.org cannot process this gem."),
        "{body}"
    );
    assert_eq!(
        push(&testbed, Some(&key), gem_file(GEM, "0.1.0")).await,
        (200, format!("Successfully registered gem: {GEM} (0.1.0)"))
    );
    let (status, body) = push(&testbed, Some(&key), gem_file(GEM, "0.1.0")).await;
    assert_eq!(status, 409);
    assert!(
        body.starts_with("Repushing of gem versions is not allowed."),
        "{body}"
    );
    let versions = testbed.rubygems_versions(GEM);
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].gem_file, gem_file(GEM, "0.1.0"));
    let pushed = testbed.records().gems_pushed;
    assert_eq!(pushed.len(), 6);
    assert_eq!(pushed[4].status, 200);
}

#[tokio::test]
async fn expired_keys_are_refused() {
    let testbed = start_with(TestbedConfig {
        rubygems: RubygemsConfig {
            key_lifetime: Duration::ZERO,
            ..RubygemsConfig::default()
        },
        ..TestbedConfig::default()
    })
    .await;
    testbed.add_rubygems_publisher(GEM, publisher());
    let key = key_for(&testbed).await;
    assert_eq!(
        push(&testbed, Some(&key), gem_file(GEM, "0.1.0")).await.0,
        401
    );
}

fn write(path: &Path, text: &str) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

/// Ruby's own client: `gem build` then `gem push --host` with `GEM_HOST_API_KEY` from the exchange.
#[tokio::test]
async fn gem_push_with_an_exchanged_key() {
    let Some(gem) = tools::require_on_path("gem") else {
        return;
    };
    let testbed = start().await;
    testbed.add_rubygems_publisher(GEM, publisher());
    let key = key_for(&testbed).await;
    let work = tempfile::tempdir().unwrap();
    write(
        &work.path().join(format!("{GEM}.gemspec")),
        &format!(
            "Gem::Specification.new do |s|\n  s.name = \"{GEM}\"\n  s.version = \"0.1.0\"\n  s.summary = \"A tiny gem\"\n  s.authors = [\"Octo\"]\n  s.license = \"MIT\"\n  s.files = [\"lib/tiny.rb\"]\nend\n"
        ),
    );
    write(&work.path().join("lib/tiny.rb"), "module Tiny; end\n");
    let run = |args: Vec<String>, key: Option<String>| {
        let mut command = tokio::process::Command::new(&gem);
        command
            .args(args)
            .current_dir(work.path())
            .env("HOME", work.path())
            .env("SSL_CERT_FILE", testbed.ca_file())
            .env_remove("RUBYGEMS_HOST")
            .kill_on_drop(true);
        match key {
            Some(key) => command.env("GEM_HOST_API_KEY", key),
            None => command.env_remove("GEM_HOST_API_KEY"),
        };
        async move {
            let output = tokio::time::timeout(Duration::from_secs(120), command.output())
                .await
                .expect("gem finished")
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(output.status.success(), "gem failed:\n{text}");
            text
        }
    };
    run(vec!["build".into(), format!("{GEM}.gemspec")], None).await;
    let host = testbed
        .rubygems_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let log = run(
        vec![
            "push".into(),
            format!("{GEM}-0.1.0.gem"),
            "--host".into(),
            host,
        ],
        Some(key),
    )
    .await;
    assert!(
        log.contains(&format!("Successfully registered gem: {GEM} (0.1.0)")),
        "{log}"
    );
    let versions = testbed.rubygems_versions(GEM);
    assert_eq!(versions.len(), 1);
    assert_eq!(
        versions[0].gem_file,
        fs_err::read(work.path().join(format!("{GEM}-0.1.0.gem"))).unwrap()
    );
}

#[tokio::test]
async fn injected_failures_come_first() {
    let testbed = start().await;
    testbed.add_rubygems_publisher(GEM, publisher());
    testbed.rubygems_faults().fail_next_exchanges(2, 503);
    let jwt = fetch_id_token(&testbed, "rubygems.org").await;
    for _ in 0..2 {
        assert_eq!(
            exchange(&testbed, &jwt).await,
            (503, "Server error. Please try again.".to_owned())
        );
    }
    assert_eq!(testbed.rubygems_faults().pending_failures(), 0);
    assert_eq!(exchange(&testbed, &jwt).await.0, 201);
    assert_eq!(testbed.records().rubygems_exchanges.len(), 3);
}
