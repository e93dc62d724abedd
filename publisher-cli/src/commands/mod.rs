//! One module per subcommand.

pub mod audit;
pub mod broker;
pub mod demo;
pub mod doctor;
pub mod init;
pub mod npm;
pub mod pypi;
pub mod token;
pub mod verify;
