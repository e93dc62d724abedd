//! Helpers for the GitHub Action's tests: gh-action-pypi-publish's inputs as the reference
//! records them, YAML reading, finding bash, running the action's steps the way the runner
//! does (inputs through `env:` only), release archives and a loopback release server.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yaml_rust2::{Yaml, YamlLoader};

/// One input of `pypa/gh-action-pypi-publish@release/v1` (v1.14.x, `action.yml` as recorded in
/// shared/reference/pypi.md §1.1 from the step-security and chainguard mirrors): name,
/// description (folded), default, and the deprecation message of the snake_case aliases.
pub struct UpstreamInput {
    pub name: &'static str,
    pub description: &'static str,
    pub default: Option<&'static str>,
    pub deprecation: Option<&'static str>,
}

const fn input(
    name: &'static str,
    description: &'static str,
    default: Option<&'static str>,
) -> UpstreamInput {
    UpstreamInput {
        name,
        description,
        default,
        deprecation: None,
    }
}

const fn alias(
    name: &'static str,
    description: &'static str,
    default: &'static str,
    deprecation: &'static str,
) -> UpstreamInput {
    UpstreamInput {
        name,
        description,
        default: Some(default),
        deprecation: Some(deprecation),
    }
}

pub const UPSTREAM_INPUTS: &[UpstreamInput] = &[
    input("user", "PyPI user", Some("__token__")),
    input(
        "password",
        "Password for your PyPI user or an access token",
        None,
    ),
    input("repository-url", "The repository URL to use", None),
    alias(
        "repository_url",
        "[DEPRECATED] The repository URL to use",
        "https://upload.pypi.org/legacy/",
        "The inputs have been normalized to use kebab-case. Use `repository-url` instead.",
    ),
    input(
        "packages-dir",
        "The target directory for distribution",
        None,
    ),
    alias(
        "packages_dir",
        "[DEPRECATED] The target directory for distribution",
        "dist",
        "The inputs have been normalized to use kebab-case. Use `packages-dir` instead.",
    ),
    input("verify-metadata", "Check metadata before uploading", None),
    alias(
        "verify_metadata",
        "[DEPRECATED] Check metadata before uploading",
        "true",
        "The inputs have been normalized to use kebab-case. Use `verify-metadata` instead.",
    ),
    input(
        "skip-existing",
        "Do not fail if a Python package distribution exists in the target package index",
        None,
    ),
    alias(
        "skip_existing",
        "[DEPRECATED] Do not fail if a Python package distribution exists in the target package index",
        "false",
        "The inputs have been normalized to use kebab-case. Use `skip-existing` instead.",
    ),
    input("verbose", "Show verbose output.", Some("true")),
    input(
        "print-hash",
        "Show hash values of files to be uploaded",
        None,
    ),
    alias(
        "print_hash",
        "[DEPRECATED] Show hash values of files to be uploaded",
        "true",
        "The inputs have been normalized to use kebab-case. Use `print-hash` instead.",
    ),
    input(
        "attestations",
        "Enable support for PEP 740 attestations. Only works with PyPI and TestPyPI via Trusted Publishing.",
        Some("true"),
    ),
];

/// The Rust targets the release builds, the action installs and update-checksums.sh pins.
pub const RELEASE_TARGETS: [&str; 6] = [
    "x86_64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// The one document of a YAML file under the workspace root.
pub fn read_yaml(relative: &str) -> Yaml {
    let path = workspace().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    let mut docs =
        YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "{relative} holds one YAML document");
    docs.remove(0)
}

/// The keys of a mapping, in order (empty for anything else).
pub fn keys(yaml: &Yaml) -> Vec<String> {
    yaml.as_hash()
        .map(|hash| {
            hash.keys()
                .map(|key| key.as_str().expect("string keys").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `(key, value)` pairs of a mapping.
pub fn entries(yaml: &Yaml) -> Vec<(String, &Yaml)> {
    yaml.as_hash()
        .map(|hash| {
            hash.iter()
                .map(|(key, value)| (key.as_str().expect("string keys").to_owned(), value))
                .collect()
        })
        .unwrap_or_default()
}

/// `None` (skip, with the reason printed) outside CI; a failure under CI.
fn missing(what: &str) -> Option<PathBuf> {
    trustpub_test_tools::skip(&format!(
        "{what} is not installed: the action's scripts need it"
    ));
    None
}

fn on_path(program: &str) -> Option<PathBuf> {
    let names = if cfg!(windows) {
        vec![format!("{program}.exe"), program.to_owned()]
    } else {
        vec![program.to_owned()]
    };
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|candidate| candidate.is_file())
    })
}

/// The bash the runner's `shell: bash` uses: `TRUSTPUB_TEST_BASH`, else Git Bash on Windows
/// (not the WSL launcher in System32), else `bash` on PATH.
pub fn bash() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRUSTPUB_TEST_BASH") {
        return Some(PathBuf::from(path));
    }
    if cfg!(windows) {
        let git_bash = PathBuf::from(r"C:\Program Files\Git\bin\bash.exe");
        if git_bash.is_file() {
            return Some(git_bash);
        }
    }
    on_path("bash").or_else(|| missing("bash"))
}

/// bash and curl (install.sh downloads with curl, as on every GitHub-hosted runner).
pub fn bash_and_curl() -> Option<PathBuf> {
    let bash = bash()?;
    on_path("curl").or_else(|| missing("curl"))?;
    Some(bash)
}

/// Runs `bash <script>` with exactly `env` plus what any process needs (PATH, HOME and, on
/// Windows, the system variables), in `cwd`. Async, so an in-process testbed keeps serving.
pub async fn run_script(
    bash: &Path,
    script: &Path,
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Output {
    let mut command = tokio::process::Command::new(bash);
    command.arg(script).current_dir(cwd).env_clear();
    for key in [
        "PATH",
        "HOME",
        "SYSTEMROOT",
        "SYSTEMDRIVE",
        "WINDIR",
        "TEMP",
        "TMP",
        "USERPROFILE",
        "COMSPEC",
        "PATHEXT",
    ] {
        if let Ok(value) = std::env::var(key) {
            command.env(key, value);
        }
    }
    command.envs(env);
    command.output().await.expect("bash runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Both streams, for assertion messages.
pub fn both(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    )
}

/// The value of `key=` in a `$GITHUB_OUTPUT` file.
pub fn output_value(github_output: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(github_output).unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
}

/// The `env:` of the action's step with `name`, as the runner would evaluate it for a
/// workflow step `with:` these inputs: `${{ inputs.X }}` becomes the given value, else the
/// input's default, else empty; `${{ steps.S.outputs.O }}` comes from `outputs`.
pub fn step_env(
    action: &Yaml,
    name: &str,
    with: &[(&str, &str)],
    outputs: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let step = action["runs"]["steps"]
        .as_vec()
        .expect("runs.steps")
        .iter()
        .find(|step| step["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("action.yml has a step named {name}"));
    let inputs = &action["inputs"];
    entries(&step["env"])
        .into_iter()
        .map(|(variable, expression)| {
            let expression = expression.as_str().expect("env values are strings");
            let inner = expression
                .strip_prefix("${{")
                .and_then(|rest| rest.strip_suffix("}}"))
                .map(str::trim)
                .unwrap_or_else(|| panic!("{variable}: `{expression}` is not one expression"));
            let value = if let Some(input) = inner.strip_prefix("inputs.") {
                assert!(
                    !inputs[input].is_badvalue(),
                    "{variable} reads an undeclared input {input}"
                );
                with.iter()
                    .find(|(name, _)| *name == input)
                    .map(|(_, value)| (*value).to_owned())
                    .or_else(|| inputs[input]["default"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            } else {
                outputs
                    .iter()
                    .find(|(name, _)| *name == inner)
                    .map(|(_, value)| (*value).to_owned())
                    .unwrap_or_else(|| panic!("{variable}: no value given for {inner}"))
            };
            (variable, value)
        })
        .collect()
}

/// The Rust target of this machine, as install.sh should pick it.
pub fn host_target() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") if Path::new("/lib/ld-musl-x86_64.so.1").exists() => {
            "x86_64-unknown-linux-musl"
        }
        ("linux", "x86_64") => "x86_64-unknown-linux-gnu",
        ("linux", "aarch64") => "aarch64-unknown-linux-gnu",
        ("macos", "x86_64") => "x86_64-apple-darwin",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        ("windows", _) => "x86_64-pc-windows-msvc",
        (os, arch) => panic!("no trustpub release target for {os}/{arch}"),
    }
}

/// The release asset name of `target`.
pub fn asset_name(version: &str, target: &str) -> String {
    let ext = if target.contains("windows") {
        "zip"
    } else {
        "tar.gz"
    };
    format!("trustpub-{version}-{target}.{ext}")
}

/// A release archive as the release workflow packs it: `trustpub-<v>-<target>/trustpub[.exe]`
/// (with `binary` as the executable), `.zip` for Windows, `.tar.gz` elsewhere.
pub fn release_archive(version: &str, target: &str, binary: &[u8]) -> Vec<u8> {
    let stem = format!("trustpub-{version}-{target}");
    if target.contains("windows") {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        zip.start_file(format!("{stem}/trustpub.exe"), options)
            .unwrap();
        zip.write_all(binary).unwrap();
        zip.finish().unwrap().into_inner()
    } else {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(binary.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append_data(&mut header, format!("{stem}/trustpub"), binary)
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A loopback HTTP server holding release assets by path; records every requested path.
pub struct ReleaseServer {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReleaseServer {
    /// Serves `files` (URL path → bytes) on 127.0.0.1; 404 for anything else.
    pub async fn start(files: BTreeMap<String, Vec<u8>>) -> ReleaseServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let files = Arc::new(files);
        let log = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let files = Arc::clone(&files);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0_u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                    log.lock().unwrap().push(path.clone());
                    let (status, body) = match files.get(&path) {
                        Some(body) => ("200 OK", body.clone()),
                        None => ("404 Not Found", b"Not Found".to_vec()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        ReleaseServer {
            base_url: format!("http://{address}/releases/download"),
            requests,
            task,
        }
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
