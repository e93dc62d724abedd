//! `trustpub doctor crates-io|rubygems|nuget`: the token's claims compared with what the
//! registry matches, the values for its trusted-publisher form, and a real exchange whose
//! credential is revoked at once (crates.io) or dropped unused (RubyGems, NuGet).

use oidc_core::ci::MaskSink;
use oidc_core::ci::commands::escape_data;
use oidc_core::claims::{Claims, IssuerKind};
use oidc_core::doctor::checks::ReusableWorkflow;
use oidc_core::doctor::{
    Attempt, ClaimRequirements, Comparison, ExchangeOutcome, Expectations, FieldCheck, Finding,
    FormField, PublisherField, PublisherForm, RegistryDoctor, RegistryError, Verdict,
};
use oidc_core::process::BoxFuture;
use oidc_core::{AmbientToken, Exchange, TokenRequest};

use crate::broker::BrokerExchange;
use crate::error::BrokerError;
use crate::explain::{field_checks, hints};
use crate::registry::RegistryKind;

/// The diagnosis of one registry's trusted publishing.
pub struct BrokerDoctor {
    exchange: BrokerExchange,
    expect: Expectations,
    target: String,
}

impl BrokerDoctor {
    /// A doctor over `exchange`, comparing with `expect`.
    pub fn new(exchange: BrokerExchange, expect: Expectations) -> Self {
        let target = exchange.endpoint().to_string();
        Self {
            exchange,
            expect,
            target,
        }
    }

    /// The comparison of the claims with the registry's rules, and its form.
    pub fn compare_claims(&self, claims: &Claims) -> Comparison {
        let kind = self.exchange.kind();
        let checks = field_checks(kind, claims, self.exchange.audience(), &self.expect);
        let mut findings = mismatches(kind, &checks);
        if let Some(reusable) = ReusableWorkflow::from_claims(claims) {
            let (matched, other) = match kind {
                RegistryKind::CratesIo => (&reusable.caller, &reusable.called),
                _ => (&reusable.called, &reusable.caller),
            };
            let mut finding = Finding::note(
                "reusable-workflow",
                "The job runs a reusable workflow",
                format!(
                    "{} matches `{}` (from {}), not `{}`",
                    kind.info().display,
                    matched.filename.as_deref().unwrap_or("?"),
                    kind.info().workflow_claim,
                    other.filename.as_deref().unwrap_or("?"),
                ),
            );
            if kind == RegistryKind::Nuget && reusable.cross_repository() {
                finding = Finding::error(
                    "reusable-workflow-other-repository",
                    "The job runs a reusable workflow of another repository",
                    format!(
                        "NuGet matches the workflow in job_workflow_ref only within the repository itself; this one lives in `{}`",
                        reusable.called.repository
                    ),
                )
                .with_fix("Copy the publishing job into a workflow of this repository");
            }
            findings.push(finding);
        }
        let form = matches!(
            claims.issuer_kind(),
            IssuerKind::GithubCom | IssuerKind::GithubEnterprise
        )
        .then(|| self.form(claims));
        Comparison {
            checks,
            form,
            findings,
        }
    }

    fn form(&self, claims: &Claims) -> PublisherForm {
        let kind = self.exchange.kind();
        let github = &claims.github;
        let repository = github.repository.as_deref().unwrap_or_default();
        let (owner, name) = repository.split_once('/').unwrap_or((repository, ""));
        let workflow = match kind {
            RegistryKind::CratesIo => github.workflow_ref.as_deref(),
            _ => github.job_workflow_ref.as_deref(),
        }
        .and_then(oidc_core::ci::workflow_filename)
        .unwrap_or_default();
        let environment = github.environment.as_deref();
        let mut fields = vec![
            FormField {
                label: "Repository owner",
                value: owner.to_owned(),
                note: None,
            },
            FormField {
                label: "Repository name",
                value: name.to_owned(),
                note: None,
            },
            FormField {
                label: "Workflow filename",
                value: workflow.to_owned(),
                note: Some(format!(
                    "from `{}`; file name only",
                    kind.info().workflow_claim
                )),
            },
            FormField {
                label: "Environment",
                value: environment.unwrap_or_default().to_owned(),
                note: Some(match environment {
                    Some(_) => {
                        "optional: with it, only jobs in this environment can publish".to_owned()
                    }
                    None => "leave empty: this job has no environment".to_owned(),
                }),
            },
        ];
        if kind == RegistryKind::Nuget {
            fields.insert(
                0,
                FormField {
                    label: "Package owner",
                    value: String::new(),
                    note: Some(
                        "you or an organization you belong to: the owner of the packages to push"
                            .to_owned(),
                    ),
                },
            );
        }
        PublisherForm {
            location: kind.info().settings.to_owned(),
            fields,
            link: match kind {
                RegistryKind::Nuget => {
                    Some("https://www.nuget.org/account/trustedpublishing".to_owned())
                }
                RegistryKind::Rubygems => {
                    Some("https://rubygems.org/profile/oidc/pending_trusted_publishers".to_owned())
                }
                RegistryKind::CratesIo => None,
            },
            command: None,
        }
    }

    /// Exchanges `token`, then revokes the credential (crates.io) or drops it unused.
    pub async fn attempt_exchange(&self, token: &AmbientToken, mask: &dyn MaskSink) -> Attempt {
        let kind = self.exchange.kind();
        let display = kind.info().display;
        match self.exchange.exchange_token(token).await {
            Ok(credential) => {
                mask.mask(credential.secret.expose());
                let (detail, findings) = if kind.info().revocable {
                    match self.exchange.revoke_token(&credential).await {
                        Ok(()) => (
                            format!(
                                "{display} issued a publish token; the doctor revoked it at once"
                            ),
                            Vec::new(),
                        ),
                        Err(err) => (
                            format!(
                                "{display} issued a publish token; revoking it failed (it expires within 30 minutes)"
                            ),
                            vec![Finding::warning(
                                "revoke-failed",
                                "The test credential could not be revoked",
                                err.to_string(),
                            )],
                        ),
                    }
                } else {
                    (
                        format!(
                            "{display} issued a publish key; the doctor dropped it unused ({display} cannot revoke it; it expires within {} minutes)",
                            kind.info().lifetime.as_secs() / 60
                        ),
                        Vec::new(),
                    )
                };
                Attempt {
                    outcome: ExchangeOutcome::Succeeded { detail },
                    findings,
                }
            }
            Err(BrokerError::Refused(refusal)) => {
                let fixes = hints(&refusal, self.exchange.audience());
                // Registry text is escaped before it can reach a log (no workflow commands).
                let messages: Vec<String> = refusal
                    .messages
                    .iter()
                    .map(|m| escape_data(&oidc_core::http::truncate(m, 500)))
                    .collect();
                let message = messages.join("; ");
                Attempt {
                    findings: vec![
                        Finding::error(
                            "exchange-refused",
                            format!("{display} refused the token ({})", refusal.status),
                            message,
                        )
                        .with_fix(fixes.join("\n")),
                    ],
                    outcome: ExchangeOutcome::Refused {
                        http_status: refusal.status,
                        errors: messages
                            .into_iter()
                            .map(|description| RegistryError {
                                code: None,
                                description,
                            })
                            .collect(),
                        fixes,
                    },
                }
            }
            Err(err) => {
                let (code, title) = match &err {
                    BrokerError::Http(_) => {
                        ("registry-unreachable", "The registry could not be reached")
                    }
                    _ => ("exchange-failed", "The exchange did not complete"),
                };
                Attempt {
                    outcome: ExchangeOutcome::Failed {
                        detail: err.to_string(),
                    },
                    findings: vec![Finding::error(code, title, err.to_string())],
                }
            }
        }
    }
}

/// An error finding for every field that does not match an `--expect-*` value.
fn mismatches(kind: RegistryKind, checks: &[FieldCheck]) -> Vec<Finding> {
    let display = kind.info().display;
    let mut findings = Vec::new();
    for check in checks {
        if !matches!(check.verdict, Verdict::Mismatch | Verdict::Missing) {
            continue;
        }
        let value = check.value.as_deref().unwrap_or("(none)");
        let expected = check.expected.as_deref().unwrap_or_default();
        let finding = match check.field {
            PublisherField::Repository
            | PublisherField::RepositoryOwner
            | PublisherField::ProjectPath => Finding::error(
                "repository-mismatch",
                "The token is for another repository",
                format!(
                    "the token's `{}` is `{value}`, the trusted publisher names `{expected}` ({} comparison)",
                    check.claim, check.rule
                ),
            )
            .with_fix(format!(
                "Set the trusted publisher's repository to `{value}`, or publish from `{expected}`"
            )),
            PublisherField::WorkflowFilename | PublisherField::WorkflowFilepath => Finding::error(
                "workflow-mismatch",
                "The workflow is not the registered one",
                format!(
                    "{display} matches the file in `{}`: `{value}`; the trusted publisher names `{expected}`",
                    check.claim
                ),
            )
            .with_fix(format!(
                "Set the trusted publisher's workflow to `{value}`, or run the publish from `{expected}`"
            )),
            PublisherField::Environment => Finding::error(
                "environment-mismatch",
                "The job's environment is not the registered one",
                format!("the job's environment is `{value}`, the trusted publisher names `{expected}`"),
            )
            .with_fix(format!(
                "Set `environment: {expected}` on the publishing job, or change the trusted publisher's environment"
            )),
            PublisherField::Event => Finding::error(
                "event-refused",
                format!("{display} refuses tokens of this event"),
                format!("`event_name` is `{value}`; {display} refuses `pull_request_target` and `workflow_run` runs"),
            )
            .with_fix("Publish from a tag push, a published release or workflow_dispatch"),
            // The audience is one of the common checks' findings; the owner id is never compared.
            PublisherField::Audience | PublisherField::RepositoryOwnerId => continue,
            // Not among the broker registries' checks.
            PublisherField::OwnerId
            | PublisherField::ReusableWorkflowRepository
            | PublisherField::Runner => continue,
        };
        findings.push(finding);
    }
    findings
}

impl RegistryDoctor for BrokerDoctor {
    fn registry(&self) -> String {
        self.exchange.registry()
    }

    fn target(&self) -> String {
        self.target.clone()
    }

    fn matched_claims(&self) -> &'static [&'static str] {
        self.exchange.kind().info().matched_claims
    }

    fn known_audience(&self) -> Option<String> {
        Some(self.exchange.audience().to_owned())
    }

    fn requirements(&self) -> ClaimRequirements {
        ClaimRequirements {
            registry: self.exchange.kind().info().display.to_owned(),
            github_hosted_runner: false,
        }
    }

    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, Finding>> {
        let request = TokenRequest::new(self.exchange.audience());
        Box::pin(async move { Ok(request) })
    }

    fn compare(&self, claims: &Claims) -> Comparison {
        self.compare_claims(claims)
    }

    fn registry_checks(&self) -> BoxFuture<'_, Vec<Finding>> {
        Box::pin(async { Vec::new() })
    }

    fn attempt<'a>(
        &'a self,
        token: &'a AmbientToken,
        mask: &'a dyn MaskSink,
    ) -> BoxFuture<'a, Attempt> {
        Box::pin(self.attempt_exchange(token, mask))
    }
}
