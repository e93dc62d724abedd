//! Exit codes: stable, documented, the same for every subcommand.

use std::process::ExitCode;

/// How a `trustpub` run ended. The numbers are part of the interface: scripts branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// 0: everything asked for was done (or, with `--dry-run`, would be).
    Success = 0,
    /// 1: an unexpected internal error (a bug, or the machine itself failing: disk, memory).
    Internal = 1,
    /// 2: the command line is wrong (unknown flag, bad value, conflicting options).
    Usage = 2,
    /// 3: no credential: no ambient identity, a refused event, or the registry rejected the
    /// exchange (trusted-publisher mismatch).
    Identity = 3,
    /// 4: an artifact is invalid; nothing was uploaded.
    InvalidArtifact = 4,
    /// 5: the upload failed and nothing was published.
    UploadFailed = 5,
    /// 6: some artifacts were published and some were not; a re-run finishes the job.
    Partial = 6,
    /// 7: a verification (attestation, provenance, doctor check) found a mismatch.
    VerificationFailed = 7,
}

impl Outcome {
    /// Every outcome, for the help text and the docs.
    pub const ALL: [Outcome; 8] = [
        Outcome::Success,
        Outcome::Internal,
        Outcome::Usage,
        Outcome::Identity,
        Outcome::InvalidArtifact,
        Outcome::UploadFailed,
        Outcome::Partial,
        Outcome::VerificationFailed,
    ];

    /// The outcome of a run that published `done` artifacts (or found them already there) and
    /// failed `failed`.
    pub fn from_counts(done: usize, failed: usize) -> Self {
        match (failed, done) {
            (0, _) => Outcome::Success,
            (_, 0) => Outcome::UploadFailed,
            _ => Outcome::Partial,
        }
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// One line on what it means.
    pub fn meaning(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Internal => "internal error",
            Outcome::Usage => "usage error: bad flags or arguments",
            Outcome::Identity => "identity or exchange refused: no credential was obtained",
            Outcome::InvalidArtifact => "invalid artifact: nothing was uploaded",
            Outcome::UploadFailed => "upload failed: nothing was published",
            Outcome::Partial => "partial publish: some artifacts were published; re-run to finish",
            Outcome::VerificationFailed => "verification failed",
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome.code())
    }
}

/// The exit-code table for `--help`.
pub fn help_table() -> String {
    let mut text = String::from("Exit codes:\n");
    for outcome in Outcome::ALL {
        text.push_str(&format!("  {}  {}\n", outcome.code(), outcome.meaning()));
    }
    text
}
