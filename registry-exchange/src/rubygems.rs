//! RubyGems.org: `POST /api/v1/oidc/trusted_publisher/exchange_token` `{"jwt"}` → `201`
//! `{"rubygems_api_key","expires_at","scopes","name"}` (15 minutes). No revocation.
//!
//! The audience is `rubygems.org`. Malformed tokens get `400 {"error"}`; everything else
//! (unknown issuer, bad signature, no matching publisher) is a deliberately bare `404`, so the
//! explanation comes from the claims: RubyGems matches the **called** workflow
//! (`job_workflow_ref`), `repository`, `repository_owner_id` and the environment. `gem push`
//! reads the key from `GEM_HOST_API_KEY` and sends it raw in `Authorization` (no `Bearer`).

use std::time::SystemTime;

use oidc_core::process::BoxFuture;
use oidc_core::{AmbientToken, Credential, Exchange, HttpClient, Secret, TokenRequest};
use serde::Deserialize;
use url::Url;

use crate::error::{BrokerError, Refusal};
use crate::registry::RegistryKind;
use crate::wire;

/// The exchange endpoint, under the registry URL.
pub const EXCHANGE_PATH: &str = "api/v1/oidc/trusted_publisher/exchange_token";

/// RubyGems.org as an [`Exchange`].
pub struct RubygemsExchange {
    http: HttpClient,
    url: Url,
    audience: String,
}

#[derive(Deserialize)]
struct KeyResponse {
    rubygems_api_key: Option<String>,
    expires_at: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
}

impl RubygemsExchange {
    /// The exchange with the registry at `url`; the audience defaults to `rubygems.org`.
    pub fn new(http: HttpClient, url: Url, audience: Option<String>) -> Self {
        let audience = audience.unwrap_or_else(|| RegistryKind::Rubygems.audience(&url));
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

    /// The exchange endpoint.
    pub fn endpoint(&self) -> Url {
        wire::endpoint(&self.url, EXCHANGE_PATH)
    }

    /// Trades a fresh ID token for a 15-minute `push_rubygem` key.
    pub async fn exchange_token(&self, ambient: &AmbientToken) -> Result<Credential, BrokerError> {
        let url = self.endpoint();
        let body = serde_json::json!({ "jwt": ambient.token.expose() }).to_string();
        let response = self
            .http
            .post_json_once("RubyGems token exchange", &url, &body, None, wire::MAX_BODY)
            .await?;
        let host = wire::host(&self.url);
        let kind = RegistryKind::Rubygems;
        if response.is_success() {
            return match serde_json::from_str::<KeyResponse>(&response.body) {
                Ok(KeyResponse {
                    rubygems_api_key: Some(key),
                    expires_at,
                    scopes,
                    name,
                }) if !key.is_empty() => Ok(Credential {
                    secret: Secret::new(key),
                    expires_at: Some(
                        expires_at
                            .as_deref()
                            .and_then(wire::parse_time)
                            .unwrap_or_else(|| SystemTime::now() + kind.info().lifetime),
                    ),
                    scope: format!(
                        "{} on {host}{}",
                        if scopes.is_empty() {
                            "push_rubygem".to_owned()
                        } else {
                            scopes.join(", ")
                        },
                        name.map(|n| format!(" ({})", oidc_core::http::truncate(&n, 120)))
                            .unwrap_or_default()
                    ),
                }),
                _ => Err(wire::unexpected(
                    kind,
                    "token exchange",
                    &host,
                    &response,
                    Some("the answer has no `rubygems_api_key`"),
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
        let message = serde_json::from_str::<ErrorBody>(&response.body)
            .ok()
            .and_then(|b| b.error);
        let refused = |messages: Vec<String>| {
            Err(BrokerError::Refused(Box::new(Refusal {
                registry: kind,
                host: host.clone(),
                status: response.status,
                messages,
                claims: ambient.claims.clone(),
                user: None,
                audience: self.audience.clone(),
            })))
        };
        match (response.status, message) {
            (_, Some(message)) => refused(vec![message]),
            // The bare 404 of every trust failure (`Not Found` as text).
            (404, None) => refused(vec![oidc_core::http::truncate(
                response.body.trim().lines().next().unwrap_or("Not Found"),
                200,
            )]),
            _ => Err(wire::unexpected(
                kind,
                "token exchange",
                &host,
                &response,
                None,
            )),
        }
    }
}

impl Exchange for RubygemsExchange {
    type Error = BrokerError;

    fn registry(&self) -> String {
        format!("RubyGems ({})", wire::host(&self.url))
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

    // No `revoke`: the registry has no endpoint for it; the key expires by itself.
}
