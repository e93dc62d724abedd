//! Buildkite: `buildkite-agent oidc request-token --audience A`.

use std::sync::Arc;

use super::{IdentityError, Provider, TokenRequest, run_token_command};
use crate::env::Environment;
use crate::process::{BoxFuture, CommandRunner};
use crate::secret::IdToken;

/// Buildkite (`BUILDKITE=true`).
pub struct Buildkite {
    env: Arc<dyn Environment>,
    runner: Arc<dyn CommandRunner>,
}

impl Buildkite {
    /// A provider reading `env` and running `buildkite-agent` with `runner`.
    pub fn new(env: Arc<dyn Environment>, runner: Arc<dyn CommandRunner>) -> Self {
        Self { env, runner }
    }
}

impl Provider for Buildkite {
    fn name(&self) -> &'static str {
        "Buildkite"
    }

    fn id_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> BoxFuture<'a, Result<Option<IdToken>, IdentityError>> {
        Box::pin(async move {
            if !self.env.is_true("BUILDKITE") {
                return Ok(None);
            }
            let args = [
                "oidc",
                "request-token",
                "--audience",
                request.audience.as_str(),
            ]
            .map(str::to_owned);
            run_token_command(self.runner.as_ref(), self.name(), "buildkite-agent", &args)
                .await
                .map(Some)
        })
    }
}
