//! `trustpub npm publish`: read and check every tarball, then one exchange and one PUT per
//! package.

use std::path::PathBuf;

use futures_util::StreamExt;
use npm_exchange::package::{Access, PackageTarball, PublishDocument, PublishOptions};
use npm_exchange::{NpmExchange, NpmRegistry, PublishStatus, Publisher};
use oidc_core::ci::{EventPolicy, GithubContext, MaskSink};
use oidc_core::{ObtainError, RetryPolicy, Secret, obtain};

use crate::cli::{AccessArg, NpmPublishArgs};
use crate::commands::pypi::human_size;
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// Runs `trustpub npm publish`.
pub async fn publish(
    args: &NpmPublishArgs,
    context: &Context,
    printer: &Printer,
) -> Result<Outcome, CliError> {
    if args.provenance && !args.no_provenance {
        return Err(CliError::Usage(
            "--provenance needs Sigstore signing, which this build of trustpub does not have yet: pass --no-provenance (or leave both out) to publish without it".into(),
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

    let publisher = Publisher::new(
        context.http.clone(),
        registry.clone(),
        RetryPolicy::default(),
    );
    let detector = context.detector();
    let github = GithubContext::from_env(context.env.as_ref());
    let event_name = github.and_then(|g| g.event_name);
    let policy = EventPolicy {
        allow_pull_request: args.allow_pull_request,
    };
    let mut table = String::from(
        "## trustpub: npm publish\n\n| Package | Tag | Size | Result |\n|---|---|---|---|\n",
    );
    let (mut done, mut failed, mut refused) = (0, 0, 0);
    for (tarball, document) in &packages {
        let label = format!("{}@{}", document.name(), document.version());
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
            .publish(document, &tarball.integrity(), &credential)
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
