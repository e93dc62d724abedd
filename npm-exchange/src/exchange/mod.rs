//! npm's OIDC exchange: a package-scoped publish token for a CI ID token.
//!
//! Sent exactly as the npm CLI sends it: `POST /-/npm/v1/oidc/token/exchange/package/<escaped>`
//! with no body, `Content-Length: 0`, `Authorization: Bearer <jwt>` and `npm-command: publish`.
//! Unlike the npm CLI, a failure is never swallowed: it comes back with the registry's message
//! and what to change.

use std::time::{Duration, SystemTime};

use oidc_core::ci::workflow_filename;
use oidc_core::claims::IssuerKind;
use oidc_core::http::ResponseText;
use oidc_core::process::BoxFuture;
use oidc_core::{
    AmbientToken, Claims, Credential, Exchange, HttpClient, HttpError, RetryPolicy, Secret,
    TokenRequest,
};
use serde::Deserialize;

use crate::package::PackageName;
use crate::registry::NpmRegistry;

/// Why the exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum NpmExchangeError {
    /// The registry refused the ID token.
    #[error("{}", render_rejection(.registry, .package, *.status, .message, .claims))]
    Rejected {
        /// The registry host.
        registry: String,
        /// The package.
        package: String,
        /// HTTP status.
        status: u16,
        /// The registry's message (`OIDC token exchange error - package not found`).
        message: String,
        /// The claims of the refused token.
        claims: Box<Claims>,
    },
    /// The registry answered something that is not npm's JSON.
    #[error("OIDC token exchange for {package} failed: {registry} answered {status}: {body}")]
    Unexpected {
        /// The registry host.
        registry: String,
        /// The package.
        package: String,
        /// HTTP status.
        status: u16,
        /// A safe summary of the body.
        body: String,
    },
    /// Transport failure.
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// The exchange for one package on one registry (tokens are package-scoped).
pub struct NpmExchange {
    http: HttpClient,
    registry: NpmRegistry,
    package: PackageName,
}

#[derive(Deserialize)]
struct ExchangeResponse {
    token: Option<String>,
    expires: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    message: Option<String>,
    error: Option<String>,
}

impl NpmExchange {
    /// The exchange for `package` on `registry`.
    pub fn new(http: HttpClient, registry: NpmRegistry, package: PackageName) -> Self {
        Self {
            http,
            registry,
            package,
        }
    }

    /// The exchange endpoint.
    pub fn endpoint(&self) -> url::Url {
        self.registry.origin_path(&format!(
            "/-/npm/v1/oidc/token/exchange/package/{}",
            self.package.escaped()
        ))
    }

    /// Trades `ambient` for a package-scoped token.
    pub async fn exchange_token(
        &self,
        ambient: &AmbientToken,
    ) -> Result<Credential, NpmExchangeError> {
        let url = self.endpoint();
        let jwt = ambient.token.expose();
        let response = self
            .http
            .send_once("npm OIDC token exchange", &url, |c| {
                c.post(url.clone())
                    .bearer_auth(jwt)
                    .header("npm-command", "publish")
                    .header("Accept", "application/json")
                    .header("Content-Length", "0")
            })
            .await?;
        let response = ResponseText::read(response).await?;
        let (status, body) = (response.status, response.body.as_str());
        let registry = self.registry.host();
        let package = self.package.as_str().to_owned();
        if response.is_success() {
            return match serde_json::from_str::<ExchangeResponse>(body) {
                Ok(ExchangeResponse {
                    token: Some(token),
                    expires,
                }) if !token.is_empty() => Ok(Credential {
                    secret: Secret::new(token),
                    expires_at: Some(
                        expires
                            .as_deref()
                            .and_then(|e| {
                                time::OffsetDateTime::parse(
                                    e,
                                    &time::format_description::well_known::Rfc3339,
                                )
                                .ok()
                            })
                            .and_then(|t| {
                                SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(
                                    u64::try_from(t.unix_timestamp()).ok()?,
                                ))
                            })
                            // npm documents "typically 1 hour".
                            .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(3600)),
                    ),
                    scope: format!("publish {package} on {registry}"),
                }),
                _ => Err(NpmExchangeError::Unexpected {
                    registry,
                    package,
                    status,
                    body: "the response has no `token`".into(),
                }),
            };
        }
        match serde_json::from_str::<ErrorResponse>(body) {
            Ok(
                ErrorResponse {
                    message: Some(message),
                    ..
                }
                | ErrorResponse {
                    error: Some(message),
                    ..
                },
            ) => Err(NpmExchangeError::Rejected {
                registry,
                package,
                status,
                message,
                claims: Box::new(ambient.claims.clone()),
            }),
            _ => Err(NpmExchangeError::Unexpected {
                registry,
                package,
                status,
                body: response.summary(),
            }),
        }
    }
}

impl Exchange for NpmExchange {
    type Error = NpmExchangeError;

    fn registry(&self) -> String {
        format!("npm ({})", self.registry.host())
    }

    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, NpmExchangeError>> {
        let request =
            TokenRequest::new(self.registry.audience()).with_token_variable("NPM_ID_TOKEN");
        Box::pin(async move { Ok(request) })
    }

    fn exchange<'a>(
        &'a self,
        token: &'a AmbientToken,
    ) -> BoxFuture<'a, Result<Credential, NpmExchangeError>> {
        Box::pin(self.exchange_token(token))
    }

    fn is_transient(error: &NpmExchangeError) -> bool {
        match error {
            NpmExchangeError::Http(HttpError::Transport { .. }) => true,
            NpmExchangeError::Unexpected { status, .. }
            | NpmExchangeError::Rejected { status, .. } => RetryPolicy::is_retryable_code(*status),
            _ => false,
        }
    }
}

/// The claims npm matches on.
pub const MATCHED_CLAIMS: [&str; 7] = [
    "repository",
    "workflow_ref",
    "job_workflow_ref",
    "environment",
    "runner_environment",
    "repository_visibility",
    "aud",
];

fn render_rejection(
    registry: &str,
    package: &str,
    status: u16,
    message: &str,
    claims: &Claims,
) -> String {
    let mut text = format!(
        "OIDC token exchange for {package} failed: {registry} answered {status}: {message}\n"
    );
    text.push_str("\nThe token's claims npm matched on (not secret; they must match the package's trusted publisher):\n");
    for (name, value) in claims.display_subset(&MATCHED_CLAIMS) {
        text.push_str(&format!("  {name:<22} {value}\n"));
    }
    let hints = hints(package, status, message, claims);
    if !hints.is_empty() {
        text.push_str("\nWhat to check:\n");
        for hint in hints {
            text.push_str(&format!("  - {hint}\n"));
        }
    }
    text.push_str("\nDocs: https://docs.npmjs.com/trusted-publishers");
    text
}

/// What to change for a refused exchange, most specific first.
pub fn hints(package: &str, status: u16, message: &str, claims: &Claims) -> Vec<String> {
    let github = &claims.github;
    let caller_file = github.workflow_ref.as_deref().and_then(workflow_filename);
    let mut hints = Vec::new();
    if claims.issuer_kind() == IssuerKind::GithubEnterprise {
        hints.push(format!(
            "the token comes from GitHub Enterprise Server (issuer `{}`): npm accepts only github.com, gitlab.com and CircleCI identities",
            claims.iss.as_deref().unwrap_or_default()
        ));
    }
    if github.runner_environment.as_deref() == Some("self-hosted") {
        hints.push("this job runs on a self-hosted runner: npm trusted publishing (and provenance) requires a GitHub-hosted runner".to_owned());
    }
    if message.contains("package not found") || status == 404 {
        hints.push(format!(
            "npm answers `package not found` both when {package} was never published and when it has no matching trusted publisher: a trusted publisher can only be added to an existing package (publish the first version with a token, or `npm trust`), then add one under the package's Settings → Trusted publishing"
        ));
    }
    if status == 401 || status == 404 {
        hints.push(format!(
            "npm matches repository `{}`, the calling workflow's file `{}` (from workflow_ref, case-sensitive, `.yml` vs `.yaml` matters) and the environment `{}` when the publisher names one",
            github.repository.as_deref().unwrap_or("MISSING"),
            caller_file.unwrap_or("MISSING"),
            github.environment.as_deref().unwrap_or("(none)"),
        ));
        if let (Some(caller), Some(called)) = (
            github.workflow_ref.as_deref(),
            github.job_workflow_ref.as_deref(),
        ) && caller.split('@').next() != called.split('@').next()
        {
            hints.push(format!(
                "this job runs a reusable workflow (`{}`): npm matches the calling workflow `{}`, so register the caller's file in the trusted publisher",
                workflow_filename(called).unwrap_or("?"),
                caller_file.unwrap_or("?"),
            ));
        }
    }
    if message.contains("permission denied") || status == 403 {
        hints.push("the trusted publisher lacks permission for this action (e.g. it allows only staged publishing): allow `npm publish` in its settings".to_owned());
    }
    if status == 400 {
        hints.push(format!(
            "npm could not use the token: check it is for audience `{}` (the registry's hostname) and has not expired",
            claims.aud.as_ref().map_or_else(|| "MISSING".to_owned(), |a| a.display())
        ));
    }
    hints
}

#[cfg(test)]
mod tests;
