//! Every integration test of the `trustpub` CLI, in one test binary: `cargo test -p trustpub
//! --test cli` (one area: `--test cli faults::`). Each former `tests/<area>.rs` is a module.
//!
//! One binary instead of 17 because each one linked the same heavy dependencies (sigstore,
//! aws-lc, the testbed's axum): MEASUREMENTS.
//!
//! The modules share one process: a test must not rely on process-wide state (environment
//! variables, the current directory, `getrusage(RUSAGE_CHILDREN)`); `archive_bombs` runs each
//! of its tests again in a process of its own for that reason.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod tools;

mod action;
mod archive_bombs;
mod audit;
mod broker;
mod dist;
mod doctor;
mod faults;
mod files;
mod hostile;
mod identity;
mod npm_monorepo;
mod npm_peers;
mod pypi_indexes;
mod pypi_peers;
mod refusals;
mod signing;
mod sigstore_peers;
