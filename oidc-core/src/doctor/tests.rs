use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::checks::{ReusableWorkflow, WorkflowRef};
use super::*;
use crate::claims::tests::jwt;
use crate::env::MapEnv;
use crate::provider::{IdentityError, Provider};

const NOW: i64 = 1_900_000_000;

fn github_claims() -> Value {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "pypi",
        "sub": "repo:octo-org/octo-repo:ref:refs/tags/v1.0.0",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "repository_owner_id": "4242",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0",
        "ref": "refs/tags/v1.0.0",
        "sha": "a".repeat(40),
        "event_name": "push",
        "runner_environment": "github-hosted",
        "jti": "j-1",
        "iat": NOW - 2,
        "nbf": NOW - 7,
        "exp": NOW + 298,
    })
}

fn claims(value: &Value) -> Claims {
    Claims::decode(&jwt(value)).unwrap()
}

fn with(changes: Value) -> Claims {
    let mut value = github_claims();
    for (key, change) in changes.as_object().unwrap() {
        if change.is_null() {
            value.as_object_mut().unwrap().remove(key);
        } else {
            value[key] = change.clone();
        }
    }
    claims(&value)
}

fn requirements(github_hosted_runner: bool) -> ClaimRequirements {
    ClaimRequirements {
        registry: "PyPI".into(),
        github_hosted_runner,
    }
}

fn codes(findings: &[Finding]) -> Vec<(Severity, &'static str)> {
    findings.iter().map(|f| (f.severity, f.code)).collect()
}

fn live(claims: &Claims) -> Vec<Finding> {
    check_claims(claims, Some("pypi"), &requirements(true), Mode::Live, NOW)
}

#[test]
fn a_good_token_has_no_findings() {
    assert_eq!(live(&claims(&github_claims())), vec![]);
}

#[test]
fn refused_events_are_errors() {
    let prt = live(&with(json!({"event_name": "pull_request_target"})));
    assert_eq!(
        codes(&prt),
        [(Severity::Error, "event-pull-request-target")]
    );
    assert!(prt[0].detail.contains("PyPI refuses these tokens too"));
    assert!(prt[0].fix.as_deref().unwrap().contains("workflow_dispatch"));
    let pr = live(&with(json!({"event_name": "pull_request"})));
    // Same-repository pull requests may publish (with a warning); so may workflow_run and
    // issue_comment.
    assert_eq!(codes(&pr), [(Severity::Warning, "event-pull-request")]);
    let wr = live(&with(json!({"event_name": "workflow_run"})));
    assert_eq!(codes(&wr), [(Severity::Warning, "event-workflow-run")]);
    assert_eq!(
        checks::event_refusal(&with(json!({"event_name": "pull_request"}))),
        None
    );
    assert_eq!(
        checks::event_refusal(&with(json!({"event_name": "pull_request_target"}))).as_deref(),
        Some("pull_request_target")
    );
    assert_eq!(checks::event_refusal(&claims(&github_claims())), None);
}

#[test]
fn issuers_other_than_github_com() {
    let ghes = live(&with(
        json!({"iss": "https://ghes.example.com/_services/token"}),
    ));
    assert_eq!(
        codes(&ghes),
        [(Severity::Error, "issuer-github-enterprise")]
    );
    insta::assert_snapshot!(ghes[0].detail, @"its issuer is `https://ghes.example.com/_services/token`, but PyPI accepts GitHub tokens only from github.com (issuer `https://token.actions.githubusercontent.com`): no trusted publisher can match a GitHub Enterprise Server token");
    let gitlab = claims(&json!({
        "iss": "https://gitlab.com", "aud": "pypi", "iat": NOW, "exp": NOW + 60,
        "project_path": "g/p", "ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main"
    }));
    assert_eq!(
        codes(&check_claims(
            &gitlab,
            Some("pypi"),
            &requirements(false),
            Mode::Live,
            NOW
        )),
        [(Severity::Note, "issuer-not-github")]
    );
}

#[test]
fn audience_checks() {
    let wrong = live(&with(json!({"aud": "npm:registry.npmjs.org"})));
    assert_eq!(codes(&wrong), [(Severity::Error, "audience-mismatch")]);
    assert!(
        wrong[0]
            .detail
            .contains("its `aud` is `npm:registry.npmjs.org`, but PyPI requires `pypi`")
    );
    let many = live(&with(json!({"aud": ["pypi", "other"]})));
    assert_eq!(codes(&many), [(Severity::Warning, "audience-multiple")]);
    let none = live(&with(json!({"aud": null})));
    assert_eq!(codes(&none), [(Severity::Error, "audience-missing")]);
    // Offline without a known audience: not checked.
    let unknown = check_claims(
        &with(json!({"aud": "x"})),
        None,
        &requirements(true),
        Mode::Offline,
        NOW,
    );
    assert_eq!(unknown, vec![]);
}

#[test]
fn clock_skew_in_both_directions() {
    let future = live(&with(
        json!({"iat": NOW + 600, "nbf": NOW + 595, "exp": NOW + 900}),
    ));
    assert_eq!(codes(&future), [(Severity::Error, "clock-skew")]);
    insta::assert_snapshot!(future[0].title, @"The token is valid only 600 s from now");
    // Within the registries' leeway: fine.
    assert_eq!(
        live(&with(json!({"iat": NOW + 20, "nbf": NOW + 15}))),
        vec![]
    );
    // A token fetched now that is already expired: this clock is ahead.
    let expired = live(&with(
        json!({"iat": NOW - 900, "nbf": NOW - 905, "exp": NOW - 600}),
    ));
    assert_eq!(codes(&expired), [(Severity::Error, "token-expired")]);
    let old = live(&with(
        json!({"iat": NOW - 200, "nbf": NOW - 205, "exp": NOW + 100}),
    ));
    assert_eq!(codes(&old), [(Severity::Warning, "clock-skew")]);
    // Offline, an expired token is expected: a note.
    let captured = check_claims(
        &with(json!({"iat": NOW - 900, "nbf": NOW - 905, "exp": NOW - 600})),
        Some("pypi"),
        &requirements(true),
        Mode::Offline,
        NOW,
    );
    assert_eq!(codes(&captured), [(Severity::Note, "token-expired")]);
    let timeless = live(&with(json!({"iat": null})));
    assert_eq!(codes(&timeless), [(Severity::Error, "token-times-missing")]);
}

#[test]
fn self_hosted_runners_only_matter_where_required() {
    let claims = with(json!({"runner_environment": "self-hosted"}));
    assert_eq!(
        codes(&live(&claims)),
        [(Severity::Error, "runner-self-hosted")]
    );
    assert_eq!(
        check_claims(&claims, Some("pypi"), &requirements(false), Mode::Live, NOW),
        vec![]
    );
    let unknown = live(&with(json!({"runner_environment": null})));
    assert_eq!(codes(&unknown), [(Severity::Warning, "runner-unknown")]);
}

#[test]
fn identity_failures_become_findings() {
    let cases = [
        (
            IdentityError::GithubMissingPermission {
                missing: "ACTIONS_ID_TOKEN_REQUEST_URL is unset".into(),
            },
            "missing-id-token-permission",
        ),
        (
            IdentityError::GithubForkPullRequest {
                head_repository: "fork/repo".into(),
            },
            "fork-pull-request",
        ),
        (IdentityError::NotInCi, "not-in-ci"),
        (
            IdentityError::AudienceMismatch {
                provider: "GitHub Actions",
                expected: "pypi".into(),
                found: "other".into(),
            },
            "audience-mismatch",
        ),
        (
            IdentityError::GithubEndpoint {
                status: 500,
                body: "boom".into(),
            },
            "token-request-failed",
        ),
    ];
    for (err, code) in cases {
        let finding = identity_finding(&err);
        assert_eq!((finding.severity, finding.code), (Severity::Error, code));
        assert_eq!(finding.detail, err.to_string());
    }
    let missing = identity_finding(&IdentityError::GithubMissingPermission {
        missing: "x".into(),
    });
    assert!(missing.fix.unwrap().contains("id-token: write"));
}

#[test]
fn workflow_refs_and_reusable_workflows() {
    let parsed = WorkflowRef::parse("o/r/.github/workflows/sub/x.yaml@main").unwrap();
    assert_eq!(parsed.repository, "o/r");
    assert_eq!(parsed.filename.as_deref(), Some("x.yaml"));
    assert_eq!(WorkflowRef::parse("no-at-sign"), None);

    assert_eq!(
        ReusableWorkflow::from_claims(&claims(&github_claims())),
        None
    );
    let cross = ReusableWorkflow::from_claims(&with(json!({
        "job_workflow_ref": "octo-org/shared/.github/workflows/publish.yml@refs/heads/main"
    })))
    .unwrap();
    assert!(cross.cross_repository());
    assert_eq!(cross.called.filename.as_deref(), Some("publish.yml"));
    assert_eq!(cross.caller.filename.as_deref(), Some("release.yml"));
    let same = ReusableWorkflow::from_claims(&with(json!({
        "job_workflow_ref": "Octo-Org/octo-repo/.github/workflows/publish.yml@refs/tags/v1.0.0"
    })))
    .unwrap();
    assert!(!same.cross_repository());
}

/// Each field's label is the text the doctor printed and serialized before fields were typed
/// (`--json` consumers and the CLI's snapshots depend on it), and no two fields share one.
#[test]
fn field_labels_are_stable_and_distinct() {
    let labels: Vec<&str> = PublisherField::ALL.iter().map(|f| f.label()).collect();
    assert_eq!(
        labels,
        [
            "repository",
            "repository owner",
            "repository owner id",
            "owner id",
            "project path",
            "workflow filename",
            "workflow filepath",
            "reusable workflow repository",
            "environment",
            "event",
            "runner",
            "audience",
        ]
    );
    // `ALL` lists every variant once: a new variant fails to compile here until it is placed.
    let position = |field: PublisherField| match field {
        PublisherField::Repository => 0,
        PublisherField::RepositoryOwner => 1,
        PublisherField::RepositoryOwnerId => 2,
        PublisherField::OwnerId => 3,
        PublisherField::ProjectPath => 4,
        PublisherField::WorkflowFilename => 5,
        PublisherField::WorkflowFilepath => 6,
        PublisherField::ReusableWorkflowRepository => 7,
        PublisherField::Environment => 8,
        PublisherField::Event => 9,
        PublisherField::Runner => 10,
        PublisherField::Audience => 11,
    };
    for (index, field) in PublisherField::ALL.into_iter().enumerate() {
        assert_eq!(position(field), index, "{field:?}");
    }
    let unique: std::collections::HashSet<&str> = labels.iter().copied().collect();
    assert_eq!(unique.len(), labels.len());
    let check = FieldCheck::compare(
        PublisherField::WorkflowFilename,
        "job_workflow_ref",
        Some("release.yml"),
        Some("Release.yml"),
        true,
    );
    assert_eq!(
        serde_json::to_value(&check).unwrap(),
        json!({
            "field": "workflow filename",
            "claim": "job_workflow_ref",
            "value": "release.yml",
            "expected": "Release.yml",
            "rule": "case-insensitive",
            "verdict": "match",
        })
    );
    assert_eq!(
        format!("{:<20}|", PublisherField::Audience),
        "audience            |"
    );
    assert_eq!(CompareRule::Exact.to_string(), "exact");
}

#[test]
fn field_checks() {
    let check = |value, expected, ci| {
        FieldCheck::compare(PublisherField::Repository, "c", value, expected, ci).verdict
    };
    assert_eq!(check(Some("a"), None, false), Verdict::Unchecked);
    assert_eq!(check(None, Some("a"), false), Verdict::Missing);
    assert_eq!(check(Some("A"), Some("a"), true), Verdict::Match);
    assert_eq!(check(Some("A"), Some("a"), false), Verdict::Mismatch);
    let rule = FieldCheck::requirement(
        PublisherField::Runner,
        "runner_environment",
        None,
        "github-hosted",
        false,
    );
    assert_eq!(rule.verdict, Verdict::Missing);
    assert_eq!(rule.rule, CompareRule::Required);
    let expectations = Expectations {
        workflow: Some("release.yml".into()),
        ..Expectations::default()
    };
    assert_eq!(expectations.workflow_filename(), Some("release.yml"));
}

#[test]
fn reads_captured_tokens_and_claims_files() {
    let token = jwt(&github_claims());
    let from_jwt = read_claims(&format!("{}\n", token.expose())).unwrap();
    assert_eq!(
        from_jwt.github.repository.as_deref(),
        Some("octo-org/octo-repo")
    );
    let from_json = read_claims(&github_claims().to_string()).unwrap();
    assert_eq!(from_json, from_jwt);
    let secret = "eyJzZWNyZXQiOiJ2YWx1ZSJ9";
    let err = read_claims(&format!("{{\"token\": {secret}}}")).unwrap_err();
    assert!(err.to_string().contains("syntax error at line 1"), "{err}");
    assert!(!err.to_string().contains(secret));
    assert!(read_claims("not a token").is_err());
    assert!(read_claims("[1]").is_err());
}

#[test]
fn claim_rows_put_issuer_first_and_times_last() {
    let rows = claim_rows(
        &claims(&github_claims()),
        &["repository", "aud", "environment"],
    );
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "iss",
            "aud",
            "repository",
            "environment",
            "iat",
            "nbf",
            "exp"
        ]
    );
    assert_eq!(rows[3].value, None);
    assert_eq!(rows[4].value.as_deref(), Some("1899999998"));
}

/// A registry that records what it was asked.
#[derive(Default)]
struct FakeRegistry {
    attempts: Mutex<u32>,
    refuse: bool,
}

impl RegistryDoctor for FakeRegistry {
    fn registry(&self) -> String {
        "Fake (fake.example)".into()
    }

    fn target(&self) -> String {
        "https://fake.example/".into()
    }

    fn matched_claims(&self) -> &'static [&'static str] {
        &["repository", "environment"]
    }

    fn known_audience(&self) -> Option<String> {
        Some("pypi".into())
    }

    fn requirements(&self) -> ClaimRequirements {
        requirements(false)
    }

    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, Finding>> {
        Box::pin(async { Ok(TokenRequest::new("pypi")) })
    }

    fn compare(&self, claims: &Claims) -> Comparison {
        Comparison {
            checks: vec![FieldCheck::compare(
                PublisherField::Repository,
                "repository",
                claims.github.repository.as_deref(),
                Some("octo-org/octo-repo"),
                true,
            )],
            form: None,
            findings: vec![Finding::note("fake-note", "noted", "detail")],
        }
    }

    fn registry_checks(&self) -> BoxFuture<'_, Vec<Finding>> {
        Box::pin(async { Vec::new() })
    }

    fn attempt<'a>(
        &'a self,
        _: &'a AmbientToken,
        mask: &'a dyn MaskSink,
    ) -> BoxFuture<'a, Attempt> {
        Box::pin(async move {
            *self.attempts.lock().unwrap() += 1;
            if self.refuse {
                return Attempt {
                    outcome: ExchangeOutcome::Refused {
                        http_status: 422,
                        errors: vec![RegistryError {
                            code: Some("invalid-publisher".into()),
                            description: "no".into(),
                        }],
                        fixes: vec!["fix it".into()],
                    },
                    findings: vec![Finding::error("exchange-refused", "refused", "no")],
                };
            }
            mask.mask("minted-secret");
            Attempt {
                outcome: ExchangeOutcome::Succeeded {
                    detail: "minted and burned".into(),
                },
                findings: Vec::new(),
            }
        })
    }
}

/// A provider handing out `claims` as a token, whatever the audience.
struct StaticProvider(Value);

impl Provider for StaticProvider {
    fn name(&self) -> &'static str {
        "static"
    }

    fn id_token<'a>(
        &'a self,
        _: &'a TokenRequest,
    ) -> BoxFuture<'a, Result<Option<crate::IdToken>, IdentityError>> {
        let mut claims = self.0.clone();
        claims["iat"] = json!(unix_now());
        claims["nbf"] = json!(unix_now() - 5);
        claims["exp"] = json!(unix_now() + 300);
        let token = jwt(&claims);
        Box::pin(async move { Ok(Some(token)) })
    }
}

#[derive(Default)]
struct Masks(Mutex<Vec<String>>);

impl MaskSink for Masks {
    fn mask(&self, secret: &str) {
        self.0.lock().unwrap().push(secret.to_owned());
    }
}

fn detector(claims: Value) -> Detector {
    Detector::with_providers(
        Arc::new(MapEnv::new()),
        vec![Box::new(StaticProvider(claims))],
    )
}

#[tokio::test]
async fn a_live_diagnosis_masks_compares_and_attempts() {
    let registry = FakeRegistry::default();
    let masks = Masks::default();
    let diagnosis = diagnose(&registry, &detector(github_claims()), &masks).await;
    assert_eq!(diagnosis.conclusion(), Conclusion::Ready);
    assert_eq!(diagnosis.provider.as_deref(), Some("static"));
    assert_eq!(diagnosis.audience.as_deref(), Some("pypi"));
    assert_eq!(diagnosis.checks[0].verdict, Verdict::Match);
    assert_eq!(*registry.attempts.lock().unwrap(), 1);
    let masked = masks.0.lock().unwrap().clone();
    assert_eq!(masked.len(), 2, "the ID token, then the minted secret");
    assert!(masked[0].starts_with("eyJ"));
    // Nothing secret in the diagnosis, whichever way it is shown.
    let shown = format!(
        "{diagnosis:?}{}",
        serde_json::to_string(&diagnosis).unwrap()
    );
    assert!(!shown.contains(&masked[0]) && !shown.contains("minted-secret"));
}

#[tokio::test]
async fn refused_exchanges_and_events_mean_no_credential() {
    let registry = FakeRegistry {
        refuse: true,
        ..FakeRegistry::default()
    };
    let diagnosis = diagnose(&registry, &detector(github_claims()), &Masks::default()).await;
    assert_eq!(diagnosis.conclusion(), Conclusion::NoCredential);
    assert_eq!(
        diagnosis.findings[0].code, "exchange-refused",
        "errors first"
    );

    let registry = FakeRegistry::default();
    let mut prt = github_claims();
    prt["event_name"] = json!("pull_request_target");
    let diagnosis = diagnose(&registry, &detector(prt), &Masks::default()).await;
    assert_eq!(*registry.attempts.lock().unwrap(), 0, "never minted");
    assert_eq!(diagnosis.conclusion(), Conclusion::NoCredential);
    assert!(matches!(
        &diagnosis.exchange,
        ExchangeOutcome::NotAttempted { reason } if reason.contains("`pull_request_target` run")
    ));
}

#[tokio::test]
async fn no_identity_is_a_finding() {
    let registry = FakeRegistry::default();
    let env = Arc::new(MapEnv::new().with("GITHUB_ACTIONS", "true"));
    let http = crate::HttpClient::new(&crate::HttpConfig::default(), &MapEnv::new()).unwrap();
    let detector = Detector::with_providers(
        env.clone(),
        vec![Box::new(crate::provider::GithubActions::new(env, http))],
    );
    let diagnosis = diagnose(&registry, &detector, &Masks::default()).await;
    assert_eq!(
        codes(&diagnosis.findings),
        [(Severity::Error, "missing-id-token-permission")]
    );
    assert_eq!(diagnosis.conclusion(), Conclusion::NoCredential);
    assert!(diagnosis.claims.is_empty() && diagnosis.form.is_none());
}

#[test]
fn offline_diagnoses_never_exchange() {
    let registry = FakeRegistry::default();
    let diagnosis = diagnose_offline(&registry, &claims(&github_claims()), NOW);
    assert_eq!(diagnosis.mode, Mode::Offline);
    assert_eq!(diagnosis.conclusion(), Conclusion::Unproven);
    assert_eq!(*registry.attempts.lock().unwrap(), 0);
    let ghes = with(json!({"iss": "https://ghes.example.com/_services/token"}));
    let diagnosis = diagnose_offline(&registry, &ghes, NOW);
    assert_eq!(diagnosis.conclusion(), Conclusion::ChecksFailed);
    assert_eq!(diagnosis.worst(), Some(Severity::Error));
    let json = serde_json::to_value(&diagnosis).unwrap();
    assert_eq!(json["exchange"]["status"], "not-attempted");
    assert_eq!(json["findings"][0]["code"], "issuer-github-enterprise");
    assert_eq!(json["findings"][0]["severity"], "error");
    assert_eq!(json["checks"][0]["verdict"], "match");
}

#[test]
fn extreme_token_times_do_not_overflow() {
    for (iat, exp, nbf) in [
        (i64::MIN, i64::MAX, i64::MIN),
        (i64::MAX, i64::MIN, i64::MAX),
        (i64::MAX, i64::MAX, i64::MAX),
        (i64::MIN, i64::MIN, i64::MIN),
    ] {
        let claims = with(json!({"iat": iat, "exp": exp, "nbf": nbf}));
        let _ = live(&claims);
        let _ = check_claims(
            &claims,
            Some("pypi"),
            &requirements(true),
            Mode::Offline,
            NOW,
        );
    }
}
