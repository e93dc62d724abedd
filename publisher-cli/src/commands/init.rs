//! `trustpub init <registry>`: write a hardened publish workflow and print the
//! trusted-publisher fields to enter on the registry.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use workflow_audit::generate::{self, InitOptions};
use workflow_audit::{Options, Registry, Source};

use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// The trustpub action commit a release build bakes in (`TRUSTPUB_ACTION_SHA` at build time).
const BUILT_IN_ACTION_SHA: Option<&str> = option_env!("TRUSTPUB_ACTION_SHA");

/// The registries `init` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitRegistry {
    /// PyPI (trustpub action, `command: pypi`).
    Pypi,
    /// npm (trustpub action, `command: npm`).
    Npm,
    /// crates.io (`trustpub exec crates-io -- cargo publish`).
    CratesIo,
    /// RubyGems.org (`trustpub exec rubygems -- gem push`).
    Rubygems,
    /// NuGet.org (`trustpub exec nuget -- dotnet nuget push`).
    Nuget,
}

impl From<InitRegistry> for Registry {
    fn from(value: InitRegistry) -> Self {
        match value {
            InitRegistry::Pypi => Registry::Pypi,
            InitRegistry::Npm => Registry::Npm,
            InitRegistry::CratesIo => Registry::CratesIo,
            InitRegistry::Rubygems => Registry::Rubygems,
            InitRegistry::Nuget => Registry::Nuget,
        }
    }
}

/// `trustpub init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The registry to publish to.
    #[arg(value_enum)]
    pub registry: InitRegistry,

    /// The workflow name: writes `.github/workflows/<NAME>.yml` (default `publish-<registry>`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// The deployment environment of the publish job (default: the registry's name).
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,

    /// The package name, to fill the PyPI link and the `npm trust` command.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,

    /// The commit SHA of the trustpub/trustpub release to pin (default: the one this build
    /// was released with, when it was).
    #[arg(long, value_name = "SHA")]
    pub action_sha: Option<String>,

    /// Overwrite an existing workflow file.
    #[arg(long)]
    pub force: bool,
}

/// Runs `trustpub init`.
pub async fn run(args: &InitArgs, printer: &Printer) -> Result<Outcome, CliError> {
    let registry = Registry::from(args.registry);
    let action_sha = args
        .action_sha
        .clone()
        .or(BUILT_IN_ACTION_SHA.map(str::to_owned))
        .ok_or_else(|| {
            CliError::Usage(
                "this trustpub build does not know the commit of its own release: pass --action-sha <the 40-character commit SHA of the trustpub/trustpub release> (https://github.com/trustpub/trustpub/releases)".into(),
            )
        })?;
    let mut options = InitOptions::new(registry, action_sha, env!("CARGO_PKG_VERSION").into());
    if let Some(name) = &args.name {
        let stem = name.trim_end_matches(".yml").trim_end_matches(".yaml");
        options.file_name = format!("{stem}.yml");
    }
    if let Some(environment) = &args.environment {
        options.environment = environment.clone();
    }
    options.package = args.package.clone();
    let text = generate::workflow(&options).map_err(|err| CliError::Usage(err.to_string()))?;

    // Check what we are about to write with our own rules: it must be clean.
    let path = PathBuf::from(".github/workflows").join(&options.file_name);
    let report = workflow_audit::audit(
        &[Source {
            path: path.display().to_string(),
            text: text.clone(),
        }],
        &Options::default(),
    );
    if !report.findings.is_empty() {
        return Err(CliError::Internal(format!(
            "the generated workflow does not pass `trustpub audit` (a bug):\n{}",
            workflow_audit::render::human(&report)
        )));
    }
    write_workflow(&path, &text, args.force)?;
    printer.status("Wrote", &path.display().to_string());

    let repository = git_origin().await;
    let (owner, name) = match &repository {
        Some((owner, name)) => (owner.clone(), name.clone()),
        None => {
            printer.warning(
                "Repository unknown",
                "`git remote get-url origin` gave no github.com repository: fill in the owner and repository yourself",
            );
            ("<owner>".into(), "<repository>".into())
        }
    };
    let fields = generate::publisher_fields(&options, &owner, &name);
    printer.data(&format!(
        "Trusted publisher for {registry} ({}):",
        fields.where_
    ));
    for (field, value) in &fields.fields {
        printer.data(&format!("  {field:<12} {value}"));
    }
    if let Some(shortcut) = &fields.shortcut {
        printer.data(&format!("  {shortcut}"));
    }
    printer.data(&format!(
        "Then create the `{}` environment in the repository settings (required reviewers, deployment rule for `v*` tags) and push a `v*` tag.",
        options.environment
    ));
    Ok(Outcome::Success)
}

fn write_workflow(path: &Path, text: &str, force: bool) -> Result<(), CliError> {
    let io =
        |err: std::io::Error| CliError::Internal(format!("cannot write {}: {err}", path.display()));
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir).map_err(io)?;
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    let mut file = match open.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::Usage(format!(
                "{} already exists: pass --force to overwrite it, or --name to write another file",
                path.display()
            )));
        }
        Err(err) => return Err(io(err)),
    };
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// `owner/name` of `origin`, when it is on github.com.
async fn git_origin() -> Option<(String, String)> {
    let output = tokio::process::Command::new("git")
        .args(["remote", "get-url", "origin"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .ok()?;
    if !output.status.success() {
        return None;
    }
    generate::github_repository(&String::from_utf8_lossy(&output.stdout))
}
