//! Statement construction. The expected texts were produced by libnpmpublish 11.2's
//! `generateProvenance` (npm 11.19.1) for the same variables; `npm_tests` re-checks that
//! against the installed npm on every run.

use super::*;
use crate::provenance::test_support::{env_of, github_vars, gitlab_vars, subject, without};

fn statement(vars: &[(&'static str, String)]) -> ProvenanceStatement {
    ProvenanceStatement::new(&CiBuild::from_env(&env_of(vars)).unwrap(), &subject())
}

#[test]
fn github_statement_is_byte_exact() {
    let statement = statement(&github_vars());
    assert_eq!(statement.provider(), CiProvider::GithubActions);
    assert_eq!(statement.predicate_type(), "https://slsa.dev/provenance/v1");
    assert_eq!(statement.as_bytes(), statement.as_str().as_bytes());
    insta::assert_snapshot!(statement.into_string(), @r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"pkg:npm/%40demo/pkg@1.2.3","digest":{"sha512":"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1","externalParameters":{"workflow":{"ref":"refs/tags/v1.2.3","repository":"https://github.com/octo-org/octo-repo","path":".github/workflows/release.yml"}},"internalParameters":{"github":{"event_name":"push","repository_id":"123456789","repository_owner_id":"987654"}},"resolvedDependencies":[{"uri":"git+https://github.com/octo-org/octo-repo@refs/tags/v1.2.3","digest":{"gitCommit":"0123456789abcdef0123456789abcdef01234567"}}]},"runDetails":{"builder":{"id":"https://github.com/actions/runner/github-hosted"},"metadata":{"invocationId":"https://github.com/octo-org/octo-repo/actions/runs/4242424242/attempts/2"}}}}"#);
}

#[test]
fn gitlab_statement_is_byte_exact() {
    let statement = statement(&gitlab_vars());
    assert_eq!(statement.provider(), CiProvider::GitlabCi);
    assert_eq!(
        statement.predicate_type(),
        "https://slsa.dev/provenance/v0.2"
    );
    // U+2028 is sent as is (`JSON.stringify` does not escape it); shown here as `<U+2028>`.
    let text = statement.into_string().replace('\u{2028}', "<U+2028>");
    insta::assert_snapshot!(text, @r#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"pkg:npm/%40demo/pkg@1.2.3","digest":{"sha512":"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"}}],"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"buildType":"https://github.com/npm/cli/gitlab/v0alpha1","builder":{"id":"https://gitlab.com/group/sub/proj/-/runners/12270807"},"invocation":{"configSource":{"uri":"git+https://gitlab.com/group/sub/proj","digest":{"sha1":"89abcdef0123456789abcdef0123456789abcdef"},"entryPoint":"publish"},"parameters":{"CI":"true","CI_API_GRAPHQL_URL":"https://gitlab.com/api/graphql","CI_API_V4_URL":"https://gitlab.com/api/v4","CI_COMMIT_BEFORE_SHA":"0000000000000000000000000000000000000000","CI_COMMIT_REF_NAME":"v1.2.3","CI_COMMIT_REF_PROTECTED":"true","CI_COMMIT_REF_SLUG":"v1-2-3","CI_COMMIT_SHA":"89abcdef0123456789abcdef0123456789abcdef","CI_COMMIT_SHORT_SHA":"89abcdef","CI_COMMIT_TIMESTAMP":"2026-05-01T10:00:00+00:00","CI_COMMIT_TITLE":"Release \"v1.2.3\" \\ café\ttab\u0001<U+2028> 🚀","CI_CONFIG_PATH":".gitlab-ci.yml","CI_DEFAULT_BRANCH":"main","CI_JOB_ID":"555","CI_JOB_NAME":"publish","CI_JOB_NAME_SLUG":"publish","CI_JOB_STAGE":"deploy","CI_JOB_STARTED_AT":"2026-05-01T10:01:00Z","CI_JOB_URL":"https://gitlab.com/group/sub/proj/-/jobs/555","CI_NODE_TOTAL":"1","CI_PIPELINE_CREATED_AT":"2026-05-01T10:00:30Z","CI_PIPELINE_ID":"777","CI_PIPELINE_IID":"12","CI_PIPELINE_SOURCE":"push","CI_PIPELINE_URL":"https://gitlab.com/group/sub/proj/-/pipelines/777","CI_PROJECT_DESCRIPTION":"","CI_PROJECT_ID":"424242","CI_PROJECT_NAME":"proj","CI_PROJECT_NAMESPACE":"group/sub","CI_PROJECT_NAMESPACE_ID":"99","CI_PROJECT_PATH":"group/sub/proj","CI_PROJECT_PATH_SLUG":"group-sub-proj","CI_PROJECT_ROOT_NAMESPACE":"group","CI_PROJECT_TITLE":"Proj","CI_PROJECT_URL":"https://gitlab.com/group/sub/proj","CI_PROJECT_VISIBILITY":"public","CI_RUNNER_DESCRIPTION":"3-blue.saas-linux-small-amd64.runners-manager.gitlab.com/default","CI_RUNNER_ID":"12270807","CI_RUNNER_TAGS":"[\"gitlab-org\", \"saas-linux-small-amd64\"]","CI_SERVER_HOST":"gitlab.com","CI_SERVER_NAME":"GitLab","CI_SERVER_PORT":"443","CI_SERVER_PROTOCOL":"https","CI_SERVER_URL":"https://gitlab.com","CI_SERVER_VERSION":"18.0.0-pre","CI_SERVER_VERSION_MAJOR":"18","CI_SERVER_VERSION_MINOR":"0","CI_SERVER_VERSION_PATCH":"0","GITLAB_CI":"true","GITLAB_USER_ID":"1001","GITLAB_USER_LOGIN":"releaser"},"environment":{"name":"3-blue.saas-linux-small-amd64.runners-manager.gitlab.com/default","architecture":"linux/amd64","server":"https://gitlab.com","project":"group/sub/proj","job":{"id":"555"},"pipeline":{"id":"777","ref":".gitlab-ci.yml"}}},"metadata":{"buildInvocationId":"https://gitlab.com/group/sub/proj/-/jobs/555","completeness":{"parameters":true,"environment":true,"materials":false},"reproducible":false},"materials":[{"uri":"git+https://gitlab.com/group/sub/proj","digest":{"sha1":"89abcdef0123456789abcdef0123456789abcdef"}}]}}"#);
}

#[test]
fn gitlab_statement_keeps_empty_objects_for_unset_ids() {
    let vars = gitlab_vars();
    let env = without(&vars, &["CI_JOB_ID", "CI_PIPELINE_ID", "CI_CONFIG_PATH"]);
    let build = CiBuild::from_env(&env).unwrap();
    let text = ProvenanceStatement::new(&build, &subject()).into_string();
    assert!(text.contains(r#""job":{},"pipeline":{}}"#), "{text}");
    assert!(!text.contains("CI_JOB_ID"), "{text}");
}
