//! The legacy upload API: one streamed multipart POST per distribution.
//!
//! Each file is sent with its metadata fields, its digests and `content` streamed from disk
//! with an explicit length (never the whole file in memory). Retries (429, 5xx, lost
//! connections) rebuild the body from the file. An upload is idempotent: PyPI answers 200 to
//! an identical re-upload, and a `File already exists` is reconciled against the index's simple
//! API, so a re-run after a partial failure finishes the job. Wheels go before sdists; up to
//! `concurrency` files are in flight.

mod error;
mod form;

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use oidc_core::process::BoxFuture;
use oidc_core::{HttpClient, RetryPolicy, Secret};
use url::Url;

pub use error::UploadError;

use crate::dist::{Distribution, normalize_name};
use crate::index::PackageIndex;
use crate::simple::{ProjectFiles, project_files};

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

/// How to upload.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Skip files the index already has with the same SHA-256 (checked before uploading);
    /// a same-named file with another hash is an error.
    pub skip_existing: bool,
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
            skip_existing: false,
            concurrency: 4,
            retry: RetryPolicy::default(),
            simple_url: None,
        }
    }
}

/// One file to upload, with the attestations to send along (a JSON array, PEP 740).
#[derive(Debug, Clone)]
pub struct UploadItem {
    /// The distribution, already read and validated.
    pub dist: Distribution,
    /// The `attestations` field: a JSON array of attestation objects.
    pub attestations: Option<String>,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// Uploaded now.
    Uploaded,
    /// The index already had this exact file (an earlier run, or a retry after a lost
    /// response): nothing to do.
    AlreadyPresent,
    /// Skipped by `--skip-existing`: the index has the same file.
    Skipped,
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
        }
    }

    /// Uploads every item: wheels first (concurrently), then sdists. Results come back in the
    /// order of `items` after wheels-first sorting.
    pub async fn upload_all(
        &self,
        items: Vec<UploadItem>,
        credentials: &dyn CredentialSource,
        reporter: Arc<dyn UploadReporter>,
    ) -> Vec<FileResult> {
        let (wheels, sdists): (Vec<_>, Vec<_>) =
            items.into_iter().partition(|item| item.dist.is_wheel());
        let mut results = Vec::new();
        for phase in [wheels, sdists] {
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
        let outcome = self.try_upload(&item, credentials, reporter).await;
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
        if self.options.skip_existing
            && let Some(status) = self.check_existing(dist).await?
        {
            return Ok(status);
        }
        let policy = &self.options.retry;
        let mut attempt = 1;
        loop {
            let (username, password) = credentials.credentials().await?;
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
            let last = attempt >= policy.max_attempts.max(1);
            match result {
                Ok(()) => return Ok(FileStatus::Uploaded),
                Err(err) if err.is_file_exists() => return self.reconcile(dist, err).await,
                Err(err) if !last && err.is_transient() => {
                    let wait = policy.delay(attempt, err.retry_after());
                    tracing::warn!(
                        "{}: {err}; retrying in {:.1}s (attempt {}/{})",
                        dist.filename,
                        wait.as_secs_f64(),
                        attempt + 1,
                        policy.max_attempts
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(err) => {
                    // The server may have stored the file before the connection broke: a
                    // lost response is not a failed upload if the index has the file now.
                    if err.is_transient() && self.index_has_same(dist).await {
                        return Ok(FileStatus::AlreadyPresent);
                    }
                    return Err(err);
                }
            }
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

    /// The project's files as the index lists them now.
    async fn project_files(
        &self,
        dist: &Distribution,
    ) -> Result<Option<ProjectFiles>, UploadError> {
        let simple = self
            .options
            .simple_url
            .clone()
            .unwrap_or_else(|| self.index.simple_url());
        project_files(&self.http, &simple, &Self::project(dist))
            .await
            .map_err(|err| UploadError::Index {
                filename: dist.filename.clone(),
                reason: err.to_string(),
            })
    }

    /// `--skip-existing`: look before uploading.
    async fn check_existing(&self, dist: &Distribution) -> Result<Option<FileStatus>, UploadError> {
        let page = Arc::clone(
            self.before_upload
                .lock()
                .await
                .entry(normalize_name(&Self::project(dist)))
                .or_default(),
        );
        let Some(files) = page.get_or_try_init(|| self.project_files(dist)).await? else {
            return Ok(None);
        };
        match files.get(&dist.filename) {
            None => Ok(None),
            Some(Some(remote)) if *remote == dist.sha256 => Ok(Some(FileStatus::Skipped)),
            Some(remote) => Err(UploadError::DifferentFileExists {
                filename: dist.filename.clone(),
                local_sha256: dist.sha256.clone(),
                remote_sha256: remote.clone(),
            }),
        }
    }

    /// After `File already exists`: the same bytes are a success, other bytes an error.
    async fn reconcile(
        &self,
        dist: &Distribution,
        original: UploadError,
    ) -> Result<FileStatus, UploadError> {
        let files = match self.project_files(dist).await {
            Ok(Some(files)) => files,
            // Without the index's word, the registry's own answer stands.
            Ok(None) | Err(_) => return Err(original),
        };
        match files.get(&dist.filename) {
            Some(Some(remote)) if *remote == dist.sha256 => Ok(if self.options.skip_existing {
                FileStatus::Skipped
            } else {
                FileStatus::AlreadyPresent
            }),
            Some(remote) => Err(UploadError::DifferentFileExists {
                filename: dist.filename.clone(),
                local_sha256: dist.sha256.clone(),
                remote_sha256: remote.clone(),
            }),
            // "already exists" for a file the index does not list: another file with the same
            // BLAKE2 digest (the same bytes under another name), or a deleted file's name.
            None => Err(original),
        }
    }

    async fn index_has_same(&self, dist: &Distribution) -> bool {
        matches!(
            self.project_files(dist).await,
            Ok(Some(files)) if files.get(&dist.filename).is_some_and(|h| h.as_deref() == Some(dist.sha256.as_str()))
        )
    }
}

#[cfg(test)]
mod tests;
