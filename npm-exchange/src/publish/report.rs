//! What a publish run returns: one typed outcome per package, in input order, and the tally
//! that decides the exit code.

use std::path::PathBuf;

use oidc_core::IdentityError;
use oidc_core::sigstore::SigstoreError;

use crate::exchange::NpmExchangeError;
use crate::npmrc::SettingSource;
use crate::provenance::{ProvenanceFileError, ProvenanceRefusal, VisibilityError};
use crate::publish::PublishError;

/// The result of [`run`](super::run::PublishRun::run): every package, in the order given.
#[derive(Debug)]
pub struct PublishReport {
    /// One entry per package, in input order.
    pub packages: Vec<PackageReport>,
    /// Set when an identity failure that would refuse every package stopped the run; packages
    /// not yet started are [`PackageOutcome::NotAttempted`].
    pub stopped: Option<IdentityError>,
    /// Nothing was signed or published (`--dry-run`).
    pub dry_run: bool,
}

/// One package's outcome.
#[derive(Debug)]
pub struct PackageReport {
    /// `name@version`.
    pub label: String,
    /// The tarball.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its `sha512-…` integrity.
    pub integrity: String,
    /// The dist-tag it was (or would be) published under.
    pub tag: String,
    /// The registry it went to (host), and which setting chose it.
    pub registry: String,
    /// Which setting chose the registry.
    pub registry_source: SettingSource,
    /// The provenance bundle written beside the tarball, when one was signed.
    pub provenance_bundle: Option<PathBuf>,
    /// What happened.
    pub outcome: PackageOutcome,
}

/// What happened to one package.
#[derive(Debug)]
pub enum PackageOutcome {
    /// The registry accepted the new version.
    Published,
    /// The registry already has this version with the same integrity: done.
    AlreadyPresent,
    /// Dry run: it would be published.
    WouldPublish {
        /// What provenance would go with it.
        provenance: ProvenancePlan,
    },
    /// Not tried: the run stopped first.
    NotAttempted,
    /// It failed; nothing of it was published.
    Failed(PackageFailure),
}

/// The provenance decided for a package (for dry-run plans and summaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvenancePlan {
    /// None.
    None,
    /// A new statement, signed during the run.
    Sign,
    /// The `--provenance-file` bundle, checked.
    Given,
}

/// Why one package failed.
#[derive(Debug, thiserror::Error)]
pub enum PackageFailure {
    /// The registry refused this package's exchange (its trusted publisher).
    #[error(transparent)]
    Exchange(NpmExchangeError),
    /// No usable credential for this package's registry.
    #[error("{0}")]
    Credential(CredentialProblem),
    /// Provenance was required but cannot be made here (npm's conditions).
    #[error(transparent)]
    ProvenanceRefused(ProvenanceRefusal),
    /// The package's visibility could not be learned and `--provenance` requires it.
    #[error("{package}: {source}")]
    Visibility {
        /// `name@version`.
        package: String,
        /// Why.
        source: VisibilityError,
    },
    /// `--provenance-file` is unusable for this package.
    #[error(transparent)]
    ProvenanceFile(ProvenanceFileError),
    /// Signing (or checking a given bundle) failed.
    #[error("{package}: {source}")]
    Sigstore {
        /// `name@version`.
        package: String,
        /// Why.
        source: SigstoreError,
    },
    /// The signed bundle could not be written beside the tarball.
    #[error("cannot write the provenance bundle {}: {source}", .path.display())]
    BundleWrite {
        /// The bundle file.
        path: PathBuf,
        /// Why (a symlink at its name, an I/O failure).
        source: oidc_core::fs::WriteError,
    },
    /// The provenance bundle could not be added to the publish document.
    #[error(transparent)]
    Document(crate::package::PackageError),
    /// The PUT failed.
    #[error(transparent)]
    Publish(PublishError),
}

impl PackageFailure {
    /// A short title for annotations.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Exchange(_) => "Trusted publishing exchange failure",
            Self::Credential(_) => "No usable registry token",
            Self::ProvenanceRefused(_) | Self::Visibility { .. } => "Provenance refused",
            Self::ProvenanceFile(_) => "Provenance file refused",
            Self::Sigstore { .. } | Self::BundleWrite { .. } | Self::Document(_) => {
                "Provenance failed"
            }
            Self::Publish(_) => "Publish failed",
        }
    }

    /// Whether this is about the credential (exchange refused, no token): the run's exit code
    /// is 3 when every package failed this way.
    pub fn is_identity(&self) -> bool {
        matches!(self, Self::Exchange(_) | Self::Credential(_))
    }
}

/// A configured token that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialProblem {
    /// `actions/setup-node`'s placeholder, not a token.
    Placeholder {
        /// Where it was found.
        source: SettingSource,
        /// The registry host.
        registry: String,
    },
    /// `--no-trusted-publishing` and no token for the registry.
    Missing {
        /// The registry host.
        registry: String,
        /// The `.npmrc` key npm would read it from.
        key: String,
    },
}

impl std::fmt::Display for CredentialProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Placeholder { source, registry } => write!(
                f,
                "the token for {registry} from {source} is actions/setup-node's placeholder `{}`, not a token. Trusted publishing is not available in this job (no ID token: add `permissions: id-token: write`), so there is nothing to publish with. Add the permission and a trusted publisher on npmjs.com, or pass a real token",
                crate::npmrc::SETUP_NODE_PLACEHOLDER
            ),
            Self::Missing { registry, key } => write!(
                f,
                "--no-trusted-publishing needs a token for {registry}: pass --token, set NODE_AUTH_TOKEN or NPM_TOKEN, or add `{key}=…` to an .npmrc"
            ),
        }
    }
}

/// Counts over a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Published now, already present, or (dry run) would be published.
    pub done: usize,
    /// Failed or not attempted.
    pub missing: usize,
    /// Of `missing`, failed on the credential (exchange refused, no token).
    pub refused: usize,
}

impl PublishReport {
    /// The counts that decide the exit code.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for package in &self.packages {
            match &package.outcome {
                PackageOutcome::Published
                | PackageOutcome::AlreadyPresent
                | PackageOutcome::WouldPublish { .. } => tally.done += 1,
                PackageOutcome::NotAttempted => tally.missing += 1,
                PackageOutcome::Failed(failure) => {
                    tally.missing += 1;
                    if failure.is_identity() {
                        tally.refused += 1;
                    }
                }
            }
        }
        tally
    }

    /// The packages not published (failed or not attempted), in input order.
    pub fn missing(&self) -> impl Iterator<Item = &PackageReport> {
        self.packages.iter().filter(|p| {
            matches!(
                p.outcome,
                PackageOutcome::Failed(_) | PackageOutcome::NotAttempted
            )
        })
    }
}
