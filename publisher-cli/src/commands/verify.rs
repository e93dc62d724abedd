//! `trustpub verify`: check artifacts against their Sigstore attestations the way consumers
//! do. Wheels and sdists against their PEP 740 `<dist>.publish.attestation` (PyPI's subject
//! rules), npm tarballs against their provenance bundle (npm's subject rules); in both cases
//! the full Sigstore verification against the trust root and the expected identity.

use std::path::{Path, PathBuf};

use npm_exchange::package::PackageTarball;
use npm_exchange::provenance::{ProvenanceBundle, ProvenanceSubject};
use oidc_core::sigstore::{
    ArtifactDigest, ExpectedIdentity, SigstoreConfig, TrustRoot, VerifiedBundle, verify_bundle,
};
use pypi_exchange::attestation::{
    self, GITHUB_ACTIONS_ISSUER, GithubPublisherPolicy, check_subject, read_attestation,
};
use pypi_exchange::dist::Distribution;

use crate::cli::VerifyArgs;
use crate::commands::npm::bundle_path;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// Runs `trustpub verify`.
pub async fn run(args: &VerifyArgs, printer: &Printer) -> Result<Outcome, CliError> {
    if args.bundle.is_some() && args.artifacts.len() > 1 {
        return Err(CliError::Usage(
            "--bundle names the attestation of one artifact; with several, each is checked against the file beside it".into(),
        ));
    }
    let config = SigstoreConfig {
        trusted_root: args.trusted_root.clone(),
        ..SigstoreConfig::public_good()
    };
    let trust = TrustRoot::for_config(&config)?;
    let expected = ExpectedIdentity {
        issuer: Some(args.issuer.clone()),
        san: None,
        repository: Some(args.repository.clone()),
        workflow: Some(args.workflow.clone()),
        git_ref: args.git_ref.clone(),
    };
    let (mut good, mut bad) = (0, 0);
    for artifact in &args.artifacts {
        let path = artifact.clone();
        let bundle = args.bundle.clone();
        let trust = trust.clone();
        let expected = expected.clone();
        let result = tokio::task::spawn_blocking(move || {
            verify_one(&path, bundle.as_deref(), &trust, &expected)
        })
        .await
        .map_err(|err| CliError::Internal(format!("verification panicked: {err}")))?;
        match result {
            Ok(verified) => {
                good += 1;
                printer.status(
                    "Verified",
                    &format!("{} {}", artifact.display(), describe(&verified)),
                );
            }
            Err(reason) => {
                bad += 1;
                printer.error(
                    "Verification failed",
                    &format!("{}: {reason}", artifact.display()),
                );
            }
        }
    }
    printer.info(&format!(
        "{good} artifact(s) verified, {bad} failed (trust root: {})",
        trust.source_name()
    ));
    Ok(if bad == 0 {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}

fn describe(verified: &VerifiedBundle) -> String {
    let claims = &verified.claims;
    let mut text = format!(
        "signed by {}",
        claims.identity.as_deref().unwrap_or("an unknown identity")
    );
    if let Some(commit) = &claims.source_repository_digest {
        text.push_str(&format!(" at commit {commit}"));
    }
    text.push_str(&crate::shared::rekor_suffix(verified));
    text
}

/// The kinds of artifact `verify` knows.
enum Kind {
    PythonDist,
    NpmTarball,
}

fn kind(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".whl") || name.ends_with(".tar.gz") || name.ends_with(".zip") {
        Some(Kind::PythonDist)
    } else if name.ends_with(".tgz") {
        Some(Kind::NpmTarball)
    } else {
        None
    }
}

fn verify_one(
    path: &Path,
    bundle: Option<&Path>,
    trust: &TrustRoot,
    expected: &ExpectedIdentity,
) -> Result<VerifiedBundle, String> {
    match kind(path) {
        Some(Kind::PythonDist) => verify_dist(path, bundle, trust, expected),
        Some(Kind::NpmTarball) => verify_tarball(path, bundle, trust, expected),
        None => Err("not a wheel, an sdist or an npm tarball (.whl, .tar.gz, .zip, .tgz)".into()),
    }
}

fn verify_dist(
    path: &Path,
    bundle: Option<&Path>,
    trust: &TrustRoot,
    expected: &ExpectedIdentity,
) -> Result<VerifiedBundle, String> {
    let dist = Distribution::read(path).map_err(|err| err.to_string())?;
    let attestation_file =
        bundle.map_or_else(|| attestation::attestation_path(path), Path::to_path_buf);
    if !attestation_file.exists() {
        return Err(format!(
            "no attestation: {} does not exist (give one with --bundle)",
            attestation_file.display()
        ));
    }
    let attestation = read_attestation(&attestation_file).map_err(|err| err.to_string())?;
    check_subject(&attestation, &dist.filename, &dist.sha256).map_err(|err| err.to_string())?;
    let digest = ArtifactDigest::sha256_hex(&dist.sha256)?;
    // For a GitHub identity, PyPI's own Trusted Publisher rule decides (pypi-attestations'
    // `GitHubPublisher`: exact repository, and the workflow at the certificate's commit or ref).
    let pypi_policy = match (&expected.issuer, &expected.repository, &expected.workflow) {
        (Some(issuer), Some(repository), Some(workflow)) if issuer == GITHUB_ACTIONS_ISSUER => {
            Some(GithubPublisherPolicy {
                repository: repository.clone(),
                workflow: workflow.trim_start_matches(".github/workflows/").to_owned(),
                environment: None,
            })
        }
        _ => None,
    };
    let generic = match &pypi_policy {
        Some(_) => ExpectedIdentity {
            repository: None,
            workflow: None,
            ..expected.clone()
        },
        None => expected.clone(),
    };
    let subject = attestation_file.display().to_string();
    let verified = verify_bundle(
        trust,
        &attestation.to_bundle_json(),
        &subject,
        &digest,
        &generic,
    )
    .map_err(|err| err.to_string())?;
    if let Some(policy) = pypi_policy {
        policy.check(&verified.claims).map_err(|mismatch| {
            format!("the Sigstore bundle for {subject} does not verify: {mismatch}")
        })?;
    }
    Ok(verified)
}

fn verify_tarball(
    path: &Path,
    bundle: Option<&Path>,
    trust: &TrustRoot,
    expected: &ExpectedIdentity,
) -> Result<VerifiedBundle, String> {
    let tarball = PackageTarball::read(path).map_err(|err| err.to_string())?;
    let bundle_file: PathBuf = bundle.map_or_else(|| bundle_path(path), Path::to_path_buf);
    let text = fs_err::read_to_string(&bundle_file)
        .map_err(|err| format!("no provenance bundle: {err} (give one with --bundle)"))?;
    let subject = ProvenanceSubject::for_tarball(&tarball);
    let parsed = ProvenanceBundle::parse(&text, &subject)
        .map_err(|err| format!("{}: {err}", bundle_file.display()))?;
    verify_bundle(
        trust,
        parsed.json(),
        &bundle_file.display().to_string(),
        &ArtifactDigest::Sha512(*tarball.sha512()),
        expected,
    )
    .map_err(|err| err.to_string())
}
