//! Files trustpub writes next to the user's (`<tarball>.sigstore.json`, PEP 740 attestations,
//! the step summary) never follow a planted symlink: through the compiled binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use testbed::{NpmPublisher, PypiPublisher, Testbed};

fn tarball(dir: &Path, name: &str, repository: &str) -> PathBuf {
    let path = dir.join(format!(
        "{}-1.0.0.tgz",
        name.trim_start_matches('@').replace('/', "-")
    ));
    let manifest = serde_json::json!({
        "name": name,
        "version": "1.0.0",
        "repository": {"type": "git", "url": format!("git+https://github.com/{repository}.git")},
    })
    .to_string();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    ));
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
async fn a_symlink_planted_at_the_provenance_bundle_is_refused() {
    let testbed = testbed().await;
    let identity = testbed.identity();
    testbed.add_npm_package("@octo/linked");
    testbed.add_npm_publisher(
        "@octo/linked",
        NpmPublisher::github(&identity.repository, &identity.workflow_file),
    );
    let dir = tempfile::tempdir().unwrap();
    let tgz = tarball(dir.path(), "@octo/linked", &identity.repository);
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let bundle = PathBuf::from(format!("{}.sigstore.json", tgz.display()));
    std::os::unix::fs::symlink(&victim, &bundle).unwrap();

    let registry = testbed.npm_registry_url().to_string();
    let mut args = vec![
        "npm".to_owned(),
        "publish".into(),
        "--registry".into(),
        registry,
    ];
    args.extend(testbed_sigstore_args(&testbed));
    args.push(tgz.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = trustpub(&args, &testbed.github_env(), dir.path()).await;
    let err = stderr(&output);
    // Exit 5: the package failed before anything was sent.
    assert_eq!(output.status.code(), Some(5), "{err}");
    assert!(
        err.contains("it is a symbolic link, and trustpub never writes through one"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(std::fs::symlink_metadata(&bundle).unwrap().is_symlink());
    assert!(
        testbed.records().npm_publishes.is_empty(),
        "nothing published"
    );

    // The link removed, the same command finishes the job and keeps the bundle.
    std::fs::remove_file(&bundle).unwrap();
    let output = trustpub(&args, &testbed.github_env(), dir.path()).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(bundle.is_file());
}

fn pypi_publisher(testbed: &Testbed, project: &str) {
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    testbed.add_pypi_publisher(
        project,
        PypiPublisher::new(
            owner,
            repo,
            identity.repository_owner_id,
            &identity.workflow_file,
        ),
    );
}

#[tokio::test]
async fn a_symlinked_step_summary_is_not_written_through() {
    let testbed = testbed().await;
    pypi_publisher(&testbed, "summarized");
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "summarized", "1.0");
    let victim = dir.path().join("victim.sh");
    std::fs::write(&victim, "echo precious\n").unwrap();
    let summary = dir.path().join("summary.md");
    std::os::unix::fs::symlink(&victim, &summary).unwrap();
    let mut env = testbed.github_env();
    env.insert("GITHUB_STEP_SUMMARY".into(), summary.display().to_string());
    let url = testbed.pypi_upload_url().to_string();
    let output = trustpub(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--attestations",
            "false",
        ],
        &env,
        dir.path(),
    )
    .await;
    // The upload itself is done; the summary is refused with a warning naming the link.
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(all.contains("symbolic link"), "{all}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "echo precious\n");
    assert_eq!(testbed.pypi_files("summarized").len(), 1);

    // A regular summary file is appended to.
    std::fs::remove_file(&summary).unwrap();
    std::fs::write(&summary, "earlier step\n").unwrap();
    let output = trustpub(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--attestations",
            "false",
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n") && text.len() > 20,
        "{text}"
    );
}

#[tokio::test]
async fn a_symlink_planted_at_the_attestation_is_not_written_through() {
    let testbed = testbed().await;
    pypi_publisher(&testbed, "attested-link");
    let dir = tempfile::tempdir().unwrap();
    let wheel = write_wheel(&dir.path().join("dist"), "attested-link", "1.0");
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let attestation = PathBuf::from(format!("{}.publish.attestation", wheel.display()));
    std::os::unix::fs::symlink(&victim, &attestation).unwrap();
    let url = testbed.pypi_upload_url().to_string();
    let mut args = vec![
        "pypi".to_owned(),
        "upload".into(),
        "--repository-url".into(),
        url,
        "--attestations".into(),
        "true".into(),
    ];
    args.extend(testbed_sigstore_args(&testbed));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = trustpub(&args, &testbed.github_env(), dir.path()).await;
    let err = stderr(&output);
    assert_ne!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("victim") || err.contains("symbolic link"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        testbed.pypi_files("attested-link").is_empty(),
        "nothing uploaded"
    );
}
