//! The findings model: what a diagnosis found ([`Finding`]), how each matched field compared
//! ([`FieldCheck`]), the trusted-publisher form ([`PublisherForm`]) and the exchange attempt
//! ([`ExchangeOutcome`]). Registry-neutral and secret-free: safe to render, serialize and log.

use serde::Serialize;

/// How bad a finding (or any reported problem) is: shared by the doctor's findings and the
/// registries' artifact checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to change.
    Note,
    /// Works today, but fragile or surprising.
    Warning,
    /// A publish would fail until this is changed.
    Error,
}

impl Severity {
    /// `note`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the diagnosis found: what, why, and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A stable kebab-case id (`missing-id-token-permission`): tools branch on it.
    pub code: &'static str,
    /// One line.
    pub title: String,
    /// The evidence and the explanation.
    pub detail: String,
    /// The concrete change to make, when there is one (may span several lines).
    pub fix: Option<String>,
}

impl Finding {
    /// A finding without a fix.
    pub fn new(
        severity: Severity,
        code: &'static str,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            code,
            title: title.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    /// An error finding.
    pub fn error(code: &'static str, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, title, detail)
    }

    /// A warning finding.
    pub fn warning(
        code: &'static str,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, code, title, detail)
    }

    /// A note.
    pub fn note(code: &'static str, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, title, detail)
    }

    /// The same finding with the change to make.
    #[must_use]
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// What the user says the trusted publisher is registered with (`--expect-*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// `owner/name`.
    pub repository: Option<String>,
    /// The workflow file name (`release.yml`).
    pub workflow: Option<String>,
    /// The environment name.
    pub environment: Option<String>,
}

impl Expectations {
    /// The expected workflow as a bare file name: registries store only the file name, so
    /// `.github/workflows/release.yml` is read as `release.yml`.
    ///
    /// ```
    /// use oidc_core::doctor::Expectations;
    /// let e = Expectations { workflow: Some(".github/workflows/release.yml".into()), ..Default::default() };
    /// assert_eq!(e.workflow_filename(), Some("release.yml"));
    /// ```
    pub fn workflow_filename(&self) -> Option<&str> {
        let workflow = self.workflow.as_deref()?;
        Some(workflow.rsplit('/').next().unwrap_or(workflow))
    }
}

/// How a claim compared with what the registry matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// It matches the expectation or the registry's rule.
    Match,
    /// It does not.
    Mismatch,
    /// The claim is absent.
    Missing,
    /// Nothing to compare with (no `--expect-*` given): shown for reference.
    Unchecked,
}

/// A field a registry's trusted publisher matches on, as the doctor names it.
///
/// Registries differ in which fields they match and how ([`FieldCheck::rule`]); the field
/// itself is one of these. [`label`](Self::label) is the text the doctor prints and
/// serializes (`"field": "workflow filename"` in `--json`), so a check is matched on the
/// variant, never on its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublisherField {
    /// `owner/name` (GitHub `repository`).
    Repository,
    /// The repository's owner (GitHub `repository_owner`; NuGet's policy names it).
    RepositoryOwner,
    /// The owner's numeric id (GitHub `repository_owner_id`), as the broker registries show it.
    RepositoryOwnerId,
    /// The owner's numeric id (GitHub `repository_owner_id`), as PyPI's doctor shows it
    /// (`owner id`: PyPI's form has no field for it, it is looked up from the owner).
    OwnerId,
    /// A GitLab project's `namespace/project` (`project_path`).
    ProjectPath,
    /// The workflow's file name (from `workflow_ref` or `job_workflow_ref`).
    WorkflowFilename,
    /// The CI file's path in the repository (GitLab `ci_config_ref_uri`).
    WorkflowFilepath,
    /// The repository a reusable workflow lives in (PyPI: it must be the caller's).
    ReusableWorkflowRepository,
    /// The deployment environment of the job.
    Environment,
    /// The event that started the run (`event_name`).
    Event,
    /// Where the job runs (`runner_environment`).
    Runner,
    /// The token's audience (`aud`).
    Audience,
}

impl PublisherField {
    /// Every field, in declaration order.
    pub const ALL: [Self; 12] = [
        Self::Repository,
        Self::RepositoryOwner,
        Self::RepositoryOwnerId,
        Self::OwnerId,
        Self::ProjectPath,
        Self::WorkflowFilename,
        Self::WorkflowFilepath,
        Self::ReusableWorkflowRepository,
        Self::Environment,
        Self::Event,
        Self::Runner,
        Self::Audience,
    ];

    /// The text the doctor shows and serializes for this field.
    ///
    /// ```
    /// use oidc_core::doctor::PublisherField;
    /// assert_eq!(PublisherField::WorkflowFilename.label(), "workflow filename");
    /// assert_eq!(format!("[{:<12}]", PublisherField::Event), "[event       ]");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            Self::Repository => "repository",
            Self::RepositoryOwner => "repository owner",
            Self::RepositoryOwnerId => "repository owner id",
            Self::OwnerId => "owner id",
            Self::ProjectPath => "project path",
            Self::WorkflowFilename => "workflow filename",
            Self::WorkflowFilepath => "workflow filepath",
            Self::ReusableWorkflowRepository => "reusable workflow repository",
            Self::Environment => "environment",
            Self::Event => "event",
            Self::Runner => "runner",
            Self::Audience => "audience",
        }
    }
}

impl std::fmt::Display for PublisherField {
    /// The [label](Self::label), honouring width and alignment (`{:<30}`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.label())
    }
}

impl Serialize for PublisherField {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// How a registry compares a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareRule {
    /// Byte for byte.
    Exact,
    /// ASCII case-insensitively.
    CaseInsensitive,
    /// A rule of the registry's own that the value must satisfy (`github-hosted`).
    Required,
}

impl CompareRule {
    /// `exact`, `case-insensitive`, `required`: the text the doctor shows and serializes.
    pub fn label(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::CaseInsensitive => "case-insensitive",
            Self::Required => "required",
        }
    }
}

impl std::fmt::Display for CompareRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.label())
    }
}

impl Serialize for CompareRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// One field the registry matches on, the token's value and the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldCheck {
    /// What the registry matches.
    pub field: PublisherField,
    /// The claim the value comes from (`job_workflow_ref`).
    pub claim: &'static str,
    /// The value in the token (derived, for the workflow file name).
    pub value: Option<String>,
    /// What it should be: the `--expect-*` value or the registry's rule.
    pub expected: Option<String>,
    /// How the registry compares.
    pub rule: CompareRule,
    /// The result.
    pub verdict: Verdict,
}

impl FieldCheck {
    /// Compares `value` with an optional expectation: `Unchecked` without one.
    pub fn compare(
        field: PublisherField,
        claim: &'static str,
        value: Option<&str>,
        expected: Option<&str>,
        case_insensitive: bool,
    ) -> Self {
        let verdict = match (value, expected) {
            (_, None) => Verdict::Unchecked,
            (None, Some(_)) => Verdict::Missing,
            (Some(value), Some(expected)) => {
                let same = if case_insensitive {
                    value.eq_ignore_ascii_case(expected)
                } else {
                    value == expected
                };
                if same {
                    Verdict::Match
                } else {
                    Verdict::Mismatch
                }
            }
        };
        Self {
            field,
            claim,
            value: value.map(str::to_owned),
            expected: expected.map(str::to_owned),
            rule: if case_insensitive {
                CompareRule::CaseInsensitive
            } else {
                CompareRule::Exact
            },
            verdict,
        }
    }

    /// A rule of the registry's own (`github-hosted`, `not pull_request_target`): `holds` says
    /// whether the value satisfies it.
    pub fn requirement(
        field: PublisherField,
        claim: &'static str,
        value: Option<&str>,
        expected: &str,
        holds: bool,
    ) -> Self {
        Self {
            field,
            claim,
            value: value.map(str::to_owned),
            expected: Some(expected.to_owned()),
            rule: CompareRule::Required,
            verdict: match (value, holds) {
                (None, false) => Verdict::Missing,
                (_, true) => Verdict::Match,
                (Some(_), false) => Verdict::Mismatch,
            },
        }
    }
}

/// One field of a registry's trusted-publisher form and the value to enter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormField {
    /// The label on the registry's form (`Workflow name`).
    pub label: &'static str,
    /// What to enter (empty: leave the field empty).
    pub value: String,
    /// Why, or what the alternatives are.
    pub note: Option<String>,
}

/// Where the trusted publisher is configured and what to enter there for this workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublisherForm {
    /// Where the form is (`PyPI → the project → Settings → Publishing → GitHub`).
    pub location: String,
    /// The fields, in the form's order.
    pub fields: Vec<FormField>,
    /// A link that opens the form, pre-filled where the registry supports it.
    pub link: Option<String>,
    /// A command that does the same, where the registry has one (`npm trust github …`).
    pub command: Option<String>,
}

/// One error the registry gave for a refused exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryError {
    /// The registry's error code (`invalid-publisher`), when it gives one.
    pub code: Option<String>,
    /// Its description or message.
    pub description: String,
}

/// What happened when the token was offered to the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ExchangeOutcome {
    /// The exchange was not tried.
    NotAttempted {
        /// Why not.
        reason: String,
    },
    /// The registry issued a credential (already burned or discarded: never kept, never shown).
    Succeeded {
        /// What was done with it.
        detail: String,
    },
    /// The registry refused the token.
    Refused {
        /// The HTTP status of the refusal.
        http_status: u16,
        /// Each error the registry gave.
        errors: Vec<RegistryError>,
        /// What to change, most specific first (the registry crate's hints).
        fixes: Vec<String>,
    },
    /// The exchange did not complete (transport failure, an answer that is not the
    /// registry's protocol).
    Failed {
        /// What went wrong.
        detail: String,
    },
}

/// An exchange attempt: its outcome and the findings it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// What the registry did.
    pub outcome: ExchangeOutcome,
    /// What it means (an `exchange-refused` error with the fixes, a burn that failed, …).
    pub findings: Vec<Finding>,
}

/// A registry's comparison of the claims with what it matches on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Field by field.
    pub checks: Vec<FieldCheck>,
    /// The values for the registry's trusted-publisher form.
    pub form: Option<PublisherForm>,
    /// What the comparison found.
    pub findings: Vec<Finding>,
}
