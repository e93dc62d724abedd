//! The legacy upload API: one streamed multipart POST per distribution.
//!
//! Each file is sent with its metadata fields, its digests and `content` streamed from disk
//! with an explicit length (never the whole file in memory). Retries (lost connections,
//! timeouts, 408, 429, 5xx but 501/505) go through oidc-core's retry helper
//! ([`RetryPolicy::run`], with [`UploadOptions::retry`]) and rebuild the body from the file; a
//! `Retry-After` longer than the policy's longest wait ends the retries with an error that says
//! how long the index asked. An upload is safe to repeat: PyPI answers 200 to an identical
//! re-upload, a `File already exists` is reconciled against the index's simple API, and after
//! the last failed attempt a lost answer is checked the same way (the index may have stored the
//! file), so a re-run after a partial failure finishes the job. Wheels go before sdists; up to
//! `concurrency` files are in flight.

pub mod answer;
mod error;
mod form;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use oidc_core::http::Attempt;
use oidc_core::process::BoxFuture;
use oidc_core::{HttpClient, RetryPolicy, Secret};
use url::Url;

pub use error::UploadError;

use crate::dist::{Distribution, normalize_name};
use crate::index::PackageIndex;
use crate::simple::{LookupCredentials, ProjectFiles, project_files_from};

/// Credentials for an upload: fetched per file, so a long run can refresh them.
pub trait CredentialSource: Send + Sync {
    /// The username and password to send (`__token__` and a token for trusted publishing).
    fn credentials(&self) -> BoxFuture<'_, Result<(String, Secret), UploadError>>;
}

/// Fixed credentials (`--user`/`--password`, an API token).
pub struct StaticCredentials {
    /// The username (`__token__` for API tokens).
    pub username: String,
    /// The password or token.
    pub password: Secret,
}

impl CredentialSource for StaticCredentials {
    fn credentials(&self) -> BoxFuture<'_, Result<(String, Secret), UploadError>> {
        Box::pin(async move { Ok((self.username.clone(), self.password.clone())) })
    }
}

impl CredentialSource for oidc_core::Session<'_, crate::PypiExchange> {
    fn credentials(&self) -> BoxFuture<'_, Result<(String, Secret), UploadError>> {
        Box::pin(async move {
            let obtained = self
                .credential()
                .await
                .map_err(|err| UploadError::Credential(err.to_string()))?;
            Ok(("__token__".to_owned(), obtained.credential.secret))
        })
    }
}

/// What to do with files the index already has (`--skip-existing`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SkipExisting {
    /// Upload everything; an "exists" answer is reconciled: the same bytes are already
    /// present, other bytes an error.
    #[default]
    Off,
    /// twine's and gh-action-pypi-publish's `--skip-existing`: look first and skip any file
    /// whose name the index has. Other bytes under that name are skipped too, reported as
    /// [`FileStatus::SkippedDifferent`] (with both SHA-256s) so the caller can warn loudly.
    Skip,
    /// Skip identical files only; a same-named file with other bytes is an error.
    Strict,
}

/// How to upload.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Files the index already has.
    pub skip_existing: SkipExisting,
    /// Files in flight at once (at least 1).
    pub concurrency: usize,
    /// Retries of one file.
    pub retry: RetryPolicy,
    /// The simple index to reconcile against; derived from the upload URL when `None`.
    pub simple_url: Option<Url>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            skip_existing: SkipExisting::Off,
            concurrency: 4,
            retry: RetryPolicy::default(),
            simple_url: None,
        }
    }
}

/// One file to upload, with the PEP 740 attestations to send along.
#[derive(Debug, Clone)]
pub struct UploadItem {
    /// The distribution, already read and validated.
    pub dist: Distribution,
    /// Its attestations (none: the `attestations` field is left out).
    pub attestations: Vec<crate::attestation::Attestation>,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// Uploaded now.
    Uploaded,
    /// The index already had this exact file (an earlier run, or a retry after a lost
    /// response): nothing to do.
    AlreadyPresent,
    /// Skipped by `--skip-existing`: the index has the same file.
    Skipped,
    /// Skipped by `--skip-existing`: the index has a file of this name with other bytes (or
    /// said it exists without listing a hash). Worth a loud warning: what is on the index is
    /// not what was built.
    SkippedDifferent {
        /// The index's SHA-256, when it lists one.
        remote_sha256: Option<String>,
    },
}

impl FileStatus {
    /// Skipped by `--skip-existing`, whatever the bytes.
    pub fn is_skipped(&self) -> bool {
        matches!(
            self,
            FileStatus::Skipped | FileStatus::SkippedDifferent { .. }
        )
    }
}

/// The outcome of one file.
#[derive(Debug)]
pub struct FileResult {
    /// The file name.
    pub filename: String,
    /// Its size.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: String,
    /// What happened.
    pub outcome: Result<FileStatus, UploadError>,
}

/// Hears about progress (the library never prints; the CLI draws bars or lines).
pub trait UploadReporter: Send + Sync {
    /// A file starts (or restarts, on a retry).
    fn started(&self, _filename: &str, _size: u64) {}
    /// `sent` more bytes of a file went out.
    fn progress(&self, _filename: &str, _sent: u64) {}
    /// A file is done, whatever the outcome.
    fn finished(&self, _result: &FileResult) {}
}

/// A reporter that hears nothing.
pub struct NoReport;
impl UploadReporter for NoReport {}

/// Uploads to one index.
pub struct Uploader {
    http: HttpClient,
    index: PackageIndex,
    options: UploadOptions,
    /// `--skip-existing` looks at each project's page once per run, however many files it has.
    before_upload: tokio::sync::Mutex<HashMap<String, ProjectPage>>,
    /// Set when the index refused the credentials: the files not yet started are not tried.
    refused: AtomicBool,
}

/// A project's simple page, fetched at most once (concurrent askers wait for the first).
type ProjectPage = Arc<tokio::sync::OnceCell<Option<ProjectFiles>>>;

impl Uploader {
    /// An uploader to `index`.
    pub fn new(http: HttpClient, index: PackageIndex, options: UploadOptions) -> Self {
        Self {
            http,
            index,
            options,
            before_upload: tokio::sync::Mutex::new(HashMap::new()),
            refused: AtomicBool::new(false),
        }
    }

    /// Uploads every item: wheels first (concurrently), then sdists. Results come back in the
    /// order of `items` after wheels-first sorting.
    ///
    /// The first file goes alone: if the index refuses the credentials (401, or a 403 that is
    /// not a conflict answer), no other file is tried; they come back as
    /// [`UploadError::NotAttempted`]. A refusal later in the run stops the files not yet
    /// started the same way.
    pub async fn upload_all(
        &self,
        items: Vec<UploadItem>,
        credentials: &dyn CredentialSource,
        reporter: Arc<dyn UploadReporter>,
    ) -> Vec<FileResult> {
        let (wheels, sdists): (Vec<_>, Vec<_>) =
            items.into_iter().partition(|item| item.dist.is_wheel());
        let mut results = Vec::new();
        for (n, mut phase) in [wheels, sdists].into_iter().enumerate() {
            if n == 0 || results.is_empty() {
                // The very first file of the run goes alone, to learn whether the credentials work.
                if phase.is_empty() {
                    continue;
                }
                let first = phase.remove(0);
                let result = self.upload_one(first, credentials, &reporter).await;
                reporter.finished(&result);
                results.push(result);
            }
            let concurrency = self.options.concurrency.max(1);
            let phase_results: Vec<FileResult> = futures_util::stream::iter(phase)
                .map(|item| {
                    let reporter = reporter.clone();
                    async move {
                        let result = self.upload_one(item, credentials, &reporter).await;
                        reporter.finished(&result);
                        result
                    }
                })
                .buffered(concurrency)
                .collect()
                .await;
            results.extend(phase_results);
        }
        results
    }

    /// Uploads one file (with retries and reconciliation).
    pub async fn upload_one(
        &self,
        item: UploadItem,
        credentials: &dyn CredentialSource,
        reporter: &Arc<dyn UploadReporter>,
    ) -> FileResult {
        let outcome = if self.refused.load(Ordering::SeqCst) {
            Err(UploadError::NotAttempted {
                filename: item.dist.filename.clone(),
                reason: "the index refused the credentials for an earlier file".into(),
            })
        } else {
            let outcome = self.try_upload(&item, credentials, reporter).await;
            if outcome.as_ref().is_err_and(UploadError::is_auth_failure) {
                self.refused.store(true, Ordering::SeqCst);
            }
            outcome
        };
        FileResult {
            filename: item.dist.filename.clone(),
            size: item.dist.size,
            sha256: item.dist.sha256.clone(),
            outcome,
        }
    }

    async fn try_upload(
        &self,
        item: &UploadItem,
        credentials: &dyn CredentialSource,
        reporter: &Arc<dyn UploadReporter>,
    ) -> Result<FileStatus, UploadError> {
        let dist = &item.dist;
        if self.options.skip_existing != SkipExisting::Off
            && let Some(status) = self.check_existing(dist, credentials).await?
        {
            return Ok(status);
        }
        // One attempt: fresh credentials (a long run may outlive a token), the file streamed
        // again from disk. A lost connection or a retryable status is tried again through
        // the shared retry helper; the index's "exists" answer is reconciled below.
        let outcome = self
            .options
            .retry
            .run(&dist.filename, |_| async {
                let (username, password) = match credentials.credentials().await {
                    Ok(credentials) => credentials,
                    Err(err) => return Attempt::Fail(err),
                };
                reporter.started(&dist.filename, dist.size);
                let result = form::send(
                    &self.http,
                    self.index.upload_url(),
                    item,
                    &username,
                    &password,
                    reporter,
                )
                .await;
                match result {
                    Ok(()) => Attempt::Done(FileStatus::Uploaded),
                    Err(err) if err.is_transient() => Attempt::Retry {
                        retry_after: err.retry_after(),
                        error: err,
                    },
                    Err(err) => Attempt::Fail(err),
                }
            })
            .await;
        match outcome {
            Ok(status) => Ok(status),
            Err(err) if err.is_file_exists() => self.reconcile(dist, err, credentials).await,
            // The server may have stored the file before the connection broke: a lost
            // response is not a failed upload if the index has the file now.
            Err(err) if err.is_transient() && self.index_has_same(dist, credentials).await => {
                Ok(FileStatus::AlreadyPresent)
            }
            Err(err) => Err(err),
        }
    }

    /// The project a distribution belongs to (validation guarantees a name; the filename's
    /// first segment stands in otherwise).
    fn project(dist: &Distribution) -> String {
        dist.metadata.name.clone().unwrap_or_else(|| {
            dist.filename
                .split('-')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    }

    /// The project's files as the index lists them now. The upload credentials go along
    /// only to the upload URL's origin, and only if the page asks for them.
    async fn project_files(
        &self,
        dist: &Distribution,
        credentials: &dyn CredentialSource,
    ) -> Result<Option<ProjectFiles>, UploadError> {
        let candidates = match &self.options.simple_url {
            Some(url) => vec![url.clone()],
            None => self.index.simple_url_candidates(),
        };
        let lookup = match credentials.credentials().await {
            Ok((username, password)) => Some(LookupCredentials {
                origin: self.index.upload_url().origin(),
                username,
                password,
            }),
            Err(_) => None,
        };
        project_files_from(
            &self.http,
            &candidates,
            &Self::project(dist),
            lookup.as_ref(),
        )
        .await
        .map_err(|err| UploadError::Index {
            filename: dist.filename.clone(),
            reason: err.to_string(),
        })
    }

    /// `--skip-existing`: look before uploading. A lookup that fails is not the end of the
    /// file: it is uploaded, and an "exists" answer is reconciled afterwards.
    async fn check_existing(
        &self,
        dist: &Distribution,
        credentials: &dyn CredentialSource,
    ) -> Result<Option<FileStatus>, UploadError> {
        let page = Arc::clone(
            self.before_upload
                .lock()
                .await
                .entry(normalize_name(&Self::project(dist)))
                .or_default(),
        );
        let files = match page
            .get_or_try_init(|| self.project_files(dist, credentials))
            .await
        {
            Ok(Some(files)) => files,
            Ok(None) => return Ok(None),
            Err(err) => {
                tracing::warn!("{err}; uploading it, and reconciling if the index says it exists");
                return Ok(None);
            }
        };
        match files.get(&dist.filename) {
            None => Ok(None),
            Some(remote) => self.existing(dist, remote.clone()).map(Some),
        }
    }

    /// The index has a file of this name with `remote` as its SHA-256 (when it lists one).
    fn existing(
        &self,
        dist: &Distribution,
        remote: Option<String>,
    ) -> Result<FileStatus, UploadError> {
        let same = remote.as_deref() == Some(dist.sha256.as_str());
        match self.options.skip_existing {
            SkipExisting::Off if same => Ok(FileStatus::AlreadyPresent),
            SkipExisting::Skip | SkipExisting::Strict if same => Ok(FileStatus::Skipped),
            SkipExisting::Skip => Ok(FileStatus::SkippedDifferent {
                remote_sha256: remote,
            }),
            SkipExisting::Off | SkipExisting::Strict => Err(UploadError::DifferentFileExists {
                filename: dist.filename.clone(),
                local_sha256: dist.sha256.clone(),
                remote_sha256: remote,
            }),
        }
    }

    /// After the index's "exists" answer: the same bytes are a success, other bytes an error
    /// (or skipped, with `--skip-existing`).
    async fn reconcile(
        &self,
        dist: &Distribution,
        original: UploadError,
        credentials: &dyn CredentialSource,
    ) -> Result<FileStatus, UploadError> {
        let listed = match self.project_files(dist, credentials).await {
            Ok(Some(files)) => files.get(&dist.filename).cloned(),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!("{err}");
                None
            }
        };
        match listed {
            Some(remote) => self.existing(dist, remote),
            // The index says it exists but does not list it (the lookup failed, the page is
            // elsewhere, or another file has the same bytes): as twine does, --skip-existing
            // takes the index's word; otherwise the index's answer stands.
            None if self.options.skip_existing == SkipExisting::Skip => {
                Ok(FileStatus::SkippedDifferent {
                    remote_sha256: None,
                })
            }
            None => Err(original),
        }
    }

    async fn index_has_same(
        &self,
        dist: &Distribution,
        credentials: &dyn CredentialSource,
    ) -> bool {
        matches!(
            self.project_files(dist, credentials).await,
            Ok(Some(files)) if files.get(&dist.filename).is_some_and(|h| h.as_deref() == Some(dist.sha256.as_str()))
        )
    }
}

#[cfg(test)]
mod tests;
