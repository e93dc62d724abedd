//! What can go wrong while signing or verifying, named by service and with the next step.

/// A Sigstore failure. No variant carries the ID token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigstoreError {
    /// The trust root could not be loaded.
    #[error(
        "cannot load the Sigstore trust root {source_name}: {reason}. Give a valid trusted_root.json with --trusted-root (for a private instance or the testbed) or leave it out for the public-good root"
    )]
    TrustRoot {
        /// Where it came from (a path, or "the embedded public-good root").
        source_name: String,
        /// Why it was refused.
        reason: String,
    },
    /// The ID token cannot be used with Fulcio.
    #[error(
        "the `sigstore` ID token cannot be used for signing: {reason}. On GitHub Actions the job needs `permissions: id-token: write`; on GitLab declare `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`"
    )]
    Token {
        /// What is wrong with it.
        reason: String,
    },
    /// Fulcio refused or failed to issue a signing certificate.
    #[error("Fulcio at {url} did not issue a signing certificate: {reason}{hint}")]
    Fulcio {
        /// Fulcio's URL.
        url: String,
        /// Fulcio's answer.
        reason: String,
        /// What to do about it (empty or starting with ". ").
        hint: String,
        /// A network failure, 5xx or 429: worth another try.
        transient: bool,
    },
    /// Rekor refused or failed to log the signature.
    #[error("Rekor at {url} did not log the signature: {reason}{hint}")]
    Rekor {
        /// Rekor's URL.
        url: String,
        /// Rekor's answer.
        reason: String,
        /// What to do about it (empty or starting with ". ").
        hint: String,
        /// A network failure, 5xx or 429: worth another try.
        transient: bool,
    },
    /// The statement or the signing configuration was refused before any request.
    #[error("cannot sign {subject}: {reason}")]
    Signing {
        /// What was being signed.
        subject: String,
        /// Why not.
        reason: String,
    },
    /// A bundle did not verify.
    #[error("the Sigstore bundle for {subject} does not verify: {reason}")]
    Verification {
        /// What the bundle is for.
        subject: String,
        /// Which check failed.
        reason: String,
    },
    /// The bundle is not valid bundle JSON.
    #[error("{subject} is not a Sigstore bundle: {reason}")]
    Malformed {
        /// The bundle's file or artifact.
        subject: String,
        /// What is wrong.
        reason: String,
    },
}

impl SigstoreError {
    /// Whether trying again (with the same token) may succeed: network failures and 5xx/429
    /// from Fulcio or Rekor.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Fulcio { transient, .. } | Self::Rekor { transient, .. } => *transient,
            _ => false,
        }
    }
}
