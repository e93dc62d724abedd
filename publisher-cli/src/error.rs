//! The CLI's error: every library error, mapped to an exit code.

use oidc_core::ci::EventRefused;
use oidc_core::sigstore::SigstoreError;
use oidc_core::{HttpError, IdentityError, ObtainError};

use crate::exit::Outcome;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// No ambient identity.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The run's event may not publish.
    #[error(transparent)]
    Event(#[from] EventRefused),
    /// HTTP setup or transport.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The registry refused the exchange (the message explains why and what to change).
    #[error("{0}")]
    Exchange(String),
    /// Signing or verifying with Sigstore failed.
    #[error(transparent)]
    Sigstore(#[from] SigstoreError),
    /// The simulated services of `trustpub demo` failed.
    #[cfg(feature = "demo")]
    #[error("the demo's simulated services failed: {0}")]
    Testbed(String),
    /// The command line is inconsistent in a way clap cannot see.
    #[error("{0}")]
    Usage(String),
    /// Anything else.
    #[error("{0}")]
    Internal(String),
}

impl CliError {
    /// The exit code for this error.
    pub fn outcome(&self) -> Outcome {
        match self {
            CliError::Identity(_) | CliError::Event(_) | CliError::Exchange(_) => Outcome::Identity,
            CliError::Http(HttpError::InsecureUrl { .. }) | CliError::Usage(_) => Outcome::Usage,
            CliError::Http(_) => Outcome::Identity,
            CliError::Sigstore(err) => match err {
                SigstoreError::Token { .. } => Outcome::Identity,
                SigstoreError::TrustRoot { .. } => Outcome::Usage,
                SigstoreError::Malformed { .. } => Outcome::InvalidArtifact,
                SigstoreError::Verification { .. } => Outcome::VerificationFailed,
                SigstoreError::Fulcio { .. }
                | SigstoreError::Rekor { .. }
                | SigstoreError::Signing { .. } => Outcome::UploadFailed,
            },
            #[cfg(feature = "demo")]
            CliError::Testbed(_) => Outcome::Internal,
            CliError::Internal(_) => Outcome::Internal,
        }
    }

    /// A short title for annotations.
    pub fn title(&self) -> &'static str {
        match self {
            CliError::Identity(_) => "No OIDC identity",
            CliError::Event(_) => "Publishing refused for this event",
            CliError::Exchange(_) => "Trusted publishing exchange failure",
            CliError::Http(_) => "Network error",
            CliError::Sigstore(SigstoreError::Verification { .. }) => "Verification failed",
            CliError::Sigstore(_) => "Signing failed",
            #[cfg(feature = "demo")]
            CliError::Testbed(_) => "Demo failed",
            CliError::Usage(_) => "Usage error",
            CliError::Internal(_) => "Internal error",
        }
    }
}

impl<E: std::error::Error> From<ObtainError<E>> for CliError {
    fn from(err: ObtainError<E>) -> Self {
        match err {
            ObtainError::Identity(err) => CliError::Identity(err),
            ObtainError::Event(err) => CliError::Event(err),
            ObtainError::Audience(err) | ObtainError::Exchange(err) => {
                CliError::Exchange(err.to_string())
            }
        }
    }
}
