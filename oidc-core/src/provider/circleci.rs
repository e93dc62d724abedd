//! CircleCI: `circleci run oidc get --claims '{"aud":"A"}' --root-issuer`.

use std::sync::Arc;

use super::{IdentityError, Provider, TokenRequest, run_token_command};
use crate::env::Environment;
use crate::process::{BoxFuture, CommandRunner};
use crate::secret::IdToken;

/// CircleCI (`CIRCLECI=true`).
pub struct CircleCi {
    env: Arc<dyn Environment>,
    runner: Arc<dyn CommandRunner>,
}

impl CircleCi {
    /// A provider reading `env` and running `circleci` with `runner`.
    pub fn new(env: Arc<dyn Environment>, runner: Arc<dyn CommandRunner>) -> Self {
        Self { env, runner }
    }
}

impl Provider for CircleCi {
    fn name(&self) -> &'static str {
        "CircleCI"
    }

    fn id_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> BoxFuture<'a, Result<Option<IdToken>, IdentityError>> {
        Box::pin(async move {
            if !self.env.is_true("CIRCLECI") {
                return Ok(None);
            }
            let claims = serde_json::json!({ "aud": request.audience }).to_string();
            let args = [
                "run",
                "oidc",
                "get",
                "--claims",
                claims.as_str(),
                "--root-issuer",
            ]
            .map(str::to_owned);
            run_token_command(self.runner.as_ref(), self.name(), "circleci", &args)
                .await
                .map(Some)
        })
    }
}
