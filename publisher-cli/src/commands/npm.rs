//! `trustpub npm publish`: read and check every tarball, then one exchange and one PUT per
//! package.

use std::path::PathBuf;

use futures_util::StreamExt;
use npm_exchange::package::{Access, PackageTarball, PublishDocument, PublishOptions};
use npm_exchange::provenance::{
    PackageVisibility, ProvenanceBundle, ProvenanceContext, ProvenanceStatement, ProvenanceSubject,
    check_provenance_preconditions, fetch_package_visibility,
};
use npm_exchange::{NpmExchange, NpmRegistry, PublishStatus, Publisher};
use oidc_core::ci::{EventPolicy, GithubContext, MaskSink};
use oidc_core::sigstore::{
    ArtifactDigest, ExpectedIdentity, KeylessSigner, SigningJob, SigstoreConfig, verify_bundle,
};
use oidc_core::{ObtainError, RetryPolicy, Secret, obtain};

use crate::cli::{AccessArg, NpmPublishArgs};
use crate::commands::pypi::human_size;
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;
use crate::signing;

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
    let registry =
        NpmRegistry::parse(&args.registry).map_err(|err| CliError::Usage(err.to_string()))?;
    let token = args
        .token
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| context.env.non_empty("NPM_TOKEN"))
        .map(Secret::new);
    if let Some(token) = &token {
        printer.mask(token.expose());
        printer.warning(
            "Upgrade to Trusted Publishing",
            "a registry token was given, so trusted publishing is off. Trusted publishing needs no stored secret: add a trusted publisher to each package and drop NPM_TOKEN / NODE_AUTH_TOKEN",
        );
    }

    let Some(packages) = read_and_check(args, &registry, printer).await? else {
        return Ok(Outcome::InvalidArtifact);
    };
    if args.provenance_file.is_some() && packages.len() > 1 {
        return Err(CliError::Usage(format!(
            "--provenance-file attaches one bundle to one package, and {} packages were given: publish them one at a time",
            packages.len()
        )));
    }
    let mode = ProvenanceMode::choose(args, token.is_some());
    let sigstore = match mode {
        ProvenanceMode::Off => None,
        _ => Some(signing::config(&args.run.sigstore)?),
    };
    let mut signer = None;

    let publisher = Publisher::new(
        context.http.clone(),
        registry.clone(),
        RetryPolicy::default(),
    );
    let detector = context.detector();
    let github = GithubContext::from_env(context.env.as_ref());
    let event_name = github.and_then(|g| g.event_name);
    let policy = EventPolicy {
        allow_pull_request: args.run.allow_pull_request,
    };
    let mut table = String::from(
        "## trustpub: npm publish\n\n| Package | Tag | Size | Result |\n|---|---|---|---|\n",
    );
    let (mut done, mut failed, mut refused) = (0, 0, 0);
    let mut planned = Vec::new();
    for (tarball, document) in packages {
        let label = format!("{}@{}", document.name(), document.version());
        let mut claims = None;
        let credential = match &token {
            Some(token) => token.clone(),
            None => {
                let exchange = NpmExchange::new(
                    context.http.clone(),
                    registry.clone(),
                    document.name().clone(),
                );
                match obtain(
                    &detector,
                    &exchange,
                    &policy,
                    event_name.as_deref(),
                    printer as &dyn MaskSink,
                )
                .await
                {
                    Ok(obtained) => {
                        printer.status(
                            "Exchanged",
                            &format!(
                                "an ID token for a publish token scoped to {}",
                                document.name()
                            ),
                        );
                        claims = Some(obtained.claims);
                        obtained.credential.secret
                    }
                    // A refusal is about this package's trusted publisher: the others may
                    // still go. No identity, or an event that may not publish, stops it all.
                    Err(ObtainError::Exchange(err)) => {
                        printer.error("Trusted publishing exchange failure", &err.to_string());
                        failed += 1;
                        refused += 1;
                        table.push_str(&format!(
                            "| `{label}` | {} | {} | **exchange refused** |\n",
                            document.tag(),
                            human_size(tarball.size())
                        ));
                        continue;
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        };
        let visibility = match mode {
            ProvenanceMode::Auto | ProvenanceMode::Required => {
                package_visibility(context, &registry, &document, &credential).await
            }
            ProvenanceMode::Off | ProvenanceMode::File => Ok(PackageVisibility::NotChecked),
        };
        let provenance = match provenance_for(
            mode,
            args.provenance_file.as_deref(),
            (&tarball, &document),
            JobFacts {
                visibility,
                claims: claims.as_ref(),
            },
            context,
            sigstore.as_ref(),
            printer,
        )
        .await
        {
            Ok(provenance) => provenance,
            Err(err) => {
                printer.error(err.title(), &format!("{label}: {err}"));
                failed += 1;
                table.push_str(&format!(
                    "| `{label}` | {} | {} | **no provenance** |\n",
                    document.tag(),
                    human_size(tarball.size())
                ));
                continue;
            }
        };
        if args.run.dry_run {
            let what = match &provenance {
                Provenance::None => "no provenance".to_owned(),
                Provenance::Sign(_) => "provenance would be signed".to_owned(),
                Provenance::Bundle(_) => "the given provenance bundle (checked)".to_owned(),
            };
            printer.status(
                "Would publish",
                &format!(
                    "{label} ({}) to {} with tag `{}`, {what}  {}",
                    human_size(tarball.size()),
                    registry.host(),
                    document.tag(),
                    tarball.integrity()
                ),
            );
            planned.push(format!(
                "| `{label}` | {} | {} | would publish ({what}) |\n",
                document.tag(),
                human_size(tarball.size())
            ));
            done += 1;
            continue;
        }
        let document = match attach(
            provenance,
            document,
            &tarball,
            &mut signer,
            sigstore.as_ref(),
            context,
            printer,
        )
        .await
        {
            Ok(document) => document,
            Err(err) => {
                printer.error(err.title(), &format!("{label}: {err}"));
                failed += 1;
                table.push_str(&format!(
                    "| `{label}` | {} | {} | **provenance failed, not published** |\n",
                    "-",
                    human_size(tarball.size())
                ));
                continue;
            }
        };
        printer.status(
            "Publishing",
            &format!(
                "{label} ({}) to {} with tag `{}`",
                human_size(tarball.size()),
                registry.host(),
                document.tag()
            ),
        );
        let result = publisher
            .publish(&document, &tarball.integrity(), &credential)
            .await;
        let status = match result {
            Ok(PublishStatus::Published) => {
                printer.status("Published", &format!("{label}  {}", tarball.integrity()));
                done += 1;
                "published"
            }
            Ok(PublishStatus::AlreadyPublished) => {
                printer.status(
                    "Present",
                    &format!("{label} (the registry already has this exact version)"),
                );
                done += 1;
                "already published"
            }
            Err(err) => {
                printer.error("Publish failed", &err.to_string());
                failed += 1;
                "**failed**"
            }
        };
        table.push_str(&format!(
            "| `{label}` | {} | {} | {status} |\n",
            document.tag(),
            human_size(tarball.size())
        ));
    }
    if args.run.dry_run {
        let mut plan = String::from(
            "## trustpub: npm publish (dry run)\n\n| Package | Tag | Size | Plan |\n|---|---|---|---|\n",
        );
        plan.extend(planned);
        plan.push_str(
            &table
                .lines()
                .skip(4)
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
        );
        printer.summary(&plan);
        printer.info(&format!(
            "Dry run: {done} package(s) would be published, {failed} would fail; nothing was signed or published"
        ));
        return Ok(if done == 0 && refused > 0 && refused == failed {
            Outcome::Identity
        } else if failed > 0 {
            Outcome::UploadFailed
        } else {
            Outcome::Success
        });
    }
    printer.summary(&table);
    printer.info(&format!(
        "{done} package(s) published or already present, {failed} failed"
    ));
    Ok(if done == 0 && refused > 0 && refused == failed {
        Outcome::Identity
    } else {
        Outcome::from_counts(done, failed)
    })
}

/// Whether and how provenance goes with the packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProvenanceMode {
    /// None.
    Off,
    /// When npm's conditions hold (the default with trusted publishing); a notice otherwise.
    Auto,
    /// Always (`--provenance`): an unmet condition is an error.
    Required,
    /// Attach `--provenance-file`.
    File,
}

impl ProvenanceMode {
    fn choose(args: &NpmPublishArgs, with_token: bool) -> Self {
        if args.provenance_file.is_some() {
            Self::File
        } else if args.no_provenance {
            Self::Off
        } else if args.provenance {
            Self::Required
        } else if with_token {
            Self::Off
        } else {
            Self::Auto
        }
    }
}

/// The provenance decided for one package.
enum Provenance {
    None,
    /// Sign this statement.
    Sign(ProvenanceStatement),
    /// Attach this checked bundle JSON.
    Bundle(String),
}

/// What npm's provenance conditions are judged on, besides the package itself.
struct JobFacts<'a> {
    /// Whether the package is public on the registry (or why that is unknown).
    visibility: Result<PackageVisibility, String>,
    /// The job's ID-token claims, when an exchange fetched a token.
    claims: Option<&'a oidc_core::Claims>,
}

/// Decides one package's provenance: npm's preconditions for a new statement (checked before
/// any signing), or the subject and signatures of a given bundle.
async fn provenance_for(
    mode: ProvenanceMode,
    file: Option<&std::path::Path>,
    package: (&PackageTarball, &PublishDocument),
    facts: JobFacts<'_>,
    context: &Context,
    sigstore: Option<&SigstoreConfig>,
    printer: &Printer,
) -> Result<Provenance, CliError> {
    let (tarball, document) = package;
    let JobFacts { visibility, claims } = facts;
    let subject = ProvenanceSubject::for_tarball(tarball);
    match (mode, file, sigstore) {
        (ProvenanceMode::File, Some(path), Some(config)) => {
            let bundle = ProvenanceBundle::read(path, &subject)
                .await
                .map_err(|err| CliError::Usage(err.to_string()))?;
            let trust = signing::trust_root(config)?;
            let digest = ArtifactDigest::Sha512(*tarball.sha512());
            let verified = verify_bundle(
                &trust,
                bundle.json(),
                &path.display().to_string(),
                &digest,
                &ExpectedIdentity::default(),
            )?;
            printer.status(
                "Checked",
                &format!(
                    "{} (provenance for {} signed by {})",
                    path.display(),
                    subject.name(),
                    verified
                        .claims
                        .identity
                        .as_deref()
                        .unwrap_or("an unknown identity")
                ),
            );
            Ok(Provenance::Bundle(bundle.into_json()))
        }
        (ProvenanceMode::Auto | ProvenanceMode::Required, _, _) => {
            let package = match visibility {
                Ok(visibility) => visibility,
                Err(reason) if mode == ProvenanceMode::Auto => {
                    printer.warning(
                        "No provenance",
                        &format!("{}@{}: {reason}", document.name(), document.version()),
                    );
                    return Ok(Provenance::None);
                }
                Err(reason) => return Err(CliError::Usage(reason)),
            };
            let ci = ProvenanceContext {
                env: context.env.as_ref(),
                claims,
                package,
            };
            match check_provenance_preconditions(tarball.manifest(), &ci) {
                Ok(build) => Ok(Provenance::Sign(ProvenanceStatement::new(&build, &subject))),
                Err(refusal) if mode == ProvenanceMode::Auto => {
                    printer.info(&format!(
                        "No provenance for {}@{}: {refusal} (pass --provenance to make this an error)",
                        document.name(),
                        document.version()
                    ));
                    Ok(Provenance::None)
                }
                Err(refusal) => Err(CliError::Usage(refusal.to_string())),
            }
        }
        _ => Ok(Provenance::None),
    }
}

/// Whether the package is public, as npm decides before signing provenance: an unscoped package
/// or `access: public` is; otherwise the registry's visibility route answers.
async fn package_visibility(
    context: &Context,
    registry: &NpmRegistry,
    document: &PublishDocument,
    credential: &Secret,
) -> Result<PackageVisibility, String> {
    if document.access() == Some(Access::Public) || document.name().scope().is_none() {
        return Ok(PackageVisibility::AccessPublic);
    }
    fetch_package_visibility(&context.http, registry, document.name(), credential)
        .await
        .map_err(|err| err.to_string())
}

/// Signs the statement (or takes the given bundle) and attaches it to the document. A signed
/// bundle is also written beside the tarball as `<tarball>.sigstore.json`, for `trustpub
/// verify` and for release assets.
async fn attach(
    provenance: Provenance,
    document: PublishDocument,
    tarball: &PackageTarball,
    signer: &mut Option<KeylessSigner>,
    sigstore: Option<&SigstoreConfig>,
    context: &Context,
    printer: &Printer,
) -> Result<PublishDocument, CliError> {
    let bundle_json = match (provenance, sigstore) {
        (Provenance::None, _) => return Ok(document),
        (Provenance::Bundle(json), _) => json,
        (Provenance::Sign(statement), Some(config)) => {
            if signer.is_none() {
                *signer = Some(signing::signer(context, config, printer).await?);
            }
            let Some(signer) = signer.as_ref() else {
                return Err(CliError::Internal("the signer was not created".into()));
            };
            let label = format!("{}@{}", document.name(), document.version());
            let signed = signer
                .sign(&SigningJob {
                    subject: label.clone(),
                    statement: statement.as_bytes().to_vec(),
                    digest: ArtifactDigest::Sha512(*tarball.sha512()),
                })
                .await?;
            let path = bundle_path(tarball.path());
            // The bundle is ours (signed just now): an older one of an earlier run is replaced,
            // and said so; a symlink at its name is refused.
            let written = oidc_core::fs::write_new_atomic(
                &path,
                signed.bundle_json.as_bytes(),
                oidc_core::fs::Existing::Replace,
            )
            .map_err(|err| CliError::Usage(format!("cannot keep the provenance bundle: {err}")))?;
            if written == oidc_core::fs::Written::Replaced {
                printer.info(&format!(
                    "replaced the provenance bundle of an earlier run: {}",
                    path.display()
                ));
            }
            let log = signing::rekor_suffix(&signed.verified);
            printer.status(
                "Provenance",
                &format!(
                    "{label}: SLSA provenance signed and verified{log} → {}",
                    path.display()
                ),
            );
            signed.bundle_json
        }
        (Provenance::Sign(_), None) => {
            return Err(CliError::Internal(
                "provenance to sign without a Sigstore configuration".into(),
            ));
        }
    };
    document
        .with_provenance_bundle(bundle_json)
        .map_err(|err| CliError::Internal(err.to_string()))
}

/// `<tarball>.sigstore.json`: where a signed provenance bundle is kept beside its tarball.
pub fn bundle_path(tarball: &std::path::Path) -> PathBuf {
    let mut name = tarball.as_os_str().to_owned();
    name.push(".sigstore.json");
    PathBuf::from(name)
}

async fn read_and_check(
    args: &NpmPublishArgs,
    registry: &NpmRegistry,
    printer: &Printer,
) -> Result<Option<Vec<(PackageTarball, PublishDocument)>>, CliError> {
    let paths = match find_tarballs(&args.paths) {
        Ok(paths) => paths,
        Err(message) => {
            printer.error("Missing tarballs", &message);
            return Ok(None);
        }
    };
    let reads: Vec<_> = futures_util::stream::iter(paths)
        .map(|path| async move {
            tokio::task::spawn_blocking(move || PackageTarball::read(&path)).await
        })
        .buffered(4)
        .collect()
        .await;
    let access = args.access.map(|a| match a {
        AccessArg::Public => Access::Public,
        AccessArg::Restricted => Access::Restricted,
    });
    let options = PublishOptions {
        registry: registry.url(),
        tag: args.tag.as_deref(),
        access,
    };
    let mut packages = Vec::new();
    let mut problems = 0;
    for read in reads {
        let tarball = match read {
            Ok(Ok(tarball)) => tarball,
            Ok(Err(err)) => {
                printer.error("Invalid package", &err.to_string());
                problems += 1;
                continue;
            }
            Err(err) => {
                return Err(CliError::Internal(format!(
                    "reading a tarball panicked: {err}"
                )));
            }
        };
        match PublishDocument::new(&tarball, &options) {
            Ok(document) => {
                printer.status(
                    "Checked",
                    &format!(
                        "{}@{} ({})",
                        document.name(),
                        document.version(),
                        tarball.path().display()
                    ),
                );
                packages.push((tarball, document));
            }
            Err(refused) => {
                for problem in &refused.problems {
                    let hint = problem
                        .hint()
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default();
                    printer.error(
                        "Invalid package",
                        &format!("{}: {problem}{hint}", refused.package),
                    );
                    problems += 1;
                }
            }
        }
    }
    if problems > 0 {
        printer.error(
            "Nothing published",
            &format!("{problems} problem(s) in the packages: nothing was published"),
        );
        return Ok(None);
    }
    Ok(Some(packages))
}

/// The tarballs named, or found (`*.tgz`) in the directories named; `.` by default.
fn find_tarballs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let mut found = Vec::new();
    for path in &paths {
        if path.is_dir() {
            let entries = fs_err::read_dir(path).map_err(|err| err.to_string())?;
            let mut tgz: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "tgz"))
                .collect();
            tgz.sort();
            found.extend(tgz);
        } else {
            found.push(path.clone());
        }
    }
    if found.is_empty() {
        return Err(format!(
            "no package tarballs (*.tgz) in {}: run `npm pack` first, or name the tarballs",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(found)
}
