//! The standalone `testbed serve` binary.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[tokio::test]
async fn serve_describes_itself_and_writes_state_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let describe = dir.path().join("testbed.json");
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_testbed"))
        .args([
            "serve",
            "--pypi-publisher",
            "sampleproject=octo-org/octo-repo/release.yml",
            "--npm-publisher",
            "@demo/pkg=octo-org/octo-repo/release.yml:npm",
        ])
        .arg("--describe-to")
        .arg(&describe)
        .arg("--state-file")
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !describe.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no description written"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let description: Value =
        serde_json::from_str(&fs_err::read_to_string(&describe).unwrap()).unwrap();
    assert_eq!(description["version"], 1);
    assert_eq!(description["npm_audience"], "npm:127.0.0.1");
    assert_eq!(description["rubygems_audience"], "rubygems.org");
    assert_eq!(description["nuget_audience"], "https://www.nuget.org");
    let crates_io_url = description["crates_io_url"].as_str().unwrap();
    assert_eq!(
        description["crates_io_audience"].as_str().unwrap(),
        crates_io_url
            .trim_start_matches("https://")
            .trim_end_matches('/')
    );
    assert_eq!(
        description["crates_io_index_url"].as_str().unwrap(),
        format!("sparse+{crates_io_url}index/")
    );
    assert_eq!(
        description["github_env"]["GITHUB_REPOSITORY"],
        "octo-org/octo-repo"
    );
    let trusted_root: Value = serde_json::from_str(
        &fs_err::read_to_string(description["sigstore_trusted_root"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        format!("{}/", trusted_root["tlogs"][0]["baseUrl"].as_str().unwrap()),
        description["rekor_url"].as_str().unwrap()
    );
    let trust_config: Value = serde_json::from_str(
        &fs_err::read_to_string(description["sigstore_trust_config"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        format!(
            "{}/",
            trust_config["signingConfig"]["caUrls"][0]["url"]
                .as_str()
                .unwrap()
        ),
        description["fulcio_url"].as_str().unwrap()
    );
    let ca = fs_err::read(description["ca_file"].as_str().unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();

    // A full mint through the running binary.
    let env = &description["github_env"];
    let token_url = format!(
        "{}&audience=pypi",
        env["ACTIONS_ID_TOKEN_REQUEST_URL"].as_str().unwrap()
    );
    let id: Value = http
        .get(token_url)
        .bearer_auth(env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mint_url = format!(
        "{}_/oidc/mint-token",
        description["pypi_url"].as_str().unwrap()
    );
    let minted = http
        .post(mint_url)
        .json(&serde_json::json!({"token": id["value"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), 200);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the binary did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    let records: Value = serde_json::from_str(&fs_err::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(records["mints"][0]["projects"][0], "sampleproject");
    assert_eq!(records["tokens_issued"].as_array().unwrap().len(), 1);
}
