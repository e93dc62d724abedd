//! Fetch an ID token from the testbed's simulated GitHub Actions issuer and decode its claims,
//! with the library API alone (no CLI).
//!
//! Run: `cargo run -p trustpub-examples --example fetch_token`
#![allow(clippy::print_stdout)]

use std::sync::Arc;

use oidc_core::process::TokioRunner;
use oidc_core::{Detector, HttpClient, HttpConfig, MapEnv, ProviderContext, TokenRequest};
use testbed::{Testbed, TestbedConfig};

/// Runs the example (public so that `tests/run_examples.rs` can run it too).
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A simulated GitHub Actions job: the issuer, its CA, and the variables a runner sets.
    let testbed = Testbed::start(TestbedConfig::default()).await?;
    let env = Arc::new(MapEnv::new().with_all(testbed.github_env()));

    // The one HTTP client (it trusts the testbed CA through SSL_CERT_FILE in `env`).
    let http = HttpClient::new(&HttpConfig::default(), env.as_ref())?;
    let detector = Detector::new(&ProviderContext {
        env,
        runner: Arc::new(TokioRunner),
        http,
    });

    // A fresh token for PyPI's audience; the detector checks it is a JWT for that audience.
    let ambient = detector.detect(&TokenRequest::new("pypi")).await?;
    println!("provider:   {}", ambient.provider);
    println!("token:      {}", ambient.token); // redacted: prints `<ID token ********>`
    println!("repository: {:?}", ambient.claims.github.repository);
    println!("workflow:   {:?}", ambient.claims.github.job_workflow_ref);
    println!("environment: {:?}", ambient.claims.github.environment);
    for (name, value) in ambient
        .claims
        .display_subset(&["sub", "ref", "event_name", "jti"])
    {
        println!("{name:<11} {value}");
    }
    testbed.shutdown().await;
    Ok(())
}
