//! What a publish run returns: one typed outcome per distribution, and the tally that decides
//! the exit code.

use std::path::PathBuf;

use crate::upload::{FileResult, FileStatus, UploadError};

use super::RunMode;

/// The result of [`PublishRun::run`](super::PublishRun::run).
#[derive(Debug)]
pub struct PublishReport {
    /// One entry per distribution: in input order for a dry run, in upload order (wheels
    /// first) otherwise.
    pub files: Vec<FileReport>,
    /// A real run, or a dry run (nothing signed or uploaded).
    pub mode: RunMode,
    /// How the upload authenticated (or would have).
    pub credentials: CredentialUsed,
    /// The upload URL.
    pub upload_url: String,
}

/// How the upload authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialUsed {
    /// Trusted publishing: a token was minted (and burned at the end).
    TrustedPublishing,
    /// A configured API token or password (not checked by a dry run).
    Token,
}

/// One distribution's outcome.
#[derive(Debug)]
pub struct FileReport {
    /// The file name.
    pub filename: String,
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// The attestations that went (or would go) with it.
    pub attestation: AttestationState,
    /// What happened.
    pub outcome: FileOutcome,
}

/// The PEP 740 attestations of one distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationState {
    /// None.
    None,
    /// Attestation files that were already beside it, checked.
    Existing(Vec<PathBuf>),
    /// Signed during this run and written to this file.
    Signed(PathBuf),
    /// Dry run: one would be signed.
    WouldSign,
}

/// What happened to one distribution.
#[derive(Debug)]
pub enum FileOutcome {
    /// Uploaded now.
    Uploaded,
    /// The index already had this exact file.
    AlreadyPresent,
    /// Skipped (`--skip-existing`): the index has the same file.
    Skipped,
    /// Skipped (`--skip-existing`): the index has a file of this name with other bytes.
    SkippedDifferent {
        /// The index's SHA-256, when it lists one.
        remote_sha256: Option<String>,
    },
    /// Dry run: it would be uploaded.
    WouldUpload,
    /// Not tried: the index refused the credentials for an earlier file.
    NotAttempted {
        /// Why.
        reason: String,
    },
    /// The upload failed.
    Failed(UploadError),
    /// Its attestation could not be made, so it was not uploaded.
    NotSigned(super::SignFailure),
}

impl FileOutcome {
    /// The outcome of an upload attempt.
    pub fn from_upload(outcome: Result<FileStatus, UploadError>) -> Self {
        match outcome {
            Ok(FileStatus::Uploaded) => Self::Uploaded,
            Ok(FileStatus::AlreadyPresent) => Self::AlreadyPresent,
            Ok(FileStatus::Skipped) => Self::Skipped,
            Ok(FileStatus::SkippedDifferent { remote_sha256 }) => {
                Self::SkippedDifferent { remote_sha256 }
            }
            Err(UploadError::NotAttempted { reason, .. }) => Self::NotAttempted { reason },
            Err(err) => Self::Failed(err),
        }
    }

    /// On the index when the run ended (uploaded, already there, or skipped).
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            Self::Uploaded | Self::AlreadyPresent | Self::Skipped | Self::SkippedDifferent { .. }
        )
    }
}

/// Counts of a run's outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Uploaded now.
    pub uploaded: usize,
    /// Already on the index.
    pub present: usize,
    /// Skipped by `--skip-existing`.
    pub skipped: usize,
    /// Failed or not tried.
    pub failed: usize,
    /// Would be uploaded (dry run).
    pub planned: usize,
}

impl Tally {
    /// Files on the index at the end (uploaded, present or skipped).
    pub fn done(&self) -> usize {
        self.uploaded + self.present + self.skipped
    }
}

impl PublishReport {
    /// The counts.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for file in &self.files {
            match &file.outcome {
                FileOutcome::Uploaded => tally.uploaded += 1,
                FileOutcome::AlreadyPresent => tally.present += 1,
                FileOutcome::Skipped | FileOutcome::SkippedDifferent { .. } => tally.skipped += 1,
                FileOutcome::WouldUpload => tally.planned += 1,
                FileOutcome::NotAttempted { .. }
                | FileOutcome::Failed(_)
                | FileOutcome::NotSigned(_) => tally.failed += 1,
            }
        }
        tally
    }

    /// The files not tried because the index refused the credentials earlier.
    pub fn not_attempted(&self) -> impl Iterator<Item = &FileReport> {
        self.files
            .iter()
            .filter(|file| matches!(file.outcome, FileOutcome::NotAttempted { .. }))
    }

    /// Whether this was a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.mode == RunMode::DryRun
    }
}

impl FileReport {
    pub(super) fn of(
        dist: &crate::dist::Distribution,
        attestation: AttestationState,
        outcome: FileOutcome,
    ) -> Self {
        Self {
            filename: dist.filename.clone(),
            path: dist.path.clone(),
            size: dist.size,
            sha256: dist.sha256.clone(),
            attestation,
            outcome,
        }
    }

    pub(super) fn from_result(
        result: FileResult,
        path: PathBuf,
        attestation: AttestationState,
    ) -> Self {
        Self {
            filename: result.filename,
            path,
            size: result.size,
            sha256: result.sha256,
            attestation,
            outcome: FileOutcome::from_upload(result.outcome),
        }
    }
}
