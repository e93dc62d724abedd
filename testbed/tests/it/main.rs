//! Integration tests of the testbed: every route and every error text, over real HTTPS with reqwest trusting the
//! testbed CA.

#[cfg(test)]
mod binary;
#[cfg(test)]
mod common;
#[cfg(test)]
mod cratesio;
#[cfg(test)]
mod forwarding;
#[cfg(test)]
mod issuer;
#[cfg(test)]
mod npm;
#[cfg(test)]
mod nuget;
#[cfg(test)]
mod pypi_mint;
#[cfg(test)]
mod pypi_upload;
#[cfg(test)]
mod rubygems;
#[cfg(test)]
mod sigstore;
#[cfg(test)]
mod tools;
