//! Outside tools for the real-client tests (`gem`), with the project's one skip rule
//! (`trustpub-test-tools`): under CI a missing tool fails the test; elsewhere the test is skipped
//! with the reason printed. `cargo` is always there (it runs the tests).

use std::path::PathBuf;

pub use trustpub_test_tools::require_on_path;

/// The cargo running these tests (`CARGO`), or `cargo` from PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}
