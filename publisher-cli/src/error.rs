//! The CLI's error: every library error, mapped to an exit code.

use oidc_core::ci::EventRefused;
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
    /// The simulated services of `trustpub demo` failed.
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
            CliError::Testbed(_) | CliError::Internal(_) => Outcome::Internal,
        }
    }

    /// A short title for annotations.
    pub fn title(&self) -> &'static str {
        match self {
            CliError::Identity(_) => "No OIDC identity",
            CliError::Event(_) => "Publishing refused for this event",
            CliError::Exchange(_) => "Trusted publishing exchange failure",
            CliError::Http(_) => "Network error",
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
