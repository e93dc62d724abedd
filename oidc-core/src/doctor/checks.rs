//! The checks every ID token gets whatever the registry: the run's event, the issuer, the clock,
//! the audience, the runner; and what a failed token request means.

use crate::ci::{EventPolicy, EventSource, workflow_filename};
use crate::claims::{Claims, GITHUB_ISSUER, IssuerKind};
use crate::provider::IdentityError;

use super::{Finding, Mode};

/// The clock skew registries tolerate when they verify a token (PyPI: 30 s).
pub const CLOCK_LEEWAY_SECS: i64 = 30;

/// How far a freshly fetched token's `iat` may lie in the past before this machine's clock is
/// called ahead of the issuer's.
const FRESH_TOKEN_AGE_SECS: i64 = 120;

/// What the common checks need to know about the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequirements {
    /// The registry's short name for messages (`PyPI`, `npm`).
    pub registry: String,
    /// Whether the registry refuses tokens from self-hosted runners (npm).
    pub github_hosted_runner: bool,
}

/// The common checks: the event, the issuer, the audience, the clock and the runner.
pub fn check_claims(
    claims: &Claims,
    audience: Option<&str>,
    requirements: &ClaimRequirements,
    mode: Mode,
    now: i64,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(event_finding(claims));
    findings.extend(issuer_finding(claims, &requirements.registry));
    findings.extend(audience_finding(claims, audience, &requirements.registry));
    findings.extend(clock_findings(claims, mode, now));
    if requirements.github_hosted_runner {
        findings.extend(runner_finding(claims, &requirements.registry));
    }
    findings
}

/// The event of the run, when trustpub refuses to mint in it (`pull_request_target`).
pub fn event_refusal(claims: &Claims) -> Option<String> {
    let event = claims.github.event_name.as_deref();
    EventPolicy
        .check_event_name(event, EventSource::Token)
        .err()
        .and(event.map(str::to_owned))
}

fn event_finding(claims: &Claims) -> Option<Finding> {
    let event = claims.github.event_name.as_deref();
    let refused = match EventPolicy.check_event_name(event, EventSource::Token) {
        Ok(warnings) => {
            let warning = warnings.into_iter().next()?;
            let code = match event {
                Some("pull_request") => "event-pull-request",
                Some("workflow_run") => "event-workflow-run",
                _ => "event-issue-comment",
            };
            return Some(Finding::warning(code, warning.title, warning.message));
        }
        Err(refused) => refused,
    };
    let (code, title) = (
        "event-pull-request-target",
        "The run was triggered by `pull_request_target`",
    );
    Some(
        Finding::error(code, title, refused.to_string()).with_fix(
            "Publish from a workflow triggered by a tag push (`on: push: tags: ['v*']`), a published release (`on: release: types: [published]`) or `workflow_dispatch`",
        ),
    )
}

fn issuer_finding(claims: &Claims, registry: &str) -> Option<Finding> {
    let iss = claims.iss.as_deref().unwrap_or("MISSING");
    match claims.issuer_kind() {
        IssuerKind::GithubCom => None,
        IssuerKind::GithubEnterprise => Some(
            Finding::error(
                "issuer-github-enterprise",
                "The token comes from GitHub Enterprise Server",
                format!(
                    "its issuer is `{iss}`, but {registry} accepts GitHub tokens only from github.com (issuer `{GITHUB_ISSUER}`): no trusted publisher can match a GitHub Enterprise Server token"
                ),
            )
            .with_fix(format!(
                "Publish from a repository on github.com, or use an API token for {registry} from this server"
            )),
        ),
        IssuerKind::GitlabCom => Some(Finding::note(
            "issuer-not-github",
            "The token comes from GitLab.com",
            format!(
                "the field-by-field comparison covers GitHub Actions tokens; {registry} matches GitLab tokens on `project_path`, `ci_config_ref_uri` and `environment`, which are shown with the claims"
            ),
        )),
        IssuerKind::GitlabSelfManaged => Some(
            Finding::error(
                "issuer-gitlab-self-managed",
                "The token comes from a self-managed GitLab",
                format!(
                    "its issuer is `{iss}`; {registry} accepts GitLab tokens from gitlab.com only (PyPI also from issuers an organization registered)"
                ),
            )
            .with_fix(format!("Publish from gitlab.com, or use an API token for {registry}")),
        ),
        IssuerKind::Other => Some(Finding::warning(
            "issuer-not-github",
            "The token does not come from GitHub Actions",
            format!(
                "its issuer is `{iss}`: the field-by-field comparison covers GitHub Actions tokens only; the registry's answer to the exchange is what counts"
            ),
        )),
    }
}

fn audience_finding(claims: &Claims, expected: Option<&str>, registry: &str) -> Option<Finding> {
    let expected = expected?;
    let Some(aud) = &claims.aud else {
        return Some(Finding::error(
            "audience-missing",
            "The token has no audience",
            format!("{registry} requires `aud` to be `{expected}`"),
        ));
    };
    if !aud.contains(expected) {
        return Some(
            Finding::error(
                "audience-mismatch",
                "The token is for another audience",
                format!(
                    "its `aud` is `{}`, but {registry} requires `{expected}`: the token was requested for another registry",
                    aud.display()
                ),
            )
            .with_fix(format!(
                "Request the token for audience `{expected}` (trustpub does this itself; a token captured elsewhere must be fetched with that audience)"
            )),
        );
    }
    match aud {
        crate::claims::AudienceClaim::Many(many) if many.len() > 1 => Some(Finding::warning(
            "audience-multiple",
            "The token names several audiences",
            format!(
                "`aud` is `{}`; registries verify with a strict audience and may refuse a token with more than one",
                aud.display()
            ),
        )),
        _ => None,
    }
}

/// Clock skew: `iat`/`nbf` in the future, an expired token, or a fresh token that looks old.
fn clock_findings(claims: &Claims, mode: Mode, now: i64) -> Vec<Finding> {
    let mut findings = Vec::new();
    let (Some(iat), Some(exp)) = (claims.iat, claims.exp) else {
        findings.push(Finding::error(
            "token-times-missing",
            "The token lacks `iat` or `exp`",
            format!(
                "registries require both (iat {}, exp {}); a token without them is refused as invalid",
                shown(claims.iat),
                shown(claims.exp)
            ),
        ));
        return findings;
    };
    let ahead = [Some(iat), claims.nbf]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(iat)
        .saturating_sub(now);
    if ahead > CLOCK_LEEWAY_SECS {
        findings.push(
            Finding::error(
                "clock-skew",
                format!("The token is valid only {ahead} s from now"),
                format!(
                    "its `iat` ({iat}) or `nbf` ({}) lies {ahead} s in the future by this machine's clock: the issuer's clock is ahead or this runner's is behind. Registries allow about {CLOCK_LEEWAY_SECS} s of skew and refuse the token as invalid",
                    shown(claims.nbf)
                ),
            )
            .with_fix(
                "Synchronise the runner's clock (NTP, chrony, `timedatectl set-ntp true` on a self-hosted runner), then run the job again",
            ),
        );
    }
    // Claims are remote input: saturating arithmetic, so extreme values cannot overflow.
    let age = now.saturating_sub(iat);
    match mode {
        Mode::Live if exp.saturating_add(CLOCK_LEEWAY_SECS) < now => findings.push(
            Finding::error(
                "token-expired",
                "The token just fetched has already expired",
                format!(
                    "its `exp` ({exp}) lies {} s in the past by this machine's clock: the runner's clock is ahead of the issuer's, and registries refuse expired tokens",
                    now.saturating_sub(exp)
                ),
            )
            .with_fix("Synchronise the runner's clock (NTP, chrony), then run the job again"),
        ),
        Mode::Live if age > FRESH_TOKEN_AGE_SECS => findings.push(Finding::warning(
            "clock-skew",
            format!("The token just fetched looks {age} s old"),
            format!(
                "its `iat` ({iat}) is {age} s before this machine's time: one of the clocks is off. It works while the skew stays within the token's lifetime"
            ),
        )),
        Mode::Offline if exp < now => findings.push(Finding::note(
            "token-expired",
            "The captured token has expired",
            format!(
                "it expired {} s ago: registries would refuse it now, which says nothing about the trusted-publisher configuration the claims are compared with",
                now.saturating_sub(exp)
            ),
        )),
        _ => {}
    }
    findings
}

fn runner_finding(claims: &Claims, registry: &str) -> Option<Finding> {
    match claims.github.runner_environment.as_deref() {
        Some("github-hosted") => None,
        Some(other) => Some(
            Finding::error(
                "runner-self-hosted",
                "The job runs on a self-hosted runner",
                format!(
                    "`runner_environment` is `{other}`: {registry} trusted publishing (and provenance) works only from GitHub-hosted runners"
                ),
            )
            .with_fix(
                "Run the publishing job on a GitHub-hosted runner (`runs-on: ubuntu-latest`); build on your own runner if you must and pass the artifacts with actions/upload-artifact",
            ),
        ),
        None if claims.issuer_kind() == IssuerKind::GithubCom => Some(Finding::warning(
            "runner-unknown",
            "The token does not say where the job runs",
            format!("{registry} requires a GitHub-hosted runner; the `runner_environment` claim is missing"),
        )),
        None => None,
    }
}

/// What a failed token request means and what to change.
pub fn identity_finding(err: &IdentityError) -> Finding {
    let detail = err.to_string();
    match err {
        IdentityError::NotInCi => Finding::error("not-in-ci", "No CI identity here", detail)
            .with_fix(
                "Run `trustpub doctor` as a step of the publishing job, or explain a token captured there with `--token-file`",
            ),
        IdentityError::GithubMissingPermission { .. } => Finding::error(
            "missing-id-token-permission",
            "The job lacks the `id-token: write` permission",
            detail,
        )
        .with_fix(
            "Add `permissions: { id-token: write, contents: read }` to the publishing job (a job-level `permissions:` replaces the workflow-level one, so list `id-token: write` there)",
        ),
        IdentityError::GithubForkPullRequest { .. } => Finding::error(
            "fork-pull-request",
            "A pull request from a fork never gets an OIDC token",
            detail,
        )
        .with_fix(
            "Publish from a tag push, a published release or workflow_dispatch: events a fork cannot trigger",
        ),
        IdentityError::GitlabMissingVariable { .. } => {
            Finding::error("gitlab-missing-id-token", "The job declares no ID token", detail)
        }
        IdentityError::AudienceMismatch { .. } => Finding::error(
            "audience-mismatch",
            "The CI issued a token for another audience",
            detail,
        ),
        IdentityError::Malformed { .. } => {
            Finding::error("malformed-token", "The CI returned a malformed token", detail)
        }
        IdentityError::TokenFile { .. } => {
            Finding::error("id-token-file", "The --id-token-file cannot be read", detail)
        }
        IdentityError::GithubEndpoint { .. }
        | IdentityError::GoogleMetadata { .. }
        | IdentityError::Command { .. }
        | IdentityError::Http(_) => Finding::error(
            "token-request-failed",
            "The request for an ID token failed",
            detail,
        )
        .with_fix("Run the job again; if it persists, the CI's token service is failing"),
    }
}

/// A `owner/repo/.github/workflows/<file>@<ref>` reference, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRef {
    /// `owner/repo`.
    pub repository: String,
    /// The workflow file name, when the reference names a `.yml`/`.yaml` file.
    pub filename: Option<String>,
    /// The ref after `@`.
    pub git_ref: String,
}

impl WorkflowRef {
    /// Splits a workflow reference; `None` when it has no `@`.
    ///
    /// ```
    /// use oidc_core::doctor::checks::WorkflowRef;
    /// let r = WorkflowRef::parse("o/r/.github/workflows/release.yml@refs/tags/v1").unwrap();
    /// assert_eq!((r.repository.as_str(), r.filename.as_deref(), r.git_ref.as_str()), ("o/r", Some("release.yml"), "refs/tags/v1"));
    /// ```
    pub fn parse(reference: &str) -> Option<Self> {
        let (path, git_ref) = reference.split_once('@')?;
        let repository = path.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
        Some(Self {
            repository,
            filename: workflow_filename(reference).map(str::to_owned),
            git_ref: git_ref.to_owned(),
        })
    }
}

/// The caller and the called workflow, when the job runs inside a reusable workflow
/// (`job_workflow_ref` names another file than `workflow_ref`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReusableWorkflow {
    /// The top-level workflow (`workflow_ref`).
    pub caller: WorkflowRef,
    /// The workflow the job runs in (`job_workflow_ref`).
    pub called: WorkflowRef,
}

impl ReusableWorkflow {
    /// From the claims, when the job runs in a reusable workflow.
    pub fn from_claims(claims: &Claims) -> Option<Self> {
        let caller = claims.github.workflow_ref.as_deref()?;
        let called = claims.github.job_workflow_ref.as_deref()?;
        let path = |r: &str| r.split_once('@').map_or(r, |(p, _)| p).to_owned();
        if path(caller) == path(called) {
            return None;
        }
        Some(Self {
            caller: WorkflowRef::parse(caller)?,
            called: WorkflowRef::parse(called)?,
        })
    }

    /// Whether the called workflow lives in another repository.
    pub fn cross_repository(&self) -> bool {
        !self
            .caller
            .repository
            .eq_ignore_ascii_case(&self.called.repository)
    }
}

fn shown(value: Option<i64>) -> String {
    value.map_or_else(|| "MISSING".to_owned(), |v| v.to_string())
}
