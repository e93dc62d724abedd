use serde_json::{Value, json};

use super::*;

fn claims(overrides: Value) -> Claims {
    let mut map = json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "pypi",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "repository_owner_id": "4242",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "ref": "refs/tags/v1",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "environment": "pypi",
        "event_name": "push",
        "iat": 1_900_000_000, "nbf": 1_900_000_000, "exp": 1_900_000_300
    });
    for (key, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            map.as_object_mut().unwrap().remove(key);
        } else {
            map[key] = value.clone();
        }
    }
    Claims::from_map(map.as_object().unwrap().clone()).unwrap()
}

fn error(code: &str, description: &str) -> MintError {
    MintError {
        code: MintErrorCode::parse(code),
        description: description.to_owned(),
    }
}

/// The only hint for one error with default claims (no reusable workflow, a push run).
fn hint(code: &str, description: &str, overrides: Value) -> String {
    let hints = hints(
        "pypi.example",
        &[error(code, description)],
        &claims(overrides),
        false,
    );
    assert_eq!(hints.len(), 1, "{hints:#?}");
    hints.into_iter().next().unwrap()
}

/// Warehouse's `invalid-publisher` description around a reason.
fn no_publisher(reason: &str) -> String {
    format!("valid token, but no corresponding publisher ({reason})")
}

#[test]
fn codes_parse_and_serialize_as_warehouse_spells_them() {
    // `KNOWN` holds every named variant: a new one fails to compile here until it is listed,
    // so `parse` can never read a known code as `Other`.
    let listed = |code: &MintErrorCode| match code {
        MintErrorCode::InvalidPayload
        | MintErrorCode::NotEnabled
        | MintErrorCode::InvalidToken
        | MintErrorCode::InvalidPendingPublisher
        | MintErrorCode::InvalidPublisher
        | MintErrorCode::InvalidReuseToken => MintErrorCode::KNOWN.contains(code),
        MintErrorCode::Other(_) => false,
    };
    for code in MintErrorCode::KNOWN {
        assert!(listed(&code), "{code}");
        assert_eq!(MintErrorCode::parse(code.as_str()), code);
    }
    assert_eq!(MintErrorCode::KNOWN.len(), 6);
    let parsed: Vec<MintError> = serde_json::from_value(json!([
        {"code": "invalid-reuse-token", "description": "invalid token: already used"},
        {"code": "rate-limited", "description": "slow down"},
        {"code": "not-enabled"},
    ]))
    .unwrap();
    assert_eq!(parsed[0].code, MintErrorCode::InvalidReuseToken);
    assert_eq!(parsed[1].code, MintErrorCode::Other("rate-limited".into()));
    assert_eq!(parsed[2].description, "");
    assert_eq!(
        serde_json::to_value(&parsed[1]).unwrap(),
        json!({"code": "rate-limited", "description": "slow down"})
    );
    assert_eq!(
        MintErrorCode::InvalidPendingPublisher.to_string(),
        "invalid-pending-publisher"
    );
}

#[test]
fn invalid_payload_tells_an_unknown_issuer_from_a_bad_request() {
    let unknown = error("invalid-payload", "unknown trusted publishing issuer");
    assert_eq!(unknown.cause(), MintCause::UnknownIssuer);
    let ghes = hint(
        "invalid-payload",
        "unknown trusted publishing issuer",
        json!({"iss": "https://ghes.example.com/_services/token"}),
    );
    assert!(ghes.starts_with("the token comes from GitHub Enterprise Server (issuer `https://ghes.example.com/_services/token`)"), "{ghes}");
    let other = hint(
        "invalid-payload",
        "unknown trusted publishing issuer",
        json!({"iss": "https://ci.example.com", "workflow_ref": null, "job_workflow_ref": null}),
    );
    assert!(
        other.starts_with("pypi.example does not know the issuer `https://ci.example.com`"),
        "{other}"
    );
    for description in [
        "malformed JWT",
        "1 validation error for TokenPayload\ntoken\n  Field required [type=missing, input_value={}, input_type=dict]",
        "Too many new projects created",
    ] {
        assert_eq!(
            error("invalid-payload", description).cause(),
            MintCause::Payload
        );
        assert!(
            hint("invalid-payload", description, json!({}))
                .starts_with("pypi.example could not read the token request")
        );
    }
}

#[test]
fn codes_that_need_no_description() {
    // Each is chosen by the code alone: the description may say anything.
    let cases = [
        (
            "not-enabled",
            MintCause::NotEnabled,
            "trusted publishing for this provider is switched off on pypi.example",
        ),
        (
            "invalid-token",
            MintCause::InvalidToken,
            "pypi.example could not verify the token: it may have expired before it was sent, or the runner's clock is off (iat 1900000000, nbf 1900000000, exp 1900000300)",
        ),
        (
            "invalid-pending-publisher",
            MintCause::PendingProjectExists,
            "a pending publisher matched, but the project already exists",
        ),
        (
            "invalid-reuse-token",
            MintCause::ReusedToken,
            "this ID token was already used to mint a token",
        ),
    ];
    for (code, cause, expected) in cases {
        for description in ["as Warehouse says it", ""] {
            assert_eq!(error(code, description).cause(), cause);
            let text = hint(code, description, json!({}));
            assert!(text.starts_with(expected), "{code}: {text}");
        }
    }
}

#[test]
fn every_warehouse_publisher_reason_is_read() {
    let cases = [
        (
            "Missing claim 'sha'",
            PublisherMismatch::MissingClaim("sha".into()),
        ),
        (
            "Check failed for required claim 'repository_owner_id'",
            PublisherMismatch::RequiredClaimFailed("repository_owner_id".into()),
        ),
        (
            "Check failed for optional claim 'environment'",
            PublisherMismatch::OptionalClaimFailed("environment".into()),
        ),
        (
            "Publishing from a workflow invoked via 'pull_request_target' is not supported.",
            PublisherMismatch::PullRequestTarget,
        ),
        (
            "JWT issuer 'https://ghes.example.com' does not match expected issuer 'https://token.actions.githubusercontent.com'",
            PublisherMismatch::IssuerMismatch,
        ),
        (
            "Could not job extract workflow filename from OIDC claims",
            PublisherMismatch::WorkflowRef,
        ),
        (
            "The job_workflow_ref claim is empty",
            PublisherMismatch::WorkflowRef,
        ),
        (
            "The job_workflow_ref claim does not match, expecting one of ['o/r/.github/workflows/release.yml@refs/tags/v1'], got 'o/r/.github/workflows/x.yml@main'",
            PublisherMismatch::WorkflowRef,
        ),
        (
            "The ref and sha claims are empty",
            PublisherMismatch::RefAndShaEmpty,
        ),
        (
            "Publisher with matching claims was not found",
            PublisherMismatch::NotFound,
        ),
        (
            "All lookup strategies exhausted",
            PublisherMismatch::NotFound,
        ),
        (
            "Something new (with parentheses)",
            PublisherMismatch::Unrecognized,
        ),
    ];
    for (reason, expected) in cases {
        let wrapped = error("invalid-publisher", &no_publisher(reason));
        assert_eq!(
            wrapped.cause(),
            MintCause::NoPublisher(expected.clone()),
            "{reason}"
        );
        // A Warehouse-compatible index that sends the bare reason is read the same way.
        assert_eq!(PublisherMismatch::parse(reason), expected, "{reason}");
    }
    assert_eq!(
        PublisherMismatch::RequiredClaimFailed("repository".into()).claim(),
        Some("repository")
    );
    assert_eq!(PublisherMismatch::NotFound.claim(), None);
}

#[test]
fn each_publisher_reason_gets_its_own_hint() {
    let cases = [
        (
            "Check failed for optional claim 'environment'",
            json!({"environment": null}),
            "the trusted publisher on pypi.example names an environment, and this job's `environment` claim is absent",
        ),
        (
            "Check failed for optional claim 'environment'",
            json!({"environment": "Staging"}),
            "this job's `environment` claim is `Staging`",
        ),
        (
            "Publishing from a workflow invoked via 'pull_request_target' is not supported.",
            json!({}),
            "PyPI refuses tokens from `pull_request_target` runs",
        ),
        (
            "JWT issuer 'x' does not match expected issuer 'y'",
            json!({}),
            "the publisher expects another issuer than this token's `https://token.actions.githubusercontent.com`",
        ),
        (
            "The job_workflow_ref claim does not match, expecting one of [], got 'x'",
            json!({}),
            "the workflow in `job_workflow_ref` (octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1) is not the one registered: the publisher's workflow filename must be `release.yml`",
        ),
        (
            "Check failed for required claim 'job_workflow_ref'",
            json!({}),
            "the workflow in `job_workflow_ref`",
        ),
        (
            "Check failed for required claim 'repository_owner_id'",
            json!({}),
            "a required claim does not match the publisher: was the repository renamed or transferred?",
        ),
        (
            "Missing claim 'sha'",
            json!({"sha": null}),
            "the token has no `sha` claim, which PyPI requires of a GitHub Actions token",
        ),
        (
            "Missing claim 'repository'",
            json!({}),
            "a required claim does not match the publisher",
        ),
        (
            "Publisher with matching claims was not found",
            json!({}),
            "no trusted publisher on pypi.example matches owner `octo-org`, repository `octo-repo` (owner id 4242), workflow file `release.yml` and environment `pypi`",
        ),
        (
            "The ref and sha claims are empty",
            json!({"environment": null}),
            "no trusted publisher on pypi.example matches owner `octo-org`, repository `octo-repo` (owner id 4242), workflow file `release.yml` and no environment",
        ),
        (
            "Something new",
            json!({}),
            "no trusted publisher on pypi.example matches",
        ),
    ];
    for (reason, overrides, expected) in cases {
        let text = hint("invalid-publisher", &no_publisher(reason), overrides);
        assert!(text.contains(expected), "{reason}: {text}");
    }
}

#[test]
fn structured_claims_add_their_own_hints() {
    // The run's event and the reusable workflow come from the token, whatever the index said.
    let prt = claims(json!({"event_name": "pull_request_target"}));
    let hints = hints(
        "pypi.example",
        &[error(
            "invalid-publisher",
            &no_publisher(
                "Publishing from a workflow invoked via 'pull_request_target' is not supported.",
            ),
        )],
        &prt,
        true,
    );
    assert_eq!(hints.len(), 3, "{hints:#?}");
    assert!(hints[0].starts_with("this run was triggered by `pull_request_target`"));
    assert!(hints[1].starts_with("PyPI refuses tokens from `pull_request_target` runs"));
    assert!(hints[2].starts_with("TestPyPI is a separate index"));
}

#[test]
fn an_unknown_code_is_named_and_explained() {
    let unknown = error("rate-limited", "too many mints");
    assert_eq!(
        unknown.cause(),
        MintCause::Unknown {
            code: "rate-limited".into()
        }
    );
    let text = hint("rate-limited", "too many mints", json!({}));
    assert_eq!(
        text,
        "`rate-limited` is not an error code trustpub knows (Warehouse's are invalid-payload, not-enabled, invalid-token, invalid-pending-publisher, invalid-publisher, invalid-reuse-token): pypi.example may run another version or another server; its description above is all there is to go on"
    );
    // A hostile code cannot break the line it is shown on.
    let text = hint("x\n::error::pwned", "", json!({}));
    assert!(text.starts_with("`x\\n::error::pwned` is not"), "{text}");
    let rendered = render_rejection("pypi.example", &422, &[unknown], &claims(json!({})), &false);
    assert!(
        rendered.contains("  * `rate-limited`: too many mints\n"),
        "{rendered}"
    );
    assert!(
        rendered.contains("  - `rate-limited` is not an error code trustpub knows"),
        "{rendered}"
    );
}
