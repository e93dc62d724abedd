//! `trustpub demo`: the whole flow against the in-process testbed.

use std::sync::Arc;

use oidc_core::jwks::{self, VerifyOptions};
use oidc_core::{Environment, MapEnv, TokenRequest};
use testbed::{Testbed, TestbedConfig};

use crate::cli::DemoArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// Runs `trustpub demo`.
pub async fn run(args: &DemoArgs, printer: &Printer) -> Result<Outcome, CliError> {
    printer.info("Starting the testbed: a simulated GitHub Actions OIDC issuer, PyPI and npm on 127.0.0.1 …");
    let testbed = Testbed::start(TestbedConfig::default())
        .await
        .map_err(|err| CliError::Testbed(err.to_string()))?;
    let github_env = testbed.github_env();
    let identity = testbed.identity();
    printer.info(&format!(
        "  issuer  {}\n  job     {} · workflow {} · ref {}",
        testbed.issuer_url(),
        github_env.get("GITHUB_REPOSITORY").map_or("?", String::as_str),
        identity.workflow_file,
        identity.git_ref,
    ));
    // The simulated job's environment: the CLI's own process environment is left alone.
    let env: Arc<dyn Environment> = Arc::new(MapEnv::new().with_all(github_env));
    let context = Context::new(env, Vec::new())?;

    printer.info("\n1. Identity: asking the CI for an ID token with audience `pypi`");
    let ambient = context.detector().detect(&TokenRequest::new("pypi")).await?;
    for line in super::token::summary_lines(&ambient) {
        printer.data(&format!("   {line}"));
    }
    let jwks = jwks::parse_jwks(testbed.jwks()).map_err(|err| CliError::Testbed(err.to_string()))?;
    let issuer = ambient.claims.iss.clone().unwrap_or_default();
    jwks::verify(
        &ambient.token,
        &jwks,
        &VerifyOptions {
            audience: "pypi".into(),
            issuer,
            leeway_seconds: 30,
        },
    )
    .map_err(|err| CliError::Testbed(err.to_string()))?;
    printer.status("Verified", "the token's RS256 signature against the issuer's JWKS");

    if args.keep_running {
        printer.info("\nThe testbed keeps running; press Ctrl-C to stop. A job's environment:");
        for (key, value) in testbed.github_env() {
            printer.data(&format!("export {key}='{value}'"));
        }
        let _ = tokio::signal::ctrl_c().await;
    }
    testbed.shutdown().await;
    printer.info("\nDone: every step ran against the simulated services, nothing left this machine.");
    Ok(Outcome::Success)
}
