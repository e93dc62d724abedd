//! What crates.io matches when exchanging a GitHub ID token (`handle_github_token_inner`): configs whose
//! repository owner and name equal the `repository` claim (case-insensitively), then the owner id, then the
//! workflow file name taken from **`workflow_ref`** (the calling, top-level workflow; exact match), then the
//! environment (case-insensitive; configs without one accept any). Each step that empties the candidate list
//! has its own refusal text.

use serde::{Deserialize, Serialize};

/// A GitHub trusted-publisher config on a crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CratesIoPublisher {
    /// `repository_owner`.
    pub repository_owner: String,
    /// `repository_name`.
    pub repository_name: String,
    /// `repository_owner_id` (crates.io stores it as an `i32`).
    pub repository_owner_id: i64,
    /// The workflow file name, e.g. `release.yml`.
    pub workflow_filename: String,
    /// Required deployment environment, if any.
    pub environment: Option<String>,
}

impl CratesIoPublisher {
    /// A config for `owner/repo` (owner id `owner_id`) and `workflow_filename`, without environment.
    pub fn new(owner: &str, repo: &str, owner_id: u64, workflow_filename: &str) -> Self {
        Self {
            repository_owner: owner.to_owned(),
            repository_name: repo.to_owned(),
            repository_owner_id: i64::try_from(owner_id).unwrap_or(i64::MAX),
            workflow_filename: workflow_filename.to_owned(),
            environment: None,
        }
    }

    /// The same config, requiring `environment` (or none with `None`).
    #[must_use]
    pub fn environment(mut self, environment: Option<&str>) -> Self {
        self.environment = environment.map(str::to_owned);
        self
    }
}

/// The file name in a `workflow_ref` (`owner/repo/.github/workflows/<file>@<ref>`), as crates.io's
/// `([^/]+\.(yml|yaml))(@.+)` finds it.
pub(crate) fn workflow_filename(workflow_ref: &str) -> Option<&str> {
    let (path, git_ref) = workflow_ref.split_once('@')?;
    let file = path.rsplit('/').next()?;
    let stem_ok = file
        .strip_suffix(".yml")
        .or_else(|| file.strip_suffix(".yaml"))
        .is_some_and(|stem| !stem.is_empty());
    (stem_ok && !git_ref.is_empty()).then_some(file)
}

/// The claims crates.io uses, already read.
pub(crate) struct Presented<'a> {
    pub(crate) repository: &'a str,
    pub(crate) owner_id: i64,
    pub(crate) workflow_filename: &'a str,
    pub(crate) environment: Option<&'a str>,
}

/// Filters `configs` (those of every crate, with the crate name) down to the matching ones, or gives the
/// refusal text of the step that left none.
pub(crate) fn matching<'c>(
    configs: Vec<(&'c str, &'c CratesIoPublisher)>,
    presented: &Presented<'_>,
) -> Result<Vec<&'c str>, String> {
    let repo = presented.repository;
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let candidates: Vec<_> = configs
        .into_iter()
        .filter(|(_, c)| {
            c.repository_owner.eq_ignore_ascii_case(owner)
                && c.repository_name.eq_ignore_ascii_case(name)
        })
        .collect();
    if candidates.is_empty() {
        return Err(format!(
            "No Trusted Publishing config found for repository `{repo}`."
        ));
    }

    let (candidates, mismatched): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|(_, c)| c.repository_owner_id == presented.owner_id);
    if candidates.is_empty() {
        let expected: Vec<String> = mismatched
            .iter()
            .map(|(_, c)| c.repository_owner_id.to_string())
            .collect();
        return Err(format!(
            "The Trusted Publishing config for repository `{repo}` does not match the repository owner ID ({}) in the JWT. Expected owner IDs: {}. Please recreate the Trusted Publishing config to update the repository owner ID.",
            presented.owner_id,
            expected.join(", ")
        ));
    }

    let (candidates, mismatched): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|(_, c)| c.workflow_filename == presented.workflow_filename);
    if candidates.is_empty() {
        let expected: Vec<String> = mismatched
            .iter()
            .map(|(_, c)| format!("`{}`", c.workflow_filename))
            .collect();
        return Err(format!(
            "The Trusted Publishing config for repository `{repo}` does not match the workflow filename `{}` in the JWT. Expected workflow filenames: {}",
            presented.workflow_filename,
            expected.join(", ")
        ));
    }

    let (candidates, mismatched): (Vec<_>, Vec<_>) =
        candidates
            .into_iter()
            .partition(|(_, c)| match (&c.environment, presented.environment) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(wanted), Some(signed)) => wanted.to_lowercase() == signed.to_lowercase(),
            });
    if candidates.is_empty() {
        let expected: Vec<String> = mismatched
            .iter()
            .filter_map(|(_, c)| c.environment.as_ref().map(|env| format!("`{env}`")))
            .collect();
        return Err(match presented.environment {
            Some(signed) => format!(
                "The Trusted Publishing config for repository `{repo}` does not match the environment `{signed}` in the JWT. Expected environments: {}",
                expected.join(", ")
            ),
            None => format!(
                "The Trusted Publishing config for repository `{repo}` requires an environment, but the JWT does not specify one. Expected environments: {}",
                expected.join(", ")
            ),
        });
    }
    Ok(candidates.into_iter().map(|(krate, _)| krate).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_filename_comes_from_the_last_path_segment() {
        assert_eq!(
            workflow_filename("o/r/.github/workflows/release.yml@refs/tags/v1"),
            Some("release.yml")
        );
        assert_eq!(
            workflow_filename("o/r/.github/workflows/a.yaml@main"),
            Some("a.yaml")
        );
        assert_eq!(workflow_filename("o/r/.github/workflows/a.txt@main"), None);
        assert_eq!(workflow_filename("o/r/.github/workflows/a.yml"), None);
        assert_eq!(workflow_filename("o/r/.github/workflows/.yml@x"), None);
    }

    #[test]
    fn environment_rules() {
        let plain = CratesIoPublisher::new("O", "R", 1, "w.yml");
        let prod = plain.clone().environment(Some("Prod"));
        let presented = |environment| Presented {
            repository: "o/r",
            owner_id: 1,
            workflow_filename: "w.yml",
            environment,
        };
        assert_eq!(
            matching(vec![("a", &prod)], &presented(Some("prod"))).unwrap(),
            ["a"]
        );
        assert!(matching(vec![("a", &prod)], &presented(None)).is_err());
        assert_eq!(
            matching(vec![("a", &prod), ("b", &plain)], &presented(None)).unwrap(),
            ["b"]
        );
    }
}
