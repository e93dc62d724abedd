//! Audit GitHub Actions workflows that publish with OIDC trusted publishing, and generate
//! hardened ones.
//!
//! A trusted publisher is only as safe as the workflow that holds `id-token: write`. The rest of
//! trustpub enforces its threat model at publish time (which event may mint, which identity the
//! registry sees); this crate checks the workflow file itself, before anything runs: the jobs
//! that publish ([`publish`]), the events that start them, the scope of the OIDC identity, the
//! long-lived tokens left over from before the migration, what else runs next to the identity,
//! the environment gate, action pins, reusable workflows, and the trusted-publisher fields each
//! registry will match ([`rules`]). Every finding has a rule id, a severity, a message, the fix
//! and a `path:line:col` position ([`Finding`]), and can be silenced inline with a reason:
//! `# trustpub: ignore[rule-id] reason`.
//!
//! [`generate`] writes the workflow `trustpub init` creates; it passes this audit (and zizmor)
//! with no findings. [`online`] is the pinned-action monitor: for each SHA pin, how far it is
//! behind the newest release and which advisories the action has.
//!
//! The crate prints nothing: [`render`] turns a [`Report`] into text, JSON, SARIF or GitHub
//! annotations, and the CLI (`trustpub audit`, `trustpub init`) decides where they go.
//!
//! # From GitHub Actions
//!
//! Audit the publish workflow before it runs and show every finding as an annotation on the
//! file (what `trustpub audit --format github` prints):
//!
//! ```
//! use workflow_audit::{Options, Severity, Source, audit, render};
//!
//! let text = "\
//! on: pull_request_target
//! permissions:
//!   id-token: write
//! jobs:
//!   publish:
//!     runs-on: ubuntu-latest
//!     steps:
//!       - uses: actions/checkout@v4
//!       - run: npm publish --provenance
//! ";
//! let source = Source { path: ".github/workflows/release.yml".into(), text: text.into() };
//! let report = audit(&[source], &Options::default());
//! print!("{}", render::github(&report)); // `::error file=…,line=…::…` workflow commands
//! assert!(report.findings.iter().any(|f| f.rule.id() == "dangerous-trigger"));
//! assert_eq!(report.worst(), Some(Severity::Error)); // fail the job
//! ```

pub mod finding;
pub mod generate;
pub mod guard;
pub mod model;
pub mod online;
pub mod pins;
pub mod publish;
pub mod render;
pub mod rules;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use finding::{Finding, Ignored, Rule, Severity};
pub use model::Workflow;
pub use publish::Registry;
pub use rules::Expectation;

/// The largest workflow file read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A workflow file's path and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path, as shown in findings.
    pub path: String,
    /// The text.
    pub text: String,
}

/// What the audit is told besides the files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The trusted publishers the registries hold (rule 8).
    pub expectations: Vec<Expectation>,
}

/// What the audit found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The files audited, in order.
    pub files: Vec<String>,
    /// The findings, by file and position.
    pub findings: Vec<Finding>,
    /// Findings silenced by an ignore comment, with its reason.
    pub ignored: Vec<Ignored>,
}

impl Report {
    /// The worst severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Why workflow files could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A path could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A file is too large to be a workflow.
    #[error(
        "{path} is {size} bytes, more than the {MAX_FILE_BYTES} a workflow file may have: is it the right file?"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// A directory holds no workflow.
    #[error(
        "{path} holds no workflow (*.yml or *.yaml): pass the directory of your workflows or the files themselves"
    )]
    Empty {
        /// The directory.
        path: PathBuf,
    },
    /// A config file is not what it should be.
    #[error("{path}: {reason}")]
    Config {
        /// The file (or `--expect`).
        path: String,
        /// What is wrong and how to write it.
        reason: String,
    },
}

fn read_bounded(path: &Path) -> Result<String, AuditError> {
    let read_err = |err: std::io::Error| AuditError::Read {
        path: path.to_owned(),
        reason: err.to_string(),
    };
    let size = fs_err::metadata(path).map_err(read_err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(AuditError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    fs_err::read_to_string(path).map_err(read_err)
}

/// Reads the workflows at `paths`: files as given, directories for their `*.yml`/`*.yaml`
/// (not recursive, sorted).
pub fn collect(paths: &[PathBuf]) -> Result<Vec<Source>, AuditError> {
    let mut sources = Vec::new();
    for path in paths {
        let metadata = fs_err::metadata(path).map_err(|err| AuditError::Read {
            path: path.clone(),
            reason: err.to_string(),
        })?;
        if metadata.is_dir() {
            let mut files: Vec<PathBuf> = fs_err::read_dir(path)
                .map_err(|err| AuditError::Read {
                    path: path.clone(),
                    reason: err.to_string(),
                })?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(AuditError::Empty { path: path.clone() });
            }
            for file in files {
                sources.push(Source {
                    text: read_bounded(&file)?,
                    path: file.display().to_string(),
                });
            }
        } else {
            sources.push(Source {
                text: read_bounded(path)?,
                path: path.display().to_string(),
            });
        }
    }
    Ok(sources)
}

/// Audits `sources`: parses each, runs every rule, applies the ignore comments.
pub fn audit(sources: &[Source], options: &Options) -> Report {
    let mut findings = Vec::new();
    let mut workflows = Vec::new();
    for source in sources {
        match Workflow::parse(&source.path, &source.text) {
            Ok(workflow) => workflows.push(workflow),
            Err(err) => {
                let pos = err.pos();
                findings.push(Finding {
                    rule: Rule::InvalidWorkflow,
                    severity: Severity::Error,
                    message: format!("{} is {err}", source.path),
                    fix: "fix the YAML (GitHub would reject this file too), or leave it out of the audit".into(),
                    path: source.path.clone(),
                    pos,
                    job: None,
                    snippet: source
                        .text
                        .lines()
                        .nth(pos.line.saturating_sub(1))
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
        }
    }
    findings.extend(rules::run(&workflows, &options.expectations));

    // Ignore comments: each needs a known rule and a reason.
    let mut ignored = Vec::new();
    let mut kept = Vec::new();
    let comments: Vec<(String, Vec<finding::IgnoreComment>)> = sources
        .iter()
        .map(|s| (s.path.clone(), finding::ignore_comments(&s.text)))
        .collect();
    for (path, list) in &comments {
        let source = sources.iter().find(|s| &s.path == path);
        for comment in list {
            let unknown: Vec<&str> = comment
                .rules
                .iter()
                .filter(|r| Rule::from_id(r).is_none())
                .map(String::as_str)
                .collect();
            let problem = if comment.rules.is_empty() {
                Some("names no rule".to_owned())
            } else if !unknown.is_empty() {
                Some(format!("names unknown rule(s) `{}`", unknown.join("`, `")))
            } else if comment.reason.is_empty() {
                Some("gives no reason, so it ignores nothing".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                let line = source
                    .and_then(|s| s.text.lines().nth(comment.line - 1))
                    .unwrap_or_default();
                kept.push(Finding {
                    rule: Rule::BadIgnore,
                    severity: Severity::Warning,
                    message: format!("this ignore comment {problem}"),
                    fix: "write `# trustpub: ignore[rule-id] why this is safe here`".into(),
                    path: path.clone(),
                    pos: yaml::Pos {
                        line: comment.line,
                        col: comment.col,
                        offset: 0,
                    },
                    job: None,
                    snippet: line.to_owned(),
                });
            }
        }
    }
    for finding in findings {
        let cover = comments
            .iter()
            .find(|(path, _)| *path == finding.path)
            .and_then(|(_, list)| list.iter().find(|c| c.covers(&finding)));
        match cover {
            Some(comment) => ignored.push(Ignored {
                reason: comment.reason.clone(),
                finding,
            }),
            None => kept.push(finding),
        }
    }
    let order = |f: &Finding| (f.path.clone(), f.pos.line, f.pos.col, f.rule);
    kept.sort_by_key(order);
    kept.dedup();
    ignored.sort_by_key(|i| order(&i.finding));
    Report {
        files: sources.iter().map(|s| s.path.clone()).collect(),
        findings: kept,
        ignored,
    }
}

/// Parses one `--expect` value: `REGISTRY:workflow=FILE,environment=NAME`.
pub fn parse_expectation(value: &str) -> Result<Expectation, AuditError> {
    let bad = |reason: String| AuditError::Config {
        path: format!("--expect {value}"),
        reason,
    };
    let (registry, fields) = value.split_once(':').unwrap_or((value, ""));
    let registry = Registry::parse(registry.trim()).ok_or_else(|| {
        bad(format!(
            "unknown registry `{registry}`: use one of pypi, npm, crates-io, rubygems, nuget"
        ))
    })?;
    let mut expectation = Expectation {
        registry,
        workflow: None,
        environment: None,
        origin: format!("--expect {value}"),
    };
    for field in fields.split(',').filter(|f| !f.trim().is_empty()) {
        let (key, val) = field
            .split_once('=')
            .ok_or_else(|| bad(format!("`{field}` is not `key=value`")))?;
        let val = val.trim().to_owned();
        match key.trim() {
            "workflow" => expectation.workflow = Some(val),
            "environment" => expectation.environment = Some(val),
            other => {
                return Err(bad(format!(
                    "unknown field `{other}`: use `workflow=FILE` and `environment=NAME`"
                )));
            }
        }
    }
    Ok(expectation)
}

/// Reads a trusted-publisher config file:
///
/// ```yaml
/// publishers:
///   - registry: pypi
///     workflow: release.yml
///     environment: pypi
/// ```
pub fn load_expectations(path: &Path) -> Result<Vec<Expectation>, AuditError> {
    let text = read_bounded(path)?;
    let origin = path.display().to_string();
    let bad = |reason: String| AuditError::Config {
        path: origin.clone(),
        reason,
    };
    let root = yaml::parse(&text)
        .map_err(|err| bad(format!("not valid YAML: {err}")))?
        .ok_or_else(|| bad("the file is empty".into()))?;
    let list = root.get("publishers").ok_or_else(|| {
        bad("no `publishers:` list (each item: registry, workflow, environment)".into())
    })?;
    let mut expectations = Vec::new();
    for item in list.items() {
        let field = |key: &str| item.get(key).and_then(|n| n.as_str()).map(str::to_owned);
        let name = field("registry").ok_or_else(|| {
            bad(format!(
                "line {}: an entry without `registry:`",
                item.pos.line
            ))
        })?;
        let registry = Registry::parse(&name).ok_or_else(|| {
            bad(format!(
                "line {}: unknown registry `{name}`: use one of pypi, npm, crates-io, rubygems, nuget",
                item.pos.line
            ))
        })?;
        expectations.push(Expectation {
            registry,
            workflow: field("workflow"),
            environment: field("environment"),
            origin: origin.clone(),
        });
    }
    Ok(expectations)
}
