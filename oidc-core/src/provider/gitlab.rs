//! GitLab CI: tokens declared with `id_tokens:` arrive as variables.

use std::sync::Arc;

use super::{IdentityError, Provider, TokenRequest};
use crate::env::Environment;
use crate::process::BoxFuture;
use crate::secret::IdToken;

/// GitLab CI (`GITLAB_CI=true`).
pub struct GitlabCi {
    env: Arc<dyn Environment>,
}

impl GitlabCi {
    /// A provider reading `env`.
    pub fn new(env: Arc<dyn Environment>) -> Self {
        Self { env }
    }
}

impl Provider for GitlabCi {
    fn name(&self) -> &'static str {
        "GitLab CI"
    }

    fn id_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> BoxFuture<'a, Result<Option<IdToken>, IdentityError>> {
        Box::pin(async move {
            if !self.env.is_true("GITLAB_CI") {
                return Ok(None);
            }
            let variable = request.gitlab_variable();
            match self.env.non_empty(&variable) {
                Some(token) => Ok(Some(IdToken::new(token))),
                None => Err(IdentityError::GitlabMissingVariable {
                    variable,
                    audience: request.audience.clone(),
                }),
            }
        })
    }
}
