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
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use oidc_core::ci::{EventPolicy, NoMask};
//! use oidc_core::process::TokioRunner;
//! use oidc_core::{Detector, HttpClient, HttpConfig, ProcessEnv, ProviderContext};
//! use registry_exchange::{BrokerExchange, BrokerOptions, RegistryKind};
//!
//! let http = HttpClient::new(&HttpConfig::default(), &ProcessEnv)?;
//! let detector = Detector::new(&ProviderContext {
//!     env: Arc::new(ProcessEnv),
//!     runner: Arc::new(TokioRunner),
//!     http: http.clone(),
//! });
//! let exchange = BrokerExchange::new(http, RegistryKind::CratesIo, &BrokerOptions::default())?;
//! let obtained = oidc_core::obtain(&detector, &exchange, &EventPolicy, &NoMask).await?;
//! // Hand `obtained.credential.secret` to cargo as CARGO_REGISTRY_TOKEN, then:
//! exchange.revoke_token(&obtained.credential).await?;
//! # Ok(()) }
//! ```

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
