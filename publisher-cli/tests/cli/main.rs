//! Every integration test of the `trustpub` CLI, in one test binary: `cargo test -p trustpub
//! --test cli` (one area: `--test cli faults::`). Each former `tests/<area>.rs` is a module.
//!
//! One binary instead of 17, because each one linked the same heavy dependencies (sigstore,
//! aws-lc, the testbed's axum) and CI ran out of disk. Measured with `cargo test --workspace
//! --no-run` (debug, 2 cores): test executables 36 -> 18 (integration ones 25 -> 7, with the
//! merged workflow-audit and e2e tests), their size 2.07 GB -> 1.00 GB (integration 1.54 GB ->
//! 0.47 GB, this one 84 MB); the build after touching `common/mod.rs` 19 s -> 2 s, after
//! touching the testbed (every test crate relinks) 36 s -> 17 s (incremental, a busy machine).
//!
//! The modules share one process: a test must not rely on process-wide state (environment
//! variables, the current directory, `getrusage(RUSAGE_CHILDREN)`); `archive_bombs` runs each
//! of its tests again in a process of its own for that reason.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

// The GitHub Action's scripts and the workflows: the only tests CI also runs on macOS and
// Windows (`.github/workflows/ci.yml`, `--test cli action::`).
mod action;

// The rest needs Unix (signals, symlinks, `getrusage`, `/proc`) and the tools `.ci/setup-tools`
// installs on Linux; on Windows this binary holds only the action's tests.
#[cfg(unix)]
mod archive_bombs;
#[cfg(unix)]
mod audit;
#[cfg(unix)]
mod broker;
#[cfg(unix)]
mod dist;
#[cfg(unix)]
mod doctor;
#[cfg(unix)]
mod faults;
#[cfg(unix)]
mod files;
#[cfg(unix)]
mod hostile;
#[cfg(unix)]
mod identity;
#[cfg(unix)]
mod npm_monorepo;
#[cfg(unix)]
mod npm_peers;
#[cfg(unix)]
mod pypi_indexes;
#[cfg(unix)]
mod pypi_peers;
#[cfg(unix)]
mod refusals;
#[cfg(unix)]
mod signing;
#[cfg(unix)]
mod sigstore_peers;
#[cfg(unix)]
mod tools;
