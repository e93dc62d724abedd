//! `trustpub pypi upload`: turn the flags (and twine's variables and `.pypirc`) into
//! [`PublishSettings`], run [`pypi_exchange::PublishRun`], render its report.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use oidc_core::Secret;
use oidc_core::ci::MaskSink;
use pypi_exchange::dist::{Problem, Severity};
use pypi_exchange::pypirc::Target;
use pypi_exchange::upload::UploadReporter;
use pypi_exchange::{
    AttestationMode, AttestationState, FileOutcome, FileStep, PackageIndex, PublishObserver,
    PublishReport, PublishRun, PublishRunError, PublishSettings, RunMode, RunNotice, SkipExisting,
};

use crate::cli::{PypiUploadArgs, SkipExistingArg};
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;
use crate::progress::UploadProgress;
use crate::shared::{self, human_size};

/// Runs `trustpub pypi upload`.
pub async fn upload(
    args: &PypiUploadArgs,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    let target = Target::resolve(
        args.repository_url.as_deref(),
        args.repository.as_deref(),
        args.config_file.as_deref(),
        context.env.non_empty("HOME").as_deref(),
    )?;
    let index = PackageIndex::parse(&target.upload_url)
        .map_err(|err| CliError::Usage(format!("{err}{}", target.source)))?;
    let simple_url = args
        .simple_url
        .as_deref()
        .map(|url| {
            url::Url::parse(url)
                .map_err(|err| CliError::Usage(format!("--simple-url `{url}` is not a URL: {err}")))
        })
        .transpose()?;
    // Flags and variables win over the .pypirc, as in twine; `PYPI_TOKEN` is the action's.
    let password = args
        .password
        .clone()
        .filter(|p| !p.expose().is_empty())
        .or_else(|| context.env.non_empty("PYPI_TOKEN").map(Secret::new));
    let credentials = target.credentials(args.user.clone(), password)?;
    let attestations = match args.attestations {
        Some(true) => AttestationMode::On,
        Some(false) => AttestationMode::Off,
        None => AttestationMode::Auto,
    };
    let sigstore = if attestations == AttestationMode::Off {
        oidc_core::sigstore::SigstoreConfig::public_good()
    } else {
        shared::sigstore_config(&args.run.sigstore)?
    };
    let mut settings = PublishSettings::new(
        index,
        if args.paths.is_empty() {
            vec![args.packages_dir.clone()]
        } else {
            args.paths.clone()
        },
    );
    settings.simple_url = simple_url;
    settings.credentials = credentials;
    settings.allowed_audience = args.audience.clone();
    settings.attestations = attestations;
    settings.sigstore = sigstore;
    settings.skip_existing = match args.skip_existing {
        SkipExistingArg::Off => SkipExisting::Off,
        SkipExistingArg::On => SkipExisting::Skip,
        SkipExistingArg::Strict => SkipExisting::Strict,
    };
    settings.verify_metadata = args.verify_metadata;
    settings.print_hash = args.print_hash;
    settings.concurrency = usize::from(args.concurrency);
    settings.mode = if args.run.dry_run {
        RunMode::DryRun
    } else {
        RunMode::Publish
    };
    settings.policy = args.run.event_policy(printer);

    let detector = context.detector();
    let observer = Lines {
        printer,
        progress: Arc::new(UploadProgress::new(printer)),
        hashes_shown: AtomicBool::new(false),
    };
    let run = PublishRun::new(
        context.http.clone(),
        &detector,
        context.env.as_ref(),
        settings,
    )
    .with_renewal_mask(Arc::new(printer.masker()));
    let result = run.run(&observer).await;
    observer.progress.clear();
    match result {
        Ok(report) if report.is_dry_run() => Ok(render_plan(&report, args, printer)),
        Ok(report) => Ok(render_report(&report, args.print_hash, printer)),
        Err(err) => {
            render_details(&err, printer);
            Err(CliError::Pypi(err))
        }
    }
}

/// What a stopped run needs besides its one-line error: each problem.
fn render_details(err: &PublishRunError, printer: &Printer) {
    match err {
        PublishRunError::InvalidAttestations { problems } => {
            for problem in problems {
                printer.error("Invalid attestation", &problem.to_string());
            }
        }
        PublishRunError::Signing { failures } => {
            for failure in failures {
                printer.error(shared::sign_failure_title(failure), &failure.to_string());
            }
        }
        _ => {}
    }
}

/// Renders the run's progress as lines (and upload bars on a terminal).
struct Lines<'p> {
    printer: &'p Printer,
    progress: Arc<UploadProgress>,
    /// The `--print-hash` heading was printed.
    hashes_shown: AtomicBool,
}

impl MaskSink for Lines<'_> {
    fn mask(&self, secret: &str) {
        self.printer.mask(secret);
    }

    fn warning(&self, title: &str, message: &str) {
        self.printer.warning(title, message);
    }
}

impl PublishObserver for Lines<'_> {
    fn notice(&self, notice: &RunNotice) {
        let printer = self.printer;
        match notice {
            RunNotice::Ignored(what) => printer.info(&format!("Ignoring {what}")),
            RunNotice::AttestationsOffByDefault { host } => printer.info(&format!(
                "Attestations are off by default for {host} (not PyPI or TestPyPI); pass --attestations true if this index verifies PEP 740"
            )),
            RunNotice::SuspiciousToken(problem) => {
                printer.warning("Potentially invalid token", problem);
            }
            RunNotice::UpgradeToTrustedPublishing { settings_links } => {
                let mut advice = "an explicit password or token was given, so trusted publishing is off. Trusted publishing needs no stored secret: add a trusted publisher for this workflow and drop the token".to_owned();
                if !settings_links.is_empty() {
                    advice.push_str(&format!(": {}", settings_links.join(" , ")));
                }
                printer.warning("Upgrade to Trusted Publishing", &advice);
            }
            RunNotice::Minted { host } => printer.status(
                "Minted",
                &format!("a short-lived upload token from {host} (trusted publishing)"),
            ),
            RunNotice::ReusableWorkflow(warning) => {
                printer.warning("Potential workflow misconfiguration", warning);
            }
            RunNotice::SigningAs(san) => printer.info(&format!("Signing as {san}")),
            RunNotice::AttestationReplaced { filename, reason } => printer.warning(
                "Attestation re-signed",
                &format!(
                    "{filename}: {reason}; PyPI checks attestations against this job's trusted publisher, so a new one replaces it"
                ),
            ),
            RunNotice::RevocationFailed { scope, error } => printer.warning(
                "Token revocation failed",
                &format!("{error} ({scope}); it expires by itself within 15 minutes"),
            ),
            RunNotice::Revoked => printer.status("Revoked", "the minted token (dry run)"),
            RunNotice::Uploading { count, url } => {
                printer.info(&format!("Uploading {count} file(s) to {url}"));
            }
        }
    }

    fn problem(&self, problem: &Problem) {
        match problem.severity {
            Severity::Error => self
                .printer
                .error("Invalid distribution", &problem.to_string()),
            Severity::Warning => self
                .printer
                .warning("Distribution check", &problem.to_string()),
            Severity::Note => self.printer.info(&format!("note: {problem}")),
        }
    }

    fn step(&self, step: &FileStep<'_>) {
        let printer = self.printer;
        match step {
            FileStep::Checked(dist) => printer.status(
                "Checked",
                &format!("{} ({})", dist.filename, human_size(dist.size)),
            ),
            FileStep::Hashed { dist, digests } => {
                if !self.hashes_shown.swap(true, Ordering::Relaxed) {
                    printer.info("Showing hash values of files to be uploaded:");
                }
                printer.info(&format!(
                    "{}\n  SHA256: {}\n  MD5: {}\n  BLAKE2-256: {}",
                    dist.path.display(),
                    digests.sha256,
                    digests.md5,
                    digests.blake2_256
                ));
            }
            FileStep::AttestationChecked { filename, paths } => printer.status(
                "Attested",
                &format!("{filename} (existing {})", file_names(paths)),
            ),
            FileStep::Signed {
                filename,
                path,
                log_index,
            } => printer.status(
                "Attested",
                &format!(
                    "{filename} → {} (signed and verified{})",
                    path.file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    log_index
                        .map(|i| format!(", Rekor entry {i}"))
                        .unwrap_or_default()
                ),
            ),
        }
    }

    fn upload_reporter(&self) -> Option<Arc<dyn UploadReporter>> {
        Some(self.progress.clone())
    }
}

fn file_names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The dry run's report: what a real run would upload, and how it would authenticate.
fn render_plan(report: &PublishReport, args: &PypiUploadArgs, printer: &Printer) -> Outcome {
    let on = |value: bool| if value { "on" } else { "off" };
    printer.status(
        "Settings",
        &format!(
            "skip-existing: {}, metadata checks: {}, print-hash: {}",
            match args.skip_existing {
                SkipExistingArg::Off => "off",
                SkipExistingArg::On => "on",
                SkipExistingArg::Strict => "strict",
            },
            on(args.verify_metadata),
            on(args.print_hash),
        ),
    );
    let auth = match report.credentials {
        pypi_exchange::CredentialUsed::Token => "an API token (not checked)",
        pypi_exchange::CredentialUsed::TrustedPublishing => {
            "trusted publishing (token minted and revoked)"
        }
    };
    let mut table = String::from(
        "## trustpub: PyPI upload (dry run)\n\n| File | Size | SHA-256 | Attestation |\n|---|---|---|---|\n",
    );
    printer.status(
        "Dry run",
        &format!(
            "{} file(s) would be uploaded to {} with {auth}",
            report.files.len(),
            report.upload_url
        ),
    );
    for file in &report.files {
        let attestation = match file.attestation {
            AttestationState::WouldSign => "would be signed",
            AttestationState::Existing(_) | AttestationState::Signed(_) => "existing, checked",
            AttestationState::None => "none",
        };
        printer.status(
            "Would upload",
            &format!(
                "{} ({})  sha256:{}  attestation: {attestation}",
                file.filename,
                human_size(file.size),
                file.sha256
            ),
        );
        table.push_str(&format!(
            "| `{}` | {} | `{}` | {attestation} |\n",
            file.filename,
            human_size(file.size),
            file.sha256
        ));
    }
    printer.summary(&table);
    printer.info("Dry run: nothing was signed or uploaded");
    Outcome::Success
}

/// Each file's outcome, the step summary, the counts; the exit code from the tally.
fn render_report(report: &PublishReport, print_hash: bool, printer: &Printer) -> Outcome {
    let mut table = String::from(
        "## trustpub: PyPI upload\n\n| File | Size | Result | SHA-256 |\n|---|---|---|---|\n",
    );
    for file in &report.files {
        let hash = if print_hash {
            format!("  sha256:{}", file.sha256)
        } else {
            String::new()
        };
        let status = match &file.outcome {
            FileOutcome::Uploaded => {
                printer.status(
                    "Uploaded",
                    &format!("{} ({}){hash}", file.filename, human_size(file.size)),
                );
                "uploaded"
            }
            FileOutcome::AlreadyPresent => {
                printer.status(
                    "Present",
                    &format!(
                        "{} (the index already has this exact file){hash}",
                        file.filename
                    ),
                );
                "already present"
            }
            FileOutcome::Skipped => {
                printer.status(
                    "Skipped",
                    &format!("{} (exists with the same hash){hash}", file.filename),
                );
                "skipped (exists)"
            }
            FileOutcome::SkippedDifferent { remote_sha256 } => {
                let there = remote_sha256.as_deref().map_or_else(
                    || "the index did not list its hash".to_owned(),
                    |remote| format!("sha256 {remote} there"),
                );
                printer.warning(
                    "Skipped a different file",
                    &format!(
                        "{}: the index already has a file with this name but other bytes ({there}, sha256 {} here); it was skipped (--skip-existing), so the index keeps its file. Pass --skip-existing=strict to make this an error",
                        file.filename, file.sha256
                    ),
                );
                "**skipped: different file exists**"
            }
            FileOutcome::NotAttempted { .. } => "not tried",
            FileOutcome::Failed(err) => {
                printer.error("Upload failed", &err.to_string());
                "**failed**"
            }
            FileOutcome::NotSigned(failure) => {
                printer.error(shared::sign_failure_title(failure), &failure.to_string());
                "**attestation failed: not uploaded**"
            }
            FileOutcome::WouldUpload => "would upload",
        };
        table.push_str(&format!(
            "| `{}` | {} | {status} | `{}` |\n",
            file.filename,
            human_size(file.size),
            file.sha256
        ));
    }
    let not_tried: Vec<&str> = report
        .not_attempted()
        .map(|file| file.filename.as_str())
        .collect();
    if let Some(FileOutcome::NotAttempted { reason }) =
        report.not_attempted().next().map(|file| &file.outcome)
    {
        printer.error(
            "Upload stopped",
            &format!(
                "{reason}, so {} other file(s) were not tried: {}. Fix the cause and run the same command again: files already on the index count as done",
                not_tried.len(),
                not_tried.join(", ")
            ),
        );
    }
    printer.summary(&table);
    let tally = report.tally();
    printer.info(&format!(
        "{} uploaded, {} already present, {} skipped, {} failed",
        tally.uploaded, tally.present, tally.skipped, tally.failed
    ));
    Outcome::from_counts(tally.done(), tally.failed)
}
