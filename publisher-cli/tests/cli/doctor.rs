//! `trustpub doctor` against the testbed: each misconfiguration gets its specific diagnosis,
//! a correct one says all good (and the minted PyPI token is burned), and a captured token is
//! explained with no testbed at all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::process::Output;

use common::*;
use serde_json::Value;
use testbed::{
    GithubIdentity, NpmPublisher, PypiPublisher, ReusableWorkflow, RunnerEnvironment, Testbed,
};

/// The PyPI publisher matching the testbed's default identity.
fn publisher(testbed: &Testbed) -> PypiPublisher {
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    PypiPublisher::new(owner, repo, identity.repository_owner_id, "release.yml")
}

async fn doctor(testbed: &Testbed, registry: &str, extra: &[&str]) -> Output {
    doctor_with_env(testbed, registry, extra, &testbed.github_env()).await
}

async fn doctor_with_env(
    testbed: &Testbed,
    registry: &str,
    extra: &[&str],
    env: &BTreeMap<String, String>,
) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let url = match registry {
        "pypi" => vec![
            "--repository-url".to_owned(),
            testbed.pypi_upload_url().to_string(),
        ],
        _ => vec![
            "--registry".to_owned(),
            testbed.npm_registry_url().to_string(),
        ],
    };
    let mut args = vec!["doctor", registry];
    args.extend(url.iter().map(String::as_str));
    args.extend(extra);
    let output = trustpub(&args, env, dir.path()).await;
    // Whatever happened, no token appears anywhere but in `::add-mask::` lines.
    let request_token = testbed.github_env()["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].clone();
    assert_no_secret_leaks(&output, &[&request_token]);
    output
}

/// The report without workflow commands, with ports and times made stable.
fn normalize(output: &Output, testbed: Option<&Testbed>) -> String {
    let mut text = stdout(output)
        .lines()
        .filter(|line| !line.starts_with("::"))
        .map(|line| {
            let claim = line.trim_start();
            let relative = ["iat ", "nbf ", "exp "]
                .iter()
                .any(|k| claim.starts_with(k))
                || claim.starts_with("it expired ");
            if relative {
                replace_digits(line, 1)
            } else {
                replace_digits(line, 10)
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(testbed) = testbed {
        for (url, name) in [
            (testbed.pypi_url(), "PYPI"),
            (testbed.npm_registry_url(), "NPM"),
        ] {
            text = text.replace(&format!("127.0.0.1:{}", url.port().unwrap()), name);
        }
    }
    text
}

/// Replaces every run of at least `min` digits with `N`.
fn replace_digits(line: &str, min: usize) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in line.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            out.push_str(if run.len() >= min { "N" } else { &run });
            run.clear();
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// The `--format json` document (after any workflow commands).
fn json(output: &Output) -> Value {
    let out = stdout(output);
    let start = out.find("\n{").map_or(0, |i| i + 1);
    serde_json::from_str(&out[start..]).unwrap_or_else(|err| panic!("{err}: {out}"))
}

fn codes(document: &Value) -> Vec<String> {
    document["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs the doctor with `--format json` and checks the document's frame: schema, exit code,
/// conclusion and finding codes. Returns the document for further checks.
async fn diagnose_json(
    testbed: &Testbed,
    registry: &str,
    extra: &[&str],
    env: &BTreeMap<String, String>,
    (exit_code, conclusion): (i32, &str),
    expected_codes: &[&str],
) -> Value {
    let mut args = extra.to_vec();
    args.extend(["--format", "json"]);
    let output = doctor_with_env(testbed, registry, &args, env).await;
    assert_eq!(output.status.code(), Some(exit_code), "{}", stderr(&output));
    let document = json(&output);
    assert_eq!(document["schema"], "trustpub.doctor/v1");
    assert_eq!(document["registry"], registry);
    assert_eq!(document["mode"], "live");
    assert_eq!(document["exit_code"], exit_code);
    assert_eq!(document["ok"], exit_code == 0);
    assert_eq!(document["conclusion"], conclusion);
    assert_eq!(codes(&document), expected_codes);
    document
}

#[tokio::test]
async fn a_correct_pypi_configuration_is_all_good_and_the_token_is_burned() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("sampleproject", publisher(&testbed));
    let output = doctor(
        &testbed,
        "pypi",
        &[
            "--expect-repository",
            "octo-org/octo-repo",
            "--expect-workflow",
            "release.yml",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: PyPI (PYPI) (live)
      target    https://PYPI/legacy/
      audience  pypi

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   pypi
      sub                   repo:octo-org/octo-repo:ref:refs/tags/v1.0.0
      repository            octo-org/octo-repo
      repository_owner      octo-org
      repository_owner_id   5050505
      workflow_ref          octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      ref                   refs/tags/v1.0.0
      environment           MISSING
      event_name            push
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What PyPI matches on
      ok        repository                    octo-org/octo-repo  (expected `octo-org/octo-repo`, case-insensitive; `repository`)
      -         owner id                      5050505  (not compared: no --expect-*; `repository_owner_id`)
      ok        workflow filename             release.yml  (expected `release.yml`, exact; `job_workflow_ref`)
      -         environment                   (none)  (not compared: no --expect-*; `environment`)
      ok        event                         push  (must be anything but pull_request_target; `event_name`)

    Trusted-publisher form (PYPI: your project → Settings → Publishing → Add a new publisher → GitHub (a new project: Your account → Publishing → pending publisher))
      PyPI Project Name     (empty)  (only on the pending-publisher form, for a project that does not exist yet)
      Owner                 octo-org
      Repository name       octo-repo
      Workflow name         release.yml  (from `job_workflow_ref`: for a reusable workflow, the called one)
      Environment name      (empty)  (leave empty: this job has no environment (or give it one and enter that here))

    Exchange
      succeeded: PyPI minted an upload token for this workflow; the doctor burned it at once

    Findings
      note[no-environment]: The job has no environment
        a PyPI publisher that names an environment never matches this job, and without one any job of this workflow can publish
        fix: Give the publishing job `environment: pypi` (with required reviewers under Settings → Environments) and name it in the publisher

    Result: all good: the exchange succeeded, a publish from this job would work (exit 0)
    "#);
    let records = testbed.records();
    assert_eq!(records.mints.len(), 1);
    assert!(records.mints[0].succeeded());
    assert_eq!(
        records.burns.len(),
        records.mints.len(),
        "every minted token is burned"
    );
    assert!(records.burns[0].revoked_live_token);
    assert!(records.uploads.is_empty());
    let masked: Vec<String> = stdout(&output)
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        masked.len(),
        2,
        "the ID token and the minted token are masked"
    );
    assert!(masked[1].starts_with("pypi-"));

    let document = diagnose_json(
        &testbed,
        "pypi",
        &["--expect-workflow", "release.yml"],
        &testbed.github_env(),
        (0, "ready"),
        &["no-environment"],
    )
    .await;
    assert_eq!(document["exchange"]["status"], "succeeded");
    assert_eq!(document["provider"], "GitHub Actions");
    assert_eq!(document["claims"]["repository_owner_id"], "5050505");
    let records = testbed.records();
    assert_eq!((records.mints.len(), records.burns.len()), (2, 2));
}

#[tokio::test]
async fn wrong_environment() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher(
        "sampleproject",
        publisher(&testbed).with_environment("pypi"),
    );
    testbed.set_identity(GithubIdentity {
        environment: Some("release".into()),
        ..testbed.identity()
    });
    let summary = tempfile::NamedTempFile::new().unwrap();
    let mut env = testbed.github_env();
    env.insert(
        "GITHUB_STEP_SUMMARY".into(),
        summary.path().display().to_string(),
    );
    let output = doctor_with_env(&testbed, "pypi", &["--expect-environment", "pypi"], &env).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: PyPI (PYPI) (live)
      target    https://PYPI/legacy/
      audience  pypi

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   pypi
      sub                   repo:octo-org/octo-repo:environment:release
      repository            octo-org/octo-repo
      repository_owner      octo-org
      repository_owner_id   5050505
      workflow_ref          octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      ref                   refs/tags/v1.0.0
      environment           release
      event_name            push
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What PyPI matches on
      -         repository                    octo-org/octo-repo  (not compared: no --expect-*; `repository`)
      -         owner id                      5050505  (not compared: no --expect-*; `repository_owner_id`)
      -         workflow filename             release.yml  (not compared: no --expect-*; `job_workflow_ref`)
      MISMATCH  environment                   release  (expected `pypi`, case-insensitive; `environment`)
      ok        event                         push  (must be anything but pull_request_target; `event_name`)

    Trusted-publisher form (PYPI: your project → Settings → Publishing → Add a new publisher → GitHub (a new project: Your account → Publishing → pending publisher))
      PyPI Project Name     (empty)  (only on the pending-publisher form, for a project that does not exist yet)
      Owner                 octo-org
      Repository name       octo-repo
      Workflow name         release.yml  (from `job_workflow_ref`: for a reusable workflow, the called one)
      Environment name      release  (optional: with it, only jobs in this environment can publish; compared case-insensitively)

    Exchange
      refused (HTTP 422):
        * `invalid-publisher`: valid token, but no corresponding publisher (Publisher with matching claims was not found)
      (what to change is under Findings)

    Findings
      error[environment-mismatch]: The job runs in another environment
        the job's environment is `release`, the publisher names `pypi` (compared case-insensitively)
        fix: Set `environment: pypi` on the publishing job, or change the publisher's environment to `release`
      error[exchange-refused]: PyPI refused the token: `invalid-publisher`
        `invalid-publisher`: valid token, but no corresponding publisher (Publisher with matching claims was not found)
        fix: no trusted publisher on PYPI matches owner `octo-org`, repository `octo-repo` (owner id 5050505), workflow file `release.yml` and environment `release` (a publisher with no environment accepts any; one with an environment must name `release`, case-insensitively). Compare each with the publisher's fields: a renamed or moved workflow file, a renamed repository or a typo are the usual causes

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    // On GitHub Actions: annotations and the step summary.
    assert!(
        stdout(&output).contains(
            "::error title=trustpub doctor%3A The job runs in another environment::the job's environment is `release`"
        ),
        "{}",
        stdout(&output)
    );
    let markdown = std::fs::read_to_string(summary.path()).unwrap();
    assert!(
        markdown.starts_with("## trustpub doctor: PyPI"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| error | `environment-mismatch` |"),
        "{markdown}"
    );

    let output = doctor(
        &testbed,
        "pypi",
        &["--expect-environment", "pypi", "--format", "json"],
    )
    .await;
    let document = json(&output);
    assert_eq!(document["schema"], "trustpub.doctor/v1");
    assert_eq!(document["exit_code"], 3);
    assert_eq!(document["conclusion"], "no-credential");
    assert_eq!(
        codes(&document),
        ["environment-mismatch", "exchange-refused"]
    );
    assert_eq!(document["exchange"]["status"], "refused");
    assert_eq!(
        document["exchange"]["errors"][0]["code"],
        "invalid-publisher"
    );
    assert_eq!(document["claims"]["environment"], "release");
    let environment = document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "environment")
        .unwrap();
    assert_eq!(environment["verdict"], "mismatch");
    assert_eq!(environment["expected"], "pypi");
}

#[tokio::test]
async fn renamed_workflow() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("sampleproject", publisher(&testbed));
    testbed.set_identity(GithubIdentity {
        workflow_file: "publish.yml".into(),
        ..testbed.identity()
    });
    let output = doctor(&testbed, "pypi", &["--expect-workflow", "release.yml"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: PyPI (PYPI) (live)
      target    https://PYPI/legacy/
      audience  pypi

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   pypi
      sub                   repo:octo-org/octo-repo:ref:refs/tags/v1.0.0
      repository            octo-org/octo-repo
      repository_owner      octo-org
      repository_owner_id   5050505
      workflow_ref          octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0
      ref                   refs/tags/v1.0.0
      environment           MISSING
      event_name            push
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What PyPI matches on
      -         repository                    octo-org/octo-repo  (not compared: no --expect-*; `repository`)
      -         owner id                      5050505  (not compared: no --expect-*; `repository_owner_id`)
      MISMATCH  workflow filename             publish.yml  (expected `release.yml`, exact; `job_workflow_ref`)
      -         environment                   (none)  (not compared: no --expect-*; `environment`)
      ok        event                         push  (must be anything but pull_request_target; `event_name`)

    Trusted-publisher form (PYPI: your project → Settings → Publishing → Add a new publisher → GitHub (a new project: Your account → Publishing → pending publisher))
      PyPI Project Name     (empty)  (only on the pending-publisher form, for a project that does not exist yet)
      Owner                 octo-org
      Repository name       octo-repo
      Workflow name         publish.yml  (from `job_workflow_ref`: for a reusable workflow, the called one)
      Environment name      (empty)  (leave empty: this job has no environment (or give it one and enter that here))

    Exchange
      refused (HTTP 422):
        * `invalid-publisher`: valid token, but no corresponding publisher (Publisher with matching claims was not found)
      (what to change is under Findings)

    Findings
      error[workflow-mismatch]: The workflow file is not the registered one
        PyPI matches the file in `job_workflow_ref` (octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0): `publish.yml`; the publisher names `release.yml`
        fix: Rename the workflow file back to `release.yml`, or change the publisher's workflow name to `publish.yml` (renaming a workflow file breaks its publisher)
      error[exchange-refused]: PyPI refused the token: `invalid-publisher`
        `invalid-publisher`: valid token, but no corresponding publisher (Publisher with matching claims was not found)
        fix: no trusted publisher on PYPI matches owner `octo-org`, repository `octo-repo` (owner id 5050505), workflow file `publish.yml` and no environment (this job has none, so a publisher that names an environment never matches: add `environment: <name>` to the job, or clear the publisher's environment). Compare each with the publisher's fields: a renamed or moved workflow file, a renamed repository or a typo are the usual causes
      note[no-environment]: The job has no environment
        a PyPI publisher that names an environment never matches this job, and without one any job of this workflow can publish
        fix: Give the publishing job `environment: pypi` (with required reviewers under Settings → Environments) and name it in the publisher

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    let document = json(
        &doctor(
            &testbed,
            "pypi",
            &["--expect-workflow", "release.yml", "--format", "json"],
        )
        .await,
    );
    assert_eq!(
        codes(&document),
        ["workflow-mismatch", "exchange-refused", "no-environment"]
    );
    let workflow = document["form"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == "Workflow name")
        .unwrap();
    assert_eq!(workflow["value"], "publish.yml");
}

#[tokio::test]
async fn cross_repository_reusable_workflow() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("sampleproject", publisher(&testbed));
    testbed.set_identity(GithubIdentity {
        reusable_workflow: Some(ReusableWorkflow {
            repository: "octo-org/shared-workflows".into(),
            workflow_file: "pypi-publish.yml".into(),
            git_ref: "refs/heads/main".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
        }),
        ..testbed.identity()
    });
    let output = doctor(&testbed, "pypi", &[]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: PyPI (PYPI) (live)
      target    https://PYPI/legacy/
      audience  pypi

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   pypi
      sub                   repo:octo-org/octo-repo:ref:refs/tags/v1.0.0
      repository            octo-org/octo-repo
      repository_owner      octo-org
      repository_owner_id   5050505
      workflow_ref          octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/shared-workflows/.github/workflows/pypi-publish.yml@refs/heads/main
      ref                   refs/tags/v1.0.0
      environment           MISSING
      event_name            push
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What PyPI matches on
      -         repository                    octo-org/octo-repo  (not compared: no --expect-*; `repository`)
      -         owner id                      5050505  (not compared: no --expect-*; `repository_owner_id`)
      -         workflow filename             pypi-publish.yml  (not compared: no --expect-*; `job_workflow_ref`)
      -         environment                   (none)  (not compared: no --expect-*; `environment`)
      ok        event                         push  (must be anything but pull_request_target; `event_name`)
      MISMATCH  reusable workflow repository  octo-org/shared-workflows  (must be octo-org/octo-repo (same repository); `job_workflow_ref`)

    Trusted-publisher form (PYPI: your project → Settings → Publishing → Add a new publisher → GitHub (a new project: Your account → Publishing → pending publisher))
      PyPI Project Name     (empty)  (only on the pending-publisher form, for a project that does not exist yet)
      Owner                 octo-org
      Repository name       octo-repo
      Workflow name         pypi-publish.yml  (from `job_workflow_ref`: for a reusable workflow, the called one)
      Environment name      (empty)  (leave empty: this job has no environment (or give it one and enter that here))

    Exchange
      refused (HTTP 422):
        * `invalid-publisher`: valid token, but no corresponding publisher (Publisher with matching claims was not found)
      (what to change is under Findings)

    Findings
      error[reusable-workflow-cross-repository]: The job runs a reusable workflow from another repository
        this job runs a reusable workflow from another repository (octo-org/shared-workflows): PyPI matches the called workflow, and a cross-repository reusable workflow can never match a trusted publisher. Run the publish step in a workflow of octo-org/octo-repo itself
        fix: Publish from a workflow of `octo-org/octo-repo` itself: the shared workflow may build the distributions, but the job that runs trustpub must be defined in this repository
      error[exchange-refused]: PyPI refused the token: `invalid-publisher`
        `invalid-publisher`: valid token, but no corresponding publisher (Publisher with matching claims was not found)
        fix:
          - this job runs a reusable workflow from another repository (octo-org/shared-workflows): PyPI matches the called workflow, and a cross-repository reusable workflow can never match a trusted publisher. Run the publish step in a workflow of octo-org/octo-repo itself
          - no trusted publisher on PYPI matches owner `octo-org`, repository `octo-repo` (owner id 5050505), workflow file `pypi-publish.yml` and no environment (this job has none, so a publisher that names an environment never matches: add `environment: <name>` to the job, or clear the publisher's environment). Compare each with the publisher's fields: a renamed or moved workflow file, a renamed repository or a typo are the usual causes
      note[no-environment]: The job has no environment
        a PyPI publisher that names an environment never matches this job, and without one any job of this workflow can publish
        fix: Give the publishing job `environment: pypi` (with required reviewers under Settings → Environments) and name it in the publisher

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    let document = json(&doctor(&testbed, "pypi", &["--format", "json"]).await);
    assert_eq!(
        codes(&document),
        [
            "reusable-workflow-cross-repository",
            "exchange-refused",
            "no-environment"
        ]
    );
}

#[tokio::test]
async fn pull_request_target_is_never_minted_in() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("sampleproject", publisher(&testbed));
    testbed.set_identity(GithubIdentity {
        event_name: "pull_request_target".into(),
        ..testbed.identity()
    });
    let output = doctor(&testbed, "pypi", &[]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: PyPI (PYPI) (live)
      target    https://PYPI/legacy/
      audience  pypi

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   pypi
      sub                   repo:octo-org/octo-repo:ref:refs/tags/v1.0.0
      repository            octo-org/octo-repo
      repository_owner      octo-org
      repository_owner_id   5050505
      workflow_ref          octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      ref                   refs/tags/v1.0.0
      environment           MISSING
      event_name            pull_request_target
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What PyPI matches on
      -         repository                    octo-org/octo-repo  (not compared: no --expect-*; `repository`)
      -         owner id                      5050505  (not compared: no --expect-*; `repository_owner_id`)
      -         workflow filename             release.yml  (not compared: no --expect-*; `job_workflow_ref`)
      -         environment                   (none)  (not compared: no --expect-*; `environment`)
      MISMATCH  event                         pull_request_target  (must be anything but pull_request_target; `event_name`)

    Trusted-publisher form (PYPI: your project → Settings → Publishing → Add a new publisher → GitHub (a new project: Your account → Publishing → pending publisher))
      PyPI Project Name     (empty)  (only on the pending-publisher form, for a project that does not exist yet)
      Owner                 octo-org
      Repository name       octo-repo
      Workflow name         release.yml  (from `job_workflow_ref`: for a reusable workflow, the called one)
      Environment name      (empty)  (leave empty: this job has no environment (or give it one and enter that here))

    Exchange
      not attempted: trustpub does not mint publish credentials in a `pull_request_target` run, so the doctor did not either

    Findings
      error[event-pull-request-target]: The run was triggered by `pull_request_target`
        refusing to mint publish credentials in a `pull_request_target` run (from the token's signed `event_name` claim): such runs have the base repository's permissions while handling code from the pull request, so anyone who can open a pull request could reach a publish token. PyPI refuses these tokens too. Publish from a tag push, a published release or workflow_dispatch
        fix: Publish from a workflow triggered by a tag push (`on: push: tags: ['v*']`), a published release (`on: release: types: [published]`) or `workflow_dispatch`
      note[no-environment]: The job has no environment
        a PyPI publisher that names an environment never matches this job, and without one any job of this workflow can publish
        fix: Give the publishing job `environment: pypi` (with required reviewers under Settings → Environments) and name it in the publisher

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    let records = testbed.records();
    assert_eq!(records.tokens_issued.len(), 1, "the claims are shown");
    assert!(records.mints.is_empty(), "but nothing is minted");
    let document = diagnose_json(
        &testbed,
        "pypi",
        &[],
        &testbed.github_env(),
        (3, "no-credential"),
        &["event-pull-request-target", "no-environment"],
    )
    .await;
    assert_eq!(document["exchange"]["status"], "not-attempted");
    assert_eq!(document["claims"]["event_name"], "pull_request_target");
    assert!(testbed.records().mints.is_empty());
}

#[tokio::test]
async fn fork_pull_request() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"pull_request": {"head": {"repo": {"fork": true, "full_name": "mallory/octo-repo"}}}}"#,
    )
    .unwrap();
    let mut env = testbed.github_env();
    env.remove("ACTIONS_ID_TOKEN_REQUEST_URL");
    env.remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    env.insert("GITHUB_EVENT_NAME".into(), "pull_request".into());
    env.insert("GITHUB_EVENT_PATH".into(), event.display().to_string());
    let output = doctor_with_env(&testbed, "pypi", &[], &env).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: PyPI (PYPI) (live)
      target    https://PYPI/legacy/
      audience  pypi

    Exchange
      not attempted: no ID token could be had

    Findings
      error[fork-pull-request]: A pull request from a fork never gets an OIDC token
        this run was triggered by a pull request from a fork (mallory/octo-repo), and GitHub never gives OIDC tokens to workflows run for forks, even with `id-token: write`. Publish from an event a fork cannot trigger: a tag push, a published release, or a manual workflow_dispatch
        fix: Publish from a tag push, a published release or workflow_dispatch: events a fork cannot trigger

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    assert!(testbed.records().tokens_issued.is_empty());
    let document = diagnose_json(
        &testbed,
        "pypi",
        &[],
        &env,
        (3, "no-credential"),
        &["fork-pull-request"],
    )
    .await;
    assert_eq!(document["provider"], Value::Null);
    assert_eq!(document["form"], Value::Null);
}

#[tokio::test]
async fn missing_id_token_permission() {
    let testbed = testbed().await;
    let mut env = testbed.github_env();
    env.remove("ACTIONS_ID_TOKEN_REQUEST_URL");
    env.remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let output = doctor_with_env(&testbed, "pypi", &[], &env).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: PyPI (PYPI) (live)
      target    https://PYPI/legacy/
      audience  pypi

    Exchange
      not attempted: no ID token could be had

    Findings
      error[missing-id-token-permission]: The job lacks the `id-token: write` permission
        GitHub Actions did not give this job an OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are unset, which means the job lacks the `id-token: write` permission. Add it to the job that publishes (only that job):

            jobs:
              publish:
                permissions:
                  id-token: write   # trusted publishing
                  contents: read    # actions/checkout, private repositories

        A workflow-level `permissions:` block is overridden by a job-level one that omits `id-token`.
        fix: Add `permissions: { id-token: write, contents: read }` to the publishing job (a job-level `permissions:` replaces the workflow-level one, so list `id-token: write` there)

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    let output = doctor_with_env(
        &testbed,
        "npm",
        &["--package", "pkg", "--format", "json"],
        &env,
    )
    .await;
    let document = json(&output);
    assert_eq!(
        codes(&document),
        ["missing-id-token-permission", "package-not-visible"]
    );
    assert_eq!(document["exchange"]["status"], "not-attempted");
    assert_eq!(document["claims"], serde_json::json!({}));
}

#[tokio::test]
async fn github_enterprise_server_issuer() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("sampleproject", publisher(&testbed));
    testbed.set_identity(GithubIdentity {
        issuer: "https://ghes.example.com/_services/token".into(),
        ..testbed.identity()
    });
    let output = doctor(&testbed, "pypi", &[]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: PyPI (PYPI) (live)
      target    https://PYPI/legacy/
      audience  pypi

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://ghes.example.com/_services/token
      aud                   pypi
      sub                   repo:octo-org/octo-repo:ref:refs/tags/v1.0.0
      repository            octo-org/octo-repo
      repository_owner      octo-org
      repository_owner_id   5050505
      workflow_ref          octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      ref                   refs/tags/v1.0.0
      environment           MISSING
      event_name            push
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What PyPI matches on
      -         repository                    octo-org/octo-repo  (not compared: no --expect-*; `repository`)
      -         owner id                      5050505  (not compared: no --expect-*; `repository_owner_id`)
      -         workflow filename             release.yml  (not compared: no --expect-*; `job_workflow_ref`)
      -         environment                   (none)  (not compared: no --expect-*; `environment`)
      ok        event                         push  (must be anything but pull_request_target; `event_name`)

    Trusted-publisher form (PYPI: your project → Settings → Publishing → Add a new publisher → GitHub (a new project: Your account → Publishing → pending publisher))
      PyPI Project Name     (empty)  (only on the pending-publisher form, for a project that does not exist yet)
      Owner                 octo-org
      Repository name       octo-repo
      Workflow name         release.yml  (from `job_workflow_ref`: for a reusable workflow, the called one)
      Environment name      (empty)  (leave empty: this job has no environment (or give it one and enter that here))

    Exchange
      refused (HTTP 422):
        * `invalid-payload`: unknown trusted publishing issuer
      (what to change is under Findings)

    Findings
      error[issuer-github-enterprise]: The token comes from GitHub Enterprise Server
        its issuer is `https://ghes.example.com/_services/token`, but PyPI accepts GitHub tokens only from github.com (issuer `https://token.actions.githubusercontent.com`): no trusted publisher can match a GitHub Enterprise Server token
        fix: Publish from a repository on github.com, or use an API token for PyPI from this server
      error[exchange-refused]: PyPI refused the token: `invalid-payload`
        `invalid-payload`: unknown trusted publishing issuer
        fix: the token comes from GitHub Enterprise Server (issuer `https://ghes.example.com/_services/token`); PyPI accepts GitHub tokens only from github.com (`https://token.actions.githubusercontent.com`): publish from a github.com repository or use an API token
      note[no-environment]: The job has no environment
        a PyPI publisher that names an environment never matches this job, and without one any job of this workflow can publish
        fix: Give the publishing job `environment: pypi` (with required reviewers under Settings → Environments) and name it in the publisher

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    let records = testbed.records();
    assert_eq!(
        records.mints[0].errors[0].1,
        "unknown trusted publishing issuer"
    );
    let document = diagnose_json(
        &testbed,
        "pypi",
        &[],
        &testbed.github_env(),
        (3, "no-credential"),
        &[
            "issuer-github-enterprise",
            "exchange-refused",
            "no-environment",
        ],
    )
    .await;
    assert_eq!(document["exchange"]["errors"][0]["code"], "invalid-payload");
    assert_eq!(
        document["claims"]["iss"],
        "https://ghes.example.com/_services/token"
    );
}

#[tokio::test]
async fn clock_skew() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("sampleproject", publisher(&testbed));
    testbed.set_identity(GithubIdentity {
        clock_offset_secs: 900,
        ..testbed.identity()
    });
    let output = doctor(&testbed, "pypi", &["--format", "json"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let document = json(&output);
    assert_eq!(
        codes(&document),
        ["clock-skew", "exchange-refused", "no-environment"]
    );
    let skew = &document["findings"][0];
    let title = skew["title"].as_str().unwrap();
    assert!(
        [
            "The token is valid only 899 s from now",
            "The token is valid only 900 s from now"
        ]
        .contains(&title),
        "{title}"
    );
    assert!(
        skew["fix"]
            .as_str()
            .unwrap()
            .contains("Synchronise the runner's clock")
    );
    assert_eq!(document["exchange"]["errors"][0]["code"], "invalid-token");
    let fixes = document["exchange"]["fixes"].as_array().unwrap();
    assert!(
        fixes[0]
            .as_str()
            .unwrap()
            .contains("the runner's clock is off"),
        "{fixes:?}"
    );
}

#[tokio::test]
async fn npm_self_hosted_runner() {
    let testbed = testbed().await;
    testbed.add_npm_publisher(
        "pkg",
        NpmPublisher::github("octo-org/octo-repo", "release.yml"),
    );
    testbed.set_identity(GithubIdentity {
        runner_environment: RunnerEnvironment::SelfHosted,
        ..testbed.identity()
    });
    let output = doctor(&testbed, "npm", &["--package", "pkg"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: npm (NPM) (live)
      target    https://NPM/
      audience  npm:127.0.0.1

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   npm:127.0.0.1
      repository            octo-org/octo-repo
      workflow_ref          octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      environment           MISSING
      runner_environment    self-hosted
      repository_visibility public
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What npm matches on
      -         repository                    octo-org/octo-repo  (not compared: no --expect-*; `repository`)
      -         workflow filename             release.yml  (not compared: no --expect-*; `workflow_ref`)
      -         environment                   (none)  (not compared: no --expect-*; `environment`)
      MISMATCH  runner                        self-hosted  (must be github-hosted; `runner_environment`)
      ok        audience                      npm:127.0.0.1  (must be npm:127.0.0.1; `aud`)

    Trusted-publisher form (NPM: package `pkg` → Settings → Trusted Publisher → GitHub Actions)
      Organization or user  octo-org  (case-sensitive)
      Repository            octo-repo  (case-sensitive)
      Workflow filename     release.yml  (the calling workflow, from `workflow_ref`; file name only)
      Environment name      (empty)  (leave empty: this job has no environment)
      or:   npm trust github pkg --repo octo-org/octo-repo --file release.yml --allow-publish

    Exchange
      refused (HTTP 401):
        * OIDC token exchange error - unauthorized
      (what to change is under Findings)

    Findings
      error[runner-self-hosted]: The job runs on a self-hosted runner
        `runner_environment` is `self-hosted`: npm trusted publishing (and provenance) works only from GitHub-hosted runners
        fix: Run the publishing job on a GitHub-hosted runner (`runs-on: ubuntu-latest`); build on your own runner if you must and pass the artifacts with actions/upload-artifact
      error[exchange-refused]: npm refused the token (401)
        OIDC token exchange error - unauthorized
        fix:
          - this job runs on a self-hosted runner: npm trusted publishing (and provenance) requires a GitHub-hosted runner
          - npm matches repository `octo-org/octo-repo`, the calling workflow's file `release.yml` (from workflow_ref, case-sensitive, `.yml` vs `.yaml` matters) and the environment `(none)` when the publisher names one

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    assert_eq!(testbed.records().npm_exchanges[0].status, 401);
    let document = diagnose_json(
        &testbed,
        "npm",
        &["--package", "pkg"],
        &testbed.github_env(),
        (3, "no-credential"),
        &["runner-self-hosted", "exchange-refused"],
    )
    .await;
    let runner = document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "runner")
        .unwrap();
    assert_eq!(runner["verdict"], "mismatch");
    assert_eq!(runner["value"], "self-hosted");
    assert_eq!(document["exchange"]["http_status"], 401);
}

#[tokio::test]
async fn npm_package_that_does_not_exist() {
    let testbed = testbed().await;
    let output = doctor(&testbed, "npm", &["--package", "@octo/never-published"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: npm (NPM) (live)
      target    https://NPM/
      audience  npm:127.0.0.1

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   npm:127.0.0.1
      repository            octo-org/octo-repo
      workflow_ref          octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      environment           MISSING
      runner_environment    github-hosted
      repository_visibility public
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What npm matches on
      -         repository                    octo-org/octo-repo  (not compared: no --expect-*; `repository`)
      -         workflow filename             release.yml  (not compared: no --expect-*; `workflow_ref`)
      -         environment                   (none)  (not compared: no --expect-*; `environment`)
      ok        runner                        github-hosted  (must be github-hosted; `runner_environment`)
      ok        audience                      npm:127.0.0.1  (must be npm:127.0.0.1; `aud`)

    Trusted-publisher form (NPM: package `@octo/never-published` → Settings → Trusted Publisher → GitHub Actions)
      Organization or user  octo-org  (case-sensitive)
      Repository            octo-repo  (case-sensitive)
      Workflow filename     release.yml  (the calling workflow, from `workflow_ref`; file name only)
      Environment name      (empty)  (leave empty: this job has no environment)
      or:   npm trust github @octo/never-published --repo octo-org/octo-repo --file release.yml --allow-publish

    Exchange
      refused (HTTP 404):
        * OIDC token exchange error - package not found
      (what to change is under Findings)

    Findings
      error[exchange-refused]: npm refused the token (404)
        OIDC token exchange error - package not found
        fix:
          - npm answers `package not found` both when @octo/never-published was never published and when it has no matching trusted publisher: a trusted publisher can only be added to an existing package (publish the first version with a token, or `npm trust`), then add one under the package's Settings → Trusted publishing
          - npm matches repository `octo-org/octo-repo`, the calling workflow's file `release.yml` (from workflow_ref, case-sensitive, `.yml` vs `.yaml` matters) and the environment `(none)` when the publisher names one
      error[package-not-found]: @octo/never-published does not exist on NPM
        npm answers the exchange with `package not found`, and the registry does not know the package: a trusted publisher can only be added to a package that already exists
        fix: Publish the first version of @octo/never-published with a token (`trustpub npm publish --token …` or `npm publish`), add the trusted publisher in its settings, then delete the token
      warning[package-not-visible]: @octo/never-published is unknown to NPM
        neither its packument nor its visibility route answers: it was never published, or it is private. npm only lets a trusted publisher be added to an existing package

    Result: a publish would fail: no credential could be obtained (see the errors above) (exit 3)
    "#);
    let output = doctor(
        &testbed,
        "npm",
        &["--package", "@octo/never-published", "--format", "json"],
    )
    .await;
    let document = json(&output);
    assert_eq!(
        codes(&document),
        [
            "exchange-refused",
            "package-not-found",
            "package-not-visible"
        ]
    );
    assert_eq!(document["exchange"]["http_status"], 404);
}

#[tokio::test]
async fn a_correct_npm_configuration_is_all_good() {
    let testbed = testbed().await;
    testbed.add_npm_publisher(
        "@octo/pkg",
        NpmPublisher::github("octo-org/octo-repo", "release.yml"),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"name": "@octo/pkg", "version": "1.0.0"}"#,
    )
    .unwrap();
    let output = trustpub(
        &[
            "doctor",
            "npm",
            "--registry",
            testbed.npm_registry_url().as_str(),
            "--expect-repository",
            "octo-org/octo-repo",
            "--expect-workflow",
            "release.yml",
        ],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("Diagnosing package `@octo/pkg` (from package.json)"));
    insta::assert_snapshot!(normalize(&output, Some(&testbed)), @r#"
    trustpub doctor: npm (NPM) (live)
      target    https://NPM/
      audience  npm:127.0.0.1

    ID token claims (from GitHub Actions; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   npm:127.0.0.1
      repository            octo-org/octo-repo
      workflow_ref          octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
      environment           MISSING
      runner_environment    github-hosted
      repository_visibility public
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (in N s)

    What npm matches on
      ok        repository                    octo-org/octo-repo  (expected `octo-org/octo-repo`, exact; `repository`)
      ok        workflow filename             release.yml  (expected `release.yml`, exact; `workflow_ref`)
      -         environment                   (none)  (not compared: no --expect-*; `environment`)
      ok        runner                        github-hosted  (must be github-hosted; `runner_environment`)
      ok        audience                      npm:127.0.0.1  (must be npm:127.0.0.1; `aud`)

    Trusted-publisher form (NPM: package `@octo/pkg` → Settings → Trusted Publisher → GitHub Actions)
      Organization or user  octo-org  (case-sensitive)
      Repository            octo-repo  (case-sensitive)
      Workflow filename     release.yml  (the calling workflow, from `workflow_ref`; file name only)
      Environment name      (empty)  (leave empty: this job has no environment)
      or:   npm trust github @octo/pkg --repo octo-org/octo-repo --file release.yml --allow-publish

    Exchange
      succeeded: npm issued a publish token for @octo/pkg; the doctor dropped it unused (npm has no revocation for it; it expires by itself)

    Findings
      none

    Result: all good: the exchange succeeded, a publish from this job would work (exit 0)
    "#);
    let records = testbed.records();
    assert_eq!(records.npm_exchanges.len(), 1);
    assert_eq!(records.npm_exchanges[0].status, 201);
    assert!(records.npm_publishes.is_empty());
    let document = diagnose_json(
        &testbed,
        "npm",
        &["--package", "@octo/pkg"],
        &testbed.github_env(),
        (0, "ready"),
        &[],
    )
    .await;
    assert_eq!(document["exchange"]["status"], "succeeded");
    assert_eq!(
        document["form"]["command"],
        "npm trust github @octo/pkg --repo octo-org/octo-repo --file release.yml --allow-publish"
    );
}

/// A JWT-shaped token with `claims` (unsigned: the doctor never checks signatures offline).
fn unsigned_jwt(claims: &Value) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let encode = |bytes: &[u8]| {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        encode(claims.to_string().as_bytes())
    )
}

fn captured_claims() -> Value {
    serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "pypi",
        "sub": "repo:octo-org/octo-repo:environment:pypi",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "repository_owner_id": "5050505",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0",
        "ref": "refs/tags/v1.0.0",
        "sha": "8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1",
        "environment": "pypi",
        "event_name": "push",
        "runner_environment": "github-hosted",
        "jti": "captured-1",
        "iat": 1_700_000_000,
        "nbf": 1_699_999_995,
        "exp": 1_700_000_300
    })
}

#[tokio::test]
async fn a_captured_token_is_explained_offline() {
    // No testbed, no CI variables, and a proxy that refuses everything: any request would fail.
    let dir = tempfile::tempdir().unwrap();
    let mut env = BTreeMap::new();
    for proxy in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"] {
        env.insert(proxy.to_owned(), "http://127.0.0.1:9".to_owned());
    }
    let jwt = unsigned_jwt(&captured_claims());
    let token_file = dir.path().join("token.jwt");
    std::fs::write(&token_file, format!("{jwt}\n")).unwrap();
    let output = trustpub(
        &[
            "doctor",
            "pypi",
            "--token-file",
            token_file.to_str().unwrap(),
            "--expect-workflow",
            "release.yml",
            "--project",
            "sampleproject",
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    assert_no_secret_leaks(&output, &[&jwt[jwt.len() - 20..]]);
    insta::assert_snapshot!(normalize(&output, None), @r#"
    trustpub doctor: PyPI (upload.pypi.org) (offline, no network)
      target    https://upload.pypi.org/legacy/
      audience  pypi

    ID token claims (captured; the token itself is never shown)
      iss                   https://token.actions.githubusercontent.com
      aud                   pypi
      sub                   repo:octo-org/octo-repo:environment:pypi
      repository            octo-org/octo-repo
      repository_owner      octo-org
      repository_owner_id   5050505
      workflow_ref          octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0
      job_workflow_ref      octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0
      ref                   refs/tags/v1.0.0
      environment           pypi
      event_name            push
      iat                   N (N s ago)
      nbf                   N (N s ago)
      exp                   N (N s ago)

    What PyPI matches on
      -         repository                    octo-org/octo-repo  (not compared: no --expect-*; `repository`)
      -         owner id                      5050505  (not compared: no --expect-*; `repository_owner_id`)
      MISMATCH  workflow filename             publish.yml  (expected `release.yml`, exact; `job_workflow_ref`)
      -         environment                   pypi  (not compared: no --expect-*; `environment`)
      ok        event                         push  (must be anything but pull_request_target; `event_name`)

    Trusted-publisher form (https://pypi.org: project `sampleproject` → Settings → Publishing → Add a new publisher → GitHub)
      Owner                 octo-org
      Repository name       octo-repo
      Workflow name         publish.yml  (from `job_workflow_ref`: for a reusable workflow, the called one)
      Environment name      pypi  (optional: with it, only jobs in this environment can publish; compared case-insensitively)
      link: https://pypi.org/manage/project/sampleproject/settings/publishing/?provider=github&owner=octo-org&repository=octo-repo&workflow_filename=publish.yml&environment=pypi

    Exchange
      not attempted: offline: a captured token is explained without any network; only a run in CI can prove the exchange

    Findings
      error[workflow-mismatch]: The workflow file is not the registered one
        PyPI matches the file in `job_workflow_ref` (octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0): `publish.yml`; the publisher names `release.yml`
        fix: Rename the workflow file back to `release.yml`, or change the publisher's workflow name to `publish.yml` (renaming a workflow file breaks its publisher)
      note[token-expired]: The captured token has expired
        it expired N s ago: registries would refuse it now, which says nothing about the trusted-publisher configuration the claims are compared with

    Result: a check failed (see the errors above) (exit 7)
    "#);

    // A claims file, as `trustpub token --claims` prints it, in JSON: a correct one exits 0.
    let claims_file = dir.path().join("claims.json");
    std::fs::write(&claims_file, captured_claims().to_string()).unwrap();
    let output = trustpub(
        &[
            "doctor",
            "pypi",
            "--token-file",
            claims_file.to_str().unwrap(),
            "--expect-workflow",
            "publish.yml",
            "--expect-environment",
            "PyPI",
            "--format",
            "json",
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let document = json(&output);
    assert_eq!(document["mode"], "offline");
    assert_eq!(document["conclusion"], "unproven");
    assert_eq!(document["exchange"]["status"], "not-attempted");
    assert_eq!(document["audience"], "pypi");
    assert_eq!(codes(&document), ["token-expired"]);
    assert_eq!(document["findings"][0]["severity"], "note");
    assert_eq!(
        document["form"]["link"],
        Value::Null,
        "no --project, no link"
    );

    // npm: a GHES token explained offline.
    let mut ghes = captured_claims();
    ghes["iss"] = "https://ghes.example.com/_services/token".into();
    ghes["aud"] = "npm:registry.npmjs.org".into();
    std::fs::write(&claims_file, ghes.to_string()).unwrap();
    let output = trustpub(
        &[
            "doctor",
            "npm",
            "--package",
            "@octo/pkg",
            "--token-file",
            claims_file.to_str().unwrap(),
            "--format",
            "json",
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    let document = json(&output);
    assert_eq!(
        codes(&document),
        ["issuer-github-enterprise", "token-expired"]
    );
    assert_eq!(
        document["form"]["command"],
        "npm trust github @octo/pkg --repo octo-org/octo-repo --file publish.yml --env pypi --allow-publish"
    );

    // Garbage is a usage error that names the file and never echoes it.
    std::fs::write(&token_file, "not-a-token-secretvalue").unwrap();
    let output = trustpub(
        &[
            "doctor",
            "pypi",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("token.jwt: the ID token is not a JWT"),
        "{}",
        stderr(&output)
    );
    assert_no_secret_leaks(&output, &["secretvalue"]);
}
