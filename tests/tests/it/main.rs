//! The end-to-end tests across crates, in one test binary (`cargo test -p trustpub-e2e --test
//! it`): one link of oidc-core, pypi-exchange and the testbed instead of one per file.

mod identity;
mod pypi_session;
