//! Trusted publishing for crates.io, RubyGems.org and NuGet.org: the broker's registries.
//!
//! Each registry is one row of the [`registry::REGISTRIES`] table (name, URL, audience rule,
//! the variable its native client reads, the claim it matches the workflow on, the official
//! action it replaces) and one module with its wire format: [`crates_io`], [`rubygems`],
//! [`nuget`]. Each module implements [`oidc_core::Exchange`], so oidc-core's driver
//! ([`oidc_core::obtain`], [`oidc_core::Session`]) fetches a fresh ID token per attempt (all
//! three refuse a reused one) and retries only what [`BrokerError::is_transient`] says may
//! change. [`BrokerExchange`] picks the module from a registry name; [`explain`] turns a
//! refusal into the claims the registry matched and what to change; [`doctor`] is
//! `trustpub doctor crates-io|rubygems|nuget`.
//!
//! # From GitHub Actions
//!
//! In a job with `permissions: id-token: write` whose workflow is the crate's trusted
//! publisher on crates.io: trade the job's ID token for a publish token, hand it to
//! `cargo publish`, and revoke it whatever happens.
//!
//! ```no_run
//! use std::sync::Arc;
//! use oidc_core::{
//!     Detector, EventPolicy, HttpClient, HttpConfig, NoMask, ProcessEnv, ProviderContext,
//!     Session, TokioRunner,
//! };
//! use registry_exchange::{BrokerExchange, BrokerOptions, RegistryKind};
//!
//! # async fn publish() -> Result<(), Box<dyn std::error::Error>> {
//! let http = HttpClient::new(&HttpConfig::default(), &ProcessEnv)?;
//! let runner = Arc::new(TokioRunner);
//! let context = ProviderContext { env: Arc::new(ProcessEnv), runner, http: http.clone() };
//! let detector = Detector::new(&context);
//! let exchange = BrokerExchange::new(http, RegistryKind::CratesIo, &BrokerOptions::default())?;
//! let session = Session::new(&detector, &exchange, EventPolicy, &NoMask);
//! let token = session.credential().await?.credential.secret;
//! let status = std::process::Command::new("cargo")
//!     .arg("publish")
//!     .env("CARGO_REGISTRY_TOKEN", token.expose())
//!     .status();
//! for failure in session.finish().await {
//!     eprintln!("warning: {} was not revoked: {}", failure.scope, failure.error);
//! }
//! if !status?.success() {
//!     return Err("cargo publish failed".into());
//! }
//! # Ok(()) }
//! ```
//!
//! This needs a real job (`no_run`). The same exchange against the testbed's simulated issuer
//! and crates.io is the repository's `examples/examples/crates_io_token.rs`, run by
//! `cargo test -p trustpub-examples`, which fails unless the token is issued and revoked.

pub mod broker;
pub mod crates_io;
pub mod doctor;
pub mod error;
pub mod explain;
pub mod nuget;
pub mod registry;
pub mod rubygems;
pub mod wire;

pub use broker::{BrokerExchange, BrokerOptions, SetupError, publish_header};
pub use error::{BrokerError, Refusal};
pub use registry::{REGISTRIES, Registry, RegistryKind};

#[cfg(test)]
mod tests;
