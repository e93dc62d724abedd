//! `trustpub doctor pypi`: a token's claims compared with what PyPI's GitHub trusted publisher
//! matches on, the values for PyPI's publisher form, and a real mint that is burned at once.
//!
//! PyPI looks a publisher up by `repository` (owner and name, case-insensitive),
//! `repository_owner_id`, and the workflow file name taken from **`job_workflow_ref`** (the
//! called workflow, for reusable workflows); it then checks the environment case-insensitively
//! when the publisher names one, and refuses `pull_request_target` runs. A reusable workflow
//! from another repository can therefore never match. Refusals are translated with
//! [`explain::hints`]; the form link comes from [`PackageIndex::publisher_settings_link`].

use oidc_core::ci::{MaskSink, workflow_filename};
use oidc_core::claims::{Claims, IssuerKind};
use oidc_core::doctor::checks::ReusableWorkflow;
use oidc_core::doctor::{
    Attempt, ClaimRequirements, Comparison, ExchangeOutcome, Expectations, FieldCheck, Finding,
    FormField, PublisherField, PublisherForm, RegistryDoctor, RegistryError, Verdict,
};
use oidc_core::process::BoxFuture;
use oidc_core::{AmbientToken, Exchange, HttpClient, TokenRequest};

use crate::exchange::{PypiExchange, PypiExchangeError};
use crate::explain::{self, MATCHED_CLAIMS, TROUBLESHOOTING};
use crate::index::PackageIndex;

/// The PyPI side of a diagnosis.
pub struct PypiDoctor {
    exchange: PypiExchange,
    index: PackageIndex,
    expect: Expectations,
    project: Option<String>,
}

impl PypiDoctor {
    /// A doctor for `index`, comparing with `expect`.
    pub fn new(http: HttpClient, index: PackageIndex, expect: Expectations) -> Self {
        Self {
            exchange: PypiExchange::new(http, index.clone()),
            index,
            expect,
            project: None,
        }
    }

    /// Allows the index to ask for this audience ([`PypiExchange::with_allowed_audience`]).
    #[must_use]
    pub fn with_allowed_audience(mut self, audience: Option<String>) -> Self {
        self.exchange = self.exchange.with_allowed_audience(audience);
        self
    }

    /// Names the project, for the pre-filled publisher-settings link.
    #[must_use]
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// `PyPI` or `TestPyPI`, for messages.
    fn name(&self) -> &'static str {
        if self.index.is_testpypi() {
            "TestPyPI"
        } else {
            "PyPI"
        }
    }

    /// The comparison of GitHub claims with PyPI's matching rules.
    pub fn compare_claims(&self, claims: &Claims) -> Comparison {
        if !matches!(
            claims.issuer_kind(),
            IssuerKind::GithubCom | IssuerKind::GithubEnterprise
        ) {
            return Comparison::default();
        }
        let github = &claims.github;
        let called_file = github
            .job_workflow_ref
            .as_deref()
            .and_then(workflow_filename);
        let reusable = ReusableWorkflow::from_claims(claims);
        let mut checks = vec![
            FieldCheck::compare(
                PublisherField::Repository,
                "repository",
                github.repository.as_deref(),
                self.expect.repository.as_deref(),
                true,
            ),
            FieldCheck::compare(
                PublisherField::OwnerId,
                "repository_owner_id",
                github.repository_owner_id.as_deref(),
                None,
                false,
            ),
            FieldCheck::compare(
                PublisherField::WorkflowFilename,
                "job_workflow_ref",
                called_file,
                self.expect.workflow_filename(),
                false,
            ),
            FieldCheck::compare(
                PublisherField::Environment,
                "environment",
                github.environment.as_deref(),
                self.expect.environment.as_deref(),
                true,
            ),
            FieldCheck::requirement(
                PublisherField::Event,
                "event_name",
                github.event_name.as_deref(),
                "anything but pull_request_target",
                github.event_name.as_deref() != Some("pull_request_target"),
            ),
        ];
        if let Some(reusable) = &reusable {
            checks.push(FieldCheck::requirement(
                PublisherField::ReusableWorkflowRepository,
                "job_workflow_ref",
                Some(&reusable.called.repository),
                &format!("{} (same repository)", reusable.caller.repository),
                !reusable.cross_repository(),
            ));
        }
        let mut findings = self.missing_claims(claims);
        findings.extend(self.mismatches(&checks, claims, reusable.as_ref()));
        if let Some(reusable) = &reusable {
            findings.push(self.reusable_finding(claims, reusable));
        }
        if github.environment.is_none() && self.expect.environment.is_none() {
            findings.push(Finding::note(
                "no-environment",
                "The job has no environment",
                format!(
                    "a {} publisher that names an environment never matches this job, and without one any job of this workflow can publish",
                    self.name()
                ),
            ).with_fix("Give the publishing job `environment: pypi` (with required reviewers under Settings → Environments) and name it in the publisher"));
        }
        if self.index.is_testpypi() {
            findings.push(Finding::note(
                "testpypi-separate",
                "TestPyPI is a separate index",
                "it has its own accounts and projects: the project on test.pypi.org needs its own trusted publisher, even when pypi.org has one",
            ));
        }
        Comparison {
            checks,
            form: Some(self.form(claims, called_file)),
            findings,
        }
    }

    /// The claims PyPI requires (`Missing claim 'X'`) and a readable workflow file name.
    fn missing_claims(&self, claims: &Claims) -> Vec<Finding> {
        let mut findings = Vec::new();
        for name in [
            "repository",
            "repository_owner",
            "repository_owner_id",
            "job_workflow_ref",
            "ref",
            "sha",
        ] {
            if claims.get_text(name).is_none() {
                findings.push(Finding::error(
                    "claim-missing",
                    format!("The token has no `{name}` claim"),
                    format!(
                        "{} refuses tokens without it (`Missing claim '{name}'`)",
                        self.name()
                    ),
                ));
            }
        }
        if let Some(reference) = claims.github.job_workflow_ref.as_deref()
            && workflow_filename(reference).is_none()
        {
            findings.push(Finding::error(
                "workflow-filename-unreadable",
                "No workflow file name in `job_workflow_ref`",
                format!(
                    "`{reference}` names no `.yml`/`.yaml` file before `@`, so {} cannot look a publisher up",
                    self.name()
                ),
            ));
        }
        findings
    }

    /// One error per `--expect-*` mismatch, with the change to make.
    fn mismatches(
        &self,
        checks: &[FieldCheck],
        claims: &Claims,
        reusable: Option<&ReusableWorkflow>,
    ) -> Vec<Finding> {
        let name = self.name();
        let mut findings = Vec::new();
        for check in checks {
            if !matches!(check.verdict, Verdict::Mismatch | Verdict::Missing) {
                continue;
            }
            let value = check.value.as_deref().unwrap_or("(none)");
            let expected = check.expected.as_deref().unwrap_or_default();
            let finding = match check.field {
                PublisherField::Repository => Finding::error(
                    "repository-mismatch",
                    "The token is for another repository",
                    format!("the token's `repository` is `{value}`, the publisher is registered for `{expected}` (compared case-insensitively)"),
                )
                .with_fix(format!(
                    "Run the workflow in `{expected}`, or add a publisher for `{value}`: a renamed or transferred repository needs a new publisher ({name} also checks the owner id, which changes when a repository moves to another account)"
                )),
                PublisherField::WorkflowFilename => {
                    let caller = reusable.and_then(|r| r.caller.filename.as_deref());
                    let fix = if caller == Some(expected) {
                        format!(
                            "{name} matches the called (reusable) workflow from `job_workflow_ref`, not the caller `{expected}`: register `{value}` as the publisher's workflow name"
                        )
                    } else {
                        format!(
                            "Rename the workflow file back to `{expected}`, or change the publisher's workflow name to `{value}` (renaming a workflow file breaks its publisher)"
                        )
                    };
                    Finding::error(
                        "workflow-mismatch",
                        "The workflow file is not the registered one",
                        format!(
                            "{name} matches the file in `job_workflow_ref` ({}): `{value}`; the publisher names `{expected}`",
                            claims.github.job_workflow_ref.as_deref().unwrap_or("MISSING")
                        ),
                    )
                    .with_fix(fix)
                }
                PublisherField::Environment if check.value.is_none() => Finding::error(
                    "environment-mismatch",
                    "The job has no environment",
                    format!("the publisher names environment `{expected}`, and a publisher with an environment only matches jobs that run in it"),
                )
                .with_fix(format!(
                    "Add `environment: {expected}` to the publishing job, or clear the publisher's environment"
                )),
                PublisherField::Environment => Finding::error(
                    "environment-mismatch",
                    "The job runs in another environment",
                    format!("the job's environment is `{value}`, the publisher names `{expected}` (compared case-insensitively)"),
                )
                .with_fix(format!(
                    "Set `environment: {expected}` on the publishing job, or change the publisher's environment to `{value}`"
                )),
                // Reported by their own findings: the event by the common checks
                // (`event-pull-request-target`), the reusable workflow's repository by
                // `reusable-workflow-cross-repository`; the owner id is never compared.
                PublisherField::Event
                | PublisherField::ReusableWorkflowRepository
                | PublisherField::OwnerId => continue,
                // Not among PyPI's GitHub checks.
                PublisherField::RepositoryOwner
                | PublisherField::RepositoryOwnerId
                | PublisherField::ProjectPath
                | PublisherField::WorkflowFilepath
                | PublisherField::Runner
                | PublisherField::Audience => continue,
            };
            findings.push(finding);
        }
        findings
    }

    fn reusable_finding(&self, claims: &Claims, reusable: &ReusableWorkflow) -> Finding {
        let detail = explain::reusable_workflow(claims).unwrap_or_default();
        if reusable.cross_repository() {
            Finding::error(
                "reusable-workflow-cross-repository",
                "The job runs a reusable workflow from another repository",
                detail,
            )
            .with_fix(format!(
                "Publish from a workflow of `{}` itself: the shared workflow may build the distributions, but the job that runs trustpub must be defined in this repository",
                reusable.caller.repository
            ))
        } else {
            Finding::warning(
                "reusable-workflow",
                "The job runs a reusable workflow",
                detail,
            )
        }
    }

    /// The values for PyPI's "Add a new publisher → GitHub" form.
    fn form(&self, claims: &Claims, called_file: Option<&str>) -> PublisherForm {
        let github = &claims.github;
        let repository = github.repository.as_deref().unwrap_or_default();
        let (owner_from_repo, name) = repository.split_once('/').unwrap_or((repository, ""));
        let owner = github
            .repository_owner
            .as_deref()
            .unwrap_or(owner_from_repo);
        let file = called_file.unwrap_or_default();
        let environment = github.environment.as_deref();
        let website = self
            .index
            .website()
            .map_or_else(|| self.index.host(), str::to_owned);
        let mut fields = Vec::new();
        if self.project.is_none() {
            fields.push(FormField {
                label: "PyPI Project Name",
                value: String::new(),
                note: Some(
                    "only on the pending-publisher form, for a project that does not exist yet"
                        .to_owned(),
                ),
            });
        }
        fields.extend([
            FormField {
                label: "Owner",
                value: owner.to_owned(),
                note: None,
            },
            FormField {
                label: "Repository name",
                value: name.to_owned(),
                note: None,
            },
            FormField {
                label: "Workflow name",
                value: file.to_owned(),
                note: Some("from `job_workflow_ref`: for a reusable workflow, the called one".to_owned()),
            },
            FormField {
                label: "Environment name",
                value: environment.unwrap_or_default().to_owned(),
                note: Some(match environment {
                    Some(_) => "optional: with it, only jobs in this environment can publish; compared case-insensitively".to_owned(),
                    None => "leave empty: this job has no environment (or give it one and enter that here)".to_owned(),
                }),
            },
        ]);
        let link = self.project.as_deref().and_then(|project| {
            self.index
                .publisher_settings_link(project, owner, name, file, environment)
        });
        PublisherForm {
            location: match &self.project {
                Some(project) => format!(
                    "{website}: project `{project}` → Settings → Publishing → Add a new publisher → GitHub"
                ),
                None => format!(
                    "{website}: your project → Settings → Publishing → Add a new publisher → GitHub (a new project: Your account → Publishing → pending publisher)"
                ),
            },
            fields,
            link,
            command: None,
        }
    }

    /// Mints with `token`, then burns the minted token at once.
    pub async fn attempt_exchange(&self, token: &AmbientToken, mask: &dyn MaskSink) -> Attempt {
        let name = self.name();
        let credential = match self.exchange.mint(token).await {
            Ok(credential) => credential,
            Err(err) => return self.failed_attempt(&err),
        };
        mask.mask(credential.secret.expose());
        match self.exchange.burn(&credential).await {
            Ok(()) => Attempt {
                outcome: ExchangeOutcome::Succeeded {
                    detail: format!(
                        "{name} minted an upload token for this workflow; the doctor burned it at once"
                    ),
                },
                findings: Vec::new(),
            },
            Err(err) => Attempt {
                outcome: ExchangeOutcome::Succeeded {
                    detail: format!("{name} minted an upload token for this workflow"),
                },
                findings: vec![Finding::warning(
                    "burn-failed",
                    "The minted token could not be burned",
                    format!("{err}; it expires by itself within 15 minutes and was never shown"),
                )],
            },
        }
    }

    fn failed_attempt(&self, err: &PypiExchangeError) -> Attempt {
        match err {
            PypiExchangeError::Rejected {
                host,
                status,
                errors,
                claims,
                testpypi,
            } => {
                let fixes = explain::hints(host, errors, claims, *testpypi);
                let codes: Vec<String> = errors.iter().map(|e| format!("`{}`", e.code)).collect();
                let detail = errors
                    .iter()
                    .map(|e| format!("`{}`: {}", e.code, e.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                let fix = if fixes.is_empty() {
                    format!("See {TROUBLESHOOTING}")
                } else {
                    fixes.join("\n")
                };
                Attempt {
                    outcome: ExchangeOutcome::Refused {
                        http_status: *status,
                        errors: errors
                            .iter()
                            .map(|e| RegistryError {
                                code: Some(e.code.as_str().to_owned()),
                                description: e.description.clone(),
                            })
                            .collect(),
                        fixes,
                    },
                    findings: vec![
                        Finding::error(
                            "exchange-refused",
                            format!("{} refused the token: {}", self.name(), codes.join(", ")),
                            detail,
                        )
                        .with_fix(fix),
                    ],
                }
            }
            other => Attempt {
                outcome: ExchangeOutcome::Failed {
                    detail: other.to_string(),
                },
                findings: vec![error_finding(other)],
            },
        }
    }
}

/// An exchange error other than a refusal, as a finding.
fn error_finding(err: &PypiExchangeError) -> Finding {
    let detail = err.to_string();
    match err {
        PypiExchangeError::Disabled { .. } | PypiExchangeError::Unsupported { .. } => {
            Finding::error(
                "trusted-publishing-unavailable",
                "The index does not offer trusted publishing",
                detail,
            )
        }
        PypiExchangeError::Http(_) => Finding::error(
            "registry-unreachable",
            "The index could not be reached",
            detail,
        ),
        PypiExchangeError::Unexpected { .. } | PypiExchangeError::Rejected { .. } => {
            Finding::error("exchange-failed", "The exchange did not complete", detail)
        }
        PypiExchangeError::AudienceRefused { .. } => Finding::error(
            "audience-refused",
            "The index asked for the audience of another service",
            detail,
        ),
    }
}

impl RegistryDoctor for PypiDoctor {
    fn registry(&self) -> String {
        self.exchange.registry()
    }

    fn target(&self) -> String {
        self.index.upload_url().to_string()
    }

    fn matched_claims(&self) -> &'static [&'static str] {
        &MATCHED_CLAIMS
    }

    fn known_audience(&self) -> Option<String> {
        match self.index.website()? {
            "https://test.pypi.org" => Some("testpypi".to_owned()),
            _ => Some("pypi".to_owned()),
        }
    }

    fn requirements(&self) -> ClaimRequirements {
        ClaimRequirements {
            registry: self.name().to_owned(),
            github_hosted_runner: false,
        }
    }

    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, Finding>> {
        Box::pin(async move {
            self.exchange
                .audience()
                .await
                .map(TokenRequest::new)
                .map_err(|err| error_finding(&err))
        })
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

#[cfg(test)]
mod tests;
