use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::claims::tests::jwt;
use crate::env::MapEnv;
use crate::http::{HttpConfig, RetryPolicy};
use crate::process::CommandOutput;

/// A runner that answers from a table and records what it was asked to run.
#[derive(Default)]
struct FakeRunner {
    answers: BTreeMap<String, std::io::Result<CommandOutput>>,
    calls: Mutex<Vec<Vec<String>>>,
}

impl FakeRunner {
    fn answering(program: &str, output: std::io::Result<CommandOutput>) -> Self {
        let mut answers = BTreeMap::new();
        answers.insert(program.to_owned(), output);
        Self {
            answers,
            calls: Mutex::default(),
        }
    }
}

impl CommandRunner for FakeRunner {
    fn run<'a>(
        &'a self,
        program: &'a str,
        args: &'a [String],
    ) -> BoxFuture<'a, std::io::Result<CommandOutput>> {
        let mut call = vec![program.to_owned()];
        call.extend(args.iter().cloned());
        self.calls.lock().unwrap().push(call);
        let answer = match self.answers.get(program) {
            Some(Ok(output)) => Ok(output.clone()),
            Some(Err(err)) => Err(std::io::Error::new(err.kind(), err.to_string())),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not found",
            )),
        };
        Box::pin(async move { answer })
    }
}

fn ok_output(stdout: &str) -> std::io::Result<CommandOutput> {
    Ok(CommandOutput {
        success: true,
        code: Some(0),
        stdout: stdout.to_owned(),
        stderr: String::new(),
    })
}

fn token_for(aud: &str) -> IdToken {
    jwt(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": aud,
        "jti": format!("jti-{}", fastrand::u64(..)),
        "repository": "octo-org/octo-repo",
    }))
}

fn http() -> HttpClient {
    let config = HttpConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        ..HttpConfig::default()
    };
    HttpClient::new(&config, &MapEnv::new()).unwrap()
}

fn detector(env: MapEnv, runner: FakeRunner) -> Detector {
    Detector::new(&ProviderContext {
        env: Arc::new(env),
        runner: Arc::new(runner),
        http: http(),
    })
}

fn github_env(server: &MockServer) -> MapEnv {
    MapEnv::new()
        .with("GITHUB_ACTIONS", "true")
        .with(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/_apis/idtoken?api-version=2.0", server.uri()),
        )
        .with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-bearer")
}

async fn github_endpoint(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_apis/idtoken"))
        .and(query_param("api-version", "2.0"))
        .and(query_param("audience", "npm:registry.npmjs.org"))
        .and(header("authorization", "Bearer request-bearer"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn github_fetches_a_token_with_the_audience_merged_into_the_query() {
    let token = token_for("npm:registry.npmjs.org");
    let server = github_endpoint(
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"count": 1, "value": token.expose()})),
    )
    .await;
    let found = detector(github_env(&server), FakeRunner::default())
        .detect(&TokenRequest::new("npm:registry.npmjs.org"))
        .await
        .unwrap();
    assert_eq!(found.provider, "GitHub Actions");
    assert_eq!(found.token, token);
    assert_eq!(
        found.claims.github.repository.as_deref(),
        Some("octo-org/octo-repo")
    );
}

#[tokio::test]
async fn github_fetches_a_fresh_token_every_time() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(move |_: &wiremock::Request| {
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"value": token_for("pypi").expose()}))
        })
        .expect(2)
        .mount(&server)
        .await;
    let detector = detector(github_env(&server), FakeRunner::default());
    let request = TokenRequest::new("pypi");
    let first = detector.detect(&request).await.unwrap();
    let second = detector.detect(&request).await.unwrap();
    assert_ne!(first.claims.jti, second.claims.jti);
}

#[tokio::test]
async fn github_without_request_variables_explains_the_permission() {
    let env = MapEnv::new().with("GITHUB_ACTIONS", "true");
    let err = detector(env, FakeRunner::default())
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap_err();
    insta::assert_snapshot!(err, @r"
    GitHub Actions did not give this job an OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are unset, which means the job lacks the `id-token: write` permission. Add it to the job that publishes (only that job):

        jobs:
          publish:
            permissions:
              id-token: write   # trusted publishing
              contents: read    # actions/checkout, private repositories

    A workflow-level `permissions:` block is overridden by a job-level one that omits `id-token`.
    ");
}

#[tokio::test]
async fn github_fork_pull_request_gets_its_own_error() {
    let event = serde_json::json!({
        "pull_request": {"head": {"repo": {"full_name": "mallory/octo-repo", "fork": true}}}
    });
    let env = MapEnv::new()
        .with("GITHUB_ACTIONS", "true")
        .with("GITHUB_EVENT_NAME", "pull_request")
        .with("GITHUB_EVENT_PATH", "/github/workflow/event.json")
        .with_file("/github/workflow/event.json", event.to_string());
    let err = detector(env, FakeRunner::default())
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap_err();
    insta::assert_snapshot!(err, @"this run was triggered by a pull request from a fork (mallory/octo-repo), and GitHub never gives OIDC tokens to workflows run for forks, even with `id-token: write`. Publish from an event a fork cannot trigger: a tag push, a published release, or a manual workflow_dispatch");

    // The same event from a branch of the repository itself is a plain permission problem.
    let event = serde_json::json!({
        "pull_request": {"head": {"repo": {"full_name": "octo-org/octo-repo", "fork": false}}}
    });
    let env = MapEnv::new()
        .with("GITHUB_ACTIONS", "true")
        .with("GITHUB_EVENT_NAME", "pull_request")
        .with("GITHUB_EVENT_PATH", "/e.json")
        .with_file("/e.json", event.to_string());
    let err = detector(env, FakeRunner::default())
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::GithubMissingPermission { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn github_token_for_another_audience_is_refused() {
    let server = github_endpoint(ResponseTemplate::new(200).set_body_json(
        serde_json::json!({"value": token_for("https://github.com/octo-org").expose()}),
    ))
    .await;
    let err = detector(github_env(&server), FakeRunner::default())
        .detect(&TokenRequest::new("npm:registry.npmjs.org"))
        .await
        .unwrap_err();
    insta::assert_snapshot!(err, @"GitHub Actions returned an ID token for audience `https://github.com/octo-org`, but `npm:registry.npmjs.org` was requested: the token would be refused by the registry");
}

#[tokio::test]
async fn github_malformed_token_is_refused_without_echoing_it() {
    let server = github_endpoint(
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"value": "not-a-jwt-secretvalue"})),
    )
    .await;
    let err = detector(github_env(&server), FakeRunner::default())
        .detect(&TokenRequest::new("npm:registry.npmjs.org"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("secretvalue"), "{text}");
    insta::assert_snapshot!(text, @"GitHub Actions returned a malformed ID token: the ID token is not a JWT: it has 1 dot-separated segment(s), a JWT has 3 (header.payload.signature)");
}

#[tokio::test]
async fn github_endpoint_errors_are_summarized() {
    let cases = [
        (
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"message": "Bad credentials"})),
            "GitHub's OIDC token endpoint answered 401: Bad credentials",
        ),
        (
            ResponseTemplate::new(500).set_body_raw(
                "<html><head><title>Internal Error</title></head><body>oops</body></html>",
                "text/html",
            ),
            "GitHub's OIDC token endpoint answered 500: an HTML page titled \"Internal Error\" instead of JSON (is the URL right, or is a proxy in the way?)",
        ),
        (
            ResponseTemplate::new(200).set_body_raw("<html><body>login</body></html>", "text/html"),
            "GitHub's OIDC token endpoint answered 200: an HTML page instead of JSON (is the URL right, or is a proxy in the way?)",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"count": 0})),
            "GitHub's OIDC token endpoint answered 200: the response has no `value` field holding the token",
        ),
    ];
    for (template, expected) in cases {
        let server = github_endpoint(template).await;
        let err = detector(github_env(&server), FakeRunner::default())
            .detect(&TokenRequest::new("npm:registry.npmjs.org"))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

#[tokio::test]
async fn github_endpoint_failing_twice_then_succeeding_is_retried() {
    let server = MockServer::start().await;
    let token = token_for("pypi");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": token.expose()})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let found = detector(github_env(&server), FakeRunner::default())
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap();
    assert_eq!(found.token, token);
}

/// The token request retries through the client's retry helper: a refusal is asked once,
/// and a long `Retry-After` ends it with an error saying how long GitHub asked.
#[tokio::test]
async fn github_refusals_and_long_waits_are_not_retried() {
    for status in [400, 401, 403] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let err = detector(github_env(&server), FakeRunner::default())
            .detect(&TokenRequest::new("pypi"))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(&format!("answered {status}")),
            "{err}"
        );
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "900"))
        .expect(1)
        .mount(&server)
        .await;
    let err = detector(github_env(&server), FakeRunner::default())
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("GitHub OIDC token request: ")
            && err
                .to_string()
                .contains("answered 429 Too Many Requests; the server asked to wait 900 s"),
        "{err}"
    );
}

#[tokio::test]
async fn gitlab_reads_the_audience_variable() {
    let env = MapEnv::new()
        .with("GITLAB_CI", "true")
        .with("PYPI_ID_TOKEN", token_for("pypi").expose());
    let found = detector(env, FakeRunner::default())
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap();
    assert_eq!(found.provider, "GitLab CI");

    let env = MapEnv::new().with("GITLAB_CI", "true");
    let err = detector(env, FakeRunner::default())
        .detect(&TokenRequest::new("testpypi"))
        .await
        .unwrap_err();
    insta::assert_snapshot!(err, @r"
    GitLab CI did not provide an ID token for audience `testpypi`: the variable `TESTPYPI_ID_TOKEN` is unset. Declare it in the job:

        publish:
          id_tokens:
            TESTPYPI_ID_TOKEN:
              aud: testpypi
    ");
}

#[tokio::test]
async fn a_token_variable_counts_only_on_gitlab() {
    let env = MapEnv::new()
        .with("GITLAB_CI", "true")
        .with("NPM_ID_TOKEN", token_for("npm:registry.npmjs.org").expose());
    let request = TokenRequest::new("npm:registry.npmjs.org").with_token_variable("NPM_ID_TOKEN");
    let found = detector(env, FakeRunner::default())
        .detect(&request)
        .await
        .unwrap();
    assert_eq!(found.provider, "GitLab CI (NPM_ID_TOKEN)");

    // A planted NPM_ID_TOKEN on a CI that mints (CircleCI here) is ignored: the CI's own token
    // is asked for.
    let planted = token_for("npm:registry.npmjs.org");
    let env = MapEnv::new()
        .with("CIRCLECI", "true")
        .with("NPM_ID_TOKEN", planted.expose());
    let own = token_for("npm:registry.npmjs.org");
    let runner = FakeRunner::answering("circleci", ok_output(own.expose()));
    let detector = Detector::new(&ProviderContext {
        env: Arc::new(env),
        runner: Arc::new(runner),
        http: http(),
    });
    let found = detector.detect(&request).await.unwrap();
    assert_eq!(found.provider, "CircleCI");
    assert_eq!(found.token.expose(), own.expose());
}

#[tokio::test]
async fn an_id_token_file_is_used_for_its_audience_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.jwt");
    let token = token_for("npm:registry.npmjs.org");
    fs_err::write(&path, format!("{}\n", token.expose())).unwrap();
    let detector = detector(MapEnv::new(), FakeRunner::default()).with_token_file(Some(path));
    let found = detector
        .detect(&TokenRequest::new("npm:registry.npmjs.org"))
        .await
        .unwrap();
    assert_eq!(found.provider, "--id-token-file");
    assert_eq!(found.token.expose(), token.expose());
    // Another audience is asked of the CI (none here).
    assert!(matches!(
        detector.detect(&TokenRequest::new("sigstore")).await,
        Err(IdentityError::NotInCi)
    ));
}

#[tokio::test]
async fn buildkite_runs_the_agent() {
    let runner = Arc::new(FakeRunner::answering(
        "buildkite-agent",
        ok_output(&format!("{}\n", token_for("pypi").expose())),
    ));
    let env: Arc<dyn Environment> = Arc::new(MapEnv::new().with("BUILDKITE", "true"));
    let provider = Buildkite::new(env.clone(), runner.clone());
    let detector = Detector::with_providers(env, vec![Box::new(provider)]);
    let found = detector.detect(&TokenRequest::new("pypi")).await.unwrap();
    assert_eq!(found.provider, "Buildkite");
    assert_eq!(
        runner.calls.lock().unwrap().as_slice(),
        [[
            "buildkite-agent",
            "oidc",
            "request-token",
            "--audience",
            "pypi"
        ]
        .map(String::from)]
    );
}

#[tokio::test]
async fn circleci_runs_the_cli_with_root_issuer() {
    let runner = Arc::new(FakeRunner::answering(
        "circleci",
        ok_output(token_for("pypi").expose()),
    ));
    let env: Arc<dyn Environment> = Arc::new(MapEnv::new().with("CIRCLECI", "true"));
    let detector = Detector::with_providers(
        env.clone(),
        vec![Box::new(CircleCi::new(env, runner.clone()))],
    );
    detector.detect(&TokenRequest::new("pypi")).await.unwrap();
    assert_eq!(
        runner.calls.lock().unwrap().as_slice(),
        [[
            "circleci",
            "run",
            "oidc",
            "get",
            "--claims",
            r#"{"aud":"pypi"}"#,
            "--root-issuer"
        ]
        .map(String::from)]
    );
}

#[tokio::test]
async fn ci_helper_failures_are_explained() {
    let env = MapEnv::new().with("BUILDKITE", "true");
    let err = detector(env, FakeRunner::default())
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap_err();
    insta::assert_snapshot!(err, @"Buildkite: `buildkite-agent` is not installed or not on PATH: it is needed to request an OIDC token on this CI");

    let runner = FakeRunner::answering(
        "circleci",
        Ok(CommandOutput {
            success: false,
            code: Some(1),
            stdout: String::new(),
            stderr: "Error: OIDC is not enabled for this project\n".into(),
        }),
    );
    let err = detector(MapEnv::new().with("CIRCLECI", "true"), runner)
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap_err();
    insta::assert_snapshot!(err, @"CircleCI: `circleci` exited with status 1: Error: OIDC is not enabled for this project");
}

#[tokio::test]
async fn google_cloud_asks_the_metadata_server() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/computeMetadata/v1/instance/service-accounts/default/identity",
        ))
        .and(query_param("audience", "pypi"))
        .and(query_param("format", "full"))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).set_body_string(token_for("pypi").expose()))
        .mount(&server)
        .await;
    let host = server.uri().trim_start_matches("http://").to_owned();
    let found = detector(
        MapEnv::new().with("GCE_METADATA_HOST", host),
        FakeRunner::default(),
    )
    .detect(&TokenRequest::new("pypi"))
    .await
    .unwrap();
    assert_eq!(found.provider, "Google Cloud");
}

#[tokio::test]
async fn github_comes_first_and_nothing_means_not_in_ci() {
    let server =
        github_endpoint(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"value": token_for("npm:registry.npmjs.org").expose()}),
        ))
        .await;
    let env = github_env(&server)
        .with("GITLAB_CI", "true")
        .with("BUILDKITE", "true");
    let found = detector(env, FakeRunner::default())
        .detect(&TokenRequest::new("npm:registry.npmjs.org"))
        .await
        .unwrap();
    assert_eq!(found.provider, "GitHub Actions");

    // A non-Google DMI name and no variables: not in CI.
    let env = MapEnv::new().with_file("/sys/class/dmi/id/product_name", "Standard PC (Q35)\n");
    let err = detector(env, FakeRunner::default())
        .detect(&TokenRequest::new("pypi"))
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::NotInCi), "{err}");
}
