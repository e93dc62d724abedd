//! npm provenance: the parts that need no network.
//!
//! `npm publish --provenance` (libnpmpublish 11.2, `lib/provenance.js` and `lib/publish.js`)
//! describes the CI build in an in-toto statement about the tarball, signs it with Sigstore and
//! attaches the bundle to the publish document. This module ports everything before and after
//! the signing:
//!
//! 1. [`check_provenance_preconditions`] reads the CI environment ([`CiBuild`]) and refuses, with
//!    npm's and the registry's own wording, what would fail: an unsupported CI, a job without
//!    the `id-token: write` permission (GitHub) or `SIGSTORE_ID_TOKEN` (GitLab), a package that
//!    is not public, a `repository.url` that does not name the workflow's repository, a
//!    private source repository, a self-hosted runner. Call it before asking for any Sigstore
//!    identity, so that nothing is written to the transparency log for a publish the registry
//!    would reject with 422. On success it returns the [`CiBuild`] to describe.
//! 2. [`ProvenanceStatement::new`] builds the statement byte for byte as npm does: SLSA v1
//!    provenance in an in-toto Statement v1 on GitHub Actions, SLSA v0.2 in a Statement v0.1 on
//!    GitLab CI, with one subject `pkg:npm/<name>@<version>` and the tarball's sha512
//!    ([`ProvenanceSubject`]; libnpmpublish never appends `?repository_url=`). Sign [`ProvenanceStatement::as_bytes`] as a DSSE envelope with
//!    payload type [`INTOTO_PAYLOAD_TYPE`].
//! 3. For `--provenance-file`, [`ProvenanceBundle::read`] checks an existing bundle's subject
//!    against the tarball, with libnpmpublish's messages. Its Sigstore signatures still have to
//!    be verified (npm calls `sigstore.verify`) before it is attached.
//!
//! The bundle, signed or read, is attached with
//! [`PublishDocument::with_provenance_bundle`](crate::package::PublishDocument::with_provenance_bundle),
//! which writes `_attachments["<name>-<version>.sigstore"]` as npm does.

mod build;
mod bundle;
mod preconditions;
mod statement;
mod subject;
mod visibility;

#[cfg(test)]
mod test_support;

#[cfg(test)]
mod npm_tests;

pub use build::{CiBuild, CiBuildError, CiProvider, GithubBuild, GitlabBuild};
pub use bundle::{BundleError, ProvenanceBundle, ProvenanceFileError};
pub use preconditions::{
    PackageVisibility, ProvenanceContext, ProvenanceProblem, ProvenanceRefusal,
    check_provenance_preconditions,
};
pub use statement::ProvenanceStatement;
pub use subject::ProvenanceSubject;
pub use visibility::{VisibilityError, fetch_package_visibility};

/// The DSSE payload type of every npm provenance statement.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
