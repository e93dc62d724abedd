//! PyPI's trusted-publishing exchange: audience discovery, `mint-token`, `burn-token`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oidc_core::audience::well_known_service;
use oidc_core::http::{ResponseText, escape_remote};
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
    /// The index asked for an audience it may not have: nothing was requested or minted.
    #[error("{}", audience_refusal(.host, .asked, .reason))]
    AudienceRefused {
        /// The index host.
        host: String,
        /// What `/_/oidc/audience` answered (escaped for printing).
        asked: String,
        /// Why it is refused.
        reason: AudienceRefusal,
    },
    /// Transport failure.
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// Why an announced audience is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudienceRefusal {
    /// pypi.org or test.pypi.org asked for anything but `pypi` / `testpypi`.
    NotTheIndexOwn {
        /// The audience this index always uses.
        expected: &'static str,
    },
    /// Another index asked for the audience of a well-known service.
    OtherService {
        /// The service the audience belongs to.
        service: &'static str,
    },
    /// `--audience` names another audience.
    NotTheOneAllowed {
        /// What `--audience` says.
        allowed: String,
    },
}

fn audience_refusal(host: &str, asked: &str, reason: &AudienceRefusal) -> String {
    let start = format!(
        "refusing to request an ID token: the index at {host} asked for the audience `{asked}`"
    );
    match reason {
        AudienceRefusal::NotTheIndexOwn { expected } => format!(
            "{start}, but {host} always uses `{expected}` (a proxy or another server answers for it?). Nothing was requested or minted"
        ),
        AudienceRefusal::OtherService { service } => format!(
            "{start}, which is the audience of {service}: a token for it would let this index act as this job on {service}. Nothing was requested or minted. If this index really uses that audience, allow it explicitly with `--audience {asked}`"
        ),
        AudienceRefusal::NotTheOneAllowed { allowed } => format!(
            "{start}, but --audience allows only `{allowed}`. Nothing was requested or minted. Check --repository-url, or change --audience"
        ),
    }
}

/// Whether `index` may receive an ID token for `audience`, given the audience the user allowed
/// (`--audience`). pypi.org and test.pypi.org get exactly `pypi` / `testpypi`; any other index
/// may not have the audience of a well-known service ([`well_known_service`]) unless the user
/// allowed exactly that audience; `--audience` pins the audience for every index.
pub fn check_audience(
    index: &PackageIndex,
    audience: &str,
    allowed: Option<&str>,
) -> Result<(), AudienceRefusal> {
    let own = match index.website() {
        Some("https://pypi.org") => Some("pypi"),
        Some(_) => Some("testpypi"),
        None => None,
    };
    if let Some(expected) = own {
        return if audience == expected {
            Ok(())
        } else {
            Err(AudienceRefusal::NotTheIndexOwn { expected })
        };
    }
    if let Some(allowed) = allowed {
        return if audience == allowed {
            Ok(())
        } else {
            Err(AudienceRefusal::NotTheOneAllowed {
                allowed: allowed.to_owned(),
            })
        };
    }
    match well_known_service(audience) {
        Some(service) => Err(AudienceRefusal::OtherService { service }),
        None => Ok(()),
    }
}

/// When a minted token expires: `expires` (seconds since the epoch, remote input) if it makes
/// a time, else 15 minutes from `now` (PyPI's lifetime). Checked arithmetic: an extreme or
/// negative value cannot overflow or panic.
pub fn expiry(expires: Option<i64>, now: SystemTime) -> SystemTime {
    let fallback = now.checked_add(Duration::from_secs(900)).unwrap_or(now);
    expires
        .and_then(|e| u64::try_from(e).ok())
        .and_then(|e| UNIX_EPOCH.checked_add(Duration::from_secs(e)))
        .unwrap_or(fallback)
}

/// PyPI (or any Warehouse-compatible index) as an [`Exchange`].
pub struct PypiExchange {
    http: HttpClient,
    index: PackageIndex,
    /// The audience, once discovered (it does not change during a run).
    audience: tokio::sync::OnceCell<String>,
    /// The audience the user allowed with `--audience`.
    allowed_audience: Option<String>,
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
            allowed_audience: None,
        }
    }

    /// Allows the index to ask for `audience` (`--audience`), even the audience of a
    /// well-known service; the index then gets no other. pypi.org and test.pypi.org keep
    /// their own (see [`check_audience`]).
    #[must_use]
    pub fn with_allowed_audience(mut self, audience: Option<String>) -> Self {
        self.allowed_audience = audience;
        self
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
        let response = ResponseText::read(response).await?;
        let host = self.index.host();
        match response.status {
            200 => {
                let audience = serde_json::from_str::<AudienceResponse>(&response.body)
                    .map(|r| r.audience)
                    .map_err(|_| self.unexpected("audience retrieval", &response))?;
                check_audience(&self.index, &audience, self.allowed_audience.as_deref()).map_err(
                    |reason| PypiExchangeError::AudienceRefused {
                        host: host.clone(),
                        asked: escape_remote(&audience, 200),
                        reason,
                    },
                )?;
                Ok(audience)
            }
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
        Ok(ResponseText::read(response).await?)
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
                    expires_at: Some(expiry(expires, SystemTime::now())),
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
            PypiExchangeError::Unexpected { status, .. } => {
                oidc_core::RetryPolicy::is_retryable_code(*status)
            }
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
