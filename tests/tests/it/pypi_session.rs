//! A PyPI upload that outlives its token: pypi-exchange's session re-mints (with a fresh ID
//! token each time) before the credential expires, and burns every token it minted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use oidc_core::ci::{EventPolicy, NoMask};
use oidc_core::process::TokioRunner;
use oidc_core::{Detector, HttpClient, HttpConfig, MapEnv, ProviderContext, Session};
use pypi_exchange::dist::Distribution;
use pypi_exchange::upload::{FileStatus, NoReport, UploadItem, UploadOptions, Uploader};
use pypi_exchange::{PackageIndex, PypiExchange};
use testbed::{PypiConfig, PypiPublisher, Testbed, TestbedConfig};

fn wheel(dir: &std::path::Path, version: &str) -> Distribution {
    use std::io::Write;
    let path = dir.join(format!("expiry_check-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let dist_info = format!("expiry_check-{version}.dist-info");
    for (member, contents) in [
        ("expiry_check/__init__.py".to_owned(), String::new()),
        (
            format!("{dist_info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: expiry-check\nVersion: {version}\n"),
        ),
        (
            format!("{dist_info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_owned(),
        ),
        (format!("{dist_info}/RECORD"), String::new()),
    ] {
        zip.start_file(member, options).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    Distribution::read(&path).unwrap()
}

#[tokio::test]
async fn tokens_about_to_expire_are_reminted_and_all_are_burned() {
    // Tokens live 60 s: always inside the 5-minute refresh margin, so every file re-mints.
    let config = TestbedConfig {
        pypi: PypiConfig {
            token_lifetime: Duration::from_secs(60),
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = Testbed::start(config).await.unwrap();
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    testbed.add_pypi_publisher(
        "expiry-check",
        PypiPublisher::new(
            owner,
            repo,
            identity.repository_owner_id,
            &identity.workflow_file,
        ),
    );

    let env = Arc::new(MapEnv::new().with_all(testbed.github_env()));
    let http = HttpClient::new(&HttpConfig::default(), env.as_ref()).unwrap();
    let detector = Detector::new(&ProviderContext {
        env,
        runner: Arc::new(TokioRunner),
        http: http.clone(),
    });
    let index = PackageIndex::parse(testbed.pypi_upload_url().as_str()).unwrap();
    let exchange = PypiExchange::new(http.clone(), index.clone())
        // The testbed's index is not pypi.org: allow it the audience `pypi` explicitly.
        .with_allowed_audience(Some("pypi".into()));
    let session = Session::new(&detector, &exchange, EventPolicy, &NoMask);

    let dir = tempfile::tempdir().unwrap();
    let items: Vec<UploadItem> = ["1.0", "1.1", "1.2"]
        .into_iter()
        .map(|v| UploadItem {
            dist: wheel(dir.path(), v),
            attestations: Vec::new(),
        })
        .collect();
    let uploader = Uploader::new(
        http,
        index,
        UploadOptions {
            concurrency: 1,
            ..UploadOptions::default()
        },
    );
    let results = uploader
        .upload_all(items, &session, Arc::new(NoReport))
        .await;
    for result in &results {
        assert!(
            matches!(result.outcome, Ok(FileStatus::Uploaded)),
            "{:?}",
            result.outcome
        );
    }
    assert_eq!(session.minted().await, 3);
    assert!(session.finish().await.is_empty());
    let records = testbed.records();
    let minted: Vec<_> = records
        .mints
        .iter()
        .filter(|m| m.errors.is_empty())
        .collect();
    assert_eq!(minted.len(), 3);
    let jtis: std::collections::BTreeSet<_> = minted.iter().map(|m| m.jti.clone()).collect();
    assert_eq!(jtis.len(), 3, "each mint used a fresh ID token");
    assert_eq!(records.burns.len(), 3);
    assert!(records.burns.iter().all(|b| b.revoked_live_token));
}
