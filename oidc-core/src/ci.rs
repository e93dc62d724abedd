//! The CI context: which event started the run, whether it may publish, and how to talk to
//! the runner (workflow commands and the step summary).
//!
//! Libraries never print, so the workflow commands here are built as strings; the CLI writes
//! them. [`MaskSink`] is how a library asks for a secret to be masked the moment it exists.

use std::path::{Path, PathBuf};

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

/// Which events may mint publish credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventPolicy {
    /// Allow `pull_request` runs (off by default: pull requests run code nobody reviewed yet).
    pub allow_pull_request: bool,
}

/// Why the event policy refused to mint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventRefused {
    /// `pull_request_target` runs with the base repository's secrets and permissions while
    /// checking out code from the pull request.
    #[error(
        "refusing to mint publish credentials in a `pull_request_target` run: such runs have the base repository's permissions while handling code from the pull request, so anyone who can open a pull request could reach a publish token. PyPI refuses these tokens too. Publish from a tag push, a published release or workflow_dispatch"
    )]
    PullRequestTarget,
    /// `pull_request` without an explicit opt-in.
    #[error(
        "refusing to mint publish credentials in a `pull_request` run: code under review could reach the publish token. Publish from a tag push, a published release or workflow_dispatch (or pass --allow-pull-request if you truly publish from pull requests)"
    )]
    PullRequest,
}

impl EventPolicy {
    /// Checks the run's event.
    pub fn check(&self, event_name: Option<&str>) -> Result<(), EventRefused> {
        match event_name {
            Some("pull_request_target") => Err(EventRefused::PullRequestTarget),
            Some("pull_request") if !self.allow_pull_request => Err(EventRefused::PullRequest),
            _ => Ok(()),
        }
    }
}

/// Receives every secret the moment it exists, so the runner can mask it before anything else
/// is printed. On GitHub Actions the CLI answers with `::add-mask::`.
pub trait MaskSink: Send + Sync {
    /// Masks `secret` in all later log output.
    fn mask(&self, secret: &str);
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

    #[test]
    fn event_policy() {
        let policy = EventPolicy::default();
        assert_eq!(policy.check(Some("push")), Ok(()));
        assert_eq!(policy.check(Some("release")), Ok(()));
        assert_eq!(policy.check(None), Ok(()));
        assert_eq!(
            policy.check(Some("pull_request")),
            Err(EventRefused::PullRequest)
        );
        assert_eq!(
            policy.check(Some("pull_request_target")),
            Err(EventRefused::PullRequestTarget)
        );
        let allow = EventPolicy {
            allow_pull_request: true,
        };
        assert_eq!(allow.check(Some("pull_request")), Ok(()));
        assert_eq!(
            allow.check(Some("pull_request_target")),
            Err(EventRefused::PullRequestTarget)
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
