//! `trustpub audit`: check publish workflows (rules in `docs/audit.md`), optionally with the
//! pinned-action monitor (`--online`). The library does the work; this renders and maps the
//! worst finding to the exit code.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use oidc_core::Secret;
use workflow_audit::online::{GITHUB_API, GitHub, OnlineError};
use workflow_audit::{Options, Severity, Workflow, render};

use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// The default place of workflows.
pub const DEFAULT_PATH: &str = ".github/workflows";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `path:line:col`, the line, the fix.
    Human,
    /// Versioned JSON (`trustpub.audit/v1`).
    Json,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// GitHub Actions annotations.
    Github,
}

/// The lowest severity that fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warning,
    /// Any finding.
    Note,
    /// Never (report only).
    Never,
}

/// `trustpub audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Workflow files or directories (default: `.github/workflows`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// The lowest severity that makes the run fail with exit code 7.
    #[arg(long, value_enum, default_value = "warning")]
    pub fail_on: FailOn,

    /// A trusted publisher the registry holds, to cross-check:
    /// `REGISTRY:workflow=FILE,environment=NAME` (e.g. `pypi:workflow=release.yml,environment=pypi`).
    #[arg(long, value_name = "REGISTRY:FIELDS")]
    pub expect: Vec<String>,

    /// A file listing the trusted publishers (`publishers: [{registry, workflow, environment}]`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Also ask GitHub how far each SHA-pinned action is behind its newest release and which
    /// advisories it has (uses `GITHUB_TOKEN` when set).
    #[arg(long)]
    pub online: bool,

    /// The GitHub API for --online.
    #[arg(long, value_name = "URL", default_value = GITHUB_API)]
    pub github_api_url: String,
}

fn fails(fail_on: FailOn, worst: Option<Severity>) -> bool {
    let Some(worst) = worst else { return false };
    match fail_on {
        FailOn::Never => false,
        FailOn::Note => true,
        FailOn::Warning => worst >= Severity::Warning,
        FailOn::Error => worst >= Severity::Error,
    }
}

fn online_error(err: OnlineError) -> CliError {
    match err {
        OnlineError::BadUrl { .. } => CliError::Usage(err.to_string()),
        OnlineError::Http(err) => CliError::Http(err),
        other => CliError::Internal(other.to_string()),
    }
}

/// Runs `trustpub audit`.
pub async fn run(
    args: &AuditArgs,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(DEFAULT_PATH)]
    } else {
        args.paths.clone()
    };
    let usage = |err: workflow_audit::AuditError| CliError::Usage(err.to_string());
    let mut options = Options::default();
    for value in &args.expect {
        options
            .expectations
            .push(workflow_audit::parse_expectation(value).map_err(usage)?);
    }
    if let Some(config) = &args.config {
        options
            .expectations
            .extend(workflow_audit::load_expectations(config).map_err(usage)?);
    }
    let sources = workflow_audit::collect(&paths).map_err(usage)?;
    let mut report = workflow_audit::audit(&sources, &options);

    let mut pins = Vec::new();
    if args.online {
        let token = context.env.non_empty("GITHUB_TOKEN").map(Secret::new);
        let github =
            GitHub::new(context.http.clone(), &args.github_api_url, token).map_err(online_error)?;
        let workflows: Vec<Workflow> = sources
            .iter()
            .filter_map(|s| Workflow::parse(&s.path, &s.text).ok())
            .collect();
        let (statuses, findings) = workflow_audit::online::monitor(&github, &workflows)
            .await
            .map_err(online_error)?;
        pins = statuses;
        report.findings.extend(findings);
        report
            .findings
            .sort_by(|a, b| (&a.path, a.pos, a.rule).cmp(&(&b.path, b.pos, b.rule)));
    }

    match args.format {
        Format::Human => {
            if args.online {
                printer.data(&render::pins_human(&pins));
            }
            printer.data(render::human(&report).trim_end());
        }
        Format::Json => {
            let mut value = render::json(&report);
            if args.online {
                value["pins"] = render::pins_json(&pins);
            }
            printer.data(&pretty(&value)?);
        }
        Format::Sarif => printer.data(&pretty(&render::sarif(&report))?),
        Format::Github => {
            let text = render::github(&report);
            if !text.is_empty() {
                printer.workflow_commands(text.trim_end());
            }
            printer.info(render::human(&report).lines().last().unwrap_or_default());
        }
    }
    Ok(if fails(args.fail_on, report.worst()) {
        Outcome::VerificationFailed
    } else {
        Outcome::Success
    })
}

fn pretty(value: &serde_json::Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map_err(|err| CliError::Internal(format!("cannot serialize the report: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_thresholds() {
        assert!(!fails(FailOn::Warning, None));
        assert!(!fails(FailOn::Warning, Some(Severity::Note)));
        assert!(fails(FailOn::Warning, Some(Severity::Warning)));
        assert!(!fails(FailOn::Error, Some(Severity::Warning)));
        assert!(fails(FailOn::Note, Some(Severity::Note)));
        assert!(!fails(FailOn::Never, Some(Severity::Error)));
    }
}
