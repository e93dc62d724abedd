//! Property-based fuzzing of JWT decoding: any string handed over as an ID token (a planted
//! variable, a broken provider answer, `--id-token-file`) decodes to claims or to a typed error,
//! never a panic. Seeds are real token payloads (GitHub's and GitLab's claim sets).
//!
//! CI runs a few cases (`PROPTEST_CASES`, 256 by default here); locally, for longer:
//! `PROPTEST_CASES=100000 cargo test -p oidc-core --test fuzz_claims`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use base64::Engine;
use oidc_core::{Claims, IdToken};
use proptest::prelude::*;
use proptest::test_runner::Config;

const SEEDS: &[&str] = &[
    r#"{"jti":"example-id","sub":"repo:octo-org/octo-repo:environment:pypi","environment":"pypi","aud":"pypi","ref":"refs/tags/v1","sha":"abc","repository":"octo-org/octo-repo","repository_owner":"octo-org","repository_owner_id":"4242","run_id":"1","run_number":"1","run_attempt":"1","repository_visibility":"public","repository_id":"42","actor_id":"1","actor":"octocat","workflow":"Release","head_ref":"","base_ref":"","event_name":"push","ref_protected":"true","ref_type":"tag","workflow_ref":"octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1","workflow_sha":"abc","job_workflow_ref":"octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1","job_workflow_sha":"abc","runner_environment":"github-hosted","iss":"https://token.actions.githubusercontent.com","nbf":1900000000,"exp":1900000300,"iat":1900000000}"#,
    r#"{"namespace_id":"1","namespace_path":"group","project_id":"2","project_path":"group/project","user_id":"3","pipeline_id":"4","pipeline_source":"push","job_id":"5","ref":"main","ref_type":"branch","ref_protected":"true","ci_config_ref_uri":"gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main","runner_environment":"gitlab-hosted","iss":"https://gitlab.com","iat":1900000000,"nbf":1900000000,"exp":1900000300,"sub":"project_path:group/project:ref_type:branch:ref:main","aud":["sigstore","pypi"]}"#,
];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..Config::default()
    }
}

fn decode(token: String) {
    match Claims::decode(&IdToken::new(token)) {
        Ok(claims) => {
            let _ = claims.display_subset(&["sub", "aud", "repository"]);
            let _ = claims.issuer_kind();
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

#[test]
fn the_seeds_decode() {
    for seed in SEEDS {
        let token = format!(
            "{}.{}.sig",
            b64(b"{\"alg\":\"RS256\"}"),
            b64(seed.as_bytes())
        );
        Claims::decode(&IdToken::new(token)).unwrap();
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_jwt_payload_mutated(
        seed in proptest::sample::select(SEEDS),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = seed.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            let at = at % (bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => bytes.truncate(at),
            }
        }
        decode(format!("{}.{}.sig", b64(b"{}"), b64(&bytes)));
    }

    #[test]
    fn fuzz_jwt_arbitrary_text(token in "[A-Za-z0-9_.=+/-]{0,200}") {
        decode(token);
    }

    #[test]
    fn fuzz_jwt_claim_values(
        name in proptest::sample::select(&["aud", "exp", "iat", "nbf", "iss", "sub", "repository", "event_name"][..]),
        value in prop_oneof![
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
            ".{0,20}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
            Just(serde_json::json!([1, "x", null])),
            Just(serde_json::json!({"nested": {}})),
        ],
    ) {
        let mut claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(SEEDS[0]).unwrap();
        claims.insert(name.to_owned(), value);
        decode(format!("{}.{}.sig", b64(b"{}"), b64(serde_json::Value::Object(claims).to_string().as_bytes())));
    }
}
