//! `trustpub pypi upload`: read, validate, authenticate, upload, report.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use oidc_core::ci::{GithubContext, MaskSink};
use oidc_core::sigstore::{
    ArtifactDigest, ExpectedIdentity, SigningJob, SigstoreConfig, TrustRoot, verify_bundle,
};
use oidc_core::{Secret, Session};
use pypi_exchange::attestation::{self, Attestation};
use pypi_exchange::dist::{
    Collection, Distribution, Problem, Severity, ValidateOptions, collect, validate,
};
use pypi_exchange::upload::{
    FileResult, FileStatus, StaticCredentials, UploadItem, UploadOptions, Uploader,
};
use pypi_exchange::{PackageIndex, PypiExchange};

use crate::cli::PypiUploadArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;
use crate::progress::UploadProgress;
use crate::signing;

/// How the upload authenticates.
enum Auth {
    /// OIDC trusted publishing.
    Trusted,
    /// A username and password (an API token with `__token__`).
    Token { username: String, password: Secret },
}

/// Runs `trustpub pypi upload`.
pub async fn upload(
    args: &PypiUploadArgs,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    let index = PackageIndex::parse(&args.repository_url)
        .map_err(|err| CliError::Usage(err.to_string()))?;
    let auth = resolve_auth(args, context, &index, printer)?;
    let attest = decide_attestations(args, &auth, &index, printer)?;
    let sigstore = if attest {
        Some(signing::config(&args.run.sigstore)?)
    } else {
        None
    };

    let exchange = PypiExchange::new(context.http.clone(), index.clone())
        .with_allowed_audience(args.audience.clone());
    // 1. Find, read and validate everything before anything is minted. Meanwhile, with trusted
    //    publishing, learn the index's audience: a harmless GET that takes one round trip off
    //    the critical path (a failure here is reported when the token is minted).
    let validation = read_and_validate(args, printer);
    let dists = if matches!(auth, Auth::Trusted) {
        let (dists, _) = tokio::join!(validation, exchange.audience());
        dists
    } else {
        validation.await
    };
    let Some(dists) = dists? else {
        return Ok(Outcome::InvalidArtifact);
    };
    let (collection, dists) = dists;

    // 2. Attestations that already sit beside the dists are checked now; the rest are signed
    //    once the exchange has proved the trusted publisher works (so a misconfigured
    //    publisher leaves no entries in the public transparency log).
    let existing_trust = match &sigstore {
        Some(config)
            if collection
                .attestations
                .values()
                .any(|paths| !paths.is_empty()) =>
        {
            Some(signing::trust_root(config)?)
        }
        _ => None,
    };
    let mut items = Vec::new();
    let mut to_sign = Vec::new();
    let mut attestation_problems = 0;
    for dist in dists {
        let paths = collection
            .attestations
            .get(&dist.filename)
            .cloned()
            .unwrap_or_default();
        let attestations = if !attest {
            None
        } else if paths.is_empty() {
            to_sign.push(items.len());
            None
        } else {
            match check_existing(&dist, &paths, existing_trust.as_ref()) {
                Ok(json) => {
                    printer.status(
                        "Attested",
                        &format!("{} (existing {})", dist.filename, file_names(&paths)),
                    );
                    Some(json)
                }
                Err(err) => {
                    printer.error("Invalid attestation", &err);
                    attestation_problems += 1;
                    None
                }
            }
        };
        items.push(UploadItem { dist, attestations });
    }
    if attestation_problems > 0 {
        return Ok(Outcome::InvalidArtifact);
    }

    // 3. Credentials, signing, upload.
    let options = UploadOptions {
        skip_existing: args.skip_existing,
        concurrency: usize::from(args.concurrency),
        ..UploadOptions::default()
    };
    let uploader = Uploader::new(context.http.clone(), index.clone(), options);
    let progress = Arc::new(UploadProgress::new(printer));
    let results = match auth {
        Auth::Token { username, password } => {
            printer.mask(password.expose());
            if args.run.dry_run {
                return Ok(plan(
                    &items,
                    &to_sign,
                    &index,
                    "an API token (not checked)",
                    printer,
                ));
            }
            let credentials = StaticCredentials { username, password };
            announce(&items, &index, printer);
            uploader
                .upload_all(items, &credentials, progress.clone())
                .await
        }
        Auth::Trusted => {
            let detector = context.detector();
            let session = Session::new(
                &detector,
                &exchange,
                args.run.event_policy(printer),
                printer as &dyn MaskSink,
            );
            // Mint before the first file so a refused exchange stops everything cleanly.
            session.credential().await?;
            printer.status(
                "Minted",
                &format!(
                    "a short-lived upload token from {} (trusted publishing)",
                    index.host()
                ),
            );
            if args.run.dry_run {
                finish(session, printer).await;
                printer.status("Revoked", "the minted token (dry run)");
                return Ok(plan(
                    &items,
                    &to_sign,
                    &index,
                    "trusted publishing (token minted and revoked)",
                    printer,
                ));
            }
            if let Some(config) = sigstore.as_ref().filter(|_| !to_sign.is_empty())
                && let Err(err) = sign(&mut items, &to_sign, context, config, printer).await
            {
                finish(session, printer).await;
                printer.error(err.title(), &err.to_string());
                printer.error(
                    "Nothing uploaded",
                    "an attestation could not be made for every file, so nothing was uploaded",
                );
                return Ok(err.outcome());
            }
            announce(&items, &index, printer);
            let results = uploader.upload_all(items, &session, progress.clone()).await;
            finish(session, printer).await;
            results
        }
    };
    progress.clear();
    Ok(report(&results, args.print_hash, printer))
}

fn announce(items: &[UploadItem], index: &PackageIndex, printer: &Printer) {
    printer.info(&format!(
        "Uploading {} file(s) to {}",
        items.len(),
        index.upload_url()
    ));
}

/// Burns every token the session minted; a failed revocation is a warning (they expire anyway).
async fn finish(session: Session<'_, PypiExchange>, printer: &Printer) {
    for failure in session.finish().await {
        printer.warning(
            "Token revocation failed",
            &format!(
                "{} ({}); it expires by itself within 15 minutes",
                failure.error, failure.scope
            ),
        );
    }
}

/// Signs a PEP 740 publish attestation for each dist in `to_sign`, writes it beside the dist
/// and attaches it to the upload. All or nothing: any failure stops the upload.
async fn sign(
    items: &mut [UploadItem],
    to_sign: &[usize],
    context: &Context,
    config: &SigstoreConfig,
    printer: &Printer,
) -> Result<(), CliError> {
    let signer = signing::signer(context, config, printer).await?;
    let mut jobs = Vec::new();
    for &i in to_sign {
        let dist = &items[i].dist;
        let digest = ArtifactDigest::sha256_hex(&dist.sha256)
            .map_err(|err| CliError::Internal(format!("{}: {err}", dist.filename)))?;
        jobs.push(SigningJob {
            subject: dist.filename.clone(),
            statement: attestation::publish_statement(&dist.filename, &dist.sha256),
            digest,
        });
    }
    let results = signer.sign_all(&jobs).await;
    let mut first_error = None;
    for (&i, result) in to_sign.iter().zip(results) {
        let item = &mut items[i];
        let outcome = result.map_err(CliError::from).and_then(|signed| {
            let converted = Attestation::from_bundle_json(&signed.bundle_json)
                .map_err(|err| CliError::Internal(format!("{}: {err}", item.dist.filename)))?;
            let path = attestation::write_attestation(&item.dist.path, &converted)
                .map_err(|err| CliError::Usage(err.to_string()))?;
            let log = signing::rekor_suffix(&signed.verified);
            printer.status(
                "Attested",
                &format!(
                    "{} → {} (signed and verified{log})",
                    item.dist.filename,
                    path.file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                ),
            );
            Ok(format!("[{}]", converted.to_json()))
        });
        match outcome {
            Ok(json) => item.attestations = Some(json),
            Err(err) => {
                if first_error.is_some() {
                    printer.error(err.title(), &err.to_string());
                } else {
                    first_error = Some(err);
                }
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Existing attestation files: each must be about this dist (subject name and SHA-256) and
/// verify against the trust root (whoever signed it: PyPI checks that against the publisher).
fn check_existing(
    dist: &Distribution,
    paths: &[PathBuf],
    trust: Option<&TrustRoot>,
) -> Result<String, String> {
    let json = attestation::load_existing(dist, paths).map_err(|err| err.to_string())?;
    let Some(trust) = trust else {
        return Ok(json);
    };
    let digest = ArtifactDigest::sha256_hex(&dist.sha256)?;
    for path in paths {
        let parsed = attestation::read_attestation(path).map_err(|err| err.to_string())?;
        verify_bundle(
            trust,
            &parsed.to_bundle_json(),
            &path.display().to_string(),
            &digest,
            &ExpectedIdentity::default(),
        )
        .map_err(|err| {
            format!("{err}. Remove the stale attestation (or rebuild it) before uploading")
        })?;
    }
    Ok(json)
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
fn plan(
    items: &[UploadItem],
    to_sign: &[usize],
    index: &PackageIndex,
    auth: &str,
    printer: &Printer,
) -> Outcome {
    let mut table = String::from(
        "## trustpub: PyPI upload (dry run)\n\n| File | Size | SHA-256 | Attestation |\n|---|---|---|---|\n",
    );
    printer.status(
        "Dry run",
        &format!(
            "{} file(s) would be uploaded to {} with {auth}",
            items.len(),
            index.upload_url()
        ),
    );
    for (i, item) in items.iter().enumerate() {
        let attestation = if to_sign.contains(&i) {
            "would be signed"
        } else if item.attestations.is_some() {
            "existing, checked"
        } else {
            "none"
        };
        printer.status(
            "Would upload",
            &format!(
                "{} ({})  sha256:{}  attestation: {attestation}",
                item.dist.filename,
                human_size(item.dist.size),
                item.dist.sha256
            ),
        );
        table.push_str(&format!(
            "| `{}` | {} | `{}` | {attestation} |\n",
            item.dist.filename,
            human_size(item.dist.size),
            item.dist.sha256
        ));
    }
    printer.summary(&table);
    printer.info("Dry run: nothing was signed or uploaded");
    Outcome::Success
}

fn resolve_auth(
    args: &PypiUploadArgs,
    context: &Context,
    index: &PackageIndex,
    printer: &Printer,
) -> Result<Auth, CliError> {
    let password = args
        .password
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| context.env.non_empty("PYPI_TOKEN").map(Secret::new));
    let Some(password) = password else {
        if args.user != "__token__" {
            return Err(CliError::Usage(format!(
                "--user {} was given without --password: trusted publishing always uploads as __token__; drop --user, or give the password",
                args.user
            )));
        }
        return Ok(Auth::Trusted);
    };
    if index.is_pypi_or_testpypi() && args.user != "__token__" {
        return Err(CliError::Usage(
            "password-based uploads are disabled on PyPI: use trusted publishing (no --password) or an API token with --user __token__".into(),
        ));
    }
    if index.is_pypi_or_testpypi() && !password.expose().starts_with("pypi-") {
        printer.warning(
            "Potentially invalid token",
            "the password does not start with `pypi-`, as PyPI API tokens do: check that it is the token itself",
        );
    }
    let mut advice = "an explicit password or token was given, so trusted publishing is off. Trusted publishing needs no stored secret: add a trusted publisher for this workflow and drop the token".to_owned();
    if let Some(github) = GithubContext::from_env(context.env.as_ref())
        && let (Some(repository), Some(workflow)) =
            (github.repository.as_deref(), github.workflow_filename())
    {
        let (owner, name) = repository.split_once('/').unwrap_or((repository, ""));
        if let Some(link) = index.publisher_settings_link("<project>", owner, name, workflow, None)
        {
            advice.push_str(&format!(" ({link})"));
        }
    }
    printer.warning("Upgrade to Trusted Publishing", &advice);
    Ok(Auth::Token {
        username: args.user.clone(),
        password,
    })
}

/// Attestations: on by default with trusted publishing to PyPI/TestPyPI; explicitly asked
/// for, they need trusted publishing (PyPI refuses them otherwise).
fn decide_attestations(
    args: &PypiUploadArgs,
    auth: &Auth,
    index: &PackageIndex,
    printer: &Printer,
) -> Result<bool, CliError> {
    let trusted = matches!(auth, Auth::Trusted);
    match args.attestations {
        Some(true) if !trusted => Err(CliError::Usage(
            "--attestations needs trusted publishing: PyPI accepts attestations only from a trusted publisher's upload (drop --password, or pass --attestations false)".into(),
        )),
        Some(value) => Ok(value),
        None if trusted && index.is_pypi_or_testpypi() => Ok(true),
        None => {
            if trusted {
                printer.info(&format!(
                    "Attestations are off by default for {} (not PyPI or TestPyPI); pass --attestations true if this index verifies PEP 740",
                    index.host()
                ));
            }
            Ok(false)
        }
    }
}

type Dists = (Collection, Vec<Distribution>);

async fn read_and_validate(
    args: &PypiUploadArgs,
    printer: &Printer,
) -> Result<Option<Dists>, CliError> {
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
        vec![args.packages_dir.clone()]
    } else {
        args.paths.clone()
    };
    let collection = match tokio::task::spawn_blocking(move || collect(&paths)).await {
        Ok(Ok(collection)) => collection,
        Ok(Err(err)) => {
            printer.error("Missing distributions", &err.to_string());
            return Ok(None);
        }
        Err(err) => {
            return Err(CliError::Internal(format!(
                "reading the distributions panicked: {err}"
            )));
        }
    };
    for ignored in &collection.ignored {
        printer.info(&format!("Ignoring {ignored}"));
    }
    // Reading is mostly I/O: more readers than cores keeps the disk busy.
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .max(4)
        * 2;
    let reads: Vec<Result<Distribution, Problem>> =
        futures_util::stream::iter(collection.dists.clone())
            .map(|path| async move {
                let file = path.display().to_string();
                match tokio::task::spawn_blocking(move || Distribution::read(&path)).await {
                    Ok(Ok(dist)) => Ok(dist),
                    Ok(Err(err)) => Err(Problem::from_read_error(&err)),
                    Err(err) => Err(Problem::error(
                        &file,
                        None,
                        format!("reading it failed unexpectedly: {err}"),
                    )),
                }
            })
            .buffered(workers)
            .collect()
            .await;
    let mut problems = Vec::new();
    let mut dists = Vec::new();
    for read in reads {
        match read {
            Ok(dist) => dists.push(dist),
            Err(problem) => problems.push(problem),
        }
    }
    problems.extend(validate(
        &dists,
        &ValidateOptions {
            verify_metadata: args.verify_metadata,
        },
    ));
    let errors = problems.iter().filter(|p| p.is_error()).count();
    for problem in &problems {
        match problem.severity {
            Severity::Error => printer.error("Invalid distribution", &problem.to_string()),
            Severity::Warning => printer.warning("Distribution check", &problem.to_string()),
            Severity::Note => printer.info(&format!("note: {problem}")),
        }
    }
    if errors > 0 {
        printer.error(
            "Nothing uploaded",
            &format!("{errors} problem(s) in the distributions: nothing was uploaded. Fix them and run again"),
        );
        return Ok(None);
    }
    for dist in &dists {
        printer.status(
            "Checked",
            &format!("{} ({})", dist.filename, human_size(dist.size)),
        );
    }
    Ok(Some((collection, dists)))
}

fn report(results: &[FileResult], print_hash: bool, printer: &Printer) -> Outcome {
    let mut table = String::from(
        "## trustpub: PyPI upload\n\n| File | Size | Result | SHA-256 |\n|---|---|---|---|\n",
    );
    let (mut done, mut failed) = (0, 0);
    for result in results {
        let hash = if print_hash {
            format!("  sha256:{}", result.sha256)
        } else {
            String::new()
        };
        let status = match &result.outcome {
            Ok(FileStatus::Uploaded) => {
                printer.status(
                    "Uploaded",
                    &format!("{} ({}){hash}", result.filename, human_size(result.size)),
                );
                "uploaded"
            }
            Ok(FileStatus::AlreadyPresent) => {
                printer.status(
                    "Present",
                    &format!(
                        "{} (the index already has this exact file){hash}",
                        result.filename
                    ),
                );
                "already present"
            }
            Ok(FileStatus::Skipped) => {
                printer.status(
                    "Skipped",
                    &format!("{} (exists with the same hash){hash}", result.filename),
                );
                "skipped (exists)"
            }
            Err(err) => {
                printer.error("Upload failed", &err.to_string());
                "**failed**"
            }
        };
        if result.outcome.is_ok() {
            done += 1
        } else {
            failed += 1
        }
        table.push_str(&format!(
            "| `{}` | {} | {status} | `{}` |\n",
            result.filename,
            human_size(result.size),
            result.sha256
        ));
    }
    printer.summary(&table);
    printer.info(&format!(
        "{done} file(s) published or already present, {failed} failed"
    ));
    Outcome::from_counts(done, failed)
}

/// `1.5 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
