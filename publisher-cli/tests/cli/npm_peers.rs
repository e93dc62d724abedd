//! npm end to end with real peers: a real `npm pack` tarball goes, with its signed SLSA
//! provenance, through `trustpub npm publish` → the testbed's npm front (verifying the
//! provenance, forwarding without it) → a real verdaccio, and `npm install` fetches it from
//! there. And the npm CLI itself must complete an OIDC exchange and publish through the same
//! front, which proves the testbed faithful.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::tools;

use std::path::{Path, PathBuf};

use common::*;
use testbed::{NpmConfig, NpmPublisher, Testbed, TestbedConfig};
use tools::*;

struct Peers {
    npm: PathBuf,
    node: PathBuf,
    verdaccio: PathBuf,
}

fn peers() -> Option<Peers> {
    Some(Peers {
        npm: require_on_path("npm")?,
        node: require_on_path("node")?,
        verdaccio: require(node_modules().join(".bin/verdaccio"), "verdaccio")?,
    })
}

/// Starts verdaccio with an htpasswd user and returns it with that user's token.
async fn verdaccio(peers: &Peers, dir: &Path) -> (Server, String) {
    let root = dir.join("verdaccio");
    std::fs::create_dir_all(&root).unwrap();
    let port = free_port();
    std::fs::write(
        root.join("config.yaml"),
        format!(
            "storage: {storage}\nlisten: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    file: {htpasswd}\n    max_users: 10\npackages:\n  '@*/*': {{ access: $all, publish: $authenticated, unpublish: $authenticated }}\n  '**': {{ access: $all, publish: $authenticated, unpublish: $authenticated }}\nmax_body_size: 100mb\nlog: {{ type: stdout, format: pretty, level: warn }}\n",
            storage = root.join("storage").display(),
            htpasswd = root.join("htpasswd").display(),
        ),
    )
    .unwrap();
    let config = root.join("config.yaml");
    let server = Server::start(
        &peers.verdaccio,
        &["--config", config.to_str().unwrap()],
        &[],
        format!("http://127.0.0.1:{port}/"),
        "/-/ping",
        dir.join("verdaccio.log"),
    )
    .await;
    let response = reqwest::Client::new()
        .put(format!("{}-/user/org.couchdb.user:ci", server.url))
        .json(&serde_json::json!({"name": "ci", "password": "ci-password-1", "email": "ci@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        201,
        "verdaccio creates the user"
    );
    let token = response.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    (server, token)
}

/// `npm pack` of a small package; returns the tarball.
async fn npm_pack(peers: &Peers, dir: &Path, name: &str, repository: &str) -> PathBuf {
    let package = dir.join(format!("src-{}", name.replace(['@', '/'], "_")));
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(
        package.join("package.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "name": name,
            "version": "1.0.0",
            "description": "trustpub end-to-end sample",
            "main": "index.js",
            "license": "MIT",
            "repository": {"type": "git", "url": format!("git+https://github.com/{repository}.git")},
            "publishConfig": {"access": "public"}
        }))
        .unwrap(),
    )
    .unwrap();
    std::fs::write(
        package.join("index.js"),
        format!("module.exports = {:?};\n", format!("{name} works")),
    )
    .unwrap();
    std::fs::write(package.join("README.md"), format!("# {name}\n")).unwrap();
    let out = run_ok(
        &peers.npm,
        &[
            "pack",
            "--json",
            "--pack-destination",
            dir.to_str().unwrap(),
        ],
        &package,
        &[],
    )
    .await;
    let start = out.find('[').unwrap();
    let end = out.rfind(']').unwrap();
    let packed: serde_json::Value = serde_json::from_str(&out[start..=end]).unwrap();
    dir.join(packed[0]["filename"].as_str().unwrap())
}

async fn forwarding_testbed(verdaccio: &Server, token: &str) -> Testbed {
    let config = TestbedConfig {
        npm: NpmConfig {
            forward_to: Some(verdaccio.url.parse().unwrap()),
            forward_token: Some(token.to_owned()),
            ..NpmConfig::default()
        },
        ..TestbedConfig::default()
    };
    Testbed::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trustpub_publishes_to_verdaccio_and_npm_installs_it() {
    let Some(peers) = peers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (server, verdaccio_token) = verdaccio(&peers, dir.path()).await;
    let testbed = forwarding_testbed(&server, &verdaccio_token).await;
    let identity = testbed.identity();
    testbed.add_npm_publisher(
        "@e2e/sample",
        NpmPublisher::github(&identity.repository, &identity.workflow_file),
    );
    let tarball = npm_pack(&peers, dir.path(), "@e2e/sample", &identity.repository).await;

    let registry = testbed.npm_registry_url().to_string();
    // With SLSA provenance signed by the testbed's Sigstore: the testbed verifies the
    // `.sigstore` attachment and strips it before forwarding (verdaccio takes one attachment).
    let mut args = vec![
        "-vvv".to_owned(),
        "npm".into(),
        "publish".into(),
        "--provenance".into(),
        "--registry".into(),
        registry,
    ];
    args.extend(testbed_sigstore_args(&testbed));
    args.push(tarball.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = trustpub(&args, &testbed.github_env(), dir.path()).await;
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    let masked = assert_no_secret_leaks(&output, &[&verdaccio_token]);
    assert_eq!(
        masked.len(),
        3,
        "the ID token, the exchanged token and the Sigstore ID token are masked"
    );
    let bundle = PathBuf::from(format!("{}.sigstore.json", tarball.display()));
    assert!(bundle.is_file(), "{} is written", bundle.display());
    let records = testbed.records();
    assert!(
        records
            .npm_publishes
            .iter()
            .any(|p| p.package == "@e2e/sample" && p.had_provenance && p.error.is_none()),
        "the publish carried provenance: {:?}",
        records.npm_publishes
    );
    let versions = testbed.npm_versions("@e2e/sample");
    assert!(
        versions.len() == 1 && versions[0].provenance.is_some(),
        "the testbed verified and recorded the provenance"
    );

    // A re-run finds the same version with the same integrity: success, nothing new.
    let output = trustpub(&args, &testbed.github_env(), dir.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("already has this exact version"),
        "{}",
        stderr(&output)
    );

    // npm installs it from verdaccio, and it loads.
    let consumer = dir.path().join("consumer");
    std::fs::create_dir_all(&consumer).unwrap();
    std::fs::write(
        consumer.join("package.json"),
        r#"{"name":"consumer","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    run_ok(
        &peers.npm,
        &[
            "install",
            "--no-audit",
            "--no-fund",
            "--registry",
            &server.url,
            "@e2e/sample@1.0.0",
        ],
        &consumer,
        &[(
            "npm_config_cache",
            dir.path().join("npm-cache").to_str().unwrap(),
        )],
    )
    .await;
    let loaded = run_ok(
        &peers.node,
        &["-e", "console.log(require('@e2e/sample'))"],
        &consumer,
        &[],
    )
    .await;
    assert!(loaded.contains("@e2e/sample works"), "{loaded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_npm_cli_completes_an_oidc_exchange_through_the_testbed() {
    let Some(peers) = peers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (server, verdaccio_token) = verdaccio(&peers, dir.path()).await;
    let testbed = forwarding_testbed(&server, &verdaccio_token).await;
    let identity = testbed.identity();
    testbed.add_npm_publisher(
        "@e2e/npm-cli",
        NpmPublisher::github(&identity.repository, &identity.workflow_file),
    );
    let tarball = npm_pack(&peers, dir.path(), "@e2e/npm-cli", &identity.repository).await;

    let mut env: Vec<(String, String)> = testbed.github_env().into_iter().collect();
    env.push((
        "npm_config_cache".into(),
        dir.path().join("npm-cache").display().to_string(),
    ));
    env.push((
        "npm_config_userconfig".into(),
        dir.path().join("empty.npmrc").display().to_string(),
    ));
    std::fs::write(dir.path().join("empty.npmrc"), "").unwrap();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let registry = testbed.npm_registry_url().to_string();
    // Provenance would sign with the real Sigstore (no network here): off for the cross-check.
    run_ok(
        &peers.npm,
        &[
            "publish",
            "--provenance=false",
            "--loglevel=verbose",
            "--registry",
            registry.as_str(),
            tarball.to_str().unwrap(),
        ],
        dir.path(),
        &env_refs,
    )
    .await;
    let records = testbed.records();
    assert!(
        records
            .npm_exchanges
            .iter()
            .any(|e| e.package == "@e2e/npm-cli" && e.status == 201),
        "the npm CLI exchanged its ID token: {:?}",
        records.npm_exchanges
    );
    assert_eq!(testbed.npm_versions("@e2e/npm-cli").len(), 1);
    let packument: serde_json::Value = reqwest::get(format!("{}@e2e%2fnpm-cli", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        packument["versions"]["1.0.0"].is_object(),
        "verdaccio has it: {packument}"
    );
}

/// Outside CI (no ID token), the token comes from `.npmrc` as npm reads it: `registry=` and the
/// registry's nerf-dart `//host:port/:_authToken=${VAR}` line in the project `.npmrc`. The npm
/// CLI and trustpub agree, against a real verdaccio: both publish with that token, and both
/// refuse when the token is filed under another path of the same host (npm: ENEEDAUTH).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npmrc_tokens_are_found_as_the_npm_cli_finds_them() {
    let Some(peers) = peers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (server, verdaccio_token) = verdaccio(&peers, dir.path()).await;
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let npm_tarball = npm_pack(&peers, dir.path(), "@rc/by-npm", "octo-org/octo-repo").await;
    let our_tarball = npm_pack(&peers, dir.path(), "@rc/by-trustpub", "octo-org/octo-repo").await;
    let url: url::Url = server.url.parse().unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    std::fs::write(dir.path().join("empty.npmrc"), "").unwrap();
    let home = dir.path().display().to_string();
    let userconfig = dir.path().join("empty.npmrc").display().to_string();
    let cache = dir.path().join("npm-cache").display().to_string();
    // Not a CI job: no GitHub variables, and npm's CI detection off.
    let env = [
        ("RC_TOKEN", verdaccio_token.as_str()),
        ("HOME", home.as_str()),
        ("npm_config_userconfig", userconfig.as_str()),
        ("npm_config_cache", cache.as_str()),
        ("CI", "false"),
        ("GITHUB_ACTIONS", ""),
    ];
    let trustpub_env: std::collections::BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();

    // Filed under another path of the same host: neither finds a token, nothing is published.
    std::fs::write(
        project.join(".npmrc"),
        format!(
            "registry={}\n//{host}/other/:_authToken=${{RC_TOKEN}}\n",
            server.url
        ),
    )
    .unwrap();
    let (ok, text) = run(
        &peers.npm,
        &["publish", npm_tarball.to_str().unwrap()],
        &project,
        &env,
    )
    .await;
    assert!(!ok && text.contains("ENEEDAUTH"), "npm refuses: {text}");
    let output = trustpub(
        &[
            "npm",
            "publish",
            "--no-provenance",
            our_tarball.to_str().unwrap(),
        ],
        &trustpub_env,
        &project,
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

    // The registry's own nerf dart, with ${RC_TOKEN}: both publish to verdaccio with it.
    std::fs::write(
        project.join(".npmrc"),
        format!(
            "registry={}\n//{host}/:_authToken=${{RC_TOKEN}}\n",
            server.url
        ),
    )
    .unwrap();
    run_ok(
        &peers.npm,
        &["publish", npm_tarball.to_str().unwrap()],
        &project,
        &env,
    )
    .await;
    let output = trustpub(
        &["npm", "publish", our_tarball.to_str().unwrap()],
        &trustpub_env,
        &project,
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "publishing with the registry token from `//{host}/:_authToken` in"
        )),
        "{err}"
    );
    for package in ["@rc%2fby-npm", "@rc%2fby-trustpub"] {
        let packument: serde_json::Value = reqwest::get(format!("{}{package}", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            packument["versions"]["1.0.0"].is_object(),
            "verdaccio has {package}: {packument}"
        );
    }
}
