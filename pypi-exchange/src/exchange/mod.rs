//! PyPI's trusted-publishing exchange: audience discovery, `mint-token`, `burn-token`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oidc_core::http::ResponseText;
use oidc_core::process::BoxFuture;
use oidc_core::{
    AmbientToken, Claims, Credential, Exchange, HttpClient, HttpError, Secret, TokenRequest,
};
use serde::Deserialize;

use crate::explain::{self, MintError};
use crate::index::PackageIndex;

/// Why the exchange with a package index failed.
#[derive(Debug, thiserror::Error)]
pub enum PypiExchangeError {
    /// `/_/oidc/audience` answered 403.
    #[error(
        "audience retrieval failed: the repository at {host} has trusted publishing disabled (403). Use an API token (--password) for now, or ask the index's administrators"
    )]
    Disabled {
        /// The index host.
        host: String,
    },
    /// `/_/oidc/audience` answered 404.
    #[error(
        "audience retrieval failed: the repository at {host} does not indicate trusted publishing support (404 for /_/oidc/audience). Is --repository-url the upload URL (https://upload.pypi.org/legacy/, https://test.pypi.org/legacy/)? Indexes without trusted publishing need --user/--password"
    )]
    Unsupported {
        /// The index host.
        host: String,
    },
    /// The index answered something else.
    #[error("{step} failed: {host} answered {status}: {body}")]
    Unexpected {
        /// `audience retrieval`, `token minting`.
        step: &'static str,
        /// The index host.
        host: String,
        /// HTTP status.
        status: u16,
        /// A safe summary of the body.
        body: String,
    },
    /// The index refused the ID token: every reason, the claims it matched on, and hints.
    #[error("{}", explain::render_rejection(.host, .status, .errors, .claims, .testpypi))]
    Rejected {
        /// The index host.
        host: String,
        /// HTTP status (422).
        status: u16,
        /// Each `{code, description}` the index gave.
        errors: Vec<MintError>,
        /// The claims of the refused token (non-secret).
        claims: Box<Claims>,
        /// Whether the index is TestPyPI (which needs its own publisher).
        testpypi: bool,
    },
    /// Transport failure.
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// PyPI (or any Warehouse-compatible index) as an [`Exchange`].
pub struct PypiExchange {
    http: HttpClient,
    index: PackageIndex,
    /// The audience, once discovered (it does not change during a run).
    audience: tokio::sync::OnceCell<String>,
}

#[derive(Deserialize)]
struct AudienceResponse {
    audience: String,
}

#[derive(Deserialize)]
struct MintResponse {
    token: Option<String>,
    expires: Option<i64>,
}

#[derive(Deserialize)]
struct MintFailure {
    #[serde(default)]
    errors: Vec<MintError>,
}

impl PypiExchange {
    /// The exchange with `index` over `http`.
    pub fn new(http: HttpClient, index: PackageIndex) -> Self {
        Self {
            http,
            index,
            audience: tokio::sync::OnceCell::new(),
        }
    }

    /// The index's OIDC audience (GET `/_/oidc/audience` once per run; a failure is not
    /// remembered, so a later call asks again).
    pub async fn audience(&self) -> Result<String, PypiExchangeError> {
        self.audience
            .get_or_try_init(|| self.fetch_audience())
            .await
            .cloned()
    }

    async fn fetch_audience(&self) -> Result<String, PypiExchangeError> {
        let url = self.index.endpoint("/_/oidc/audience");
        let response = self
            .http
            .send("PyPI audience discovery", &url, |c| {
                c.get(url.clone()).header("Accept", "application/json")
            })
            .await?;
        let response = ResponseText::read(response).await;
        let host = self.index.host();
        match response.status {
            200 => serde_json::from_str::<AudienceResponse>(&response.body)
                .map(|r| r.audience)
                .map_err(|_| self.unexpected("audience retrieval", &response)),
            403 => Err(PypiExchangeError::Disabled { host }),
            404 => Err(PypiExchangeError::Unsupported { host }),
            _ => Err(self.unexpected("audience retrieval", &response)),
        }
    }

    /// POSTs `{"token": token}` to an OIDC endpoint of the index, as JSON.
    async fn post_token(
        &self,
        what: &str,
        path: &str,
        token: &str,
        retry: bool,
    ) -> Result<ResponseText, PypiExchangeError> {
        let url = self.index.endpoint(path);
        let payload = serde_json::json!({ "token": token }).to_string();
        let build = |c: &reqwest::Client| {
            c.post(url.clone())
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .body(payload.clone())
        };
        let response = if retry {
            self.http.send(what, &url, build).await?
        } else {
            self.http.send_once(what, &url, build).await?
        };
        Ok(ResponseText::read(response).await)
    }

    /// The error for an answer that is not what the index should say.
    fn unexpected(&self, step: &'static str, response: &ResponseText) -> PypiExchangeError {
        PypiExchangeError::Unexpected {
            step,
            host: self.index.host(),
            status: response.status,
            body: response.summary(),
        }
    }

    /// POST `/_/oidc/mint-token` with a fresh ID token.
    pub async fn mint(&self, ambient: &AmbientToken) -> Result<Credential, PypiExchangeError> {
        // Not retried: each ID token mints at most once (`jti`), so a retry after a lost
        // response would be refused as a reuse. A failed mint is redone with a fresh token.
        let response = self
            .post_token(
                "PyPI token minting",
                "/_/oidc/mint-token",
                ambient.token.expose(),
                false,
            )
            .await?;
        let host = self.index.host();
        if response.status == 200 {
            return match serde_json::from_str::<MintResponse>(&response.body) {
                Ok(MintResponse {
                    token: Some(token),
                    expires,
                }) if !token.is_empty() => Ok(Credential {
                    secret: Secret::new(token),
                    expires_at: Some(expires.and_then(|e| u64::try_from(e).ok()).map_or_else(
                        || SystemTime::now() + Duration::from_secs(900),
                        |e| UNIX_EPOCH + Duration::from_secs(e),
                    )),
                    scope: format!("uploads to {host} for the projects of this trusted publisher"),
                }),
                _ => Err(PypiExchangeError::Unexpected {
                    step: "token minting",
                    host,
                    status: response.status,
                    body: "the index gave an invalid response: no `token` in it".into(),
                }),
            };
        }
        match serde_json::from_str::<MintFailure>(&response.body) {
            Ok(failure) if !failure.errors.is_empty() => Err(PypiExchangeError::Rejected {
                host,
                status: response.status,
                errors: failure.errors,
                claims: Box::new(ambient.claims.clone()),
                testpypi: self.index.is_testpypi(),
            }),
            _ => Err(self.unexpected("token minting", &response)),
        }
    }

    /// POST `/_/oidc/burn-token`: revoke a minted token.
    pub async fn burn(&self, credential: &Credential) -> Result<(), PypiExchangeError> {
        let response = self
            .post_token(
                "PyPI token revocation",
                "/_/oidc/burn-token",
                credential.secret.expose(),
                true,
            )
            .await?;
        if response.is_success() {
            return Ok(());
        }
        Err(self.unexpected("token revocation", &response))
    }
}

impl Exchange for PypiExchange {
    type Error = PypiExchangeError;

    fn registry(&self) -> String {
        format!("PyPI ({})", self.index.host())
    }

    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, PypiExchangeError>> {
        Box::pin(async move { Ok(TokenRequest::new(self.audience().await?)) })
    }

    fn exchange<'a>(
        &'a self,
        token: &'a AmbientToken,
    ) -> BoxFuture<'a, Result<Credential, PypiExchangeError>> {
        Box::pin(self.mint(token))
    }

    fn is_transient(error: &PypiExchangeError) -> bool {
        match error {
            PypiExchangeError::Http(HttpError::Transport { .. }) => true,
            PypiExchangeError::Unexpected { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    fn revoke<'a>(
        &'a self,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<(), PypiExchangeError>> {
        Box::pin(self.burn(credential))
    }
}

#[cfg(test)]
mod tests;
