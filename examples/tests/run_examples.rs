//! Runs every example's `main` against its own testbed, so `cargo test` proves the examples
//! still publish (not only that they compile). Each example checks its effect on the testbed
//! itself (the registry has the package, the index the file) and returns `Err` otherwise.
//!
//! Each example is a module of this binary (its `main` is `pub` for that), so the examples
//! link once.

#[path = "../examples/crates_io_token.rs"]
mod crates_io_token;
#[path = "../examples/fetch_token.rs"]
mod fetch_token;
#[path = "../examples/npm_publish.rs"]
mod npm_publish;
#[path = "../examples/pypi_publish.rs"]
mod pypi_publish;

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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    found.sort();
    assert_eq!(
        found, RUN,
        "add a module and a #[test] for each new example to tests/run_examples.rs"
    );
}

#[test]
fn crates_io_token() -> Result<(), Box<dyn std::error::Error>> {
    crates_io_token::main()
}

#[test]
fn fetch_token() -> Result<(), Box<dyn std::error::Error>> {
    fetch_token::main()
}

#[test]
fn npm_publish() -> Result<(), Box<dyn std::error::Error>> {
    npm_publish::main()
}

#[test]
fn pypi_publish() -> Result<(), Box<dyn std::error::Error>> {
    pypi_publish::main()
}
