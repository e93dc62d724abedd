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
