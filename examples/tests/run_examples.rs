//! Runs every example's `main` against its own testbed, so `cargo test` proves the examples
//! still publish (not only that they compile). Each example checks its effect on the testbed
//! itself (the registry has the package, the index the file) and returns `Err` otherwise.
//!
//! `build.rs` copies each `examples/<name>.rs` with its `main` made `pub` and declares the
//! copies as modules of this binary.

mod examples {
    include!(concat!(env!("OUT_DIR"), "/examples/mod.rs"));
}

/// The examples this file runs: a new example fails [`every_example_is_run`] until it has a
/// test here.
const RUN: &[&str] = &[
    "crates_io_token",
    "fetch_token",
    "npm_publish",
    "pypi_publish",
];

#[test]
fn every_example_is_run() {
    assert_eq!(
        examples::EXAMPLES,
        RUN,
        "add a #[test] for each new example to tests/run_examples.rs"
    );
}

#[test]
fn crates_io_token() -> Result<(), Box<dyn std::error::Error>> {
    examples::crates_io_token::main()
}

#[test]
fn fetch_token() -> Result<(), Box<dyn std::error::Error>> {
    examples::fetch_token::main()
}

#[test]
fn npm_publish() -> Result<(), Box<dyn std::error::Error>> {
    examples::npm_publish::main()
}

#[test]
fn pypi_publish() -> Result<(), Box<dyn std::error::Error>> {
    examples::pypi_publish::main()
}
