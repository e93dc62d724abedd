//! Warehouse's GitHub publisher matching (`warehouse/oidc/models/github.py`): look a publisher up by the token's
//! claims, then check the claims against it.
//!
//! Lookup: `repository` split at the first `/` (owner and name compared case-insensitively), `repository_owner_id`,
//! and the workflow file name taken from **`job_workflow_ref`**; among the hits, the publisher whose environment
//! equals the claim (lowercased) wins, else the one with no environment.
//!
//! Checks, in order, each failing with Warehouse's reason text: every required claim present (`Missing claim
//! 'X'`); `repository` (case-insensitive), `repository_owner` (exact), `repository_owner_id` (exact),
//! `job_workflow_ref` (`{owner}/{repo}/.github/workflows/{file}@{ref|sha}`), `jti` unseen, `event_name` not
//! `pull_request_target`; then the optional `environment`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::pyrepr::{repr_str, repr_str_list};

/// A GitHub trusted publisher as PyPI stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PypiPublisher {
    /// Repository owner (user or organization), as registered.
    pub owner: String,
    /// Repository name, as registered.
    pub repo: String,
    /// Numeric id of the owner (stops a deleted-and-recreated account from inheriting the publisher).
    pub owner_id: u64,
    /// Workflow file name, e.g. `release.yml`.
    pub workflow_filename: String,
    /// Required deployment environment (stored lowercased); `None` accepts any.
    pub environment: Option<String>,
}

impl PypiPublisher {
    /// A publisher without an environment constraint.
    pub fn new(owner: &str, repo: &str, owner_id: u64, workflow_filename: &str) -> Self {
        Self {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            owner_id,
            workflow_filename: workflow_filename.to_owned(),
            environment: None,
        }
    }

    /// The same publisher, constrained to `environment`.
    #[must_use]
    pub fn with_environment(mut self, environment: &str) -> Self {
        self.environment = Some(environment.to_lowercase());
        self
    }

    /// `{owner}/{repo}/.github/workflows/{file}`: what `job_workflow_ref` must start with.
    pub fn job_workflow_ref(&self) -> String {
        format!(
            "{}/{}/.github/workflows/{}",
            self.owner, self.repo, self.workflow_filename
        )
    }

    fn environment(&self) -> &str {
        self.environment.as_deref().unwrap_or_default()
    }
}

/// Why a token matched no usable publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MatchError {
    /// `invalid-publisher` with this reason.
    Publisher(String),
    /// `invalid-reuse-token`: the `jti` was already used.
    Reused,
}

/// The claims every check needs, in the order Warehouse reports them missing.
const REQUIRED_CLAIMS: [&str; 8] = [
    "repository",
    "repository_owner",
    "repository_owner_id",
    "job_workflow_ref",
    "jti",
    "event_name",
    "ref",
    "sha",
];

/// A claim as Python's `str()` would compare it: strings as they are, other scalars in their JSON text.
fn claim_text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The workflow file name in a `job_workflow_ref`, as `re.search(r"([^/]+\.(yml|yaml))(?=@)")` finds it.
pub(crate) fn workflow_filename(job_workflow_ref: &str) -> Option<&str> {
    // The leftmost match starts at the beginning of some `/`-separated segment; within the segment the greedy
    // `[^/]+` takes the last `.yml@`/`.yaml@` that leaves it at least one character.
    let mut offset = 0;
    for segment in job_workflow_ref.split('/') {
        let best = [".yml@", ".yaml@"]
            .iter()
            .filter_map(|suffix| {
                segment
                    .rmatch_indices(suffix)
                    .find(|(at, _)| *at >= 1)
                    .map(|(at, s)| at + s.len() - 1)
            })
            .max();
        if let Some(end) = best {
            return job_workflow_ref.get(offset..offset + end);
        }
        offset += segment.len() + 1;
    }
    None
}

/// Finds the publisher for `claims` among `publishers` and checks the claims against it.
///
/// `jti_used` tells whether a `jti` was already spent.
pub(crate) fn find_publisher<'a>(
    claims: &Map<String, Value>,
    publishers: impl IntoIterator<Item = &'a PypiPublisher>,
    jti_used: impl Fn(&str) -> bool,
) -> Result<&'a PypiPublisher, MatchError> {
    let missing = |name: &str| MatchError::Publisher(format!("Missing claim {}", repr_str(name)));
    let repository = claim_text(claims, "repository").ok_or_else(|| missing("repository"))?;
    let owner_id =
        claim_text(claims, "repository_owner_id").ok_or_else(|| missing("repository_owner_id"))?;
    let job_workflow_ref =
        claim_text(claims, "job_workflow_ref").ok_or_else(|| missing("job_workflow_ref"))?;
    let (owner, name) = repository
        .split_once('/')
        .unwrap_or((repository.as_str(), ""));
    let filename = workflow_filename(&job_workflow_ref).ok_or_else(|| {
        MatchError::Publisher("Could not job extract workflow filename from OIDC claims".to_owned())
    })?;

    let candidates: Vec<&PypiPublisher> = publishers
        .into_iter()
        .filter(|p| {
            p.owner.eq_ignore_ascii_case(owner)
                && p.repo.eq_ignore_ascii_case(name)
                && p.owner_id.to_string() == owner_id
                && p.workflow_filename == filename
        })
        .collect();
    let environment =
        claim_text(claims, "environment").filter(|environment| !environment.is_empty());
    let specific = environment.as_ref().and_then(|environment| {
        candidates
            .iter()
            .find(|p| p.environment() == environment.to_lowercase())
    });
    let publisher = specific
        .or_else(|| candidates.iter().find(|p| p.environment().is_empty()))
        .copied()
        .ok_or_else(|| {
            MatchError::Publisher("Publisher with matching claims was not found".to_owned())
        })?;

    check_claims(publisher, claims, jti_used)?;
    Ok(publisher)
}

/// `check_claims`: required claims present and valid, then the optional environment.
fn check_claims(
    publisher: &PypiPublisher,
    claims: &Map<String, Value>,
    jti_used: impl Fn(&str) -> bool,
) -> Result<(), MatchError> {
    for name in REQUIRED_CLAIMS {
        if claim_text(claims, name).is_none() {
            return Err(MatchError::Publisher(format!(
                "Missing claim {}",
                repr_str(name)
            )));
        }
    }
    let get = |name: &str| claim_text(claims, name).unwrap_or_default();
    let failed = |name: &str| {
        MatchError::Publisher(format!(
            "Check failed for required claim {}",
            repr_str(name)
        ))
    };

    let expected_repository = format!("{}/{}", publisher.owner, publisher.repo);
    if !get("repository").eq_ignore_ascii_case(&expected_repository) {
        return Err(failed("repository"));
    }
    if get("repository_owner") != publisher.owner {
        return Err(failed("repository_owner"));
    }
    if get("repository_owner_id") != publisher.owner_id.to_string() {
        return Err(failed("repository_owner_id"));
    }
    check_job_workflow_ref(publisher, claims)?;
    if jti_used(&get("jti")) {
        return Err(MatchError::Reused);
    }
    if get("event_name") == "pull_request_target" {
        return Err(MatchError::Publisher(
            "Publishing from a workflow invoked via 'pull_request_target' is not supported."
                .to_owned(),
        ));
    }
    if let Some(expected) = publisher
        .environment
        .as_deref()
        .filter(|environment| !environment.is_empty())
    {
        let signed = claim_text(claims, "environment").unwrap_or_default();
        if signed.is_empty() || signed.to_lowercase() != expected.to_lowercase() {
            return Err(MatchError::Publisher(
                "Check failed for optional claim 'environment'".to_owned(),
            ));
        }
    }
    Ok(())
}

fn check_job_workflow_ref(
    publisher: &PypiPublisher,
    claims: &Map<String, Value>,
) -> Result<(), MatchError> {
    let signed = claim_text(claims, "job_workflow_ref").unwrap_or_default();
    if signed.is_empty() {
        return Err(MatchError::Publisher(
            "The job_workflow_ref claim is empty".to_owned(),
        ));
    }
    let refs: Vec<String> = ["ref", "sha"]
        .iter()
        .filter_map(|name| claim_text(claims, name))
        .filter(|value| !value.is_empty())
        .collect();
    if refs.is_empty() {
        return Err(MatchError::Publisher(
            "The ref and sha claims are empty".to_owned(),
        ));
    }
    let ground_truth = publisher.job_workflow_ref();
    let mut expected: Vec<String> = refs.iter().map(|r| format!("{ground_truth}@{r}")).collect();
    expected.sort();
    expected.dedup();
    if expected.contains(&signed) {
        Ok(())
    } else {
        Err(MatchError::Publisher(format!(
            "The job_workflow_ref claim does not match, expecting one of {}, got {}",
            repr_str_list(&expected),
            repr_str(&signed)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> Map<String, Value> {
        let value = json!({
            "repository": "octo-org/octo-repo",
            "repository_owner": "octo-org",
            "repository_owner_id": "5050505",
            "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0",
            "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0",
            "ref": "refs/tags/v1.0.0",
            "sha": "abc123",
            "jti": "j1",
            "event_name": "push",
        });
        value.as_object().unwrap().clone()
    }

    fn publisher() -> PypiPublisher {
        PypiPublisher::new("octo-org", "octo-repo", 5_050_505, "release.yml")
    }

    fn reason(result: Result<&PypiPublisher, MatchError>) -> String {
        match result {
            Err(MatchError::Publisher(reason)) => reason,
            Err(MatchError::Reused) => "REUSED".to_owned(),
            Ok(p) => format!("matched {p:?}"),
        }
    }

    fn with(changes: Value) -> Map<String, Value> {
        let mut claims = claims();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.remove(key);
            } else {
                claims.insert(key.clone(), value.clone());
            }
        }
        claims
    }

    #[test]
    fn workflow_filename_follows_the_regex() {
        assert_eq!(
            workflow_filename("o/r/.github/workflows/release.yml@refs/tags/v1"),
            Some("release.yml")
        );
        assert_eq!(
            workflow_filename("o/r/.github/workflows/release.yaml@main"),
            Some("release.yaml")
        );
        assert_eq!(
            workflow_filename("o/r/.github/workflows/a.yml@b.yml@c"),
            Some("a.yml@b.yml")
        );
        assert_eq!(workflow_filename("o/r/.github/workflows/.yml@main"), None);
        assert_eq!(workflow_filename("o/r/.github/workflows/release.yml"), None);
        assert_eq!(
            workflow_filename("o/r/.github/workflows/release.json@x"),
            None
        );
        assert_eq!(
            workflow_filename("o/r/.github/workflows/x.yml@refs/heads/a.yml@b"),
            Some("x.yml")
        );
    }

    #[test]
    fn matches_and_prefers_the_exact_environment() {
        let general = publisher();
        let specific = publisher().with_environment("PyPI");
        let publishers = [general.clone(), specific.clone()];
        let none = |_: &str| false;
        assert_eq!(
            find_publisher(&claims(), &publishers, none).unwrap(),
            &general
        );
        assert_eq!(
            find_publisher(&with(json!({"environment": "pypi"})), &publishers, none).unwrap(),
            &specific
        );
        assert_eq!(
            find_publisher(&with(json!({"environment": "other"})), &publishers, none).unwrap(),
            &general
        );
        let only_specific = [specific];
        insta::assert_snapshot!(reason(find_publisher(&claims(), &only_specific, none)), @"Publisher with matching claims was not found");
        assert!(
            find_publisher(&with(json!({"environment": "PYPI"})), &only_specific, none).is_ok()
        );
    }

    #[test]
    fn lookup_is_case_insensitive_but_the_owner_check_is_exact() {
        let publishers = [publisher()];
        let claims = with(
            json!({"repository": "Octo-Org/Octo-Repo", "repository_owner": "Octo-Org",
            "job_workflow_ref": "Octo-Org/Octo-Repo/.github/workflows/release.yml@refs/tags/v1.0.0"}),
        );
        insta::assert_snapshot!(reason(find_publisher(&claims, &publishers, |_| false)), @"Check failed for required claim 'repository_owner'");
    }

    #[test]
    fn every_reason_text() {
        let publishers = [publisher()];
        let check = |changes: Value| reason(find_publisher(&with(changes), &publishers, |_| false));
        insta::assert_snapshot!(check(json!({"repository": null})), @"Missing claim 'repository'");
        insta::assert_snapshot!(check(json!({"event_name": null})), @"Missing claim 'event_name'");
        insta::assert_snapshot!(check(json!({"sha": null})), @"Missing claim 'sha'");
        insta::assert_snapshot!(check(json!({"repository_owner_id": "1"})), @"Publisher with matching claims was not found");
        insta::assert_snapshot!(check(json!({"job_workflow_ref": "octo-org/octo-repo/.github/workflows/release"})), @"Could not job extract workflow filename from OIDC claims");
        insta::assert_snapshot!(check(json!({"job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"})), @"The job_workflow_ref claim does not match, expecting one of ['octo-org/octo-repo/.github/workflows/release.yml@abc123', 'octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0'], got 'octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main'");
        insta::assert_snapshot!(check(json!({"ref": "", "sha": ""})), @"The ref and sha claims are empty");
        insta::assert_snapshot!(check(json!({"event_name": "pull_request_target"})), @"Publishing from a workflow invoked via 'pull_request_target' is not supported.");
        assert_eq!(
            reason(find_publisher(&claims(), &publishers, |jti| jti == "j1")),
            "REUSED"
        );
    }

    #[test]
    fn cross_repo_reusable_workflows_fail_and_same_repo_ones_match() {
        let publishers = [publisher()];
        let cross = with(
            json!({"job_workflow_ref": "octo-org/shared/.github/workflows/release.yml@refs/tags/v1.0.0"}),
        );
        insta::assert_snapshot!(reason(find_publisher(&cross, &publishers, |_| false)), @"The job_workflow_ref claim does not match, expecting one of ['octo-org/octo-repo/.github/workflows/release.yml@abc123', 'octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0'], got 'octo-org/shared/.github/workflows/release.yml@refs/tags/v1.0.0'");
        let caller = publishers[0].clone();
        let called_by_sha = with(json!({
            "workflow_ref": "octo-org/octo-repo/.github/workflows/ci.yml@refs/tags/v1.0.0",
            "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@abc123"}));
        assert_eq!(
            find_publisher(&called_by_sha, &publishers, |_| false).unwrap(),
            &caller
        );
    }
}
