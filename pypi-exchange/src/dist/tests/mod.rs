//! Tests that build real wheels and sdists in temporary directories.

mod fixtures;
mod fuzz_tests;
mod read_tests;
mod validate_tests;
mod workflow_tests;
