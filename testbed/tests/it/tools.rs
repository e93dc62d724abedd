//! Outside tools for the real-client tests (`gem`), with the project's rule (a copy of
//! `publisher-cli/tests/tools/mod.rs`'s `require`): under `CI=true` a missing tool fails the test; elsewhere the
//! test is skipped with the reason printed. `cargo` is always there (it runs the tests).

use std::path::PathBuf;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A program on PATH, or `None` (skip) outside CI; panics under `CI=true`.
pub fn require_on_path(program: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    if found.is_some() {
        return found;
    }
    let reason = format!("{program} is not on PATH: run `bash .ci/setup-tools`");
    assert!(
        !in_ci(),
        "{reason} (CI=true: a test that needs a tool fails without it)"
    );
    eprintln!("SKIPPED: {reason}");
    None
}

/// The cargo running these tests (`CARGO`), or `cargo` from PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}
