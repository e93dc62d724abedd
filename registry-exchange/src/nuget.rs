//! NuGet.org: `POST /api/v2/token` with the ID token as `Authorization: Bearer` and the body
//! `{"username","tokenType":"ApiKey"}` → `{"tokenType","expires","apiKey"}`. No revocation.
//!
//! The audience is `https://www.nuget.org`; `username` is the nuget.org account that created
//! the trust policy (not an organization). Errors are `{"error"}` (401 for a policy mismatch,
//! with the disclosable mismatches in the message; 400 for account problems). NuGet matches the
//! **called** workflow (`job_workflow_ref`, case-insensitively), the repository owner and name
//! (case-insensitive) and the environment. `dotnet nuget push --api-key $NUGET_API_KEY` sends
//! the key as `X-NuGet-ApiKey`.

use std::time::SystemTime;

use oidc_core::process::BoxFuture;
use oidc_core::{AmbientToken, Credential, Exchange, HttpClient, Secret, TokenRequest};
use serde::Deserialize;
use url::Url;

use crate::error::{BrokerError, Refusal};
use crate::registry::RegistryKind;
use crate::wire;

/// The token service, under the registry URL.
pub const TOKEN_PATH: &str = "api/v2/token";

/// NuGet.org as an [`Exchange`], for one nuget.org user's trust policies.
pub struct NugetExchange {
    http: HttpClient,
    url: Url,
    audience: String,
    user: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyResponse {
    api_key: Option<String>,
    expires: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
}

impl NugetExchange {
    /// The exchange with the registry at `url` for the policies of `user`; the audience
    /// defaults to `https://www.nuget.org`.
    pub fn new(http: HttpClient, url: Url, audience: Option<String>, user: String) -> Self {
        let audience = audience.unwrap_or_else(|| RegistryKind::Nuget.audience(&url));
        Self {
            http,
            url,
            audience,
            user,
        }
    }

    /// The audience asked of the CI.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The token service.
    pub fn endpoint(&self) -> Url {
        wire::endpoint(&self.url, TOKEN_PATH)
    }

    /// Trades a fresh ID token for a short-lived API key of `user`'s policy.
    pub async fn exchange_token(&self, ambient: &AmbientToken) -> Result<Credential, BrokerError> {
        let url = self.endpoint();
        let body = serde_json::json!({ "username": self.user, "tokenType": "ApiKey" }).to_string();
        let jwt = ambient.token.expose();
        let response = self
            .http
            .post_json_once(
                "NuGet token exchange",
                &url,
                &body,
                Some(jwt),
                wire::MAX_BODY,
            )
            .await?;
        let host = wire::host(&self.url);
        let kind = RegistryKind::Nuget;
        if response.is_success() {
            return match serde_json::from_str::<KeyResponse>(&response.body) {
                Ok(KeyResponse {
                    api_key: Some(key),
                    expires,
                }) if !key.is_empty() => Ok(Credential {
                    secret: Secret::new(key),
                    expires_at: Some(
                        expires
                            .as_deref()
                            .and_then(wire::parse_time)
                            .unwrap_or_else(|| SystemTime::now() + kind.info().lifetime),
                    ),
                    scope: format!("the packages of {}'s trust policy on {host}", self.user),
                }),
                _ => Err(wire::unexpected(
                    kind,
                    "token exchange",
                    &host,
                    &response,
                    Some("the answer has no `apiKey`"),
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
        match serde_json::from_str::<ErrorBody>(&response.body)
            .ok()
            .and_then(|b| b.error)
        {
            Some(message) => Err(BrokerError::Refused(Box::new(Refusal {
                registry: kind,
                host,
                status: response.status,
                messages: vec![message],
                claims: ambient.claims.clone(),
                user: Some(self.user.clone()),
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
}

impl Exchange for NugetExchange {
    type Error = BrokerError;

    fn registry(&self) -> String {
        format!("NuGet ({})", wire::host(&self.url))
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
