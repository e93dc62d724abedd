//! Refusals explained field by field: what each registry matches, the token's value for it,
//! and what to change.
//!
//! crates.io matches the **calling** workflow (`workflow_ref`); RubyGems and NuGet match the
//! workflow the job runs in (`job_workflow_ref`, the reusable one when there is one). RubyGems
//! answers almost every refusal with a bare 404, so the claims are the only evidence. The
//! checks every token gets whatever the registry (event, issuer, audience, clock) are
//! [`oidc_core::doctor::check_claims`]'s.

use oidc_core::ci::commands::escape_data;
use oidc_core::ci::workflow_filename;
use oidc_core::claims::{Claims, IssuerKind};
use oidc_core::doctor::checks::ReusableWorkflow;
use oidc_core::doctor::{
    ClaimRequirements, Expectations, FieldCheck, Mode, PublisherField, Severity, check_claims,
    unix_now,
};

use crate::error::Refusal;
use crate::registry::RegistryKind;

/// The fields `registry` matches, compared with `expect` (unchecked fields are shown as they
/// are), and the registry's own requirements (`event_name`, `aud`).
pub fn field_checks(
    registry: RegistryKind,
    claims: &Claims,
    audience: &str,
    expect: &Expectations,
) -> Vec<FieldCheck> {
    let github = &claims.github;
    let mut checks = Vec::new();
    let is_gitlab = matches!(
        claims.issuer_kind(),
        IssuerKind::GitlabCom | IssuerKind::GitlabSelfManaged
    );
    let workflow_ref = match registry {
        RegistryKind::CratesIo => github.workflow_ref.as_deref(),
        RegistryKind::Rubygems | RegistryKind::Nuget => github.job_workflow_ref.as_deref(),
    };
    let claim = registry.info().workflow_claim;
    let case_insensitive = registry == RegistryKind::Nuget;
    if is_gitlab {
        let gitlab = &claims.gitlab;
        checks.push(FieldCheck::compare(
            PublisherField::ProjectPath,
            "project_path",
            gitlab.project_path.as_deref(),
            expect.repository.as_deref(),
            true,
        ));
        if registry == RegistryKind::CratesIo {
            let path = gitlab
                .ci_config_ref_uri
                .as_deref()
                .and_then(gitlab_config_path);
            checks.push(FieldCheck::compare(
                PublisherField::WorkflowFilepath,
                "ci_config_ref_uri",
                path,
                expect.workflow.as_deref(),
                false,
            ));
        }
        checks.push(FieldCheck::compare(
            PublisherField::Environment,
            "environment",
            gitlab.environment.as_deref(),
            expect.environment.as_deref(),
            registry != RegistryKind::Nuget,
        ));
    } else {
        if registry == RegistryKind::Nuget {
            checks.push(FieldCheck::compare(
                PublisherField::RepositoryOwner,
                "repository_owner",
                github.repository_owner.as_deref(),
                expect
                    .repository
                    .as_deref()
                    .and_then(|r| r.split_once('/'))
                    .map(|(owner, _)| owner),
                true,
            ));
        }
        checks.push(FieldCheck::compare(
            PublisherField::Repository,
            "repository",
            github.repository.as_deref(),
            expect.repository.as_deref(),
            registry != RegistryKind::Rubygems,
        ));
        checks.push(FieldCheck::compare(
            PublisherField::RepositoryOwnerId,
            "repository_owner_id",
            github.repository_owner_id.as_deref(),
            None,
            false,
        ));
        checks.push(FieldCheck::compare(
            PublisherField::WorkflowFilename,
            claim,
            workflow_ref.and_then(workflow_filename),
            expect.workflow_filename(),
            case_insensitive,
        ));
        checks.push(FieldCheck::compare(
            PublisherField::Environment,
            "environment",
            github.environment.as_deref(),
            expect.environment.as_deref(),
            registry != RegistryKind::Rubygems,
        ));
        if registry == RegistryKind::CratesIo {
            let event = github.event_name.as_deref();
            checks.push(FieldCheck::requirement(
                PublisherField::Event,
                "event_name",
                event,
                "not pull_request_target or workflow_run",
                event.is_some_and(|e| !matches!(e, "pull_request_target" | "workflow_run")),
            ));
        }
    }
    let aud = claims.aud.as_ref().map(|a| a.display());
    checks.push(FieldCheck::requirement(
        PublisherField::Audience,
        "aud",
        aud.as_deref(),
        audience,
        claims.aud.as_ref().is_some_and(|a| a.contains(audience)),
    ));
    checks
}

/// The path of the CI file in a GitLab `ci_config_ref_uri`
/// (`gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main` → `.gitlab-ci.yml`).
pub fn gitlab_config_path(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("//")?;
    let (path, _) = rest.rsplit_once('@')?;
    Some(path)
}

/// What to change for a refusal, most specific first.
pub fn hints(refusal: &Refusal, audience: &str) -> Vec<String> {
    let claims = &refusal.claims;
    let github = &claims.github;
    let text = refusal.messages.join("\n").to_ascii_lowercase();
    let info = refusal.registry.info();
    let display = info.display;
    let mut hints = Vec::new();
    let requirements = ClaimRequirements {
        registry: display.to_owned(),
        github_hosted_runner: false,
    };
    for finding in check_claims(
        claims,
        Some(audience),
        &requirements,
        Mode::Live,
        unix_now(),
    ) {
        if finding.severity == Severity::Error {
            hints.push(match &finding.fix {
                Some(fix) => format!("{}: {}", finding.title, fix),
                None => format!("{}: {}", finding.title, finding.detail),
            });
        }
    }
    if text.contains("already been used") {
        hints.push(format!(
            "{display} accepts each ID token once: trustpub fetches a fresh one for every attempt, so another step (or a captured token) used this one first"
        ));
    }
    let caller = github.workflow_ref.as_deref().and_then(workflow_filename);
    let called = github
        .job_workflow_ref
        .as_deref()
        .and_then(workflow_filename);
    let repository = github.repository.as_deref().unwrap_or("MISSING");
    let environment = github.environment.as_deref().unwrap_or("(none)");
    match refusal.registry {
        RegistryKind::CratesIo => {
            if text.contains("no trusted publishing config found") {
                hints.push(format!(
                    "crates.io has no trusted publisher for repository `{repository}`: add one under the crate's Settings → Trusted Publishing (the crate must exist: publish its first version with an API token)"
                ));
            }
            if text.contains("requires an environment") {
                hints.push(
                    "the crates.io config names an environment: add `environment: <that name>` to the publishing job"
                        .to_owned(),
                );
            }
            if text.contains("unsupported jwt issuer") {
                hints.push(format!(
                    "crates.io accepts ID tokens from github.com and gitlab.com only (this one: `{}`)",
                    claims.iss.as_deref().unwrap_or("MISSING")
                ));
            }
            if text.contains("failed to decode jwt") {
                hints.push(format!(
                    "crates.io could not verify the token: it must be for audience `{audience}` (the registry URL without `https://`), unexpired, from a clock within 60 s"
                ));
            }
            hints.push(format!(
                "crates.io matches repository `{repository}` (case-insensitive), repository_owner_id `{}`, the calling workflow's file `{}` (from workflow_ref, exact) and environment `{environment}` when the config names one",
                github.repository_owner_id.as_deref().unwrap_or("MISSING"),
                caller.unwrap_or("MISSING"),
            ));
            if let Some(reusable) = ReusableWorkflow::from_claims(claims) {
                hints.push(format!(
                    "this job runs in a reusable workflow (`{}`): crates.io matches the calling workflow `{}`, so register the caller's file",
                    reusable.called.filename.as_deref().unwrap_or("?"),
                    reusable.caller.filename.as_deref().unwrap_or("?"),
                ));
            }
        }
        RegistryKind::Rubygems => {
            if refusal.status == 404 {
                hints.push(
                    "RubyGems answers a bare 404 for every trust failure (no publisher, wrong workflow, wrong environment, wrong audience, unknown issuer), so compare the fields below with the gem's trusted publisher"
                        .to_owned(),
                );
            }
            if let Some(missing) = text.strip_prefix("missing/invalid ") {
                hints.push(format!(
                    "the token lacks a valid `{missing}` claim: RubyGems needs integer `nbf`, `iat`, `exp` and string `iss`, `jti`"
                ));
            }
            hints.push(format!(
                "RubyGems matches repository `{repository}`, repository_owner_id `{}`, the workflow file the job runs in `{}` (from job_workflow_ref) and environment `{environment}` (a publisher with an environment matches only jobs in it; one without matches any)",
                github.repository_owner_id.as_deref().unwrap_or("MISSING"),
                called.unwrap_or("MISSING"),
            ));
            if let Some(reusable) = ReusableWorkflow::from_claims(claims) {
                let other = if reusable.cross_repository() {
                    format!(
                        ", and since it lives in `{}` the publisher must name that workflow repository",
                        reusable.called.repository
                    )
                } else {
                    String::new()
                };
                hints.push(format!(
                    "this job runs in a reusable workflow: RubyGems matches the called file `{}`, not the caller `{}`{other}",
                    reusable.called.filename.as_deref().unwrap_or("?"),
                    reusable.caller.filename.as_deref().unwrap_or("?"),
                ));
            }
            hints.push(
                "a gem that does not exist yet needs a pending trusted publisher (your profile → Pending trusted publishers)"
                    .to_owned(),
            );
        }
        RegistryKind::Nuget => {
            let user = refusal.user.as_deref().unwrap_or("?");
            if text.contains("no matching trust policy") {
                hints.push(format!(
                    "NuGet found no trust policy of user `{user}` matching this token: --user must be the nuget.org profile name that created the policy (not an organization), and the policy must name this repository and workflow"
                ));
            }
            if text.contains("expired") || text.contains("renew") {
                hints.push("the trust policy was not used within 7 days of its creation: renew it on nuget.org (Trusted Publishing → the policy → Renew)".to_owned());
            }
            if refusal.status == 400 {
                hints.push(format!(
                    "NuGet refused the request itself: check that `{user}` is a user (not an organization) and that the account is confirmed and not locked"
                ));
            }
            hints.push(format!(
                "NuGet matches owner `{}` and repository `{repository}` (case-insensitive), the workflow file the job runs in `{}` (from job_workflow_ref, case-insensitive; it must live in the same repository) and environment `{environment}` when the policy names one",
                github.repository_owner.as_deref().unwrap_or("MISSING"),
                called.unwrap_or("MISSING"),
            ));
            if let Some(reusable) = ReusableWorkflow::from_claims(claims)
                && reusable.cross_repository()
            {
                hints.push(format!(
                    "the job runs in a reusable workflow of another repository (`{}`): NuGet matches only workflows of the repository itself",
                    reusable.called.repository
                ));
            }
        }
    }
    hints
}

/// The whole explanation of a refusal, safe to print: the registry's words (escaped), the
/// claims it matched on, field by field, and what to change.
pub fn render_refusal(refusal: &Refusal) -> String {
    let info = refusal.registry.info();
    let audience = refusal.audience.as_str();
    let messages: Vec<String> = refusal
        .messages
        .iter()
        .map(|m| escape_data(&oidc_core::http::truncate(m, 500)))
        .collect();
    let mut text = format!(
        "{} refused the trusted-publishing exchange: {} answered {}: {}\n",
        info.display,
        refusal.host,
        refusal.status,
        messages.join("; ")
    );
    text.push_str(&format!(
        "\nThe token's claims {} matched on (not secret; they must match the trusted publisher):\n",
        info.display
    ));
    for check in field_checks(
        refusal.registry,
        &refusal.claims,
        audience,
        &Expectations::default(),
    ) {
        text.push_str(&format!(
            "  {:<20} {:<20} {}\n",
            check.field,
            check.claim,
            escape_data(check.value.as_deref().unwrap_or("MISSING"))
        ));
    }
    let hints = hints(refusal, audience);
    if !hints.is_empty() {
        text.push_str("\nWhat to check:\n");
        for hint in hints {
            text.push_str(&format!("  - {}\n", escape_data(&hint)));
        }
    }
    text.push_str(&format!(
        "\nDiagnose it in the job: trustpub doctor {}. Docs: {}",
        info.name, info.docs
    ));
    text
}
