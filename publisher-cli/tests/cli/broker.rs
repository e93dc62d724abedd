//! `trustpub exec`, `exchange`, `revoke` and `doctor crates-io|rubygems|nuget` against the
//! testbed's crates.io, RubyGems.org and NuGet.org: the credential reaches the command only,
//! is revoked however the command ends, a refusal never runs the command; and a real
//! `cargo publish` through `trustpub exec`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::tools;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};
use testbed::{CratesIoPublisher, NugetPolicy, RubygemsPublisher, Testbed};

/// The testbed's default identity: `octo-org/octo-repo`, owner id 5050505, `release.yml`.
fn crates_io_publisher() -> CratesIoPublisher {
    CratesIoPublisher::new("octo-org", "octo-repo", 5_050_505, "release.yml")
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A child that says whether `variable` is set and keeps its value in `seen.txt` (never on
/// stdout), then exits with `code`.
fn reporting_child(variable: &str, code: u8) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!(
            "if [ -n \"${variable}\" ]; then echo child:set; else echo child:unset; fi; printf %s \"${variable}\" > seen.txt; exit {code}"
        ),
    ]
}

async fn exec(
    testbed: &Testbed,
    registry: &str,
    url: &str,
    extra: &[&str],
    child: &[String],
    dir: &Path,
) -> std::process::Output {
    let mut args: Vec<&str> = vec!["exec", registry, "--registry-url", url];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend(child.iter().map(String::as_str));
    trustpub(&args, &testbed.github_env(), dir).await
}

#[tokio::test]
async fn exec_gives_the_token_to_the_command_only_and_revokes_it() {
    let testbed = testbed().await;
    testbed.add_crates_io_publisher("tiny", crates_io_publisher());
    let dir = tempfile::tempdir().unwrap();
    let url = testbed.crates_io_url().to_string();
    let output = exec(
        &testbed,
        "crates-io",
        &url,
        &[],
        &reporting_child("CARGO_REGISTRY_TOKEN", 0),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("child:set"), "{}", stdout(&output));
    let seen = std::fs::read_to_string(dir.path().join("seen.txt")).unwrap();
    assert!(
        seen.starts_with("cio_tp_"),
        "the child got a crates.io token"
    );
    // The parent printed it nowhere but in the mask command.
    let masked = assert_no_secret_leaks(&output, &[&seen]);
    assert!(masked.contains(&seen), "the token was masked: {masked:?}");
    let tokens = testbed.records().crates_io_tokens;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].token_sha256, sha256(&seen));
    assert!(tokens[0].revoked, "revoked when the command ended");
    assert!(stderr(&output).contains("Revoked"), "{}", stderr(&output));
}

#[tokio::test]
async fn exec_passes_the_exit_status_through_and_revokes_after_a_failure() {
    let testbed = testbed().await;
    testbed.add_crates_io_publisher("tiny", crates_io_publisher());
    let dir = tempfile::tempdir().unwrap();
    let url = testbed.crates_io_url().to_string();
    let output = exec(
        &testbed,
        "crates.io",
        &url,
        &[],
        &reporting_child("CARGO_REGISTRY_TOKEN", 7),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    let tokens = testbed.records().crates_io_tokens;
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].revoked, "revoked after the command failed");
}

#[cfg(unix)]
#[tokio::test]
async fn a_signal_reaches_the_command_and_the_token_is_revoked() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let testbed = testbed().await;
    testbed.add_crates_io_publisher("tiny", crates_io_publisher());
    let dir = tempfile::tempdir().unwrap();
    let url = testbed.crates_io_url().to_string();
    let script = "trap 'kill $! 2>/dev/null; echo child:terminated; exit 143' TERM; touch started; sleep 60 >/dev/null 2>&1 & wait";
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_trustpub"));
    command
        .args([
            "exec",
            "crates-io",
            "--registry-url",
            &url,
            "--",
            "sh",
            "-c",
            script,
        ])
        .current_dir(dir.path())
        .env_clear()
        .envs(testbed.github_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    let pid = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dir.path().join("started").exists() {
        assert!(Instant::now() < deadline, "the command never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill(pid, Signal::SIGTERM).unwrap();
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("trustpub ends after the signal")
        .unwrap();
    assert_eq!(output.status.code(), Some(143), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("child:terminated"),
        "the command got the SIGTERM: {}",
        stdout(&output)
    );
    let tokens = testbed.records().crates_io_tokens;
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].revoked, "revoked after the signal");
}

#[tokio::test]
async fn a_refused_exchange_never_runs_the_command() {
    let testbed = testbed().await;
    // A publisher for another workflow file: crates.io refuses the token.
    testbed.add_crates_io_publisher(
        "tiny",
        CratesIoPublisher::new("octo-org", "octo-repo", 5_050_505, "publish.yml"),
    );
    let dir = tempfile::tempdir().unwrap();
    let url = testbed.crates_io_url().to_string();
    let output = exec(
        &testbed,
        "crates-io",
        &url,
        &[],
        &reporting_child("CARGO_REGISTRY_TOKEN", 0),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        !dir.path().join("seen.txt").exists(),
        "the command never ran"
    );
    assert!(!stdout(&output).contains("child:"), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("crates.io refused the trusted-publishing exchange"),
        "{err}"
    );
    assert!(
        err.contains("the calling workflow's file `release.yml`"),
        "{err}"
    );
    assert!(testbed.records().crates_io_tokens.is_empty());
}

#[tokio::test]
async fn rubygems_and_nuget_keys_reach_their_variables() {
    let testbed = testbed().await;
    testbed.add_rubygems_publisher(
        "tiny-gem",
        RubygemsPublisher::new("octo-org", "octo-repo", "release.yml"),
    );
    testbed.add_nuget_policy(
        "octo-user",
        NugetPolicy::new("octo-org", "octo-repo", "release.yml"),
    );
    let dir = tempfile::tempdir().unwrap();

    let url = testbed.rubygems_url().to_string();
    let output = exec(
        &testbed,
        "rubygems",
        &url,
        &[],
        &reporting_child("GEM_HOST_API_KEY", 0),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("child:set"));
    let seen = std::fs::read_to_string(dir.path().join("seen.txt")).unwrap();
    assert_no_secret_leaks(&output, &[&seen]);
    let keys = testbed.records().rubygems_keys;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].key_sha256, sha256(&seen));

    let url = testbed.nuget_url().to_string();
    // NuGet needs the account that owns the policy.
    let output = exec(
        &testbed,
        "nuget",
        &url,
        &[],
        &reporting_child("NUGET_API_KEY", 0),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--user NAME"),
        "{}",
        stderr(&output)
    );
    let output = exec(
        &testbed,
        "nuget.org",
        &url,
        &["--user", "octo-user"],
        &reporting_child("NUGET_API_KEY", 0),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("child:set"));
    let seen = std::fs::read_to_string(dir.path().join("seen.txt")).unwrap();
    assert_no_secret_leaks(&output, &[&seen]);
    let keys = testbed.records().nuget_keys;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].username, "octo-user");
}

#[tokio::test]
async fn exchange_writes_github_output_and_revoke_cleans_up() {
    let testbed = testbed().await;
    testbed.add_crates_io_publisher("tiny", crates_io_publisher());
    let dir = tempfile::tempdir().unwrap();
    let url = testbed.crates_io_url().to_string();
    let github_output = dir.path().join("github_output");
    std::fs::write(&github_output, "earlier=1\n").unwrap();
    let mut env = testbed.github_env();
    env.insert("GITHUB_OUTPUT".into(), github_output.display().to_string());
    let output = trustpub(
        &[
            "exchange",
            "crates-io",
            "--registry-url",
            &url,
            "--format",
            "github-output",
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written = std::fs::read_to_string(&github_output).unwrap();
    assert!(written.starts_with("earlier=1\ntoken=cio_tp_"), "{written}");
    assert!(
        written.contains("variable=CARGO_REGISTRY_TOKEN\n"),
        "{written}"
    );
    let token = written
        .lines()
        .find_map(|l| l.strip_prefix("token="))
        .unwrap()
        .to_owned();
    assert_no_secret_leaks(&output, &[&token]);

    // `--output FILE` is private to its owner.
    let file = dir.path().join("credential.json");
    let output = trustpub(
        &[
            "exchange",
            "crates-io",
            "--registry-url",
            &url,
            "--output",
            file.to_str().unwrap(),
        ],
        &env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(document["schema"], "trustpub.credential/v1");
    assert_eq!(document["variable"], "CARGO_REGISTRY_TOKEN");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The cleanup step: the token from the registry's variable.
    let mut revoke_env = env.clone();
    revoke_env.insert("CARGO_REGISTRY_TOKEN".into(), token.clone());
    let output = trustpub(
        &["revoke", "crates-io", "--registry-url", &url],
        &revoke_env,
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let tokens = testbed.records().crates_io_tokens;
    assert_eq!(tokens.len(), 2);
    let first = tokens
        .iter()
        .find(|t| t.token_sha256 == sha256(&token))
        .unwrap();
    assert!(first.revoked);
    assert!(
        !tokens.iter().all(|t| t.revoked),
        "the other one is still live"
    );
}

#[tokio::test]
async fn doctor_crates_io_exchanges_and_revokes_at_once() {
    let testbed = testbed().await;
    testbed.add_crates_io_publisher("tiny", crates_io_publisher());
    let dir = tempfile::tempdir().unwrap();
    let url = testbed.crates_io_url().to_string();
    let output = trustpub(
        &[
            "doctor",
            "crates-io",
            "--registry-url",
            &url,
            "--expect-workflow",
            "release.yml",
        ],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    assert!(out.contains("revoked it at once"), "{out}");
    assert!(out.contains("Workflow filename"), "{out}");
    let tokens = testbed.records().crates_io_tokens;
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].revoked);

    // A publisher for another file: the doctor says which and exits 3.
    let testbed = testbed::Testbed::start(Default::default()).await.unwrap();
    testbed.add_rubygems_publisher(
        "tiny-gem",
        RubygemsPublisher::new("octo-org", "octo-repo", "publish.yml"),
    );
    let url = testbed.rubygems_url().to_string();
    let output = trustpub(
        &["doctor", "rubygems", "--registry-url", &url],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(3), "{out}\n{}", stderr(&output));
    assert!(out.contains("bare 404"), "{out}");
}

/// A tiny crate, published with `cargo publish` through `trustpub exec crates-io` to the
/// testbed's sparse registry, then fetched back by cargo.
#[tokio::test]
async fn cargo_publishes_through_exec_and_fetches_the_crate_back() {
    let testbed = testbed().await;
    testbed.add_crates_io_publisher("trustpub-tiny", crates_io_publisher());
    let dir = tempfile::tempdir().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let krate = dir.path().join("tiny");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"trustpub-tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"A crate for the testbed\"\nlicense = \"MIT\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(krate.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").unwrap();
    let mut env: BTreeMap<String, String> = testbed.github_env();
    let cargo_home = dir.path().join("cargo-home");
    env.insert("CARGO_HOME".into(), cargo_home.display().to_string());
    env.insert(
        "CARGO_HTTP_CAINFO".into(),
        testbed.ca_file().display().to_string(),
    );
    env.insert(
        "CARGO_REGISTRIES_TESTBED_INDEX".into(),
        testbed.crates_io_index_url(),
    );
    env.insert("CARGO_NET_RETRY".into(), "0".into());
    if let Ok(rustup) = std::env::var("RUSTUP_HOME") {
        env.insert("RUSTUP_HOME".into(), rustup);
    }
    // cargo reads an alternative registry's token from CARGO_REGISTRIES_<NAME>_TOKEN.
    let script = format!(
        "CARGO_REGISTRIES_TESTBED_TOKEN=\"$CARGO_REGISTRY_TOKEN\" exec '{cargo}' publish --registry testbed --no-verify --allow-dirty"
    );
    let url = testbed.crates_io_url().to_string();
    let output = trustpub(
        &[
            "exec",
            "crates-io",
            "--registry-url",
            &url,
            "--",
            "sh",
            "-c",
            &script,
        ],
        &env,
        &krate,
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let tokens = testbed.records().crates_io_tokens;
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].revoked, "revoked after cargo publish");
    let versions = testbed.crates_io_versions("trustpub-tiny");
    assert_eq!(
        versions.len(),
        1,
        "{:?}",
        testbed.records().crates_published
    );
    assert_eq!(versions[0].version, "0.1.0");

    // A consumer fetches it from the sparse index.
    let consumer = dir.path().join("consumer");
    std::fs::create_dir_all(consumer.join("src")).unwrap();
    std::fs::write(
        consumer.join("Cargo.toml"),
        "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\ntrustpub-tiny = { version = \"0.1.0\", registry = \"testbed\" }\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(consumer.join("src/lib.rs"), "").unwrap();
    let mut command = tokio::process::Command::new(&cargo);
    command
        .args(["fetch"])
        .current_dir(&consumer)
        .env_clear()
        .envs(&env)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default());
    let fetched = command.output().await.unwrap();
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let lock = std::fs::read_to_string(consumer.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"trustpub-tiny\""), "{lock}");
}

/// `gem push` of a tiny gem through `trustpub exec rubygems` to the testbed's RubyGems.org.
#[tokio::test]
async fn gem_pushes_through_exec() {
    let Some(gem) = tools::require_on_path("gem") else {
        return;
    };
    let testbed = testbed().await;
    testbed.add_rubygems_publisher(
        "trustpub_tiny",
        RubygemsPublisher::new("octo-org", "octo-repo", "release.yml"),
    );
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("gem");
    std::fs::create_dir_all(source.join("lib")).unwrap();
    std::fs::write(
        source.join("lib/trustpub_tiny.rb"),
        "module TrustpubTiny; end\n",
    )
    .unwrap();
    std::fs::write(
        source.join("trustpub_tiny.gemspec"),
        "Gem::Specification.new do |s|\n  s.name = 'trustpub_tiny'\n  s.version = '0.1.0'\n  s.summary = 'A gem for the testbed'\n  s.authors = ['trustpub']\n  s.license = 'MIT'\n  s.files = ['lib/trustpub_tiny.rb']\nend\n",
    )
    .unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let built = tokio::process::Command::new(&gem)
        .args(["build", "trustpub_tiny.gemspec"])
        .current_dir(&source)
        .env("HOME", &home)
        .output()
        .await
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut env = testbed.github_env();
    env.insert("HOME".into(), home.display().to_string());
    let url = testbed.rubygems_url().to_string();
    let host = url.trim_end_matches('/').to_owned();
    let gem_path = gem.display().to_string();
    let output = trustpub(
        &[
            "exec",
            "rubygems",
            "--registry-url",
            &url,
            "--",
            &gem_path,
            "push",
            "trustpub_tiny-0.1.0.gem",
            "--host",
            &host,
        ],
        &env,
        &source,
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let key = testbed.records().rubygems_keys;
    assert_eq!(key.len(), 1);
    let versions = testbed.rubygems_versions("trustpub_tiny");
    assert_eq!(versions.len(), 1, "{:?}", testbed.records().gems_pushed);
}

#[tokio::test]
async fn unknown_registries_and_missing_commands_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let output = trustpub(
        &["exec", "pypi", "--", "true"],
        &BTreeMap::new(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "`pypi` is not a registry the broker knows: use one of crates-io, rubygems, nuget"
        ),
        "{}",
        stderr(&output)
    );
    let output = trustpub(&["exec", "crates-io"], &BTreeMap::new(), dir.path()).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[tokio::test]
async fn doctor_explains_captured_claims_offline_with_the_registry_s_workflow_claim() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // A job in a reusable workflow: crates.io matches the caller, NuGet the called file.
    let claims = serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "https://www.nuget.org",
        "iat": now, "nbf": now, "exp": now + 300,
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "repository_owner_id": "5050505",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/pack.yml@refs/tags/v1",
        "event_name": "push",
    });
    let file = dir.path().join("claims.json");
    std::fs::write(&file, claims.to_string()).unwrap();
    let output = trustpub(
        &[
            "doctor",
            "nuget",
            "--user",
            "octo-user",
            "--token-file",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
        &BTreeMap::new(),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let document: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(document["registry"], "nuget");
    let form = document.to_string();
    assert!(form.contains("\"value\":\"pack.yml\""), "{form}");

    let output = trustpub(
        &[
            "doctor",
            "crates.io",
            "--token-file",
            file.to_str().unwrap(),
            "--expect-workflow",
            "pack.yml",
        ],
        &BTreeMap::new(),
        dir.path(),
    )
    .await;
    let out = stdout(&output);
    // The token is for NuGet's audience and crates.io matches `release.yml`: both are errors.
    assert_eq!(output.status.code(), Some(7), "{out}\n{}", stderr(&output));
    assert!(out.contains("workflow-mismatch"), "{out}");
    assert!(out.contains("audience-mismatch"), "{out}");
}

/// A credential is never printed on a terminal without `--reveal` (stdout made a terminal with
/// util-linux `script`); nothing is minted.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn exchange_refuses_a_terminal_without_reveal() {
    let Some(script) = tools::require_on_path("script") else {
        return;
    };
    let testbed = testbed().await;
    testbed.add_crates_io_publisher("tiny", crates_io_publisher());
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "'{}' exchange crates-io --registry-url '{}' --format env",
        env!("CARGO_BIN_EXE_trustpub"),
        testbed.crates_io_url()
    );
    let output = tokio::process::Command::new(script)
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(dir.path())
        .env_clear()
        .envs(testbed.github_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("refusing to print a registry credential on a terminal"),
        "{text}"
    );
    assert!(
        testbed.records().crates_io_tokens.is_empty(),
        "nothing minted"
    );
}

/// A 5xx from the registry is retried with a fresh ID token (every registry refuses a reused
/// one); a refusal is not retried.
#[tokio::test]
async fn a_failed_exchange_is_retried_with_a_fresh_id_token() {
    let testbed = testbed().await;
    testbed.add_rubygems_publisher(
        "tiny-gem",
        RubygemsPublisher::new("octo-org", "octo-repo", "release.yml"),
    );
    testbed.rubygems_faults().fail_next_exchanges(1, 503);
    let dir = tempfile::tempdir().unwrap();
    let url = testbed.rubygems_url().to_string();
    let output = exec(
        &testbed,
        "rubygems",
        &url,
        &[],
        &reporting_child("GEM_HOST_API_KEY", 0),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let exchanges = testbed.records().rubygems_exchanges;
    assert_eq!(exchanges.len(), 2, "{exchanges:?}");
    assert_eq!(exchanges[0].status, 503);
    assert_ne!(exchanges[0].jti, exchanges[1].jti, "a fresh ID token");
    assert_eq!(testbed.records().rubygems_keys.len(), 1);

    // A refusal (a publisher for another workflow) is final: one request.
    let testbed = testbed::Testbed::start(Default::default()).await.unwrap();
    testbed.add_crates_io_publisher(
        "tiny",
        CratesIoPublisher::new("octo-org", "octo-repo", 5_050_505, "publish.yml"),
    );
    let url = testbed.crates_io_url().to_string();
    let output = exec(
        &testbed,
        "crates-io",
        &url,
        &[],
        &reporting_child("CARGO_REGISTRY_TOKEN", 0),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(testbed.records().crates_io_exchanges.len(), 1);
}
