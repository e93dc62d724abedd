//! Identity, exchange and signing plumbing for trustpub: everything that is the same for every
//! registry.
//!
//! This crate knows no registry. What it holds, in the order of a publish:
//!
//! - **Identity**: fetch the CI's ambient OpenID Connect ID token ([`provider`]: GitHub Actions,
//!   GitLab CI, Buildkite, CircleCI, Google Cloud), decode its claims ([`Claims`]) and keep every
//!   secret in a redacting type ([`IdToken`], [`Secret`]).
//! - **Exchange**: the shape every registry exchange implements ([`exchange::Exchange`]), with
//!   one generic driver that fetches a fresh ID token per attempt, and a [`Session`] that keeps
//!   a credential fresh for a long run and revokes it at the end.
//! - **HTTP**: the one client every crate uses ([`http`]): TLS roots, the URL policy, timeouts,
//!   retries, bounded reads.
//! - **CI context** ([`ci`]): which events may publish, and how to talk to the runner through
//!   workflow commands (masking, annotations, the step summary).
//! - **Signing** ([`sigstore`]): keyless Sigstore signing in one signing session per run (one
//!   key, one Fulcio certificate, a Rekor entry per artifact), every bundle verified offline
//!   before it is returned, and verification for consumers.
//! - **The doctor** ([`doctor`]): registry-neutral findings about a trusted-publishing setup
//!   (missing `id-token: write`, fork pull requests, clock skew, ...); each registry crate adds
//!   the comparison with its own trusted-publisher fields.
//!
//! The registry crates (`pypi-exchange`, `npm-exchange`) build on this one; the `trustpub` CLI
//! only wires them and renders their results.
//!
//! # From GitHub Actions
//!
//! In a job with `permissions: id-token: write`: detect the job's ID token for an audience,
//! or let a [`Session`] trade it with any registry's [`Exchange`] (`pypi_exchange::PypiExchange`,
//! `npm_exchange::NpmExchange`, `registry_exchange::BrokerExchange`) and revoke what it minted:
//!
//! ```no_run
//! use std::sync::Arc;
//! use oidc_core::{
//!     Detector, EventPolicy, Exchange, HttpClient, HttpConfig, NoMask, ObtainError, ProcessEnv,
//!     ProviderContext, Session, TokenRequest, TokioRunner,
//! };
//!
//! # async fn detect() -> Result<(), Box<dyn std::error::Error>> {
//! let http = HttpClient::new(&HttpConfig::default(), &ProcessEnv)?;
//! let runner = Arc::new(TokioRunner);
//! let detector = Detector::new(&ProviderContext { env: Arc::new(ProcessEnv), runner, http });
//! let ambient = detector.detect(&TokenRequest::new("pypi")).await?;
//! println!("{}: {}", ambient.provider, ambient.token); // the token prints redacted
//! println!("workflow: {:?}", ambient.claims.github.job_workflow_ref);
//! # Ok(()) }
//!
//! /// Mints on first use (the event policy checked on the token's signed claims), re-mints
//! /// before expiry, revokes every credential at the end.
//! async fn publish<E: Exchange>(detector: &Detector, exchange: &E) -> Result<(), ObtainError<E::Error>> {
//!     let session = Session::new(detector, exchange, EventPolicy, &NoMask);
//!     let credential = session.credential().await?.credential;
//!     // ... upload with `credential.secret` ...
//!     for failure in session.finish().await {
//!         eprintln!("warning: {} was not revoked: {}", failure.scope, failure.error);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! This needs a real job (`no_run`). The same calls against the testbed's simulated GitHub
//! issuer are the repository's `examples/examples/fetch_token.rs` (detect) and
//! `examples/examples/crates_io_token.rs` (a session over crates.io's exchange), run by
//! `cargo test -p trustpub-examples`.

pub mod audience;
pub mod bounded;
pub mod ci;
pub mod claims;
pub mod doctor;
pub mod env;
pub mod exchange;
pub mod fs;
pub mod http;
pub mod jwks;
pub mod process;
pub mod provider;
pub mod secret;
pub mod session;
pub mod sigstore;

pub use ci::{EventPolicy, EventRefused, MaskSink, NoMask};
pub use claims::{Claims, ClaimsError};
pub use doctor::Severity;
pub use env::{Environment, MapEnv, ProcessEnv};
pub use exchange::{Credential, Exchange, ObtainError, Obtained, obtain};
pub use http::{HttpClient, HttpConfig, HttpError, RetryPolicy};
pub use process::TokioRunner;
pub use provider::{AmbientToken, Detector, IdentityError, ProviderContext, TokenRequest};
pub use secret::{IdToken, Secret};
pub use session::Session;
pub use sigstore::{SigstoreConfig, SigstoreError};
