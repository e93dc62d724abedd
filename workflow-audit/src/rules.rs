//! The rules: each reads the parsed workflows and reports [`Finding`]s with a fix.
//!
//! Rules 1 to 6 look at one workflow; 7 and 8 look across the audited set (a reusable workflow
//! and its callers, the trusted publishers the user declared).

use std::collections::BTreeSet;

use crate::finding::{Finding, Rule, Severity};
use crate::guard::{self, Guard};
use crate::model::{Entry, Job, Permissions, Secrets, Step, Workflow};
use crate::pins;
use crate::publish::{self, PublishSite, Registry};
use crate::yaml::Pos;

/// What the user says a registry's trusted publisher is (rule 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The registry.
    pub registry: Registry,
    /// The workflow file name registered (`release.yml`).
    pub workflow: Option<String>,
    /// The environment registered.
    pub environment: Option<String>,
    /// Where this came from (`--expect`, or a config file), for messages.
    pub origin: String,
}

/// Events outsiders can trigger, with the reason.
const DANGEROUS_EVENTS: &[(&str, &str)] = &[
    (
        "pull_request_target",
        "runs with the base repository's permissions and secrets for pull requests from forks",
    ),
    (
        "workflow_run",
        "runs with write permissions after a workflow that a fork's pull request can trigger, and often consumes its artifacts",
    ),
    ("issue_comment", "anyone who can comment can start it"),
];

/// Environment variables that carry a registry credential.
fn is_token_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "NODE_AUTH_TOKEN"
            | "NPM_TOKEN"
            | "NPM_AUTH_TOKEN"
            | "NPM_CONFIG__AUTH"
            | "TWINE_PASSWORD"
            | "UV_PUBLISH_TOKEN"
            | "UV_PUBLISH_PASSWORD"
            | "PDM_PUBLISH_PASSWORD"
            | "HATCH_INDEX_AUTH"
            | "FLIT_PASSWORD"
            | "MATURIN_PYPI_TOKEN"
            | "MATURIN_PASSWORD"
            | "CARGO_REGISTRY_TOKEN"
            | "GEM_HOST_API_KEY"
            | "RUBYGEMS_API_KEY"
            | "NUGET_API_KEY"
            | "NUGET_AUTH_TOKEN"
    ) || upper.starts_with("POETRY_PYPI_TOKEN_")
        || (upper.starts_with("CARGO_REGISTRIES_") && upper.ends_with("_TOKEN"))
}

/// Secret names that look like a registry credential.
fn is_token_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if upper == "GITHUB_TOKEN" {
        return false;
    }
    let credential = ["TOKEN", "PASSWORD", "API_KEY", "APIKEY", "SECRET"]
        .iter()
        .any(|w| upper.contains(w));
    let registry = [
        "NPM",
        "PYPI",
        "TWINE",
        "UV_PUBLISH",
        "POETRY",
        "CARGO",
        "CRATES",
        "GEM",
        "RUBYGEMS",
        "NUGET",
    ]
    .iter()
    .any(|w| upper.contains(w));
    (credential && registry) || is_token_variable(&upper)
}

/// `with:` inputs of publisher actions that take a long-lived credential.
const PASSWORD_INPUTS: &[&str] = &["password", "api-token", "api-key", "api_key", "token"];

/// The secret names referenced in `text` (`secrets.NAME`, `secrets['NAME']`).
fn secret_refs(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("secrets") {
        let after = &rest[at + "secrets".len()..];
        let name: String = if let Some(dot) = after.strip_prefix('.') {
            dot.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect()
        } else if let Some(bracket) = after
            .strip_prefix("['")
            .or_else(|| after.strip_prefix("[\""))
        {
            bracket
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect()
        } else {
            String::new()
        };
        if !name.is_empty() {
            names.push(name);
        }
        rest = after;
    }
    names
}

/// Steps whose `run:` installs dependencies or builds: the command words.
const BUILD_COMMANDS: &[&[&str]] = &[
    &["npm", "ci"],
    &["npm", "install"],
    &["npm", "i"],
    &["npm", "run"],
    &["npm", "pack"],
    &["pnpm", "install"],
    &["pnpm", "run"],
    &["pnpm", "build"],
    &["yarn", "install"],
    &["yarn", "build"],
    &["yarn", "run"],
    &["bun", "install"],
    &["pip", "install"],
    &["pip3", "install"],
    &["uv", "sync"],
    &["uv", "build"],
    &["uv", "pip", "install"],
    &["-m", "build"],
    &["pyproject-build"],
    &["setup.py"],
    &["poetry", "install"],
    &["poetry", "build"],
    &["hatch", "build"],
    &["pdm", "install"],
    &["pdm", "build"],
    &["maturin", "build"],
    &["cargo", "build"],
    &["cargo", "package"],
    &["gem", "build"],
    &["bundle", "install"],
    &["rake"],
    &["dotnet", "build"],
    &["dotnet", "pack"],
    &["dotnet", "restore"],
    &["make"],
];

/// The first build command of a `run:` body, if any. A `cargo publish` without `--no-verify`
/// builds the crate, and an `npm publish` of a checked-out directory runs its lifecycle scripts.
fn build_command(run: &str) -> Option<String> {
    for line in publish::shell_lines(run) {
        let words = publish::words(line);
        if BUILD_COMMANDS
            .iter()
            .any(|pattern| publish::contains_words(&words, pattern))
        {
            return Some(line.to_owned());
        }
        if publish::contains_words(&words, &["cargo", "publish"])
            && !words.iter().any(|w| w == "--no-verify")
        {
            return Some(line.to_owned());
        }
        let npm_like = ["npm", "pnpm", "yarn", "bun"]
            .iter()
            .any(|tool| publish::contains_words(&words, &[tool, "publish"]));
        if npm_like && !words.iter().any(|w| w.ends_with(".tgz")) {
            return Some(line.to_owned());
        }
    }
    None
}

/// Actions allowed to use the job's OIDC identity without publishing (signing).
const SIGNING_ACTIONS: &[&str] = &[
    "actions/attest-build-provenance",
    "actions/attest",
    "actions/attest-sbom",
    "sigstore/gh-action-sigstore-python",
];

/// One workflow's view for the rules: which jobs publish, directly or through a call.
struct View<'a> {
    workflow: &'a Workflow,
    /// `(job index, publish sites)` of jobs that publish in their own steps.
    direct: Vec<(usize, Vec<PublishSite>)>,
    /// Job indexes that call a local reusable workflow that publishes, or hand `id-token:
    /// write` to one in another repository.
    calling: Vec<usize>,
}

impl View<'_> {
    fn publishes(&self) -> bool {
        !self.direct.is_empty() || !self.calling.is_empty()
    }

    fn is_publishing_job(&self, index: usize) -> bool {
        self.direct.iter().any(|(i, _)| *i == index) || self.calling.contains(&index)
    }

    /// Only `workflow_call`: its triggers are its callers'.
    fn reusable_only(&self) -> bool {
        !self.workflow.triggers.is_empty()
            && self
                .workflow
                .triggers
                .iter()
                .all(|t| t.event == "workflow_call")
    }
}

/// The file name a local reusable-workflow reference points at.
fn local_callee(job: &Job) -> Option<&str> {
    let calls = job.calls.as_ref()?;
    if !calls.local {
        return None;
    }
    calls.subpath.as_deref()?.rsplit('/').next()
}

/// A call of a reusable workflow in another repository that is handed `id-token: write`: it
/// can publish as this repository, so it is treated as a publishing job.
fn remote_call_with_oidc(job: &Job) -> bool {
    job.calls.as_ref().is_some_and(|c| !c.local)
        && job
            .permissions
            .as_ref()
            .and_then(Permissions::id_token_write)
            .is_some()
}

struct Emitter<'a> {
    findings: &'a mut Vec<Finding>,
}

impl Emitter<'_> {
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        workflow: &Workflow,
        rule: Rule,
        severity: Severity,
        pos: Pos,
        job: Option<&str>,
        message: String,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            rule,
            severity,
            message,
            fix: fix.into(),
            path: workflow.path.clone(),
            pos,
            job: job.map(str::to_owned),
            snippet: workflow.line(pos.line).to_owned(),
        });
    }
}

/// Runs every rule over `workflows`.
pub fn run(workflows: &[Workflow], expectations: &[Expectation]) -> Vec<Finding> {
    // Which workflows publish directly, to find the callers of publishing reusable workflows.
    let direct: Vec<Vec<(usize, Vec<PublishSite>)>> = workflows
        .iter()
        .map(|wf| {
            wf.jobs
                .iter()
                .enumerate()
                .map(|(i, job)| (i, publish::job_sites(job)))
                .filter(|(_, sites)| !sites.is_empty())
                .collect()
        })
        .collect();
    let publishing_files: BTreeSet<&str> = workflows
        .iter()
        .zip(&direct)
        .filter(|(_, d)| !d.is_empty())
        .map(|(wf, _)| wf.file_name.as_str())
        .collect();
    let views: Vec<View> = workflows
        .iter()
        .zip(direct)
        .map(|(workflow, direct)| View {
            workflow,
            calling: workflow
                .jobs
                .iter()
                .enumerate()
                .filter(|(_, job)| {
                    local_callee(job).is_some_and(|f| publishing_files.contains(f))
                        || remote_call_with_oidc(job)
                })
                .map(|(i, _)| i)
                .collect(),
            direct,
        })
        .collect();

    let mut findings = Vec::new();
    let mut out = Emitter {
        findings: &mut findings,
    };
    for view in &views {
        if !view.publishes() {
            continue;
        }
        triggers(view, &mut out);
        permissions(view, &mut out);
        tokens(view, &mut out);
        publish_job_hygiene(view, &mut out);
        pins_and_calls(view, &mut out);
    }
    reusable_identity(&views, &mut out);
    publisher_mismatch(&views, expectations, &mut out);
    findings
}

/// Rule 1: triggers and the tag guard.
fn triggers(view: &View, out: &mut Emitter) {
    let wf = view.workflow;
    for trigger in &wf.triggers {
        if let Some((_, why)) = DANGEROUS_EVENTS.iter().find(|(e, _)| *e == trigger.event) {
            out.emit(
                wf,
                Rule::DangerousTrigger,
                Severity::Error,
                trigger.pos,
                None,
                format!(
                    "`{}` triggers a publishing workflow: it {why}",
                    trigger.event
                ),
                format!(
                    "publish from a workflow triggered only by `push: tags` or `release: published`; remove `{}` here",
                    trigger.event
                ),
            );
        }
    }
    let without_environment = view
        .direct
        .iter()
        .any(|(i, _)| wf.jobs[*i].environment.is_none());
    for trigger in &wf.triggers {
        let problem = match trigger.event.as_str() {
            "pull_request" => Some(
                "`pull_request` runs a publishing workflow for every pull request from a branch of this repository, and those runs can mint OIDC tokens",
            ),
            "push" if trigger.branches => Some(
                "`push` to branches runs a publishing workflow on every branch push: anyone who can push a branch can publish",
            ),
            "workflow_dispatch" if without_environment => Some(
                "`workflow_dispatch` lets anyone with write access start a publish from any branch, and the publishing job has no environment to gate it",
            ),
            _ => None,
        };
        if let Some(problem) = problem {
            out.emit(
                wf,
                Rule::RiskyTrigger,
                Severity::Warning,
                trigger.pos,
                None,
                problem.to_owned(),
                "trigger publishing on `push: tags: ['v*']` or `release: types: [published]`, and run tests from a separate workflow",
            );
        }
    }
    if view.reusable_only() {
        return;
    }
    let tag_trigger = wf
        .triggers
        .iter()
        .any(|t| (t.event == "push" && t.tags) || t.event == "release");
    let only_tags = wf
        .triggers
        .iter()
        .all(|t| (t.event == "push" && t.tags && !t.branches) || t.event == "release");
    if !tag_trigger {
        out.emit(
            wf,
            Rule::TagGuard,
            Severity::Warning,
            wf.on_pos,
            None,
            "the publishing workflow has no tag or release trigger: a release is not tied to a tag".into(),
            "add `push: tags: ['v*']` (or `release: types: [published]`) and publish only from that event",
        );
    }
    let publishing_jobs = view
        .direct
        .iter()
        .map(|(i, _)| *i)
        .chain(view.calling.iter().copied())
        .collect::<BTreeSet<_>>();
    for index in publishing_jobs {
        let job = &wf.jobs[index];
        let fix = "guard the job with `if: github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')` (a plain scalar, not a `|` block)";
        match &job.condition {
            Some(condition) => match guard::analyze(&condition.text, condition.block) {
                Guard::Tags => {}
                Guard::AlwaysTrue(why) => out.emit(
                    wf,
                    Rule::TagGuard,
                    Severity::Error,
                    condition.pos,
                    Some(&job.id),
                    format!("the `if:` of publishing job `{}` is always true: {why}", job.id),
                    fix,
                ),
                Guard::UnsoundContains => out.emit(
                    wf,
                    Rule::TagGuard,
                    Severity::Error,
                    condition.pos,
                    Some(&job.id),
                    format!(
                        "the `if:` of publishing job `{}` uses `contains()` on the ref: a branch named `x/refs/tags/y` passes it",
                        job.id
                    ),
                    fix,
                ),
                Guard::Unproven if !only_tags => out.emit(
                    wf,
                    Rule::TagGuard,
                    Severity::Warning,
                    condition.pos,
                    Some(&job.id),
                    format!(
                        "the `if:` of publishing job `{}` does not restrict it to tag runs, and the workflow has other triggers",
                        job.id
                    ),
                    fix,
                ),
                Guard::Unproven => {}
            },
            None if !only_tags => out.emit(
                wf,
                Rule::TagGuard,
                Severity::Warning,
                job.pos,
                Some(&job.id),
                format!(
                    "publishing job `{}` has no `if:` guard, and the workflow has triggers besides tags",
                    job.id
                ),
                fix,
            ),
            None => {}
        }
    }
}

/// Rule 2: OIDC scope and default permissions.
fn permissions(view: &View, out: &mut Emitter) {
    let wf = view.workflow;
    match &wf.permissions {
        None => out.emit(
            wf,
            Rule::BroadPermissions,
            Severity::Warning,
            wf.on_pos,
            None,
            "no top-level `permissions:`: every job gets the repository's default token permissions, which may be write-all".into(),
            "add `permissions: {}` at the top and grant each job only what it needs",
        ),
        Some(Permissions::WriteAll(pos)) => out.emit(
            wf,
            Rule::BroadPermissions,
            Severity::Error,
            *pos,
            None,
            "top-level `permissions: write-all` gives every job every write scope, including `id-token`".into(),
            "use `permissions: {}` at the top and grant each job only what it needs",
        ),
        Some(perms) => {
            for (scope, pos) in perms.writes() {
                if scope == "id-token" {
                    continue;
                }
                out.emit(
                    wf,
                    Rule::BroadPermissions,
                    Severity::Warning,
                    pos,
                    None,
                    format!("top-level `{scope}: write` applies to every job of a publishing workflow"),
                    format!("move `{scope}: write` to the one job that needs it and keep the top level `permissions: {{}}` or read-only"),
                );
            }
        }
    }
    if let Some(pos) = wf
        .permissions
        .as_ref()
        .and_then(Permissions::id_token_write)
        && !matches!(wf.permissions, Some(Permissions::WriteAll(_)))
    {
        out.emit(
            wf,
            Rule::IdTokenScope,
            Severity::Error,
            pos,
            None,
            "`id-token: write` at workflow level lets every job, including build and test jobs that run third-party code, mint an OIDC token the registry accepts".into(),
            "remove it from the top level and grant `id-token: write` only on the publishing job",
        );
    }
    for (index, job) in wf.jobs.iter().enumerate() {
        let Some(pos) = job
            .permissions
            .as_ref()
            .and_then(Permissions::id_token_write)
        else {
            continue;
        };
        let signs = job.steps.iter().any(|s| {
            s.uses
                .as_ref()
                .is_some_and(|u| SIGNING_ACTIONS.contains(&u.repo.as_str()))
        });
        if view.is_publishing_job(index) || job.calls.is_some() || signs {
            continue;
        }
        out.emit(
            wf,
            Rule::IdTokenScope,
            Severity::Warning,
            pos,
            Some(&job.id),
            format!(
                "job `{}` does not publish but holds `id-token: write`: it can mint a token the registry accepts",
                job.id
            ),
            "remove `id-token: write` from jobs that do not publish or sign",
        );
    }
}

/// Rule 3: the half-finished migration.
fn tokens(view: &View, out: &mut Emitter) {
    let wf = view.workflow;
    let mut seen = BTreeSet::new();
    for (index, _) in &view.direct {
        let job = &wf.jobs[*index];
        let has_oidc = job
            .effective_permissions(wf)
            .and_then(Permissions::id_token_write)
            .is_some();
        let also = if has_oidc {
            " The job also has `id-token: write`: the token is left over from before trusted publishing, and keeps working if it leaks."
        } else {
            ""
        };
        let mut report = |entry: &Entry, what: String| {
            if seen.insert(entry.pos) {
                out.emit(
                    wf,
                    Rule::LongLivedToken,
                    Severity::Error,
                    entry.pos,
                    Some(&job.id),
                    format!("{what}: a long-lived registry token in a publishing job.{also}"),
                    "drop the token: configure a trusted publisher on the registry, keep `id-token: write` on this job, then revoke the token and delete the secret",
                );
            }
        };
        let env_entries = wf
            .env
            .iter()
            .chain(&job.env)
            .chain(job.steps.iter().flat_map(|s| s.env.iter()));
        for entry in env_entries {
            let refs = secret_refs(&entry.value);
            let named = refs.iter().find(|r| r.as_str() != "GITHUB_TOKEN");
            if let Some(secret) = named
                && (is_token_variable(&entry.key) || is_token_secret(secret))
            {
                report(
                    entry,
                    format!("`{}: ${{{{ secrets.{secret} }}}}`", entry.key),
                );
            }
        }
        for step in &job.steps {
            let publisher = !publish::step_sites(&Step {
                run: None,
                ..step.clone()
            })
            .is_empty();
            for entry in &step.with {
                let refs = secret_refs(&entry.value);
                let Some(secret) = refs.iter().find(|r| r.as_str() != "GITHUB_TOKEN") else {
                    continue;
                };
                if (publisher && PASSWORD_INPUTS.contains(&entry.key.as_str()))
                    || is_token_secret(secret)
                {
                    report(
                        entry,
                        format!("input `{}` is `secrets.{secret}`", entry.key),
                    );
                }
            }
            if let Some((run, pos)) = &step.run {
                for secret in secret_refs(run) {
                    if is_token_secret(&secret) {
                        let entry = Entry {
                            key: String::new(),
                            value: String::new(),
                            pos: *pos,
                        };
                        report(&entry, format!("`run:` passes `secrets.{secret}`"));
                        break;
                    }
                }
            }
        }
    }
}

/// Rules 4 and 5: what else the publishing job does, and its environment.
fn publish_job_hygiene(view: &View, out: &mut Emitter) {
    let wf = view.workflow;
    for (index, _) in &view.direct {
        let job = &wf.jobs[*index];
        let has_oidc = job
            .effective_permissions(wf)
            .and_then(Permissions::id_token_write)
            .is_some();
        let checkout = job.steps.iter().any(|s| {
            s.uses
                .as_ref()
                .is_some_and(|u| u.repo == "actions/checkout")
        });
        if has_oidc && checkout {
            let build = job.steps.iter().find_map(|s| {
                let (run, pos) = s.run.as_ref()?;
                Some((build_command(run)?, *pos))
            });
            if let Some((command, pos)) = build {
                out.emit(
                    wf,
                    Rule::BuildInPublishJob,
                    Severity::Warning,
                    pos,
                    Some(&job.id),
                    format!(
                        "job `{}` holds `id-token: write`, checks out the source and builds (`{command}`): every build dependency and script runs next to the OIDC identity",
                        job.id
                    ),
                    "build in a job without `id-token`, upload the result with actions/upload-artifact, and let the publishing job only download and publish it",
                );
            }
        }
        for step in &job.steps {
            let Some(uses) = &step.uses else { continue };
            let input = |key: &str| step.with.iter().find(|e| e.key == key);
            let cache = match uses.repo.as_str() {
                "actions/cache" => Some("`actions/cache` restores a cache".to_owned()),
                "swatinem/rust-cache" => Some("`Swatinem/rust-cache` restores a cache".to_owned()),
                "astral-sh/setup-uv" => match input("enable-cache") {
                    Some(e) if e.value.trim() == "false" => None,
                    _ => Some(
                        "`astral-sh/setup-uv` caches by default (`enable-cache` is not `false`)"
                            .to_owned(),
                    ),
                },
                "actions/setup-go" => match input("cache") {
                    Some(e) if e.value.trim() == "false" => None,
                    _ => Some(
                        "`actions/setup-go` caches by default (`cache` is not `false`)".to_owned(),
                    ),
                },
                "actions/setup-node" => match (input("cache"), input("package-manager-cache")) {
                    (Some(e), _) if !matches!(e.value.trim(), "" | "false") => {
                        Some(format!("`actions/setup-node` with `cache: {}`", e.value.trim()))
                    }
                    (_, Some(e)) if e.value.trim() == "false" => None,
                    _ => Some("`actions/setup-node` caches the package manager's store by default (`package-manager-cache` is not `false`)".to_owned()),
                },
                "ruby/setup-ruby" => input("bundler-cache")
                    .filter(|e| e.value.trim() == "true")
                    .map(|_| "`ruby/setup-ruby` with `bundler-cache: true`".to_owned()),
                repo if repo.starts_with("actions/setup-") => input("cache")
                    .filter(|e| !matches!(e.value.trim(), "" | "false"))
                    .map(|e| format!("`{repo}` with `cache: {}`", e.value.trim())),
                _ => None,
            };
            if let Some(what) = cache {
                out.emit(
                    wf,
                    Rule::CacheInPublishJob,
                    Severity::Error,
                    uses.pos,
                    Some(&job.id),
                    format!(
                        "{what} in publishing job `{}`: a cache written by any branch's run (a pull request's included) can poison what is published",
                        job.id
                    ),
                    "restore no cache in the publishing job: set `cache: ''`/`enable-cache: false`, or remove the cache step",
                );
            }
            let cross_run = match uses.repo.as_str() {
                "actions/download-artifact" => ["run-id", "repository", "github-token"]
                    .iter()
                    .find_map(|k| input(k))
                    .map(|e| format!("`actions/download-artifact` with `{}`", e.key)),
                "dawidd6/action-download-artifact" => {
                    Some("`dawidd6/action-download-artifact`".to_owned())
                }
                _ => None,
            };
            if let Some(what) = cross_run {
                out.emit(
                    wf,
                    Rule::CrossRunArtifact,
                    Severity::Warning,
                    uses.pos,
                    Some(&job.id),
                    format!(
                        "{what} takes artifacts from another workflow run: whatever that run built (a pull request's, perhaps) gets published"
                    ),
                    "build the artifacts in this workflow run (a build job with actions/upload-artifact) and download them without `run-id`",
                );
            }
        }
        if job.environment.is_none() {
            out.emit(
                wf,
                Rule::NoEnvironment,
                Severity::Warning,
                job.pos,
                Some(&job.id),
                format!(
                    "publishing job `{}` has no `environment:`: nobody approves a release, no deployment rule limits it to tags, and the registry cannot require an environment",
                    job.id
                ),
                "add `environment: <registry>` (for example `environment: pypi`), give the environment required reviewers and a tag deployment rule, and name it in the trusted publisher",
            );
        }
    }
}

/// Rule 6: pins, version comments and `secrets: inherit`.
fn pins_and_calls(view: &View, out: &mut Emitter) {
    let wf = view.workflow;
    for (index, job) in wf.jobs.iter().enumerate() {
        let publishing = view.is_publishing_job(index);
        let refs = job
            .steps
            .iter()
            .filter_map(|s| s.uses.as_ref())
            .chain(job.calls.as_ref());
        for uses in refs {
            if uses.local {
                continue;
            }
            if !uses.is_sha_pinned() {
                let (severity, place) = if publishing {
                    (Severity::Error, "the publishing job")
                } else {
                    (Severity::Warning, "a publishing workflow")
                };
                out.emit(
                    wf,
                    Rule::UnpinnedAction,
                    severity,
                    uses.pos,
                    Some(&job.id),
                    format!(
                        "`{}` in {place} is not pinned to a commit SHA: whoever can move that ref runs code in your release",
                        uses.raw
                    ),
                    "pin to the full 40-character commit SHA with the version in a comment: `uses: owner/repo@<sha> # vX.Y.Z`",
                );
                continue;
            }
            if let (Some(sha), Some(version)) = (&uses.git_ref, uses.comment_version())
                && !uses.docker
                && let Some(truth) = pins::disagreement(&uses.repo, sha, version)
            {
                out.emit(
                    wf,
                    Rule::PinCommentMismatch,
                    Severity::Warning,
                    uses.pos,
                    Some(&job.id),
                    format!("the comment says `{version}`, but {truth}"),
                    "make the comment name the release the SHA belongs to (or pin the SHA of the release the comment names)",
                );
            }
        }
        if let Some(Secrets::Inherit(pos)) = &job.secrets {
            let grants_oidc = job
                .permissions
                .as_ref()
                .and_then(Permissions::id_token_write)
                .is_some();
            if publishing || grants_oidc {
                out.emit(
                    wf,
                    Rule::SecretsInherit,
                    Severity::Error,
                    *pos,
                    Some(&job.id),
                    format!(
                        "job `{}` passes every secret of the repository to a reusable workflow that publishes",
                        job.id
                    ),
                    "pass only the secrets the called workflow needs under `secrets:` (trusted publishing needs none)",
                );
            }
        }
    }
}

/// Rule 7: publishing from reusable workflows.
fn reusable_identity(views: &[View], out: &mut Emitter) {
    for view in views {
        let wf = view.workflow;
        for (index, job) in wf.jobs.iter().enumerate() {
            let Some(calls) = &job.calls else { continue };
            if let Some(callee_name) = local_callee(job)
                && view.calling.contains(&index)
            {
                let registries: BTreeSet<Registry> = views
                    .iter()
                    .filter(|v| v.workflow.file_name == callee_name)
                    .flat_map(|v| v.direct.iter().flat_map(|(_, s)| s.iter()))
                    .filter_map(|s| s.registry)
                    .collect();
                let lines: Vec<String> = registries
                    .iter()
                    .map(|r| {
                        let file = if r.matches_callee() {
                            callee_name
                        } else {
                            wf.file_name.as_str()
                        };
                        format!("{r} matches `{file}`")
                    })
                    .collect();
                let which = if lines.is_empty() {
                    "PyPI, RubyGems and NuGet match the called workflow; npm and crates.io match this calling workflow".to_owned()
                } else {
                    lines.join("; ")
                };
                out.emit(
                    wf,
                    Rule::ReusableWorkflowIdentity,
                    Severity::Note,
                    calls.pos,
                    Some(&job.id),
                    format!(
                        "job `{}` publishes through reusable workflow `{callee_name}`: {which}",
                        job.id
                    ),
                    "register that file name as the trusted publisher's workflow on each registry",
                );
            } else if !calls.local
                && job
                    .permissions
                    .as_ref()
                    .and_then(Permissions::id_token_write)
                    .is_some()
            {
                out.emit(
                    wf,
                    Rule::ReusableWorkflowIdentity,
                    Severity::Warning,
                    calls.pos,
                    Some(&job.id),
                    format!(
                        "job `{}` gives `id-token: write` to a reusable workflow in another repository (`{}`): PyPI accepts only reusable workflows of the same repository, and npm and crates.io would trust this calling file for whatever that workflow does",
                        job.id, calls.raw
                    ),
                    "publish from a workflow in this repository, or make sure the other repository's workflow is pinned and trusted",
                );
            }
        }
    }
}

/// Rule 8: the declared trusted publishers against the workflows.
fn publisher_mismatch(views: &[View], expectations: &[Expectation], out: &mut Emitter) {
    for expectation in expectations {
        let registry = expectation.registry;
        let mut sites = Vec::new();
        for view in views {
            for (index, job_sites) in &view.direct {
                if job_sites.iter().any(|s| s.registry == Some(registry)) {
                    sites.push((view, *index));
                }
            }
        }
        if sites.is_empty() {
            out.findings.push(Finding {
                rule: Rule::PublisherMismatch,
                severity: Severity::Error,
                message: format!(
                    "{} expects a trusted publisher for {registry}, but no audited job publishes to {registry}",
                    expectation.origin
                ),
                fix: "audit the directory that holds the publishing workflow, or correct the expectation".into(),
                path: expectation.origin.clone(),
                pos: Pos {
                    line: 1,
                    col: 1,
                    offset: 0,
                },
                job: None,
                snippet: String::new(),
            });
            continue;
        }
        for (view, index) in sites {
            let wf = view.workflow;
            let job = &wf.jobs[index];
            // The file the registry sees: the callee's own name, or the callers'.
            let callers: Vec<&str> = views
                .iter()
                .filter(|v| {
                    v.workflow
                        .jobs
                        .iter()
                        .any(|j| local_callee(j) == Some(wf.file_name.as_str()))
                })
                .map(|v| v.workflow.file_name.as_str())
                .collect();
            let seen: Vec<&str> = if registry.matches_callee() || callers.is_empty() {
                vec![wf.file_name.as_str()]
            } else {
                callers
            };
            if let Some(expected) = &expectation.workflow
                && !seen.iter().any(|f| f == expected)
            {
                out.emit(
                    wf,
                    Rule::PublisherMismatch,
                    Severity::Error,
                    job.pos,
                    Some(&job.id),
                    format!(
                        "{registry} will see workflow `{}` for job `{}`, but the trusted publisher ({}) names `{expected}`: the exchange will be refused",
                        seen.join("`, `"),
                        job.id,
                        expectation.origin
                    ),
                    format!(
                        "register `{}` as the trusted publisher's workflow on {registry}, or publish from `{expected}`",
                        seen.join("`, `")
                    ),
                );
            }
            if let Some(expected) = &expectation.environment {
                let actual = job.environment.as_ref().map(|e| e.name.as_str());
                let same = actual.is_some_and(|a| {
                    if registry == Registry::Pypi {
                        a.eq_ignore_ascii_case(expected)
                    } else {
                        a == expected
                    }
                });
                if !same {
                    let pos = job.environment.as_ref().map_or(job.pos, |e| e.pos);
                    out.emit(
                        wf,
                        Rule::PublisherMismatch,
                        Severity::Error,
                        pos,
                        Some(&job.id),
                        format!(
                            "the trusted publisher on {registry} ({}) requires environment `{expected}`, but job `{}` runs in {}: the exchange will be refused",
                            expectation.origin,
                            job.id,
                            actual.map_or("no environment".to_owned(), |a| format!("`{a}`"))
                        ),
                        format!("set `environment: {expected}` on job `{}`, or change the environment registered on {registry}", job.id),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names() {
        assert!(is_token_secret("NPM_TOKEN"));
        assert!(is_token_secret("PYPI_API_TOKEN"));
        assert!(is_token_secret("TEST_PYPI_PASSWORD"));
        assert!(is_token_secret("CARGO_REGISTRY_TOKEN"));
        assert!(!is_token_secret("GITHUB_TOKEN"));
        assert!(!is_token_secret("CODECOV_TOKEN"));
        assert!(is_token_variable("POETRY_PYPI_TOKEN_PYPI"));
        assert_eq!(
            secret_refs("${{ secrets.A }} and ${{ secrets['B_C'] }}"),
            ["A", "B_C"]
        );
    }

    #[test]
    fn build_commands() {
        assert!(build_command("npm ci\nnpm test").is_some());
        assert!(build_command("python -m build").is_some());
        assert!(build_command("cargo publish").is_some());
        assert!(build_command("cargo publish --no-verify").is_none());
        assert!(build_command("npm publish dist/*.tgz").is_none());
        assert!(build_command("ls dist").is_none());
    }
}
