//! The publish itself: `PUT <registry>/<escaped name>` with the publish document.
//!
//! The body streams the tarball through base64 from disk (see
//! [`PublishDocument::body_stream`]) and is rebuilt for each retry. Responses are mapped to
//! clear errors; a version that already exists with the same integrity is "already
//! published", so a re-run of a release job succeeds.

use oidc_core::http::{ResponseText, error_chain};
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
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
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
            let last = attempt >= max_attempts;
            let response = match sent {
                Ok(response) => response,
                Err(err) if err.is_body() && !err.is_timeout() && !err.is_connect() => {
                    return Err(PublishError::Body {
                        package,
                        reason: error_chain(&err.without_url()),
                    });
                }
                Err(err) => {
                    if !last {
                        let wait = self.retry.delay(attempt, None);
                        tracing::warn!(
                            "publishing {package}: {}; retrying in {:.1}s",
                            error_chain(&err),
                            wait.as_secs_f64()
                        );
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    // A lost response after the registry stored the version is not a failure.
                    if self
                        .existing_integrity(document.name(), &version, token)
                        .await
                        .as_deref()
                        == Some(integrity)
                    {
                        return Ok(PublishStatus::AlreadyPublished);
                    }
                    return Err(PublishError::Transport {
                        package,
                        source: HttpError::Transport {
                            what: "npm publish".into(),
                            url: url.to_string(),
                            attempts: attempt,
                            reason: error_chain(&err.without_url()),
                        },
                    });
                }
            };
            let response =
                ResponseText::read(response)
                    .await
                    .map_err(|source| PublishError::Transport {
                        package: package.clone(),
                        source,
                    })?;
            let status = response.status;
            if response.is_success() {
                return Ok(PublishStatus::Published);
            }
            let wait = response.retry_after;
            let message = response.summary();
            let exists =
                (status == 403 && message.contains("previously published")) || status == 409;
            if exists {
                let remote = self
                    .existing_integrity(document.name(), &version, token)
                    .await;
                if remote.as_deref() == Some(integrity) {
                    return Ok(PublishStatus::AlreadyPublished);
                }
                if remote.is_some() || status == 403 {
                    return Err(PublishError::VersionExists {
                        package,
                        version,
                        registry: self.registry.host(),
                        local: integrity.to_owned(),
                        remote,
                    });
                }
            }
            if !last && (status == 429 || status >= 500) {
                let wait = self.retry.delay(attempt, wait);
                tracing::warn!(
                    "publishing {package}: {} answered {status}; retrying in {:.1}s",
                    self.registry.host(),
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return Err(PublishError::Rejected {
                package,
                version,
                registry: self.registry.host(),
                status,
                message,
            });
        }
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
