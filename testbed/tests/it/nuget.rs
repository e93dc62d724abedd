//! NuGet.org: the token API (success, every request check, token checks, policy mismatches, replay) and push.

use std::time::Duration;

use serde_json::{Value, json};
use testbed::{GithubIdentity, NugetConfig, NugetPolicy, ReusableWorkflow, Testbed, TestbedConfig};

use crate::common::{client, fetch_id_token, start, start_with};

const USER: &str = "octo-user";
const AUDIENCE: &str = "https://www.nuget.org";

fn policy() -> NugetPolicy {
    NugetPolicy::new("octo-org", "octo-repo", "release.yml")
}

/// POSTs the token request; status, reason phrase, body and whether `WWW-Authenticate: Bearer` came back.
async fn token_raw(
    testbed: &Testbed,
    authorization: Option<&str>,
    content_type: &str,
    agent: Option<&str>,
    body: &Value,
) -> (u16, Option<String>, Value, bool) {
    let mut request = client(testbed)
        .post(testbed.nuget_url().join("api/v2/token").unwrap())
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(agent) = agent {
        request = request.header("user-agent", agent);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let reason = response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|reason| String::from_utf8_lossy(reason.as_bytes()).into_owned());
    let challenge = response
        .headers()
        .get("www-authenticate")
        .is_some_and(|v| v == "Bearer");
    (status, reason, response.json().await.unwrap(), challenge)
}

async fn token(testbed: &Testbed, jwt: &str, user: &str) -> (u16, Value) {
    let (status, reason, body, _) = token_raw(
        testbed,
        Some(&format!("Bearer {jwt}")),
        "application/json",
        Some("nuget/login-action"),
        &json!({"username": user, "tokenType": "ApiKey"}),
    )
    .await;
    if status != 200 {
        assert_eq!(
            reason.as_deref(),
            body["error"].as_str(),
            "the reason phrase carries the message"
        );
    }
    (status, body)
}

async fn refusal(testbed: &Testbed, jwt: &str, user: &str) -> (u16, String) {
    let (status, body) = token(testbed, jwt, user).await;
    (
        status,
        body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned(),
    )
}

async fn key_for(testbed: &Testbed) -> String {
    let jwt = fetch_id_token(testbed, AUDIENCE).await;
    let (status, body) = token(testbed, &jwt, USER).await;
    assert_eq!(status, 200, "{body}");
    body["apiKey"].as_str().unwrap().to_owned()
}

fn doctored(testbed: &Testbed, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut claims = testbed.id_token_claims(AUDIENCE);
    change(&mut claims);
    testbed.sign_id_token(&claims).unwrap()
}

#[tokio::test]
async fn token_api_issues_a_short_lived_key_once_per_id_token() {
    let testbed = start().await;
    assert_eq!(testbed.nuget_audience(), AUDIENCE);
    testbed.add_nuget_policy(USER, policy());
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    let (status, body) = token(&testbed, &jwt, USER).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tokenType"], "ApiKey");
    let key = body["apiKey"].as_str().unwrap();
    assert_eq!(key.len(), 84);
    let expires = body["expires"].as_str().unwrap();
    assert!(expires.ends_with(".0000000+00:00"), "{expires}");
    let records = testbed.records();
    assert_eq!(records.nuget_keys.len(), 1);
    assert_eq!(records.nuget_keys[0].username, USER);
    assert_eq!(records.nuget_keys[0].policy, "octo-repo");
    assert_eq!(
        records.nuget_keys[0].expires - records.nuget_keys[0].at,
        900
    );

    assert_eq!(
        refusal(&testbed, &jwt, USER).await,
        (401, "This bearer token has already been used. A new bearer token must be used for each request.".to_owned())
    );
    // The user name is looked up case-insensitively.
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    assert_eq!(token(&testbed, &jwt, "OCTO-USER").await.0, 200);
}

#[tokio::test]
async fn request_checks_in_nugets_order() {
    let testbed = start().await;
    testbed.add_nuget_policy(USER, policy());
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    let body = json!({"username": USER, "tokenType": "ApiKey"});
    let bearer = format!("Bearer {jwt}");
    /// Authorization, Content-Type, User-Agent, body, expected status and message.
    type Case<'a> = (
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Value,
        u16,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            None,
            "application/json",
            Some("ua"),
            body.clone(),
            401,
            "The Authorization header is missing.",
        ),
        (
            Some("Basic abc"),
            "application/json",
            Some("ua"),
            body.clone(),
            401,
            "The Authorization header value must start with 'Bearer '.",
        ),
        (
            Some(&bearer),
            "text/plain",
            Some("ua"),
            body.clone(),
            415,
            "The request must have a Content-Type of 'application/json'.",
        ),
        (
            Some(&bearer),
            "application/json",
            None,
            body.clone(),
            400,
            "A User-Agent header is required.",
        ),
        (
            Some(&bearer),
            "application/json",
            Some("ua"),
            json!({"tokenType": "ApiKey"}),
            400,
            "The username property in the request body is required.",
        ),
        (
            Some(&bearer),
            "application/json",
            Some("ua"),
            json!({"username": USER, "tokenType": "apikey"}),
            400,
            "The tokenType property in the request body is required and must set to 'ApiKey'.",
        ),
    ];
    for (authorization, content_type, agent, body, status, message) in cases {
        let (got, reason, answer, challenge) =
            token_raw(&testbed, authorization, content_type, agent, &body).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(message)));
        assert_eq!(reason.as_deref(), Some(message));
        assert_eq!(challenge, status == 401, "{message}");
    }
    // None of these spent the ID token.
    assert_eq!(token(&testbed, &jwt, USER).await.0, 200);
}

#[tokio::test]
async fn id_token_checks() {
    let testbed = start().await;
    testbed.add_nuget_policy(USER, policy());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let cases = [
        (
            "not-a-jwt".to_owned(),
            "The bearer token could not be parsed as a JSON web token.",
        ),
        (
            doctored(&testbed, |c| {
                c.insert("aud".into(), json!(["a", "b"]));
            }),
            "The JSON web token must have exactly one aud claim value.",
        ),
        (
            doctored(&testbed, |c| {
                c.remove("aud");
            }),
            "The JSON web token must have an aud claim.",
        ),
        (
            doctored(&testbed, |c| {
                c.remove("iss");
            }),
            "The JSON web token must have an iss claim.",
        ),
        (
            doctored(&testbed, |c| {
                c.insert("iss".into(), json!("http://gitlab.com"));
            }),
            "The JSON web token iss claim must be a valid HTTPS URL.",
        ),
        (
            doctored(&testbed, |c| {
                c.insert("iss".into(), json!("https://gitlab.com"));
            }),
            "The JSON web token iss claim is not supported.",
        ),
        (
            doctored(&testbed, |c| {
                c.insert("exp".into(), json!(now - 600));
            }),
            "The JSON web token has expired.",
        ),
        (
            doctored(&testbed, |c| {
                c.insert("nbf".into(), json!(now + 600));
            }),
            "The JSON web token is not yet valid.",
        ),
        (
            testbed.id_token("nuget.org").unwrap(),
            "The JSON web token has an incorrect audience.",
        ),
    ];
    for (jwt, message) in cases {
        assert_eq!(
            refusal(&testbed, &jwt, USER).await,
            (401, message.to_owned())
        );
    }
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    assert_eq!(
        refusal(&testbed, &jwt, "nobody").await,
        (
            401,
            "No matching trust policy owned by user 'nobody' was found.".to_owned()
        )
    );
}

#[tokio::test]
async fn policy_mismatches() {
    let testbed = start().await;
    testbed.add_nuget_policy(
        USER,
        NugetPolicy::new("octo-org", "octo-repo", "deploy.yml").name("deploy"),
    );
    testbed.add_nuget_policy(USER, policy().environment(Some("nuget")));
    testbed.add_nuget_policy(
        USER,
        NugetPolicy::new("octo-org", "other-repo", "release.yml"),
    );
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    insta::assert_snapshot!(refusal(&testbed, &jwt, USER).await.1, @"Workflow mismatch for policy 'deploy': expected 'deploy.yml', actual 'release.yml'. Environment mismatch for policy 'octo-repo': expected 'nuget', actual ''");

    // job_workflow_ref (the called workflow) is what is matched, case-insensitively.
    testbed.set_identity(GithubIdentity {
        environment: Some("NuGet".to_owned()),
        reusable_workflow: Some(ReusableWorkflow {
            repository: "octo-org/octo-repo".to_owned(),
            workflow_file: "Deploy.yml".to_owned(),
            git_ref: "refs/heads/main".to_owned(),
            sha: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        }),
        ..GithubIdentity::default()
    });
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    assert_eq!(token(&testbed, &jwt, USER).await.0, 200);
    assert_eq!(testbed.records().nuget_keys[0].policy, "deploy");

    // A reusable workflow from another repository never matches.
    testbed.set_identity(GithubIdentity {
        reusable_workflow: Some(ReusableWorkflow {
            repository: "octo-org/shared".to_owned(),
            workflow_file: "deploy.yml".to_owned(),
            git_ref: "refs/heads/main".to_owned(),
            sha: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        }),
        ..GithubIdentity::default()
    });
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    let message = refusal(&testbed, &jwt, USER).await.1;
    assert!(message.starts_with("Claim 'job_workflow_ref' has value 'octo-org/shared/.github/workflows/deploy.yml@refs/heads/main' which does not start with octo-org/octo-repo/.github/workflows/."), "{message}");

    // Owner and repository mismatches are not disclosed.
    let jwt = doctored(&testbed, |c| {
        c.insert("repository".into(), json!("octo-org/unknown"));
    });
    assert_eq!(
        refusal(&testbed, &jwt, USER).await.1,
        format!("No matching trust policy owned by user '{USER}' was found.")
    );
    let jwt = doctored(&testbed, |c| {
        c.remove("repository_id");
    });
    let message = refusal(&testbed, &jwt, USER).await.1;
    assert!(
        message.starts_with(
            "The JSON Web Token is missing the required claim 'repository_id'. The JSON Web Token"
        ),
        "one sentence per policy: {message}"
    );
}

#[tokio::test]
async fn ids_are_locked_on_first_use_and_events_can_be_banned() {
    let testbed = start_with(TestbedConfig {
        nuget: NugetConfig {
            banned_events: vec!["pull_request_target".to_owned()],
            ..NugetConfig::default()
        },
        ..TestbedConfig::default()
    })
    .await;
    testbed.add_nuget_policy(USER, policy());
    key_for(&testbed).await;
    let jwt = doctored(&testbed, |c| {
        c.insert("repository_id".into(), json!("1"));
    });
    assert_eq!(
        refusal(&testbed, &jwt, USER).await.1,
        format!("No matching trust policy owned by user '{USER}' was found.")
    );
    testbed.set_identity(GithubIdentity {
        event_name: "pull_request_target".to_owned(),
        ..GithubIdentity::default()
    });
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    assert_eq!(
        refusal(&testbed, &jwt, USER).await.1,
        "The GitHub Actions event 'pull_request_target' is not allowed."
    );
}

/// A minimal `.nupkg`: a zip with a root `.nuspec`.
fn nupkg(id: &str, version: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut cursor);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file(format!("{id}.nuspec"), options).unwrap();
        write!(zip, r#"<?xml version="1.0" encoding="utf-8"?><package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"><metadata><id>{id}</id><version>{version}</version><authors>Octo</authors><description>Tiny</description></metadata></package>"#).unwrap();
        zip.start_file("lib/netstandard2.0/_._", options).unwrap();
        zip.finish().unwrap();
    }
    cursor.into_inner()
}

async fn push(testbed: &Testbed, key: Option<&str>, package: Vec<u8>) -> (u16, String) {
    let form = reqwest::multipart::Form::new().part(
        "package",
        reqwest::multipart::Part::bytes(package).file_name("package.nupkg"),
    );
    let mut request = client(testbed)
        .put(testbed.nuget_url().join("api/v2/package").unwrap())
        .multipart(form);
    if let Some(key) = key {
        request = request.header("X-NuGet-ApiKey", key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn push_with_the_exchanged_key() {
    let testbed = start().await;
    testbed.add_nuget_policy(USER, policy());
    let key = key_for(&testbed).await;
    assert_eq!(
        push(&testbed, None, nupkg("Tiny.Pkg", "1.0.0")).await,
        (
            401,
            "An API key must be provided in the 'X-NuGet-ApiKey' header to use this service"
                .to_owned()
        )
    );
    let not_authorized = "The specified API key is invalid, has expired, or does not have permission to access the specified package.";
    assert_eq!(
        push(&testbed, Some("nope"), nupkg("Tiny.Pkg", "1.0.0")).await,
        (403, not_authorized.to_owned())
    );
    assert_eq!(
        push(&testbed, Some(&key), nupkg("Tiny.Pkg", "1.0.0"))
            .await
            .0,
        201
    );
    assert_eq!(
        push(&testbed, Some(&key), nupkg("tiny.pkg", "1.0.0")).await,
        (409, "A package with ID 'tiny.pkg' and version '1.0.0' already exists and cannot be modified.".to_owned())
    );
    let packages = testbed.nuget_packages("TINY.PKG");
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0].nupkg, nupkg("Tiny.Pkg", "1.0.0"));
    assert_eq!(
        testbed
            .records()
            .nuget_pushed
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [401, 403, 201, 409]
    );

    // Another owner's package is out of reach.
    testbed.add_nuget_policy(
        "other-user",
        NugetPolicy::new("octo-org", "octo-repo", "release.yml"),
    );
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    let (status, body) = token(&testbed, &jwt, "other-user").await;
    assert_eq!(status, 200, "{body}");
    let other_key = body["apiKey"].as_str().unwrap();
    assert_eq!(
        push(&testbed, Some(other_key), nupkg("Tiny.Pkg", "2.0.0")).await,
        (403, not_authorized.to_owned())
    );
}

#[tokio::test]
async fn expired_keys_are_refused() {
    let testbed = start_with(TestbedConfig {
        nuget: NugetConfig {
            key_lifetime: Duration::ZERO,
            ..NugetConfig::default()
        },
        ..TestbedConfig::default()
    })
    .await;
    testbed.add_nuget_policy(USER, policy());
    let key = key_for(&testbed).await;
    assert_eq!(
        push(&testbed, Some(&key), nupkg("Tiny.Pkg", "1.0.0"))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn injected_failures_do_not_spend_the_id_token() {
    let testbed = start().await;
    testbed.add_nuget_policy(USER, policy());
    testbed.nuget_faults().fail_next_exchanges(1, 502);
    let jwt = fetch_id_token(&testbed, AUDIENCE).await;
    assert_eq!(
        refusal(&testbed, &jwt, USER).await,
        (502, "An unexpected error occurred.".to_owned())
    );
    assert_eq!(token(&testbed, &jwt, USER).await.0, 200);
    let statuses: Vec<u16> = testbed
        .records()
        .nuget_exchanges
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [502, 200]);
}
