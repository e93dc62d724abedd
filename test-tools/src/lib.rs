//! The one skip rule for tests that need an outside tool (pypiserver, uv, twine, npm, node,
//! verdaccio, the Sigstore verifiers, ...).
//!
//! Under CI a missing tool **fails** the test: a green CI that skipped the real checks is a red
//! CI. Anywhere else the test is skipped and says why. "Under CI" means the `CI` variable is set
//! to anything but empty, `0` or `false` (GitHub, GitLab and most CI services set `CI=true`;
//! some set `CI=1`).
//!
//! ```
//! use trustpub_test_tools::require_on_path;
//! // Skipped (None) outside CI when `no-such-tool` is missing; a failed test under CI.
//! # if !trustpub_test_tools::in_ci() {
//! assert!(require_on_path("no-such-tool-anywhere").is_none());
//! # }
//! ```
#![allow(clippy::print_stderr)]

use std::path::PathBuf;

/// Whether the tests run under CI, where a missing tool is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| is_ci_value(&value))
}

fn is_ci_value(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false"
    )
}

/// Skips the calling test with `reason` outside CI (prints it and returns); panics under CI.
///
/// # Panics
/// Under CI, always: the missing tool is a failure there.
pub fn skip(reason: &str) {
    assert!(
        !in_ci(),
        "{reason} (CI is set: a test that needs a tool fails without it)"
    );
    eprintln!("SKIPPED: {reason}");
}

/// `path` if it exists; otherwise [`skip`] (a failure under CI) and `None`.
pub fn require(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    skip(&format!(
        "{what} is not installed at {}: run `bash .ci/setup-tools`",
        path.display()
    ));
    None
}

/// A program on `PATH` (node, npm), with the same rule.
pub fn require_on_path(program: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => Some(path),
        None => require(PathBuf::from(format!("<PATH>/{program}")), program),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_values() {
        for value in ["true", "1", "yes", "TRUE", "woodpecker"] {
            assert!(is_ci_value(value), "{value}");
        }
        for value in ["", "0", "false", "False", " "] {
            assert!(!is_ci_value(value), "{value:?}");
        }
    }
}
