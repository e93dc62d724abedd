//! `trustpub demo` in a build without the `demo` feature: release builds leave the testbed (and
//! with it axum and rcgen) out, so the command only says how to get a build that has it.

use crate::cli::DemoArgs;
use crate::error::CliError;
use crate::exit::Outcome;
use crate::output::Printer;

/// How to get a `trustpub` with the demo, shown when this one has none.
pub const UNAVAILABLE: &str = "this trustpub was built without `trustpub demo` (release builds leave the simulated services out). Get a build with it: `cargo install trustpub --features demo`, or in a clone of the repository `cargo run -p trustpub --features demo -- demo`";

/// Refuses with a usage error (exit 2) that says how to get the demo.
pub async fn run(_args: &DemoArgs, _printer: &Printer) -> Result<Outcome, CliError> {
    Err(CliError::Usage(UNAVAILABLE.to_owned()))
}
