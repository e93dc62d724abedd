//! What the CI environment says about the build that a provenance statement describes, read
//! from the same variables libnpmpublish reads (`process.env`), once, before anything is signed.

use std::collections::BTreeMap;
use std::fmt;

use oidc_core::env::Environment;

/// A CI system npm can generate provenance on (ci-info's names and detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CiProvider {
    /// GitHub Actions (`GITHUB_ACTIONS` set).
    GithubActions,
    /// GitLab CI/CD (`GITLAB_CI` set).
    GitlabCi,
}

/// CI systems npm recognises but cannot generate provenance on: `(name, variable)` from
/// ci-info 4.4, for npm's "not supported for provider" message.
const OTHER_CI: [(&str, &[&str]); 6] = [
    ("Azure Pipelines", &["TF_BUILD"]),
    ("Bitbucket Pipelines", &["BITBUCKET_COMMIT"]),
    ("Buildkite", &["BUILDKITE"]),
    ("CircleCI", &["CIRCLECI"]),
    ("Google Cloud Build", &["BUILDER_OUTPUT"]),
    ("Jenkins", &["JENKINS_URL", "BUILD_ID"]),
];

impl CiProvider {
    /// Detects the CI system as ci-info does: nothing when `CI=false`, else GitHub Actions when
    /// `GITHUB_ACTIONS` is set and not empty, else GitLab CI when `GITLAB_CI` is. (npm checks
    /// GitHub first in `ensureProvenanceGeneration`; both set at once is not a real job.)
    pub fn detect(env: &dyn Environment) -> Result<Self, CiBuildError> {
        let enabled = env.var("CI").as_deref() != Some("false");
        if enabled && env.non_empty("GITHUB_ACTIONS").is_some() {
            return Ok(Self::GithubActions);
        }
        if enabled && env.non_empty("GITLAB_CI").is_some() {
            return Ok(Self::GitlabCi);
        }
        // ci-info's `name` is `null` outside a CI it knows; npm prints it as such.
        let name = OTHER_CI
            .iter()
            .filter(|_| enabled)
            .find(|(_, variables)| variables.iter().all(|v| env.non_empty(v).is_some()))
            .map_or("null", |(name, _)| name);
        Err(CiBuildError::UnsupportedProvider {
            name: name.to_owned(),
        })
    }

    /// ci-info's name: `GitHub Actions`, `GitLab CI`.
    pub fn name(self) -> &'static str {
        match self {
            Self::GithubActions => "GitHub Actions",
            Self::GitlabCi => "GitLab CI",
        }
    }
}

impl fmt::Display for CiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The CI environment cannot describe the build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CiBuildError {
    /// Not GitHub Actions or GitLab CI (npm's `EUSAGE` text; `null` outside any known CI).
    #[error("Automatic provenance generation not supported for provider: {name}")]
    UnsupportedProvider {
        /// ci-info's name of the CI system, or `null`.
        name: String,
    },
    /// Variables the statement records are unset or empty (npm would write `undefined`).
    #[error(
        "{provider} did not set {}, which the provenance statement records; run the publish step directly in the CI job, without clearing its environment",
        names.join(", ")
    )]
    MissingVariables {
        /// The CI system.
        provider: CiProvider,
        /// Every missing variable, in the order the statement uses them.
        names: Vec<&'static str>,
    },
    /// `GITHUB_WORKFLOW_REF` has no `@<ref>`.
    #[error(
        "GITHUB_WORKFLOW_REF is \"{value}\", which is not \"<owner>/<repo>/<workflow path>@<ref>\" as GitHub Actions sets it; do not override it"
    )]
    MalformedWorkflowRef {
        /// The value.
        value: String,
    },
}

impl CiBuildError {
    /// What to do about it, when the message does not already say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::UnsupportedProvider { .. } => Some(
                "provenance can only be generated in GitHub Actions or GitLab CI; publish without provenance, or attach a bundle signed elsewhere with --provenance-file",
            ),
            Self::MissingVariables { .. } | Self::MalformedWorkflowRef { .. } => None,
        }
    }
}

/// Reads required variables, remembering every one that is missing.
struct Required<'a> {
    env: &'a dyn Environment,
    missing: Vec<&'static str>,
}

impl Required<'_> {
    fn get(&mut self, name: &'static str) -> String {
        self.env.non_empty(name).unwrap_or_else(|| {
            self.missing.push(name);
            String::new()
        })
    }

    fn finish(self, provider: CiProvider) -> Result<(), CiBuildError> {
        if self.missing.is_empty() {
            Ok(())
        } else {
            Err(CiBuildError::MissingVariables {
                provider,
                names: self.missing,
            })
        }
    }
}

/// A GitHub Actions job, as the SLSA v1 statement records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubBuild {
    pub(crate) server_url: String,
    pub(crate) repository: String,
    pub(crate) workflow_path: String,
    pub(crate) workflow_ref: String,
    pub(crate) event_name: String,
    pub(crate) repository_id: String,
    pub(crate) repository_owner_id: String,
    pub(crate) git_ref: String,
    pub(crate) sha: String,
    pub(crate) runner_environment: String,
    pub(crate) run_id: String,
    pub(crate) run_attempt: String,
}

impl GithubBuild {
    /// Reads `GITHUB_WORKFLOW_REF`, `GITHUB_REPOSITORY`, `GITHUB_SERVER_URL`,
    /// `GITHUB_EVENT_NAME`, `GITHUB_REPOSITORY_ID`, `GITHUB_REPOSITORY_OWNER_ID`, `GITHUB_REF`,
    /// `GITHUB_SHA`, `RUNNER_ENVIRONMENT`, `GITHUB_RUN_ID` and `GITHUB_RUN_ATTEMPT`; all are
    /// required.
    pub fn from_env(env: &dyn Environment) -> Result<Self, CiBuildError> {
        let mut required = Required {
            env,
            missing: Vec::new(),
        };
        let workflow_ref_var = required.get("GITHUB_WORKFLOW_REF");
        let repository = required.get("GITHUB_REPOSITORY");
        let server_url = required.get("GITHUB_SERVER_URL");
        let event_name = required.get("GITHUB_EVENT_NAME");
        let repository_id = required.get("GITHUB_REPOSITORY_ID");
        let repository_owner_id = required.get("GITHUB_REPOSITORY_OWNER_ID");
        let git_ref = required.get("GITHUB_REF");
        let sha = required.get("GITHUB_SHA");
        let runner_environment = required.get("RUNNER_ENVIRONMENT");
        let run_id = required.get("GITHUB_RUN_ID");
        let run_attempt = required.get("GITHUB_RUN_ATTEMPT");
        required.finish(CiProvider::GithubActions)?;

        // libnpmpublish: `GITHUB_WORKFLOW_REF.replace(GITHUB_REPOSITORY + '/', '')` (the first
        // occurrence), then split at the first `@`.
        let relative = workflow_ref_var.replacen(&format!("{repository}/"), "", 1);
        let (workflow_path, workflow_ref) =
            relative
                .split_once('@')
                .ok_or_else(|| CiBuildError::MalformedWorkflowRef {
                    value: workflow_ref_var.clone(),
                })?;
        Ok(Self {
            workflow_path: workflow_path.to_owned(),
            workflow_ref: workflow_ref.to_owned(),
            server_url,
            repository,
            event_name,
            repository_id,
            repository_owner_id,
            git_ref,
            sha,
            runner_environment,
            run_id,
            run_attempt,
        })
    }

    /// `<GITHUB_SERVER_URL>/<GITHUB_REPOSITORY>`, e.g. `https://github.com/owner/repo`: the
    /// statement's `externalParameters.workflow.repository`.
    pub fn repository_url(&self) -> String {
        format!("{}/{}", self.server_url, self.repository)
    }

    /// `RUNNER_ENVIRONMENT`: `github-hosted` or `self-hosted`.
    pub fn runner_environment(&self) -> &str {
        &self.runner_environment
    }
}

/// The GitLab CI variables libnpmpublish copies into `invocation.parameters`, in its order.
pub(crate) const GITLAB_PARAMETERS: [&str; 76] = [
    "CI",
    "CI_API_GRAPHQL_URL",
    "CI_API_V4_URL",
    "CI_BUILD_BEFORE_SHA",
    "CI_BUILD_ID",
    "CI_BUILD_NAME",
    "CI_BUILD_REF",
    "CI_BUILD_REF_NAME",
    "CI_BUILD_REF_SLUG",
    "CI_BUILD_STAGE",
    "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_REF_PROTECTED",
    "CI_COMMIT_REF_SLUG",
    "CI_COMMIT_SHA",
    "CI_COMMIT_SHORT_SHA",
    "CI_COMMIT_TIMESTAMP",
    "CI_COMMIT_TITLE",
    "CI_CONFIG_PATH",
    "CI_DEFAULT_BRANCH",
    "CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX",
    "CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX",
    "CI_DEPENDENCY_PROXY_SERVER",
    "CI_DEPENDENCY_PROXY_USER",
    "CI_JOB_ID",
    "CI_JOB_NAME",
    "CI_JOB_NAME_SLUG",
    "CI_JOB_STAGE",
    "CI_JOB_STARTED_AT",
    "CI_JOB_URL",
    "CI_NODE_TOTAL",
    "CI_PAGES_DOMAIN",
    "CI_PAGES_URL",
    "CI_PIPELINE_CREATED_AT",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_IID",
    "CI_PIPELINE_SOURCE",
    "CI_PIPELINE_URL",
    "CI_PROJECT_CLASSIFICATION_LABEL",
    "CI_PROJECT_DESCRIPTION",
    "CI_PROJECT_ID",
    "CI_PROJECT_NAME",
    "CI_PROJECT_NAMESPACE",
    "CI_PROJECT_NAMESPACE_ID",
    "CI_PROJECT_PATH",
    "CI_PROJECT_PATH_SLUG",
    "CI_PROJECT_REPOSITORY_LANGUAGES",
    "CI_PROJECT_ROOT_NAMESPACE",
    "CI_PROJECT_TITLE",
    "CI_PROJECT_URL",
    "CI_PROJECT_VISIBILITY",
    "CI_REGISTRY",
    "CI_REGISTRY_IMAGE",
    "CI_REGISTRY_USER",
    "CI_RUNNER_DESCRIPTION",
    "CI_RUNNER_ID",
    "CI_RUNNER_TAGS",
    "CI_SERVER_HOST",
    "CI_SERVER_NAME",
    "CI_SERVER_PORT",
    "CI_SERVER_PROTOCOL",
    "CI_SERVER_REVISION",
    "CI_SERVER_SHELL_SSH_HOST",
    "CI_SERVER_SHELL_SSH_PORT",
    "CI_SERVER_URL",
    "CI_SERVER_VERSION",
    "CI_SERVER_VERSION_MAJOR",
    "CI_SERVER_VERSION_MINOR",
    "CI_SERVER_VERSION_PATCH",
    "CI_TEMPLATE_REGISTRY_HOST",
    "GITLAB_CI",
    "GITLAB_FEATURES",
    "GITLAB_USER_ID",
    "GITLAB_USER_LOGIN",
    "RUNNER_GENERATE_ARTIFACTS_METADATA",
];

/// A GitLab CI job, as the SLSA v0.2 statement records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitlabBuild {
    pub(crate) project_url: String,
    pub(crate) runner_id: String,
    pub(crate) commit_sha: String,
    pub(crate) job_name: String,
    pub(crate) job_url: String,
    /// Every optional variable that is set (even to an empty string). npm writes the unset
    /// ones as `undefined`, which `JSON.stringify` leaves out.
    vars: BTreeMap<&'static str, String>,
}

impl GitlabBuild {
    /// Reads the GitLab CI variables: `CI_PROJECT_URL`, `CI_RUNNER_ID`, `CI_COMMIT_SHA`,
    /// `CI_JOB_NAME` and `CI_JOB_URL` are required; the other parameters and
    /// `CI_RUNNER_EXECUTABLE_ARCH` are recorded when set.
    pub fn from_env(env: &dyn Environment) -> Result<Self, CiBuildError> {
        let mut required = Required {
            env,
            missing: Vec::new(),
        };
        let project_url = required.get("CI_PROJECT_URL");
        let runner_id = required.get("CI_RUNNER_ID");
        let commit_sha = required.get("CI_COMMIT_SHA");
        let job_name = required.get("CI_JOB_NAME");
        let job_url = required.get("CI_JOB_URL");
        required.finish(CiProvider::GitlabCi)?;
        let vars = GITLAB_PARAMETERS
            .iter()
            .chain(&["CI_RUNNER_EXECUTABLE_ARCH"])
            .filter_map(|name| env.var(name).map(|value| (*name, value)))
            .collect();
        Ok(Self {
            project_url,
            runner_id,
            commit_sha,
            job_name,
            job_url,
            vars,
        })
    }

    /// `CI_PROJECT_URL`, e.g. `https://gitlab.com/group/project`.
    pub fn project_url(&self) -> &str {
        &self.project_url
    }

    /// A variable as npm reads it: `None` when unset.
    pub(crate) fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// The CI build a provenance statement describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiBuild {
    /// A GitHub Actions job.
    GithubActions(GithubBuild),
    /// A GitLab CI job.
    GitlabCi(GitlabBuild),
}

impl CiBuild {
    /// Detects the CI system ([`CiProvider::detect`]) and reads its variables.
    pub fn from_env(env: &dyn Environment) -> Result<Self, CiBuildError> {
        Ok(match CiProvider::detect(env)? {
            CiProvider::GithubActions => Self::GithubActions(GithubBuild::from_env(env)?),
            CiProvider::GitlabCi => Self::GitlabCi(GitlabBuild::from_env(env)?),
        })
    }

    /// The CI system.
    pub fn provider(&self) -> CiProvider {
        match self {
            Self::GithubActions(_) => CiProvider::GithubActions,
            Self::GitlabCi(_) => CiProvider::GitlabCi,
        }
    }

    /// The source repository the provenance names, which `repository.url` in `package.json`
    /// must match: `https://github.com/owner/repo` or `CI_PROJECT_URL`.
    pub fn source_repository(&self) -> String {
        match self {
            Self::GithubActions(github) => github.repository_url(),
            Self::GitlabCi(gitlab) => gitlab.project_url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use oidc_core::env::MapEnv;

    use super::*;
    use crate::provenance::test_support::{env_of, github_vars, gitlab_vars, without};

    #[test]
    fn github_workflow_ref_is_split_as_npm_does() {
        let mut vars = github_vars();
        for (name, value) in &mut vars {
            if *name == "GITHUB_WORKFLOW_REF" {
                *value =
                    "octo-org/octo-repo/.github/workflows/sub/deploy.yaml@refs/heads/fix@2".into();
            }
        }
        let CiBuild::GithubActions(build) = CiBuild::from_env(&env_of(&vars)).unwrap() else {
            panic!("not GitHub");
        };
        assert_eq!(build.workflow_path, ".github/workflows/sub/deploy.yaml");
        assert_eq!(build.workflow_ref, "refs/heads/fix@2");
        assert_eq!(
            build.repository_url(),
            "https://github.com/octo-org/octo-repo"
        );
        assert_eq!(build.runner_environment(), "github-hosted");
    }

    #[test]
    fn missing_variables_are_named() {
        let env = without(
            &github_vars(),
            &["GITHUB_SHA", "GITHUB_REPOSITORY_ID", "GITHUB_RUN_ATTEMPT"],
        );
        let error = CiBuild::from_env(&env).unwrap_err();
        assert_eq!(
            error,
            CiBuildError::MissingVariables {
                provider: CiProvider::GithubActions,
                names: vec!["GITHUB_REPOSITORY_ID", "GITHUB_SHA", "GITHUB_RUN_ATTEMPT"],
            }
        );
        insta::assert_snapshot!(error, @"GitHub Actions did not set GITHUB_REPOSITORY_ID, GITHUB_SHA, GITHUB_RUN_ATTEMPT, which the provenance statement records; run the publish step directly in the CI job, without clearing its environment");

        let empty = env_of(&github_vars()).with("GITHUB_REF", "");
        assert_eq!(
            CiBuild::from_env(&empty).unwrap_err(),
            CiBuildError::MissingVariables {
                provider: CiProvider::GithubActions,
                names: vec!["GITHUB_REF"],
            }
        );

        let env = without(&gitlab_vars(), &["CI_RUNNER_ID", "CI_JOB_URL"]);
        insta::assert_snapshot!(CiBuild::from_env(&env).unwrap_err(), @"GitLab CI did not set CI_RUNNER_ID, CI_JOB_URL, which the provenance statement records; run the publish step directly in the CI job, without clearing its environment");
    }

    #[test]
    fn a_workflow_ref_without_a_ref_is_refused() {
        let env =
            env_of(&github_vars()).with("GITHUB_WORKFLOW_REF", "octo-org/octo-repo/release.yml");
        insta::assert_snapshot!(CiBuild::from_env(&env).unwrap_err(), @r#"GITHUB_WORKFLOW_REF is "octo-org/octo-repo/release.yml", which is not "<owner>/<repo>/<workflow path>@<ref>" as GitHub Actions sets it; do not override it"#);
    }

    #[test]
    fn detects_the_ci_as_ci_info_does() {
        let detect = |vars: &[(&str, &str)]| {
            let env = MapEnv::new().with_all(vars.iter().copied());
            CiProvider::detect(&env).map_err(|e| e.to_string())
        };
        assert_eq!(
            detect(&[("GITHUB_ACTIONS", "true")]),
            Ok(CiProvider::GithubActions)
        );
        assert_eq!(detect(&[("GITLAB_CI", "true")]), Ok(CiProvider::GitlabCi));
        assert_eq!(
            detect(&[("GITLAB_CI", "true"), ("GITHUB_ACTIONS", "true")]),
            Ok(CiProvider::GithubActions)
        );
        let unsupported = |name: &str| {
            Err(format!(
                "Automatic provenance generation not supported for provider: {name}"
            ))
        };
        assert_eq!(detect(&[]), unsupported("null"));
        assert_eq!(detect(&[("GITHUB_ACTIONS", "")]), unsupported("null"));
        assert_eq!(
            detect(&[("GITHUB_ACTIONS", "true"), ("CI", "false")]),
            unsupported("null")
        );
        assert_eq!(detect(&[("CIRCLECI", "true")]), unsupported("CircleCI"));
        assert_eq!(detect(&[("JENKINS_URL", "https://j")]), unsupported("null"));
        assert_eq!(
            detect(&[("JENKINS_URL", "https://j"), ("BUILD_ID", "7")]),
            unsupported("Jenkins")
        );
        assert_eq!(CiProvider::GitlabCi.to_string(), "GitLab CI");
    }
}
