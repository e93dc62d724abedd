//! `action/run.sh`: the inputs read as gh-action-pypi-publish reads them (with a stand-in
//! binary that records what it was given), then the action's two steps with the real binary
//! against the testbed.

use std::collections::BTreeMap;
use std::path::Path;

use super::support::*;
use crate::common;

/// Runs run.sh with `inputs` (INPUT_* names) and `ambient` variables, the binary being a
/// script that records its arguments and credential variables and exits with `exit_code`.
/// Returns (output, arguments, credentials seen).
async fn run_with_recorder(
    bash: &Path,
    inputs: &[(&str, &str)],
    ambient: &[(&str, &str)],
    exit_code: i32,
) -> (std::process::Output, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let recorder = dir.path().join("trustpub-recorder");
    std::fs::write(
        &recorder,
        format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" >\"$RECORD_DIR/args\"\n\
             {{ echo \"TWINE_PASSWORD=${{TWINE_PASSWORD-<unset>}}\"; echo \"NODE_AUTH_TOKEN=${{NODE_AUTH_TOKEN-<unset>}}\"; }} >\"$RECORD_DIR/credentials\"\n\
             exit {exit_code}\n"
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut env: BTreeMap<String, String> = inputs
        .iter()
        .chain(ambient)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.insert(
        "TRUSTPUB_BINARY".into(),
        recorder.to_str().unwrap().to_owned(),
    );
    env.insert("RECORD_DIR".into(), dir.path().to_str().unwrap().to_owned());
    let output = run_script(bash, &workspace().join("action/run.sh"), &env, dir.path()).await;
    let args = std::fs::read_to_string(dir.path().join("args"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    let credentials = std::fs::read_to_string(dir.path().join("credentials")).unwrap_or_default();
    (output, args, credentials)
}

const PYPI_DEFAULT_ARGS: &[&str] = &[
    "-v",
    "pypi",
    "upload",
    "--repository-url",
    "https://upload.pypi.org/legacy/",
    "--packages-dir",
    "dist",
    "--user",
    "__token__",
    "--verify-metadata",
    "true",
    "--skip-existing",
    "false",
    "--print-hash",
    "true",
];

#[tokio::test]
async fn run_sh_reads_inputs_as_gh_action_pypi_publish_does() {
    let Some(bash) = bash() else { return };

    // Nothing set: upstream's defaults, trusted publishing, attestations left to trustpub.
    let (output, args, credentials) = run_with_recorder(&bash, &[], &[], 0).await;
    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(args, PYPI_DEFAULT_ARGS);
    assert!(
        credentials.contains("TWINE_PASSWORD=<unset>"),
        "{credentials}"
    );

    // Booleans: only `false` (any case) is false; anything else, even `no`, is true.
    let (_, args, _) = run_with_recorder(
        &bash,
        &[
            ("INPUT_VERBOSE", "FALSE"),
            ("INPUT_PRINT_HASH", "False"),
            ("INPUT_VERIFY_METADATA", "false"),
            ("INPUT_SKIP_EXISTING", "no"),
            ("INPUT_ATTESTATIONS", "false"),
            ("INPUT_DRY_RUN", "True"),
        ],
        &[],
        0,
    )
    .await;
    assert_eq!(
        args,
        [
            "pypi",
            "upload",
            "--repository-url",
            "https://upload.pypi.org/legacy/",
            "--packages-dir",
            "dist",
            "--user",
            "__token__",
            "--verify-metadata",
            "false",
            "--skip-existing",
            "true",
            "--print-hash",
            "false",
            "--attestations",
            "false",
            "--dry-run",
        ]
    );

    // print-hash off but verbose on: upstream still prints the hashes.
    let (_, args, _) = run_with_recorder(&bash, &[("INPUT_PRINT_HASH", "false")], &[], 0).await;
    assert_eq!(args, PYPI_DEFAULT_ARGS);

    // A deprecated alias set by the workflow: used, with a warning; the kebab-case input wins.
    let (output, args, _) = run_with_recorder(
        &bash,
        &[
            (
                "INPUT_REPOSITORY_URL_DEPRECATED",
                "https://test.pypi.org/legacy/",
            ),
            ("INPUT_PACKAGES_DIR_DEPRECATED", "dist"),
            ("INPUT_PACKAGES_DIR", "wheelhouse dir"),
        ],
        &[],
        0,
    )
    .await;
    assert!(
        stdout(&output).contains(
            "::warning title=Deprecated input::The input `repository_url` is deprecated: use `repository-url` instead."
        ),
        "{}",
        both(&output)
    );
    assert!(
        !stdout(&output).contains("`packages_dir` is deprecated"),
        "an alias at its default was not set by the workflow"
    );
    assert_eq!(args[4], "https://test.pypi.org/legacy/");
    assert_eq!(args[6], "wheelhouse dir");

    // A password: a token upload. The password goes in TWINE_PASSWORD, never on the command
    // line nor in the printed command; attestations are ignored with upstream's warning.
    let secret = "pypi-AgEIcHlwaS5vcmc-secret-value";
    let (output, args, credentials) = run_with_recorder(
        &bash,
        &[("INPUT_PASSWORD", secret)],
        &[
            ("TWINE_USERNAME", "someone"),
            ("PYPI_TOKEN", "pypi-ambient"),
        ],
        0,
    )
    .await;
    assert!(output.status.success(), "{}", both(&output));
    assert!(
        !args.iter().any(|arg| arg.contains("secret-value")),
        "{args:?}"
    );
    assert_eq!(&args[args.len() - 2..], ["--attestations", "false"]);
    assert!(
        credentials.contains(&format!("TWINE_PASSWORD={secret}")),
        "{credentials}"
    );
    let out = stdout(&output);
    assert!(!out.contains("secret-value"), "{out}");
    assert!(!out.contains("pypi-ambient"), "{out}");
    assert!(
        out.contains("::warning title=attestations input ignored::"),
        "{out}"
    );
    assert!(
        out.contains("(with the password input as TWINE_PASSWORD, not shown)"),
        "{out}"
    );
    assert!(
        out.contains("Ignoring TWINE_USERNAME from the environment"),
        "{out}"
    );

    // Trusted publishing to an index other than PyPI/TestPyPI: attestations ignored, warned.
    let (output, args, _) = run_with_recorder(
        &bash,
        &[("INPUT_REPOSITORY_URL", "https://pypi.example.com/legacy/")],
        &[],
        0,
    )
    .await;
    assert!(
        stdout(&output).contains("does not support PEP 740 attestations"),
        "{}",
        both(&output)
    );
    assert_eq!(&args[args.len() - 2..], ["--attestations", "false"]);

    // An ambient TWINE_PASSWORD does not turn trusted publishing off.
    let (_, args, credentials) =
        run_with_recorder(&bash, &[], &[("TWINE_PASSWORD", "pypi-leftover")], 0).await;
    assert_eq!(args, PYPI_DEFAULT_ARGS);
    assert!(
        credentials.contains("TWINE_PASSWORD=<unset>"),
        "{credentials}"
    );

    // trustpub's exit code is the step's.
    let (output, _, _) = run_with_recorder(&bash, &[], &[], 6).await;
    assert_eq!(output.status.code(), Some(6));
}

#[tokio::test]
async fn run_sh_maps_npm_inputs() {
    let Some(bash) = bash() else { return };
    let (output, args, credentials) = run_with_recorder(
        &bash,
        &[
            ("INPUT_COMMAND", "npm"),
            ("INPUT_VERBOSE", "false"),
            ("INPUT_REGISTRY", "https://npm.example.com/"),
            ("INPUT_TAG", "next"),
            ("INPUT_ACCESS", "Public"),
            ("INPUT_PROVENANCE", "false"),
            ("INPUT_PACKAGES_DIR", "tarballs"),
            ("INPUT_DRY_RUN", "true"),
        ],
        // actions/setup-node leaves a placeholder NODE_AUTH_TOKEN behind.
        &[("NODE_AUTH_TOKEN", "XXXXX-XXXXX-XXXXX-XXXXX")],
        0,
    )
    .await;
    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(
        args,
        [
            "npm",
            "publish",
            "--registry",
            "https://npm.example.com/",
            "--tag",
            "next",
            "--access",
            "public",
            "--no-provenance",
            "--dry-run",
            "--",
            "tarballs",
        ]
    );
    assert!(
        credentials.contains("NODE_AUTH_TOKEN=<unset>"),
        "{credentials}"
    );

    // Defaults; provenance left to trustpub; no registry unless named (npm's order decides
    // per package); a password is an npm token and turns trusted publishing off, as upstream.
    let (_, args, credentials) = run_with_recorder(
        &bash,
        &[("INPUT_COMMAND", "npm"), ("INPUT_PASSWORD", "npm_token")],
        &[],
        0,
    )
    .await;
    assert_eq!(
        args,
        [
            "-v",
            "npm",
            "publish",
            "--no-trusted-publishing",
            "--",
            "dist"
        ]
    );
    assert!(
        credentials.contains("NODE_AUTH_TOKEN=npm_token"),
        "{credentials}"
    );

    let (output, args, _) = run_with_recorder(&bash, &[("INPUT_COMMAND", "cargo")], &[], 0).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(args.is_empty(), "nothing ran");
    assert!(
        stdout(&output)
            .contains("::error title=trustpub::the command input is `cargo`: use `pypi`, `npm`, `exec` or `exchange`"),
        "{}",
        both(&output)
    );
}

#[tokio::test]
async fn run_sh_maps_exec_and_exchange_inputs() {
    let Some(bash) = bash() else { return };
    // `run` goes to bash after `--`; the PyPI default user is not a registry account.
    let (output, args, _) = run_with_recorder(
        &bash,
        &[
            ("INPUT_COMMAND", "exec"),
            ("INPUT_REGISTRY", "Crates-IO"),
            ("INPUT_USER", "__token__"),
            ("INPUT_RUN", "cargo publish --locked"),
        ],
        &[],
        5,
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(5),
        "the command's status is the step's"
    );
    assert_eq!(
        args,
        [
            "-v",
            "exec",
            "crates-io",
            "--",
            "bash",
            "-c",
            "cargo publish --locked"
        ]
    );

    let (output, args, _) = run_with_recorder(
        &bash,
        &[
            ("INPUT_COMMAND", "exchange"),
            ("INPUT_VERBOSE", "false"),
            ("INPUT_REGISTRY", "nuget"),
            ("INPUT_REGISTRY_URL", "https://nuget.example/"),
            ("INPUT_AUDIENCE", "api://nuget"),
            ("INPUT_USER", "octo-user"),
        ],
        &[],
        0,
    )
    .await;
    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(
        args,
        [
            "exchange",
            "nuget",
            "--registry-url",
            "https://nuget.example/",
            "--audience",
            "api://nuget",
            "--user",
            "octo-user",
            "--format",
            "github-output",
        ]
    );

    for (inputs, message) in [
        (
            vec![("INPUT_COMMAND", "exec"), ("INPUT_RUN", "true")],
            "command: exec needs the registry input",
        ),
        (
            vec![("INPUT_COMMAND", "exec"), ("INPUT_REGISTRY", "rubygems")],
            "command: exec needs the run input",
        ),
        (
            vec![
                ("INPUT_COMMAND", "exchange"),
                ("INPUT_REGISTRY", "rubygems"),
                ("INPUT_DRY_RUN", "true"),
            ],
            "dry-run applies to command: pypi and npm",
        ),
    ] {
        let (output, args, _) = run_with_recorder(&bash, &inputs, &[], 0).await;
        assert_eq!(output.status.code(), Some(2), "{}", both(&output));
        assert!(args.is_empty(), "nothing ran");
        assert!(stdout(&output).contains(message), "{}", both(&output));
    }
}

/// Proxies, extra CA bundles and planted ID tokens in the job's environment never reach
/// trustpub; a CA named with TRUSTPUB_CA_FILE does, as `--ca-file`.
#[tokio::test]
async fn run_sh_clears_proxies_cas_and_planted_tokens() {
    let Some(bash) = bash() else { return };
    let dir = tempfile::tempdir().unwrap();
    let recorder = dir.path().join("env-recorder");
    std::fs::write(
        &recorder,
        "#!/usr/bin/env bash
printf '%s\\n' \"$@\" >\"$RECORD_DIR/args\"\nenv >\"$RECORD_DIR/env\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let planted = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "NPM_ID_TOKEN",
        "SIGSTORE_ID_TOKEN",
    ];
    for command in ["pypi", "npm"] {
        let mut env: BTreeMap<String, String> = planted
            .iter()
            .map(|name| ((*name).to_owned(), format!("planted-{name}")))
            .collect();
        env.insert("INPUT_COMMAND".into(), command.into());
        env.insert("TRUSTPUB_CA_FILE".into(), "/etc/corp-ca.pem".into());
        env.insert("TRUSTPUB_BINARY".into(), recorder.to_str().unwrap().into());
        env.insert("RECORD_DIR".into(), dir.path().to_str().unwrap().into());
        let output = run_script(&bash, &workspace().join("action/run.sh"), &env, dir.path()).await;
        assert!(output.status.success(), "{}", both(&output));
        let seen = std::fs::read_to_string(dir.path().join("env")).unwrap();
        for name in planted {
            assert!(
                !seen
                    .lines()
                    .any(|line| line.starts_with(&format!("{name}="))),
                "{command}: {name} reached trustpub"
            );
            assert!(
                stdout(&output).contains(&format!("Clearing {name} from the environment")),
                "{}",
                both(&output)
            );
        }
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert!(
            args.starts_with("--ca-file\n/etc/corp-ca.pem\n"),
            "{command}: {args}"
        );
    }
}

// ----- The action's two steps against the testbed, with the real binary ----------------------

/// Runs the action's steps as the runner would for a workflow step `with:` these inputs:
/// install.sh (with TRUSTPUB_BINARY = the built binary, as a from-source job would set it),
/// then run.sh with the install step's output and the job's GitHub environment.
async fn run_action(
    bash: &Path,
    with: &[(&str, &str)],
    job_env: &BTreeMap<String, String>,
    workdir: &Path,
) -> std::process::Output {
    let action = read_yaml("action.yml");
    let runner_dir = tempfile::tempdir().unwrap();
    let github_output = runner_dir.path().join("github_output");
    std::fs::write(&github_output, "").unwrap();

    let mut install_env = step_env(&action, "Install trustpub", with, &[]);
    install_env.extend(job_env.clone());
    install_env.insert(
        "TRUSTPUB_BINARY".into(),
        env!("CARGO_BIN_EXE_trustpub").into(),
    );
    install_env.insert(
        "GITHUB_OUTPUT".into(),
        github_output.to_str().unwrap().into(),
    );
    install_env.insert(
        "RUNNER_TEMP".into(),
        runner_dir.path().to_str().unwrap().into(),
    );
    let install = run_script(
        bash,
        &workspace().join("action/install.sh"),
        &install_env,
        workdir,
    )
    .await;
    assert!(install.status.success(), "install: {}", both(&install));
    let path = output_value(&github_output, "path").expect("install.sh sets the path output");

    let mut run_env = job_env.clone();
    // run.sh clears SSL_CERT_FILE; the testbed's CA is named the deliberate way.
    if let Some(ca) = job_env.get("SSL_CERT_FILE") {
        run_env.insert("TRUSTPUB_CA_FILE".into(), ca.clone());
    }
    run_env.extend(step_env(
        &action,
        "Publish with trustpub",
        with,
        &[("steps.install.outputs.path", &path)],
    ));
    run_script(bash, &workspace().join("action/run.sh"), &run_env, workdir).await
}

fn register_publisher(testbed: &testbed::Testbed, project: &str) {
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    testbed.add_pypi_publisher(
        project,
        testbed::PypiPublisher::new(
            owner,
            repo,
            identity.repository_owner_id,
            &identity.workflow_file,
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_publishes_with_trusted_publishing_like_gh_action_pypi_publish() {
    let Some(bash) = bash() else { return };
    let testbed = common::testbed().await;
    register_publisher(&testbed, "action-sample");
    let dir = tempfile::tempdir().unwrap();
    common::write_wheel(&dir.path().join("dist"), "action-sample", "1.0.0");
    let url = testbed.pypi_upload_url().to_string();
    let env = testbed.github_env();
    let request_token = env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].clone();

    // The `with:` of a typical gh-action-pypi-publish step.
    let output = run_action(
        &bash,
        &[
            ("packages-dir", "dist/"),
            ("repository-url", url.as_str()),
            ("verbose", "true"),
            ("print-hash", "true"),
            ("skip-existing", "false"),
        ],
        &env,
        dir.path(),
    )
    .await;
    assert!(output.status.success(), "{}", both(&output));
    let masked = common::assert_no_secret_leaks(&output, &[&request_token]);
    assert_eq!(
        masked.len(),
        2,
        "the ID token and the minted token are masked"
    );

    let files = testbed.pypi_files("action-sample");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].filename, "action_sample-1.0.0-py3-none-any.whl");
    let records = testbed.records();
    assert!(records.mints.iter().any(|mint| mint.succeeded()));
    assert_eq!(records.burns.len(), 1, "the minted token is burned");
    let out = stdout(&output);
    let running = out
        .lines()
        .find(|line| line.starts_with("Running: "))
        .expect("the command is printed");
    assert!(
        running.ends_with(&format!(
            " -v pypi upload --repository-url {url} --packages-dir dist/ --user __token__ --verify-metadata true --skip-existing false --print-hash true --attestations false"
        )),
        "{running}"
    );
    // The testbed's index is not PyPI: attestations are ignored with upstream's warning.
    assert!(
        out.contains("::warning title=attestations input ignored::"),
        "{out}"
    );

    // Re-running the step (skip-existing) uploads nothing and succeeds.
    let uploads = testbed.records().uploads.len();
    let output = run_action(
        &bash,
        &[
            ("packages-dir", "dist"),
            ("repository-url", url.as_str()),
            ("skip-existing", "true"),
        ],
        &testbed.github_env(),
        dir.path(),
    )
    .await;
    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(testbed.records().uploads.len(), uploads, "nothing re-sent");
}

/// Mints a real upload token on the testbed, as a maintainer would create an API token.
async fn api_token(testbed: &testbed::Testbed) -> String {
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(testbed.ca_pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let response = client
        .post(testbed.pypi_url().join("_/oidc/mint-token").unwrap())
        .json(&serde_json::json!({ "token": testbed.id_token("pypi").unwrap() }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_uploads_with_a_password_token() {
    let Some(bash) = bash() else { return };
    let testbed = common::testbed().await;
    register_publisher(&testbed, "token-sample");
    let token = api_token(&testbed).await;
    let mints = testbed.records().mints.len();
    let dir = tempfile::tempdir().unwrap();
    common::write_wheel(&dir.path().join("dist"), "token-sample", "2.0.0");
    let url = testbed.pypi_upload_url().to_string();

    // A job without `id-token: write`: no OIDC request variables, the token from a secret.
    let mut env = testbed.github_env();
    env.remove("ACTIONS_ID_TOKEN_REQUEST_URL");
    env.remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let output = run_action(
        &bash,
        &[
            ("password", token.as_str()),
            ("repository_url", url.as_str()),
        ],
        &env,
        dir.path(),
    )
    .await;
    assert!(output.status.success(), "{}", both(&output));
    let masked = common::assert_no_secret_leaks(&output, &[&token]);
    assert_eq!(masked, [token], "trustpub masks the password");
    let out = stdout(&output);
    assert!(
        out.contains("(with the password input as TWINE_PASSWORD, not shown)"),
        "{out}"
    );
    assert!(
        out.contains("The input `repository_url` is deprecated"),
        "{out}"
    );
    assert_eq!(testbed.pypi_files("token-sample").len(), 1);
    assert_eq!(
        testbed.records().mints.len(),
        mints,
        "no trusted publishing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_runs_a_command_with_a_crates_io_token_and_exchanges_one() {
    let Some(bash) = bash() else { return };
    let testbed = common::testbed().await;
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    testbed.add_crates_io_publisher(
        "action-crate",
        testbed::CratesIoPublisher::new(
            owner,
            repo,
            identity.repository_owner_id,
            &identity.workflow_file,
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let url = testbed.crates_io_url().to_string();
    let github_output = dir.path().join("step_output");
    std::fs::write(&github_output, "").unwrap();
    let mut env = testbed.github_env();
    env.insert(
        "GITHUB_OUTPUT".into(),
        github_output.to_str().unwrap().into(),
    );

    let output = run_action(
        &bash,
        &[
            ("command", "exec"),
            ("registry", "crates-io"),
            ("registry-url", url.as_str()),
            (
                "run",
                "if [ -n \"$CARGO_REGISTRY_TOKEN\" ]; then echo child:set; fi",
            ),
        ],
        &env,
        dir.path(),
    )
    .await;
    assert!(output.status.success(), "{}", both(&output));
    assert!(stdout(&output).contains("child:set"), "{}", both(&output));
    common::assert_no_secret_leaks(&output, &[]);
    let tokens = testbed.records().crates_io_tokens;
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].revoked, "revoked when `run` ended");

    let output = run_action(
        &bash,
        &[
            ("command", "exchange"),
            ("registry", "crates-io"),
            ("registry-url", url.as_str()),
        ],
        &env,
        dir.path(),
    )
    .await;
    assert!(output.status.success(), "{}", both(&output));
    let token = output_value(&github_output, "token").expect("the token output");
    assert!(token.starts_with("cio_tp_"));
    let masked = common::assert_no_secret_leaks(&output, &[&token]);
    assert!(masked.contains(&token), "masked before use: {masked:?}");
}
