//! `trustpub doctor npm`: a token's claims compared with what an npm trusted publisher matches
//! on, the values for npm's trusted-publisher form, whether the package exists, and a real
//! exchange whose token is discarded.
//!
//! npm matches the `repository` claim and the file name of the **calling** workflow
//! (`workflow_ref`, not `job_workflow_ref`), both case-sensitively, and the environment when the
//! publisher names one; the token must be for `npm:<registry host>` and come from a GitHub-hosted
//! runner; and a publisher can only be added to a package that already exists. Refusals are
//! translated with [`crate::exchange::hints`].

use oidc_core::ci::{MaskSink, workflow_filename};
use oidc_core::claims::{Claims, IssuerKind};
use oidc_core::doctor::checks::ReusableWorkflow;
use oidc_core::doctor::{
    Attempt, ClaimRequirements, Comparison, ExchangeOutcome, Expectations, FieldCheck, Finding,
    FormField, PublisherField, PublisherForm, RegistryDoctor, RegistryError, Verdict,
};
use oidc_core::process::BoxFuture;
use oidc_core::{AmbientToken, HttpClient, HttpError, TokenRequest};
use tokio::sync::OnceCell;

use crate::exchange::{MATCHED_CLAIMS, NpmExchange, NpmExchangeError, hints};
use crate::package::{PackageName, package_url};
use crate::registry::NpmRegistry;

/// Whether the registry knows a package, asked anonymously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackagePresence {
    /// Its packument is public: it has published versions.
    Published,
    /// The registry knows it (its visibility route answers), without a public packument.
    Registered,
    /// Neither route knows it: never published, or private (hidden from anonymous requests).
    NotFound,
    /// The registry answered neither yes nor no (a 401, a 5xx).
    Unknown,
}

/// The npm side of a diagnosis.
pub struct NpmDoctor {
    http: HttpClient,
    registry: NpmRegistry,
    package: Option<PackageName>,
    expect: Expectations,
    presence: OnceCell<PackagePresence>,
}

impl NpmDoctor {
    /// A doctor for `package` (the exchange is per package: without one it is not attempted)
    /// on `registry`, comparing with `expect`.
    pub fn new(
        http: HttpClient,
        registry: NpmRegistry,
        package: Option<PackageName>,
        expect: Expectations,
    ) -> Self {
        Self {
            http,
            registry,
            package,
            expect,
            presence: OnceCell::new(),
        }
    }

    /// Asks the registry, anonymously, whether `package` exists: its packument, then its
    /// visibility route (which also knows packages that have a publisher but no public version).
    pub async fn package_presence(
        &self,
        package: &PackageName,
    ) -> Result<PackagePresence, HttpError> {
        let packument = package_url(self.registry.url(), package);
        let visibility = self
            .registry
            .origin_path(&format!("/-/package/{}/visibility", package.escaped()));
        let mut statuses = Vec::new();
        for (what, url) in [
            ("npm packument lookup", packument),
            ("npm package visibility lookup", visibility),
        ] {
            let response = self
                .http
                .send(what, &url, |c| {
                    c.get(url.clone()).header("Accept", "application/json")
                })
                .await?;
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(if statuses.is_empty() {
                    PackagePresence::Published
                } else {
                    PackagePresence::Registered
                });
            }
            statuses.push(status);
        }
        Ok(if statuses.iter().all(|s| *s == 404) {
            PackagePresence::NotFound
        } else {
            PackagePresence::Unknown
        })
    }

    /// The comparison of GitHub claims with npm's matching rules.
    pub fn compare_claims(&self, claims: &Claims) -> Comparison {
        if !matches!(
            claims.issuer_kind(),
            IssuerKind::GithubCom | IssuerKind::GithubEnterprise
        ) {
            return Comparison::default();
        }
        let github = &claims.github;
        let caller_file = github.workflow_ref.as_deref().and_then(workflow_filename);
        let runner = github.runner_environment.as_deref();
        let audience = self.registry.audience();
        let aud = claims.aud.as_ref().map(|a| a.display());
        let checks = vec![
            FieldCheck::compare(
                PublisherField::Repository,
                "repository",
                github.repository.as_deref(),
                self.expect.repository.as_deref(),
                false,
            ),
            FieldCheck::compare(
                PublisherField::WorkflowFilename,
                "workflow_ref",
                caller_file,
                self.expect.workflow_filename(),
                false,
            ),
            FieldCheck::compare(
                PublisherField::Environment,
                "environment",
                github.environment.as_deref(),
                self.expect.environment.as_deref(),
                false,
            ),
            FieldCheck::requirement(
                PublisherField::Runner,
                "runner_environment",
                runner,
                "github-hosted",
                runner == Some("github-hosted"),
            ),
            FieldCheck::requirement(
                PublisherField::Audience,
                "aud",
                aud.as_deref(),
                &audience,
                claims.aud.as_ref().is_some_and(|a| a.contains(&audience)),
            ),
        ];
        let reusable = ReusableWorkflow::from_claims(claims);
        let mut findings = self.mismatches(&checks, reusable.as_ref());
        if let Some(reusable) = &reusable {
            findings.push(Finding::note(
                "reusable-workflow",
                "The job runs a reusable workflow",
                format!(
                    "npm matches the calling workflow `{}` (from workflow_ref), not the called `{}` (job_workflow_ref){}",
                    reusable.caller.filename.as_deref().unwrap_or("?"),
                    reusable.called.filename.as_deref().unwrap_or("?"),
                    if reusable.cross_repository() { format!(", which lives in `{}`", reusable.called.repository) } else { String::new() },
                ),
            ).with_fix("Register the calling workflow's file in the trusted publisher, and grant `id-token: write` to both the calling job and the reusable workflow's job"));
        }
        if github
            .repository_visibility
            .as_deref()
            .is_some_and(|v| v != "public")
        {
            findings.push(Finding::note(
                "provenance-private-repository",
                "The repository is not public",
                format!(
                    "`repository_visibility` is `{}`: npm refuses provenance from non-public repositories, so publish without provenance",
                    github.repository_visibility.as_deref().unwrap_or_default()
                ),
            ));
        }
        Comparison {
            checks,
            form: Some(self.form(claims, caller_file)),
            findings,
        }
    }

    fn mismatches(
        &self,
        checks: &[FieldCheck],
        reusable: Option<&ReusableWorkflow>,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        for check in checks {
            if !matches!(check.verdict, Verdict::Mismatch | Verdict::Missing) {
                continue;
            }
            let value = check.value.as_deref().unwrap_or("(none)");
            let expected = check.expected.as_deref().unwrap_or_default();
            let finding = match check.field {
                PublisherField::Repository => {
                    let case = if value.eq_ignore_ascii_case(expected) {
                        " (they differ only in case, and npm compares case-sensitively)"
                    } else {
                        ""
                    };
                    Finding::error(
                        "repository-mismatch",
                        "The token is for another repository",
                        format!("the token's `repository` is `{value}`, the publisher names `{expected}`{case}"),
                    )
                    .with_fix(format!(
                        "Set the trusted publisher's repository to `{value}` exactly as GitHub spells it, or publish from `{expected}` (a deleted and recreated repository needs its publisher deleted and added again)"
                    ))
                }
                PublisherField::WorkflowFilename => {
                    let called = reusable.and_then(|r| r.called.filename.as_deref());
                    let fix = if called == Some(expected) {
                        format!(
                            "npm matches the calling workflow `{value}` (workflow_ref), not the reusable one: register `{value}` in the trusted publisher"
                        )
                    } else {
                        format!(
                            "Rename the workflow file back to `{expected}`, or set the trusted publisher's workflow filename to `{value}` (file name only, case-sensitive, `.yml` and `.yaml` differ)"
                        )
                    };
                    Finding::error(
                        "workflow-mismatch",
                        "The calling workflow is not the registered one",
                        format!("npm matches the file in `workflow_ref`: `{value}`; the publisher names `{expected}`"),
                    )
                    .with_fix(fix)
                }
                PublisherField::Environment if check.value.is_none() => Finding::error(
                    "environment-mismatch",
                    "The job has no environment",
                    format!("the publisher names environment `{expected}`, and npm then requires the job to run in it"),
                )
                .with_fix(format!(
                    "Add `environment: {expected}` to the publishing job, or clear the publisher's environment"
                )),
                PublisherField::Environment => Finding::error(
                    "environment-mismatch",
                    "The job runs in another environment",
                    format!("the job's environment is `{value}`, the publisher names `{expected}` (compared exactly)"),
                )
                .with_fix(format!(
                    "Set `environment: {expected}` on the publishing job, or change the publisher's environment to `{value}`"
                )),
                // Reported by the common checks (`runner-self-hosted`, `audience-mismatch`).
                PublisherField::Runner | PublisherField::Audience => continue,
                // Not among npm's GitHub checks.
                PublisherField::RepositoryOwner
                | PublisherField::RepositoryOwnerId
                | PublisherField::OwnerId
                | PublisherField::ProjectPath
                | PublisherField::WorkflowFilepath
                | PublisherField::ReusableWorkflowRepository
                | PublisherField::Event => continue,
            };
            findings.push(finding);
        }
        findings
    }

    /// The values for npm's trusted-publisher form, and the `npm trust` command.
    fn form(&self, claims: &Claims, caller_file: Option<&str>) -> PublisherForm {
        let github = &claims.github;
        let repository = github.repository.as_deref().unwrap_or_default();
        let (owner, name) = repository.split_once('/').unwrap_or((repository, ""));
        let file = caller_file.unwrap_or_default();
        let environment = github.environment.as_deref();
        let package = self
            .package
            .as_ref()
            .map_or("<package>", PackageName::as_str);
        let mut command = format!("npm trust github {package} --repo {repository} --file {file}");
        if let Some(environment) = environment {
            command.push_str(&format!(" --env {environment}"));
        }
        command.push_str(" --allow-publish");
        let npmjs = self.registry.url().host_str() == Some("registry.npmjs.org");
        PublisherForm {
            location: format!(
                "{}: package `{package}` → Settings → Trusted Publisher → GitHub Actions",
                if npmjs {
                    "npmjs.com".to_owned()
                } else {
                    self.registry.host()
                }
            ),
            fields: vec![
                FormField {
                    label: "Organization or user",
                    value: owner.to_owned(),
                    note: Some("case-sensitive".to_owned()),
                },
                FormField {
                    label: "Repository",
                    value: name.to_owned(),
                    note: Some("case-sensitive".to_owned()),
                },
                FormField {
                    label: "Workflow filename",
                    value: file.to_owned(),
                    note: Some(
                        "the calling workflow, from `workflow_ref`; file name only".to_owned(),
                    ),
                },
                FormField {
                    label: "Environment name",
                    value: environment.unwrap_or_default().to_owned(),
                    note: Some(match environment {
                        Some(_) => "optional: with it, only jobs in this environment can publish"
                            .to_owned(),
                        None => "leave empty: this job has no environment".to_owned(),
                    }),
                },
            ],
            link: match &self.package {
                Some(package) if npmjs => Some(format!(
                    "https://www.npmjs.com/package/{}/access",
                    package.as_str()
                )),
                _ => None,
            },
            command: Some(command),
        }
    }

    /// Exchanges `token` for a publish token of the package, which is then dropped unused.
    pub async fn attempt_exchange(&self, token: &AmbientToken, mask: &dyn MaskSink) -> Attempt {
        let Some(package) = &self.package else {
            return Attempt {
                outcome: ExchangeOutcome::NotAttempted {
                    reason: "no package: npm exchanges tokens per package (pass --package)"
                        .to_owned(),
                },
                findings: Vec::new(),
            };
        };
        let exchange = NpmExchange::new(self.http.clone(), self.registry.clone(), package.clone());
        match exchange.exchange_token(token).await {
            Ok(credential) => {
                mask.mask(credential.secret.expose());
                Attempt {
                    outcome: ExchangeOutcome::Succeeded {
                        detail: format!(
                            "npm issued a publish token for {package}; the doctor dropped it unused (npm has no revocation for it; it expires by itself)"
                        ),
                    },
                    findings: Vec::new(),
                }
            }
            Err(NpmExchangeError::Rejected {
                package: name,
                status,
                message,
                claims,
                ..
            }) => {
                let fixes = hints(&name, status, &message, &claims);
                let mut findings = vec![
                    Finding::error(
                        "exchange-refused",
                        format!("npm refused the token ({status})"),
                        message.clone(),
                    )
                    .with_fix(if fixes.is_empty() {
                        "See https://docs.npmjs.com/trusted-publishers".to_owned()
                    } else {
                        fixes.join("\n")
                    }),
                ];
                if status == 404 && self.presence.get() == Some(&PackagePresence::NotFound) {
                    findings.push(
                        Finding::error(
                            "package-not-found",
                            format!("{name} does not exist on {}", self.registry.host()),
                            "npm answers the exchange with `package not found`, and the registry does not know the package: a trusted publisher can only be added to a package that already exists",
                        )
                        .with_fix(format!(
                            "Publish the first version of {name} with a token (`trustpub npm publish --token …` or `npm publish`), add the trusted publisher in its settings, then delete the token"
                        )),
                    );
                }
                Attempt {
                    outcome: ExchangeOutcome::Refused {
                        http_status: status,
                        errors: vec![RegistryError {
                            code: None,
                            description: message,
                        }],
                        fixes,
                    },
                    findings,
                }
            }
            Err(err) => {
                let (code, title) = match &err {
                    NpmExchangeError::Http(_) => {
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

    /// Whether the package exists, remembered for explaining a refusal.
    async fn presence_findings(&self) -> Vec<Finding> {
        let Some(package) = &self.package else {
            return vec![Finding::warning(
                "package-unknown",
                "No package named",
                "npm trusted publishers and token exchanges are per package: without one, the doctor compares the claims but cannot try the exchange",
            ).with_fix("Pass --package NAME, or run the doctor where the package's package.json is")];
        };
        let presence = match self.package_presence(package).await {
            Ok(presence) => presence,
            Err(err) => {
                return vec![Finding::warning(
                    "registry-unreachable",
                    "The registry could not be asked whether the package exists",
                    err.to_string(),
                )];
            }
        };
        let _ = self.presence.set(presence);
        match presence {
            PackagePresence::NotFound => vec![Finding::warning(
                "package-not-visible",
                format!("{} is unknown to {}", package, self.registry.host()),
                "neither its packument nor its visibility route answers: it was never published, or it is private. npm only lets a trusted publisher be added to an existing package",
            )],
            _ => Vec::new(),
        }
    }
}

impl RegistryDoctor for NpmDoctor {
    fn registry(&self) -> String {
        format!("npm ({})", self.registry.host())
    }

    fn target(&self) -> String {
        self.registry.url().to_string()
    }

    fn matched_claims(&self) -> &'static [&'static str] {
        &MATCHED_CLAIMS
    }

    fn known_audience(&self) -> Option<String> {
        Some(self.registry.audience())
    }

    fn requirements(&self) -> ClaimRequirements {
        ClaimRequirements {
            registry: "npm".to_owned(),
            github_hosted_runner: true,
        }
    }

    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, Finding>> {
        let request =
            TokenRequest::new(self.registry.audience()).with_token_variable("NPM_ID_TOKEN");
        Box::pin(async move { Ok(request) })
    }

    fn compare(&self, claims: &Claims) -> Comparison {
        self.compare_claims(claims)
    }

    fn registry_checks(&self) -> BoxFuture<'_, Vec<Finding>> {
        Box::pin(self.presence_findings())
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
