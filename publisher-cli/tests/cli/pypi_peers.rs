//! PyPI end to end with real peers: a real wheel and sdist (setuptools via `uv build`) go,
//! with their PEP 740 attestations, through `trustpub pypi upload` → the testbed (verifying
//! the attestations, forwarding) → a real pypiserver, and pip installs them from there. And uv
//! itself must publish through the same testbed, which proves the testbed faithful.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::tools;

use std::path::Path;

use common::*;
use testbed::{PypiConfig, PypiPublisher, Testbed, TestbedConfig};
use tools::*;

/// Writes a setuptools project and builds its wheel and sdist into `<dir>/dist`.
async fn build_project(uv: &Path, python: &Path, dir: &Path, name: &str, version: &str) {
    let module = name.replace('-', "_");
    let project = dir.join("project");
    std::fs::create_dir_all(project.join("src").join(&module)).unwrap();
    std::fs::write(
        project.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools>=77\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"trustpub end-to-end sample\"\nreadme = \"README.md\"\nrequires-python = \">=3.8\"\nlicense = \"MIT\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("README.md"),
        format!("# {name}\n\nBuilt by the trustpub end-to-end tests.\n"),
    )
    .unwrap();
    std::fs::write(
        project.join("src").join(&module).join("__init__.py"),
        format!("VALUE = \"{name} {version}\"\n"),
    )
    .unwrap();
    let out = dir.join("dist");
    run_ok(
        uv,
        &[
            "build",
            "--offline",
            "--no-build-isolation",
            "--python",
            python.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
            project.to_str().unwrap(),
        ],
        dir,
        &[],
    )
    .await;
}

struct Peers {
    uv: std::path::PathBuf,
    python: std::path::PathBuf,
    pypi_server: std::path::PathBuf,
}

fn peers() -> Option<Peers> {
    let bin = tools_bin();
    Some(Peers {
        uv: require(bin.join("uv"), "uv")?,
        python: require(bin.join("python"), "the tools venv's python")?,
        pypi_server: require(bin.join("pypi-server"), "pypiserver")?,
    })
}

async fn pypiserver(peers: &Peers, dir: &Path) -> Server {
    let packages = dir.join("pypiserver-packages");
    std::fs::create_dir_all(&packages).unwrap();
    let port = free_port().to_string();
    Server::start(
        &peers.pypi_server,
        &[
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            &port,
            "-a",
            ".",
            "-P",
            ".",
            packages.to_str().unwrap(),
        ],
        &[],
        format!("http://127.0.0.1:{port}/"),
        "/simple/",
        dir.join("pypiserver.log"),
    )
    .await
}

async fn forwarding_testbed(server: &Server) -> Testbed {
    let config = TestbedConfig {
        pypi: PypiConfig {
            forward_to: Some(server.url.parse().unwrap()),
            ..PypiConfig::default()
        },
        ..TestbedConfig::default()
    };
    let testbed = Testbed::start(config).await.unwrap();
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    for project in ["e2e-sample", "uv-sample"] {
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
    testbed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trustpub_publishes_to_pypiserver_and_pip_installs_it() {
    let Some(peers) = peers() else { return };
    let dir = tempfile::tempdir().unwrap();
    build_project(&peers.uv, &peers.python, dir.path(), "e2e-sample", "0.1.0").await;
    let server = pypiserver(&peers, dir.path()).await;
    let testbed = forwarding_testbed(&server).await;
    let upload_url = testbed.pypi_upload_url().to_string();
    // With PEP 740 attestations, signed by the testbed's Sigstore: the testbed verifies them
    // and forwards the upload to pypiserver.
    let mut args = vec![
        "-vv".to_owned(),
        "pypi".into(),
        "upload".into(),
        "--repository-url".into(),
        upload_url.clone(),
        "--attestations".into(),
        "true".into(),
    ];
    args.extend(testbed_sigstore_args(&testbed));
    args.push("dist".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let output = trustpub(&args, &testbed.github_env(), dir.path()).await;
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    let masked = assert_no_secret_leaks(&output, &[]);
    assert_eq!(
        masked.len(),
        3,
        "the ID token, the minted token and the Sigstore ID token are masked"
    );
    let err = stderr(&output);
    assert!(
        err.contains("Uploaded e2e_sample-0.1.0-py3-none-any.whl"),
        "{err}"
    );
    assert!(err.contains("Uploaded e2e_sample-0.1.0.tar.gz"), "{err}");
    let records = testbed.records();
    assert_eq!(
        records.burns.len(),
        1,
        "the minted token is burned after the run"
    );
    for dist in [
        "e2e_sample-0.1.0-py3-none-any.whl",
        "e2e_sample-0.1.0.tar.gz",
    ] {
        let attestation = dir
            .path()
            .join("dist")
            .join(format!("{dist}.publish.attestation"));
        assert!(
            attestation.is_file(),
            "{} is written",
            attestation.display()
        );
        assert!(
            records
                .uploads
                .iter()
                .any(|u| u.filename == dist && u.had_attestations && u.error.is_none()),
            "{dist} was uploaded with its attestation: {:?}",
            records.uploads
        );
    }
    let files = testbed.pypi_files("e2e-sample");
    assert!(
        files.len() == 2 && files.iter().all(|f| f.attestations.is_some()),
        "the testbed verified and recorded both attestations: {files:?}"
    );

    // A re-run is idempotent: PyPI (and the testbed) answer an identical re-upload with 200.
    let output = trustpub(&args, &testbed.github_env(), dir.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(testbed.pypi_files("e2e-sample").len(), 2);

    // --skip-existing looks first and uploads nothing.
    let uploads_before = testbed.records().uploads.len();
    let skip = [
        "pypi",
        "upload",
        "--skip-existing",
        "--repository-url",
        upload_url.as_str(),
        "dist",
    ];
    let output = trustpub(&skip, &testbed.github_env(), dir.path()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).matches("Skipped").count(),
        2,
        "{}",
        stderr(&output)
    );
    assert_eq!(testbed.records().uploads.len(), uploads_before);

    // pip installs the package from pypiserver, and it imports.
    let target = dir.path().join("site");
    let simple = format!("{}simple/", server.url);
    run_ok(
        &peers.python,
        &[
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--no-deps",
            "--index-url",
            &simple,
            "--target",
            target.to_str().unwrap(),
            "e2e-sample==0.1.0",
        ],
        dir.path(),
        &[],
    )
    .await;
    let imported = run_ok(
        &peers.python,
        &[
            "-c",
            &format!(
                "import sys; sys.path.insert(0, {:?}); import e2e_sample; print(e2e_sample.VALUE)",
                target.to_str().unwrap()
            ),
        ],
        dir.path(),
        &[],
    )
    .await;
    assert!(imported.contains("e2e-sample 0.1.0"), "{imported}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uv_publish_with_trusted_publishing_accepts_the_testbed() {
    let Some(peers) = peers() else { return };
    let dir = tempfile::tempdir().unwrap();
    build_project(&peers.uv, &peers.python, dir.path(), "uv-sample", "0.2.0").await;
    let server = pypiserver(&peers, dir.path()).await;
    let testbed = forwarding_testbed(&server).await;
    let upload_url = testbed.pypi_upload_url().to_string();
    let env: Vec<(String, String)> = testbed.github_env().into_iter().collect();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let dist = dir.path().join("dist");
    let files: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let mut args = vec![
        "publish",
        "--trusted-publishing",
        "always",
        "--publish-url",
        upload_url.as_str(),
    ];
    args.extend(files.iter().map(String::as_str));
    run_ok(&peers.uv, &args, dir.path(), &env_refs).await;
    let records = testbed.records();
    assert!(
        records.mints.iter().any(|m| m.errors.is_empty()),
        "uv minted through the testbed: {:?}",
        records.mints
    );
    assert_eq!(testbed.pypi_files("uv-sample").len(), 2);
}
