//! Identity and exchange plumbing for trustpub.
//!
//! This crate knows no registry. It fetches the CI's ambient OpenID Connect ID token
//! ([`provider`]), decodes its claims ([`Claims`]), keeps every secret in a redacting type
//! ([`IdToken`], [`Secret`]), defines the shape every registry exchange implements
//! ([`exchange::Exchange`]) with one generic driver, builds the one HTTP client every crate uses
//! ([`http`]), and knows the CI context: which events may publish and how to talk to the runner
//! through workflow commands ([`ci`]).

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

pub use claims::{Claims, ClaimsError};
pub use doctor::Severity;
pub use env::{Environment, MapEnv, ProcessEnv};
pub use exchange::{Credential, Exchange, ObtainError, Obtained, obtain};
pub use http::{HttpClient, HttpConfig, HttpError, RetryPolicy};
pub use provider::{AmbientToken, Detector, IdentityError, ProviderContext, TokenRequest};
pub use secret::{IdToken, Secret};
pub use session::Session;
