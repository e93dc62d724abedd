//! Helpers for driving the compiled `trustpub` binary against the testbed.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use testbed::{Testbed, TestbedConfig};

pub async fn testbed() -> Testbed {
    Testbed::start(TestbedConfig::default())
        .await
        .expect("testbed starts")
}

/// Runs `trustpub` with exactly `env` (plus PATH and HOME), in `cwd`. Async, so an in-process
/// testbed keeps serving while the binary runs.
pub async fn trustpub(args: &[&str], env: &BTreeMap<String, String>, cwd: &Path) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_trustpub"));
    command.args(args).current_dir(cwd).env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(value) = std::env::var(key) {
            command.env(key, value);
        }
    }
    command.envs(env);
    command.output().await.expect("trustpub runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that nothing a run masked, no JWT, and none of `also_secret` (the runner's request
/// token, passwords) appears outside `::add-mask::` lines. Returns the masked values.
pub fn assert_no_secret_leaks(output: &Output, also_secret: &[&str]) -> Vec<String> {
    let out = stdout(output);
    let err = stderr(output);
    let masked: Vec<String> = out
        .lines()
        .filter_map(|line| line.strip_prefix("::add-mask::"))
        .map(str::to_owned)
        .collect();
    for (stream, text) in [("stdout", &out), ("stderr", &err)] {
        for line in text.lines().filter(|l| !l.starts_with("::add-mask::")) {
            assert!(!line.contains("eyJ"), "a JWT leaked on {stream}: {line}");
            for secret in also_secret {
                assert!(
                    !line.contains(secret),
                    "a secret leaked on {stream}: {line}"
                );
            }
            for secret in &masked {
                assert!(
                    !line.contains(secret.as_str()),
                    "a masked secret leaked on {stream}: {line}"
                );
            }
        }
    }
    masked
}

/// Writes a minimal valid wheel `<name>-<version>-py3-none-any.whl` into `dir`.
pub fn write_wheel(dir: &Path, name: &str, version: &str) -> std::path::PathBuf {
    use std::io::Write;
    std::fs::create_dir_all(dir).unwrap();
    let module = name.replace('-', "_");
    let path = dir.join(format!("{module}-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let dist_info = format!("{module}-{version}.dist-info");
    for (member, contents) in [
        (format!("{module}/__init__.py"), "VALUE = 1\n".to_owned()),
        (
            format!("{dist_info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ),
        (
            format!("{dist_info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_owned(),
        ),
        (format!("{dist_info}/RECORD"), String::new()),
    ] {
        zip.start_file(member, options).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// `--fulcio-url`, `--rekor-url` and `--trusted-root` for signing with the testbed's Sigstore.
pub fn testbed_sigstore_args(testbed: &Testbed) -> Vec<String> {
    vec![
        "--fulcio-url".into(),
        testbed.fulcio_url().to_string(),
        "--rekor-url".into(),
        testbed.rekor_url().to_string(),
        "--trusted-root".into(),
        testbed.sigstore_trusted_root_path().display().to_string(),
    ]
}
