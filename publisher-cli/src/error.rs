//! The CLI's error: every library error with its typed source, and the exit code that follows
//! from the type. `Usage` is the CLI's own: a command line that is inconsistent in a way clap
//! cannot see.

use oidc_core::ci::EventRefused;
use oidc_core::sigstore::{AmbientSignerError, SigstoreError};
use oidc_core::{HttpError, IdentityError, ObtainError};
use pypi_exchange::PublishRunError;

use crate::exit::Outcome;
use crate::shared;

/// A registry's refusal of an exchange, with its typed source.
pub type ExchangeRefusal = Box<dyn std::error::Error + Send + Sync>;

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
    #[error(transparent)]
    Exchange(ExchangeRefusal),
    /// Signing or verifying with Sigstore failed.
    #[error(transparent)]
    Sigstore(#[from] SigstoreError),
    /// `pypi upload` stopped before uploading anything.
    #[error(transparent)]
    Pypi(#[from] PublishRunError),
    /// The `.pypirc` or twine's repository options are unusable.
    #[error(transparent)]
    Pypirc(#[from] pypi_exchange::pypirc::PypircError),
    /// `npm publish` stopped before publishing anything.
    #[error(transparent)]
    Npm(#[from] npm_exchange::PublishRunError),
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
            CliError::Sigstore(err) => shared::sigstore_outcome(err),
            CliError::Pypi(err) => pypi_outcome(err),
            CliError::Pypirc(_) => Outcome::Usage,
            CliError::Npm(err) => npm_outcome(err),
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
            CliError::Sigstore(err) => shared::sigstore_title(err),
            CliError::Pypi(err) => pypi_title(err),
            CliError::Pypirc(_) => "Usage error",
            CliError::Npm(err) => npm_title(err),
            #[cfg(feature = "demo")]
            CliError::Testbed(_) => "Demo failed",
            CliError::Usage(_) => "Usage error",
            CliError::Internal(_) => "Internal error",
        }
    }
}

fn obtain_title<E: std::error::Error>(err: &ObtainError<E>) -> &'static str {
    match err {
        ObtainError::Identity(_) => "No OIDC identity",
        ObtainError::Event(_) => "Publishing refused for this event",
        ObtainError::Audience(_) | ObtainError::Exchange(_) => {
            "Trusted publishing exchange failure"
        }
    }
}

fn pypi_outcome(err: &PublishRunError) -> Outcome {
    match err {
        PublishRunError::AttestationsNeedTrustedPublishing
        | PublishRunError::PasswordOnPypi
        | PublishRunError::DamagedToken(_)
        | PublishRunError::Hash { .. }
        | PublishRunError::RemoveForeign { .. } => Outcome::Usage,
        PublishRunError::Collect(_)
        | PublishRunError::Invalid { .. }
        | PublishRunError::InvalidAttestations { .. } => Outcome::InvalidArtifact,
        PublishRunError::Exchange(_) => Outcome::Identity,
        PublishRunError::Sigstore(err) => shared::sigstore_outcome(err),
        PublishRunError::Signer(AmbientSignerError::Identity(_)) => Outcome::Identity,
        PublishRunError::Signer(AmbientSignerError::Sigstore(err)) => shared::sigstore_outcome(err),
        PublishRunError::Signing { failures } => failures
            .first()
            .map_or(Outcome::UploadFailed, shared::sign_failure_outcome),
        PublishRunError::Internal(_) => Outcome::Internal,
    }
}

fn pypi_title(err: &PublishRunError) -> &'static str {
    match err {
        PublishRunError::AttestationsNeedTrustedPublishing
        | PublishRunError::PasswordOnPypi
        | PublishRunError::DamagedToken(_)
        | PublishRunError::Hash { .. }
        | PublishRunError::RemoveForeign { .. } => "Usage error",
        PublishRunError::Collect(_) => "Missing distributions",
        PublishRunError::Invalid { .. }
        | PublishRunError::InvalidAttestations { .. }
        | PublishRunError::Signing { .. } => "Nothing uploaded",
        PublishRunError::Exchange(err) => obtain_title(err),
        PublishRunError::Sigstore(err) => shared::sigstore_title(err),
        PublishRunError::Signer(AmbientSignerError::Identity(_)) => "No OIDC identity",
        PublishRunError::Signer(AmbientSignerError::Sigstore(err)) => shared::sigstore_title(err),
        PublishRunError::Internal(_) => "Internal error",
    }
}

fn npm_outcome(err: &npm_exchange::PublishRunError) -> Outcome {
    use npm_exchange::PublishRunError as E;
    match err {
        E::NoTarballs { .. } | E::ReadDir { .. } | E::Invalid { .. } => Outcome::InvalidArtifact,
        E::ProvenanceFileNeedsOnePackage { .. } => Outcome::Usage,
        E::Event(_) => Outcome::Identity,
        E::Sigstore(err) => shared::sigstore_outcome(err),
        E::Internal(_) => Outcome::Internal,
    }
}

fn npm_title(err: &npm_exchange::PublishRunError) -> &'static str {
    use npm_exchange::PublishRunError as E;
    match err {
        E::NoTarballs { .. } | E::ReadDir { .. } => "Missing tarballs",
        E::Invalid { .. } => "Nothing published",
        E::ProvenanceFileNeedsOnePackage { .. } => "Usage error",
        E::Event(_) => "Publishing refused for this event",
        E::Sigstore(err) => shared::sigstore_title(err),
        E::Internal(_) => "Internal error",
    }
}

impl<E: std::error::Error + Send + Sync> From<ObtainError<E>> for CliError {
    fn from(err: ObtainError<E>) -> Self {
        match err {
            ObtainError::Identity(err) => CliError::Identity(err),
            ObtainError::Event(err) => CliError::Event(err),
            ObtainError::Audience(err) | ObtainError::Exchange(err) => {
                CliError::Exchange(Box::new(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exit code follows from the error's type, whichever call site raised it.
    #[test]
    fn exit_codes_follow_from_the_type() {
        let pypi = |err: PublishRunError| CliError::from(err).outcome();
        assert_eq!(pypi(PublishRunError::PasswordOnPypi), Outcome::Usage);
        assert_eq!(
            pypi(PublishRunError::Invalid { errors: 2 }),
            Outcome::InvalidArtifact
        );
        assert_eq!(
            pypi(PublishRunError::Exchange(ObtainError::Identity(
                IdentityError::NotInCi
            ))),
            Outcome::Identity
        );
        let verification = SigstoreError::Verification {
            subject: "a.whl".into(),
            reason: "no".into(),
        };
        assert_eq!(
            pypi(PublishRunError::Signing {
                failures: vec![pypi_exchange::SignFailure::Sigstore(verification.clone())]
            }),
            Outcome::VerificationFailed
        );
        assert_eq!(CliError::from(verification).title(), "Verification failed");
        let npm = npm_exchange::PublishRunError::ProvenanceFileNeedsOnePackage { count: 2 };
        assert_eq!(CliError::from(npm).outcome(), Outcome::Usage);
        let refused: ObtainError<std::io::Error> =
            ObtainError::Exchange(std::io::Error::other("refused"));
        let err = CliError::from(refused);
        assert_eq!(err.outcome(), Outcome::Identity);
        assert_eq!(
            err.to_string(),
            "refused",
            "the registry's own words, typed source kept"
        );
    }
}
