//! One module per subcommand.

pub mod demo;
pub mod npm;
pub mod pypi;
pub mod token;
