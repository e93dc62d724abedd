//! Keyless signing of in-toto statements in one signing session per run: one ephemeral key and
//! one Fulcio certificate serve every statement (renewed only when the certificate is about to
//! run out), one Rekor v1 `dsse` entry per statement, each finished bundle verified offline
//! before it is handed back.
//!
//! A certificate per statement (what `sigstore_sign::Signer` does) costs a Fulcio round trip and
//! a key per artifact; gh-action-pypi-publish and sigstore-python sign a whole release with one
//! cached signer. Here the first statement to need the certificate fetches it, the others wait for
//! it, and from then on only Rekor is asked, in parallel.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use sigstore_sign::crypto::{KeyPair, Sha256Hasher};
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::rekor::{DsseEntry, LogEntry};
use sigstore_sign::types::{
    DerCertificate, DsseEnvelope, DsseSignature, KeyId, KindVersion, PayloadBytes, Statement,
};
use tokio::sync::Mutex;
use url::Url;

use super::verify::{ArtifactDigest, ExpectedIdentity, VerifiedBundle, verify_bundle};
use super::{SIGSTORE_AUDIENCE, SigstoreConfig, SigstoreError, TrustRoot};
use crate::claims::Claims;
use crate::http::{
    Attempt, HttpClient, JSON_BODY_CAP, RetryError, RetryPolicy, ServerWait, error_chain,
};
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

/// Where a signer gets a new `sigstore` ID token when its certificate must be renewed and the
/// token it started with has expired (CI tokens live minutes; a long run outlives them).
pub trait SigningTokenSource: Send + Sync + fmt::Debug {
    /// A fresh ID token with audience `sigstore` (masked by the source, if it must be).
    fn fresh_token(&self) -> BoxFuture<'_, Result<IdToken, SigstoreError>>;
}

/// The payload type of every DSSE envelope signed here.
const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A failed Fulcio or Rekor step, with the `Retry-After` of the answer that failed it (for the
/// retry helper's wait).
#[derive(Debug)]
struct StepFailure {
    error: SigstoreError,
    retry_after: Option<Duration>,
}

impl From<SigstoreError> for StepFailure {
    fn from(error: SigstoreError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl RetryError for SigstoreError {
    /// Fulcio or Rekor asked for a longer pause than the retry policy takes: the hint says how
    /// long, and the error is no longer transient (another immediate try would only hammer).
    fn server_asked_to_wait(self, wait: ServerWait) -> Self {
        let hint = {
            let text = wait.to_string();
            let mut chars = text.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            format!(
                ". {}{}",
                first.map(String::from).unwrap_or_default(),
                chars.as_str()
            )
        };
        match self {
            Self::Fulcio { url, reason, .. } => Self::Fulcio {
                url,
                reason,
                hint,
                transient: false,
            },
            Self::Rekor { url, reason, .. } => Self::Rekor {
                url,
                reason,
                hint,
                transient: false,
            },
            other => other,
        }
    }
}

/// A key and the Fulcio certificate for it: the signing session's identity.
#[derive(Debug)]
struct Certified {
    key: KeyPair,
    certificate: DerCertificate,
    /// Unix seconds.
    not_after: i64,
    /// Renew when less than this is left (a third of the lifetime, at most a minute), so that
    /// every Rekor entry is integrated while the certificate is valid.
    margin: i64,
}

impl Certified {
    fn usable_at(&self, now: i64) -> bool {
        now.saturating_add(self.margin) < self.not_after
    }
}

/// The ID token the session authenticates to Fulcio with, and when it expires.
#[derive(Debug)]
struct TokenState {
    identity: IdentityToken,
    /// Unix seconds, from the token's `exp` claim.
    expires: Option<i64>,
}

/// State shared by every clone of a signer: one session per run.
#[derive(Debug)]
struct SessionState {
    token: Mutex<TokenState>,
    certified: Mutex<Option<Arc<Certified>>>,
    certificates_issued: AtomicUsize,
}

/// Signs statements with an ambient `sigstore` ID token, in one signing session: clones share
/// the key and the certificate.
#[derive(Debug, Clone)]
pub struct KeylessSigner {
    http: HttpClient,
    session: Arc<SessionState>,
    token_source: Option<Arc<dyn SigningTokenSource>>,
    expected: ExpectedIdentity,
    trust: TrustRoot,
    fulcio_url: String,
    rekor_url: String,
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
        let (claims, token_state) = checked_token(token)?;
        Ok(Self {
            http: http.clone(),
            session: Arc::new(SessionState {
                token: Mutex::new(token_state),
                certified: Mutex::new(None),
                certificates_issued: AtomicUsize::new(0),
            }),
            token_source: None,
            expected: super::expected_certificate_identity(&claims),
            trust,
            fulcio_url: base_url(&config.fulcio_url),
            rekor_url: base_url(&config.rekor_url),
            concurrency: 8,
        })
    }

    /// Sign at most `n` statements at once (default 8: after the one certificate, each statement
    /// is one Rekor request, and Rekor answers in parallel).
    #[must_use]
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Where to get a new ID token when the certificate must be renewed after the first token
    /// expired. Without one, such a renewal fails with [`SigstoreError::Token`].
    #[must_use]
    pub fn with_token_source(mut self, source: Arc<dyn SigningTokenSource>) -> Self {
        self.token_source = Some(source);
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

    /// How many Fulcio certificates this signing session has obtained so far (one per run,
    /// unless a certificate ran out mid-run).
    pub fn certificates_issued(&self) -> usize {
        self.session.certificates_issued.load(Ordering::Relaxed)
    }

    /// Signs one statement with the session's certificate (obtained or renewed first when
    /// needed), retrying transient Fulcio/Rekor failures, then verifies the bundle.
    pub async fn sign(&self, job: &SigningJob) -> Result<SignedBundle, SigstoreError> {
        // Reject an invalid statement before asking Fulcio for anything.
        serde_json::from_slice::<Statement>(&job.statement).map_err(|err| {
            SigstoreError::Signing {
                subject: job.subject.clone(),
                reason: format!("the statement is not an in-toto statement: {err}"),
            }
        })?;
        let certified = self.certified(&job.subject).await?;
        let bundle_json = self
            .retrying(&job.subject, || self.sign_and_log(job, &certified))
            .await?;
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

    /// Signs every job, at most [`Self::with_concurrency`] at once; results in job order.
    pub async fn sign_all(&self, jobs: &[SigningJob]) -> Vec<Result<SignedBundle, SigstoreError>> {
        futures_util::stream::iter(jobs.iter().map(|job| self.sign(job)))
            .buffered(self.concurrency)
            .collect()
            .await
    }

    /// Signs every job, at most [`Self::with_concurrency`] at once, yielding `(index, result)`
    /// as each finishes, so that a caller can start uploading an artifact the moment its
    /// bundle is ready.
    pub fn sign_each<'a>(
        &'a self,
        jobs: &'a [SigningJob],
    ) -> impl futures_util::Stream<Item = (usize, Result<SignedBundle, SigstoreError>)> + 'a {
        futures_util::stream::iter(
            jobs.iter()
                .enumerate()
                .map(move |(index, job)| async move { (index, self.sign(job).await) }),
        )
        .buffer_unordered(self.concurrency)
    }

    /// The session's certificate: the cached one while it has time left, else a new key and a
    /// new certificate (one request, however many statements are waiting for it).
    async fn certified(&self, subject: &str) -> Result<Arc<Certified>, SigstoreError> {
        let mut slot = self.session.certified.lock().await;
        if let Some(current) = slot.as_ref()
            && current.usable_at(now_unix())
        {
            return Ok(current.clone());
        }
        if slot.is_some() {
            tracing::info!(
                "the signing certificate is about to expire: requesting a new one from Fulcio"
            );
        }
        let key = KeyPair::generate_ecdsa_p256().map_err(|err| SigstoreError::Signing {
            subject: subject.to_owned(),
            reason: format!("cannot generate an ephemeral key: {}", error_chain(&err)),
        })?;
        let identity = self.current_token().await?;
        let certificate = self
            .retrying(subject, || self.request_certificate(&identity, &key))
            .await?;
        let info = sigstore_sign::crypto::parse_certificate_info(&certificate).map_err(|err| {
            SigstoreError::Fulcio {
                url: self.fulcio_url.clone(),
                reason: format!("the certificate it issued cannot be read: {err}"),
                hint: String::new(),
                transient: false,
            }
        })?;
        let not_before = info.not_before.as_second();
        let not_after = info.not_after.as_second();
        let lifetime = not_after.saturating_sub(not_before).max(0);
        let certified = Arc::new(Certified {
            key,
            certificate,
            not_after,
            margin: (lifetime / 3).min(60),
        });
        self.session
            .certificates_issued
            .fetch_add(1, Ordering::Relaxed);
        *slot = Some(certified.clone());
        Ok(certified)
    }

    /// The ID token to present to Fulcio: the one the signer started with while it has half a
    /// minute left, else a fresh one from the token source.
    async fn current_token(&self) -> Result<IdentityToken, SigstoreError> {
        let mut state = self.session.token.lock().await;
        let expired = state
            .expires
            .is_some_and(|exp| exp <= now_unix().saturating_add(30));
        if expired {
            let Some(source) = &self.token_source else {
                return Err(SigstoreError::Token {
                    reason: "it expired during the run, when the signing certificate had to be renewed, and no way to fetch a new one was given".into(),
                });
            };
            let fresh = source.fresh_token().await?;
            *state = checked_token(&fresh)?.1;
        }
        Ok(state.identity.clone())
    }

    /// Asks Fulcio for a certificate for `key` (`POST /api/v2/signingCert`, the public key with
    /// a proof of possession over the token's identity), through trustpub's HTTP client: the
    /// answer is read at most [`JSON_BODY_CAP`] bytes, and the token-carrying request follows no
    /// redirect.
    async fn request_certificate(
        &self,
        identity: &IdentityToken,
        key: &KeyPair,
    ) -> Result<DerCertificate, StepFailure> {
        let fulcio_error = |reason: String, transient: bool| SigstoreError::Fulcio {
            url: self.fulcio_url.clone(),
            reason,
            hint: if transient {
                ". Fulcio may be down: try again, or check https://status.sigstore.dev".to_owned()
            } else {
                String::new()
            },
            transient,
        };
        let public_key = key
            .public_key_der()
            .map_err(|err| fulcio_error(format!("cannot export the public key: {err}"), false))?
            .to_pem();
        let proof = key.sign(identity.identity().as_bytes()).map_err(|err| {
            fulcio_error(format!("cannot sign the proof of possession: {err}"), false)
        })?;
        let body = serde_json::json!({
            "credentials": {"oidcIdentityToken": identity.expose_secret()},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "", "content": public_key},
                "proofOfPossession": proof,
            },
        })
        .to_string();
        let url = service_url(&self.fulcio_url, "/api/v2/signingCert")
            .map_err(|reason| fulcio_error(reason, false))?;
        let answer = self
            .http
            .post_json_once(
                "Fulcio signing certificate",
                &url,
                &body,
                None,
                JSON_BODY_CAP,
            )
            .await
            .map_err(|err| fulcio_error(err.to_string(), err.is_transport()))?;
        if !answer.is_success() {
            let status = answer.status;
            let transient = RetryPolicy::is_retryable_code(status);
            let mut err = fulcio_error(
                format!("Fulcio returned HTTP {status}: {}", answer.summary()),
                transient,
            );
            if matches!(status, 401 | 403)
                && let SigstoreError::Fulcio { hint, .. } = &mut err
            {
                *hint = ". Fulcio did not accept the ID token: it must come from this job, be unexpired, and have audience `sigstore`; a private instance must trust this CI's issuer".to_owned();
            }
            return Err(StepFailure {
                error: err,
                retry_after: answer.retry_after,
            });
        }
        Ok(leaf_certificate(&answer.body).map_err(|reason| fulcio_error(reason, false))?)
    }

    /// Signs the statement as a DSSE envelope with the session key, logs it in Rekor and
    /// returns the v0.3 bundle JSON.
    async fn sign_and_log(
        &self,
        job: &SigningJob,
        certified: &Certified,
    ) -> Result<String, StepFailure> {
        let subject = job.subject.as_str();
        let mut hasher = Sha256Hasher::new();
        hasher.update(&dsse_pae_prefix(IN_TOTO_PAYLOAD_TYPE, job.statement.len()));
        hasher.update(&job.statement);
        let (_digest, signature) = certified
            .key
            .sign_prehashed(hasher)
            .map_err(|err| self.service_error(subject, err.into()))?;
        let envelope = DsseEnvelope::new(
            IN_TOTO_PAYLOAD_TYPE.to_owned(),
            PayloadBytes::new(job.statement.clone()),
            DsseSignature::new(signature, KeyId::default()),
        );
        let request = DsseEntry::new(&envelope, &certified.certificate)
            .map_err(|err| self.service_error(subject, err.into()))?;
        let entry = self.create_dsse_entry(&request).await?;
        let tlog_entry = entry
            .to_bundle_entry(KindVersion::DsseV001)
            .map_err(|err| SigstoreError::Rekor {
                url: self.rekor_url.clone(),
                reason: format!("its answer is not a usable log entry: {err}"),
                hint: String::new(),
                transient: false,
            })?;
        let bundle = sigstore_sign::bundle::BundleV03::with_certificate_and_dsse(
            certified.certificate.clone(),
            envelope,
        )
        .with_tlog_entry(tlog_entry)
        .into_bundle();
        Ok(bundle.to_json().map_err(|err| SigstoreError::Signing {
            subject: subject.to_owned(),
            reason: format!("the bundle cannot be serialized: {err}"),
        })?)
    }

    /// Logs a DSSE entry in Rekor (`POST /api/v1/log/entries`), the answer read bounded.
    async fn create_dsse_entry(&self, request: &DsseEntry) -> Result<LogEntry, StepFailure> {
        let rekor_error = |reason: String, transient: bool| SigstoreError::Rekor {
            url: self.rekor_url.clone(),
            reason,
            hint: if transient {
                ". Rekor may be down: try again, or check https://status.sigstore.dev".to_owned()
            } else {
                String::new()
            },
            transient,
        };
        let body = serde_json::to_string(request)
            .map_err(|err| rekor_error(format!("cannot encode the entry: {err}"), false))?;
        let url = service_url(&self.rekor_url, "/api/v1/log/entries")
            .map_err(|reason| rekor_error(reason, false))?;
        let answer = self
            .http
            .post_json_once("Rekor log entry", &url, &body, None, JSON_BODY_CAP)
            .await
            .map_err(|err| rekor_error(err.to_string(), err.is_transport()))?;
        if !answer.is_success() {
            let status = answer.status;
            return Err(StepFailure {
                error: rekor_error(
                    format!("Rekor returned HTTP {status}: {}", answer.summary()),
                    RetryPolicy::is_retryable_code(status),
                ),
                retry_after: answer.retry_after,
            });
        }
        let entries: std::collections::BTreeMap<String, LogEntry> =
            serde_json::from_str(&answer.body).map_err(|err| {
                rekor_error(format!("its answer is not a log entry: {err}"), false)
            })?;
        let Some((uuid, mut entry)) = entries.into_iter().next() else {
            return Err(rekor_error("its answer holds no log entry".into(), false).into());
        };
        entry.uuid = sigstore_sign::types::EntryUuid::new(uuid);
        Ok(entry)
    }

    /// Runs `step` again after transient Fulcio/Rekor failures, through the HTTP client's retry
    /// helper ([`HttpClient::retry`], its policy): the same backoff, cap and `Retry-After` rule
    /// as every other request. A step is safe to repeat: a Fulcio request only issues another
    /// certificate for the same key, a Rekor request logs the same signature.
    async fn retrying<T, F, Fut>(&self, subject: &str, mut step: F) -> Result<T, SigstoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StepFailure>>,
    {
        self.http
            .retry(&format!("signing {subject}"), |_| {
                let attempt = step();
                async move {
                    match attempt.await {
                        Ok(value) => Attempt::Done(value),
                        Err(StepFailure { error, retry_after }) if error.is_transient() => {
                            Attempt::Retry { error, retry_after }
                        }
                        Err(failure) => Attempt::Fail(failure.error),
                    }
                }
            })
            .await
    }

    fn service_error(&self, subject: &str, err: sigstore_sign::Error) -> SigstoreError {
        use sigstore_sign::Error;
        match &err {
            Error::Fulcio(inner) => {
                let transient = match inner {
                    sigstore_sign::fulcio::Error::Http(_) => true,
                    sigstore_sign::fulcio::Error::Status { status, .. } => {
                        RetryPolicy::is_retryable_code(*status)
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
                        RetryPolicy::is_retryable_code(*status)
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

/// Decodes and checks a `sigstore` ID token: it must be a JWT with audience `sigstore`.
fn checked_token(token: &IdToken) -> Result<(Claims, TokenState), SigstoreError> {
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
    let identity = IdentityToken::from_jwt(token.expose()).map_err(|err| SigstoreError::Token {
        reason: err.to_string(),
    })?;
    let state = TokenState {
        identity,
        expires: claims.exp,
    };
    Ok((claims, state))
}

/// `path` under a service's base URL (kept without a trailing slash).
fn service_url(base: &str, path: &str) -> Result<Url, String> {
    Url::parse(&format!("{base}{path}"))
        .map_err(|err| format!("`{base}{path}` is not a URL: {err}"))
}

/// The leaf (first) certificate of Fulcio's answer, with an embedded or a detached SCT.
fn leaf_certificate(body: &str) -> Result<DerCertificate, String> {
    let answer: serde_json::Value =
        serde_json::from_str(body).map_err(|err| format!("its answer is not JSON: {err}"))?;
    let chain = [
        "signedCertificateEmbeddedSct",
        "signedCertificateDetachedSct",
    ]
    .iter()
    .find_map(|field| answer.get(field))
    .and_then(|signed| signed.pointer("/chain/certificates"))
    .and_then(serde_json::Value::as_array)
    .ok_or("its answer has no certificate chain")?;
    let leaf = chain
        .first()
        .and_then(serde_json::Value::as_str)
        .ok_or("its certificate chain is empty")?;
    DerCertificate::from_pem(leaf).map_err(|err| format!("its leaf certificate is not PEM: {err}"))
}

/// DSSE's pre-authentication encoding up to the payload:
/// `DSSEv1 <len(type)> <type> <len(payload)> `.
fn dsse_pae_prefix(payload_type: &str, payload_len: usize) -> Vec<u8> {
    format!(
        "DSSEv1 {} {payload_type} {payload_len} ",
        payload_type.len()
    )
    .into_bytes()
}

/// Seconds since the epoch (0 for a clock before 1970).
fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The service base URL without a trailing slash (the clients append `/api/...`).
fn base_url(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::env::MapEnv;
    use crate::http::HttpConfig;

    async fn signer(server: &MockServer) -> KeylessSigner {
        let config = HttpConfig {
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(20),
            },
            ..HttpConfig::default()
        };
        let http = HttpClient::new(&config, &MapEnv::new()).unwrap();
        let sigstore = SigstoreConfig {
            fulcio_url: Url::parse(&server.uri()).unwrap(),
            rekor_url: Url::parse(&server.uri()).unwrap(),
            trusted_root: None,
        };
        let token = crate::claims::tests::jwt(&serde_json::json!({
            "iss": "https://token.actions.githubusercontent.com",
            "aud": "sigstore",
            "sub": "repo:octo-org/octo-repo:ref:refs/tags/v1",
            "exp": now_unix() + 600,
            "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        }));
        KeylessSigner::new(&sigstore, TrustRoot::public_good().unwrap(), &token, &http).unwrap()
    }

    fn job() -> SigningJob {
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "a.whl", "digest": {"sha256": "00".repeat(32)}}],
            "predicateType": "https://docs.pypi.org/attestations/publish/v1",
            "predicate": {},
        });
        SigningJob {
            subject: "a.whl".into(),
            statement: statement.to_string().into_bytes(),
            digest: ArtifactDigest::Sha256([0; 32]),
        }
    }

    /// A Fulcio answer is read at most 1 MiB: a larger one is refused, naming the host and
    /// the cap, and nothing is signed.
    #[tokio::test]
    async fn an_oversized_fulcio_answer_is_refused() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v2/signingCert"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_raw("x".repeat(JSON_BODY_CAP + 1), "application/json"),
            )
            .mount(&server)
            .await;
        let err = signer(&server).await.sign(&job()).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, SigstoreError::Fulcio { .. }), "{err:?}");
        assert!(
            text.contains("127.0.0.1") && text.contains("larger than 1 MiB"),
            "{text}"
        );
    }

    /// Fulcio's refusal is reported with its status and the hint for a token it did not take;
    /// a 5xx is retried by the signer's loop and then reported as transient.
    #[tokio::test]
    async fn fulcio_refusals_and_outages_are_named() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v2/signingCert"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"code": 16, "message": "There was an error processing the identity token"}),
            ))
            .mount(&server)
            .await;
        let err = signer(&server).await.sign(&job()).await.unwrap_err();
        assert!(!err.is_transient());
        assert!(
            err.to_string().contains("HTTP 401")
                && err
                    .to_string()
                    .contains("Fulcio did not accept the ID token"),
            "{err}"
        );

        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v2/signingCert"))
            .respond_with(ResponseTemplate::new(503))
            .expect(2)
            .mount(&server)
            .await;
        let err = signer(&server).await.sign(&job()).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("Fulcio may be down"), "{err}");
    }

    /// The signer's loop is the HTTP client's retry helper: a transient failure (a 503) is
    /// tried again and the next success returned; the policy's cap holds.
    #[tokio::test]
    async fn the_signer_retries_a_transient_failure_then_succeeds() {
        let server = MockServer::start().await;
        let signer = signer(&server).await;
        let calls = std::sync::atomic::AtomicU32::new(0);
        let value = signer
            .retrying("a.whl", || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Err(StepFailure::from(SigstoreError::Rekor {
                            url: "https://rekor.example".into(),
                            reason: "Rekor returned HTTP 503: busy".into(),
                            hint: String::new(),
                            transient: true,
                        }))
                    } else {
                        Ok("bundle")
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(value, "bundle");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// A 4xx refusal from Fulcio is never retried, whatever its status.
    #[tokio::test]
    async fn fulcio_refusals_are_not_retried() {
        for status in [400, 401, 403] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/api/v2/signingCert"))
                .respond_with(ResponseTemplate::new(status))
                .expect(1)
                .mount(&server)
                .await;
            let err = signer(&server).await.sign(&job()).await.unwrap_err();
            assert!(!err.is_transient(), "{status}: {err}");
            assert!(err.to_string().contains(&format!("HTTP {status}")), "{err}");
        }
    }

    /// A `Retry-After` longer than the policy's longest wait (20 ms here): one request, no
    /// sleep, and the error says how long Fulcio asked; it is no longer transient.
    #[tokio::test]
    async fn a_long_retry_after_from_fulcio_ends_the_retries_and_is_named() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v2/signingCert"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "600"))
            .expect(1)
            .mount(&server)
            .await;
        let err = signer(&server).await.sign(&job()).await.unwrap_err();
        assert!(!err.is_transient(), "{err}");
        assert!(
            err.to_string()
                .contains("answered 429 Too Many Requests; the server asked to wait 600 s"),
            "{err}"
        );
        // The same rule when the wait reaches the loop itself (a Rekor answer, say).
        let signer = signer(&server).await;
        let err = signer
            .retrying("a.whl", || async {
                Err::<(), _>(StepFailure {
                    error: SigstoreError::Rekor {
                        url: "https://rekor.example".into(),
                        reason: "Rekor returned HTTP 429: slow down".into(),
                        hint: String::new(),
                        transient: true,
                    },
                    retry_after: Some(Duration::from_secs(90)),
                })
            })
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        insta::assert_snapshot!(err, @"Rekor at https://rekor.example did not log the signature: Rekor returned HTTP 429: slow down. The server asked to wait 90 s before another attempt, longer than trustpub waits between attempts (0.02 s): not retried, run the job again later");
    }

    #[test]
    fn the_leaf_is_the_first_certificate_of_either_chain_form() {
        assert!(
            leaf_certificate("{}")
                .unwrap_err()
                .contains("no certificate chain")
        );
        assert!(
            leaf_certificate(r#"{"signedCertificateEmbeddedSct":{"chain":{"certificates":[]}}}"#)
                .unwrap_err()
                .contains("empty")
        );
        assert!(leaf_certificate("not json").is_err());
    }
}
