//! One module per subcommand.

pub mod audit;
pub mod broker;
#[cfg(feature = "demo")]
pub mod demo;
/// Without the `demo` feature (release builds), `trustpub demo` says how to get it.
#[cfg(not(feature = "demo"))]
#[path = "demo_unavailable.rs"]
pub mod demo;
pub mod doctor;
pub mod init;
pub mod npm;
pub mod pypi;
pub mod token;
pub mod verify;
