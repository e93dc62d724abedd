//! `trustpub doctor pypi|npm`: would a publish from this job work, and if not, what to change.
//!
//! In CI it fetches a token for the registry's audience, compares its claims field by field with
//! what the registry matches on, prints the values for the registry's trusted-publisher form,
//! and attempts the exchange (a PyPI token is burned at once, an npm token dropped unused),
//! translating every refusal into the change to make. With `--token-file` it explains a token
//! (or a claims JSON object) captured elsewhere, with no network at all.
//!
//! The analysis lives in the libraries ([`oidc_core::doctor`], [`pypi_exchange::doctor`],
//! [`npm_exchange::doctor`]); this module picks the registry, renders the [`Diagnosis`] for
//! people ([`render`]) or tools ([`json`], schema `trustpub.doctor/v1`), writes the step summary
//! and annotations on GitHub Actions, and maps the conclusion to an exit code:
//!
//! | conclusion | exit |
//! |---|---|
//! | a publish would work (live), or no problem in captured claims (offline) | 0 |
//! | no credential: no ID token, a refused event, a refused or failed exchange | 3 |
//! | a check failed although a credential was (or could not be) tried: an `--expect-*` mismatch, a problem in captured claims | 7 |
//!
//! Tokens are never printed: the ID token and any minted token are masked the moment they exist
//! and appear in no output.

pub mod json;
pub mod render;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use npm_exchange::NpmRegistry;
use npm_exchange::doctor::NpmDoctor;
use npm_exchange::package::PackageName;
use oidc_core::ci::MaskSink;
use oidc_core::doctor::{
    Conclusion, Diagnosis, Expectations, RegistryDoctor, Severity, diagnose, diagnose_offline,
    read_claims, unix_now,
};
use pypi_exchange::PackageIndex;
use pypi_exchange::doctor::PypiDoctor;

use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// `trustpub doctor …`.
#[derive(Debug, Subcommand)]
pub enum DoctorCommand {
    /// Diagnose PyPI trusted publishing for this job (or a captured token).
    Pypi(DoctorPypiArgs),
    /// Diagnose npm trusted publishing for this job (or a captured token).
    Npm(DoctorNpmArgs),
    /// Diagnose crates.io trusted publishing for this job (or a captured token).
    #[command(name = "crates-io", alias = "crates.io")]
    CratesIo(DoctorBrokerArgs),
    /// Diagnose RubyGems.org trusted publishing for this job (or a captured token).
    #[command(alias = "rubygems.org")]
    Rubygems(DoctorBrokerArgs),
    /// Diagnose NuGet.org trusted publishing for this job (or a captured token); needs --user.
    #[command(alias = "nuget.org")]
    Nuget(DoctorBrokerArgs),
}

/// `trustpub doctor crates-io|rubygems|nuget`.
#[derive(Debug, Args)]
pub struct DoctorBrokerArgs {
    /// The registry's URL (default: the public registry).
    #[arg(long, value_name = "URL")]
    pub registry_url: Option<String>,

    /// The audience to request (default: the registry's).
    #[arg(long, value_name = "AUDIENCE")]
    pub audience: Option<String>,

    /// The registry account that owns the trust policy (NuGet: required).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// What every doctor takes.
    #[command(flatten)]
    pub common: DoctorArgs,
}

/// How the diagnosis is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Sections for people.
    Human,
    /// One JSON document, schema `trustpub.doctor/v1`.
    Json,
}

/// What every `doctor` subcommand takes.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The repository the trusted publisher is registered for (`owner/name`).
    #[arg(long, value_name = "OWNER/REPO", value_parser = parse_repository)]
    pub expect_repository: Option<String>,

    /// The workflow file name the trusted publisher names (`release.yml`).
    #[arg(long, value_name = "FILE")]
    pub expect_workflow: Option<String>,

    /// The environment the trusted publisher names.
    #[arg(long, value_name = "ENV")]
    pub expect_environment: Option<String>,

    /// Explain a token captured elsewhere (a raw JWT, or a JSON object of claims) with no network:
    /// no token is fetched and no exchange is attempted.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Output for people, or JSON for tools.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

impl DoctorArgs {
    fn expectations(&self) -> Expectations {
        Expectations {
            repository: self.expect_repository.clone(),
            workflow: self.expect_workflow.clone(),
            environment: self.expect_environment.clone(),
        }
    }
}

/// `trustpub doctor pypi`.
#[derive(Debug, Args)]
pub struct DoctorPypiArgs {
    /// The upload URL (`https://test.pypi.org/legacy/` for TestPyPI).
    #[arg(long, visible_alias = "repository_url", env = "TWINE_REPOSITORY_URL", default_value = pypi_exchange::index::PYPI_UPLOAD_URL)]
    pub repository_url: String,

    /// The project, for a pre-filled link to its publisher settings on PyPI or TestPyPI.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,

    /// The audience this index may ask for, when it is the audience of another service
    /// (`pypi` on a mirror of PyPI's API). pypi.org and test.pypi.org always get their own.
    #[arg(long, value_name = "AUDIENCE", env = "TRUSTPUB_PYPI_AUDIENCE")]
    pub audience: Option<String>,

    /// What every doctor takes.
    #[command(flatten)]
    pub common: DoctorArgs,
}

/// `trustpub doctor npm`.
#[derive(Debug, Args)]
pub struct DoctorNpmArgs {
    /// The registry.
    #[arg(long, env = "NPM_CONFIG_REGISTRY", default_value = npm_exchange::registry::NPMJS_REGISTRY)]
    pub registry: String,

    /// The package (default: the `name` in ./package.json). npm exchanges tokens per package.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,

    /// What every doctor takes.
    #[command(flatten)]
    pub common: DoctorArgs,
}

fn parse_repository(value: &str) -> Result<String, String> {
    match value.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(value.to_owned())
        }
        _ => Err(format!("`{value}` is not `owner/name`")),
    }
}

/// Which registry a diagnosis is for, as the JSON names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// `doctor pypi`.
    Pypi,
    /// `doctor npm`.
    Npm,
    /// `doctor crates-io`, `rubygems`, `nuget`.
    Broker(registry_exchange::RegistryKind),
}

impl Registry {
    /// `pypi` or `npm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pypi => "pypi",
            Self::Npm => "npm",
            Self::Broker(kind) => kind.info().name,
        }
    }
}

/// Runs `trustpub doctor`.
pub async fn run(
    command: &DoctorCommand,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    let (registry, doctor, common): (Registry, Box<dyn RegistryDoctor>, &DoctorArgs) = match command
    {
        DoctorCommand::Pypi(args) => {
            let index = PackageIndex::parse(&args.repository_url)
                .map_err(|err| CliError::Usage(err.to_string()))?;
            let mut doctor =
                PypiDoctor::new(context.http.clone(), index, args.common.expectations());
            if let Some(project) = &args.project {
                doctor = doctor.with_project(project);
            }
            doctor = doctor.with_allowed_audience(args.audience.clone());
            (Registry::Pypi, Box::new(doctor), &args.common)
        }
        DoctorCommand::Npm(args) => {
            let registry = NpmRegistry::parse(&args.registry)
                .map_err(|err| CliError::Usage(err.to_string()))?;
            let package = match &args.package {
                Some(name) => Some(name.clone()),
                None => package_json_name(Path::new("package.json"), printer),
            };
            let package = package
                .map(|name| {
                    PackageName::parse(&name).map_err(|err| {
                        CliError::Usage(format!("the package name `{name}` is not valid: {err}"))
                    })
                })
                .transpose()?;
            let doctor = NpmDoctor::new(
                context.http.clone(),
                registry,
                package,
                args.common.expectations(),
            );
            (Registry::Npm, Box::new(doctor), &args.common)
        }
        DoctorCommand::CratesIo(args)
        | DoctorCommand::Rubygems(args)
        | DoctorCommand::Nuget(args) => {
            let kind = match command {
                DoctorCommand::Rubygems(_) => registry_exchange::RegistryKind::Rubygems,
                DoctorCommand::Nuget(_) => registry_exchange::RegistryKind::Nuget,
                _ => registry_exchange::RegistryKind::CratesIo,
            };
            let options = registry_exchange::BrokerOptions {
                url: args.registry_url.clone(),
                audience: args.audience.clone(),
                user: args.user.clone(),
            };
            let exchange =
                registry_exchange::BrokerExchange::new(context.http.clone(), kind, &options)
                    .map_err(|err| CliError::Usage(err.to_string()))?;
            let doctor =
                registry_exchange::doctor::BrokerDoctor::new(exchange, args.common.expectations());
            (Registry::Broker(kind), Box::new(doctor), &args.common)
        }
    };
    let diagnosis = match &common.token_file {
        Some(path) => {
            let claims = read_token_file(path, printer)?;
            diagnose_offline(doctor.as_ref(), &claims, unix_now())
        }
        None => {
            let mut diagnosis = diagnose(
                doctor.as_ref(),
                &context.detector(),
                printer as &dyn MaskSink,
            )
            .await;
            if let Ok(target) = url::Url::parse(&diagnosis.target) {
                diagnosis.network = context.http.network_notes(&target);
            }
            diagnosis
        }
    };
    let outcome = outcome(diagnosis.conclusion());
    report(
        &diagnosis,
        registry,
        common.format,
        outcome,
        context,
        printer,
    )?;
    Ok(outcome)
}

/// The exit code for a conclusion.
pub fn outcome(conclusion: Conclusion) -> Outcome {
    match conclusion {
        Conclusion::Ready | Conclusion::Unproven => Outcome::Success,
        Conclusion::NoCredential => Outcome::Identity,
        Conclusion::ChecksFailed => Outcome::VerificationFailed,
    }
}

/// Reads `--token-file`: the text never appears in an error (it may be a live token), and a raw
/// JWT is masked on GitHub Actions before anything else is printed.
fn read_token_file(path: &Path, printer: &Printer) -> Result<oidc_core::Claims, CliError> {
    let text = fs_err::read_to_string(path)
        .map_err(|err| CliError::Usage(format!("--token-file: {err}")))?;
    let trimmed = text.trim();
    if !trimmed.starts_with('{') {
        printer.mask(trimmed);
    }
    read_claims(trimmed).map_err(|err| {
        CliError::Usage(format!(
            "--token-file {}: {err}. Give a raw JWT or a JSON object of claims (`trustpub token --audience … --claims`)",
            path.display()
        ))
    })
}

/// The `name` of a package.json, when there is one to read.
fn package_json_name(path: &Path, printer: &Printer) -> Option<String> {
    let text = fs_err::read_to_string(path).ok()?;
    let name = serde_json::from_str::<serde_json::Value>(&text)
        .ok()?
        .get("name")?
        .as_str()?
        .to_owned();
    printer.info(&format!(
        "Diagnosing package `{name}` (from {})",
        path.display()
    ));
    Some(name)
}

/// Prints the diagnosis, the annotations and the step summary.
fn report(
    diagnosis: &Diagnosis,
    registry: Registry,
    format: Format,
    outcome: Outcome,
    context: &Context,
    printer: &Printer,
) -> Result<(), CliError> {
    if context.env.is_true("GITHUB_ACTIONS") {
        for finding in &diagnosis.findings {
            let mut message = finding.detail.clone();
            if let Some(fix) = &finding.fix {
                message.push_str(&format!("\nFix: {fix}"));
            }
            let title = format!("trustpub doctor: {}", finding.title);
            match finding.severity {
                Severity::Error => printer.error(&title, &message),
                Severity::Warning => printer.warning(&title, &message),
                Severity::Note => {}
            }
        }
    }
    printer.summary(&render::markdown(diagnosis, outcome));
    match format {
        Format::Human => {
            for line in render::human(diagnosis, outcome).lines() {
                printer.data(line);
            }
        }
        Format::Json => {
            let document = json::document(diagnosis, registry, outcome);
            let text = serde_json::to_string_pretty(&document)
                .map_err(|err| CliError::Internal(format!("cannot render the diagnosis: {err}")))?;
            printer.data(&text);
        }
    }
    Ok(())
}
