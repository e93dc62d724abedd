//! `trustpub token` and `trustpub demo` driven as a user would, against the testbed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[tokio::test]
async fn token_claims_against_the_testbed() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let output = trustpub(
        &["token", "--audience", "pypi", "--claims"],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    // Not on a real runner's stdout? The testbed env says GITHUB_ACTIONS=true, so the token is
    // masked first, then the claims follow as JSON.
    let out = stdout(&output);
    let json_start = out.find('{').unwrap();
    assert!(
        out[..json_start]
            .lines()
            .all(|l| l.starts_with("::add-mask::")),
        "{out}"
    );
    let claims: serde_json::Value = serde_json::from_str(&out[json_start..]).unwrap();
    assert_eq!(claims["aud"], "pypi");
    assert_eq!(claims["repository"], "octo-org/octo-repo");
    assert_eq!(claims["iss"], "https://token.actions.githubusercontent.com");
    assert!(claims["jti"].is_string());
    assert!(stderr(&output).contains("Got an ID token from GitHub Actions for audience `pypi`"));
    assert_eq!(testbed.records().tokens_issued.len(), 1);
}

#[tokio::test]
async fn token_without_permission_exits_3_and_explains() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = testbed.github_env();
    env.remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    env.remove("ACTIONS_ID_TOKEN_REQUEST_URL");
    let output = trustpub(&["token", "--audience", "pypi"], &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(3));
    let out = stdout(&output);
    assert!(
        out.starts_with(
            "::error title=No OIDC identity::GitHub Actions did not give this job an OIDC token"
        ),
        "{out}"
    );
    assert!(stderr(&output).contains("id-token: write"));
}

#[tokio::test]
async fn token_outside_ci_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let output = trustpub(
        &["token", "--audience", "pypi"],
        &Default::default(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("no ambient OIDC identity"));
}

#[tokio::test]
async fn usage_errors_exit_2_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let output = trustpub(
        &["token", "--no-such-flag"],
        &Default::default(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let output = trustpub(&["--help"], &Default::default(), dir.path()).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("Exit codes:"));
    let output = trustpub(&["--version"], &Default::default(), dir.path()).await;
    assert_eq!(
        stdout(&output).trim(),
        format!("trustpub {}", env!("CARGO_PKG_VERSION"))
    );
}

/// Every secret-bearing path at the most verbose log level: no token outside `::add-mask::`.
#[tokio::test]
async fn no_secret_leaks_at_trace_level() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let env = testbed.github_env();
    let request_token = env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].as_str();
    let runs: Vec<Vec<&str>> = vec![
        vec!["-vvv", "token", "--audience", "pypi"],
        vec!["-vvv", "token", "--audience", "pypi", "--claims"],
        vec!["-vvv", "token", "--audience", "sigstore", "--claims"],
    ];
    for args in runs {
        let output = trustpub(&args, &env, dir.path()).await;
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let masked = assert_no_secret_leaks(&output, &[request_token]);
        assert_eq!(
            masked.len(),
            1,
            "{args:?}: the ID token is masked: {}",
            stdout(&output)
        );
        assert!(
            stderr(&output).contains("TRACE") || stderr(&output).contains("DEBUG"),
            "trace logging is on"
        );
    }
    // `--reveal` is the one way to see the token, and it is masked first.
    let output = trustpub(
        &["token", "--audience", "pypi", "--reveal"],
        &env,
        dir.path(),
    )
    .await;
    let out = stdout(&output);
    let masked = out
        .lines()
        .next()
        .unwrap()
        .strip_prefix("::add-mask::")
        .unwrap();
    assert_eq!(out.lines().last().unwrap(), masked);
}

/// The PyPI paths at trace level: trusted publishing (ID token and minted token), a refused
/// mint, and a token upload (`--password`): nothing secret outside `::add-mask::`.
#[tokio::test]
async fn no_secret_leaks_in_pypi_uploads_at_trace_level() {
    let testbed = testbed().await;
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    testbed.add_pypi_publisher(
        "leak-check",
        testbed::PypiPublisher::new(
            owner,
            repo,
            identity.repository_owner_id,
            &identity.workflow_file,
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "leak-check", "1.0");
    let env = testbed.github_env();
    let request_token = env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].clone();
    let url = testbed.pypi_upload_url().to_string();

    let output = trustpub(
        &["-vvv", "pypi", "upload", "--repository-url", &url],
        &env,
        dir.path(),
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let masked = assert_no_secret_leaks(&output, &[&request_token]);
    assert_eq!(
        masked.len(),
        2,
        "ID token and minted token: {}",
        stdout(&output)
    );
    assert!(masked[1].starts_with("pypi-"), "the minted token is masked");

    // A refused mint: the explanation shows claims, never the token.
    testbed.set_identity(testbed::GithubIdentity {
        workflow_file: "renamed.yml".into(),
        ..identity.clone()
    });
    let output = trustpub(
        &["-vvv", "pypi", "upload", "--repository-url", &url],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("invalid-publisher"),
        "{}",
        stderr(&output)
    );
    assert_no_secret_leaks(&output, &[&request_token]);

    // A token upload: the password is masked and never shown.
    let output = trustpub(
        &[
            "-vvv",
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--password",
            "pypi-not-a-real-token-secretvalue",
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(5),
        "the index refuses the made-up token: {}",
        stderr(&output)
    );
    let masked = assert_no_secret_leaks(&output, &["secretvalue", &request_token]);
    assert_eq!(masked, ["pypi-not-a-real-token-secretvalue"]);
    // The token checks apply to every index; the upgrade nudge only to pypi.org (issue #10).
    assert!(
        stdout(&output).contains("::warning title=Potentially invalid token::"),
        "{}",
        stdout(&output)
    );
    assert!(
        !stdout(&output).contains("Upgrade to Trusted Publishing"),
        "{}",
        stdout(&output)
    );
}

/// npm at trace level: a trusted-publishing exchange with signed provenance, a refused
/// exchange, and a token publish (`--token`): nothing secret outside `::add-mask::`.
#[tokio::test]
async fn no_secret_leaks_in_npm_publish_at_trace_level() {
    const PACKAGE: &str = "@octo/leak-check";
    let testbed = testbed().await;
    let identity = testbed.identity();
    testbed.add_npm_package(PACKAGE);
    testbed.add_npm_publisher(
        PACKAGE,
        testbed::NpmPublisher::github(&identity.repository, &identity.workflow_file),
    );
    let dir = tempfile::tempdir().unwrap();
    let registry = testbed.npm_registry_url().to_string();
    let sigstore = testbed_sigstore_args(&testbed);
    // An empty HOME: no `.npmrc` of the machine's user.
    let job_env = |testbed: &testbed::Testbed| {
        let mut env = testbed.github_env();
        env.insert("HOME".into(), dir.path().display().to_string());
        env
    };
    let env = job_env(&testbed);
    let request_token = env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].clone();
    let publish =
        |env: std::collections::BTreeMap<String, String>, version: &str, extra: &[&str]| {
            let tarball = write_npm_tarball(dir.path(), PACKAGE, version, &identity.repository);
            let mut args: Vec<String> = ["-vvv", "npm", "publish", "--registry", &registry]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            args.push(tarball.display().to_string());
            let cwd = dir.path().to_owned();
            async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                trustpub(&args, &env, &cwd).await
            }
        };

    // Trusted publishing with provenance: the ID tokens (npm's audience, Sigstore's) and the
    // exchanged npm token are masked, and none of them is shown.
    let sigstore_args: Vec<&str> = sigstore.iter().map(String::as_str).collect();
    let output = publish(env.clone(), "1.0.0", &sigstore_args).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let masked = assert_no_secret_leaks(&output, &[&request_token]);
    assert!(
        masked.iter().any(|m| m.starts_with("npm_")),
        "the exchanged token is masked: {masked:?}"
    );
    assert!(
        masked.iter().filter(|m| m.starts_with("eyJ")).count() >= 2,
        "the ID tokens for npm and Sigstore are masked: {masked:?}"
    );
    let err = stderr(&output);
    assert!(
        err.contains("TRACE") || err.contains("DEBUG"),
        "trace logging is on: {err}"
    );
    let records = testbed.records();
    assert_eq!(
        records.npm_exchanges.len(),
        1,
        "{:?}",
        records.npm_exchanges
    );
    assert_eq!(
        records.npm_publishes.len(),
        1,
        "{:?}",
        records.npm_publishes
    );
    assert!(records.npm_publishes[0].had_provenance, "with provenance");
    assert_eq!(
        records.npm_publishes[0].status, 200,
        "{:?}",
        records.npm_publishes
    );

    // A refused exchange (the workflow was renamed): the explanation shows claims, no token.
    testbed.set_identity(testbed::GithubIdentity {
        workflow_file: "renamed.yml".into(),
        ..identity.clone()
    });
    let output = publish(job_env(&testbed), "1.0.1", &sigstore_args).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let records = testbed.records();
    assert_eq!(records.npm_exchanges.len(), 2);
    assert_ne!(records.npm_exchanges[1].status, 201, "refused");
    assert_eq!(records.npm_publishes.len(), 1, "nothing published");
    assert_no_secret_leaks(&output, &[&request_token]);

    // A token publish: the token is masked and never shown (the testbed knows only exchanged
    // tokens and refuses it, as npmjs.com does).
    let token = "npm_leakCheckLeakCheckLeakCheckLeak01234";
    let output = publish(
        env,
        "1.0.2",
        &[
            "--no-provenance",
            "--no-trusted-publishing",
            "--token",
            token,
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    let masked = assert_no_secret_leaks(&output, &[token, &request_token]);
    assert!(
        !masked.is_empty() && masked.iter().all(|m| m == token),
        "only the token is masked: {masked:?}"
    );
}
