//! `trustpub audit` and `trustpub init` against the compiled binary: formats, exit codes,
//! expectations, the generated workflows (audited by trustpub and by zizmor), this
//! repository's own workflows, and the pinned-action monitor against a mock GitHub API.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common;
use crate::tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{stderr, stdout, trustpub};
use serde_json::Value;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn corpus(name: &str) -> String {
    workspace()
        .join("workflow-audit/tests/corpus")
        .join(name)
        .display()
        .to_string()
}

fn fixture(name: &str) -> String {
    workspace()
        .join("workflow-audit/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn no_env() -> BTreeMap<String, String> {
    BTreeMap::new()
}

async fn audit(args: &[&str]) -> std::process::Output {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    trustpub(&all, &no_env(), &workspace()).await
}

#[tokio::test]
async fn human_output_names_positions_and_fixes_and_fails_with_7() {
    let file = corpus("twine-token.yml");
    let output = audit(&[&file]).await;
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains(&format!("{file}:30:11: error[long-lived-token]")),
        "{out}"
    );
    assert!(out.contains("30 |           TWINE_PASSWORD: ${{ secrets.PYPI_API_TOKEN }}"));
    assert!(out.contains("  = fix: drop the token"));
    assert!(out.contains("9 finding(s) in 1 workflow file(s): 4 error(s), 5 warning(s)"));
}

#[tokio::test]
async fn clean_workflows_exit_0() {
    let output = audit(&[&fixture("clean.yml")]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("No findings in 1 workflow file(s)."));
}

#[tokio::test]
async fn json_is_versioned_and_complete() {
    let output = audit(&["--format", "json", &corpus("twine-token.yml")]).await;
    assert_eq!(output.status.code(), Some(7));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["schema"], "trustpub.audit/v1");
    assert_eq!(value["summary"]["errors"], 4);
    let first = &value["findings"][0];
    for key in [
        "rule", "severity", "message", "fix", "location", "snippet", "help",
    ] {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    assert_eq!(first["location"]["line"], 4);
}

#[tokio::test]
async fn sarif_is_2_1_0_with_every_rule() {
    let output = audit(&["--format", "sarif", &corpus("npm-changesets.yml")]).await;
    assert_eq!(output.status.code(), Some(7));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["version"], "2.1.0");
    let run = &value["runs"][0];
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 19);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 13);
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert!(region["startLine"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn github_annotations_are_escaped_commands() {
    let output = audit(&["--format", "github", &corpus("gem-pr-target.yml")]).await;
    assert_eq!(output.status.code(), Some(7));
    let out = stdout(&output);
    assert_eq!(out.lines().count(), 13, "{out}");
    for line in out.lines() {
        assert!(
            line.starts_with("::error file=") || line.starts_with("::warning file="),
            "{line}"
        );
        assert!(line.contains(",line=") && line.contains(",title=trustpub audit%3A "));
    }
}

#[tokio::test]
async fn fail_on_sets_the_threshold() {
    // uv-two-jobs is clean; nuget-reusable has errors; a warnings-only file passes --fail-on error.
    let output = audit(&["--fail-on", "never", &corpus("nuget-reusable.yml")]).await;
    assert_eq!(output.status.code(), Some(0));
    let output = audit(&[
        "--fail-on",
        "error",
        &fixture("no-environment/positive.yml"),
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let output = audit(&[&fixture("no-environment/positive.yml")]).await;
    assert_eq!(output.status.code(), Some(7));
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let output = audit(&["does/not/exist.yml"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("does/not/exist.yml"),
        "{}",
        stderr(&output)
    );
    let output = audit(&["--expect", "pypy:workflow=x.yml", &fixture("clean.yml")]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown registry `pypy`"));
}

#[tokio::test]
async fn expectations_are_cross_checked() {
    let clean = fixture("clean.yml");
    let output = audit(&[
        "--expect",
        "pypi:workflow=clean.yml,environment=pypi",
        &clean,
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let output = audit(&[
        "--expect",
        "pypi:workflow=release.yml,environment=PyPI-prod",
        &clean,
    ])
    .await;
    assert_eq!(output.status.code(), Some(7));
    let out = stdout(&output);
    assert_eq!(out.matches("error[publisher-mismatch]").count(), 2, "{out}");
    assert!(out.contains("names `release.yml`"));
    assert!(out.contains("requires environment `PyPI-prod`"));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("publishers.yml");
    std::fs::write(
        &config,
        "publishers:\n  - registry: npm\n    workflow: clean.yml\n",
    )
    .unwrap();
    let output = audit(&["--config", config.to_str().unwrap(), &clean]).await;
    assert_eq!(output.status.code(), Some(7));
    assert!(stdout(&output).contains("no audited job publishes to npm"));
}

/// This repository's own workflows. At the time of writing: ci.yml does not publish, and
/// release.yml publishes GitHub release assets (not to a registry), so neither is a
/// publishing workflow for the audit and it reports nothing. A registry publish job added to
/// release.yml (issue #17) must keep this green.
#[tokio::test]
async fn this_repository_s_workflows_pass() {
    let output = audit(&[]).await;
    let out = stdout(&output);
    println!("{out}");
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.contains("No findings in"), "{out}");
}

async fn init_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["init", "-q"][..],
        &["remote", "add", "origin", "git@github.com:octo/sample.git"][..],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    dir
}

#[tokio::test]
async fn init_writes_once_and_prints_the_publisher_fields() {
    let dir = init_repo().await;
    let args = ["init", "pypi", "--action-sha", SHA, "--package", "sample"];
    let output = trustpub(&args, &no_env(), dir.path()).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("Owner        octo"), "{out}");
    assert!(out.contains("Workflow     publish-pypi.yml"));
    assert!(out.contains(
        "https://pypi.org/manage/project/sample/settings/publishing/?provider=github&owner=octo&repository=sample&workflow_filename=publish-pypi.yml&environment=pypi"
    ));
    let path = dir.path().join(".github/workflows/publish-pypi.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("trustpub/trustpub@{SHA} # v")));

    let again = trustpub(&args, &no_env(), dir.path()).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists: pass --force"));
    std::fs::write(&path, "edited").unwrap();
    let mut forced = args.to_vec();
    forced.push("--force");
    let output = trustpub(&forced, &no_env(), dir.path()).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    let npm = trustpub(
        &[
            "init",
            "npm",
            "--action-sha",
            SHA,
            "--environment",
            "release",
        ],
        &no_env(),
        dir.path(),
    )
    .await;
    assert!(stdout(&npm).contains(
        "npm trust github <package> --repo octo/sample --file publish-npm.yml --env release --allow-publish"
    ));
}

#[tokio::test]
async fn init_needs_a_pinned_action() {
    let dir = init_repo().await;
    let output = trustpub(
        &["init", "pypi", "--action-sha", "v1"],
        &no_env(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("full 40-character commit SHA"));
}

/// Every workflow `init` writes passes `trustpub audit` and zizmor (offline) with no findings.
#[tokio::test]
async fn init_output_passes_trustpub_audit_and_zizmor() {
    let dir = init_repo().await;
    for registry in ["pypi", "npm", "crates-io", "rubygems", "nuget"] {
        let output = trustpub(
            &["init", registry, "--action-sha", SHA],
            &no_env(),
            dir.path(),
        )
        .await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{registry}: {}",
            stderr(&output)
        );
    }
    let output = trustpub(&["audit"], &no_env(), dir.path()).await;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("No findings in 5 workflow file(s)."));

    let Some(zizmor) = tools::require(tools::tools_bin().join("zizmor"), "zizmor") else {
        return;
    };
    for persona in ["regular", "pedantic"] {
        let output = std::process::Command::new(&zizmor)
            .args([
                "--offline",
                "--no-config",
                "--persona",
                persona,
                "--format",
                "json-v1",
            ])
            .arg(".github/workflows")
            .current_dir(dir.path())
            .output()
            .unwrap();
        let findings: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!("zizmor: {err}: {}", String::from_utf8_lossy(&output.stderr))
        });
        assert_eq!(
            findings.as_array().map(Vec::len),
            Some(0),
            "zizmor --persona {persona} found: {findings:#}"
        );
        assert_eq!(output.status.code(), Some(0));
    }
}

mod online {
    use super::*;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const CHECKOUT: &str = "de0fac2e4500dabe0009e67214ff5f5447ce83dd";

    #[tokio::test]
    async fn reports_the_patch_gap_and_advisories() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/actions/checkout/releases"))
            .and(header("authorization", "Bearer test-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
                {"tag_name": "v7.0.0-beta", "prerelease": true},
                {"tag_name": "v6.1.0"},
                {"tag_name": "v6.0.2"},
            ])))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/actions/checkout/compare/{CHECKOUT}...v6.1.0")))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "status": "ahead",
                "ahead_by": 3,
                "commits": [
                    {"sha": "1111111111111111111111111111111111111111", "commit": {"message": "Fix credential handling\n\nbody"}},
                    {"sha": "2222222222222222222222222222222222222222", "commit": {"message": "::error::injected\u{1b}[31m"}},
                    {"sha": "3333333333333333333333333333333333333333", "commit": {"message": "Release v6.1.0"}},
                ],
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/advisories"))
            .and(query_param("affects", "actions/checkout"))
            .and(query_param("ecosystem", "actions"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!([{
                    "ghsa_id": "GHSA-xxxx-yyyy-zzzz",
                    "summary": "checkout leaks the token\n::error::pwned",
                    "severity": "high",
                    "vulnerabilities": [{
                        "package": {"ecosystem": "actions", "name": "actions/checkout"},
                        "vulnerable_version_range": "< 6.1.0",
                        "first_patched_version": "6.1.0",
                    }],
                }])),
            )
            .mount(&server)
            .await;

        let mut env = BTreeMap::new();
        env.insert("GITHUB_TOKEN".to_owned(), "test-token".to_owned());
        let clean = fixture("clean.yml");
        let args = [
            "audit",
            "--online",
            "--github-api-url",
            &server.uri(),
            "--format",
            "json",
            &clean,
        ];
        let output = trustpub(&args, &env, &workspace()).await;
        assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
        let value: Value = serde_json::from_slice(&output.stdout).unwrap();
        let pins = value["pins"].as_array().unwrap();
        let checkout = pins
            .iter()
            .find(|p| p["action"] == "actions/checkout")
            .unwrap();
        assert_eq!(checkout["latest_release"], "v6.1.0");
        assert_eq!(checkout["commits_behind"], 3);
        assert_eq!(checkout["releases_behind"], 1);
        assert_eq!(checkout["advisories"][0]["affects_pin"], true);
        let rules: Vec<&str> = value["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(
            rules.contains(&"stale-pin") && rules.contains(&"vulnerable-action"),
            "{rules:?}"
        );

        // Human and annotation output: remote text cannot inject commands or escapes.
        let human = trustpub(
            &args[..4]
                .iter()
                .chain(&[&clean[..]])
                .copied()
                .collect::<Vec<_>>(),
            &env,
            &workspace(),
        )
        .await;
        let text = stdout(&human);
        assert!(text.contains("actions/checkout@de0fac2e4500 (v6.0.2): newest v6.1.0, 3 commit(s), 1 release(s) behind; 1 advisory(ies)"), "{text}");
        assert!(!text.contains('\u{1b}'));
        let mut github_args = args.to_vec();
        github_args[5] = "github";
        let annotations = stdout(&trustpub(&github_args, &env, &workspace()).await);
        for line in annotations.lines() {
            assert!(line.starts_with("::"), "{line}");
            assert!(!line[2..].contains("\n::"), "{line}");
        }
        assert!(annotations.contains("%0A::error::pwned"), "{annotations}");
    }

    #[tokio::test]
    async fn a_refusing_api_says_what_to_do() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(403)
                    .set_body_json(serde_json::json!({"message": "API rate limit exceeded"})),
            )
            .mount(&server)
            .await;
        let output = trustpub(
            &[
                "audit",
                "--online",
                "--github-api-url",
                &server.uri(),
                &fixture("clean.yml"),
            ],
            &no_env(),
            &workspace(),
        )
        .await;
        assert_eq!(output.status.code(), Some(1));
        let err = stderr(&output);
        assert!(
            err.contains("API rate limit exceeded") && err.contains("set GITHUB_TOKEN"),
            "{err}"
        );
    }
}
