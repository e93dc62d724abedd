//! A signing session authenticated by the job's own identity: the `sigstore` ID token comes
//! from the CI provider (or `SIGSTORE_ID_TOKEN` on GitLab, which cannot mint), and a renewal
//! after the first token expired fetches a new one the same way.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::{
    KeylessSigner, SIGSTORE_AUDIENCE, SIGSTORE_TOKEN_VARIABLE, SigningTokenSource, SigstoreConfig,
    SigstoreError, TrustRoot,
};
use crate::ci::MaskSink;
use crate::http::HttpClient;
use crate::provider::{Detector, IdentityError, TokenRequest};
use crate::secret::IdToken;

/// The request for a `sigstore` ID token: the ambient provider, or `SIGSTORE_ID_TOKEN` where
/// the CI cannot mint (GitLab).
pub fn sigstore_token_request() -> TokenRequest {
    TokenRequest::new(SIGSTORE_AUDIENCE).with_token_variable(SIGSTORE_TOKEN_VARIABLE)
}

/// Fetches a fresh `sigstore` ID token from the detector (masked at once when a mask is given:
/// the token is a [`IdToken`] and never printed, the mask only adds the runner's own masking).
pub struct AmbientTokenSource {
    detector: Detector,
    mask: Option<Arc<dyn MaskSink>>,
}

impl AmbientTokenSource {
    /// A source over `detector`; every token it fetches is handed to `mask` first.
    pub fn new(detector: Detector, mask: Option<Arc<dyn MaskSink>>) -> Self {
        Self { detector, mask }
    }
}

/// Why the ambient signing session could not start.
#[derive(Debug, thiserror::Error)]
pub enum AmbientSignerError {
    /// No `sigstore` ID token could be had.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The trust root, the token or the instance's URLs are unusable.
    #[error(transparent)]
    Sigstore(#[from] SigstoreError),
}

impl fmt::Debug for AmbientTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmbientTokenSource").finish_non_exhaustive()
    }
}

impl SigningTokenSource for AmbientTokenSource {
    fn fresh_token(&self) -> BoxFuture<'_, Result<IdToken, SigstoreError>> {
        Box::pin(async move {
            let ambient = self
                .detector
                .detect(&sigstore_token_request())
                .await
                .map_err(|err| SigstoreError::Token {
                    reason: format!("a new one for renewing the certificate: {err}"),
                })?;
            if let Some(mask) = &self.mask {
                mask.mask(ambient.token.expose());
            }
            Ok(ambient.token)
        })
    }
}

impl KeylessSigner {
    /// The run's signing session for `config`'s instance, authenticated by the job's ambient
    /// identity: loads the trust root, fetches a `sigstore` ID token (masked through `mask` at
    /// once), checks it, and keeps `detector` to fetch a new token should the certificate need
    /// renewing after this one expired (masked through `renewal_mask`, when given).
    pub async fn ambient(
        detector: &Detector,
        http: &HttpClient,
        config: &SigstoreConfig,
        mask: &dyn MaskSink,
        renewal_mask: Option<Arc<dyn MaskSink>>,
    ) -> Result<Self, AmbientSignerError> {
        let trust = TrustRoot::for_config(config)?;
        let ambient = detector.detect(&sigstore_token_request()).await?;
        mask.mask(ambient.token.expose());
        let source = AmbientTokenSource::new(detector.clone(), renewal_mask);
        Ok(Self::new(config, trust, &ambient.token, http)?.with_token_source(Arc::new(source)))
    }
}
