//! Fixtures for the provenance tests: the variables of real-looking CI jobs.

use oidc_core::env::MapEnv;
use semver::Version;

use super::ProvenanceSubject;
use crate::package::PackageName;

/// The variables of a GitHub Actions job that publishes a tag.
pub(crate) fn github_vars() -> Vec<(&'static str, String)> {
    [
        ("CI", "true"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "octo-org/octo-repo"),
        ("GITHUB_REF", "refs/tags/v1.2.3"),
        ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        (
            "GITHUB_WORKFLOW_REF",
            "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.3",
        ),
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REPOSITORY_ID", "123456789"),
        ("GITHUB_REPOSITORY_OWNER_ID", "987654"),
        ("GITHUB_RUN_ID", "4242424242"),
        ("GITHUB_RUN_ATTEMPT", "2"),
        ("RUNNER_ENVIRONMENT", "github-hosted"),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// The variables of a GitLab CI job on a tag: some unset (as on a tag pipeline), one empty,
/// and text that needs JSON escaping.
pub(crate) fn gitlab_vars() -> Vec<(&'static str, String)> {
    [
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_API_GRAPHQL_URL", "https://gitlab.com/api/graphql"),
        ("CI_API_V4_URL", "https://gitlab.com/api/v4"),
        (
            "CI_COMMIT_BEFORE_SHA",
            "0000000000000000000000000000000000000000",
        ),
        ("CI_COMMIT_REF_NAME", "v1.2.3"),
        ("CI_COMMIT_REF_PROTECTED", "true"),
        ("CI_COMMIT_REF_SLUG", "v1-2-3"),
        ("CI_COMMIT_SHA", "89abcdef0123456789abcdef0123456789abcdef"),
        ("CI_COMMIT_SHORT_SHA", "89abcdef"),
        ("CI_COMMIT_TIMESTAMP", "2026-05-01T10:00:00+00:00"),
        (
            "CI_COMMIT_TITLE",
            "Release \"v1.2.3\" \\ caf\u{e9}\ttab\u{1}\u{2028} \u{1F680}",
        ),
        ("CI_CONFIG_PATH", ".gitlab-ci.yml"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_JOB_ID", "555"),
        ("CI_JOB_NAME", "publish"),
        ("CI_JOB_NAME_SLUG", "publish"),
        ("CI_JOB_STAGE", "deploy"),
        ("CI_JOB_STARTED_AT", "2026-05-01T10:01:00Z"),
        ("CI_JOB_URL", "https://gitlab.com/group/sub/proj/-/jobs/555"),
        ("CI_NODE_TOTAL", "1"),
        ("CI_PIPELINE_CREATED_AT", "2026-05-01T10:00:30Z"),
        ("CI_PIPELINE_ID", "777"),
        ("CI_PIPELINE_IID", "12"),
        ("CI_PIPELINE_SOURCE", "push"),
        (
            "CI_PIPELINE_URL",
            "https://gitlab.com/group/sub/proj/-/pipelines/777",
        ),
        ("CI_PROJECT_DESCRIPTION", ""),
        ("CI_PROJECT_ID", "424242"),
        ("CI_PROJECT_NAME", "proj"),
        ("CI_PROJECT_NAMESPACE", "group/sub"),
        ("CI_PROJECT_NAMESPACE_ID", "99"),
        ("CI_PROJECT_PATH", "group/sub/proj"),
        ("CI_PROJECT_PATH_SLUG", "group-sub-proj"),
        ("CI_PROJECT_ROOT_NAMESPACE", "group"),
        ("CI_PROJECT_TITLE", "Proj"),
        ("CI_PROJECT_URL", "https://gitlab.com/group/sub/proj"),
        ("CI_PROJECT_VISIBILITY", "public"),
        (
            "CI_RUNNER_DESCRIPTION",
            "3-blue.saas-linux-small-amd64.runners-manager.gitlab.com/default",
        ),
        ("CI_RUNNER_EXECUTABLE_ARCH", "linux/amd64"),
        ("CI_RUNNER_ID", "12270807"),
        (
            "CI_RUNNER_TAGS",
            "[\"gitlab-org\", \"saas-linux-small-amd64\"]",
        ),
        ("CI_SERVER_HOST", "gitlab.com"),
        ("CI_SERVER_NAME", "GitLab"),
        ("CI_SERVER_PORT", "443"),
        ("CI_SERVER_PROTOCOL", "https"),
        ("CI_SERVER_URL", "https://gitlab.com"),
        ("CI_SERVER_VERSION", "18.0.0-pre"),
        ("CI_SERVER_VERSION_MAJOR", "18"),
        ("CI_SERVER_VERSION_MINOR", "0"),
        ("CI_SERVER_VERSION_PATCH", "0"),
        ("GITLAB_USER_ID", "1001"),
        ("GITLAB_USER_LOGIN", "releaser"),
        ("SIGSTORE_ID_TOKEN", "header.payload.signature"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// An environment of exactly these variables.
pub(crate) fn env_of(vars: &[(&'static str, String)]) -> MapEnv {
    MapEnv::new().with_all(vars.iter().map(|(k, v)| (*k, v.clone())))
}

/// `vars` without the named variables.
pub(crate) fn without(vars: &[(&'static str, String)], names: &[&str]) -> MapEnv {
    env_of(
        &vars
            .iter()
            .filter(|(k, _)| !names.contains(k))
            .cloned()
            .collect::<Vec<_>>(),
    )
}

/// `@demo/pkg@1.2.3` with a made-up digest.
pub(crate) fn subject() -> ProvenanceSubject {
    ProvenanceSubject::new(
        &PackageName::parse("@demo/pkg").unwrap(),
        &Version::new(1, 2, 3),
        &[0x5a; 64],
    )
}
