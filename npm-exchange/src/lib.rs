//! npm trusted publishing for trustpub.
//!
//! The flow: read each tarball `npm pack` produced ([`package::PackageTarball`]), check it as
//! the npm CLI would and build its publish document ([`package::PublishDocument`]), trade an
//! ambient ID token for a package-scoped publish token ([`exchange::NpmExchange`]), and PUT the
//! document ([`publish::Publisher`]).
//!
//! [`PublishRun`] does all of it for many tarballs at once, as `trustpub npm publish` does:
//! npm's choice of registry and credential per package ([`npmrc`]), one exchange per package
//! with a fresh ID token, provenance, the PUT, and a typed [`PublishReport`]; progress goes to a
//! [`PublishObserver`].
//!
//! # Publishing from GitHub Actions
//!
//! In a job with `permissions: id-token: write` whose workflow is the package's trusted
//! publisher on npmjs.com, after `npm pack --pack-destination dist`:
//!
//! ```no_run
//! use std::sync::Arc;
//! use npm_exchange::{MaskSink, NpmSettings, PublishObserver, PublishRun, PublishSettings};
//! use oidc_core::{Detector, HttpClient, HttpConfig, ProcessEnv, ProviderContext, TokioRunner};
//!
//! /// Masks each secret in the job log the moment it exists (the library never prints).
//! struct Job;
//! impl MaskSink for Job {
//!     fn mask(&self, secret: &str) {
//!         println!("{}", oidc_core::ci::commands::add_mask(secret));
//!     }
//! }
//! impl PublishObserver for Job {}
//!
//! # async fn publish() -> Result<(), Box<dyn std::error::Error>> {
//! let http = HttpClient::new(&HttpConfig::default(), &ProcessEnv)?;
//! let runner = Arc::new(TokioRunner);
//! let context = ProviderContext { env: Arc::new(ProcessEnv), runner, http: http.clone() };
//! let detector = Detector::new(&context);
//! // npm's own choices (.npmrc, NPM_CONFIG_*), provenance whenever npm's conditions hold.
//! let npm = NpmSettings::load(&ProcessEnv, &std::env::current_dir()?)?;
//! let settings = PublishSettings::new(vec!["dist".into()], npm);
//! let report = PublishRun::new(http, &detector, &ProcessEnv, settings).run(&Job).await?;
//! for package in &report.packages {
//!     println!("{}: {:?} {}", package.label, package.outcome, package.integrity);
//! }
//! if report.tally().missing > 0 {
//!     return Err("some packages were not published".into());
//! }
//! # Ok(()) }
//! ```
//!
//! This needs a real job (`no_run`). The same calls against the testbed's simulated issuer,
//! registry, Fulcio and Rekor are `examples/examples/npm_publish.rs` in the repository, run by
//! `cargo test -p trustpub-examples`, which fails unless the package lands with provenance.

pub mod doctor;
pub mod exchange;
pub mod npmrc;
pub mod package;
pub mod provenance;
pub mod publish;
pub mod registry;

pub use exchange::{NpmExchange, NpmExchangeError};
pub use npmrc::{NpmSettings, SettingSource};
pub use oidc_core::ci::MaskSink;
pub use package::Access;
pub use publish::report::{
    CredentialProblem, PackageFailure, PackageOutcome, PackageReport, ProvenancePlan,
    PublishReport, Tally,
};
pub use publish::run::{
    InvalidPackage, PackageStep, ProvenanceMode, PublishObserver, PublishRun, PublishRunError,
    PublishSettings, RunNotice,
};
pub use publish::{PublishError, PublishStatus, Publisher};
pub use registry::NpmRegistry;
