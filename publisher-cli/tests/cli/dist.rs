//! How trustpub itself is shipped, tested with the real tools on the host: the release build
//! links no testbed; the PyPI wheel (maturin) installs a working `trustpub` and passes
//! trustpub's own validation; the npm launcher runs the host's platform package from a
//! registry; `cargo install --path` installs a `trustpub` without the demo.
//!
//! The builds reuse the test build's target directory in the dev profile (no `--release`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::common;
use crate::tools;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;
use testbed::PypiPublisher;
use tools::*;

/// The cargo that runs these tests.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// The build directory the test binaries were built in. Nested builds use it as their
/// `CARGO_BUILD_BUILD_DIR` (so they reuse every compiled dependency) with a target directory of
/// their own (so their binary, built with other features, does not replace the one the other
/// tests run).
fn build_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_BUILD_BUILD_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // <target>/debug/trustpub
    Path::new(env!("CARGO_BIN_EXE_trustpub"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_owned()
}

fn workspace_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The names of the crates in `cargo tree` for the CLI with `features`.
fn normal_dependencies(features: &[&str]) -> Vec<String> {
    let mut args = vec![
        "tree", "--locked", "-p", "trustpub", "-e", "normal", "--prefix", "none", "--format", "{p}",
    ];
    if !features.is_empty() {
        args.push("--features");
        args.extend(features);
    }
    let output = std::process::Command::new(cargo())
        .args(&args)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

const TESTBED_ONLY: [&str; 3] = ["trustpub-testbed", "axum", "rcgen"];

#[test]
fn the_default_build_links_no_testbed() {
    let default = normal_dependencies(&[]);
    assert!(
        default.iter().any(|name| name == "oidc-core"),
        "{default:?}"
    );
    for name in TESTBED_ONLY {
        assert!(
            !default.iter().any(|dep| dep == name),
            "`cargo build -p trustpub` (the release build) links {name}: keep it behind the `demo` feature"
        );
    }
    // The check can fail: the demo feature brings them in.
    let demo = normal_dependencies(&["demo"]);
    for name in TESTBED_ONLY {
        assert!(demo.iter().any(|dep| dep == name), "demo links {name}");
    }
}

/// The npm packages, the wheel and the crate carry one version, and every release target has
/// its platform package, pinned by the launcher.
#[test]
fn every_channel_ships_the_workspace_version_and_every_target() {
    let root = workspace();
    let version = workspace_version();
    let read_json = |path: PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    };
    let launcher = read_json(root.join("npm/trustpub/package.json"));
    assert_eq!(launcher["version"], version.as_str());
    assert_eq!(launcher["bin"]["trustpub"], "bin/trustpub.js");
    assert!(
        launcher.get("scripts").is_none(),
        "no install scripts: {launcher}"
    );
    let pinned = launcher["optionalDependencies"].as_object().unwrap();

    let release = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    let targets: Vec<&str> = release
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- target: "))
        .collect();
    assert_eq!(targets.len(), 6, "{targets:?}");
    let mut served = Vec::new();
    for entry in std::fs::read_dir(root.join("npm/platforms")).unwrap() {
        let manifest = read_json(entry.unwrap().path().join("package.json"));
        let name = manifest["name"].as_str().unwrap();
        assert_eq!(manifest["version"], version.as_str(), "{name}");
        assert_eq!(pinned[name], version.as_str(), "the launcher pins {name}");
        assert!(
            manifest["os"].is_array() && manifest["cpu"].is_array(),
            "{name}"
        );
        served.push(manifest["trustpub"]["target"].as_str().unwrap().to_owned());
    }
    served.sort();
    let mut expected: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
    expected.sort();
    assert_eq!(served, expected, "one platform package per release target");
    assert_eq!(pinned.len(), expected.len());

    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    for line in [
        "name = \"trustpub\"",
        "bindings = \"bin\"",
        "manifest-path = \"publisher-cli/Cargo.toml\"",
    ] {
        assert!(pyproject.contains(line), "pyproject.toml has {line}");
    }
}

fn python() -> Option<PathBuf> {
    require(tools_bin().join("python"), "the .ci venv's python")
}

#[tokio::test]
async fn the_wheel_installs_trustpub_and_passes_its_own_validation() {
    let Some(maturin) = require(tools_bin().join("maturin"), "maturin") else {
        return;
    };
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    let started = Instant::now();
    // The dev profile (CI builds no release binary here); with the demo, to run it below.
    let built = run_ok(
        &maturin,
        &[
            "build",
            "--locked",
            "--features",
            "demo",
            "--out",
            wheels.to_str().unwrap(),
        ],
        &workspace(),
        &[
            ("CARGO_BUILD_BUILD_DIR", build_dir().to_str().unwrap()),
            (
                "CARGO_TARGET_DIR",
                dir.path().join("target").to_str().unwrap(),
            ),
        ],
    )
    .await;
    eprintln!("maturin build: {:.1?}", started.elapsed());
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .unwrap_or_else(|| panic!("no wheel in {}: {built}", wheels.display()));
    let file_name = wheel.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        file_name.starts_with(&format!("trustpub-{}-", workspace_version())),
        "{file_name}"
    );
    assert!(
        !file_name.ends_with("-any.whl"),
        "a platform wheel: {file_name}"
    );

    // A fresh venv: `trustpub` is on its PATH.
    let venv = dir.path().join("venv");
    run_ok(
        &python,
        &["-m", "venv", venv.to_str().unwrap()],
        dir.path(),
        &[],
    )
    .await;
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    run_ok(
        &bin.join("python"),
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--disable-pip-version-check",
            wheel.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    )
    .await;
    let installed = bin.join(if cfg!(windows) {
        "trustpub.exe"
    } else {
        "trustpub"
    });
    let version = run_ok(&installed, &["--version"], dir.path(), &[]).await;
    assert_eq!(
        version.lines().next().unwrap_or_default().trim(),
        format!("trustpub {}", workspace_version()),
        "{version}"
    );
    let demo = run_ok(&installed, &["demo"], dir.path(), &[]).await;
    assert!(demo.contains("Verified"), "{demo}");

    // trustpub's own validation, as a release would run it: a dry run to the testbed's PyPI.
    let testbed = testbed().await;
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    testbed.add_pypi_publisher(
        "trustpub",
        PypiPublisher::new(
            owner,
            repo,
            identity.repository_owner_id,
            &identity.workflow_file,
        ),
    );
    let url = testbed.pypi_upload_url().to_string();
    let output = trustpub(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--attestations",
            "false",
            "--dry-run",
            wheel.to_str().unwrap(),
        ],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("Would upload {file_name}")),
        "{}",
        stderr(&output)
    );
    assert!(testbed.records().uploads.is_empty());
}

#[tokio::test]
async fn npx_trustpub_runs_the_platform_package_from_a_registry() {
    let (Some(npm), Some(node), Some(verdaccio_bin)) = (
        require_on_path("npm"),
        require_on_path("node"),
        require(node_modules().join(".bin/verdaccio"), "verdaccio"),
    ) else {
        return;
    };
    let Some(npx) = require_on_path("npx") else {
        return;
    };
    let host_target = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") if Path::new("/lib/ld-musl-x86_64.so.1").exists() => {
            "x86_64-unknown-linux-musl"
        }
        ("linux", "x86_64") => "x86_64-unknown-linux-gnu",
        ("linux", "aarch64") => "aarch64-unknown-linux-gnu",
        ("macos", "x86_64") => "x86_64-apple-darwin",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        ("windows", _) => "x86_64-pc-windows-msvc",
        other => panic!("no platform package for {other:?}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();

    // verdaccio with one user; its token publishes.
    let root = dir.path().join("verdaccio");
    std::fs::create_dir_all(&root).unwrap();
    let port = free_port();
    std::fs::write(
        root.join("config.yaml"),
        format!(
            "storage: {storage}\nlisten: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    file: {htpasswd}\n    max_users: 10\npackages:\n  '@*/*': {{ access: $all, publish: $authenticated }}\n  '**': {{ access: $all, publish: $authenticated }}\nmax_body_size: 200mb\nlog: {{ type: stdout, format: pretty, level: warn }}\n",
            storage = root.join("storage").display(),
            htpasswd = root.join("htpasswd").display(),
        ),
    )
    .unwrap();
    let config = root.join("config.yaml");
    let server = Server::start(
        &verdaccio_bin,
        &["--config", config.to_str().unwrap()],
        &[],
        format!("http://127.0.0.1:{port}/"),
        "/-/ping",
        dir.path().join("verdaccio.log"),
    )
    .await;
    let response = reqwest::Client::new()
        .put(format!("{}-/user/org.couchdb.user:ci", server.url))
        .json(&serde_json::json!({"name": "ci", "password": "ci-password-1", "email": "ci@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let token = response.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let npmrc = dir.path().join("npmrc");
    std::fs::write(
        &npmrc,
        format!(
            "registry={url}\n//127.0.0.1:{port}/:_authToken={token}\n",
            url = server.url
        ),
    )
    .unwrap();
    let cache = dir.path().join("npm-cache");
    let env = [
        ("npm_config_userconfig", npmrc.to_str().unwrap()),
        ("npm_config_cache", cache.to_str().unwrap()),
        ("npm_config_update_notifier", "false"),
        ("npm_config_fund", "false"),
        ("npm_config_audit", "false"),
    ];

    // The host's platform package, filled with the binary under test, and the launcher: both
    // packed, then published.
    // Stripped where `strip` exists, as release binaries are: a quarter of the bytes to pack,
    // publish and install.
    let binary = dir.path().join(if cfg!(windows) {
        "trustpub.exe"
    } else {
        "trustpub"
    });
    std::fs::copy(env!("CARGO_BIN_EXE_trustpub"), &binary).unwrap();
    if let Some(strip) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("strip"))
            .find(|candidate| candidate.is_file())
    }) && !cfg!(windows)
    {
        run_ok(&strip, &[binary.to_str().unwrap()], dir.path(), &[]).await;
    }
    let platform = dir.path().join("platform");
    run_ok(
        &node,
        &[
            workspace().join("npm/fill-platform.js").to_str().unwrap(),
            host_target,
            binary.to_str().unwrap(),
            platform.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    )
    .await;
    let packs = dir.path().join("packs");
    std::fs::create_dir_all(&packs).unwrap();
    for package in [platform.clone(), workspace().join("npm/trustpub")] {
        run_ok(
            &npm,
            &["pack", "--pack-destination", packs.to_str().unwrap()],
            &package,
            &env,
        )
        .await;
    }
    eprintln!("npm: verdaccio up, both packed: {:.1?}", started.elapsed());
    let mut tarballs: Vec<PathBuf> = std::fs::read_dir(&packs)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    tarballs.sort();
    assert_eq!(tarballs.len(), 2, "{tarballs:?}");
    for tarball in &tarballs {
        run_ok(
            &npm,
            &["publish", tarball.to_str().unwrap(), "--access", "public"],
            dir.path(),
            &env,
        )
        .await;
    }

    eprintln!("npm: both published: {:.1?}", started.elapsed());
    // An empty project installs `trustpub`; npm picks the platform package, no install script.
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        r#"{"name":"uses-trustpub","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    run_ok(
        &npm,
        &[
            "install",
            "--ignore-scripts",
            &format!("trustpub@{}", workspace_version()),
        ],
        &project,
        &env,
    )
    .await;
    let version = run_ok(
        &npx,
        &["--no", "--", "trustpub", "--version"],
        &project,
        &env,
    )
    .await;
    assert_eq!(
        version.lines().next().unwrap_or_default().trim(),
        format!("trustpub {}", workspace_version()),
        "{version}"
    );
    // The launcher passes the exit code through.
    let (ok, usage) = run(
        &npx,
        &["--no", "--", "trustpub", "no-such-command"],
        &project,
        &env,
    )
    .await;
    assert!(!ok, "{usage}");
    eprintln!("npm pack/publish/install/npx: {:.1?}", started.elapsed());
}

#[tokio::test]
async fn cargo_install_builds_trustpub_without_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let started = Instant::now();
    run_ok(
        &cargo(),
        &[
            "install",
            "--locked",
            "--debug",
            "--path",
            workspace().join("publisher-cli").to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
            "--target-dir",
            dir.path().join("target").to_str().unwrap(),
        ],
        dir.path(),
        &[("CARGO_BUILD_BUILD_DIR", build_dir().to_str().unwrap())],
    )
    .await;
    eprintln!("cargo install --debug: {:.1?}", started.elapsed());
    let installed = root.join("bin").join(if cfg!(windows) {
        "trustpub.exe"
    } else {
        "trustpub"
    });
    let version = run_ok(&installed, &["--version"], dir.path(), &[]).await;
    assert_eq!(
        version.lines().next().unwrap_or_default().trim(),
        format!("trustpub {}", workspace_version())
    );
    // A build without the `demo` feature (what crates.io and the release archives ship) says
    // how to get the demo, with a usage error.
    let output = std::process::Command::new(&installed)
        .arg("demo")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("cargo install trustpub --features demo"),
        "{message}"
    );
}

/// `cargo run -p trustpub --features demo -- demo` (the README's first command): the whole flow
/// with nothing set up. Built here with the feature, reusing the test build's dependencies.
#[tokio::test]
async fn the_demo_build_runs_the_demo_with_nothing_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let started = Instant::now();
    run_ok(
        &cargo(),
        &[
            "build",
            "--locked",
            "-p",
            "trustpub",
            "--features",
            "demo",
            "--target-dir",
            target.to_str().unwrap(),
        ],
        &workspace(),
        &[("CARGO_BUILD_BUILD_DIR", build_dir().to_str().unwrap())],
    )
    .await;
    eprintln!("cargo build --features demo: {:.1?}", started.elapsed());
    let binary = target.join("debug").join(if cfg!(windows) {
        "trustpub.exe"
    } else {
        "trustpub"
    });
    let output = tokio::process::Command::new(&binary)
        .arg("demo")
        .current_dir(dir.path())
        .env_clear()
        .envs(std::env::var("PATH").map(|path| ("PATH", path)))
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("Verified"), "{}", stderr(&output));
    // Outside a real runner nothing is masked, and no token is shown.
    assert!(assert_no_secret_leaks(&output, &[]).is_empty());

    // The default build (the one the other tests drive, and the release ships) has no demo.
    let output = trustpub(&["demo"], &Default::default(), dir.path()).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("`cargo install trustpub --features demo`"),
        "{}",
        stderr(&output)
    );
}
