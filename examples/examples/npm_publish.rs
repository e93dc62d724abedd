//! Publish an npm package with trusted publishing and SLSA provenance with the library API
//! alone ([`npm_exchange::PublishRun`], what `trustpub npm publish` runs): here against the
//! testbed's simulated GitHub issuer, npm registry, Fulcio and Rekor.
//!
//! Run: `cargo run -p trustpub-examples --example npm_publish`
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use npm_exchange::{
    MaskSink, NpmRegistry, NpmSettings, PackageOutcome, PublishObserver, PublishRun,
    PublishSettings,
};
use oidc_core::{
    Detector, HttpClient, HttpConfig, MapEnv, ProviderContext, SigstoreConfig, TokioRunner,
};
use testbed::{NpmPublisher, Testbed, TestbedConfig};

/// The package this example publishes.
const PACKAGE: &str = "@example/hello";

/// Runs the example (public so that `tests/run_examples.rs` can run it too).
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn Error>> {
    // A simulated GitHub Actions job, and an npm registry where `@example/hello` trusts the
    // job's workflow.
    let testbed = Testbed::start(TestbedConfig::default()).await?;
    let job = testbed.identity();
    testbed.add_npm_publisher(
        PACKAGE,
        NpmPublisher::github(&job.repository, &job.workflow_file),
    );
    // The tarball `npm pack` would make (provenance needs `repository` to name the job's repo).
    let dir = tempfile::tempdir()?;
    let tarball = write_tarball(dir.path(), &job.repository)?;
    // What the job sees: `GITHUB_*`, `ACTIONS_ID_TOKEN_REQUEST_*`, the testbed CA.
    let env = MapEnv::new().with_all(testbed.github_env());
    // The testbed's Sigstore stand-in (in a real job: `SigstoreConfig::public_good()`).
    let sigstore = SigstoreConfig {
        fulcio_url: testbed.fulcio_url(),
        rekor_url: testbed.rekor_url(),
        trusted_root: Some(testbed.sigstore_trusted_root_path().to_path_buf()),
    };

    // The publish: one exchange per package, provenance signed and verified, the PUT.
    let http = HttpClient::new(&HttpConfig::default(), &env)?;
    let detector = Detector::new(&ProviderContext {
        env: Arc::new(env.clone()),
        runner: Arc::new(TokioRunner),
        http: http.clone(),
    });
    let mut settings = PublishSettings::new(vec![tarball], NpmSettings::load(&env, dir.path())?);
    // The testbed's registry and Sigstore instead of npmjs.com and the public-good instance.
    settings.registry = Some(NpmRegistry::parse(testbed.npm_registry_url().as_str())?);
    settings.sigstore = Some(sigstore);
    let report = PublishRun::new(http, &detector, &env, settings)
        .run(&Progress)
        .await?;

    // The typed report: one entry per package, and the tally that decides an exit code.
    for package in &report.packages {
        println!("{}: {:?}", package.label, package.outcome);
        println!(
            "  registry:   {} ({})",
            package.registry, package.registry_source
        );
        println!("  tag:        {}", package.tag);
        println!("  integrity:  {}", package.integrity);
        if let Some(bundle) = &package.provenance_bundle {
            println!("  provenance: {}", bundle.display());
        }
    }
    println!("{:?}", report.tally());

    // The registry's side: the version is there, with its provenance attached.
    let published = testbed.npm_versions(PACKAGE);
    testbed.shutdown().await;
    let published_ok = report
        .packages
        .iter()
        .all(|p| matches!(p.outcome, PackageOutcome::Published));
    match published.first() {
        Some(version) if published_ok && version.provenance.is_some() => {
            println!(
                "registry has {}@{} with provenance",
                PACKAGE, version.version
            );
            Ok(())
        }
        _ => {
            let outcomes: Vec<String> = report
                .packages
                .iter()
                .map(|p| match &p.outcome {
                    PackageOutcome::Failed(failure) => format!("{}: {failure}", p.label),
                    other => format!("{}: {other:?}", p.label),
                })
                .collect();
            Err(format!("{PACKAGE} was not published with provenance: {outcomes:?}").into())
        }
    }
}

/// Prints the run's progress (the library never prints; a real job would also answer
/// `mask` with `::add-mask::`).
struct Progress;

impl MaskSink for Progress {
    fn mask(&self, _secret: &str) {}
}

impl PublishObserver for Progress {
    fn step(&self, _index: usize, label: &str, step: &npm_exchange::PackageStep<'_>) {
        println!("{label}: {step:?}");
    }
}

/// `hello-1.0.0.tgz` as `npm pack` lays it out: `package/package.json`, `package/index.js`.
fn write_tarball(dir: &Path, repository: &str) -> std::io::Result<PathBuf> {
    let path = dir.join("example-hello-1.0.0.tgz");
    let manifest = serde_json::json!({
        "name": PACKAGE,
        "version": "1.0.0",
        "main": "index.js",
        "license": "MIT",
        "repository": {"type": "git", "url": format!("git+https://github.com/{repository}.git")},
        "publishConfig": {"access": "public"},
    })
    .to_string();
    let gzip = flate2::write::GzEncoder::new(
        std::fs::File::create(&path)?,
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gzip);
    for (member, contents) in [
        ("package/package.json", manifest.as_str()),
        ("package/index.js", "module.exports = 'hello';\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(499_162_500);
        header.set_cksum();
        tar.append_data(&mut header, member, contents.as_bytes())?;
    }
    tar.into_inner()?.finish()?;
    Ok(path)
}
