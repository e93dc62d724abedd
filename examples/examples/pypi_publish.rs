//! Publish a wheel to PyPI with trusted publishing and a PEP 740 attestation, with the library
//! API alone: here against the testbed's simulated GitHub issuer, Fulcio, Rekor and PyPI.
//!
//! Run: `cargo run -p trustpub-examples --example pypi_publish`
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::sync::Arc;

use oidc_core::ci::{EventPolicy, NoMask};
use oidc_core::process::TokioRunner;
use oidc_core::sigstore::{
    ArtifactDigest, KeylessSigner, SIGSTORE_AUDIENCE, SigningJob, SigstoreConfig, TrustRoot,
};
use oidc_core::{Detector, HttpClient, HttpConfig, MapEnv, ProviderContext, Session, TokenRequest};
use pypi_exchange::attestation::{self, Attestation};
use pypi_exchange::dist::{Distribution, ValidateOptions, validate};
use pypi_exchange::upload::{NoReport, UploadItem, UploadOptions, Uploader};
use pypi_exchange::{PackageIndex, PypiExchange};
use testbed::{PypiPublisher, Testbed, TestbedConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A simulated GitHub Actions job and a PyPI with a trusted publisher for `example-pkg`.
    let testbed = Testbed::start(TestbedConfig::default()).await?;
    let job = testbed.identity();
    let (owner, repo) = job
        .repository
        .split_once('/')
        .ok_or("repository is owner/name")?;
    testbed.add_pypi_publisher(
        "example-pkg",
        PypiPublisher::new(owner, repo, job.repository_owner_id, &job.workflow_file),
    );

    // A wheel to publish: read once (metadata and both digests), then validated.
    let dir = tempfile::tempdir()?;
    let dist = Distribution::read(&write_wheel(dir.path())?)?;
    let problems = validate(std::slice::from_ref(&dist), &ValidateOptions::default());
    assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");

    // Identity + exchange: the session mints on first use and burns at the end.
    let env = Arc::new(MapEnv::new().with_all(testbed.github_env()));
    let http = HttpClient::new(&HttpConfig::default(), env.as_ref())?;
    let detector = Detector::new(&ProviderContext {
        env,
        runner: Arc::new(TokioRunner),
        http: http.clone(),
    });
    // A PEP 740 publish attestation: a second ID token (audience `sigstore`), a Fulcio
    // certificate, a Rekor entry; the bundle is verified against the trust root before use.
    let sigstore = SigstoreConfig {
        fulcio_url: testbed.fulcio_url(),
        rekor_url: testbed.rekor_url(),
        trusted_root: Some(testbed.sigstore_trusted_root_path().to_path_buf()),
    };
    let trust = TrustRoot::for_config(&sigstore)?;
    let token = detector
        .detect(&TokenRequest::new(SIGSTORE_AUDIENCE))
        .await?;
    let signer = KeylessSigner::new(&sigstore, trust, &token.token, &http)?;
    let signed = signer
        .sign(&SigningJob {
            subject: dist.filename.clone(),
            statement: attestation::publish_statement(&dist.filename, &dist.sha256),
            digest: ArtifactDigest::sha256_hex(&dist.sha256)?,
        })
        .await?;
    let attestation = Attestation::from_bundle_json(&signed.bundle_json)?;
    println!(
        "attested {} as {} (Rekor entry {:?})",
        dist.filename,
        signed.verified.claims.identity.as_deref().unwrap_or("?"),
        signed.verified.log_index
    );

    let index = PackageIndex::parse(testbed.pypi_upload_url().as_str())?;
    let exchange = PypiExchange::new(http.clone(), index.clone())
        // The testbed's index is not pypi.org: allow it the audience `pypi` explicitly.
        .with_allowed_audience(Some("pypi".into()));
    let session = Session::new(&detector, &exchange, EventPolicy, &NoMask);

    let uploader = Uploader::new(http, index, UploadOptions::default());
    let results = uploader
        .upload_all(
            vec![UploadItem {
                dist,
                attestations: Some(format!("[{}]", attestation.to_json())),
            }],
            &session,
            Arc::new(NoReport),
        )
        .await;
    for result in &results {
        println!(
            "{}: {:?} (sha256 {})",
            result.filename, result.outcome, result.sha256
        );
    }
    for failure in session.finish().await {
        println!("warning: could not burn a token: {}", failure.error);
    }
    println!(
        "index now has: {:?}",
        testbed
            .pypi_files("example-pkg")
            .iter()
            .map(|f| &f.filename)
            .collect::<Vec<_>>()
    );
    testbed.shutdown().await;
    Ok(())
}

fn write_wheel(dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join("example_pkg-0.1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path)?);
    let options = zip::write::SimpleFileOptions::default();
    for (name, contents) in [
        ("example_pkg/__init__.py", "VALUE = 1\n"),
        (
            "example_pkg-0.1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: example-pkg\nVersion: 0.1.0\n",
        ),
        (
            "example_pkg-0.1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: example\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        ("example_pkg-0.1.0.dist-info/RECORD", ""),
    ] {
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(contents.as_bytes())?;
    }
    zip.finish().map_err(std::io::Error::other)?;
    Ok(path)
}
