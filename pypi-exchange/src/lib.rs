//! PyPI trusted publishing for trustpub.
//!
//! [`PublishRun`] is the whole upload, as `trustpub pypi upload` and gh-action-pypi-publish do
//! it: read and validate every distribution ([`dist`]), trade the job's ambient ID token for a
//! short-lived upload token ([`PypiExchange`]: the index's audience, `mint-token`), sign a PEP
//! 740 attestation per distribution in one Sigstore signing session ([`attestation`]), upload
//! through the legacy upload API ([`upload`]), reconcile what the index already has
//! ([`simple`]), and burn the token. It returns a typed [`PublishReport`]; progress goes to a
//! [`PublishObserver`]; [`RunMode::DryRun`] returns the plan.
//!
//! Publishing `dist/` from a GitHub Actions job with `permissions: id-token: write`:
//!
//! ```no_run
//! use pypi_exchange::{PackageIndex, PublishRun, PublishSettings, index::PYPI_UPLOAD_URL};
//! use oidc_core::{Detector, HttpClient, HttpConfig, ProcessEnv, ProviderContext};
//! use oidc_core::ci::NoMask;
//! # async fn publish() -> Result<(), Box<dyn std::error::Error>> {
//! let env = std::sync::Arc::new(ProcessEnv);
//! let http = HttpClient::new(&HttpConfig::default(), env.as_ref())?;
//! let runner = std::sync::Arc::new(oidc_core::process::TokioRunner);
//! let detector = Detector::new(&ProviderContext { env: env.clone(), runner, http: http.clone() });
//! let settings = PublishSettings::new(PackageIndex::parse(PYPI_UPLOAD_URL)?, vec!["dist".into()]);
//! let report = PublishRun::new(http, &detector, env.as_ref(), settings).run(&NoMask).await?;
//! assert_eq!(report.tally().failed, 0);
//! # Ok(()) }
//! ```
//!
//! The same calls against the testbed's simulated GitHub issuer, Sigstore and PyPI run as
//! `cargo run -p trustpub-examples --example pypi_publish` (and in CI).

pub mod api_token;
pub mod attestation;
pub mod digests;
pub mod dist;
pub mod doctor;
pub mod exchange;
pub mod explain;
pub mod index;
pub mod publish;
pub mod pypirc;
pub mod simple;
pub mod upload;

pub use exchange::{PypiExchange, PypiExchangeError};
pub use index::PackageIndex;
pub use publish::{
    AttestationMode, AttestationProblem, AttestationState, CredentialUsed, Credentials,
    FileOutcome, FileReport, FileStep, PublishObserver, PublishReport, PublishRun, PublishRunError,
    PublishSettings, RunMode, RunNotice, SignFailure, Tally,
};
pub use upload::SkipExisting;
