//! Why an upload failed.

use std::time::Duration;

use oidc_core::HttpError;

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
    /// A file with this name but other bytes is already on the index.
    #[error(
        "{filename}: the index already has a different file with this name (sha256 {} there, {local_sha256} here). File names can never be reused on PyPI: build a new version",
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
    /// Worth another attempt: 429, 5xx, a lost connection.
    pub fn is_transient(&self) -> bool {
        match self {
            UploadError::Rejected { status, .. } => {
                *status == 429 || *status == 408 || *status >= 500
            }
            UploadError::Transport { .. } => true,
            _ => false,
        }
    }

    /// Warehouse's `File already exists` (kept verbatim on purpose for clients like this).
    pub fn is_file_exists(&self) -> bool {
        matches!(self, UploadError::Rejected { status: 400 | 409, message, .. } if message.contains("File already exists") || message.contains("already exists"))
    }

    /// The server's `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UploadError::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
