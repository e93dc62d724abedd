//! The pinned-action monitor (`trustpub audit --online`): for every action pinned by SHA, how
//! far the pin is behind the action's newest release, the commits in between (the patch-gap
//! window), and GitHub's published advisories for the action.
//!
//! Talks to the GitHub REST API through [`oidc_core::HttpClient`] (https only, except
//! loopback; retries; timeouts). Every body is read with a size bound, and everything the API
//! returns is data: it reaches the user only through [`render`](crate::render), which escapes
//! it. Works without a token within the unauthenticated rate limit; `GITHUB_TOKEN` raises it.

use std::collections::BTreeMap;

use oidc_core::Secret;
use oidc_core::http::{HttpClient, HttpError, summarize_body, truncate};
use serde::Deserialize;
use url::Url;

use crate::finding::{Finding, Rule, Severity};
use crate::model::{ActionRef, Workflow};

/// The public GitHub API.
pub const GITHUB_API: &str = "https://api.github.com";

/// The largest API response read.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// The most commits listed per pin.
pub const MAX_COMMITS_LISTED: usize = 20;

/// Why the monitor could not ask GitHub.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    /// The API URL is not usable.
    #[error("the GitHub API URL `{url}` is not valid: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// HTTP failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// GitHub answered with an error.
    #[error("{what}: {url} answered {status}: {summary}{hint}")]
    Status {
        /// What was asked.
        what: String,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The body, summarized.
        summary: String,
        /// What to do.
        hint: &'static str,
    },
    /// A body was too large or not the JSON expected.
    #[error("{what}: {url} {reason}")]
    Body {
        /// What was asked.
        what: String,
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// The GitHub API.
pub struct GitHub {
    http: HttpClient,
    base: Url,
    token: Option<Secret>,
}

#[derive(Debug, Deserialize)]
struct Release {
    tag_name: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
}

#[derive(Debug, Deserialize)]
struct Compare {
    #[serde(default)]
    ahead_by: u64,
    #[serde(default)]
    status: String,
    #[serde(default)]
    commits: Vec<CompareCommit>,
}

#[derive(Debug, Deserialize)]
struct CompareCommit {
    sha: String,
    commit: CommitBody,
}

#[derive(Debug, Deserialize)]
struct CommitBody {
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct Advisory {
    ghsa_id: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    vulnerabilities: Vec<Vulnerability>,
}

#[derive(Debug, Deserialize)]
struct Vulnerability {
    package: Option<Package>,
    #[serde(default)]
    vulnerable_version_range: Option<String>,
    #[serde(default)]
    first_patched_version: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Package {
    #[serde(default)]
    name: String,
}

/// What the monitor learned about one pinned action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinStatus {
    /// `owner/repo`.
    pub repo: String,
    /// The pinned SHA.
    pub sha: String,
    /// The version the comment names.
    pub pinned_version: Option<String>,
    /// The newest release's tag.
    pub latest: Option<String>,
    /// Releases newer than the pinned version, when the version is known.
    pub releases_behind: Option<usize>,
    /// Commits from the pin to the newest release.
    pub commits_behind: Option<u64>,
    /// The first of those commits: short SHA and first line.
    pub commits: Vec<(String, String)>,
    /// Advisories: id, severity, summary, whether the pinned version is affected (`None`:
    /// unknown), the first patched version.
    pub advisories: Vec<AdvisoryStatus>,
}

/// One advisory for a pinned action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryStatus {
    /// `GHSA-…`.
    pub id: String,
    /// `low`…`critical`.
    pub severity: String,
    /// One line.
    pub summary: String,
    /// Whether the pinned version is in the vulnerable range (`None`: cannot tell).
    pub affected: Option<bool>,
    /// The first patched version.
    pub patched: Option<String>,
}

/// Compares dotted versions (`v1.2.3`, `1.2`): numeric parts, missing parts are 0.
fn version_cmp(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let parts = |v: &str| -> Option<Vec<u64>> {
        v.trim()
            .trim_start_matches('v')
            .split(['.', '-', '+'])
            .take(3)
            .map(|p| p.parse::<u64>().ok())
            .collect()
    };
    let (mut a, mut b) = (parts(a)?, parts(b)?);
    a.resize(3, 0);
    b.resize(3, 0);
    Some(a.cmp(&b))
}

/// Whether `version` is in `range` (`< 4.0.1`, `>= 1.0.0, < 2.3.4`, `= 1.2.3`).
pub fn in_range(version: &str, range: &str) -> Option<bool> {
    use std::cmp::Ordering::*;
    let mut all = true;
    for clause in range.split(',') {
        let clause = clause.trim();
        let (op, bound) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| clause.strip_prefix(op).map(|rest| (*op, rest.trim())))?;
        let ord = version_cmp(version, bound)?;
        let ok = match op {
            "<=" => ord != Greater,
            ">=" => ord != Less,
            "<" => ord == Less,
            ">" => ord == Greater,
            _ => ord == Equal,
        };
        all &= ok;
    }
    Some(all)
}

impl GitHub {
    /// A client for the API at `base` (`https://api.github.com`, or a test server), sending
    /// `token` when given.
    pub fn new(http: HttpClient, base: &str, token: Option<Secret>) -> Result<Self, OnlineError> {
        let mut base = Url::parse(base).map_err(|err| OnlineError::BadUrl {
            url: base.to_owned(),
            reason: err.to_string(),
        })?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        HttpClient::check_url(&base)?;
        Ok(Self {
            http,
            base,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<Option<T>, OnlineError> {
        let url = self.base.join(path).map_err(|err| OnlineError::BadUrl {
            url: format!("{}{path}", self.base),
            reason: err.to_string(),
        })?;
        let token = self
            .token
            .as_ref()
            .map(|t| format!("Bearer {}", t.expose()));
        let response = self
            .http
            .send(what, &url, |client| {
                let request = client
                    .get(url.clone())
                    .header("Accept", "application/vnd.github+json")
                    .header("X-GitHub-Api-Version", "2022-11-28");
                match &token {
                    Some(value) => request.header("Authorization", value),
                    None => request,
                }
            })
            .await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_bounded(response, what, &url).await?;
        if status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&body);
            let hint = if matches!(status, 401 | 403 | 429) {
                " (rate limit or token: set GITHUB_TOKEN to a token that can read public repositories)"
            } else {
                ""
            };
            return Err(OnlineError::Status {
                what: what.to_owned(),
                url: url.to_string(),
                status,
                summary: summarize_body(content_type.as_deref(), &text),
                hint,
            });
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|err| OnlineError::Body {
                what: what.to_owned(),
                url: url.to_string(),
                reason: format!("is not the JSON expected: {err}"),
            })
    }

    /// Checks one pinned action.
    pub async fn check(
        &self,
        repo: &str,
        sha: &str,
        pinned_version: Option<&str>,
    ) -> Result<PinStatus, OnlineError> {
        let releases: Vec<Release> = self
            .get(
                "GitHub releases",
                &format!("repos/{repo}/releases?per_page=100"),
            )
            .await?
            .unwrap_or_default();
        let releases: Vec<&Release> = releases
            .iter()
            .filter(|r| !r.draft && !r.prerelease)
            .collect();
        let latest = releases.first().map(|r| r.tag_name.clone());
        let releases_behind =
            pinned_version.and_then(|v| releases.iter().position(|r| r.tag_name == v));
        let (commits_behind, commits) = match &latest {
            Some(tag) => {
                let compare: Option<Compare> = self
                    .get(
                        "GitHub compare",
                        &format!(
                            "repos/{repo}/compare/{sha}...{tag}?per_page={MAX_COMMITS_LISTED}"
                        ),
                    )
                    .await?;
                match compare {
                    Some(c) if c.status == "ahead" || c.status == "diverged" => (
                        Some(c.ahead_by),
                        c.commits
                            .iter()
                            .take(MAX_COMMITS_LISTED)
                            .map(|commit| {
                                (
                                    commit.sha.chars().take(12).collect(),
                                    truncate(
                                        commit.commit.message.lines().next().unwrap_or_default(),
                                        100,
                                    ),
                                )
                            })
                            .collect(),
                    ),
                    Some(_) => (Some(0), Vec::new()),
                    None => (None, Vec::new()),
                }
            }
            None => (None, Vec::new()),
        };
        let advisories: Vec<Advisory> = self
            .get(
                "GitHub advisories",
                &format!("advisories?ecosystem=actions&affects={repo}&per_page=100"),
            )
            .await?
            .unwrap_or_default();
        let advisories = advisories
            .into_iter()
            .map(|advisory| {
                let vulnerability = advisory.vulnerabilities.iter().find(|v| {
                    v.package
                        .as_ref()
                        .is_some_and(|p| p.name.eq_ignore_ascii_case(repo))
                });
                let affected = match (pinned_version, vulnerability) {
                    (Some(version), Some(v)) => v
                        .vulnerable_version_range
                        .as_deref()
                        .and_then(|range| in_range(version, range)),
                    _ => None,
                };
                AdvisoryStatus {
                    id: advisory.ghsa_id,
                    severity: advisory.severity.unwrap_or_else(|| "unknown".into()),
                    summary: truncate(&advisory.summary, 200),
                    affected,
                    patched: vulnerability.and_then(|v| v.first_patched_version.clone()),
                }
            })
            .collect();
        Ok(PinStatus {
            repo: repo.to_owned(),
            sha: sha.to_owned(),
            pinned_version: pinned_version.map(str::to_owned),
            latest,
            releases_behind,
            commits_behind,
            commits,
            advisories,
        })
    }
}

async fn read_bounded(
    mut response: reqwest::Response,
    what: &str,
    url: &Url,
) -> Result<Vec<u8>, OnlineError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(OnlineError::Body {
                        what: what.to_owned(),
                        url: url.to_string(),
                        reason: format!(
                            "sent more than {MAX_RESPONSE_BYTES} bytes; stopped reading"
                        ),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(err) => {
                return Err(OnlineError::Body {
                    what: what.to_owned(),
                    url: url.to_string(),
                    reason: format!("could not be read: {}", oidc_core::http::error_chain(&err)),
                });
            }
        }
    }
}

/// The SHA-pinned remote actions of `workflows`, each with its first use.
pub fn pinned_actions(workflows: &[Workflow]) -> Vec<(&Workflow, &ActionRef)> {
    let mut seen: BTreeMap<(String, String), (&Workflow, &ActionRef)> = BTreeMap::new();
    for wf in workflows {
        for job in &wf.jobs {
            let refs = job
                .steps
                .iter()
                .filter_map(|s| s.uses.as_ref())
                .chain(job.calls.as_ref());
            for uses in refs {
                if uses.local || uses.docker || !uses.is_sha_pinned() {
                    continue;
                }
                let Some(sha) = &uses.git_ref else { continue };
                seen.entry((uses.repo.clone(), sha.to_ascii_lowercase()))
                    .or_insert((wf, uses));
            }
        }
    }
    seen.into_values().collect()
}

/// Checks every SHA-pinned action of `workflows` and turns what is late or vulnerable into
/// findings (`stale-pin`, `vulnerable-action`) at the first place the pin is used.
pub async fn monitor(
    github: &GitHub,
    workflows: &[Workflow],
) -> Result<(Vec<PinStatus>, Vec<Finding>), OnlineError> {
    let mut statuses = Vec::new();
    let mut findings = Vec::new();
    for (wf, uses) in pinned_actions(workflows) {
        let Some(sha) = &uses.git_ref else { continue };
        let status = github
            .check(&uses.repo, sha, uses.comment_version())
            .await?;
        let finding = |rule, severity, message: String, fix: String| Finding {
            rule,
            severity,
            message,
            fix,
            path: wf.path.clone(),
            pos: uses.pos,
            job: None,
            snippet: wf.line(uses.pos.line).to_owned(),
        };
        if let (Some(latest), Some(behind)) = (&status.latest, status.commits_behind)
            && behind > 0
        {
            let releases = status
                .releases_behind
                .map(|n| format!(" ({n} release(s))"))
                .unwrap_or_default();
            findings.push(finding(
                Rule::StalePin,
                Severity::Note,
                format!(
                    "`{}` is {behind} commit(s){releases} behind its newest release {latest}: fixes released since then do not reach this workflow",
                    uses.repo
                ),
                format!("review the changes and move the pin to {latest}'s commit (keep the version comment in step)"),
            ));
        }
        for advisory in &status.advisories {
            let (severity, how) = match advisory.affected {
                Some(true) => (Severity::Error, "affects the pinned version"),
                Some(false) => continue,
                None => (
                    Severity::Warning,
                    "may affect this pin (its version is unknown)",
                ),
            };
            let patched = advisory
                .patched
                .as_deref()
                .map(|p| format!("pin {p} or later"))
                .unwrap_or_else(|| "replace the action or pin a commit without the flaw".into());
            findings.push(finding(
                Rule::VulnerableAction,
                severity,
                format!(
                    "advisory {} ({}) for `{}` {how}: {}",
                    advisory.id, advisory.severity, uses.repo, advisory.summary
                ),
                patched,
            ));
        }
        statuses.push(status);
    }
    Ok((statuses, findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(in_range("v4.0.0", "< 4.0.1"), Some(true));
        assert_eq!(in_range("v4.0.1", "< 4.0.1"), Some(false));
        assert_eq!(in_range("1.5", ">= 1.0.0, < 2.0.0"), Some(true));
        assert_eq!(in_range("v2", ">= 1.0.0, < 2.0.0"), Some(false));
        assert_eq!(in_range("main", "< 1.0"), None);
    }
}
