//! The trust boundary, attacked: hostile indexes and registries on loopback (small HTTP
//! servers written here) try to take a token, redirect it elsewhere, inject a workflow command,
//! exhaust memory or hold the job; planted variables and events try to get a token where none
//! should be minted. Each test runs the compiled `trustpub` and shows the attack fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use testbed::{GithubIdentity, PypiPublisher, Testbed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// A hostile HTTP/1.1 server: one request per connection, answers chosen by a handler.

/// A request the hostile server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Header lines, as received.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the hostile server answers.
enum Reply {
    /// A complete answer.
    Full {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// `total` bytes of JSON-looking whitespace, streamed without a length (never allocated).
    Endless { total: u64 },
    /// Headers at once, then one byte of body every `every`, for as long as the client listens.
    Drip { every: Duration },
}

fn json(status: u16, value: serde_json::Value) -> Reply {
    Reply::Full {
        status,
        headers: vec![("Content-Type", "application/json".into())],
        body: value.to_string().into_bytes(),
    }
}

struct Hostile {
    origin: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Hostile {
    async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, handler.as_ref(), &log).await;
                });
            }
        });
        Self { origin, seen }
    }

    fn upload_url(&self) -> String {
        format!("{}/legacy/", self.origin)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.path).collect()
    }
}

async fn serve(
    mut stream: TcpStream,
    handler: &(dyn Fn(&Seen) -> Reply + Send + Sync),
    log: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = buffer[head_end..].to_vec();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    if let Some(length) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < length {
            let mut chunk = vec![0u8; 65536];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while !body.ends_with(b"0\r\n\r\n") {
            let mut chunk = vec![0u8; 65536];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    let seen = Seen {
        method,
        path,
        headers,
        body,
    };
    let reply = handler(&seen);
    log.lock().unwrap().push(seen);
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Hostile\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Reply::Endless { total } => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                )
                .await?;
            let block = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < total {
                stream.write_all(&block).await?;
                sent += block.len() as u64;
            }
        }
        Reply::Drip { every } => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                )
                .await?;
            for _ in 0..3000 {
                stream.write_all(b" ").await?;
                stream.flush().await?;
                tokio::time::sleep(every).await;
            }
        }
    }
    stream.shutdown().await
}

// ---------------------------------------------------------------------------------------------
// Running the binary.

/// Runs `trustpub` like [`trustpub`], with `stdin`, and measures the child's peak resident set
/// (`VmHWM`, polled from `/proc`) in KiB.
async fn run(
    args: &[&str],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    stdin: Option<&str>,
) -> (Output, u64, Duration) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_trustpub"));
    command.args(args).current_dir(cwd).env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(value) = std::env::var(key) {
            command.env(key, value);
        }
    }
    command
        .envs(env)
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let pid = child.id().unwrap();
    let peak = Arc::new(Mutex::new(0u64));
    let watcher = {
        let peak = peak.clone();
        tokio::spawn(async move {
            let status = format!("/proc/{pid}/status");
            while let Ok(text) = tokio::fs::read_to_string(&status).await {
                if let Some(kib) = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                {
                    let mut peak = peak.lock().unwrap();
                    *peak = (*peak).max(kib);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let output = child.wait_with_output().await.unwrap();
    let elapsed = started.elapsed();
    watcher.abort();
    let peak = *peak.lock().unwrap();
    (output, peak, elapsed)
}

/// The testbed's GitHub job environment, without the permission to hand `pypi` to a non-PyPI
/// index: what a job pointed at a hostile index has.
fn github_env(testbed: &Testbed) -> BTreeMap<String, String> {
    let mut env = testbed.github_env();
    env.remove("TRUSTPUB_PYPI_AUDIENCE");
    env
}

fn publisher(testbed: &Testbed) -> PypiPublisher {
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    PypiPublisher::new(owner, repo, identity.repository_owner_id, "release.yml")
}

/// Every line of both streams that the runner would take for a workflow command, except the
/// ones trustpub itself emits (masks and annotations with a title).
fn workflow_commands(output: &Output) -> Vec<String> {
    let mut found = Vec::new();
    for text in [stdout(output), stderr(output)] {
        for line in text.lines() {
            let trimmed = line.trim_start();
            let ours = trimmed.starts_with("::add-mask::")
                || trimmed.starts_with("::error title=")
                || trimmed.starts_with("::warning title=")
                || trimmed.starts_with("::notice title=");
            if (trimmed.starts_with("::") && !ours) || line.contains("##[") {
                found.push(line.to_owned());
            }
        }
    }
    found
}

fn jwt(claims: &serde_json::Value) -> String {
    let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes()),
        b64(b"not-a-signature")
    )
}

// ---------------------------------------------------------------------------------------------
// 1. Audience takeover.

#[tokio::test]
async fn an_index_cannot_collect_a_token_for_another_service() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "victim", "1.0");
    for audience in ["sigstore", "pypi", "sts.amazonaws.com"] {
        let index = Hostile::start(move |seen| match seen.path.as_str() {
            "/_/oidc/audience" => json(200, serde_json::json!({ "audience": audience })),
            _ => json(200, serde_json::json!({"token": "pypi-minted"})),
        })
        .await;
        let url = index.upload_url();
        let (output, _, _) = run(
            &["pypi", "upload", "--repository-url", &url],
            &github_env(&testbed),
            dir.path(),
            None,
        )
        .await;
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{audience}: {err}");
        assert!(
            err.contains(&format!("asked for the audience `{audience}`")),
            "{err}"
        );
        assert!(err.contains(&format!("--audience {audience}")), "{err}");
        assert!(
            !index.paths().iter().any(|p| p.contains("mint-token")),
            "nothing is sent to the mint: {:?}",
            index.paths()
        );
    }
    assert!(
        testbed.records().tokens_issued.is_empty(),
        "no ID token was even requested"
    );
}

// 2. Redirects.

#[tokio::test]
async fn a_redirect_from_the_mint_does_not_deliver_the_token_elsewhere() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "victim", "1.0");
    let thief = Hostile::start(|_| json(200, serde_json::json!({"token": "pypi-stolen"}))).await;
    let target = format!("{}/_/oidc/mint-token", thief.origin);
    let index = Hostile::start(move |seen| match seen.path.as_str() {
        "/_/oidc/audience" => json(200, serde_json::json!({"audience": "index.example"})),
        _ => Reply::Full {
            status: 307,
            headers: vec![("Location", target.clone())],
            body: Vec::new(),
        },
    })
    .await;
    let url = index.upload_url();
    let (output, _, _) = run(
        &["pypi", "upload", "--repository-url", &url],
        &github_env(&testbed),
        dir.path(),
        None,
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(thief.seen().is_empty(), "the redirect was followed");
    assert!(err.contains("a redirect to"), "{err}");
    assert!(err.contains("not followed"), "{err}");
    // The index itself got the token it asked for (it is the one the user chose).
    assert!(
        index
            .seen()
            .iter()
            .any(|s| s.method == "POST" && s.path == "/_/oidc/mint-token" && !s.body.is_empty())
    );
}

// 3. Planted token variables.

#[tokio::test]
async fn planted_token_variables_are_ignored_where_the_ci_can_mint() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    let planted = jwt(&serde_json::json!({
        "aud": "npm:registry.npmjs.org",
        "iss": "https://token.actions.githubusercontent.com",
        "repository": "attacker/planted",
        "iat": 1_900_000_000, "exp": 1_900_000_300,
    }));
    let mut env = testbed.github_env();
    env.insert("NPM_ID_TOKEN".into(), planted.clone());
    let args = [
        "-v",
        "token",
        "--audience",
        "npm:registry.npmjs.org",
        "--token-variable",
        "NPM_ID_TOKEN",
        "--claims",
    ];
    let (output, _, _) = run(&args, &env, dir.path(), None).await;
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(out.contains("octo-org/octo-repo"), "{out}");
    assert!(!out.contains("attacker/planted"), "{out}");
    assert!(err.contains("NPM_ID_TOKEN is set but not used"), "{err}");
    assert!(err.contains("from GitHub Actions"), "{err}");

    // An explicit --id-token-file is the user's choice, and the source is named.
    let file = dir.path().join("token.jwt");
    std::fs::write(&file, &planted).unwrap();
    let mut args: Vec<&str> = vec!["--id-token-file", file.to_str().unwrap()];
    args.extend_from_slice(&[
        "-v",
        "token",
        "--audience",
        "npm:registry.npmjs.org",
        "--claims",
    ]);
    let (output, _, _) = run(&args, &env, dir.path(), None).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("attacker/planted"));
    assert!(stderr(&output).contains("from --id-token-file"));
}

// 4. Secrets on argv.

#[tokio::test]
async fn a_password_on_the_command_line_is_warned_about_and_stdin_is_offered() {
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "tokened", "1.0");
    let index = Hostile::start(|_| Reply::Full {
        status: 200,
        headers: vec![],
        body: b"OK".to_vec(),
    })
    .await;
    let url = index.upload_url();
    let secret = "pypi-on-the-command-line-0123";
    let (output, _, _) = run(
        &[
            "-vvv",
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--password",
            secret,
        ],
        &BTreeMap::new(),
        dir.path(),
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--password was given on the command line"),
        "{}",
        stderr(&output)
    );
    assert_no_secret_leaks(&output, &[secret]);

    let from_stdin = "pypi-from-stdin-4567";
    let (output, _, _) = run(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--password-stdin",
        ],
        &BTreeMap::new(),
        dir.path(),
        Some(&format!("{from_stdin}\n")),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).contains("on the command line"));
    let auth = index
        .seen()
        .last()
        .unwrap()
        .header("authorization")
        .unwrap()
        .to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim_start_matches("Basic "))
        .unwrap();
    assert_eq!(decoded, format!("__token__:{from_stdin}").as_bytes());
}

// 5. The event policy reads the signed token; #10 item 3.

#[tokio::test]
async fn the_signed_event_wins_over_a_planted_environment() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("eventful", publisher(&testbed));
    testbed.set_identity(GithubIdentity {
        event_name: "pull_request_target".into(),
        ..testbed.identity()
    });
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "eventful", "1.0");
    let mut env = testbed.github_env();
    env.insert("GITHUB_EVENT_NAME".into(), "push".into());
    let url = testbed.pypi_upload_url().to_string();
    let (output, _, _) = run(
        &["pypi", "upload", "--repository-url", &url],
        &env,
        dir.path(),
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("from the token's signed `event_name` claim"),
        "{}",
        stderr(&output)
    );
    let records = testbed.records();
    assert!(records.mints.is_empty() && records.uploads.is_empty());

    // With the environment saying pull_request_target, no token is even requested.
    env.insert("GITHUB_EVENT_NAME".into(), "pull_request_target".into());
    let issued = testbed.records().tokens_issued.len();
    let (output, _, _) = run(
        &["pypi", "upload", "--repository-url", &url],
        &env,
        dir.path(),
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(3));
    assert!(stdout(&output).contains("::error title=Publishing refused for this event::"));
    assert_eq!(testbed.records().tokens_issued.len(), issued);
}

#[tokio::test]
async fn same_repository_pull_requests_publish_with_a_warning() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("from-a-branch", publisher(&testbed));
    testbed.set_identity(GithubIdentity {
        event_name: "pull_request".into(),
        ..testbed.identity()
    });
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "from-a-branch", "1.0");
    let url = testbed.pypi_upload_url().to_string();
    let (output, _, _) = run(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--allow-pull-request",
        ],
        &testbed.github_env(),
        dir.path(),
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("::warning title=Publishing from a pull request::"),
        "{}",
        stdout(&output)
    );
    assert!(stderr(&output).contains("--allow-pull-request has no effect"));
    assert_eq!(testbed.records().uploads.len(), 1);
}

#[tokio::test]
async fn fork_pull_requests_and_gitlab_fork_merge_requests_get_no_token() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "forked", "1.0");
    let url = testbed.pypi_upload_url().to_string();

    // GitHub gives a fork's pull_request run no ID token: explained.
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"pull_request":{"head":{"repo":{"fork":true,"full_name":"evil/fork"}}}}"#,
    )
    .unwrap();
    let mut env = testbed.github_env();
    env.remove("ACTIONS_ID_TOKEN_REQUEST_URL");
    env.remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    env.insert("GITHUB_EVENT_NAME".into(), "pull_request".into());
    env.insert("GITHUB_EVENT_PATH".into(), event.display().to_string());
    let (output, _, _) = run(
        &["pypi", "upload", "--repository-url", &url],
        &env,
        dir.path(),
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("pull request from a fork (evil/fork)"),
        "{}",
        stderr(&output)
    );

    // GitLab: a merge-request pipeline for a fork's merge request is refused outright.
    let env: BTreeMap<String, String> = [
        ("GITLAB_CI", "true"),
        ("CI_PROJECT_ID", "100"),
        ("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "200"),
        ("PYPI_ID_TOKEN", "x.y.z"),
        ("TRUSTPUB_PYPI_AUDIENCE", "pypi"),
        ("SSL_CERT_FILE", testbed.ca_file().to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let (output, _, _) = run(
        &["pypi", "upload", "--repository-url", &url],
        &env,
        dir.path(),
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("merge-request pipeline from a fork (source project 200"),
        "{}",
        stderr(&output)
    );
    assert!(testbed.records().mints.is_empty());
}

// 6. Proxies and extra CAs.

#[tokio::test]
async fn loopback_requests_bypass_the_proxy_and_extra_cas_are_named_once() {
    let testbed = testbed().await;
    testbed.add_pypi_publisher("proxied", publisher(&testbed));
    let proxy = Hostile::start(|_| Reply::Full {
        status: 502,
        headers: vec![],
        body: Vec::new(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "proxied", "1.0");
    let mut env = testbed.github_env();
    for name in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy"] {
        env.insert(name.into(), proxy.origin.clone());
    }
    let url = testbed.pypi_upload_url().to_string();
    let (output, _, _) = run(
        &["-v", "pypi", "upload", "--repository-url", &url],
        &env,
        dir.path(),
        None,
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        proxy.seen().is_empty(),
        "a loopback request went through the proxy"
    );
    assert_eq!(
        err.matches("extra CA certificates are trusted (SSL_CERT_FILE=")
            .count(),
        1,
        "{err}"
    );
}

// 7. Bounded reads.

#[tokio::test]
async fn a_400_mb_answer_is_cut_at_the_cap_with_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "flooded", "1.0");
    let index = Hostile::start(|_| Reply::Endless {
        total: 400 * 1024 * 1024,
    })
    .await;
    let url = index.upload_url();
    let (output, peak_kib, _) = run(
        &["pypi", "upload", "--repository-url", &url],
        &BTreeMap::new(),
        dir.path(),
        None,
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains("is larger than 1 MiB"), "{err}");
    assert!(err.contains("127.0.0.1:"), "the host is named: {err}");
    assert!(peak_kib > 0, "the peak RSS was measured");
    assert!(
        peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB is above 64 MiB"
    );
}

// 9. Workflow-command injection.

#[tokio::test]
async fn registry_text_cannot_inject_workflow_commands() {
    let testbed = testbed().await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "injected", "1.0");
    let payload = "nope\n::stop-commands::x\n::error::pwned\n##[set-env name=A;]b";
    let index = Hostile::start(move |seen| match seen.path.as_str() {
        "/_/oidc/audience" => json(200, serde_json::json!({"audience": "index.example"})),
        "/_/oidc/mint-token" => json(
            422,
            serde_json::json!({
                "message": payload,
                "errors": [{"code": "invalid-publisher", "description": payload}]
            }),
        ),
        _ => json(400, serde_json::json!({"message": payload})),
    })
    .await;
    let url = index.upload_url();
    // Trusted publishing: the mint's refusal.
    let (output, _, _) = run(
        &["-vv", "pypi", "upload", "--repository-url", &url],
        &github_env(&testbed),
        dir.path(),
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("stop-commands"),
        "the text is shown"
    );
    assert_eq!(workflow_commands(&output), Vec::<String>::new());
    // A token upload: the upload's refusal.
    let mut env = github_env(&testbed);
    env.insert("TWINE_PASSWORD".into(), "pypi-secret".into());
    let (output, _, _) = run(
        &["pypi", "upload", "--repository-url", &url],
        &env,
        dir.path(),
        None,
    )
    .await;
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert_eq!(workflow_commands(&output), Vec::<String>::new());
}

// 11. Deadlines.

#[tokio::test]
async fn a_slow_drip_server_cannot_hold_the_job() {
    let dir = tempfile::tempdir().unwrap();
    write_wheel(&dir.path().join("dist"), "dripped", "1.0");
    let index = Hostile::start(|_| Reply::Drip {
        every: Duration::from_millis(100),
    })
    .await;
    let url = index.upload_url();
    let (output, _, elapsed) = run(
        &[
            "pypi",
            "upload",
            "--repository-url",
            &url,
            "--http-timeout",
            "2",
        ],
        &BTreeMap::new(),
        dir.path(),
        None,
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains("deadline"), "{err}");
    // Each byte resets the read timeout; only the overall deadline ends it (twice 2 s: the
    // audience is asked for once during validation and once before minting).
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

#[tokio::test]
async fn the_doctor_names_the_proxy_and_extra_cas_the_token_would_pass() {
    let testbed = testbed().await;
    let proxy = Hostile::start(|_| Reply::Full {
        status: 502,
        headers: vec![],
        body: Vec::new(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = testbed.github_env();
    env.insert("HTTPS_PROXY".into(), proxy.origin.clone());
    let (output, _, _) = run(
        &[
            "doctor",
            "pypi",
            "--repository-url",
            "https://pypi.example.invalid/legacy/",
            "--format",
            "json",
        ],
        &env,
        dir.path(),
        None,
    )
    .await;
    // Annotations come first on a GitHub runner; the document is the rest.
    let json: String = stdout(&output)
        .lines()
        .filter(|line| !line.starts_with("::"))
        .collect::<Vec<_>>()
        .join("\n");
    let document: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|err| panic!("{err}: {json}"));
    let network = document["network"].to_string();
    assert!(
        network.contains(&format!("through the proxy {}", proxy.origin)),
        "{network}"
    );
    assert!(network.contains("SSL_CERT_FILE="), "{network}");
    // The request for another host did go to the proxy (a CONNECT tunnel), the token did not.
    assert!(
        proxy.seen().iter().all(|s| s.method == "CONNECT"),
        "{:?}",
        proxy.paths()
    );
}
