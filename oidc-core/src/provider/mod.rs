//! Ambient OIDC identity: asking the CI system the job runs on for an ID token.
//!
//! Each CI system is a [`Provider`]. The [`Detector`] tries them in order (GitHub Actions,
//! GitLab CI, Buildkite, CircleCI, Google Cloud), takes the first token, and checks it: three
//! JWT segments and an `aud` equal to the requested audience. Every call fetches a fresh token
//! (registries refuse to see a `jti` twice): nothing is cached.

mod buildkite;
mod circleci;
mod gcp;
mod github;
mod gitlab;

use std::sync::Arc;

pub use buildkite::Buildkite;
pub use circleci::CircleCi;
pub use gcp::GoogleCloud;
pub use github::GithubActions;
pub use gitlab::GitlabCi;

use crate::claims::{Claims, ClaimsError};
use crate::env::Environment;
use crate::http::{HttpClient, HttpError};
use crate::process::{BoxFuture, CommandRunner};
use crate::secret::IdToken;

/// What to ask the CI for: an audience and, optionally, the name of the variable that holds a
/// ready-made token (`NPM_ID_TOKEN`, `SIGSTORE_ID_TOKEN`) on GitLab CI, where trustpub cannot
/// mint one. On a CI that mints (GitHub Actions, Buildkite, CircleCI, Google Cloud) such a
/// variable is ignored: anything in the job could have planted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The audience the token must be issued for (`pypi`, `npm:registry.npmjs.org`, `sigstore`).
    pub audience: String,
    /// The GitLab variable that holds a token for this audience, in place of `<AUD>_ID_TOKEN`.
    pub token_variable: Option<String>,
}

impl TokenRequest {
    /// A request for `audience`.
    pub fn new(audience: impl Into<String>) -> Self {
        Self {
            audience: audience.into(),
            token_variable: None,
        }
    }

    /// Names the variable that holds a ready-made token for this audience.
    #[must_use]
    pub fn with_token_variable(mut self, name: impl Into<String>) -> Self {
        self.token_variable = Some(name.into());
        self
    }

    /// The GitLab `id_tokens:` variable for the audience: uppercased, every character outside
    /// `A-Z0-9_` turned into `_`, a leading digit replaced by `_`, then `_ID_TOKEN`
    /// (the rule of the Python `id` package). An explicit token variable wins.
    ///
    /// ```
    /// use oidc_core::provider::TokenRequest;
    /// assert_eq!(TokenRequest::new("pypi").gitlab_variable(), "PYPI_ID_TOKEN");
    /// assert_eq!(TokenRequest::new("npm:registry.npmjs.org").gitlab_variable(), "NPM_REGISTRY_NPMJS_ORG_ID_TOKEN");
    /// assert_eq!(TokenRequest::new("1password").gitlab_variable(), "_PASSWORD_ID_TOKEN");
    /// assert_eq!(TokenRequest::new("npm:x").with_token_variable("NPM_ID_TOKEN").gitlab_variable(), "NPM_ID_TOKEN");
    /// ```
    pub fn gitlab_variable(&self) -> String {
        if let Some(name) = &self.token_variable {
            return name.clone();
        }
        let mut name: String = self
            .audience
            .chars()
            .map(|c| {
                let upper = c.to_ascii_uppercase();
                if upper.is_ascii_alphanumeric() || upper == '_' {
                    upper
                } else {
                    '_'
                }
            })
            .collect();
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            name.replace_range(0..1, "_");
        }
        name.push_str("_ID_TOKEN");
        name
    }
}

/// Why no ID token could be had. Never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// No supported CI system was detected.
    #[error(
        "no ambient OIDC identity: this does not look like a supported CI job (looked for GitHub Actions `GITHUB_ACTIONS=true`, GitLab CI `GITLAB_CI=true`, Buildkite `BUILDKITE=true`, CircleCI `CIRCLECI=true`, Google Cloud metadata). Run in CI with OIDC enabled, pass an ID token with --id-token-file, or pass credentials explicitly"
    )]
    NotInCi,
    /// `--id-token-file` could not be read.
    #[error("cannot read the ID token file {path} (--id-token-file): {reason}")]
    TokenFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// GitHub Actions without the request variables: the job lacks `id-token: write`.
    #[error(
        "GitHub Actions did not give this job an OIDC token: {missing}, which means the job lacks the `id-token: write` permission. Add it to the job that publishes (only that job):\n\n    jobs:\n      publish:\n        permissions:\n          id-token: write   # trusted publishing\n          contents: read    # actions/checkout, private repositories\n\nA workflow-level `permissions:` block is overridden by a job-level one that omits `id-token`."
    )]
    GithubMissingPermission {
        /// Which variables are unset, as a phrase (`X is unset`).
        missing: String,
    },
    /// A pull request from a fork: GitHub never issues OIDC tokens there.
    #[error(
        "this run was triggered by a pull request from a fork ({head_repository}), and GitHub never gives OIDC tokens to workflows run for forks, even with `id-token: write`. Publish from an event a fork cannot trigger: a tag push, a published release, or a manual workflow_dispatch"
    )]
    GithubForkPullRequest {
        /// The fork's `owner/name`.
        head_repository: String,
    },
    /// The GitHub token endpoint refused or answered nonsense.
    #[error("GitHub's OIDC token endpoint answered {status}: {body}")]
    GithubEndpoint {
        /// HTTP status.
        status: u16,
        /// A safe summary of the body.
        body: String,
    },
    /// GitLab CI without the `id_tokens:` variable.
    #[error(
        "GitLab CI did not provide an ID token for audience `{audience}`: the variable `{variable}` is unset. Declare it in the job:\n\n    publish:\n      id_tokens:\n        {variable}:\n          aud: {audience}"
    )]
    GitlabMissingVariable {
        /// The expected variable.
        variable: String,
        /// The requested audience.
        audience: String,
    },
    /// A helper program (`buildkite-agent`, `circleci`) could not be run or failed.
    #[error("{provider}: `{program}` {problem}")]
    Command {
        /// The CI system.
        provider: &'static str,
        /// The program.
        program: String,
        /// What went wrong, with its stderr.
        problem: String,
    },
    /// The Google Cloud metadata server refused.
    #[error("Google Cloud metadata server answered {status}: {body}")]
    GoogleMetadata {
        /// HTTP status.
        status: u16,
        /// A safe summary of the body.
        body: String,
    },
    /// The request for a token failed at the transport level.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The provider returned something that is not a JWT.
    #[error("{provider} returned a malformed ID token: {source}")]
    Malformed {
        /// The CI system.
        provider: &'static str,
        /// Why it is malformed.
        source: ClaimsError,
    },
    /// The token is for another audience.
    #[error(
        "{provider} returned an ID token for audience `{found}`, but `{expected}` was requested: the token would be refused by the registry"
    )]
    AudienceMismatch {
        /// The CI system.
        provider: &'static str,
        /// The requested audience.
        expected: String,
        /// The token's `aud`.
        found: String,
    },
}

/// One CI system that can hand out ID tokens.
pub trait Provider: Send + Sync {
    /// Its name, for messages (`GitHub Actions`).
    fn name(&self) -> &'static str;

    /// A fresh ID token for the request, `Ok(None)` when the job does not run on this CI.
    fn id_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> BoxFuture<'a, Result<Option<IdToken>, IdentityError>>;
}

/// What the providers need: the environment, a process runner and the HTTP client.
#[derive(Clone)]
pub struct ProviderContext {
    /// Environment variables and files.
    pub env: Arc<dyn Environment>,
    /// Runs `buildkite-agent` / `circleci`.
    pub runner: Arc<dyn CommandRunner>,
    /// The shared HTTP client.
    pub http: HttpClient,
}

/// A token with the provider that issued it and its decoded claims.
#[derive(Debug, Clone)]
pub struct AmbientToken {
    /// The CI system (or `NPM_ID_TOKEN`-style variable) it came from.
    pub provider: &'static str,
    /// The token.
    pub token: IdToken,
    /// Its claims, decoded without verification.
    pub claims: Claims,
}

/// Tries every provider in order and checks what it returns. Cheap to clone (the providers are
/// shared), so a signing session can keep one to fetch a new token for a renewal.
#[derive(Clone)]
pub struct Detector {
    env: Arc<dyn Environment>,
    providers: Arc<[Box<dyn Provider>]>,
    token_file: Option<std::path::PathBuf>,
}

impl Detector {
    /// The default order: GitHub Actions, GitLab CI, Buildkite, CircleCI, Google Cloud.
    pub fn new(context: &ProviderContext) -> Self {
        let providers: Vec<Box<dyn Provider>> = vec![
            Box::new(GithubActions::new(
                context.env.clone(),
                context.http.clone(),
            )),
            Box::new(GitlabCi::new(context.env.clone())),
            Box::new(Buildkite::new(context.env.clone(), context.runner.clone())),
            Box::new(CircleCi::new(context.env.clone(), context.runner.clone())),
            Box::new(GoogleCloud::new(context.env.clone(), context.http.clone())),
        ];
        Self::with_providers(context.env.clone(), providers)
    }

    /// A detector over the given providers, in that order.
    pub fn with_providers(env: Arc<dyn Environment>, providers: Vec<Box<dyn Provider>>) -> Self {
        Self {
            env,
            providers: Arc::from(providers),
            token_file: None,
        }
    }

    /// Takes ID tokens from this file (`--id-token-file`) for requests of the audience the
    /// token in it is for, before asking the CI: for CI systems trustpub cannot mint on.
    #[must_use]
    pub fn with_token_file(mut self, path: Option<std::path::PathBuf>) -> Self {
        self.token_file = path;
        self
    }

    /// The environment the providers read (the run's event comes from it too).
    pub fn env(&self) -> &dyn Environment {
        self.env.as_ref()
    }

    /// A fresh, checked ID token for `request` from the first provider that has one.
    ///
    /// Sources, in order: `--id-token-file` when its token is for the requested audience; then
    /// the CI. A ready-made token variable (`NPM_ID_TOKEN`, `SIGSTORE_ID_TOKEN`) counts only on
    /// GitLab CI, which cannot mint; elsewhere it is ignored with a warning. The source is
    /// logged at `-v` and named in [`AmbientToken::provider`].
    pub async fn detect(&self, request: &TokenRequest) -> Result<AmbientToken, IdentityError> {
        if let Some(path) = &self.token_file {
            let raw = self
                .env
                .read_to_string(path)
                .map_err(|err| IdentityError::TokenFile {
                    path: path.clone(),
                    reason: err.to_string(),
                })?;
            let token = IdToken::new(raw);
            let for_this_audience = Claims::decode(&token)
                .ok()
                .and_then(|claims| claims.aud)
                .is_some_and(|aud| aud.contains(&request.audience));
            if for_this_audience {
                tracing::info!(
                    "ID token for audience `{}`: from --id-token-file {}",
                    request.audience,
                    path.display()
                );
                return check("--id-token-file", token, &request.audience);
            }
            tracing::info!(
                "--id-token-file {} holds no token for audience `{}`: asking the CI",
                path.display(),
                request.audience
            );
        }
        let on_gitlab = self.env.is_true("GITLAB_CI");
        if let Some(variable) = &request.token_variable
            && !on_gitlab
            && self.env.non_empty(variable).is_some()
        {
            tracing::warn!(
                "{variable} is set but not used: a ready-made token is taken only on GitLab CI (which cannot mint one) or from --id-token-file; this CI's own token is requested instead"
            );
        }
        for provider in self.providers.iter() {
            if let Some(token) = provider.id_token(request).await? {
                let source: &'static str =
                    match (provider.name(), request.token_variable.as_deref()) {
                        ("GitLab CI", Some("NPM_ID_TOKEN")) => "GitLab CI (NPM_ID_TOKEN)",
                        ("GitLab CI", Some("SIGSTORE_ID_TOKEN")) => "GitLab CI (SIGSTORE_ID_TOKEN)",
                        (name, _) => name,
                    };
                tracing::info!(
                    "ID token for audience `{}`: from {source}",
                    request.audience
                );
                return check(source, token, &request.audience);
            }
        }
        Err(IdentityError::NotInCi)
    }
}

/// Checks that a token is a JWT for the requested audience.
fn check(
    provider: &'static str,
    token: IdToken,
    audience: &str,
) -> Result<AmbientToken, IdentityError> {
    let claims =
        Claims::decode(&token).map_err(|source| IdentityError::Malformed { provider, source })?;
    match &claims.aud {
        Some(aud) if aud.contains(audience) => Ok(AmbientToken {
            provider,
            token,
            claims,
        }),
        other => Err(IdentityError::AudienceMismatch {
            provider,
            expected: audience.to_owned(),
            found: other
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |aud| aud.display()),
        }),
    }
}

#[cfg(test)]
mod tests;

/// Runs a CI helper that prints a token on stdout.
async fn run_token_command(
    runner: &dyn CommandRunner,
    provider: &'static str,
    program: &str,
    args: &[String],
) -> Result<IdToken, IdentityError> {
    let output = runner
        .run(program, args)
        .await
        .map_err(|err| IdentityError::Command {
            provider,
            program: program.to_owned(),
            problem: if err.kind() == std::io::ErrorKind::NotFound {
                "is not installed or not on PATH: it is needed to request an OIDC token on this CI"
                    .to_owned()
            } else {
                format!("could not be started: {err}")
            },
        })?;
    if !output.success {
        let code = output
            .code
            .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
        return Err(IdentityError::Command {
            provider,
            program: program.to_owned(),
            problem: format!(
                "exited with {code}: {}",
                crate::http::truncate(output.stderr.trim(), 500)
            ),
        });
    }
    let token = output.stdout.trim();
    if token.is_empty() {
        return Err(IdentityError::Command {
            provider,
            program: program.to_owned(),
            problem: "printed no token".to_owned(),
        });
    }
    Ok(IdToken::new(token))
}
