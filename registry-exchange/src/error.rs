//! Why an exchange or a revocation failed, for every registry.

use oidc_core::{Claims, HttpError, RetryPolicy};

use crate::explain;
use crate::registry::RegistryKind;

/// A registry refused the ID token: what it said, and the claims it judged.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Which registry.
    pub registry: RegistryKind,
    /// The host that answered.
    pub host: String,
    /// The HTTP status.
    pub status: u16,
    /// Every message the registry gave, in its order (escaped before they are shown).
    pub messages: Vec<String>,
    /// The claims of the refused token (non-secret).
    pub claims: Claims,
    /// The registry account named in the request (NuGet's `username`).
    pub user: Option<String>,
    /// The audience the token was requested for.
    pub audience: String,
}

/// Why no credential was obtained or revoked.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The registry refused the token; the text explains it field by field.
    #[error("{}", explain::render_refusal(.0))]
    Refused(Box<Refusal>),
    /// The registry answered something that is not its protocol (an HTML page, a JSON body
    /// without the credential, a status it does not use).
    #[error("{registry} {step} failed: {host} answered {status}: {body}")]
    Unexpected {
        /// Which registry.
        registry: RegistryKind,
        /// `token exchange`, `token revocation`.
        step: &'static str,
        /// The host that answered.
        host: String,
        /// HTTP status.
        status: u16,
        /// A safe one-line summary of the body.
        body: String,
    },
    /// The registry has no revocation endpoint.
    #[error(
        "{registry} has no endpoint to revoke its trusted-publishing credentials: they expire by themselves ({} minutes at most)",
        .registry.info().lifetime.as_secs() / 60
    )]
    NotRevocable {
        /// Which registry.
        registry: RegistryKind,
    },
    /// The registry URL cannot be used.
    #[error("the {registry} URL `{url}` cannot be used: {reason}")]
    InvalidUrl {
        /// Which registry.
        registry: RegistryKind,
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// A transport failure.
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl BrokerError {
    /// Whether another attempt with a fresh ID token may succeed: a lost connection, or a
    /// status oidc-core's retry rule retries ([`RetryPolicy::is_retryable_code`]: 408, 429, 5xx
    /// but 501/505). A 4xx refusal never changes with another token, and neither does an
    /// answer that asked to wait longer than trustpub waits ([`HttpError::ServerBusy`]).
    pub fn is_transient(&self) -> bool {
        let retryable = RetryPolicy::is_retryable_code;
        match self {
            BrokerError::Http(HttpError::Transport { .. }) => true,
            BrokerError::Unexpected { status, .. } => retryable(*status),
            BrokerError::Refused(refusal) => retryable(refusal.status),
            _ => false,
        }
    }

    /// The refusal, when the registry refused the token.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            BrokerError::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }
}
