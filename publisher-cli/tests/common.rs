//! Helpers for driving the compiled `trustpub` binary against the testbed.
#![allow(dead_code, missing_docs)]

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
