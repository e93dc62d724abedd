//! `trustpub npm publish`: parse the flags, run [`npm_exchange::PublishRun`], render its
//! report. Per-package lines come out in input order however the packages finish.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use npm_exchange::npmrc::{NpmSettings, SettingSource};
use npm_exchange::package::Access;
use npm_exchange::publish::report::ProvenancePlan;
use npm_exchange::publish::run::InvalidPackage;
use npm_exchange::{
    NpmRegistry, PackageOutcome, PackageReport, PackageStep, ProvenanceMode, PublishObserver,
    PublishRun, PublishRunError, PublishSettings, RunNotice,
};
use oidc_core::ci::MaskSink;

use crate::cli::{AccessArg, NpmPublishArgs};
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;
use crate::shared;
use crate::shared::human_size;

/// Runs `trustpub npm publish`.
pub async fn publish(
    args: &NpmPublishArgs,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    if args.provenance && args.provenance_file.is_some() {
        // npm's own refusal (EUSAGE).
        return Err(CliError::Usage(
            "provenance and provenanceFile cannot be used together".into(),
        ));
    }
    let registry = args
        .registry
        .as_deref()
        .map(NpmRegistry::parse)
        .transpose()
        .map_err(|err| CliError::Usage(err.to_string()))?;
    let cwd = std::env::current_dir()
        .map_err(|err| CliError::Internal(format!("cannot read the working directory: {err}")))?;
    let npm = NpmSettings::load(context.env.as_ref(), &cwd)
        .map_err(|err| CliError::Usage(err.to_string()))?;
    let provenance = if args.provenance_file.is_some() {
        ProvenanceMode::File
    } else if args.no_provenance {
        ProvenanceMode::Off
    } else if args.provenance {
        ProvenanceMode::Required
    } else {
        ProvenanceMode::Auto
    };
    let sigstore = match provenance {
        ProvenanceMode::Off => None,
        _ => Some(shared::sigstore_config(&args.run.sigstore)?),
    };
    if let Some(token) = &args.token {
        printer.mask(token.expose());
    }
    let settings = PublishSettings {
        paths: args.paths.clone(),
        registry,
        tag: args.tag.clone(),
        access: args.access.map(|a| match a {
            AccessArg::Public => Access::Public,
            AccessArg::Restricted => Access::Restricted,
        }),
        token: args.token.clone(),
        npm,
        trusted_publishing: !args.no_trusted_publishing,
        provenance,
        provenance_file: args.provenance_file.clone(),
        sigstore,
        concurrency: usize::from(args.concurrency),
        dry_run: args.run.dry_run,
        policy: args.run.event_policy(printer),
    };
    let detector = context.detector();
    let observer = Lines::new(printer);
    let run = PublishRun::new(
        context.http.clone(),
        &detector,
        context.env.as_ref(),
        settings,
    )
    .with_renewal_mask(std::sync::Arc::new(printer.masker()));
    let report = match run.run(&observer).await {
        Ok(report) => report,
        Err(err) => {
            if let PublishRunError::Invalid { problems } = &err {
                for problem in problems {
                    render_invalid(problem, printer);
                }
            }
            return Err(CliError::Npm(err));
        }
    };
    observer.flush_all();

    let tally = report.tally();
    let title = if report.dry_run {
        "## trustpub: npm publish (dry run)\n\n| Package | Tag | Registry | Size | Plan |\n|---|---|---|---|---|\n"
    } else {
        "## trustpub: npm publish\n\n| Package | Tag | Registry | Size | Result |\n|---|---|---|---|---|\n"
    };
    let mut table = String::from(title);
    for package in &report.packages {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            package.label,
            package.tag,
            package.registry,
            human_size(package.size),
            summary_cell(&package.outcome)
        ));
    }
    printer.summary(&table);
    if let Some(err) = &report.stopped {
        let missing: Vec<&str> = report.missing().map(|p| p.label.as_str()).collect();
        printer.error(
            "No OIDC identity",
            &format!(
                "{err}\nStopped: every package would be refused the same way. Not published: {}",
                missing.join(", ")
            ),
        );
        return Ok(Outcome::Identity);
    }
    if report.dry_run {
        printer.info(&format!(
            "Dry run: {} package(s) would be published, {} would fail; nothing was signed or published",
            tally.done, tally.missing
        ));
    } else {
        printer.info(&format!(
            "{} package(s) published or already present, {} not published",
            tally.done, tally.missing
        ));
    }
    if tally.missing > 0 && tally.done > 0 && !report.dry_run {
        let missing: Vec<&str> = report.missing().map(|p| p.label.as_str()).collect();
        printer.error(
            "Partial publish",
            &format!(
                "not published: {}. The others are published; fix the cause and re-run the same command: packages already on the registry with the same integrity count as done",
                missing.join(", ")
            ),
        );
    }
    Ok(
        if tally.done == 0 && tally.refused > 0 && tally.refused == tally.missing {
            Outcome::Identity
        } else {
            Outcome::from_counts(tally.done, tally.missing)
        },
    )
}

fn render_invalid(problem: &InvalidPackage, printer: &Printer) {
    match problem {
        InvalidPackage::Refused(refused) => {
            for p in &refused.problems {
                let hint = p.hint().map(|h| format!(" ({h})")).unwrap_or_default();
                printer.error(
                    "Invalid package",
                    &format!("{}: {p}{hint}", refused.package),
                );
            }
        }
        other => printer.error("Invalid package", &other.to_string()),
    }
}

fn summary_cell(outcome: &PackageOutcome) -> String {
    match outcome {
        PackageOutcome::Published => "published".into(),
        PackageOutcome::AlreadyPresent => "already published".into(),
        PackageOutcome::WouldPublish { provenance } => format!(
            "would publish ({})",
            match provenance {
                ProvenancePlan::None => "no provenance",
                ProvenancePlan::Sign => "provenance would be signed",
                ProvenancePlan::Given => "the given provenance bundle (checked)",
            }
        ),
        PackageOutcome::NotAttempted => "**not attempted**".into(),
        PackageOutcome::Failed(failure) => format!("**{}**", failure.title().to_lowercase()),
    }
}

/// `<tarball>.sigstore.json`: where a signed provenance bundle is kept beside its tarball.
pub fn bundle_path(tarball: &Path) -> PathBuf {
    npm_exchange::publish::run::bundle_path(tarball)
}

/// One line of output, held until its package's turn.
enum Line {
    Status(&'static str, String),
    Info(String),
    Warning(&'static str, String),
    Error(&'static str, String),
}

#[derive(Default)]
struct Order {
    /// The package whose lines print as they come.
    next: usize,
    /// Lines of later packages, waiting.
    pending: BTreeMap<usize, Vec<Line>>,
    /// Packages done but not yet reached.
    done: BTreeSet<usize>,
}

/// Prints the run's progress with each package's lines together and in input order: the
/// package at the head prints live; the others' lines wait until it is done.
struct Lines<'p> {
    printer: &'p Printer,
    order: Mutex<Order>,
}

impl<'p> Lines<'p> {
    fn new(printer: &'p Printer) -> Self {
        Self {
            printer,
            order: Mutex::new(Order::default()),
        }
    }

    fn print(&self, line: &Line) {
        match line {
            Line::Status(word, rest) => self.printer.status(word, rest),
            Line::Info(text) => self.printer.info(text),
            Line::Warning(title, text) => self.printer.warning(title, text),
            Line::Error(title, text) => self.printer.error(title, text),
        }
    }

    fn emit(&self, index: usize, line: Line) {
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        if index == order.next {
            self.print(&line);
        } else {
            order.pending.entry(index).or_default().push(line);
        }
    }

    fn done(&self, index: usize) {
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        order.done.insert(index);
        let order = &mut *order;
        while order.done.remove(&order.next) {
            order.next += 1;
            let next = order.next;
            for line in order.pending.remove(&next).unwrap_or_default() {
                self.print(&line);
            }
        }
    }

    /// Prints whatever is still held (packages never finished: none in a normal run).
    fn flush_all(&self) {
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        for (_, lines) in std::mem::take(&mut order.pending) {
            for line in &lines {
                self.print(line);
            }
        }
    }
}

impl MaskSink for Lines<'_> {
    fn mask(&self, secret: &str) {
        self.printer.mask(secret);
    }
}

impl PublishObserver for Lines<'_> {
    fn notice(&self, notice: &RunNotice) {
        match notice {
            RunNotice::TokenIgnored {
                source,
                placeholder: true,
            } => self.printer.info(&format!(
                "The token from {source} is actions/setup-node's placeholder, not a token: ignored, publishing with trusted publishing"
            )),
            RunNotice::TokenIgnored { source, .. } => self.printer.warning(
                "Registry token not used",
                &format!(
                    "an ID token is available, so trusted publishing is used and the token from {source} is ignored (npm 11 does the same). Pass --no-trusted-publishing to publish with the token instead, or remove it: trusted publishing needs no stored secret"
                ),
            ),
            RunNotice::UsingToken { source } => self.printer.warning(
                "Upgrade to Trusted Publishing",
                &format!(
                    "publishing with the registry token from {source}{}. Trusted publishing needs no stored secret: add a trusted publisher to each package, `permissions: id-token: write` to the job, and drop the token",
                    if matches!(source, SettingSource::Flag(_)) { "" } else { " (no ID token in this job)" }
                ),
            ),
            RunNotice::SigningAs(san) => self.printer.info(&format!("Signing as {san}")),
            RunNotice::ReusableWorkflow { caller, called } => self.printer.warning(
                "Reusable workflow",
                &format!(
                    "this job runs in a reusable workflow ({called}). npm matches the trusted publisher on the calling workflow: its workflow filename must be `{caller}` (PyPI, by contrast, matches the called workflow)"
                ),
            ),
        }
    }

    fn step(&self, index: usize, label: &str, step: &PackageStep<'_>) {
        let line = match step {
            PackageStep::Checked { registry } => {
                Line::Status("Checked", format!("{label} (for {registry})"))
            }
            PackageStep::Exchanged => Line::Status(
                "Exchanged",
                format!("an ID token for a publish token scoped to {label}"),
            ),
            PackageStep::NoProvenance { reason, warn: true } => {
                Line::Warning("No provenance", format!("{label}: {reason}"))
            }
            PackageStep::NoProvenance { reason, .. } => {
                Line::Info(format!("No provenance for {label}: {reason}"))
            }
            PackageStep::ProvenanceChecked { path, identity } => Line::Status(
                "Checked",
                format!(
                    "{} (provenance for {label} signed by {identity})",
                    path.display()
                ),
            ),
            PackageStep::ProvenanceSigned { path, log_index } => Line::Status(
                "Provenance",
                format!(
                    "{label}: SLSA provenance signed and verified{} → {}",
                    log_index
                        .map(|i| format!(", Rekor entry {i}"))
                        .unwrap_or_default(),
                    path.display()
                ),
            ),
            PackageStep::Publishing {
                registry,
                tag,
                size,
            } => Line::Status(
                "Publishing",
                format!(
                    "{label} ({}) to {registry} with tag `{tag}`",
                    human_size(*size)
                ),
            ),
        };
        // Checks happen before the run, in order: print them at once.
        if matches!(step, PackageStep::Checked { .. }) {
            self.print(&line);
        } else {
            self.emit(index, line);
        }
    }

    fn finished(&self, index: usize, report: &PackageReport) {
        let label = &report.label;
        let line = match &report.outcome {
            PackageOutcome::Published => Some(Line::Status(
                "Published",
                format!("{label}  {}", report.integrity),
            )),
            PackageOutcome::AlreadyPresent => Some(Line::Status(
                "Present",
                format!("{label} (the registry already has this exact version)"),
            )),
            PackageOutcome::WouldPublish { provenance } => Some(Line::Status(
                "Would publish",
                format!(
                    "{label} ({}) to {} with tag `{}`, {}  {}",
                    human_size(report.size),
                    report.registry,
                    report.tag,
                    match provenance {
                        ProvenancePlan::None => "no provenance",
                        ProvenancePlan::Sign => "provenance would be signed",
                        ProvenancePlan::Given => "the given provenance bundle (checked)",
                    },
                    report.integrity
                ),
            )),
            PackageOutcome::NotAttempted => None,
            PackageOutcome::Failed(failure) => {
                Some(Line::Error(failure.title(), format!("{label}: {failure}")))
            }
        };
        if let Some(line) = line {
            self.emit(index, line);
        }
        self.done(index);
    }
}
