//! One module per subcommand.

pub mod demo;
pub mod pypi;
pub mod token;
