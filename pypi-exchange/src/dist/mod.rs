//! Reading and validating distributions (wheels and sdists) before upload.
//!
//! The flow: [`collect`] finds the files to upload (default `dist/`), wheels first, with their
//! attestations and a report of stray files; [`Distribution::read`] reads each file once for
//! its [`CoreMetadata`], size, SHA-256 and BLAKE2b-256; [`validate`] checks the whole set
//! against PyPI's upload rules and returns every [`Problem`] at once. The upload then sends
//! [`CoreMetadata::form_fields`] plus [`Distribution::filetype`], [`Distribution::pyversion`]
//! and the digests.
//!
//! ```no_run
//! use pypi_exchange::dist::{Distribution, Problem, ValidateOptions, collect, validate};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let found = collect(&[])?; // dist/
//! let mut problems = Vec::new();
//! let mut dists = Vec::new();
//! for path in &found.dists {
//!     match Distribution::read(path) {
//!         Ok(dist) => dists.push(dist),
//!         Err(error) => problems.push(Problem::from_read_error(&error)),
//!     }
//! }
//! problems.extend(validate(&dists, &ValidateOptions::default()));
//! let blocked = problems.iter().any(Problem::is_error);
//! # let _ = blocked;
//! # Ok(())
//! # }
//! ```

mod collect;
mod error;
mod filename;
mod form;
mod headers;
mod metadata;
mod problem;
mod read;
mod sdist;
mod validate;
mod version;
mod wheel;

#[cfg(test)]
mod tests;

pub use collect::{CollectError, Collection, DEFAULT_DIST_DIR, IgnoreReason, Ignored, collect};
pub use error::DistError;
pub use filename::{
    FilenameError, SDIST_PYVERSION, WheelFilename, filename_name_part, pypi_accepts_platform_tag,
    sdist_filename,
};
pub use metadata::{CoreMetadata, MetadataError, MetadataVersion, ProjectUrl};
pub use problem::{Problem, Severity};
pub use read::{ArchiveIssue, DistKind, Distribution};
pub use validate::{PYPI_DEFAULT_FILE_SIZE_LIMIT, ValidateOptions, validate};
pub use version::{Version, VersionError, is_valid_project_name, normalize_name, pep440_rs};
