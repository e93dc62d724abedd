//! npm trusted publishing for trustpub.
//!
//! The flow: read each tarball `npm pack` produced ([`package::PackageTarball`]), check it as
//! the npm CLI would and build its publish document ([`package::PublishDocument`]), trade an
//! ambient ID token for a package-scoped publish token ([`exchange::NpmExchange`]), and PUT the
//! document ([`publish::Publisher`]).
//!
//! [`PublishRun`] does all of it for many tarballs at once, as `trustpub npm publish` does:
//! npm's choice of registry and credential per package ([`npmrc`]), one exchange per package
//! with a fresh ID token, provenance, the PUT, and a typed [`PublishReport`]; progress goes to a
//! [`PublishObserver`].

pub mod doctor;
pub mod exchange;
pub mod npmrc;
pub mod package;
pub mod provenance;
pub mod publish;
pub mod registry;

pub use exchange::{NpmExchange, NpmExchangeError};
pub use npmrc::{NpmSettings, SettingSource};
pub use oidc_core::ci::MaskSink;
pub use package::Access;
pub use publish::report::{
    CredentialProblem, PackageFailure, PackageOutcome, PackageReport, ProvenancePlan,
    PublishReport, Tally,
};
pub use publish::run::{
    InvalidPackage, PackageStep, ProvenanceMode, PublishObserver, PublishRun, PublishRunError,
    PublishSettings, RunNotice,
};
pub use publish::{PublishError, PublishStatus, Publisher};
pub use registry::NpmRegistry;
