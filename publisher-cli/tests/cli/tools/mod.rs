//! Outside tools for end-to-end tests (pypiserver, uv, pip, verdaccio, npm, and the Sigstore
//! verifiers sigstore-python, pypi-attestations and `@sigstore/verify`), installed by
//! `.ci/setup-tools`. Under `CI=true` a missing tool fails the test; elsewhere the test is
//! skipped with the reason printed.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// `.ci/venv/bin` (or `TRUSTPUB_TOOLS_BIN`).
pub fn tools_bin() -> PathBuf {
    std::env::var_os("TRUSTPUB_TOOLS_BIN")
        .map_or_else(|| workspace().join(".ci/venv/bin"), PathBuf::from)
}

/// `.ci/node/node_modules` (or `TRUSTPUB_NODE_MODULES`).
pub fn node_modules() -> PathBuf {
    std::env::var_os("TRUSTPUB_NODE_MODULES")
        .map_or_else(|| workspace().join(".ci/node/node_modules"), PathBuf::from)
}

// Each test binary that includes this module uses its own subset.
#[allow(unused_imports)]
pub use trustpub_test_tools::{in_ci, require, require_on_path};

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
pub struct Server {
    child: tokio::process::Child,
    pub url: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `program args…`, logging to `log`, and waits until `ready_url` answers.
    pub async fn start(
        program: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        url: String,
        ready_path: &str,
        log: PathBuf,
    ) -> Server {
        let log_file = std::fs::File::create(&log).unwrap();
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
        let server = Server { child, url, log };
        let ready = format!("{}{}", server.url.trim_end_matches('/'), ready_path);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(&ready).send().await
                && response.status().as_u16() < 500
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not come up within 60 s; its log:\n{}",
                program.display(),
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Runs a command to completion and returns its output, panicking with it on failure.
pub async fn run_ok(program: &Path, args: &[&str], cwd: &Path, envs: &[(&str, &str)]) -> String {
    let (success, text) = run(program, args, cwd, envs).await;
    assert!(success, "{} {args:?} failed:\n{text}", program.display());
    text
}

/// Runs a command to completion and returns whether it succeeded and what it printed
/// (stdout, then stderr), for commands expected to fail.
pub async fn run(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    envs: &[(&str, &str)],
) -> (bool, String) {
    let output = tokio::process::Command::new(program)
        .args(args)
        .current_dir(cwd)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", program.display()));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A verifier script of `publisher-cli/tests/cli/verifiers/`.
pub fn verifier_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/verifiers")
        .join(name)
}
