use base64::Engine;
use oidc_core::doctor::{Severity, Verdict};
use oidc_core::{IdToken, MapEnv};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::index::{PYPI_UPLOAD_URL, TESTPYPI_UPLOAD_URL};

fn token(claims: &Value) -> IdToken {
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    IdToken::new(format!(
        "{}.{}.sig",
        b64("{}".into()),
        b64(claims.to_string())
    ))
}

fn ambient(claims: &Value) -> AmbientToken {
    let token = token(claims);
    AmbientToken {
        provider: "GitHub Actions",
        claims: Claims::decode(&token).unwrap(),
        token,
    }
}

fn github_claims() -> Value {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "pypi",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "repository_owner_id": "4242",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "ref": "refs/tags/v1",
        "sha": "a".repeat(40),
        "environment": "pypi",
        "event_name": "push",
        "iat": 1_900_000_000, "nbf": 1_900_000_000, "exp": 1_900_000_300
    })
}

fn claims_with(changes: Value) -> Claims {
    let mut value = github_claims();
    for (key, change) in changes.as_object().unwrap() {
        if change.is_null() {
            value.as_object_mut().unwrap().remove(key);
        } else {
            value[key] = change.clone();
        }
    }
    Claims::decode(&token(&value)).unwrap()
}

fn http() -> HttpClient {
    HttpClient::new(&oidc_core::HttpConfig::default(), &MapEnv::new()).unwrap()
}

fn doctor(url: &str, expect: Expectations) -> PypiDoctor {
    PypiDoctor::new(http(), PackageIndex::parse(url).unwrap(), expect)
}

fn expect(repository: &str, workflow: &str, environment: Option<&str>) -> Expectations {
    Expectations {
        repository: Some(repository.into()),
        workflow: Some(workflow.into()),
        environment: environment.map(str::to_owned),
    }
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

#[test]
fn a_matching_token_passes_every_check() {
    let doctor = doctor(
        PYPI_UPLOAD_URL,
        expect(
            "Octo-Org/octo-repo",
            ".github/workflows/release.yml",
            Some("PyPI"),
        ),
    )
    .with_project("sampleproject");
    let comparison = doctor.compare_claims(&claims_with(json!({})));
    assert_eq!(codes(&comparison.findings), Vec::<&str>::new());
    let verdicts: Vec<(PublisherField, Verdict)> = comparison
        .checks
        .iter()
        .map(|c| (c.field, c.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            (PublisherField::Repository, Verdict::Match),
            (PublisherField::OwnerId, Verdict::Unchecked),
            (PublisherField::WorkflowFilename, Verdict::Match),
            (PublisherField::Environment, Verdict::Match),
            (PublisherField::Event, Verdict::Match),
        ]
    );
    let form = comparison.form.unwrap();
    let fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .map(|f| (f.label, f.value.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("Owner", "octo-org"),
            ("Repository name", "octo-repo"),
            ("Workflow name", "release.yml"),
            ("Environment name", "pypi"),
        ]
    );
    assert_eq!(
        form.link.as_deref(),
        Some(
            "https://pypi.org/manage/project/sampleproject/settings/publishing/?provider=github&owner=octo-org&repository=octo-repo&workflow_filename=release.yml&environment=pypi"
        )
    );
    assert_eq!(doctor.known_audience().as_deref(), Some("pypi"));
}

#[test]
fn wrong_environment() {
    let doctor = doctor(
        PYPI_UPLOAD_URL,
        expect("octo-org/octo-repo", "release.yml", Some("pypi")),
    );
    let other = doctor.compare_claims(&claims_with(json!({"environment": "release"})));
    assert_eq!(codes(&other.findings), ["environment-mismatch"]);
    let finding = &other.findings[0];
    insta::assert_snapshot!(format!("{}\n{}\n{}", finding.title, finding.detail, finding.fix.as_deref().unwrap()), @r"
    The job runs in another environment
    the job's environment is `release`, the publisher names `pypi` (compared case-insensitively)
    Set `environment: pypi` on the publishing job, or change the publisher's environment to `release`
    ");
    let none = doctor.compare_claims(&claims_with(json!({"environment": null})));
    assert_eq!(codes(&none.findings), ["environment-mismatch"]);
    assert_eq!(
        none.findings[0].fix.as_deref(),
        Some("Add `environment: pypi` to the publishing job, or clear the publisher's environment")
    );
    assert_eq!(none.checks[3].verdict, Verdict::Missing);
}

#[test]
fn renamed_workflow() {
    let doctor = doctor(
        PYPI_UPLOAD_URL,
        expect("octo-org/octo-repo", "release.yml", None),
    );
    let renamed = "octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1";
    let comparison = doctor.compare_claims(&claims_with(
        json!({"workflow_ref": renamed, "job_workflow_ref": renamed}),
    ));
    assert_eq!(codes(&comparison.findings), ["workflow-mismatch"]);
    let finding = &comparison.findings[0];
    insta::assert_snapshot!(format!("{}\n{}", finding.detail, finding.fix.as_deref().unwrap()), @r"
    PyPI matches the file in `job_workflow_ref` (octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1): `publish.yml`; the publisher names `release.yml`
    Rename the workflow file back to `release.yml`, or change the publisher's workflow name to `publish.yml` (renaming a workflow file breaks its publisher)
    ");
}

#[test]
fn reusable_workflows() {
    let doctor = doctor(
        PYPI_UPLOAD_URL,
        expect("octo-org/octo-repo", "release.yml", None),
    );
    let cross = doctor.compare_claims(&claims_with(json!({
        "job_workflow_ref": "octo-org/shared/.github/workflows/publish.yml@refs/heads/main"
    })));
    assert_eq!(
        codes(&cross.findings),
        ["workflow-mismatch", "reusable-workflow-cross-repository"]
    );
    let finding = &cross.findings[1];
    assert_eq!(finding.severity, Severity::Error);
    insta::assert_snapshot!(format!("{}\n{}", finding.detail, finding.fix.as_deref().unwrap()), @r"
    this job runs a reusable workflow from another repository (octo-org/shared): PyPI matches the called workflow, and a cross-repository reusable workflow can never match a trusted publisher. Run the publish step in a workflow of octo-org/octo-repo itself
    Publish from a workflow of `octo-org/octo-repo` itself: the shared workflow may build the distributions, but the job that runs trustpub must be defined in this repository
    ");
    let row = cross.checks.last().unwrap();
    assert_eq!(
        (row.field, row.verdict),
        (
            PublisherField::ReusableWorkflowRepository,
            Verdict::Mismatch
        )
    );

    // Same repository: it works, but PyPI matches the called file.
    let same = doctor.compare_claims(&claims_with(json!({
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/pypi.yml@refs/tags/v1"
    })));
    assert_eq!(
        codes(&same.findings),
        ["workflow-mismatch", "reusable-workflow"]
    );
    assert!(
        same.findings[0]
            .fix
            .as_deref()
            .unwrap()
            .starts_with("PyPI matches the called (reusable) workflow from `job_workflow_ref`, not the caller `release.yml`: register `pypi.yml`")
    );
}

#[test]
fn missing_claims_and_non_github_tokens() {
    let doctor = doctor(PYPI_UPLOAD_URL, Expectations::default());
    let comparison = doctor.compare_claims(&claims_with(json!({
        "repository_owner_id": null,
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release@main",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release@main"
    })));
    assert_eq!(
        codes(&comparison.findings),
        ["claim-missing", "workflow-filename-unreadable"]
    );
    assert_eq!(
        comparison.findings[0].detail,
        "PyPI refuses tokens without it (`Missing claim 'repository_owner_id'`)"
    );
    let gitlab = Claims::decode(&token(&json!({
        "iss": "https://gitlab.com", "project_path": "g/p",
        "ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main"
    })))
    .unwrap();
    assert_eq!(doctor.compare_claims(&gitlab), Comparison::default());
}

#[test]
fn testpypi_and_other_indexes() {
    let test = doctor(TESTPYPI_UPLOAD_URL, Expectations::default());
    assert_eq!(test.known_audience().as_deref(), Some("testpypi"));
    let comparison = test.compare_claims(&claims_with(json!({"environment": null})));
    assert_eq!(
        codes(&comparison.findings),
        ["no-environment", "testpypi-separate"]
    );
    let form = comparison.form.unwrap();
    assert_eq!(form.fields[0].label, "PyPI Project Name");
    assert_eq!(form.link, None, "no project, no link");
    let local = doctor("https://127.0.0.1:1/legacy/", Expectations::default()).with_project("p");
    assert_eq!(local.known_audience(), None);
    assert_eq!(
        local
            .compare_claims(&claims_with(json!({})))
            .form
            .unwrap()
            .link,
        None
    );
}

#[derive(Default)]
struct Masks(std::sync::Mutex<Vec<String>>);

impl MaskSink for Masks {
    fn mask(&self, secret: &str) {
        self.0.lock().unwrap().push(secret.to_owned());
    }
}

#[tokio::test]
async fn a_successful_mint_is_burned_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"success": true, "token": "pypi-minted-secret", "expires": 1_900_000_900}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/burn-token"))
        .and(body_json(json!({"token": "pypi-minted-secret"})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let doctor = doctor(
        &format!("{}/legacy/", server.uri()),
        Expectations::default(),
    );
    let masks = Masks::default();
    let attempt = doctor
        .attempt_exchange(&ambient(&github_claims()), &masks)
        .await;
    assert_eq!(
        attempt.outcome,
        ExchangeOutcome::Succeeded {
            detail: "PyPI minted an upload token for this workflow; the doctor burned it at once"
                .into()
        }
    );
    assert!(attempt.findings.is_empty());
    assert_eq!(*masks.0.lock().unwrap(), ["pypi-minted-secret"]);
}

#[tokio::test]
async fn a_failed_burn_is_a_warning() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "pypi-x"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/burn-token"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let doctor = doctor(
        &format!("{}/legacy/", server.uri()),
        Expectations::default(),
    );
    let attempt = doctor
        .attempt_exchange(&ambient(&github_claims()), &Masks::default())
        .await;
    assert!(matches!(attempt.outcome, ExchangeOutcome::Succeeded { .. }));
    assert_eq!(codes(&attempt.findings), ["burn-failed"]);
    assert!(!format!("{attempt:?}").contains("pypi-x"));
}

#[tokio::test]
async fn refusals_are_translated_into_changes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Token request failed",
            "errors": [{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher (Check failed for optional claim 'environment')"}]
        })))
        .mount(&server)
        .await;
    let doctor = doctor(
        &format!("{}/legacy/", server.uri()),
        Expectations::default(),
    );
    let attempt = doctor
        .attempt_exchange(&ambient(&github_claims()), &Masks::default())
        .await;
    let ExchangeOutcome::Refused {
        http_status,
        errors,
        fixes,
    } = &attempt.outcome
    else {
        panic!("{attempt:?}");
    };
    assert_eq!(*http_status, 422);
    assert_eq!(errors[0].code.as_deref(), Some("invalid-publisher"));
    assert_eq!(fixes.len(), 1);
    let finding = &attempt.findings[0];
    assert_eq!(
        (finding.severity, finding.code),
        (Severity::Error, "exchange-refused")
    );
    let text = format!(
        "{}\n{}\n{}",
        finding.title,
        finding.detail,
        finding.fix.as_deref().unwrap()
    )
    .replace(&server.address().to_string(), "HOST");
    insta::assert_snapshot!(text, @r"
    PyPI refused the token: `invalid-publisher`
    `invalid-publisher`: valid token, but no corresponding publisher (Check failed for optional claim 'environment')
    the trusted publisher on HOST names an environment, and this job's `environment` claim is `pypi`: set `environment: <name>` on the publishing job exactly as registered (compared case-insensitively), or change the environment in the publisher
    ");
}

#[tokio::test]
async fn unknown_codes_and_html_answers_are_reported_plainly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Token request failed",
            "errors": [{"code": "quota-exceeded", "description": "too many tokens today"}]
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/_/oidc/mint-token"))
        .respond_with(ResponseTemplate::new(422).set_body_raw(
            "<html><head><title>Unprocessable</title></head></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let doctor = doctor(
        &format!("{}/legacy/", server.uri()),
        Expectations::default(),
    );
    let attempt = doctor
        .attempt_exchange(&ambient(&github_claims()), &Masks::default())
        .await;
    let ExchangeOutcome::Refused { errors, fixes, .. } = &attempt.outcome else {
        panic!("{attempt:?}");
    };
    assert_eq!(errors[0].code.as_deref(), Some("quota-exceeded"));
    assert_eq!(errors[0].description, "too many tokens today");
    assert_eq!(fixes.len(), 1, "{fixes:?}");
    assert!(
        fixes[0].starts_with("`quota-exceeded` is not an error code trustpub knows"),
        "{fixes:?}"
    );
    assert_eq!(
        attempt.findings[0].title,
        "PyPI refused the token: `quota-exceeded`"
    );

    let attempt = doctor
        .attempt_exchange(&ambient(&github_claims()), &Masks::default())
        .await;
    let ExchangeOutcome::Failed { detail } = &attempt.outcome else {
        panic!("{attempt:?}");
    };
    assert!(
        detail.contains("answered 422: an HTML page titled \"Unprocessable\""),
        "{detail}"
    );
    assert_eq!(codes(&attempt.findings), ["exchange-failed"]);
}

#[tokio::test]
async fn an_index_without_trusted_publishing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_/oidc/audience"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let doctor = doctor(
        &format!("{}/legacy/", server.uri()),
        Expectations::default(),
    );
    let finding = doctor.token_request().await.unwrap_err();
    assert_eq!(finding.code, "trusted-publishing-unavailable");
    assert!(
        finding
            .detail
            .contains("does not indicate trusted publishing support")
    );
}
