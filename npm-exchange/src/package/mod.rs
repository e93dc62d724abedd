//! Reading npm package tarballs and building the publish document.
//!
//! The flow mirrors `npm publish <tarball>`:
//!
//! 1. [`PackageTarball::read`] streams the `.tgz` once: it hashes the raw bytes (sha512 for
//!    `dist.integrity`, sha1 for `dist.shasum`) while it unpacks `package/package.json`, the README
//!    and the file list, and normalises the manifest the way npm does ([`Manifest`]);
//! 2. [`check`] applies the npm CLI's and libnpmpublish's refusals (private package, prerelease
//!    without `--tag`, a tag that is a semver range, restricted access for an unscoped package)
//!    and resolves the dist-tag and access;
//! 3. [`PublishDocument`] is the JSON body of `PUT <registry>/<escaped name>`, key for key as
//!    libnpmpublish builds it, with the tarball inlined as base64 under `_attachments` and an
//!    optional provenance bundle next to it. [`PublishDocument::body_stream`] produces it from
//!    disk chunk by chunk, so a large tarball is never held in memory.
//!
//! The normalisation follows `@npmcli/package-json`, `hosted-git-info` and `node-semver` as
//! bundled with npm 11; the submodules name the JavaScript they port.

mod body;
pub(crate) mod checks;
mod document;
pub(crate) mod hosted;
pub(crate) mod json;
mod manifest;
mod node_semver;
mod normalize;
mod normalize_data;
mod publish_config;
mod tarball;
mod text;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod npm_tests;
#[cfg(test)]
pub(crate) mod test_support;

use std::path::PathBuf;

pub use checks::{PublishOptions, PublishPlan, PublishProblem, PublishRefused, check};
pub use document::{PROVENANCE_MEDIA_TYPE_V03, PublishDocument, package_url};
pub use manifest::{Manifest, ManifestError, PackageName};
pub use publish_config::{Access, InvalidSetting, PublishConfig};
pub use tarball::PackageTarball;

/// Why a package tarball cannot be read or turned into a publish document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The file could not be opened or read (the message names it).
    #[error("cannot read the package tarball: {source}")]
    Io {
        /// The tarball.
        path: PathBuf,
        /// The I/O error, from `fs_err`, which names the file.
        source: std::io::Error,
    },
    /// The path is not a regular file.
    #[error("{} is {kind}, not a package tarball: pass the .tgz file that `npm pack` wrote", path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead, e.g. "a directory".
        kind: &'static str,
    },
    /// The file is not a readable gzip-compressed tar archive.
    #[error("{} is not a valid npm package tarball: {detail}; rebuild it with `npm pack`", path.display())]
    Corrupt {
        /// The tarball.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A member read into memory (`package.json`, the README, `AUTHORS`) is over its cap.
    #[error(
        "{}: {member} is larger than {} KiB, which is not plausible for it (the file may be a decompression bomb); trustpub stopped reading it: check what `npm pack` packed",
        path.display(),
        limit / 1024
    )]
    MemberTooLarge {
        /// The tarball.
        path: PathBuf,
        /// The member, e.g. `package/package.json`.
        member: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// The gzip stream inflates far beyond the tarball's size.
    #[error(
        "{}: the gzip stream inflates to more than {} MiB, over 100 times the tarball's size; it looks like a decompression bomb and was not read further: rebuild it with `npm pack`",
        path.display(),
        limit / (1024 * 1024)
    )]
    Inflation {
        /// The tarball.
        path: PathBuf,
        /// The limit in bytes that was passed.
        limit: u64,
    },
    /// The archive has no `package/package.json`.
    #[error(
        "{} has no package/package.json, so it is not an npm package tarball; rebuild it with `npm pack`",
        path.display()
    )]
    MissingPackageJson {
        /// The tarball.
        path: PathBuf,
    },
    /// `package.json` cannot be published as it is.
    #[error("package/package.json in {}: {source} (fix package.json and run `npm pack` again)", path.display())]
    Manifest {
        /// The tarball.
        path: PathBuf,
        /// What is wrong with `package.json`.
        source: ManifestError,
    },
    /// The tarball on disk no longer matches what was read.
    #[error(
        "{} changed on disk after it was read ({detail}); read the tarball again before publishing",
        path.display()
    )]
    Changed {
        /// The tarball.
        path: PathBuf,
        /// How it changed.
        detail: String,
    },
    /// An extra attachment would replace another one.
    #[error(
        "the publish document already has an attachment named {name:?}; give the new one another name"
    )]
    DuplicateAttachment {
        /// The attachment name.
        name: String,
    },
    /// A provenance bundle that is not a JSON object with a `mediaType`.
    #[error(
        "the provenance bundle is not a Sigstore bundle ({detail}); pass the bundle JSON produced by signing"
    )]
    InvalidProvenanceBundle {
        /// What is wrong with it.
        detail: String,
    },
}
