//! Trade the job's ID token for a crates.io publish token and revoke it at the end, with the
//! library API alone ([`registry_exchange::BrokerExchange`] in an [`oidc_core::Session`], what
//! `trustpub exec crates-io -- cargo publish` does around cargo): here against the testbed's
//! simulated GitHub issuer and crates.io.
//!
//! Run: `cargo run -p trustpub-examples --example crates_io_token`
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::sync::Arc;

use oidc_core::{
    Detector, EventPolicy, HttpClient, HttpConfig, MapEnv, NoMask, ProviderContext, Session,
    TokioRunner,
};
use registry_exchange::{BrokerExchange, BrokerOptions, RegistryKind};
use testbed::{CratesIoPublisher, Testbed, TestbedConfig};

/// Runs the example (public so that `tests/run_examples.rs` can run it too).
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn Error>> {
    // A simulated GitHub Actions job, and a crates.io where `example-crate` trusts its workflow.
    let testbed = Testbed::start(TestbedConfig::default()).await?;
    let job = testbed.identity();
    let (owner, repo) = job
        .repository
        .split_once('/')
        .ok_or("repository is owner/name")?;
    testbed.add_crates_io_publisher(
        "example-crate",
        CratesIoPublisher::new(owner, repo, job.repository_owner_id, &job.workflow_file),
    );
    let env = MapEnv::new().with_all(testbed.github_env());
    // The testbed's crates.io (in a real job: `BrokerOptions::default()`, crates.io itself).
    let options = BrokerOptions {
        url: Some(testbed.crates_io_url().to_string()),
        ..BrokerOptions::default()
    };

    // The exchange: the session mints on first use (a fresh ID token, the event policy
    // checked on its signed claims) and revokes everything it minted at the end.
    let http = HttpClient::new(&HttpConfig::default(), &env)?;
    let detector = Detector::new(&ProviderContext {
        env: Arc::new(env),
        runner: Arc::new(TokioRunner),
        http: http.clone(),
    });
    let exchange = BrokerExchange::new(http, RegistryKind::CratesIo, &options)?;
    let session = Session::new(&detector, &exchange, EventPolicy, &NoMask);
    let obtained = session.credential().await?;
    // Here a release tool runs `cargo publish` with CARGO_REGISTRY_TOKEN set to the secret.
    println!("token:   {}", obtained.credential.secret); // redacted
    println!("scope:   {}", obtained.credential.scope);
    println!("expires: {:?}", obtained.credential.expires_at);
    println!("for:     {:?}", obtained.claims.github.job_workflow_ref);
    if let Some(failure) = session.finish().await.into_iter().next() {
        return Err(format!("could not revoke {}: {}", failure.scope, failure.error).into());
    }

    // crates.io's side: one token was issued for the crate, and it is revoked.
    let tokens = testbed.records().crates_io_tokens;
    testbed.shutdown().await;
    match tokens.as_slice() {
        [token] if token.revoked && token.crates == ["example-crate"] => {
            println!("crates.io issued one token for example-crate; it is revoked");
            Ok(())
        }
        other => Err(format!("expected one revoked token for example-crate, got {other:?}").into()),
    }
}
