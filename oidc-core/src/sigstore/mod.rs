//! Keyless Sigstore signing and offline verification, for PEP 740 attestations and npm
//! provenance.
//!
//! The flow: an ambient ID token with audience `sigstore` → Fulcio issues a short-lived
//! certificate for a fresh key → the in-toto statement is signed as a DSSE envelope → Rekor logs
//! it (a v1 `dsse` 0.0.1 entry, the only kind PEP 740 can carry) → the finished v0.3 bundle is
//! verified here, offline, against the trust root before anyone else sees it. A bundle that
//! does not verify is an error, never an upload.
//!
//! Signing and verification are done by the Sigstore project's `sigstore-sign` and
//! `sigstore-verify` crates; this module chooses the instance (public good, or the URLs and
//! `trusted_root.json` of a private one or the testbed), derives the identity the certificate
//! must carry from the ID token, bounds the parallelism, retries transient service failures
//! and turns the crates' errors into ones that name the service and say what to do.

mod ambient;
mod error;
mod sign;
mod trust;
mod verify;

pub use ambient::{AmbientSignerError, AmbientTokenSource, sigstore_token_request};
pub use error::SigstoreError;
pub use sign::{KeylessSigner, SignedBundle, SigningJob, SigningTokenSource};
pub use trust::TrustRoot;
pub use verify::{
    ArtifactDigest, CertificateClaims, ExpectedIdentity, IdentityMismatch, VerifiedBundle,
    expected_certificate_identity, verify_bundle,
};

use std::path::PathBuf;

use url::Url;

/// The audience of the ID token Fulcio accepts.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";
/// The variable GitLab jobs expose a `sigstore`-audience token in (`id_tokens: SIGSTORE_ID_TOKEN`).
pub const SIGSTORE_TOKEN_VARIABLE: &str = "SIGSTORE_ID_TOKEN";
/// The public-good Fulcio.
pub const PUBLIC_GOOD_FULCIO: &str = "https://fulcio.sigstore.dev";
/// The public-good Rekor (v1 API).
pub const PUBLIC_GOOD_REKOR: &str = "https://rekor.sigstore.dev";

/// Which Sigstore instance to sign with and which trust root to verify against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigstoreConfig {
    /// Fulcio's base URL.
    pub fulcio_url: Url,
    /// Rekor's base URL (v1 API).
    pub rekor_url: Url,
    /// A `trusted_root.json` to verify against; `None` is the embedded public-good root.
    pub trusted_root: Option<PathBuf>,
}

impl SigstoreConfig {
    /// The public-good instance (`fulcio.sigstore.dev`, `rekor.sigstore.dev`, embedded root).
    pub fn public_good() -> Self {
        Self {
            fulcio_url: parse_constant(PUBLIC_GOOD_FULCIO),
            rekor_url: parse_constant(PUBLIC_GOOD_REKOR),
            trusted_root: None,
        }
    }

    /// Whether this is the public-good instance with its embedded root.
    pub fn is_public_good(&self) -> bool {
        *self == Self::public_good()
    }
}

impl Default for SigstoreConfig {
    fn default() -> Self {
        Self::public_good()
    }
}

/// Parses one of the URL constants above (a test checks each).
#[allow(clippy::expect_used)]
fn parse_constant(url: &str) -> Url {
    Url::parse(url).expect("the built-in Sigstore URLs are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_good_urls_parse() {
        let config = SigstoreConfig::public_good();
        assert_eq!(config.fulcio_url.as_str(), "https://fulcio.sigstore.dev/");
        assert_eq!(config.rekor_url.as_str(), "https://rekor.sigstore.dev/");
        assert!(config.is_public_good());
    }
}
