//! Explaining a refused mint: each error the index gave, the claims it matched on, and what to
//! change, for the common causes (environment, renamed workflow, reusable workflow,
//! `pull_request_target`, TestPyPI's separate publishers, GitHub Enterprise Server).
//!
//! The refusal is read into typed values first ([`MintError`], [`MintErrorCode`],
//! [`MintCause`], [`PublisherMismatch`]); [`hints`] picks its advice from those and from the
//! token's claims. Warehouse's descriptions are matched as text only where its code does not
//! tell the causes apart; [the `refusal` module](refusal) lists each such text and why.

pub mod refusal;

use oidc_core::ci::workflow_filename;
use oidc_core::claims::{Claims, IssuerKind};

pub use refusal::{MintCause, MintError, MintErrorCode, PublisherMismatch};

/// The claims PyPI's GitHub publisher matches on, in the order gh-action-pypi-publish shows them.
pub const MATCHED_CLAIMS: [&str; 9] = [
    "sub",
    "repository",
    "repository_owner",
    "repository_owner_id",
    "workflow_ref",
    "job_workflow_ref",
    "ref",
    "environment",
    "event_name",
];

/// The claims Warehouse's GitHub publisher compares (`warehouse/oidc/models/github.py`):
/// repository (case-insensitively), owner, owner id, the workflow in `job_workflow_ref`, the
/// environment when the publisher names one, and `event_name` (never `pull_request_target`).
pub const COMPARED_CLAIMS: [&str; 6] = [
    "repository",
    "repository_owner",
    "repository_owner_id",
    "job_workflow_ref",
    "environment",
    "event_name",
];

/// Claims shown for context that Warehouse does not compare (`sub` since warehouse#19422,
/// `workflow_ref` never; `ref` and `sha` only need to be present).
pub const UNCOMPARED_CLAIMS: [&str; 3] = ["sub", "workflow_ref", "ref"];

/// Where PyPI documents trusted-publishing failures.
pub const TROUBLESHOOTING: &str = "https://docs.pypi.org/trusted-publishers/troubleshooting/";

/// The full explanation of a refused mint.
pub fn render_rejection(
    host: &str,
    status: &u16,
    errors: &[MintError],
    claims: &Claims,
    testpypi: &bool,
) -> String {
    let mut text = format!(
        "Token request failed: {host} refused the ID token ({status}) for the following reasons:\n"
    );
    for error in errors {
        text.push_str(&format!("  * `{}`: {}\n", error.code, error.description));
    }
    text.push_str("\nThe token's claims PyPI matched on (not secret; they must match the trusted publisher):\n");
    for (name, value) in claims.display_subset(&COMPARED_CLAIMS) {
        text.push_str(&format!("  {name:<20} {value}\n"));
    }
    text.push_str("\nOther claims, for context (PyPI does not compare them):\n");
    for (name, value) in claims.display_subset(&UNCOMPARED_CLAIMS) {
        text.push_str(&format!("  {name:<20} {value}\n"));
    }
    let hints = hints(host, errors, claims, *testpypi);
    if !hints.is_empty() {
        text.push_str("\nWhat to check:\n");
        for hint in hints {
            text.push_str(&format!("  - {hint}\n"));
        }
    }
    text.push_str(&format!("\nTroubleshooting: {TROUBLESHOOTING}"));
    text
}

/// What to change, one sentence each, most specific first: chosen by each error's
/// [`MintCause`] and the token's claims (`event_name`, the issuer, the reusable workflow).
pub fn hints(host: &str, errors: &[MintError], claims: &Claims, testpypi: bool) -> Vec<String> {
    let github = &claims.github;
    let mut hints = Vec::new();
    let mut push = |hint: String| {
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    };
    if github.event_name.as_deref() == Some("pull_request_target") {
        push("this run was triggered by `pull_request_target`, which PyPI refuses outright: publish from a tag push, a published release or workflow_dispatch".to_owned());
    }
    if let Some(reusable) = reusable_workflow(claims) {
        push(reusable);
    }
    for error in errors {
        match error.cause() {
            MintCause::UnknownIssuer => push(unknown_issuer_hint(host, claims)),
            MintCause::Payload => push(format!(
                "{host} could not read the token request: the token may be damaged in transit (a proxy?) or the index speaks another protocol version"
            )),
            MintCause::NotEnabled => push(format!(
                "trusted publishing for this provider is switched off on {host} by its administrators: use an API token until it is back"
            )),
            MintCause::InvalidToken => push(format!(
                "{host} could not verify the token: it may have expired before it was sent, or the runner's clock is off (iat {}, nbf {}, exp {}); trustpub fetches a fresh token for every mint, so re-run the job, and check the runner's time sync",
                shown_time(claims.iat),
                shown_time(claims.nbf),
                shown_time(claims.exp),
            )),
            MintCause::PendingProjectExists => push(
                "a pending publisher matched, but the project already exists: a pending publisher only creates a new project. Add a regular trusted publisher under the project's Settings → Publishing instead"
                    .to_owned(),
            ),
            MintCause::ReusedToken => push(
                "this ID token was already used to mint a token (each mints once): another step may have used it; re-run the job (trustpub fetches a fresh token for each mint)"
                    .to_owned(),
            ),
            MintCause::NoPublisher(mismatch) => {
                push(no_publisher_hint(host, &mismatch, claims));
                if testpypi {
                    push("TestPyPI is a separate index with separate accounts: the project on test.pypi.org needs its own trusted publisher".to_owned());
                }
            }
            MintCause::Unknown { code } => push(format!(
                "`{}` is not an error code trustpub knows (Warehouse's are {}): {host} may run another version or another server; its description above is all there is to go on",
                oidc_core::http::escape_remote(&code, 100),
                MintErrorCode::KNOWN
                    .iter()
                    .map(MintErrorCode::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }
    hints
}

fn shown(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "(none)".to_owned())
}

fn shown_time(value: Option<i64>) -> String {
    value.map_or_else(|| "MISSING".into(), |v| v.to_string())
}

/// `invalid-payload` `unknown trusted publishing issuer`: a GitHub Enterprise Server token, or
/// an issuer PyPI does not know at all.
fn unknown_issuer_hint(host: &str, claims: &Claims) -> String {
    if claims.issuer_kind() == IssuerKind::GithubEnterprise {
        format!(
            "the token comes from GitHub Enterprise Server (issuer `{}`); PyPI accepts GitHub tokens only from github.com (`https://token.actions.githubusercontent.com`): publish from a github.com repository or use an API token",
            shown(&claims.iss)
        )
    } else {
        format!(
            "{host} does not know the issuer `{}`: PyPI accepts GitHub.com, GitLab.com, Google Cloud and ActiveState tokens",
            shown(&claims.iss)
        )
    }
}

/// `invalid-publisher`: the advice for each reason Warehouse gives.
fn no_publisher_hint(host: &str, mismatch: &PublisherMismatch, claims: &Claims) -> String {
    let github = &claims.github;
    let called_file = github
        .job_workflow_ref
        .as_deref()
        .and_then(workflow_filename);
    let workflow = || {
        format!(
            "the workflow in `job_workflow_ref` ({}) is not the one registered: the publisher's workflow filename must be `{}` and live in `{}`",
            shown(&github.job_workflow_ref),
            called_file.unwrap_or("(unknown)"),
            shown(&github.repository),
        )
    };
    match mismatch {
        PublisherMismatch::MissingClaim(claim)
        | PublisherMismatch::RequiredClaimFailed(claim)
        | PublisherMismatch::OptionalClaimFailed(claim)
            if claim == "environment" =>
        {
            format!(
            "the trusted publisher on {host} names an environment, and this job's `environment` claim is {}: set `environment: <name>` on the publishing job exactly as registered (compared case-insensitively), or change the environment in the publisher",
            github
                .environment
                .as_deref()
                .map_or_else(|| "absent".to_owned(), |e| format!("`{e}`"))
            )
        }
        PublisherMismatch::MissingClaim(claim) | PublisherMismatch::RequiredClaimFailed(claim)
            if claim == "job_workflow_ref" =>
        {
            workflow()
        }
        PublisherMismatch::PullRequestTarget => "PyPI refuses tokens from `pull_request_target` runs: publish from a tag push, a release or workflow_dispatch".to_owned(),
        PublisherMismatch::IssuerMismatch => format!(
            "the publisher expects another issuer than this token's `{}`: GitHub Enterprise Server tokens do not work with PyPI's GitHub publishers",
            shown(&claims.iss)
        ),
        PublisherMismatch::WorkflowRef => workflow(),
        PublisherMismatch::MissingClaim(claim) if claims.get_text(claim).is_none() => format!(
            "the token has no `{}` claim, which PyPI requires of a GitHub Actions token: the token does not come from a GitHub Actions job, or its claims were customised",
            oidc_core::http::escape_remote(claim, 100)
        ),
        PublisherMismatch::MissingClaim(_) | PublisherMismatch::RequiredClaimFailed(_) => format!(
            "a required claim does not match the publisher: was the repository renamed or transferred? PyPI checks `repository` ({}), `repository_owner` ({}) and `repository_owner_id` ({}); the owner id changes when a repository moves to another account",
            shown(&github.repository),
            shown(&github.repository_owner),
            shown(&github.repository_owner_id),
        ),
        PublisherMismatch::OptionalClaimFailed(_)
        | PublisherMismatch::RefAndShaEmpty
        | PublisherMismatch::NotFound
        | PublisherMismatch::Unrecognized => {
            let environment = match github.environment.as_deref() {
                Some(env) => format!(
                    "and environment `{env}` (a publisher with no environment accepts any; one with an environment must name `{env}`, case-insensitively)"
                ),
                None => "and no environment (this job has none, so a publisher that names an environment never matches: add `environment: <name>` to the job, or clear the publisher's environment)".to_owned(),
            };
            format!(
                "no trusted publisher on {host} matches owner `{}`, repository `{}` (owner id {}), workflow file `{}` {environment}. Compare each with the publisher's fields: a renamed or moved workflow file, a renamed repository or a typo are the usual causes",
                shown(&github.repository_owner),
                github
                    .repository
                    .as_deref()
                    .and_then(|r| r.split_once('/'))
                    .map_or("(none)", |(_, name)| name),
                shown(&github.repository_owner_id),
                called_file.unwrap_or("(unknown)"),
            )
        }
    }
}

/// gh-action-pypi-publish's warning before minting from a reusable workflow (its
/// `oidc-exchange.py` compares `workflow_ref` with `job_workflow_ref`), with the value each
/// registry matches: PyPI the called workflow (`job_workflow_ref`), npm the caller
/// (`workflow_ref`).
pub fn reusable_workflow_warning(claims: &Claims) -> Option<String> {
    let github = &claims.github;
    let caller = github.workflow_ref.as_deref()?;
    let called = github.job_workflow_ref.as_deref()?;
    if caller == called {
        return None;
    }
    Some(format!(
        "this job runs in a reusable workflow (job_workflow_ref `{called}`, called from workflow_ref `{caller}`). PyPI matches the trusted publisher on the called workflow: `{}` in `{}`; npm matches the caller: `{}`. Publishing from reusable workflows is not supported by gh-action-pypi-publish (pypa/gh-action-pypi-publish#166) and fails for a workflow from another repository",
        workflow_filename(called).unwrap_or("(unknown)"),
        called.splitn(3, '/').take(2).collect::<Vec<_>>().join("/"),
        workflow_filename(caller).unwrap_or("(unknown)"),
    ))
}

/// The reusable-workflow explanation, when `job_workflow_ref` names another workflow than
/// `workflow_ref`.
pub fn reusable_workflow(claims: &Claims) -> Option<String> {
    let github = &claims.github;
    let caller = github.workflow_ref.as_deref()?;
    let called = github.job_workflow_ref.as_deref()?;
    let path = |r: &str| r.split_once('@').map_or(r, |(p, _)| p).to_owned();
    if path(caller) == path(called) {
        return None;
    }
    let repo = |r: &str| r.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
    let called_file = workflow_filename(called).unwrap_or("(unknown)");
    if repo(caller) != repo(called) {
        Some(format!(
            "this job runs a reusable workflow from another repository ({}): PyPI matches the called workflow, and a cross-repository reusable workflow can never match a trusted publisher. Run the publish step in a workflow of {} itself",
            repo(called),
            repo(caller)
        ))
    } else {
        Some(format!(
            "this job runs a reusable workflow: PyPI matches the called workflow `{called_file}` (from job_workflow_ref), not the caller `{}`: register `{called_file}` as the publisher's workflow filename",
            workflow_filename(caller).unwrap_or("(unknown)")
        ))
    }
}

#[cfg(test)]
mod tests;
