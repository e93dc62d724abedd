//! What the npm registry matches when exchanging a GitHub ID token (npm.md §6): the `repository` claim, the file
//! name in **`workflow_ref`** (the top-level, calling workflow, not `job_workflow_ref`), and the environment when
//! the publisher names one. All comparisons are exact (case-sensitive).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A GitHub Actions trusted publisher configured on an npm package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpmPublisher {
    /// `owner/repo`.
    pub repository: String,
    /// The workflow file name under `.github/workflows/`, e.g. `publish.yml`.
    pub workflow_file: String,
    /// Required deployment environment, if any.
    pub environment: Option<String>,
}

impl NpmPublisher {
    /// A publisher for `repository` (`owner/repo`) and `workflow_file`, with no environment.
    pub fn github(repository: &str, workflow_file: &str) -> Self {
        Self {
            repository: repository.to_owned(),
            workflow_file: workflow_file.to_owned(),
            environment: None,
        }
    }

    /// The same publisher, constrained to `environment`.
    #[must_use]
    pub fn with_environment(mut self, environment: &str) -> Self {
        self.environment = Some(environment.to_owned());
        self
    }

    /// Whether `claims` (a verified GitHub ID token) come from this publisher.
    pub(crate) fn matches(&self, claims: &Map<String, Value>) -> bool {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let repository_ok = text("repository") == Some(self.repository.as_str());
        let workflow_ok = text("workflow_ref").and_then(|r| workflow_file(r, &self.repository))
            == Some(self.workflow_file.as_str());
        let environment_ok = match &self.environment {
            Some(expected) => text("environment") == Some(expected.as_str()),
            None => true,
        };
        repository_ok && workflow_ok && environment_ok
    }
}

/// `owner/repo/.github/workflows/<file>@<ref>` → `<file>` (only for workflows of `repository`).
fn workflow_file<'a>(workflow_ref: &'a str, repository: &str) -> Option<&'a str> {
    let path = workflow_ref
        .strip_prefix(repository)?
        .strip_prefix("/.github/workflows/")?;
    let (file, _) = path.split_once('@')?;
    (!file.contains('/')).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn matches_the_calling_workflow() {
        let publisher = NpmPublisher::github("octo-org/octo-repo", "publish.yml");
        let good = claims(json!({
            "repository": "octo-org/octo-repo",
            "workflow_ref": "octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1",
            "job_workflow_ref": "octo-org/shared/.github/workflows/reusable.yml@main",
        }));
        assert!(publisher.matches(&good));
        let called = claims(json!({
            "repository": "octo-org/octo-repo",
            "workflow_ref": "octo-org/octo-repo/.github/workflows/ci.yml@refs/tags/v1",
            "job_workflow_ref": "octo-org/octo-repo/.github/workflows/publish.yml@refs/tags/v1",
        }));
        assert!(!publisher.matches(&called));
        let case = claims(json!({
            "repository": "Octo-Org/octo-repo",
            "workflow_ref": "Octo-Org/octo-repo/.github/workflows/publish.yml@refs/tags/v1",
        }));
        assert!(!publisher.matches(&case));
    }

    #[test]
    fn environment_only_when_configured() {
        let base = json!({
            "repository": "o/r",
            "workflow_ref": "o/r/.github/workflows/publish.yml@refs/heads/main",
        });
        let publisher = NpmPublisher::github("o/r", "publish.yml").with_environment("npm");
        assert!(!publisher.matches(&claims(base.clone())));
        let mut with_env = claims(base);
        with_env.insert("environment".to_owned(), json!("npm"));
        assert!(publisher.matches(&with_env));
        assert!(NpmPublisher::github("o/r", "publish.yml").matches(&with_env));
    }
}
