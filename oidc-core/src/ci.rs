//! The CI context: which event started the run, whether it may publish, and how to talk to
//! the runner (workflow commands and the step summary).
//!
//! Libraries never print, so the workflow commands here are built as strings; the CLI writes
//! them. [`MaskSink`] is how a library asks for a secret to be masked the moment it exists.

use std::path::{Path, PathBuf};

use crate::claims::Claims;
use crate::env::Environment;

/// What the GitHub Actions environment says about the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GithubContext {
    /// `GITHUB_EVENT_NAME`.
    pub event_name: Option<String>,
    /// `GITHUB_REF`.
    pub r#ref: Option<String>,
    /// `GITHUB_REPOSITORY` (`owner/name`).
    pub repository: Option<String>,
    /// `GITHUB_REPOSITORY_OWNER`.
    pub repository_owner: Option<String>,
    /// `GITHUB_WORKFLOW_REF`.
    pub workflow_ref: Option<String>,
    /// `GITHUB_SHA`.
    pub sha: Option<String>,
    /// `GITHUB_SERVER_URL`.
    pub server_url: Option<String>,
    /// `GITHUB_RUN_ID`.
    pub run_id: Option<String>,
    /// `GITHUB_RUN_ATTEMPT`.
    pub run_attempt: Option<String>,
    /// `RUNNER_ENVIRONMENT` (`github-hosted` or `self-hosted`).
    pub runner_environment: Option<String>,
    /// `GITHUB_EVENT_PATH`.
    pub event_path: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`.
    pub step_summary: Option<PathBuf>,
}

impl GithubContext {
    /// Reads the context, or `None` outside GitHub Actions.
    pub fn from_env(env: &dyn Environment) -> Option<Self> {
        if !env.is_true("GITHUB_ACTIONS") {
            return None;
        }
        Some(Self {
            event_name: env.non_empty("GITHUB_EVENT_NAME"),
            r#ref: env.non_empty("GITHUB_REF"),
            repository: env.non_empty("GITHUB_REPOSITORY"),
            repository_owner: env.non_empty("GITHUB_REPOSITORY_OWNER"),
            workflow_ref: env.non_empty("GITHUB_WORKFLOW_REF"),
            sha: env.non_empty("GITHUB_SHA"),
            server_url: env.non_empty("GITHUB_SERVER_URL"),
            run_id: env.non_empty("GITHUB_RUN_ID"),
            run_attempt: env.non_empty("GITHUB_RUN_ATTEMPT"),
            runner_environment: env.non_empty("RUNNER_ENVIRONMENT"),
            event_path: env.non_empty("GITHUB_EVENT_PATH").map(PathBuf::from),
            step_summary: env.non_empty("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        })
    }

    /// The workflow's file name (`release.yml`) from `GITHUB_WORKFLOW_REF`.
    pub fn workflow_filename(&self) -> Option<&str> {
        self.workflow_ref.as_deref().and_then(workflow_filename)
    }
}

/// The workflow file name in a `owner/repo/.github/workflows/<file>@<ref>` reference.
///
/// ```
/// use oidc_core::ci::workflow_filename;
/// assert_eq!(workflow_filename("o/r/.github/workflows/release.yml@refs/tags/v1"), Some("release.yml"));
/// assert_eq!(workflow_filename("o/r/.github/workflows/sub/x.yaml@main"), Some("x.yaml"));
/// assert_eq!(workflow_filename("nonsense"), None);
/// ```
pub fn workflow_filename(workflow_ref: &str) -> Option<&str> {
    let (path, _) = workflow_ref.split_once('@')?;
    let file = path.rsplit('/').next()?;
    (file.ends_with(".yml") || file.ends_with(".yaml")).then_some(file)
}

/// What started the run, read from the environment before any token exists. The token's own
/// claims, when it has them, win over it ([`EventPolicy::check_token`]).
///
/// It is built only from an [`Environment`], so a caller cannot leave the event out and switch
/// the refusals off by accident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunEvent {
    /// `GITHUB_EVENT_NAME` on GitHub Actions.
    github_event: Option<String>,
    /// On a GitLab merge-request pipeline: `CI_MERGE_REQUEST_SOURCE_PROJECT_ID`.
    gitlab_source_project: Option<String>,
    /// On GitLab: `CI_PROJECT_ID`.
    gitlab_project: Option<String>,
}

impl RunEvent {
    /// Reads the event from the CI's variables.
    pub fn from_env(env: &dyn Environment) -> Self {
        let github = env.is_true("GITHUB_ACTIONS");
        let gitlab = env.is_true("GITLAB_CI");
        Self {
            github_event: github.then(|| env.non_empty("GITHUB_EVENT_NAME")).flatten(),
            gitlab_source_project: gitlab
                .then(|| env.non_empty("CI_MERGE_REQUEST_SOURCE_PROJECT_ID"))
                .flatten(),
            gitlab_project: gitlab.then(|| env.non_empty("CI_PROJECT_ID")).flatten(),
        }
    }

    /// The GitHub event name the environment claims.
    pub fn github_event(&self) -> Option<&str> {
        self.github_event.as_deref()
    }
}

/// Where the event name a decision was made on came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    /// The token's signed `event_name` claim.
    Token,
    /// `GITHUB_EVENT_NAME` (the token has no `event_name`, or there is no token yet).
    Environment,
}

/// Which events may mint publish credentials. Refused: `pull_request_target` (before a token
/// is even requested when the environment says so, and again on the token's signed
/// `event_name`) and GitLab merge-request pipelines from forks. Allowed with a warning:
/// `pull_request` (GitHub gives fork pull requests no ID token at all, so a token here comes
/// from a same-repository branch), `workflow_run` and `issue_comment` (they run with the base
/// repository's permissions and are often triggered by untrusted input). Nothing switches the
/// refusals off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventPolicy;

/// An event that is allowed, with something to say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventWarning {
    /// A short title.
    pub title: &'static str,
    /// What to know.
    pub message: String,
}

/// Why the event policy refused to mint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventRefused {
    /// `pull_request_target` runs with the base repository's secrets and permissions while
    /// checking out code from the pull request.
    #[error(
        "refusing to mint publish credentials in a `pull_request_target` run (from {from}): such runs have the base repository's permissions while handling code from the pull request, so anyone who can open a pull request could reach a publish token. PyPI refuses these tokens too. Publish from a tag push, a published release or workflow_dispatch"
    )]
    PullRequestTarget {
        /// Where the event name came from.
        from: EventSourceName,
    },
    /// A GitLab merge-request pipeline for a merge request from a fork.
    #[error(
        "refusing to mint publish credentials in a GitLab merge-request pipeline from a fork (source project {source_project}, this project {project}): the fork's code could reach the publish token. Publish from a tag or the default branch of this project"
    )]
    GitlabForkMergeRequest {
        /// `CI_MERGE_REQUEST_SOURCE_PROJECT_ID`.
        source_project: String,
        /// `CI_PROJECT_ID`, or the token's `project_id`.
        project: String,
    },
}

/// [`EventSource`] for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSourceName(pub EventSource);

impl std::fmt::Display for EventSourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            EventSource::Token => "the token's signed `event_name` claim",
            EventSource::Environment => "GITHUB_EVENT_NAME",
        })
    }
}

impl EventPolicy {
    /// The check before any token is requested, on what the environment says: a run the
    /// environment calls `pull_request_target`, or a GitLab merge request from a fork, never
    /// asks for a token.
    pub fn check_environment(&self, event: &RunEvent) -> Result<(), EventRefused> {
        if event.github_event.as_deref() == Some("pull_request_target") {
            return Err(EventRefused::PullRequestTarget {
                from: EventSourceName(EventSource::Environment),
            });
        }
        if let (Some(source), Some(project)) = (&event.gitlab_source_project, &event.gitlab_project)
            && source != project
        {
            return Err(EventRefused::GitlabForkMergeRequest {
                source_project: source.clone(),
                project: project.clone(),
            });
        }
        Ok(())
    }

    /// The check once the token is at hand: its signed claims win over the environment (which
    /// is only the fallback when the token has no `event_name`). Returns what to warn about.
    pub fn check_token(
        &self,
        event: &RunEvent,
        claims: &Claims,
    ) -> Result<Vec<EventWarning>, EventRefused> {
        self.check_environment(event)?;
        if let Some(source) = &event.gitlab_source_project
            && let Some(project) = &claims.gitlab.project_id
            && source != project
        {
            return Err(EventRefused::GitlabForkMergeRequest {
                source_project: source.clone(),
                project: project.clone(),
            });
        }
        let (name, source) = match claims.github.event_name.as_deref() {
            Some(name) => (Some(name), EventSource::Token),
            None => (event.github_event.as_deref(), EventSource::Environment),
        };
        self.check_event_name(name, source)
    }

    /// The rule for one GitHub event name.
    pub fn check_event_name(
        &self,
        event_name: Option<&str>,
        source: EventSource,
    ) -> Result<Vec<EventWarning>, EventRefused> {
        let warning = |title, message: &str| {
            Ok(vec![EventWarning {
                title,
                message: message.to_owned(),
            }])
        };
        match event_name {
            Some("pull_request_target") => Err(EventRefused::PullRequestTarget {
                from: EventSourceName(source),
            }),
            Some("pull_request") => warning(
                "Publishing from a pull request",
                "this is a `pull_request` run: GitHub gives pull requests from forks no ID token, so this one comes from a branch of this repository and its code is publishing. PyPI and npm accept it (publishing to TestPyPI from pull requests is common); make sure that is what you mean",
            ),
            Some("workflow_run") => warning(
                "Publishing from workflow_run",
                "this is a `workflow_run` run: it has this repository's permissions even when the workflow that triggered it ran for a fork's pull request. Do not publish artifacts that workflow produced without checking where they came from",
            ),
            Some("issue_comment") => warning(
                "Publishing from issue_comment",
                "this is an `issue_comment` run: anyone who can comment can trigger it, and it has this repository's permissions. Gate publishing on who commented, or publish from a tag push",
            ),
            _ => Ok(Vec::new()),
        }
    }
}

/// Receives every secret the moment it exists, so the runner can mask it before anything else
/// is printed. On GitHub Actions the CLI answers with `::add-mask::`.
pub trait MaskSink: Send + Sync {
    /// Masks `secret` in all later log output.
    fn mask(&self, secret: &str);

    /// Shows a warning the library has for the user (an event allowed with a caveat). The
    /// default logs it.
    fn warning(&self, title: &str, message: &str) {
        tracing::warn!("{title}: {message}");
    }
}

/// A sink that does nothing (outside CI, or for library users who mask themselves).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMask;

impl MaskSink for NoMask {
    fn mask(&self, _secret: &str) {}
}

/// GitHub workflow commands, built as lines to print on stdout.
pub mod commands {
    /// `::add-mask::<value>`: hides `value` in every later log line.
    pub fn add_mask(value: &str) -> String {
        format!("::add-mask::{}", escape_data(value))
    }

    /// An annotation level.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Level {
        /// `::error`.
        Error,
        /// `::warning`.
        Warning,
        /// `::notice`.
        Notice,
    }

    /// `::error title=…,file=…::message` (and warning, notice).
    pub fn annotation(
        level: Level,
        title: Option<&str>,
        file: Option<&str>,
        message: &str,
    ) -> String {
        let name = match level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        };
        let mut properties = Vec::new();
        if let Some(title) = title {
            properties.push(format!("title={}", escape_property(title)));
        }
        if let Some(file) = file {
            properties.push(format!("file={}", escape_property(file)));
        }
        let properties = if properties.is_empty() {
            String::new()
        } else {
            format!(" {}", properties.join(","))
        };
        format!("::{name}{properties}::{}", escape_data(message))
    }

    /// Escapes a command's message: `%`, `\r`, `\n`.
    pub fn escape_data(value: &str) -> String {
        value
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }

    /// Escapes a command property: also `:` and `,`.
    pub fn escape_property(value: &str) -> String {
        escape_data(value).replace(':', "%3A").replace(',', "%2C")
    }
}

/// Appends Markdown to the step summary file (`$GITHUB_STEP_SUMMARY`), never through a
/// symlink (see [`crate::fs::append_no_follow`]).
pub fn append_step_summary(path: &Path, markdown: &str) -> Result<(), crate::fs::WriteError> {
    let mut text = markdown.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    crate::fs::append_no_follow(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::commands::*;
    use super::*;
    use crate::env::MapEnv;

    #[test]
    fn workflow_commands_escape_their_data() {
        assert_eq!(add_mask("a%b\nc"), "::add-mask::a%25b%0Ac");
        assert_eq!(
            annotation(
                Level::Error,
                Some("Upload failed: 2,3"),
                Some("dist/x.whl"),
                "line 1\r\nline 2 100%"
            ),
            "::error title=Upload failed%3A 2%2C3,file=dist/x.whl::line 1%0D%0Aline 2 100%25"
        );
        assert_eq!(
            annotation(Level::Notice, None, None, "done"),
            "::notice::done"
        );
    }

    fn claims(json: serde_json::Value) -> Claims {
        Claims::decode(&crate::claims::tests::jwt(&json)).unwrap()
    }

    #[test]
    fn event_policy() {
        let policy = EventPolicy;
        let check = |name: Option<&str>| policy.check_event_name(name, EventSource::Token);
        assert_eq!(check(Some("push")), Ok(vec![]));
        assert_eq!(check(Some("release")), Ok(vec![]));
        assert_eq!(check(None), Ok(vec![]));
        for warned in ["pull_request", "workflow_run", "issue_comment"] {
            assert_eq!(check(Some(warned)).unwrap().len(), 1, "{warned}");
        }
        assert!(matches!(
            check(Some("pull_request_target")),
            Err(EventRefused::PullRequestTarget { .. })
        ));
    }

    #[test]
    fn the_signed_claim_wins_over_the_environment() {
        let env = MapEnv::new()
            .with("GITHUB_ACTIONS", "true")
            .with("GITHUB_EVENT_NAME", "push");
        let event = RunEvent::from_env(&env);
        assert_eq!(EventPolicy.check_environment(&event), Ok(()));
        // A planted GITHUB_EVENT_NAME=push does not hide the token's pull_request_target.
        let err = EventPolicy
            .check_token(
                &event,
                &claims(serde_json::json!({"event_name": "pull_request_target"})),
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("from the token's signed `event_name` claim"),
            "{err}"
        );
        // A token without event_name falls back to the environment.
        let env = MapEnv::new()
            .with("GITHUB_ACTIONS", "true")
            .with("GITHUB_EVENT_NAME", "pull_request_target");
        let event = RunEvent::from_env(&env);
        assert!(EventPolicy.check_environment(&event).is_err());
        assert!(
            EventPolicy
                .check_token(&event, &claims(serde_json::json!({})))
                .is_err()
        );
        // And the claim says push while the environment lies about pull_request: no warning.
        let env = MapEnv::new()
            .with("GITHUB_ACTIONS", "true")
            .with("GITHUB_EVENT_NAME", "pull_request");
        let warnings = EventPolicy
            .check_token(
                &RunEvent::from_env(&env),
                &claims(serde_json::json!({"event_name": "push"})),
            )
            .unwrap();
        assert!(warnings.is_empty());
    }

    #[test]
    fn gitlab_merge_requests_from_forks_are_refused() {
        let fork = MapEnv::new()
            .with("GITLAB_CI", "true")
            .with("CI_PROJECT_ID", "100")
            .with("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "200");
        let err = EventPolicy
            .check_environment(&RunEvent::from_env(&fork))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("source project 200, this project 100"),
            "{err}"
        );
        let same = MapEnv::new()
            .with("GITLAB_CI", "true")
            .with("CI_PROJECT_ID", "100")
            .with("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "100");
        let event = RunEvent::from_env(&same);
        assert_eq!(EventPolicy.check_environment(&event), Ok(()));
        // The token's project wins over a planted CI_PROJECT_ID.
        assert!(
            EventPolicy
                .check_token(&event, &claims(serde_json::json!({"project_id": "300"})))
                .is_err()
        );
        assert_eq!(
            EventPolicy.check_token(&event, &claims(serde_json::json!({"project_id": "100"}))),
            Ok(vec![])
        );
    }

    #[test]
    fn reads_the_github_context() {
        assert_eq!(GithubContext::from_env(&MapEnv::new()), None);
        let env = MapEnv::new()
            .with("GITHUB_ACTIONS", "true")
            .with("GITHUB_EVENT_NAME", "push")
            .with(
                "GITHUB_WORKFLOW_REF",
                "o/r/.github/workflows/release.yml@refs/tags/v1",
            )
            .with("GITHUB_STEP_SUMMARY", "/tmp/summary.md");
        let ctx = GithubContext::from_env(&env).unwrap();
        assert_eq!(ctx.event_name.as_deref(), Some("push"));
        assert_eq!(ctx.workflow_filename(), Some("release.yml"));
        assert_eq!(
            ctx.step_summary.as_deref(),
            Some(Path::new("/tmp/summary.md"))
        );
    }

    #[test]
    fn step_summary_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        append_step_summary(&path, "# one").unwrap();
        append_step_summary(&path, "two\n").unwrap();
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "# one\ntwo\n");
    }
}
