//! The GitHub Actions job the issuer pretends to be: repository, workflow, ref, environment, runner, and the
//! claim set and environment variables GitHub derives from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The issuer string of github.com's Actions OIDC provider.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Who may see the repository (`repository_visibility` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Anyone.
    Public,
    /// Collaborators only.
    Private,
    /// Members of the enterprise.
    Internal,
}

impl Visibility {
    /// The claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Internal => "internal",
        }
    }
}

/// Where the job runs (`runner_environment` claim, `RUNNER_ENVIRONMENT` variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunnerEnvironment {
    /// A runner GitHub provides.
    GithubHosted,
    /// A runner the repository owner provides.
    SelfHosted,
}

impl RunnerEnvironment {
    /// The claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GithubHosted => "github-hosted",
            Self::SelfHosted => "self-hosted",
        }
    }
}

/// The called workflow when the job runs inside a reusable workflow: `job_workflow_ref` then names it while
/// `workflow_ref` still names the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReusableWorkflow {
    /// `owner/name` of the repository holding the called workflow (the caller's own, or another).
    pub repository: String,
    /// File name of the called workflow under `.github/workflows/`.
    pub workflow_file: String,
    /// The ref the caller used in `uses: …@<ref>`.
    pub git_ref: String,
    /// The commit that ref resolved to (`job_workflow_sha`).
    pub sha: String,
}

/// The GitHub Actions job identity the issuer signs tokens for.
///
/// Every claim of a GitHub ID token and every `GITHUB_*` variable of [`crate::Testbed::github_env`] comes from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubIdentity {
    /// `owner/name`.
    pub repository: String,
    /// Numeric id of the owner (`repository_owner_id`, a string in the token).
    pub repository_owner_id: u64,
    /// Numeric id of the repository.
    pub repository_id: u64,
    /// Visibility of the repository.
    pub visibility: Visibility,
    /// File name of the top-level workflow under `.github/workflows/`, e.g. `release.yml`.
    pub workflow_file: String,
    /// The workflow's `name:` (`workflow` claim).
    pub workflow_name: String,
    /// The full ref that triggered the run, e.g. `refs/tags/v1.0.0`.
    pub git_ref: String,
    /// Whether that ref is protected (`ref_protected`).
    pub ref_protected: bool,
    /// The commit being built (40 hex characters).
    pub sha: String,
    /// The deployment environment of the job, if any.
    pub environment: Option<String>,
    /// The event that triggered the run: `push`, `release`, `workflow_dispatch`, `pull_request_target`, …
    pub event_name: String,
    /// Where the job runs.
    pub runner_environment: RunnerEnvironment,
    /// Set when the job runs inside a reusable workflow.
    pub reusable_workflow: Option<ReusableWorkflow>,
    /// The `iss` claim: github.com's issuer by default, or e.g. a GHES issuer
    /// `https://ghes.example.com/_services/token`.
    pub issuer: String,
    /// Who triggered the run.
    pub actor: String,
    /// Numeric id of the actor.
    pub actor_id: u64,
    /// Workflow run id.
    pub run_id: u64,
    /// Workflow run number.
    pub run_number: u64,
    /// Attempt of the run.
    pub run_attempt: u32,
    /// Source branch of a pull request (empty otherwise).
    pub head_ref: String,
    /// Target branch of a pull request (empty otherwise).
    pub base_ref: String,
    /// Shifts `iat`/`nbf`/`exp` by this many seconds, to simulate a skewed clock.
    pub clock_offset_secs: i64,
    /// How long issued tokens are valid, in seconds (GitHub gives 5 to 10 minutes).
    pub token_lifetime_secs: u64,
}

impl Default for GithubIdentity {
    fn default() -> Self {
        Self {
            repository: "octo-org/octo-repo".to_owned(),
            repository_owner_id: 5_050_505,
            repository_id: 606_060_606,
            visibility: Visibility::Public,
            workflow_file: "release.yml".to_owned(),
            workflow_name: "Release".to_owned(),
            git_ref: "refs/tags/v1.0.0".to_owned(),
            ref_protected: true,
            sha: "8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1".to_owned(),
            environment: None,
            event_name: "push".to_owned(),
            runner_environment: RunnerEnvironment::GithubHosted,
            reusable_workflow: None,
            issuer: GITHUB_ISSUER.to_owned(),
            actor: "octocat".to_owned(),
            actor_id: 583_231,
            run_id: 9_876_543_210,
            run_number: 42,
            run_attempt: 1,
            head_ref: String::new(),
            base_ref: String::new(),
            clock_offset_secs: 0,
            token_lifetime_secs: 300,
        }
    }
}

impl GithubIdentity {
    /// The owner part of `repository` (everything before the first `/`).
    pub fn owner(&self) -> &str {
        self.repository
            .split_once('/')
            .map_or(self.repository.as_str(), |(owner, _)| owner)
    }

    /// `owner/repo/.github/workflows/<file>@<ref>`: the top-level workflow (`workflow_ref`).
    pub fn workflow_ref(&self) -> String {
        format!(
            "{}/.github/workflows/{}@{}",
            self.repository, self.workflow_file, self.git_ref
        )
    }

    /// The workflow the job runs in (`job_workflow_ref`): the called one for reusable workflows.
    pub fn job_workflow_ref(&self) -> String {
        match &self.reusable_workflow {
            Some(called) => format!(
                "{}/.github/workflows/{}@{}",
                called.repository, called.workflow_file, called.git_ref
            ),
            None => self.workflow_ref(),
        }
    }

    /// `tag`, `branch`, or empty, from the ref's prefix.
    pub fn ref_type(&self) -> &'static str {
        if self.git_ref.starts_with("refs/tags/") {
            "tag"
        } else if self.git_ref.starts_with("refs/heads/") {
            "branch"
        } else {
            ""
        }
    }

    /// The short ref name (`GITHUB_REF_NAME`).
    pub fn ref_name(&self) -> &str {
        self.git_ref
            .strip_prefix("refs/tags/")
            .or_else(|| self.git_ref.strip_prefix("refs/heads/"))
            .unwrap_or(&self.git_ref)
    }

    /// The default `sub` claim, as GitHub builds it.
    pub fn subject(&self) -> String {
        match (&self.environment, self.event_name.as_str()) {
            (Some(environment), _) => format!("repo:{}:environment:{environment}", self.repository),
            (None, "pull_request") => format!("repo:{}:pull_request", self.repository),
            (None, _) => format!("repo:{}:ref:{}", self.repository, self.git_ref),
        }
    }

    /// The full claim set of a token for `audience`, issued at `now` (unix seconds, before the clock offset).
    pub(crate) fn claims(&self, audience: &str, jti: &str, now: i64) -> Map<String, Value> {
        let issued_at = now.saturating_add(self.clock_offset_secs);
        let lifetime = i64::try_from(self.token_lifetime_secs).unwrap_or(i64::MAX);
        let job_workflow_sha = self
            .reusable_workflow
            .as_ref()
            .map_or(&self.sha, |called| &called.sha);
        let mut claims = json!({
            "jti": jti,
            "sub": self.subject(),
            "aud": audience,
            "ref": self.git_ref,
            "sha": self.sha,
            "repository": self.repository,
            "repository_owner": self.owner(),
            "repository_owner_id": self.repository_owner_id.to_string(),
            "run_id": self.run_id.to_string(),
            "run_number": self.run_number.to_string(),
            "run_attempt": self.run_attempt.to_string(),
            "repository_visibility": self.visibility.as_str(),
            "repository_id": self.repository_id.to_string(),
            "actor_id": self.actor_id.to_string(),
            "actor": self.actor,
            "workflow": self.workflow_name,
            "head_ref": self.head_ref,
            "base_ref": self.base_ref,
            "event_name": self.event_name,
            "ref_protected": self.ref_protected.to_string(),
            "ref_type": self.ref_type(),
            "workflow_ref": self.workflow_ref(),
            "workflow_sha": self.sha,
            "job_workflow_ref": self.job_workflow_ref(),
            "job_workflow_sha": job_workflow_sha,
            "runner_environment": self.runner_environment.as_str(),
            "iss": self.issuer,
            "nbf": issued_at.saturating_sub(5),
            "exp": issued_at.saturating_add(lifetime),
            "iat": issued_at,
        });
        if let (Some(environment), Some(map)) = (&self.environment, claims.as_object_mut()) {
            map.insert("environment".to_owned(), Value::String(environment.clone()));
        }
        match claims {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// The `GITHUB_*`/`RUNNER_*` variables a job with this identity sees (without the token request pair).
    pub(crate) fn env(&self) -> BTreeMap<String, String> {
        let pairs = [
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("CI", "true".to_owned()),
            ("GITHUB_REPOSITORY", self.repository.clone()),
            ("GITHUB_REPOSITORY_OWNER", self.owner().to_owned()),
            (
                "GITHUB_REPOSITORY_OWNER_ID",
                self.repository_owner_id.to_string(),
            ),
            ("GITHUB_REPOSITORY_ID", self.repository_id.to_string()),
            ("GITHUB_WORKFLOW", self.workflow_name.clone()),
            ("GITHUB_WORKFLOW_REF", self.workflow_ref()),
            ("GITHUB_WORKFLOW_SHA", self.sha.clone()),
            ("GITHUB_REF", self.git_ref.clone()),
            ("GITHUB_REF_NAME", self.ref_name().to_owned()),
            ("GITHUB_REF_TYPE", self.ref_type().to_owned()),
            ("GITHUB_REF_PROTECTED", self.ref_protected.to_string()),
            ("GITHUB_SHA", self.sha.clone()),
            ("GITHUB_EVENT_NAME", self.event_name.clone()),
            ("GITHUB_ACTOR", self.actor.clone()),
            ("GITHUB_ACTOR_ID", self.actor_id.to_string()),
            ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
            ("GITHUB_API_URL", "https://api.github.com".to_owned()),
            ("GITHUB_RUN_ID", self.run_id.to_string()),
            ("GITHUB_RUN_NUMBER", self.run_number.to_string()),
            ("GITHUB_RUN_ATTEMPT", self.run_attempt.to_string()),
            ("GITHUB_HEAD_REF", self.head_ref.clone()),
            ("GITHUB_BASE_REF", self.base_ref.clone()),
            (
                "RUNNER_ENVIRONMENT",
                self.runner_environment.as_str().to_owned(),
            ),
        ];
        pairs
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_claims_look_like_a_tag_push() {
        let claims = GithubIdentity::default().claims("pypi", "jti-1", 1_700_000_000);
        insta::assert_snapshot!(serde_json::to_string_pretty(&claims).unwrap(), @r#"
        {
          "actor": "octocat",
          "actor_id": "583231",
          "aud": "pypi",
          "base_ref": "",
          "event_name": "push",
          "exp": 1700000300,
          "head_ref": "",
          "iat": 1700000000,
          "iss": "https://token.actions.githubusercontent.com",
          "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0",
          "job_workflow_sha": "8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1",
          "jti": "jti-1",
          "nbf": 1699999995,
          "ref": "refs/tags/v1.0.0",
          "ref_protected": "true",
          "ref_type": "tag",
          "repository": "octo-org/octo-repo",
          "repository_id": "606060606",
          "repository_owner": "octo-org",
          "repository_owner_id": "5050505",
          "repository_visibility": "public",
          "run_attempt": "1",
          "run_id": "9876543210",
          "run_number": "42",
          "runner_environment": "github-hosted",
          "sha": "8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1",
          "sub": "repo:octo-org/octo-repo:ref:refs/tags/v1.0.0",
          "workflow": "Release",
          "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0",
          "workflow_sha": "8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1"
        }
        "#);
    }

    #[test]
    fn environment_and_reusable_workflow_change_sub_and_job_workflow_ref() {
        let identity = GithubIdentity {
            environment: Some("Release".to_owned()),
            reusable_workflow: Some(ReusableWorkflow {
                repository: "octo-org/shared".to_owned(),
                workflow_file: "publish.yaml".to_owned(),
                git_ref: "refs/heads/main".to_owned(),
                sha: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            }),
            ..GithubIdentity::default()
        };
        let claims = identity.claims("npm:127.0.0.1", "j", 0);
        assert_eq!(claims["sub"], "repo:octo-org/octo-repo:environment:Release");
        assert_eq!(claims["environment"], "Release");
        assert_eq!(
            claims["workflow_ref"],
            "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0"
        );
        assert_eq!(
            claims["job_workflow_ref"],
            "octo-org/shared/.github/workflows/publish.yaml@refs/heads/main"
        );
        assert_eq!(
            claims["job_workflow_sha"],
            "0123456789abcdef0123456789abcdef01234567"
        );
    }

    #[test]
    fn ref_helpers() {
        let branch = GithubIdentity {
            git_ref: "refs/heads/main".to_owned(),
            ..GithubIdentity::default()
        };
        assert_eq!((branch.ref_type(), branch.ref_name()), ("branch", "main"));
        let other = GithubIdentity {
            git_ref: "refs/pull/1/merge".to_owned(),
            event_name: "pull_request".to_owned(),
            ..GithubIdentity::default()
        };
        assert_eq!(
            (other.ref_type(), other.ref_name()),
            ("", "refs/pull/1/merge")
        );
        assert_eq!(other.subject(), "repo:octo-org/octo-repo:pull_request");
        let env = GithubIdentity::default().env();
        assert_eq!(env["GITHUB_REF_NAME"], "v1.0.0");
        assert_eq!(
            env["GITHUB_WORKFLOW_REF"],
            "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0"
        );
    }
}
