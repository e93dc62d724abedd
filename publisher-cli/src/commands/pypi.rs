//! `trustpub pypi upload`: read, validate, authenticate, upload, report.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use oidc_core::ci::{GithubContext, MaskSink};
use oidc_core::claims::Claims;
use oidc_core::sigstore::{
    ArtifactDigest, CertificateClaims, ExpectedIdentity, SigningJob, SigstoreConfig, TrustRoot,
    verify_bundle,
};
use oidc_core::{Secret, Session};
use pypi_exchange::api_token::{TokenShape, check_token_shape};
use pypi_exchange::attestation::{self, Attestation};
use pypi_exchange::dist::{
    Collection, Distribution, Problem, Severity, ValidateOptions, collect, normalize_name, validate,
};
use pypi_exchange::index::PYPI_UPLOAD_URL;
use pypi_exchange::pypirc::Pypirc;
use pypi_exchange::upload::{
    FileResult, FileStatus, SkipExisting, StaticCredentials, UploadError, UploadItem,
    UploadOptions, Uploader,
};
use pypi_exchange::{PackageIndex, PypiExchange};

use crate::cli::{PypiUploadArgs, SkipExistingArg};
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
    let target = resolve_target(args, context)?;
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
    let auth = resolve_auth(args, context, &index, target, printer)?;
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
    if let Auth::Token { .. } = auth {
        upgrade_nudge(&dists, context, &index, printer);
    }
    if args.print_hash {
        print_hashes(&dists, printer).await?;
    }

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
    let mut existing_signers: Vec<(usize, Vec<(PathBuf, CertificateClaims)>)> = Vec::new();
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
                Ok((json, signers)) => {
                    printer.status(
                        "Attested",
                        &format!("{} (existing {})", dist.filename, file_names(&paths)),
                    );
                    existing_signers.push((items.len(), signers));
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
        skip_existing: match args.skip_existing {
            SkipExistingArg::Off => SkipExisting::Off,
            SkipExistingArg::On => SkipExisting::Skip,
            SkipExistingArg::Strict => SkipExisting::Strict,
        },
        concurrency: usize::from(args.concurrency),
        simple_url,
        ..UploadOptions::default()
    };
    let uploader = Uploader::new(context.http.clone(), index.clone(), options);
    let progress = Arc::new(UploadProgress::new(printer));
    let results = match auth {
        Auth::Token { username, password } => {
            if args.run.dry_run {
                return Ok(plan(
                    &items,
                    &to_sign,
                    &index,
                    "an API token (not checked)",
                    args,
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
            let obtained = session.credential().await?;
            printer.status(
                "Minted",
                &format!(
                    "a short-lived upload token from {} (trusted publishing)",
                    index.host()
                ),
            );
            if let Some(warning) =
                pypi_exchange::explain::reusable_workflow_warning(&obtained.claims)
            {
                printer.warning("Potential workflow misconfiguration", &warning);
            }
            // Attestations made by another workflow verify, but PyPI checks them against this
            // job's publisher and would refuse the upload: sign new ones.
            if sigstore.is_some() {
                for (i, signers) in &existing_signers {
                    if let Some((path, reason)) = foreign_signer(signers, &obtained.claims) {
                        printer.warning(
                            "Attestation re-signed",
                            &format!(
                                "{}: {reason}; PyPI checks attestations against this job's trusted publisher, so a new one replaces it",
                                items[*i].dist.filename
                            ),
                        );
                        if let Err(err) = fs_err::remove_file(&path) {
                            finish(session, printer).await;
                            return Err(CliError::Usage(format!(
                                "{err}: remove the attestation made by another workflow, then run again"
                            )));
                        }
                        items[*i].attestations = None;
                        to_sign.push(*i);
                    }
                }
            }
            if args.run.dry_run {
                finish(session, printer).await;
                printer.status("Revoked", "the minted token (dry run)");
                return Ok(plan(
                    &items,
                    &to_sign,
                    &index,
                    "trusted publishing (token minted and revoked)",
                    args,
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
/// verify against the trust root. Who signed each is returned, to be compared with this job's
/// identity once it is known ([`foreign_signer`]).
fn check_existing(
    dist: &Distribution,
    paths: &[PathBuf],
    trust: Option<&TrustRoot>,
) -> Result<(String, Vec<(PathBuf, CertificateClaims)>), String> {
    let json = attestation::load_existing(dist, paths).map_err(|err| err.to_string())?;
    let Some(trust) = trust else {
        return Ok((json, Vec::new()));
    };
    let digest = ArtifactDigest::sha256_hex(&dist.sha256)?;
    let mut signers = Vec::new();
    for path in paths {
        let parsed = attestation::read_attestation(path).map_err(|err| err.to_string())?;
        let verified = verify_bundle(
            trust,
            &parsed.to_bundle_json(),
            &path.display().to_string(),
            &digest,
            &ExpectedIdentity::default(),
        )
        .map_err(|err| {
            format!("{err}. Remove the stale attestation (or rebuild it) before uploading")
        })?;
        signers.push((path.clone(), verified.claims));
    }
    Ok((json, signers))
}

/// Why an existing attestation would not pass PyPI's publisher check for this job (which
/// compares the certificate's source repository and workflow with the publisher's), if so.
fn foreign_signer(
    signers: &[(PathBuf, CertificateClaims)],
    claims: &Claims,
) -> Option<(PathBuf, String)> {
    let repository = claims.github.repository.clone()?;
    let workflow = claims
        .github
        .job_workflow_ref
        .as_deref()
        .and_then(oidc_core::ci::workflow_filename)
        .map(str::to_owned);
    let expected = ExpectedIdentity {
        repository: Some(repository),
        workflow,
        ..ExpectedIdentity::default()
    };
    signers.iter().find_map(|(path, signer)| {
        expected.check(signer).err().map(|mismatch| {
            let reason = format!(
                "the existing {} does not match this job: {mismatch}",
                path.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            );
            (path.clone(), reason)
        })
    })
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
    args: &PypiUploadArgs,
    printer: &Printer,
) -> Outcome {
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

/// Where to upload and the credentials that come with it, before flags and variables.
struct Target {
    upload_url: String,
    username: Option<String>,
    password: Option<Secret>,
    /// ` (from the `NAME` section of FILE)`, for messages.
    source: String,
}

/// The upload URL, as twine finds it: `--repository-url` (or `TWINE_REPOSITORY_URL`) wins and
/// brings no credentials; otherwise `--repository NAME` (or `TWINE_REPOSITORY`) from the
/// `.pypirc`. Unlike twine, the `.pypirc` is read only when `--repository` or
/// `--config-file` asks for it: a stale `~/.pypirc` on a runner must not turn trusted
/// publishing off by itself.
fn resolve_target(args: &PypiUploadArgs, context: &Context) -> Result<Target, CliError> {
    if let Some(url) = args.repository_url.as_deref().filter(|u| !u.is_empty()) {
        return Ok(Target {
            upload_url: url.to_owned(),
            username: None,
            password: None,
            source: String::new(),
        });
    }
    if args.repository.is_none() && args.config_file.is_none() {
        return Ok(Target {
            upload_url: PYPI_UPLOAD_URL.to_owned(),
            username: None,
            password: None,
            source: String::new(),
        });
    }
    let name = args.repository.as_deref().unwrap_or("pypi");
    let (path, required) = match &args.config_file {
        Some(path) => (path.clone(), true),
        None => match context.env.non_empty("HOME") {
            Some(home) => (PathBuf::from(home).join(".pypirc"), false),
            None => {
                return Err(CliError::Usage(format!(
                    "--repository {name}: HOME is not set, so there is no ~/.pypirc; pass --config-file"
                )));
            }
        },
    };
    let rc = Pypirc::load(&path, required).map_err(|err| CliError::Usage(err.to_string()))?;
    let repository = rc
        .repository(name)
        .map_err(|err| CliError::Usage(err.to_string()))?;
    Ok(Target {
        upload_url: repository.repository.unwrap_or_default(),
        username: repository.username,
        password: repository.password,
        source: format!(" (from the `{name}` section of {})", path.display()),
    })
}

fn resolve_auth(
    args: &PypiUploadArgs,
    context: &Context,
    index: &PackageIndex,
    target: Target,
    printer: &Printer,
) -> Result<Auth, CliError> {
    // Flags and environment variables win over the .pypirc, as in twine.
    let user = args
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .or(target.username)
        .unwrap_or_else(|| "__token__".to_owned());
    let password = args
        .password
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| context.env.non_empty("PYPI_TOKEN").map(Secret::new))
        .or(target.password.filter(|p| !p.expose().is_empty()));
    let Some(password) = password else {
        if user != "__token__" {
            return Err(CliError::Usage(format!(
                "--user {user} was given without --password: trusted publishing always uploads as __token__; drop --user, or give the password"
            )));
        }
        return Ok(Auth::Trusted);
    };
    printer.mask(password.expose());
    if index.is_pypi_or_testpypi() && user != "__token__" {
        return Err(CliError::Usage(
            "password-based uploads are disabled on PyPI: use trusted publishing (no --password) or an API token with --user __token__".into(),
        ));
    }
    // The token checks apply to every index (as gh-action-pypi-publish's do).
    match check_token_shape(password.expose()) {
        TokenShape::Damaged(problem) => return Err(CliError::Usage(problem)),
        TokenShape::Unusual(problem) => printer.warning("Potentially invalid token", &problem),
        TokenShape::NotPypi if user == "__token__" => printer.warning(
            "Potentially invalid token",
            "the username is __token__ but the password does not start with `pypi-`, as PyPI API tokens do: check that it is the token itself",
        ),
        TokenShape::NotPypi | TokenShape::Plausible => {}
    }
    Ok(Auth::Token {
        username: user,
        password,
    })
}

/// gh-action-pypi-publish's "Upgrade to Trusted Publishing" nudge, on PyPI and TestPyPI only,
/// with a pre-filled publisher form per project.
fn upgrade_nudge(
    dists: &[Distribution],
    context: &Context,
    index: &PackageIndex,
    printer: &Printer,
) {
    if !index.is_pypi_or_testpypi() {
        return;
    }
    let mut advice = "an explicit password or token was given, so trusted publishing is off. Trusted publishing needs no stored secret: add a trusted publisher for this workflow and drop the token".to_owned();
    let mut projects: Vec<String> = dists
        .iter()
        .filter_map(|d| d.metadata.name.as_deref().map(normalize_name))
        .collect();
    projects.sort();
    projects.dedup();
    if let Some(github) = GithubContext::from_env(context.env.as_ref())
        && let (Some(repository), Some(workflow)) =
            (github.repository.as_deref(), github.workflow_filename())
    {
        let (owner, name) = repository.split_once('/').unwrap_or((repository, ""));
        let links: Vec<String> = projects
            .iter()
            .filter_map(|project| {
                index.publisher_settings_link(project, owner, name, workflow, None)
            })
            .collect();
        if !links.is_empty() {
            advice.push_str(&format!(": {}", links.join(" , ")));
        }
    }
    printer.warning("Upgrade to Trusted Publishing", &advice);
}

/// `--print-hash`: what gh-action-pypi-publish's `print-hash.py` shows, before the upload.
async fn print_hashes(dists: &[Distribution], printer: &Printer) -> Result<(), CliError> {
    printer.info("Showing hash values of files to be uploaded:");
    for dist in dists {
        let owned = dist.clone();
        let digests =
            tokio::task::spawn_blocking(move || pypi_exchange::digests::file_digests(&owned))
                .await
                .map_err(|err| CliError::Internal(format!("hashing panicked: {err}")))?
                .map_err(|err| CliError::Usage(format!("{}: {err}", dist.path.display())))?;
        printer.info(&format!(
            "{}
  SHA256: {}
  MD5: {}
  BLAKE2-256: {}",
            dist.path.display(),
            digests.sha256,
            digests.md5,
            digests.blake2_256
        ));
    }
    Ok(())
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
    let (mut uploaded, mut present, mut skipped, mut failed) = (0, 0, 0, 0);
    let mut not_tried = Vec::new();
    for result in results {
        let hash = if print_hash {
            format!("  sha256:{}", result.sha256)
        } else {
            String::new()
        };
        let status = match &result.outcome {
            Ok(FileStatus::Uploaded) => {
                uploaded += 1;
                printer.status(
                    "Uploaded",
                    &format!("{} ({}){hash}", result.filename, human_size(result.size)),
                );
                "uploaded"
            }
            Ok(FileStatus::AlreadyPresent) => {
                present += 1;
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
                skipped += 1;
                printer.status(
                    "Skipped",
                    &format!("{} (exists with the same hash){hash}", result.filename),
                );
                "skipped (exists)"
            }
            Ok(FileStatus::SkippedDifferent { remote_sha256 }) => {
                skipped += 1;
                let there = remote_sha256.as_deref().map_or_else(
                    || "the index did not list its hash".to_owned(),
                    |remote| format!("sha256 {remote} there"),
                );
                printer.warning(
                    "Skipped a different file",
                    &format!(
                        "{}: the index already has a file with this name but other bytes ({there}, sha256 {} here); it was skipped (--skip-existing), so the index keeps its file. Pass --skip-existing=strict to make this an error",
                        result.filename, result.sha256
                    ),
                );
                "**skipped: different file exists**"
            }
            Err(UploadError::NotAttempted { filename, .. }) => {
                failed += 1;
                not_tried.push(filename.clone());
                "not tried"
            }
            Err(err) => {
                failed += 1;
                printer.error("Upload failed", &err.to_string());
                "**failed**"
            }
        };
        table.push_str(&format!(
            "| `{}` | {} | {status} | `{}` |\n",
            result.filename,
            human_size(result.size),
            result.sha256
        ));
    }
    if !not_tried.is_empty() {
        printer.error(
            "Upload stopped",
            &format!(
                "the index refused the credentials, so {} other file(s) were not tried: {}",
                not_tried.len(),
                not_tried.join(", ")
            ),
        );
    }
    printer.summary(&table);
    printer.info(&format!(
        "{uploaded} uploaded, {present} already present, {skipped} skipped, {failed} failed"
    ));
    Outcome::from_counts(uploaded + present + skipped, failed)
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
