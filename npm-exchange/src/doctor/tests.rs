use base64::Engine;
use oidc_core::doctor::Severity;
use oidc_core::{IdToken, MapEnv};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn token(claims: &Value) -> IdToken {
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    IdToken::new(format!(
        "{}.{}.sig",
        b64("{}".into()),
        b64(claims.to_string())
    ))
}

fn github_claims() -> Value {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "npm:registry.npmjs.org",
        "repository": "octo-org/octo-repo",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "runner_environment": "github-hosted",
        "repository_visibility": "public",
        "environment": "npm",
        "event_name": "push",
        "iat": 1_900_000_000, "exp": 1_900_000_300
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

fn ambient(claims: &Value) -> AmbientToken {
    let token = token(claims);
    AmbientToken {
        provider: "GitHub Actions",
        claims: Claims::decode(&token).unwrap(),
        token,
    }
}

fn doctor(registry: &str, package: Option<&str>, expect: Expectations) -> NpmDoctor {
    NpmDoctor::new(
        HttpClient::new(&oidc_core::HttpConfig::default(), &MapEnv::new()).unwrap(),
        NpmRegistry::parse(registry).unwrap(),
        package.map(|p| PackageName::parse(p).unwrap()),
        expect,
    )
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

const NPMJS: &str = "https://registry.npmjs.org/";

#[test]
fn a_matching_token_and_the_form() {
    let doctor = doctor(
        NPMJS,
        Some("@octo/pkg"),
        expect("octo-org/octo-repo", "release.yml", Some("npm")),
    );
    let comparison = doctor.compare_claims(&claims_with(json!({})));
    assert_eq!(codes(&comparison.findings), Vec::<&str>::new());
    assert!(
        comparison
            .checks
            .iter()
            .all(|c| c.verdict == Verdict::Match),
        "{:?}",
        comparison.checks
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
            ("Organization or user", "octo-org"),
            ("Repository", "octo-repo"),
            ("Workflow filename", "release.yml"),
            ("Environment name", "npm"),
        ]
    );
    assert_eq!(
        form.command.as_deref(),
        Some(
            "npm trust github @octo/pkg --repo octo-org/octo-repo --file release.yml --env npm --allow-publish"
        )
    );
    assert_eq!(
        form.link.as_deref(),
        Some("https://www.npmjs.com/package/@octo/pkg/access")
    );
    assert_eq!(
        doctor.known_audience().as_deref(),
        Some("npm:registry.npmjs.org")
    );
}

#[test]
fn repository_case_matters() {
    let doctor = doctor(
        NPMJS,
        None,
        expect("Octo-Org/octo-repo", "release.yml", None),
    );
    let comparison = doctor.compare_claims(&claims_with(json!({})));
    assert_eq!(codes(&comparison.findings), ["repository-mismatch"]);
    insta::assert_snapshot!(comparison.findings[0].detail, @"the token's `repository` is `octo-org/octo-repo`, the publisher names `Octo-Org/octo-repo` (they differ only in case, and npm compares case-sensitively)");
}

#[test]
fn npm_matches_the_calling_workflow() {
    let doctor = doctor(
        NPMJS,
        None,
        expect("octo-org/octo-repo", "publish.yml", None),
    );
    let comparison = doctor.compare_claims(&claims_with(json!({
        "job_workflow_ref": "octo-org/shared/.github/workflows/publish.yml@refs/heads/main"
    })));
    assert_eq!(
        codes(&comparison.findings),
        ["workflow-mismatch", "reusable-workflow"]
    );
    insta::assert_snapshot!(comparison.findings[0].fix.as_deref().unwrap(), @"npm matches the calling workflow `release.yml` (workflow_ref), not the reusable one: register `release.yml` in the trusted publisher");
    insta::assert_snapshot!(comparison.findings[1].detail, @"npm matches the calling workflow `release.yml` (from workflow_ref), not the called `publish.yml` (job_workflow_ref), which lives in `octo-org/shared`");

    let renamed = doctor.compare_claims(&claims_with(json!({
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yaml@refs/tags/v1",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yaml@refs/tags/v1"
    })));
    assert_eq!(codes(&renamed.findings), ["workflow-mismatch"]);
    assert!(
        renamed.findings[0]
            .fix
            .as_deref()
            .unwrap()
            .starts_with("Rename the workflow file back to `publish.yml`")
    );
}

#[test]
fn environment_runner_and_visibility() {
    let doctor = doctor(
        NPMJS,
        None,
        expect("octo-org/octo-repo", "release.yml", Some("npm")),
    );
    let comparison = doctor.compare_claims(&claims_with(json!({
        "environment": "Npm",
        "runner_environment": "self-hosted",
        "repository_visibility": "private"
    })));
    assert_eq!(
        codes(&comparison.findings),
        ["environment-mismatch", "provenance-private-repository"]
    );
    let runner = comparison
        .checks
        .iter()
        .find(|c| c.field == PublisherField::Runner)
        .unwrap();
    assert_eq!(runner.verdict, Verdict::Mismatch);
    let none = doctor.compare_claims(&claims_with(json!({"environment": null})));
    assert_eq!(none.findings[0].title, "The job has no environment");
}

async fn registry_with(responses: &[(&str, u16)]) -> MockServer {
    let server = MockServer::start().await;
    for (route, status) in responses {
        Mock::given(method("GET"))
            .and(path(*route))
            .respond_with(ResponseTemplate::new(*status).set_body_json(json!({})))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn package_presence() {
    let package = PackageName::parse("@octo/pkg").unwrap();
    let cases: [(&[(&str, u16)], PackagePresence); 4] = [
        (&[("/@octo%2fpkg", 200)], PackagePresence::Published),
        (
            &[
                ("/@octo%2fpkg", 404),
                ("/-/package/@octo%2fpkg/visibility", 200),
            ],
            PackagePresence::Registered,
        ),
        (&[], PackagePresence::NotFound),
        (
            &[
                ("/@octo%2fpkg", 404),
                ("/-/package/@octo%2fpkg/visibility", 401),
            ],
            PackagePresence::Unknown,
        ),
    ];
    for (responses, expected) in cases {
        let server = registry_with(responses).await;
        let doctor = doctor(&server.uri(), Some("@octo/pkg"), Expectations::default());
        assert_eq!(doctor.package_presence(&package).await.unwrap(), expected);
    }
}

#[derive(Default)]
struct Masks(std::sync::Mutex<Vec<String>>);

impl MaskSink for Masks {
    fn mask(&self, secret: &str) {
        self.0.lock().unwrap().push(secret.to_owned());
    }
}

#[tokio::test]
async fn a_successful_exchange_is_masked_and_dropped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/-/npm/v1/oidc/token/exchange/package/pkg"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"token": "npm_secret"})))
        .expect(1)
        .mount(&server)
        .await;
    let doctor = doctor(&server.uri(), Some("pkg"), Expectations::default());
    let masks = Masks::default();
    let attempt = doctor
        .attempt_exchange(&ambient(&github_claims()), &masks)
        .await;
    assert!(matches!(attempt.outcome, ExchangeOutcome::Succeeded { .. }));
    assert_eq!(*masks.0.lock().unwrap(), ["npm_secret"]);
    assert!(!format!("{attempt:?}").contains("npm_secret"));
}

#[tokio::test]
async fn a_missing_package_is_named_as_the_cause() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/-/npm/v1/oidc/token/exchange/package/ghost"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "OIDC token exchange error - package not found"})),
        )
        .mount(&server)
        .await;
    let doctor = doctor(&server.uri(), Some("ghost"), Expectations::default());
    let warnings = doctor.registry_checks().await;
    assert_eq!(codes(&warnings), ["package-not-visible"]);
    assert_eq!(warnings[0].severity, Severity::Warning);
    let attempt = doctor
        .attempt_exchange(&ambient(&github_claims()), &Masks::default())
        .await;
    assert_eq!(
        codes(&attempt.findings),
        ["exchange-refused", "package-not-found"]
    );
    let ExchangeOutcome::Refused {
        http_status,
        errors,
        fixes,
    } = &attempt.outcome
    else {
        panic!("{attempt:?}");
    };
    assert_eq!(*http_status, 404);
    assert_eq!(
        errors[0].description,
        "OIDC token exchange error - package not found"
    );
    assert!(fixes[0].contains("a trusted publisher can only be added to an existing package"));
    insta::assert_snapshot!(attempt.findings[1].fix.as_deref().unwrap(), @"Publish the first version of ghost with a token (`trustpub npm publish --token …` or `npm publish`), add the trusted publisher in its settings, then delete the token");
}

#[tokio::test]
async fn without_a_package_nothing_is_exchanged() {
    let doctor = doctor(NPMJS, None, Expectations::default());
    assert_eq!(codes(&doctor.registry_checks().await), ["package-unknown"]);
    let attempt = doctor
        .attempt_exchange(&ambient(&github_claims()), &Masks::default())
        .await;
    assert!(matches!(
        attempt.outcome,
        ExchangeOutcome::NotAttempted { .. }
    ));
    assert!(attempt.findings.is_empty());
}
