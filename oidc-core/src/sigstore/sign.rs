//! Keyless signing of in-toto statements: one Fulcio certificate and one Rekor v1 `dsse` entry
//! per statement, each finished bundle verified offline before it is handed back.

use futures_util::StreamExt as _;
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::{SigningContext, SigningServices};
use url::Url;

use super::verify::{ArtifactDigest, ExpectedIdentity, VerifiedBundle, verify_bundle};
use super::{SIGSTORE_AUDIENCE, SigstoreConfig, SigstoreError, TrustRoot};
use crate::claims::Claims;
use crate::http::{HttpClient, RetryPolicy, error_chain};
use crate::secret::IdToken;

/// One statement to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningJob {
    /// What the statement is about, for messages (a file name, a package id).
    pub subject: String,
    /// The in-toto statement, byte for byte as it will be signed.
    pub statement: Vec<u8>,
    /// The artifact's digest, which the statement's subject must carry.
    pub digest: ArtifactDigest,
}

/// A signed, logged and locally verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBundle {
    /// The job's subject.
    pub subject: String,
    /// The v0.3 bundle JSON, exactly what was verified.
    pub bundle_json: String,
    /// What the verification established.
    pub verified: VerifiedBundle,
}

/// Signs statements with an ambient `sigstore` ID token.
#[derive(Debug, Clone)]
pub struct KeylessSigner {
    context: SigningContext,
    token: IdentityToken,
    expected: ExpectedIdentity,
    trust: TrustRoot,
    fulcio_url: String,
    rekor_url: String,
    retry: RetryPolicy,
    concurrency: usize,
}

impl KeylessSigner {
    /// A signer for `config`'s instance, verifying against `trust`, authenticated by `token`
    /// (audience `sigstore`), talking through `http` (its TLS roots and timeouts).
    pub fn new(
        config: &SigstoreConfig,
        trust: TrustRoot,
        token: &IdToken,
        http: &HttpClient,
    ) -> Result<Self, SigstoreError> {
        for (service, url) in [("Fulcio", &config.fulcio_url), ("Rekor", &config.rekor_url)] {
            HttpClient::check_url(url).map_err(|err| SigstoreError::Signing {
                subject: "anything".into(),
                reason: format!("the {service} URL is refused: {err}"),
            })?;
        }
        let claims = Claims::decode(token).map_err(|err| SigstoreError::Token {
            reason: err.to_string(),
        })?;
        if !claims
            .aud
            .as_ref()
            .is_some_and(|aud| aud.contains(SIGSTORE_AUDIENCE))
        {
            return Err(SigstoreError::Token {
                reason: format!(
                    "its audience is {}, Fulcio needs `{SIGSTORE_AUDIENCE}`",
                    claims
                        .aud
                        .as_ref()
                        .map_or_else(|| "missing".to_owned(), |aud| aud.display())
                ),
            });
        }
        let identity =
            IdentityToken::from_jwt(token.expose()).map_err(|err| SigstoreError::Token {
                reason: err.to_string(),
            })?;
        let fulcio_url = base_url(&config.fulcio_url);
        let rekor_url = base_url(&config.rekor_url);
        let services = SigningServices::new(fulcio_url.clone(), rekor_url.clone());
        let context = SigningContext::new(services).with_http_client(http.inner().clone());
        Ok(Self {
            context,
            token: identity,
            expected: super::expected_certificate_identity(&claims),
            trust,
            fulcio_url,
            rekor_url,
            retry: http.retry_policy().clone(),
            concurrency: 4,
        })
    }

    /// Sign at most `n` statements at once (default 4).
    #[must_use]
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The identity every certificate must carry, from the token.
    pub fn expected_identity(&self) -> &ExpectedIdentity {
        &self.expected
    }

    /// The trust root bundles are verified against.
    pub fn trust_root(&self) -> &TrustRoot {
        &self.trust
    }

    /// Signs one statement, retrying transient Fulcio/Rekor failures, then verifies the bundle.
    pub async fn sign(&self, job: &SigningJob) -> Result<SignedBundle, SigstoreError> {
        let mut attempt = 1;
        loop {
            match self.sign_once(job).await {
                Err(err) if err.is_transient() && attempt < self.retry.max_attempts => {
                    tracing::warn!("signing {} failed, retrying: {err}", job.subject);
                    tokio::time::sleep(self.retry.delay(attempt, None)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Signs every job, at most [`Self::with_concurrency`] at once; results in job order.
    pub async fn sign_all(&self, jobs: &[SigningJob]) -> Vec<Result<SignedBundle, SigstoreError>> {
        futures_util::stream::iter(jobs.iter().map(|job| self.sign(job)))
            .buffered(self.concurrency)
            .collect()
            .await
    }

    async fn sign_once(&self, job: &SigningJob) -> Result<SignedBundle, SigstoreError> {
        let signer = self.context.signer(self.token.clone());
        let bundle = signer
            .sign_raw_statement(&job.statement)
            .await
            .map_err(|err| self.service_error(&job.subject, err))?;
        let bundle_json = bundle.to_json().map_err(|err| SigstoreError::Signing {
            subject: job.subject.clone(),
            reason: format!("the bundle cannot be serialized: {err}"),
        })?;
        let verified = verify_bundle(
            &self.trust,
            &bundle_json,
            &job.subject,
            &job.digest,
            &self.expected,
        )?;
        if verified.statement != job.statement {
            return Err(SigstoreError::Verification {
                subject: job.subject.clone(),
                reason: "the signed statement differs from the one submitted".into(),
            });
        }
        Ok(SignedBundle {
            subject: job.subject.clone(),
            bundle_json,
            verified,
        })
    }

    fn service_error(&self, subject: &str, err: sigstore_sign::Error) -> SigstoreError {
        use sigstore_sign::Error;
        match &err {
            Error::Fulcio(inner) => {
                let transient = match inner {
                    sigstore_sign::fulcio::Error::Http(_) => true,
                    sigstore_sign::fulcio::Error::Status { status, .. } => {
                        *status >= 500 || *status == 429
                    }
                    _ => false,
                };
                let hint = match inner {
                    sigstore_sign::fulcio::Error::Status { status: 401 | 403, .. } => ". Fulcio did not accept the ID token: it must come from this job, be unexpired, and have audience `sigstore`; a private instance must trust this CI's issuer".to_owned(),
                    _ if transient => ". Fulcio may be down: try again, or check https://status.sigstore.dev".to_owned(),
                    _ => String::new(),
                };
                SigstoreError::Fulcio {
                    url: self.fulcio_url.clone(),
                    reason: error_chain(inner),
                    hint,
                    transient,
                }
            }
            Error::Rekor(inner) => {
                let transient = match inner {
                    sigstore_sign::rekor::Error::Http(_) => true,
                    sigstore_sign::rekor::Error::Status { status, .. } => {
                        *status >= 500 || *status == 429
                    }
                    _ => false,
                };
                let hint = if transient {
                    ". Rekor may be down: try again, or check https://status.sigstore.dev"
                        .to_owned()
                } else {
                    String::new()
                };
                SigstoreError::Rekor {
                    url: self.rekor_url.clone(),
                    reason: error_chain(inner),
                    hint,
                    transient,
                }
            }
            Error::Oidc(_) => SigstoreError::Token {
                reason: error_chain(&err),
            },
            _ => SigstoreError::Signing {
                subject: subject.to_owned(),
                reason: error_chain(&err),
            },
        }
    }
}

/// The service base URL without a trailing slash (the clients append `/api/...`).
fn base_url(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}
