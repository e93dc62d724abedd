//! Inconsistent requests are refused with a reason before anything is minted, signed or sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[tokio::test]
async fn attestations_need_trusted_publishing() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "refused", "1.0");
    let url = testbed.pypi_upload_url().to_string();
    // With a token, attestations are refused outright (PyPI takes them only from trusted
    // publishers), before anything is read, signed or sent.
    let output = trustpub(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--password",
            "pypi-x",
            "--attestations",
            "true",
        ],
        &Default::default(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--attestations needs trusted publishing"),
        "{}",
        stderr(&output)
    );
    assert!(testbed.records().uploads.is_empty());
}

#[tokio::test]
async fn a_private_sigstore_needs_its_trust_root() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "refused", "1.0");
    let url = testbed.pypi_upload_url().to_string();
    let fulcio = testbed.fulcio_url().to_string();
    let output = trustpub(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--attestations",
            "true",
            "--fulcio-url",
            &fulcio,
        ],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("a custom --fulcio-url or --rekor-url needs the instance's --trusted-root"),
        "{}",
        stderr(&output)
    );
    assert!(testbed.records().mints.is_empty(), "nothing was minted");
}

#[tokio::test]
async fn provenance_and_a_provenance_file_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let output = trustpub(
        &[
            "npm",
            "publish",
            "--provenance",
            "--provenance-file",
            "bundle.json",
            "x.tgz",
        ],
        &Default::default(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    // npm's own wording (EUSAGE).
    assert!(
        stderr(&output).contains("provenance and provenanceFile cannot be used together"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn invalid_distributions_upload_nothing_and_exit_4() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    write_wheel(&dist, "good", "1.0");
    std::fs::write(
        dist.join("broken-1.0-py3-none-any.whl"),
        b"<html>not a wheel</html>",
    )
    .unwrap();
    std::fs::write(dist.join("Bad_Name-1.0.tar.gz"), b"\x1f\x8b garbage").unwrap();
    let url = testbed.pypi_upload_url().to_string();
    let output = trustpub(
        &["pypi", "upload", "--repository-url", &url],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("broken-1.0-py3-none-any.whl"), "{err}");
    assert!(
        err.contains("Bad_Name-1.0.tar.gz"),
        "every bad file is reported: {err}"
    );
    assert!(err.contains("nothing was uploaded"), "{err}");
    let records = testbed.records();
    assert!(
        records.mints.is_empty() && records.uploads.is_empty(),
        "no token, no upload"
    );
}

fn npm_tarball(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let path = dir.join("pkg.tgz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    let manifest = serde_json::json!({"name": name, "version": "1.0.0"}).to_string();
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "package/package.json", manifest.as_bytes())
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    path
}

#[tokio::test]
async fn npm_refusals_exit_3_and_stop_before_publishing() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let tarball = npm_tarball(dir.path(), "no-publisher");
    let registry = testbed.npm_registry_url().to_string();
    let args = [
        "npm",
        "publish",
        "--registry",
        registry.as_str(),
        tarball.to_str().unwrap(),
    ];

    // No trusted publisher for the package: npm's answer, explained, and nothing published.
    let output = trustpub(&args, &testbed.github_env(), dir.path()).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("OIDC token exchange for no-publisher failed"),
        "{}",
        stderr(&output)
    );
    assert!(testbed.records().npm_publishes.is_empty());

    // A pull_request_target run never asks for a token.
    let mut env = testbed.github_env();
    env.insert("GITHUB_EVENT_NAME".into(), "pull_request_target".into());
    let issued = testbed.records().tokens_issued.len();
    let output = trustpub(&args, &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("::error title=Publishing refused for this event::"),
        "{}",
        stdout(&output)
    );
    assert_eq!(testbed.records().tokens_issued.len(), issued);
}
