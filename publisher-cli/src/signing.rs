//! Sigstore wiring shared by `pypi upload`, `npm publish` and `verify`: the instance and trust
//! root from the flags, and a signer authenticated by a fresh `sigstore` ID token.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use oidc_core::ci::MaskSink as _;
use oidc_core::sigstore::{
    KeylessSigner, SIGSTORE_AUDIENCE, SIGSTORE_TOKEN_VARIABLE, SigningTokenSource, SigstoreConfig,
    SigstoreError, TrustRoot, VerifiedBundle,
};
use oidc_core::{Environment, HttpClient, IdToken, TokenRequest};
use url::Url;

use crate::cli::SigstoreArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Printer;

/// The instance the flags name. A custom Fulcio or Rekor needs its own trust root: the
/// public-good root would reject everything it issues.
pub fn config(args: &SigstoreArgs) -> Result<SigstoreConfig, CliError> {
    let parse = |flag: &str, value: &str| {
        Url::parse(value)
            .map_err(|err| CliError::Usage(format!("--{flag} `{value}` is not a URL: {err}")))
    };
    let config = SigstoreConfig {
        fulcio_url: parse("fulcio-url", &args.fulcio_url)?,
        rekor_url: parse("rekor-url", &args.rekor_url)?,
        trusted_root: args.trusted_root.clone(),
    };
    let public = SigstoreConfig::public_good();
    let custom_services =
        config.fulcio_url != public.fulcio_url || config.rekor_url != public.rekor_url;
    if custom_services && config.trusted_root.is_none() {
        return Err(CliError::Usage(
            "a custom --fulcio-url or --rekor-url needs the instance's --trusted-root <trusted_root.json>: bundles from it cannot verify against the public-good root".into(),
        ));
    }
    Ok(config)
}

/// The trust root the flags name.
pub fn trust_root(config: &SigstoreConfig) -> Result<TrustRoot, CliError> {
    TrustRoot::for_config(config).map_err(CliError::from)
}

/// The `sigstore` ID token request: the ambient provider, or `SIGSTORE_ID_TOKEN` on GitLab.
fn sigstore_token_request() -> TokenRequest {
    TokenRequest::new(SIGSTORE_AUDIENCE).with_token_variable(SIGSTORE_TOKEN_VARIABLE)
}

/// Fetches a new `sigstore` ID token (masked at once) when the signing session renews its
/// certificate after the first token expired.
struct AmbientSigstoreToken {
    env: Arc<dyn Environment>,
    http: HttpClient,
    id_token_file: Option<std::path::PathBuf>,
    mask: crate::output::Masker,
}

impl std::fmt::Debug for AmbientSigstoreToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmbientSigstoreToken")
            .finish_non_exhaustive()
    }
}

impl SigningTokenSource for AmbientSigstoreToken {
    fn fresh_token(&self) -> BoxFuture<'_, Result<IdToken, SigstoreError>> {
        Box::pin(async move {
            let context = Context {
                env: self.env.clone(),
                http: self.http.clone(),
                id_token_file: self.id_token_file.clone(),
            };
            let ambient = context
                .detector()
                .detect(&sigstore_token_request())
                .await
                .map_err(|err| SigstoreError::Token {
                    reason: format!("a new one for renewing the certificate: {err}"),
                })?;
            self.mask.mask(ambient.token.expose());
            Ok(ambient.token)
        })
    }
}

/// A signer for this run (one signing session: one key, one certificate for every artifact):
/// loads the trust root, fetches a fresh ID token with audience `sigstore` (masked at once)
/// and checks it.
pub async fn signer(
    context: &Context,
    config: &SigstoreConfig,
    printer: &Printer,
) -> Result<KeylessSigner, CliError> {
    let trust = trust_root(config)?;
    let ambient = context.detector().detect(&sigstore_token_request()).await?;
    printer.mask(ambient.token.expose());
    let source = AmbientSigstoreToken {
        env: context.env.clone(),
        http: context.http.clone(),
        id_token_file: context.id_token_file.clone(),
        mask: printer.masker(),
    };
    let signer = KeylessSigner::new(config, trust, &ambient.token, &context.http)?
        .with_token_source(Arc::new(source));
    if let Some(san) = &signer.expected_identity().san {
        printer.info(&format!("Signing as {san}"));
    }
    Ok(signer)
}

/// `, Rekor entry N` for messages (empty without a log entry).
pub fn rekor_suffix(verified: &VerifiedBundle) -> String {
    verified
        .log_index
        .map(|index| format!(", Rekor entry {index}"))
        .unwrap_or_default()
}
