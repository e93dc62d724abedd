//! PyPI trusted publishing for trustpub.
//!
//! The flow: discover the index's OIDC audience, trade an ambient ID token for a short-lived
//! upload token (`mint-token`), read and validate every distribution, upload them through the
//! legacy upload API, and burn the token when done.

pub mod api_token;
pub mod attestation;
pub mod digests;
pub mod dist;
pub mod doctor;
pub mod exchange;
pub mod explain;
pub mod index;
pub mod pypirc;
pub mod simple;
pub mod upload;

pub use exchange::{PypiExchange, PypiExchangeError};
pub use index::PackageIndex;
