//! Publish a wheel to PyPI with trusted publishing and a PEP 740 attestation, with the library
//! API alone: here against the testbed's simulated GitHub issuer, Fulcio, Rekor and PyPI.
//!
//! Run: `cargo run -p trustpub-examples --example pypi_publish`
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::sync::Arc;

use oidc_core::ci::NoMask;
use oidc_core::process::TokioRunner;
use oidc_core::sigstore::SigstoreConfig;
use oidc_core::{Detector, HttpClient, HttpConfig, MapEnv, ProviderContext};
use pypi_exchange::{AttestationMode, PackageIndex, PublishRun, PublishSettings};
use testbed::{PypiPublisher, Testbed, TestbedConfig};

/// Runs the example (public so that `tests/run_examples.rs` can run it too).
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let dist = tempfile::tempdir()?;
    write_wheel(dist.path())?;
    // The job's environment (on a runner: `ProcessEnv`).
    let env = Arc::new(MapEnv::new().with_all(testbed.github_env()));

    // The publish: identity, exchange, one signing session, upload, burn.
    let http = HttpClient::new(&HttpConfig::default(), env.as_ref())?;
    let runner = Arc::new(TokioRunner);
    let detector = Detector::new(&ProviderContext {
        env: env.clone(),
        runner,
        http: http.clone(),
    });
    let index = PackageIndex::parse(testbed.pypi_upload_url().as_str())?;
    let mut settings = PublishSettings::new(index, vec![dist.path().to_path_buf()]);
    // The testbed's index is not pypi.org: it gets the audience `pypi` only because we say so,
    // and attestations (on by default for PyPI and TestPyPI) are asked for by name.
    settings.allowed_audience = Some("pypi".into());
    settings.attestations = AttestationMode::On;
    settings.sigstore = SigstoreConfig {
        fulcio_url: testbed.fulcio_url(),
        rekor_url: testbed.rekor_url(),
        trusted_root: Some(testbed.sigstore_trusted_root_path().to_path_buf()),
    };
    let report = PublishRun::new(http, &detector, env.as_ref(), settings)
        .run(&NoMask)
        .await?;

    for file in &report.files {
        println!(
            "{}: {:?}, attestation {:?}",
            file.filename, file.outcome, file.attestation
        );
    }
    let on_index = testbed.pypi_files("example-pkg");
    println!(
        "index now has: {:?}",
        on_index.iter().map(|f| &f.filename).collect::<Vec<_>>()
    );
    testbed.shutdown().await;
    let published = on_index
        .iter()
        .any(|f| f.filename == "example_pkg-0.1.0-py3-none-any.whl" && f.attestations.is_some());
    if report.tally().failed > 0 || !published {
        return Err("the wheel and its attestation are not on the index".into());
    }
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
