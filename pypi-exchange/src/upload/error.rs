//! Why an upload failed.

use std::time::Duration;

use oidc_core::http::{RetryError, ServerWait};
use oidc_core::{HttpError, RetryPolicy};

/// Why one file was not uploaded.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file could not be opened.
    #[error("cannot read {path}: {reason}")]
    Open {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// Credentials could not be obtained or refreshed.
    #[error("no upload credential: {0}")]
    Credential(String),
    /// The index refused the file.
    #[error("{filename}: the index refused the upload ({status}): {message}")]
    Rejected {
        /// The file.
        filename: String,
        /// HTTP status.
        status: u16,
        /// The index's message (Warehouse's status line).
        message: String,
        /// `Retry-After`, for 429.
        retry_after: Option<Duration>,
    },
    /// The index says a file with this name already exists (its conflict answer; see
    /// [`answer`](super::answer)).
    #[error("{filename}: the index already has a file with this name ({status}): {message}")]
    Exists {
        /// The file.
        filename: String,
        /// HTTP status.
        status: u16,
        /// The index's message.
        message: String,
    },
    /// Not tried: an earlier file showed the credentials do not work.
    #[error("{filename}: not uploaded: {reason}")]
    NotAttempted {
        /// The file.
        filename: String,
        /// Why.
        reason: String,
    },
    /// A file with this name but other bytes is already on the index.
    #[error(
        "{filename}: the index already has a different file with this name (sha256 {} there, {local_sha256} here). File names cannot be reused: build a new version (or pass --skip-existing to skip it with a warning)",
        .remote_sha256.as_deref().unwrap_or("unknown")
    )]
    DifferentFileExists {
        /// The file.
        filename: String,
        /// Ours.
        local_sha256: String,
        /// The index's (when it lists one).
        remote_sha256: Option<String>,
    },
    /// The simple index could not be read.
    #[error("{filename}: cannot check the index for existing files: {reason}")]
    Index {
        /// The file.
        filename: String,
        /// Why.
        reason: String,
    },
    /// The request failed at the transport level.
    #[error("{filename}: {source}")]
    Transport {
        /// The file.
        filename: String,
        /// What failed.
        source: HttpError,
    },
}

impl UploadError {
    /// Worth another attempt: a lost connection, a timeout, or a status oidc-core's retry rule
    /// retries ([`RetryPolicy::is_retryable_code`]: 408, 429, 5xx but 501/505).
    pub fn is_transient(&self) -> bool {
        match self {
            UploadError::Rejected { status, .. } => RetryPolicy::is_retryable_code(*status),
            UploadError::Transport { source, .. } => source.is_transport(),
            _ => false,
        }
    }

    /// The index's "this file already exists" answer (any index's, see
    /// [`answer`](super::answer)).
    pub fn is_file_exists(&self) -> bool {
        matches!(self, UploadError::Exists { .. })
    }

    /// The credentials were refused (401, or a 403 that is not a conflict answer): the other
    /// files would be refused the same way.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            UploadError::Rejected {
                status: 401 | 403,
                ..
            }
        )
    }

    /// The server's `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UploadError::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl RetryError for UploadError {
    /// The index asked (`Retry-After`) for a longer pause than the retry policy takes: its
    /// message says how long, and the file is not tried again.
    fn server_asked_to_wait(self, wait: ServerWait) -> Self {
        match self {
            UploadError::Rejected {
                filename,
                status,
                message,
                retry_after,
            } => UploadError::Rejected {
                filename,
                status,
                message: format!("{message}; {wait}"),
                retry_after,
            },
            other => other,
        }
    }
}
