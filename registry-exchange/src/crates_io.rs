//! crates.io: `POST /api/v1/trusted_publishing/tokens` `{"jwt"}` → `{"token"}` (30 minutes,
//! not reported), `DELETE` the same path with the token as Bearer to revoke (204).
//!
//! The audience is the registry URL without its scheme (`crates.io`). A `User-Agent` is
//! required (trustpub's client always sends one). Refusals are `{"errors":[{"detail"}]}`, and
//! crates.io matches the **calling** workflow (`workflow_ref`), the repository (case-insensitive),
//! `repository_owner_id` and the environment when the config names one. Cargo reads the token
//! from `CARGO_REGISTRY_TOKEN` and sends it raw in `Authorization`.

use std::time::SystemTime;

use oidc_core::http::ResponseText;
use oidc_core::process::BoxFuture;
use oidc_core::{AmbientToken, Credential, Exchange, HttpClient, Secret, TokenRequest};
use serde::Deserialize;
use url::Url;

use crate::error::{BrokerError, Refusal};
use crate::registry::RegistryKind;
use crate::wire;

/// The exchange and revocation endpoint, under the registry URL.
pub const TOKENS_PATH: &str = "api/v1/trusted_publishing/tokens";

/// crates.io (or a registry with its trusted-publishing API) as an [`Exchange`].
pub struct CratesIoExchange {
    http: HttpClient,
    url: Url,
    audience: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
}

/// crates.io's error envelope.
#[derive(Deserialize)]
struct ErrorEnvelope {
    errors: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    detail: Option<String>,
}

/// The `detail`s of a crates.io error body, when it is one.
pub fn error_details(body: &str) -> Option<Vec<String>> {
    let envelope: ErrorEnvelope = serde_json::from_str(body).ok()?;
    let details: Vec<String> = envelope
        .errors
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    (!details.is_empty()).then_some(details)
}

impl CratesIoExchange {
    /// The exchange with the registry at `url`; the audience defaults to the URL without its
    /// scheme.
    pub fn new(http: HttpClient, url: Url, audience: Option<String>) -> Self {
        let audience = audience.unwrap_or_else(|| RegistryKind::CratesIo.audience(&url));
        Self {
            http,
            url,
            audience,
        }
    }

    /// The audience asked of the CI.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The token endpoint.
    pub fn endpoint(&self) -> Url {
        wire::endpoint(&self.url, TOKENS_PATH)
    }

    /// Trades a fresh ID token for a 30-minute publish token.
    pub async fn exchange_token(&self, ambient: &AmbientToken) -> Result<Credential, BrokerError> {
        let url = self.endpoint();
        let body = serde_json::json!({ "jwt": ambient.token.expose() }).to_string();
        // Not retried here: crates.io stores each `jti` and refuses a second use, so a lost
        // answer is retried by the driver with a fresh ID token.
        let response = self
            .http
            .post_json_once(
                "crates.io token exchange",
                &url,
                &body,
                None,
                wire::MAX_BODY,
            )
            .await?;
        let host = wire::host(&self.url);
        let kind = RegistryKind::CratesIo;
        if response.is_success() {
            return match serde_json::from_str::<TokenResponse>(&response.body) {
                Ok(TokenResponse { token: Some(token) }) if !token.is_empty() => Ok(Credential {
                    secret: Secret::new(token),
                    // crates.io does not say; its tokens live 30 minutes.
                    expires_at: Some(SystemTime::now() + kind.info().lifetime),
                    scope: format!(
                        "publish the crates of the matching trusted-publishing configs on {host}"
                    ),
                }),
                _ => Err(wire::unexpected(
                    kind,
                    "token exchange",
                    &host,
                    &response,
                    Some("the answer has no `token`"),
                )),
            };
        }
        if wire::is_html(&response) {
            return Err(wire::unexpected(
                kind,
                "token exchange",
                &host,
                &response,
                None,
            ));
        }
        match error_details(&response.body) {
            Some(messages) => Err(BrokerError::Refused(Box::new(Refusal {
                registry: kind,
                host,
                status: response.status,
                messages,
                claims: ambient.claims.clone(),
                user: None,
                audience: self.audience.clone(),
            }))),
            None => Err(wire::unexpected(
                kind,
                "token exchange",
                &host,
                &response,
                None,
            )),
        }
    }

    /// `DELETE` the token endpoint with the token: crates.io forgets it (204, also when it
    /// was already gone).
    pub async fn revoke_token(&self, credential: &Credential) -> Result<(), BrokerError> {
        let url = self.endpoint();
        let token = credential.secret.expose();
        let response = self
            .http
            .send("crates.io token revocation", &url, |c| {
                c.delete(url.clone())
                    .bearer_auth(token)
                    .header("Accept", "application/json")
            })
            .await?;
        let response = ResponseText::read_capped(response, wire::MAX_BODY).await?;
        if response.is_success() {
            return Ok(());
        }
        let details = error_details(&response.body).map(|d| d.join("; "));
        Err(wire::unexpected(
            RegistryKind::CratesIo,
            "token revocation",
            &wire::host(&self.url),
            &response,
            details.as_deref(),
        ))
    }
}

impl Exchange for CratesIoExchange {
    type Error = BrokerError;

    fn registry(&self) -> String {
        format!("crates.io ({})", wire::host(&self.url))
    }

    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, BrokerError>> {
        let request = TokenRequest::new(self.audience.clone());
        Box::pin(async move { Ok(request) })
    }

    fn exchange<'a>(
        &'a self,
        token: &'a AmbientToken,
    ) -> BoxFuture<'a, Result<Credential, BrokerError>> {
        Box::pin(self.exchange_token(token))
    }

    fn is_transient(error: &BrokerError) -> bool {
        error.is_transient()
    }

    fn revoke<'a>(&'a self, credential: &'a Credential) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(self.revoke_token(credential))
    }
}
