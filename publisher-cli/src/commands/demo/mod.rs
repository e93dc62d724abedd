//! `trustpub demo`: the whole flow against the in-process testbed.

mod samples;

use std::sync::Arc;

use oidc_core::jwks::{self, VerifyOptions};
use oidc_core::{Environment, MapEnv, TokenRequest};
use testbed::{GithubIdentity, NpmPublisher, PypiPublisher, Testbed, TestbedConfig};

use crate::cli::{
    DemoArgs, NpmPublishArgs, PublishRunArgs, PypiUploadArgs, SigstoreArgs, VerifyArgs,
};
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// Runs `trustpub demo`.
pub async fn run(args: &DemoArgs, printer: &Printer) -> Result<Outcome, CliError> {
    printer.info(
        "Starting the testbed: a simulated GitHub Actions OIDC issuer, PyPI and npm registry on 127.0.0.1 …",
    );
    let testbed = Testbed::start(TestbedConfig::default())
        .await
        .map_err(|err| CliError::Testbed(err.to_string()))?;
    let identity = testbed.identity();
    let (owner, repo) = identity
        .repository
        .split_once('/')
        .unwrap_or((&identity.repository, ""));
    printer.info(&format!(
        "  issuer  {}\n  pypi    {}\n  npm     {}\n  job     {} · workflow {} · ref {} · event {}",
        testbed.issuer_url(),
        testbed.pypi_upload_url(),
        testbed.npm_registry_url(),
        identity.repository,
        identity.workflow_file,
        identity.git_ref,
        identity.event_name,
    ));
    // The simulated job's environment: the CLI's own process environment is left alone.
    let env: Arc<dyn Environment> = Arc::new(MapEnv::new().with_all(testbed.github_env()));
    let context = Context::new(env, Vec::new())?;

    printer.info("\n1. Identity: asking the CI for an ID token with audience `pypi`");
    let ambient = context
        .detector()
        .detect(&TokenRequest::new("pypi"))
        .await?;
    for line in super::token::summary_lines(&ambient) {
        printer.data(&format!("   {line}"));
    }
    let jwks =
        jwks::parse_jwks(testbed.jwks()).map_err(|err| CliError::Testbed(err.to_string()))?;
    jwks::verify(
        &ambient.token,
        &jwks,
        &VerifyOptions {
            audience: "pypi".into(),
            issuer: ambient.claims.iss.clone().unwrap_or_default(),
            leeway_seconds: 30,
        },
    )
    .map_err(|err| CliError::Testbed(err.to_string()))?;
    printer.status(
        "Verified",
        "the token's RS256 signature against the issuer's JWKS",
    );

    printer.info(&format!(
        "\n2. PyPI: a trusted publisher for `{}` (owner {owner}, repository {repo}, workflow {}), then `trustpub pypi upload`",
        samples::PROJECT, identity.workflow_file
    ));
    testbed.add_pypi_publisher(
        samples::PROJECT,
        PypiPublisher::new(
            owner,
            repo,
            identity.repository_owner_id,
            &identity.workflow_file,
        ),
    );
    let workdir = tempfile::tempdir().map_err(|err| CliError::Internal(err.to_string()))?;
    let dist = workdir.path().join("dist");
    samples::write_python_dists(&dist, samples::PROJECT, "1.0.0")
        .map_err(|err| CliError::Internal(format!("cannot write the sample dists: {err}")))?;
    let upload = upload_args(&testbed, dist.clone());
    let outcome = super::pypi::upload(&upload, &context, printer).await?;
    if outcome != Outcome::Success {
        return Ok(outcome);
    }
    let records = testbed.records();
    printer.status(
        "Index",
        &format!(
            "{} now lists {}; {} token(s) minted, {} burned",
            samples::PROJECT,
            testbed
                .pypi_files(samples::PROJECT)
                .iter()
                .map(|f| f.filename.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            records.mints.iter().filter(|m| m.errors.is_empty()).count(),
            records.burns.len(),
        ),
    );
    printer.info(
        "   Verifying the PEP 740 attestations as a consumer would (`trustpub verify`), for the expected repository and workflow, then for the wrong repository:",
    );
    let dists: Vec<std::path::PathBuf> = fs_err::read_dir(&dist)
        .map_err(|err| CliError::Internal(err.to_string()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| !path.to_string_lossy().ends_with(".attestation"))
        .collect();
    verify_demo(&testbed, dists, printer).await?;
    printer.info("   Uploading the same files again: PyPI answers an identical re-upload with 200, so a re-run after a partial failure finishes the job:");
    let again = super::pypi::upload(&upload, &context, printer).await?;
    if again != Outcome::Success {
        return Ok(again);
    }

    printer.info(&format!(
        "\n3. npm: a trusted publisher for `{}` (repository {}, workflow {}), then `trustpub npm publish`",
        samples::NPM_PACKAGE, identity.repository, identity.workflow_file
    ));
    testbed.add_npm_publisher(
        samples::NPM_PACKAGE,
        NpmPublisher::github(&identity.repository, &identity.workflow_file),
    );
    let tarball =
        samples::write_npm_tarball(&workdir.path().join("npm"), &identity.repository, "1.0.0")
            .map_err(|err| CliError::Internal(format!("cannot write the sample tarball: {err}")))?;
    let npm = NpmPublishArgs {
        paths: vec![tarball],
        registry: Some(testbed.npm_registry_url().to_string()),
        tag: None,
        access: None,
        provenance: true,
        no_provenance: false,
        provenance_file: None,
        token: None,
        no_trusted_publishing: false,
        concurrency: 4,
        token_stdin: false,
        run: PublishRunArgs {
            allow_pull_request: false,
            dry_run: false,
            sigstore: sigstore_args(&testbed),
        },
    };
    let outcome = super::npm::publish(&npm, &context, printer).await?;
    if outcome != Outcome::Success {
        return Ok(outcome);
    }
    printer.info("   Verifying the provenance bundle against the tarball:");
    verify_demo(&testbed, vec![npm.paths[0].clone()], printer).await?;
    printer.status(
        "Registry",
        &format!(
            "{} now has version(s) {}",
            samples::NPM_PACKAGE,
            testbed
                .npm_versions(samples::NPM_PACKAGE)
                .iter()
                .map(|v| v.version.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );

    printer.info("\n4. Explain: a job in workflow `publish.yml`, whose publisher requires environment `release`; the job has no environment");
    testbed.set_identity(GithubIdentity {
        workflow_file: "publish.yml".into(),
        ..identity.clone()
    });
    let mut strict = PypiPublisher::new(owner, repo, identity.repository_owner_id, "publish.yml");
    strict.environment = Some("release".into());
    testbed.add_pypi_publisher("trustpub-demo-strict", strict);
    let strict_dist = workdir.path().join("strict");
    samples::write_python_dists(&strict_dist, "trustpub-demo-strict", "1.0.0")
        .map_err(|err| CliError::Internal(err.to_string()))?;
    match super::pypi::upload(&upload_args(&testbed, strict_dist), &context, printer).await {
        Err(CliError::Pypi(pypi_exchange::PublishRunError::Exchange(
            oidc_core::ObtainError::Exchange(explanation),
        ))) => {
            printer.info(&format!(
                "   trustpub explains the refusal (exit code 3 in a real run):\n\n{explanation}"
            ));
        }
        Ok(outcome) => {
            return Err(CliError::Testbed(format!(
                "the misconfigured publisher was not refused (outcome {outcome:?})"
            )));
        }
        Err(other) => return Err(other),
    }

    if args.keep_running {
        printer.info("\nThe testbed keeps running; press Ctrl-C to stop. A job's environment:");
        for (key, value) in testbed.github_env() {
            printer.data(&format!("export {key}='{value}'"));
        }
        let _ = tokio::signal::ctrl_c().await;
    }
    testbed.shutdown().await;
    printer
        .info("\nDone: every step ran against the simulated services; nothing left this machine.");
    Ok(Outcome::Success)
}

/// `trustpub verify` for the demo's identity (must pass), then for another repository (must
/// fail, and the demo shows why).
async fn verify_demo(
    testbed: &Testbed,
    artifacts: Vec<std::path::PathBuf>,
    printer: &Printer,
) -> Result<(), CliError> {
    let identity = testbed.identity();
    let mut args = VerifyArgs {
        artifacts,
        bundle: None,
        repository: identity.repository.clone(),
        workflow: identity.workflow_file.clone(),
        git_ref: Some(identity.git_ref.clone()),
        issuer: identity.issuer.clone(),
        trusted_root: Some(testbed.sigstore_trusted_root_path().to_path_buf()),
    };
    let outcome = super::verify::run(&args, printer).await?;
    if outcome != Outcome::Success {
        return Err(CliError::Testbed(format!(
            "the demo's own artifacts did not verify ({outcome:?})"
        )));
    }
    args.repository = "someone-else/impostor".into();
    args.artifacts.truncate(1);
    printer.info(&format!(
        "   … and for {}, which did not build it (an expected refusal, exit code 7 in a real run):",
        args.repository
    ));
    let outcome = super::verify::run(&args, printer).await?;
    if outcome != Outcome::VerificationFailed {
        return Err(CliError::Testbed(
            "an attestation verified for the wrong repository".into(),
        ));
    }
    Ok(())
}

/// The testbed's Fulcio, Rekor and trust root.
fn sigstore_args(testbed: &Testbed) -> SigstoreArgs {
    SigstoreArgs {
        fulcio_url: testbed.fulcio_url().to_string(),
        rekor_url: testbed.rekor_url().to_string(),
        trusted_root: Some(testbed.sigstore_trusted_root_path().to_path_buf()),
    }
}

fn upload_args(testbed: &Testbed, dir: std::path::PathBuf) -> PypiUploadArgs {
    PypiUploadArgs {
        paths: vec![dir],
        repository_url: Some(testbed.pypi_upload_url().to_string()),
        repository: None,
        config_file: None,
        simple_url: None,
        packages_dir: "dist".into(),
        user: None,
        password: None,
        password_stdin: false,
        audience: Some("pypi".into()),
        verify_metadata: true,
        skip_existing: crate::cli::SkipExistingArg::Off,
        print_hash: true,
        attestations: Some(true),
        concurrency: 4,
        run: PublishRunArgs {
            allow_pull_request: false,
            dry_run: false,
            sigstore: sigstore_args(testbed),
        },
    }
}
