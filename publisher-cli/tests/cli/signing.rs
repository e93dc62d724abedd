//! Sigstore through the binary, against the testbed's Fulcio and Rekor: PEP 740 attestations
//! and npm provenance are signed, verified locally, uploaded and verifiable by `trustpub
//! verify`; every failure knob stops the upload; a dry run signs and uploads nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use testbed::{NpmPublisher, PypiPublisher, Testbed};

fn publisher(testbed: &Testbed, project: &str) {
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

async fn upload(testbed: &Testbed, dir: &Path, extra: &[&str]) -> std::process::Output {
    let url = testbed.pypi_upload_url().to_string();
    let flags = testbed_sigstore_args(testbed);
    let mut args: Vec<&str> = vec![
        "pypi",
        "upload",
        "--repository-url",
        &url,
        "--attestations",
        "true",
    ];
    args.extend(flags.iter().map(String::as_str));
    args.extend(extra);
    trustpub(&args, &testbed.github_env(), dir).await
}

async fn verify(testbed: &Testbed, artifacts: &[PathBuf], extra: &[&str]) -> std::process::Output {
    let identity = testbed.identity();
    let root = testbed.sigstore_trusted_root_path().display().to_string();
    let mut args: Vec<String> = vec!["verify".into()];
    args.extend(artifacts.iter().map(|p| p.display().to_string()));
    for (flag, value) in [
        ("--repository", identity.repository.as_str()),
        ("--workflow", identity.workflow_file.as_str()),
        ("--trusted-root", root.as_str()),
    ] {
        if !extra.contains(&flag) {
            args.push(flag.into());
            args.push(value.into());
        }
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    trustpub(&args, &Default::default(), Path::new(".")).await
}

#[tokio::test]
async fn pypi_attestations_are_signed_uploaded_and_verifiable() {
    let testbed = testbed().await;
    publisher(&testbed, "attested");
    let dir = tempfile::tempdir().unwrap();
    let wheel = write_wheel(&dir.path().join("dist"), "attested", "1.0");

    let output = upload(&testbed, dir.path(), &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_no_secret_leaks(&output, &[]);
    let attestation = dir
        .path()
        .join("dist/attested-1.0-py3-none-any.whl.publish.attestation");
    assert!(
        attestation.exists(),
        "the attestation is kept beside the dist"
    );
    let records = testbed.records();
    assert_eq!(records.uploads.len(), 1);
    assert!(records.uploads[0].had_attestations);
    assert_eq!(
        records.uploads[0].status, 200,
        "{:?}",
        records.uploads[0].error
    );
    assert_eq!(records.certificates_issued.len(), 1);
    assert_eq!(records.rekor_entries.len(), 1);
    assert_eq!(records.mints.len(), records.burns.len());
    assert!(
        stderr(&output).contains("signed and verified, Rekor entry"),
        "{}",
        stderr(&output)
    );

    // A consumer's check: the right identity passes; a wrong one, a wrong ref and a modified
    // dist do not (exit 7).
    let good = verify(
        &testbed,
        std::slice::from_ref(&wheel),
        &["--ref", "refs/tags/v1.0.0"],
    )
    .await;
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    let wrong = verify(
        &testbed,
        std::slice::from_ref(&wheel),
        &["--workflow", "other.yml"],
    )
    .await;
    assert_eq!(wrong.status.code(), Some(7));
    assert!(
        stderr(&wrong).contains("the attestation was signed by workflow \"release.yml\""),
        "{}",
        stderr(&wrong)
    );
    let wrong_ref = verify(&testbed, std::slice::from_ref(&wheel), &["--ref", "v2.0.0"]).await;
    assert_eq!(wrong_ref.status.code(), Some(7));
    let other_root = testbed::Testbed::start(Default::default()).await.unwrap();
    let foreign = other_root
        .sigstore_trusted_root_path()
        .display()
        .to_string();
    let untrusted = verify(
        &testbed,
        std::slice::from_ref(&wheel),
        &["--trusted-root", &foreign],
    )
    .await;
    assert_eq!(untrusted.status.code(), Some(7), "{}", stderr(&untrusted));

    // The re-run reuses the attestation beside the dist instead of signing again.
    let again = upload(&testbed, dir.path(), &[]).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("(existing attested-1.0-py3-none-any.whl.publish.attestation)")
    );
    assert_eq!(
        testbed.records().rekor_entries.len(),
        1,
        "nothing signed twice"
    );

    // A modified dist no longer matches its attestation: refused before anything is minted.
    {
        use std::io::Write;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&wheel)
            .unwrap();
        let mut zip = zip::ZipWriter::new_append(file).unwrap();
        zip.start_file(
            "attested/extra.py",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(b"EXTRA = 1\n").unwrap();
        zip.finish().unwrap();
    }
    let tampered = verify(&testbed, std::slice::from_ref(&wheel), &[]).await;
    assert_eq!(tampered.status.code(), Some(7), "{}", stderr(&tampered));
    let mints = testbed.records().mints.len();
    let refused = upload(&testbed, dir.path(), &[]).await;
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("does not attest"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(testbed.records().mints.len(), mints, "nothing minted");
}

#[tokio::test]
async fn a_pypi_dry_run_mints_and_burns_but_signs_and_uploads_nothing() {
    let testbed = testbed().await;
    publisher(&testbed, "dry");
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "dry", "1.0");
    let output = upload(&testbed, dir.path(), &["--dry-run"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("Would upload dry-1.0-py3-none-any.whl"),
        "{err}"
    );
    assert!(err.contains("attestation: would be signed"), "{err}");
    let records = testbed.records();
    assert!(records.uploads.is_empty());
    assert!(records.rekor_entries.is_empty(), "no Rekor entry");
    assert!(records.certificates_issued.is_empty());
    assert_eq!(records.mints.iter().filter(|m| m.succeeded()).count(), 1);
    assert_eq!(records.burns.len(), 1, "the minted token is burned");
    assert!(
        !dir.path()
            .join("dist/dry-1.0-py3-none-any.whl.publish.attestation")
            .exists()
    );

    // A dry run against a misconfigured publisher fails like the real run would (exit 3).
    testbed.set_identity(testbed::GithubIdentity {
        workflow_file: "renamed.yml".into(),
        ..testbed.identity()
    });
    let refused = upload(&testbed, dir.path(), &["--dry-run"]).await;
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
}

#[tokio::test]
async fn every_sigstore_failure_stops_the_upload() {
    let testbed = testbed().await;
    publisher(&testbed, "faulty");
    let faults = testbed.sigstore_faults();

    // Transient: Fulcio and Rekor 5xx are retried.
    faults.fail_next_fulcio_requests(1);
    faults.fail_next_rekor_requests(1);
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "faulty", "1.0");
    let output = upload(&testbed, dir.path(), &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(testbed.records().uploads.len(), 1);

    // Bundles that do not verify are never uploaded (exit 7), and the token is still burned.
    for (version, knob) in [
        ("2.0", "bad SCT"),
        ("3.0", "wrong log key"),
        ("4.0", "expired certificate"),
    ] {
        faults.clear();
        match knob {
            "bad SCT" => faults.set_bad_sct(true),
            "wrong log key" => faults.set_wrong_log_key(true),
            _ => faults.set_expired_certificate(true),
        }
        let dir = tempfile::tempdir().unwrap();
        write_wheel(&dir.path().join("dist"), "faulty", version);
        let output = upload(&testbed, dir.path(), &[]).await;
        assert_eq!(output.status.code(), Some(7), "{knob}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.contains("does not verify"), "{knob}: {err}");
        assert!(err.contains("nothing was uploaded"), "{knob}: {err}");
        let records = testbed.records();
        assert_eq!(records.uploads.len(), 1, "{knob}: nothing uploaded");
        assert_eq!(records.mints.len(), records.burns.len(), "{knob}: burned");
        assert!(
            !dir.path()
                .join(format!(
                    "dist/faulty-{version}-py3-none-any.whl.publish.attestation"
                ))
                .exists(),
            "{knob}: no attestation file written"
        );
    }

    // Fulcio down for good: a clear error naming it, exit 5, nothing uploaded.
    faults.clear();
    faults.fail_next_fulcio_requests(100);
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "faulty", "5.0");
    let output = upload(&testbed, dir.path(), &[]).await;
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("did not issue a signing certificate"),
        "{}",
        stderr(&output)
    );
    assert_eq!(testbed.records().uploads.len(), 1);
}

/// An `npm pack`-shaped tarball whose `repository.url` is `repository_url`.
fn write_tarball(dir: &Path, name: &str, version: &str, repository_url: &str) -> PathBuf {
    write_tarball_with_access(dir, name, version, repository_url, Some("public"))
}

fn write_tarball_with_access(
    dir: &Path,
    name: &str,
    version: &str,
    repository_url: &str,
    access: Option<&str>,
) -> PathBuf {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!(
        "{}-{version}.tgz",
        name.trim_start_matches('@').replace('/', "-")
    ));
    let mut manifest = serde_json::json!({
        "name": name,
        "version": version,
        "main": "index.js",
        "license": "MIT",
        "repository": {"type": "git", "url": repository_url},
    });
    if let Some(access) = access {
        manifest["publishConfig"] = serde_json::json!({ "access": access });
    }
    let manifest = manifest.to_string();
    let mut tar = tar::Builder::new(GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        Compression::default(),
    ));
    for (member, contents) in [
        ("package/package.json", manifest.as_str()),
        ("package/index.js", "module.exports = 1;\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(499_162_500);
        header.set_cksum();
        tar.append_data(&mut header, member, contents.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

async fn npm_publish(testbed: &Testbed, tarball: &Path, extra: &[&str]) -> std::process::Output {
    let registry = testbed.npm_registry_url().to_string();
    let flags = testbed_sigstore_args(testbed);
    let path = tarball.display().to_string();
    let mut args: Vec<&str> = vec!["npm", "publish", "--registry", &registry];
    args.extend(flags.iter().map(String::as_str));
    args.extend(extra);
    args.push(&path);
    trustpub(&args, &testbed.github_env(), tarball.parent().unwrap()).await
}

#[tokio::test]
async fn npm_provenance_is_signed_attached_and_verifiable() {
    let testbed = testbed().await;
    let identity = testbed.identity();
    let repo_url = format!("git+https://github.com/{}.git", identity.repository);
    for package in [
        "@octo/attested",
        "@octo/dry",
        "@octo/elsewhere",
        "@octo/private",
    ] {
        testbed.add_npm_package(package);
        testbed.add_npm_publisher(
            package,
            NpmPublisher::github(&identity.repository, &identity.workflow_file),
        );
    }
    let dir = tempfile::tempdir().unwrap();

    // The default with trusted publishing: provenance signed, attached, kept beside the tarball.
    let tarball = write_tarball(dir.path(), "@octo/attested", "1.0.0", &repo_url);
    let output = npm_publish(&testbed, &tarball, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_no_secret_leaks(&output, &[]);
    let publishes = testbed.records().npm_publishes;
    assert_eq!(publishes.len(), 1);
    assert!(publishes[0].had_provenance, "{publishes:?}");
    assert_eq!(publishes[0].status, 200, "{:?}", publishes[0].error);
    let bundle = PathBuf::from(format!("{}.sigstore.json", tarball.display()));
    assert!(bundle.exists());
    let good = verify(&testbed, std::slice::from_ref(&tarball), &[]).await;
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    let wrong = verify(
        &testbed,
        std::slice::from_ref(&tarball),
        &["--repository", "octo-org/other"],
    )
    .await;
    assert_eq!(wrong.status.code(), Some(7));

    // The bundle only fits its own tarball.
    let other = write_tarball(
        &dir.path().join("other"),
        "@octo/attested",
        "1.0.1",
        &repo_url,
    );
    let bundle_arg = bundle.display().to_string();
    let mismatch = npm_publish(&testbed, &other, &["--provenance-file", &bundle_arg]).await;
    assert_ne!(mismatch.status.code(), Some(0));
    assert_eq!(
        testbed.records().npm_publishes.len(),
        1,
        "nothing published"
    );
    // … and a dry run with it checks it (subject and signatures) without publishing.
    let checked = npm_publish(
        &testbed,
        &tarball,
        &["--provenance-file", &bundle_arg, "--dry-run"],
    )
    .await;
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    assert!(
        stderr(&checked).contains("the given provenance bundle (checked)"),
        "{}",
        stderr(&checked)
    );

    // A dry run exchanges but signs and publishes nothing.
    let rekor = testbed.records().rekor_entries.len();
    let dry = write_tarball(&dir.path().join("dry"), "@octo/dry", "1.0.0", &repo_url);
    let output = npm_publish(&testbed, &dry, &["--dry-run"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("provenance would be signed"),
        "{}",
        stderr(&output)
    );
    let records = testbed.records();
    assert_eq!(records.npm_publishes.len(), 1);
    assert_eq!(records.rekor_entries.len(), rekor, "no Rekor entry");

    // repository.url names another repository: --provenance refuses with npm's reason and
    // publishes nothing; without the flag the package goes out without provenance.
    let elsewhere = write_tarball(
        &dir.path().join("elsewhere"),
        "@octo/elsewhere",
        "1.0.0",
        "git+https://github.com/someone/else.git",
    );
    let refused = npm_publish(&testbed, &elsewhere, &["--provenance"]).await;
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        stderr(&refused).contains("repository.url"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(testbed.records().npm_publishes.len(), 1);
    let plain = npm_publish(&testbed, &elsewhere, &[]).await;
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(
        stderr(&plain).contains("No provenance for @octo/elsewhere@1.0.0"),
        "{}",
        stderr(&plain)
    );
    let last = testbed.records().npm_publishes.last().cloned().unwrap();
    assert!(!last.had_provenance);
    assert_eq!(last.status, 200);

    // A scoped package without `access: public`: the registry's visibility route decides, as
    // npm asks it. Private: no provenance by default, an error with --provenance.
    testbed.set_npm_package_public("@octo/private", false);
    let private = write_tarball_with_access(
        &dir.path().join("private"),
        "@octo/private",
        "1.0.0",
        &repo_url,
        None,
    );
    let refused = npm_publish(&testbed, &private, &["--provenance"]).await;
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        stderr(&refused).contains("private package"),
        "{}",
        stderr(&refused)
    );
    let plain = npm_publish(&testbed, &private, &[]).await;
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(
        !testbed
            .records()
            .npm_publishes
            .last()
            .unwrap()
            .had_provenance
    );
}

/// One signing session per run: every dist is signed with the same key and certificate (one
/// Fulcio request), each gets its own Rekor entry, and every bundle still verifies.
#[tokio::test]
async fn one_certificate_signs_every_dist_of_a_run() {
    let testbed = testbed().await;
    publisher(&testbed, "session");
    let dir = tempfile::tempdir().unwrap();
    let wheels: Vec<PathBuf> = (0..6)
        .map(|minor| write_wheel(&dir.path().join("dist"), "session", &format!("1.{minor}")))
        .collect();

    let output = upload(&testbed, dir.path(), &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let records = testbed.records();
    assert_eq!(
        records.certificates_issued.len(),
        1,
        "one certificate for the whole run"
    );
    assert_eq!(records.rekor_entries.len(), 6, "one log entry per dist");
    assert_eq!(records.uploads.len(), 6);
    assert!(records.uploads.iter().all(|upload| upload.had_attestations));

    let verified = verify(&testbed, &wheels, &[]).await;
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
}

/// A certificate that runs out in the middle of a run is replaced by a new one (a new key, a
/// new Fulcio request) before it expires, and nothing fails: every entry is integrated while
/// its certificate is valid.
#[tokio::test]
async fn a_certificate_running_out_mid_run_is_renewed() {
    let testbed = testbed().await;
    publisher(&testbed, "renewed");
    let faults = testbed.sigstore_faults();
    faults.set_certificate_lifetime(Some(std::time::Duration::from_secs(3)));
    faults.set_latency(
        std::time::Duration::ZERO,
        std::time::Duration::from_millis(500),
    );
    let dir = tempfile::tempdir().unwrap();
    // 48 dists, 8 Rekor submissions at a time, 500 ms each: about 3 s of signing, so the
    // 3-second certificate must be renewed on the way.
    let wheels: Vec<PathBuf> = (0..48)
        .map(|minor| write_wheel(&dir.path().join("dist"), "renewed", &format!("2.{minor}")))
        .collect();

    let output = upload(&testbed, dir.path(), &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let records = testbed.records();
    assert!(
        records.certificates_issued.len() >= 2,
        "the certificate was renewed: {} issued",
        records.certificates_issued.len()
    );
    assert!(
        records.certificates_issued.len() < 48,
        "not one certificate per dist: {} issued",
        records.certificates_issued.len()
    );
    assert_eq!(records.rekor_entries.len(), 48);
    assert_eq!(records.uploads.len(), 48);

    faults.clear();
    let verified = verify(&testbed, &wheels, &[]).await;
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
}
