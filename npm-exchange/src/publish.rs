//! The publish itself: `PUT <registry>/<escaped name>` with the publish document.
//!
//! The body streams the tarball through base64 from disk (see
//! [`PublishDocument::body_stream`]) and is rebuilt for each retry. Retries go through
//! oidc-core's retry helper ([`RetryPolicy::run`]): lost connections, timeouts, 408, 429 and
//! 5xx but 501/505, never a refusal; a `Retry-After` longer than the policy's longest wait ends
//! them with an error that says how long the registry asked. Responses are mapped to clear
//! errors; a version that already exists with the same integrity is "already published" (also
//! after a lost answer), so a re-run of a release job succeeds.

use oidc_core::http::{Attempt, ResponseText, RetryError, ServerWait, error_chain};
use oidc_core::{HttpClient, HttpError, RetryPolicy, Secret};
use serde_json::Value;

use crate::package::{PackageName, PublishDocument, package_url};
use crate::registry::NpmRegistry;

/// How a publish ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStatus {
    /// The registry accepted the new version.
    Published,
    /// The registry already has this exact version (same integrity): nothing to do.
    AlreadyPublished,
}

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The version exists with other contents.
    #[error(
        "{package}@{version} is already on {registry} with different contents (integrity {} there, {local} here). npm never lets a version be published twice: bump the version",
        .remote.as_deref().unwrap_or("unknown")
    )]
    VersionExists {
        /// The package.
        package: String,
        /// The version.
        version: String,
        /// The registry host.
        registry: String,
        /// Ours.
        local: String,
        /// Theirs.
        remote: Option<String>,
    },
    /// The registry refused the publish.
    #[error("publishing {package}@{version} failed: {registry} answered {status}: {message}{}", hint(*.status, .message))]
    Rejected {
        /// The package.
        package: String,
        /// The version.
        version: String,
        /// The registry host.
        registry: String,
        /// HTTP status.
        status: u16,
        /// The registry's message.
        message: String,
    },
    /// The document could not be streamed (the tarball changed or vanished).
    #[error("publishing {package}: {reason}")]
    Body {
        /// The package.
        package: String,
        /// Why.
        reason: String,
    },
    /// Transport failure after every retry.
    #[error("publishing {package}: {source}")]
    Transport {
        /// The package.
        package: String,
        /// What failed.
        source: HttpError,
    },
}

impl RetryError for PublishError {
    /// The registry asked (`Retry-After`) for a longer pause than the retry policy takes: its
    /// message says how long, and the publish is not tried again.
    fn server_asked_to_wait(self, wait: ServerWait) -> Self {
        match self {
            PublishError::Rejected {
                package,
                version,
                registry,
                status,
                message,
            } => PublishError::Rejected {
                package,
                version,
                registry,
                status,
                message: format!("{message}; {wait}"),
            },
            other => other,
        }
    }
}

fn hint(status: u16, message: &str) -> String {
    let hint = match status {
        404 => {
            " (the registry hides authorization failures as 404: the token is missing, expired, or not allowed to publish this package. With trusted publishing, check that the exchange was for this package and this registry)"
        }
        401 => " (the token was refused: it may have expired, or belongs to another registry)",
        403 if message.contains("previously published") => "",
        403 => {
            " (the token may publish, but not this: check the trusted publisher's permissions and the package's access settings)"
        }
        409 => " (another publish of this version is in progress or already stored)",
        422 => {
            " (the provenance bundle was refused: package.json `repository.url` must match the workflow's repository, the repository must be public, and the runner GitHub-hosted)"
        }
        _ => "",
    };
    hint.to_owned()
}

/// Publishes documents to one registry.
pub struct Publisher {
    http: HttpClient,
    registry: NpmRegistry,
    retry: RetryPolicy,
}

impl Publisher {
    /// A publisher to `registry`.
    pub fn new(http: HttpClient, registry: NpmRegistry, retry: RetryPolicy) -> Self {
        Self {
            http,
            registry,
            retry,
        }
    }

    /// PUTs the document with `token`; `integrity` is the tarball's `sha512-…`, used to tell an
    /// identical re-publish from a conflicting one.
    pub async fn publish(
        &self,
        document: &PublishDocument,
        integrity: &str,
        token: &Secret,
    ) -> Result<PublishStatus, PublishError> {
        let package = document.name().as_str().to_owned();
        let version = document.version().to_string();
        let url = document.publish_url().clone();
        HttpClient::check_url(&url).map_err(|source| PublishError::Transport {
            package: package.clone(),
            source,
        })?;
        let outcome = self
            .retry
            .run("npm publish", |attempt| {
                self.attempt(document, integrity, token, attempt)
            })
            .await;
        match outcome {
            // A lost response after the registry stored the version is not a failure.
            Err(PublishError::Transport { .. })
                if self
                    .existing_integrity(document.name(), &version, token)
                    .await
                    .as_deref()
                    == Some(integrity) =>
            {
                Ok(PublishStatus::AlreadyPublished)
            }
            other => other,
        }
    }

    /// One PUT of the document (its body streamed again from the tarball), classified for
    /// the retry helper: success and an identical version already there are done; a lost
    /// connection or a retryable status is tried again; a refusal fails.
    async fn attempt(
        &self,
        document: &PublishDocument,
        integrity: &str,
        token: &Secret,
        attempt: u32,
    ) -> Attempt<PublishStatus, PublishError> {
        let package = document.name().as_str();
        let version = document.version().to_string();
        let version = version.as_str();
        let url = document.publish_url();
        let (length, stream) = document.body_stream();
        let sent = self
            .http
            .inner()
            .put(url.clone())
            .bearer_auth(token.expose())
            .header("Content-Type", "application/json")
            .header("Content-Length", length.to_string())
            .header("Accept", "application/json")
            .header("npm-command", "publish")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) if err.is_body() && !err.is_timeout() && !err.is_connect() => {
                return Attempt::Fail(PublishError::Body {
                    package: package.to_owned(),
                    reason: error_chain(&err.without_url()),
                });
            }
            Err(err) => {
                let retryable = RetryPolicy::is_retryable_error(&err);
                let error = PublishError::Transport {
                    package: package.to_owned(),
                    source: HttpError::Transport {
                        what: "npm publish".into(),
                        url: url.to_string(),
                        attempts: attempt,
                        reason: error_chain(&err.without_url()),
                    },
                };
                return if retryable {
                    Attempt::Retry {
                        error,
                        retry_after: None,
                    }
                } else {
                    Attempt::Fail(error)
                };
            }
        };
        let response = match ResponseText::read(response).await {
            Ok(response) => response,
            Err(source) => {
                return Attempt::Fail(PublishError::Transport {
                    package: package.to_owned(),
                    source,
                });
            }
        };
        let status = response.status;
        if response.is_success() {
            return Attempt::Done(PublishStatus::Published);
        }
        let message = response.summary();
        let exists = (status == 403 && message.contains("previously published")) || status == 409;
        if exists {
            let remote = self
                .existing_integrity(document.name(), version, token)
                .await;
            if remote.as_deref() == Some(integrity) {
                return Attempt::Done(PublishStatus::AlreadyPublished);
            }
            if remote.is_some() || status == 403 {
                return Attempt::Fail(PublishError::VersionExists {
                    package: package.to_owned(),
                    version: version.to_owned(),
                    registry: self.registry.host(),
                    local: integrity.to_owned(),
                    remote,
                });
            }
        }
        Attempt::from_status(
            status,
            response.retry_after,
            PublishError::Rejected {
                package: package.to_owned(),
                version: version.to_owned(),
                registry: self.registry.host(),
                status,
                message,
            },
        )
    }

    /// The integrity the registry lists for `package@version`, if it has that version.
    pub async fn existing_integrity(
        &self,
        name: &PackageName,
        version: &str,
        token: &Secret,
    ) -> Option<String> {
        let url = package_url(self.registry.url(), name);
        let response = self
            .http
            .send("npm packument lookup", &url, |c| {
                c.get(url.clone())
                    .bearer_auth(token.expose())
                    .header("Accept", "application/json")
            })
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let packument = ResponseText::read_capped(response, oidc_core::http::PAGE_BODY_CAP)
            .await
            .ok()?;
        let packument: Value = serde_json::from_str(&packument.body).ok()?;
        packument
            .pointer(&format!(
                "/versions/{}/dist/integrity",
                version.replace('~', "~0").replace('/', "~1")
            ))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

pub mod report;
pub mod run;

#[cfg(test)]
mod tests;
