//! Findings, the rules that make them, and inline ignore comments.

pub use oidc_core::Severity;

use crate::yaml::Pos;

/// Every rule the audit runs. The ids are part of the interface (ignore comments, JSON, SARIF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The file is not a workflow we can read.
    InvalidWorkflow,
    /// 1: `pull_request_target`, `workflow_run`, `issue_comment` trigger a publishing workflow.
    DangerousTrigger,
    /// 1: `pull_request`, `push: branches`, or `workflow_dispatch` without an environment.
    RiskyTrigger,
    /// 1: no tag or release trigger, no job guard, or a guard that is always true.
    TagGuard,
    /// 2: `id-token: write` at workflow level or on a job that does not publish.
    IdTokenScope,
    /// 2: top-level permissions missing, `write-all`, or granting writes.
    BroadPermissions,
    /// 3: a long-lived registry token in a publishing job.
    LongLivedToken,
    /// 4: the publishing job checks out and builds.
    BuildInPublishJob,
    /// 4: a cache restored in the publishing job.
    CacheInPublishJob,
    /// 4: artifacts from another workflow run.
    CrossRunArtifact,
    /// 5: a publishing job without `environment:`.
    NoEnvironment,
    /// 6: `uses:` not pinned to a full commit SHA.
    UnpinnedAction,
    /// 6: the version comment disagrees with the pinned SHA.
    PinCommentMismatch,
    /// 6: `secrets: inherit` into a publishing reusable workflow.
    SecretsInherit,
    /// 7: publishing from a reusable workflow: which file each registry matches.
    ReusableWorkflowIdentity,
    /// 8: the workflow file or environment differs from the trusted publisher's.
    PublisherMismatch,
    /// An ignore comment without a reason, or naming no known rule.
    BadIgnore,
    /// `--online`: a pinned action is behind its newest release.
    StalePin,
    /// `--online`: a pinned action has a published advisory.
    VulnerableAction,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 19] = [
        Rule::InvalidWorkflow,
        Rule::DangerousTrigger,
        Rule::RiskyTrigger,
        Rule::TagGuard,
        Rule::IdTokenScope,
        Rule::BroadPermissions,
        Rule::LongLivedToken,
        Rule::BuildInPublishJob,
        Rule::CacheInPublishJob,
        Rule::CrossRunArtifact,
        Rule::NoEnvironment,
        Rule::UnpinnedAction,
        Rule::PinCommentMismatch,
        Rule::SecretsInherit,
        Rule::ReusableWorkflowIdentity,
        Rule::PublisherMismatch,
        Rule::BadIgnore,
        Rule::StalePin,
        Rule::VulnerableAction,
    ];

    /// The id used in ignore comments and machine output.
    pub fn id(self) -> &'static str {
        match self {
            Rule::InvalidWorkflow => "invalid-workflow",
            Rule::DangerousTrigger => "dangerous-trigger",
            Rule::RiskyTrigger => "risky-trigger",
            Rule::TagGuard => "tag-guard",
            Rule::IdTokenScope => "id-token-scope",
            Rule::BroadPermissions => "broad-permissions",
            Rule::LongLivedToken => "long-lived-token",
            Rule::BuildInPublishJob => "build-in-publish-job",
            Rule::CacheInPublishJob => "cache-in-publish-job",
            Rule::CrossRunArtifact => "cross-run-artifact",
            Rule::NoEnvironment => "no-environment",
            Rule::UnpinnedAction => "unpinned-action",
            Rule::PinCommentMismatch => "pin-comment-mismatch",
            Rule::SecretsInherit => "secrets-inherit",
            Rule::ReusableWorkflowIdentity => "reusable-workflow-identity",
            Rule::PublisherMismatch => "publisher-mismatch",
            Rule::BadIgnore => "bad-ignore",
            Rule::StalePin => "stale-pin",
            Rule::VulnerableAction => "vulnerable-action",
        }
    }

    /// One line on what the rule checks.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::InvalidWorkflow => "the file is not a workflow that can be read",
            Rule::DangerousTrigger => {
                "a publishing workflow runs on an event that outsiders can trigger"
            }
            Rule::RiskyTrigger => "a publishing workflow runs on events other than a release",
            Rule::TagGuard => "the publishing job is not guarded to tag or release runs",
            Rule::IdTokenScope => "`id-token: write` is granted beyond the publishing job",
            Rule::BroadPermissions => "the workflow's default permissions are not read-only",
            Rule::LongLivedToken => "a publishing job still uses a long-lived registry token",
            Rule::BuildInPublishJob => "the job holding the OIDC identity also builds",
            Rule::CacheInPublishJob => "the publishing job restores a cache",
            Rule::CrossRunArtifact => "the publishing job takes artifacts from another run",
            Rule::NoEnvironment => "the publishing job has no deployment environment",
            Rule::UnpinnedAction => "an action is not pinned to a full commit SHA",
            Rule::PinCommentMismatch => "a version comment disagrees with the pinned SHA",
            Rule::SecretsInherit => "all secrets are passed to a publishing reusable workflow",
            Rule::ReusableWorkflowIdentity => {
                "publishing from a reusable workflow: the registries match different files"
            }
            Rule::PublisherMismatch => {
                "the workflow does not match the trusted publisher registered on the registry"
            }
            Rule::BadIgnore => "an ignore comment without a reason or naming no rule",
            Rule::StalePin => "a pinned action is behind its newest release (--online)",
            Rule::VulnerableAction => "a pinned action has a published advisory (--online)",
        }
    }

    /// Parses a rule id.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The documentation anchor (`docs/audit.md#<id>`).
    pub fn help_uri(self) -> String {
        format!(
            "https://github.com/trustpub/trustpub/blob/main/docs/audit.md#{}",
            self.id()
        )
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// One problem found, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// How bad.
    pub severity: Severity,
    /// What is wrong here.
    pub message: String,
    /// What to change.
    pub fix: String,
    /// The file.
    pub path: String,
    /// Where.
    pub pos: Pos,
    /// The job, when the finding is about one.
    pub job: Option<String>,
    /// The source line at `pos`.
    pub snippet: String,
}

/// A finding silenced by an ignore comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The finding.
    pub finding: Finding,
    /// The reason given in the comment.
    pub reason: String,
}

/// An inline `# trustpub: ignore[rule-id, …] reason` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreComment {
    /// The line it is on.
    pub line: usize,
    /// The column of `#`.
    pub col: usize,
    /// Alone on its line (then it covers the next line too).
    pub own_line: bool,
    /// The rule ids named.
    pub rules: Vec<String>,
    /// The reason (may be empty: then it ignores nothing).
    pub reason: String,
}

/// The marker ignore comments start with.
pub const IGNORE_MARKER: &str = "trustpub: ignore[";

/// Every ignore comment in `source`.
pub fn ignore_comments(source: &str) -> Vec<IgnoreComment> {
    let mut found = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let Some(hash) = line.find('#') else { continue };
        let Some(at) = line[hash..].find(IGNORE_MARKER).map(|i| i + hash) else {
            continue;
        };
        let after = &line[at + IGNORE_MARKER.len()..];
        let Some(close) = after.find(']') else {
            continue;
        };
        let rules = after[..close]
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        let reason = after[close + 1..]
            .trim()
            .trim_start_matches([':', '-'])
            .trim()
            .to_owned();
        found.push(IgnoreComment {
            line: index + 1,
            col: line[..hash].chars().count() + 1,
            own_line: line[..hash].trim().is_empty(),
            rules,
            reason,
        });
    }
    found
}

impl IgnoreComment {
    /// Whether this comment silences `finding`: it names the rule, gives a reason, and sits on
    /// the finding's line or alone on the line above.
    pub fn covers(&self, finding: &Finding) -> bool {
        let line_ok =
            self.line == finding.pos.line || (self.own_line && self.line + 1 == finding.pos.line);
        line_ok && !self.reason.is_empty() && self.rules.iter().any(|r| r == finding.rule.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ignore_comments() {
        let source = "a: 1 # trustpub: ignore[unpinned-action, no-environment] vendored, reviewed\n  # trustpub: ignore[tag-guard]\n";
        let found = ignore_comments(source);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].rules, ["unpinned-action", "no-environment"]);
        assert_eq!(found[0].reason, "vendored, reviewed");
        assert!(!found[0].own_line);
        assert!(found[1].own_line);
        assert!(found[1].reason.is_empty());
    }

    #[test]
    fn rule_ids_round_trip() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_id(rule.id()), Some(rule));
        }
    }
}
