//! Monorepo releases and npm's token rules, against the compiled binary and the testbed:
//! many packages at once (each its own exchange), stable output, partial failure and the
//! re-run that finishes the job, an identity failure that stops at once, `publishConfig`
//! against flags, a directory of tarballs, and which credential wins (OIDC first, as npm 11).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use testbed::{NpmPublisher, Testbed};

/// An `npm pack`-shaped tarball for `name@version` with `publish_config`, written into `dir`
/// as `<scope>-<name>-<version>.tgz`.
fn tarball(dir: &Path, name: &str, version: &str, publish_config: serde_json::Value) -> PathBuf {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!(
        "{}-{version}.tgz",
        name.trim_start_matches('@').replace('/', "-")
    ));
    let manifest = serde_json::json!({
        "name": name,
        "version": version,
        "main": "index.js",
        "license": "MIT",
        "repository": {"type": "git", "url": "git+https://github.com/octo-org/octo-repo.git"},
        "publishConfig": publish_config,
    })
    .to_string();
    let mut tar = tar::Builder::new(GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        Compression::default(),
    ));
    for (member, contents) in [
        ("package/package.json", manifest.as_str()),
        ("package/index.js", "module.exports = 1;\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(499_162_500);
        header.set_cksum();
        tar.append_data(&mut header, member, contents.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

fn add_publisher(testbed: &Testbed, package: &str) {
    let identity = testbed.identity();
    testbed.add_npm_publisher(
        package,
        NpmPublisher::github(&identity.repository, &identity.workflow_file),
    );
}

/// The job's variables with an empty HOME (no user `.npmrc` from the machine).
fn job_env(testbed: &Testbed, home: &Path) -> BTreeMap<String, String> {
    let mut env = testbed.github_env();
    env.insert("HOME".into(), home.display().to_string());
    env
}

/// The packages named on `word` lines (`Published @mono/p0@1.0.0 …`), in output order.
fn lines_of(stderr: &str, word: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix(word)?;
            Some(rest.split_whitespace().next()?.to_owned())
        })
        .collect()
}

async fn publish(
    testbed: &Testbed,
    env: &BTreeMap<String, String>,
    cwd: &Path,
    extra: &[&str],
) -> std::process::Output {
    let registry = testbed.npm_registry_url().to_string();
    let mut args = vec!["npm", "publish", "--no-provenance", "--registry", &registry];
    args.extend(extra);
    trustpub(&args, env, cwd).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_of_packages_publishes_concurrently_in_a_stable_order() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let names: Vec<String> = (0..8).map(|i| format!("@mono/p{i}")).collect();
    for name in &names {
        add_publisher(&testbed, name);
        tarball(
            &dist,
            name,
            "1.0.0",
            serde_json::json!({"access": "public"}),
        );
    }
    let env = job_env(&testbed, dir.path());
    let output = publish(&testbed, &env, dir.path(), &["--concurrency", "4", "dist"]).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let expected: Vec<String> = names.iter().map(|n| format!("{n}@1.0.0")).collect();
    assert_eq!(lines_of(&err, "Published"), expected, "input order: {err}");
    // Each package's lines stay together: its exchange, its PUT, its result.
    let mut last = 0;
    for name in &expected {
        let exchanged = err
            .find(&format!("publish token scoped to {name}\n"))
            .unwrap();
        let published = err.find(&format!("Published {name} ")).unwrap();
        assert!(last <= exchanged && exchanged < published, "{err}");
        last = published;
    }
    let records = testbed.records();
    assert_eq!(records.npm_exchanges.len(), 8, "one exchange per package");
    let jtis: std::collections::BTreeSet<_> = records
        .npm_exchanges
        .iter()
        .map(|e| e.jti.clone())
        .collect();
    assert_eq!(jtis.len(), 8, "each exchange with a fresh ID token");
    for name in &names {
        assert_eq!(testbed.npm_versions(name).len(), 1, "{name}");
    }
    assert_no_secret_leaks(&output, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_package_does_not_stop_the_others_and_a_rerun_finishes() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    for name in ["@mono/a", "@mono/b", "@mono/c", "@mono/d"] {
        tarball(
            &dist,
            name,
            "1.0.0",
            serde_json::json!({"access": "public"}),
        );
        if name != "@mono/b" {
            add_publisher(&testbed, name);
        }
    }
    let env = job_env(&testbed, dir.path());
    let output = publish(&testbed, &env, dir.path(), &["dist"]).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(6), "{err}");
    assert!(err.contains("not published: @mono/b@1.0.0"), "{err}");
    assert!(
        err.contains("OIDC token exchange for @mono/b failed"),
        "{err}"
    );
    assert_eq!(
        lines_of(&err, "Published"),
        ["@mono/a@1.0.0", "@mono/c@1.0.0", "@mono/d@1.0.0"]
    );
    assert!(testbed.npm_versions("@mono/b").is_empty());

    // The trusted publisher is fixed; the same command finishes the job.
    add_publisher(&testbed, "@mono/b");
    let before = testbed.records().npm_publishes.len();
    let output = publish(&testbed, &env, dir.path(), &["dist"]).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(lines_of(&err, "Published"), ["@mono/b@1.0.0"]);
    assert_eq!(
        lines_of(&err, "Present"),
        ["@mono/a@1.0.0", "@mono/c@1.0.0", "@mono/d@1.0.0"]
    );
    let stored: Vec<_> = testbed.records().npm_publishes[before..]
        .iter()
        .filter(|p| p.status == 200)
        .map(|p| p.package.clone())
        .collect();
    assert_eq!(stored, ["@mono/b"], "only the missing one was stored");

    // Every package refused: that is an identity problem, exit 3.
    let other = dir.path().join("other");
    tarball(&other, "@mono/none1", "1.0.0", serde_json::json!({}));
    tarball(&other, "@mono/none2", "1.0.0", serde_json::json!({}));
    let output = publish(&testbed, &env, dir.path(), &["other"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_id_token_stops_the_run_at_once() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    for i in 0..5 {
        let name = format!("@mono/s{i}");
        add_publisher(&testbed, &name);
        tarball(
            &dist,
            &name,
            "1.0.0",
            serde_json::json!({"access": "public"}),
        );
    }
    let mut env = job_env(&testbed, dir.path());
    // A job without `id-token: write`: GitHub gives a request URL only with the permission,
    // here the runner's request token is wrong, so the issuer refuses every request.
    env.insert(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
        "not-the-token".into(),
    );
    let output = publish(&testbed, &env, dir.path(), &["--concurrency", "1", "dist"]).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(
        err.contains("Stopped: every package would be refused"),
        "{err}"
    );
    assert!(
        err.contains("Not published: @mono/s0@1.0.0, @mono/s1@1.0.0, @mono/s2@1.0.0"),
        "{err}"
    );
    let records = testbed.records();
    assert!(records.npm_exchanges.is_empty() && records.npm_publishes.is_empty());
    assert!(!err.contains("Exchanged"), "{err}");
}

/// The packument's dist-tags, read from the testbed.
async fn dist_tags(testbed: &Testbed, package: &str) -> serde_json::Value {
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(testbed.ca_pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!(
        "{}{}",
        testbed.npm_registry_url(),
        package.replacen('/', "%2f", 1)
    );
    let packument: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
    packument["dist-tags"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_config_applies_per_package_and_flags_win() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let registry = testbed.npm_registry_url().to_string();
    let env = job_env(&testbed, dir.path());

    // publishConfig.tag and .access per package; publishConfig.registry wins over
    // NPM_CONFIG_REGISTRY (npm applies publishConfig over the environment, under the flags).
    let dist = dir.path().join("dist");
    tarball(
        &dist,
        "@cfg/next",
        "1.0.0",
        serde_json::json!({"tag": "next", "access": "public", "registry": registry}),
    );
    tarball(
        &dist,
        "@cfg/plain",
        "1.0.0",
        serde_json::json!({"registry": registry}),
    );
    for name in ["@cfg/next", "@cfg/plain"] {
        add_publisher(&testbed, name);
    }
    let mut env_with_registry = env.clone();
    env_with_registry.insert("NPM_CONFIG_REGISTRY".into(), "http://127.0.0.1:9/".into());
    let output = trustpub(
        &["npm", "publish", "--no-provenance", "dist"],
        &env_with_registry,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(dist_tags(&testbed, "@cfg/next").await["next"], "1.0.0");
    assert!(
        dist_tags(&testbed, "@cfg/next")
            .await
            .get("latest")
            .is_none()
    );
    assert_eq!(dist_tags(&testbed, "@cfg/plain").await["latest"], "1.0.0");
    let access: BTreeMap<_, _> = testbed
        .records()
        .npm_publishes
        .iter()
        .map(|p| (p.package.clone(), p.access.clone()))
        .collect();
    assert_eq!(access["@cfg/next"].as_deref(), Some("public"));
    assert_eq!(access["@cfg/plain"], None, "no access sent: npm's `null`");

    // Flags win: --tag over publishConfig.tag, --registry over publishConfig.registry,
    // --access over publishConfig.access.
    let flags = dir.path().join("flags");
    tarball(
        &flags,
        "@cfg/flags",
        "2.0.0",
        serde_json::json!({"tag": "beta", "access": "restricted", "registry": "http://127.0.0.1:9/"}),
    );
    add_publisher(&testbed, "@cfg/flags");
    let output = trustpub(
        &[
            "npm",
            "publish",
            "--no-provenance",
            "--registry",
            &registry,
            "--tag",
            "rc",
            "--access",
            "public",
            "flags",
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let tags = dist_tags(&testbed, "@cfg/flags").await;
    assert_eq!(tags["rc"], "2.0.0", "{tags}");
    assert!(tags.get("beta").is_none(), "{tags}");
    let last = testbed.records().npm_publishes.last().cloned().unwrap();
    assert_eq!(last.access.as_deref(), Some("public"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_publishing_wins_over_configured_tokens_like_npm_11() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let registry = testbed.npm_registry_url();
    let nerf = format!(
        "//{}:{}{}",
        registry.host_str().unwrap(),
        registry.port().unwrap(),
        registry.path()
    );
    let env = job_env(&testbed, dir.path());

    // setup-node's placeholder in NODE_AUTH_TOKEN, and its .npmrc line: recognised, ignored.
    std::fs::write(
        dir.path().join(".npmrc"),
        format!("registry={registry}\n{nerf}:_authToken=${{NODE_AUTH_TOKEN}}\n"),
    )
    .unwrap();
    tarball(
        &dir.path().join("a"),
        "@tok/a",
        "1.0.0",
        serde_json::json!({"access": "public"}),
    );
    add_publisher(&testbed, "@tok/a");
    let mut placeholder = env.clone();
    placeholder.insert("NODE_AUTH_TOKEN".into(), "XXXXX-XXXXX-XXXXX-XXXXX".into());
    // No --registry: it comes from ./.npmrc.
    let output = trustpub(
        &["npm", "publish", "--no-provenance", "a"],
        &placeholder,
        dir.path(),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("actions/setup-node's placeholder, not a token: ignored"),
        "{err}"
    );
    assert_eq!(testbed.npm_versions("@tok/a").len(), 1);

    // A stale token in ./.npmrc for this registry does not silently win over OIDC.
    std::fs::write(
        dir.path().join(".npmrc"),
        format!("registry={registry}\n{nerf}:_authToken=npm_staleStaleStale\n"),
    )
    .unwrap();
    tarball(
        &dir.path().join("b"),
        "@tok/b",
        "1.0.0",
        serde_json::json!({"access": "public"}),
    );
    add_publisher(&testbed, "@tok/b");
    let output = trustpub(
        &["npm", "publish", "--no-provenance", "b"],
        &env,
        dir.path(),
    )
    .await;
    // The warning is a GitHub annotation (stdout) on a runner.
    let err = format!("{}{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("the token from `{nerf}:_authToken` in")),
        "the warning names the .npmrc line: {err}"
    );
    assert!(err.contains("--no-trusted-publishing"), "{err}");
    assert_no_secret_leaks(&output, &["npm_staleStaleStale"]);

    // --no-trusted-publishing: the configured token is used (and the testbed, which knows
    // only exchanged tokens, refuses it as npmjs does: a masked 404).
    tarball(
        &dir.path().join("c"),
        "@tok/c",
        "1.0.0",
        serde_json::json!({"access": "public"}),
    );
    add_publisher(&testbed, "@tok/c");
    let exchanges = testbed.records().npm_exchanges.len();
    let output = trustpub(
        &[
            "npm",
            "publish",
            "--no-provenance",
            "--no-trusted-publishing",
            "c",
        ],
        &env,
        dir.path(),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(5), "{err}");
    assert!(err.contains("answered 404"), "{err}");
    assert_eq!(
        testbed.records().npm_exchanges.len(),
        exchanges,
        "no exchange"
    );
    assert_no_secret_leaks(&output, &["npm_staleStaleStale"]);

    // The placeholder where no ID token can be had: said so, exit 3, nothing sent.
    let mut no_oidc = placeholder.clone();
    no_oidc.remove("ACTIONS_ID_TOKEN_REQUEST_URL");
    no_oidc.remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    std::fs::write(
        dir.path().join(".npmrc"),
        format!("registry={registry}\n{nerf}:_authToken=${{NODE_AUTH_TOKEN}}\n"),
    )
    .unwrap();
    let publishes = testbed.records().npm_publishes.len();
    let output = trustpub(
        &["npm", "publish", "--no-provenance", "c"],
        &no_oidc,
        dir.path(),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(
        err.contains("is actions/setup-node's placeholder `XXXXX-XXXXX-XXXXX-XXXXX`"),
        "{err}"
    );
    assert!(err.contains("id-token: write"), "{err}");
    assert_eq!(testbed.records().npm_publishes.len(), publishes);

    // --no-trusted-publishing without any token: what to set, and the .npmrc key.
    std::fs::remove_file(dir.path().join(".npmrc")).unwrap();
    let output = publish(
        &testbed,
        &env,
        dir.path(),
        &["--no-trusted-publishing", "c"],
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("`{nerf}:_authToken=…`")), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provenance_is_signed_per_package_with_one_signer_for_the_run() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let names = ["@prov/a", "@prov/b", "@prov/c"];
    for name in names {
        add_publisher(&testbed, name);
        tarball(
            &dist,
            name,
            "1.0.0",
            serde_json::json!({"access": "public"}),
        );
    }
    assert_eq!(testbed.identity().repository, "octo-org/octo-repo");
    let registry = testbed.npm_registry_url().to_string();
    let mut args = vec![
        "npm".to_owned(),
        "publish".into(),
        "--provenance".into(),
        "--concurrency".into(),
        "3".into(),
        "--registry".into(),
        registry,
    ];
    args.extend(testbed_sigstore_args(&testbed));
    args.push("dist".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let issued = testbed.records().tokens_issued.len();
    let output = trustpub(&args, &job_env(&testbed, dir.path()), dir.path()).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let records = testbed.records();
    let sigstore_tokens = records.tokens_issued[issued..]
        .iter()
        .filter(|t| t.audience == "sigstore")
        .count();
    assert_eq!(
        sigstore_tokens, 1,
        "one signer (one sigstore ID token) for the run"
    );
    assert_eq!(
        records.certificates_issued.len(),
        1,
        "one signing session: one certificate for every package of the run"
    );
    for name in names {
        let versions = testbed.npm_versions(name);
        assert!(
            versions[0].provenance.is_some(),
            "{name} carries provenance"
        );
        let bundle = dist.join(format!(
            "{}-1.0.0.tgz.sigstore.json",
            name.trim_start_matches('@').replace('/', "-")
        ));
        assert!(bundle.is_file(), "{}", bundle.display());
    }
    assert_eq!(lines_of(&err, "Provenance").len(), 3, "{err}");
}

/// A job in a reusable workflow is warned about, naming what npm matches: the caller's
/// workflow (`workflow_ref`), where PyPI matches the called one. The publisher registered
/// for the caller works.
#[tokio::test]
async fn a_reusable_workflow_is_warned_about_with_the_caller_npm_matches() {
    let testbed = testbed().await;
    let identity = testbed.identity();
    testbed.set_identity(testbed::GithubIdentity {
        reusable_workflow: Some(testbed::ReusableWorkflow {
            repository: identity.repository.clone(),
            workflow_file: "publish-reusable.yml".into(),
            git_ref: identity.git_ref.clone(),
            sha: identity.sha.clone(),
        }),
        ..identity.clone()
    });
    add_publisher(&testbed, "@mono/reused");
    let dir = tempfile::tempdir().unwrap();
    tarball(
        &dir.path().join("dist"),
        "@mono/reused",
        "1.0.0",
        serde_json::json!({"access": "public"}),
    );
    let env = job_env(&testbed, dir.path());
    let output = publish(&testbed, &env, dir.path(), &["dist"]).await;
    // On GitHub Actions (as the testbed's environment says) warnings are annotations on stdout.
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "npm matches the trusted publisher on the calling workflow: its workflow filename must be `{}`",
            identity.workflow_file
        )),
        "{text}"
    );
    assert!(text.contains("publish-reusable.yml"), "{text}");
    assert_eq!(
        text.matches("this job runs in a reusable workflow").count(),
        1,
        "said once per run: {text}"
    );
}
