//! Finding the files to upload among the paths given (by default `dist/`).
//!
//! Directories are listed one level deep, like `dist/*`. Candidates are named `*.whl` or
//! `*.tar.gz` and come out wheels first, then sdists (the order twine and uv upload in), each
//! sorted by file name. Attestations (`<dist filename>.<kind>.attestation`) are attached to
//! their distribution by file name. Everything else is reported with the reason it is left out,
//! so a stray `*.sigstore.json` or `.DS_Store` never fails a release (gh-action-pypi-publish
//! #357). Only names are looked at here; [`Distribution::read`](super::Distribution::read)
//! checks the files themselves, including candidates that turn out to be directories or links.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// The directory searched when no path is given.
pub const DEFAULT_DIST_DIR: &str = "dist";

/// The files found by [`collect`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collection {
    /// The distributions to read and upload: wheels first, then sdists, each by file name.
    pub dists: Vec<PathBuf>,
    /// Attestation files by the file name of the distribution they belong to.
    pub attestations: BTreeMap<String, Vec<PathBuf>>,
    /// Files that are left out, with the reason.
    pub ignored: Vec<Ignored>,
}

/// A file left out of the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The file.
    pub path: PathBuf,
    /// Why it is left out.
    pub reason: IgnoreReason,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// Why a file is left out of the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreReason {
    /// A hidden file such as `.DS_Store`.
    Hidden,
    /// A subdirectory (directories are listed one level deep only).
    Directory,
    /// A Sigstore bundle (`*.sigstore.json`, `*.sigstore`).
    SigstoreBundle,
    /// A detached signature (`*.asc`), which PyPI ignores.
    Signature,
    /// A `.zip` sdist, which PEP 625 no longer allows.
    ZipSdist,
    /// An egg, which PyPI no longer accepts.
    Egg,
    /// Another archive or installer format PyPI does not accept.
    UnsupportedFormat {
        /// The extension, e.g. `.tar.bz2` or `.exe`.
        extension: &'static str,
    },
    /// An attestation whose distribution is not being uploaded.
    OrphanAttestation {
        /// The distribution file name it is for.
        dist_filename: String,
    },
    /// Any other file.
    NotADistribution,
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hidden => f.write_str("hidden file, not uploaded"),
            Self::Directory => f.write_str(
                "directory, not uploaded (distributions are only looked for one level deep)",
            ),
            Self::SigstoreBundle => {
                f.write_str("a Sigstore bundle, not a distribution; it is not uploaded")
            }
            Self::Signature => {
                f.write_str("a detached signature; PyPI ignores signatures, so it is not uploaded")
            }
            Self::ZipSdist => f.write_str(
                "a .zip sdist; PyPI accepts only .tar.gz sdists (PEP 625), build the sdist as \
                 .tar.gz",
            ),
            Self::Egg => f.write_str("an egg; PyPI no longer accepts eggs, build a wheel instead"),
            Self::UnsupportedFormat { extension } => {
                write!(f, "a {extension} file, a format PyPI does not accept")
            }
            Self::OrphanAttestation { dist_filename } => write!(
                f,
                "an attestation for {dist_filename}, which is not among the distributions to \
                 upload; remove it or add that distribution"
            ),
            Self::NotADistribution => {
                f.write_str("not a distribution (PyPI accepts .whl and .tar.gz files)")
            }
        }
    }
}

/// Why the paths could not be searched.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A path does not exist or a directory cannot be listed.
    #[error(
        "{}; pass the directory that holds the built distributions (default: \
         {DEFAULT_DIST_DIR}/) or the files themselves",
        super::error::io_message(path, "cannot be read", cause)
    )]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// Nothing to upload.
    #[error(
        "no distributions (.whl or .tar.gz) found in {}{}; build them first (e.g. \
         `python -m build`) into that directory",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        if *ignored > 0 { format!(" ({ignored} other files ignored)") } else { String::new() }
    )]
    NoDistributions {
        /// The paths searched.
        searched: Vec<PathBuf>,
        /// How many files were ignored.
        ignored: usize,
    },
}

/// What a file name says a file is.
enum Class {
    Wheel,
    Sdist,
    Attestation { dist_filename: String },
    Ignored(IgnoreReason),
}

const UNSUPPORTED_EXTENSIONS: &[&str] = &[
    ".tar.bz2", ".tar.xz", ".tar.zst", ".tar.Z", ".tgz", ".tar", ".exe", ".msi", ".rpm", ".deb",
    ".dmg",
];

fn classify(name: &str) -> Class {
    if let Some(stem) = name.strip_suffix(".attestation")
        && let Some((dist_filename, kind)) = stem.rsplit_once('.')
        && !kind.is_empty()
        && (dist_filename.ends_with(".whl") || dist_filename.ends_with(".tar.gz"))
    {
        return Class::Attestation {
            dist_filename: dist_filename.to_owned(),
        };
    }
    if name.starts_with('.') {
        Class::Ignored(IgnoreReason::Hidden)
    } else if name.ends_with(".whl") {
        Class::Wheel
    } else if name.ends_with(".tar.gz") {
        Class::Sdist
    } else if name.ends_with(".sigstore.json") || name.ends_with(".sigstore") {
        Class::Ignored(IgnoreReason::SigstoreBundle)
    } else if name.ends_with(".asc") {
        Class::Ignored(IgnoreReason::Signature)
    } else if name.ends_with(".zip") {
        Class::Ignored(IgnoreReason::ZipSdist)
    } else if name.ends_with(".egg") {
        Class::Ignored(IgnoreReason::Egg)
    } else if let Some(extension) = UNSUPPORTED_EXTENSIONS.iter().find(|e| name.ends_with(*e)) {
        Class::Ignored(IgnoreReason::UnsupportedFormat { extension })
    } else {
        Class::Ignored(IgnoreReason::NotADistribution)
    }
}

/// Finds the distributions, attestations and stray files among `paths` (files and/or
/// directories; [`DEFAULT_DIST_DIR`] when empty).
///
/// Fails if a path cannot be read or if there is nothing to upload.
pub fn collect(paths: &[PathBuf]) -> Result<Collection, CollectError> {
    let default = [PathBuf::from(DEFAULT_DIST_DIR)];
    let searched = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| CollectError::Io { path, cause }
    };

    // (path, is a directory) for every file named by the user or found in a directory.
    let mut files: BTreeSet<(PathBuf, bool)> = BTreeSet::new();
    for path in searched {
        let meta = fs_err::metadata(path).map_err(io_error(path))?;
        if !meta.is_dir() {
            files.insert((path.clone(), false));
            continue;
        }
        for entry in fs_err::read_dir(path).map_err(io_error(path))? {
            let entry = entry.map_err(io_error(path))?;
            let is_dir = entry.file_type().map_err(io_error(path))?.is_dir();
            files.insert((entry.path(), is_dir));
        }
    }

    let mut wheels = Vec::new();
    let mut sdists = Vec::new();
    let mut attestations: Vec<(String, PathBuf)> = Vec::new();
    let mut ignored = Vec::new();
    for (path, is_dir) in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match classify(&name) {
            // Dist-named directories and links are kept: reading them gives the precise error.
            Class::Wheel => wheels.push((name, path)),
            Class::Sdist => sdists.push((name, path)),
            Class::Attestation { .. } | Class::Ignored(_) if is_dir => ignored.push(Ignored {
                path,
                reason: IgnoreReason::Directory,
            }),
            Class::Attestation { dist_filename } => attestations.push((dist_filename, path)),
            Class::Ignored(reason) => ignored.push(Ignored { path, reason }),
        }
    }
    wheels.sort();
    sdists.sort();
    let dist_names: BTreeSet<&str> = wheels
        .iter()
        .chain(&sdists)
        .map(|(name, _)| name.as_str())
        .collect();
    let mut attached: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for (dist_filename, path) in attestations {
        if dist_names.contains(dist_filename.as_str()) {
            attached.entry(dist_filename).or_default().push(path);
        } else {
            ignored.push(Ignored {
                path,
                reason: IgnoreReason::OrphanAttestation { dist_filename },
            });
        }
    }
    let dists: Vec<PathBuf> = wheels
        .into_iter()
        .chain(sdists)
        .map(|(_, path)| path)
        .collect();
    if dists.is_empty() {
        return Err(CollectError::NoDistributions {
            searched: searched.to_vec(),
            ignored: ignored.len(),
        });
    }
    Ok(Collection {
        dists,
        attestations: attached,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        fs_err::write(&path, b"x").unwrap();
        path
    }

    fn names(paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn wheels_first_then_sdists_with_attestations_and_strays() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in [
            "b-1.0.tar.gz",
            "b-1.0-py3-none-any.whl",
            "a-1.0.tar.gz",
            "a-1.0-cp312-cp312-win_amd64.whl",
            "a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "a-1.0.tar.gz.publish.attestation",
            "a-1.0.tar.gz.slsa.attestation",
            "b-1.0-py3-none-any.whl.publish.attestation",
            "c-1.0.tar.gz.publish.attestation",
            "a-1.0.tar.gz.sigstore.json",
            ".DS_Store",
            "a-1.0.zip",
            "a-1.0-py3.12.egg",
            "a-1.0.tar.bz2",
            "a-1.0.tar.gz.asc",
            "notes.txt",
        ] {
            touch(d, name);
        }
        fs_err::create_dir(d.join("build")).unwrap();
        fs_err::create_dir(d.join("broken-1.0-py3-none-any.whl")).unwrap();

        let found = collect(&[d.to_path_buf()]).unwrap();
        assert_eq!(
            names(&found.dists),
            [
                "a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
                "a-1.0-cp312-cp312-win_amd64.whl",
                "b-1.0-py3-none-any.whl",
                "broken-1.0-py3-none-any.whl",
                "a-1.0.tar.gz",
                "b-1.0.tar.gz",
            ]
        );
        let attestations: Vec<_> = found
            .attestations
            .iter()
            .map(|(dist, paths)| format!("{dist} <- {}", names(paths).join(", ")))
            .collect();
        assert_eq!(
            attestations,
            [
                "a-1.0.tar.gz <- a-1.0.tar.gz.publish.attestation, a-1.0.tar.gz.slsa.attestation",
                "b-1.0-py3-none-any.whl <- b-1.0-py3-none-any.whl.publish.attestation",
            ]
        );
        let report: String = found
            .ignored
            .iter()
            .map(|i| {
                format!(
                    "{}\n",
                    i.to_string().replace(&format!("{}/", d.display()), "")
                )
            })
            .collect();
        insta::assert_snapshot!(report, @r"
        .DS_Store: hidden file, not uploaded
        a-1.0-py3.12.egg: an egg; PyPI no longer accepts eggs, build a wheel instead
        a-1.0.tar.bz2: a .tar.bz2 file, a format PyPI does not accept
        a-1.0.tar.gz.asc: a detached signature; PyPI ignores signatures, so it is not uploaded
        a-1.0.tar.gz.sigstore.json: a Sigstore bundle, not a distribution; it is not uploaded
        a-1.0.zip: a .zip sdist; PyPI accepts only .tar.gz sdists (PEP 625), build the sdist as .tar.gz
        build: directory, not uploaded (distributions are only looked for one level deep)
        notes.txt: not a distribution (PyPI accepts .whl and .tar.gz files)
        c-1.0.tar.gz.publish.attestation: an attestation for c-1.0.tar.gz, which is not among the distributions to upload; remove it or add that distribution
        ");
    }

    #[test]
    fn explicit_files_and_directories_mix_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = touch(dir.path(), "x-1-py3-none-any.whl");
        let other = tempfile::tempdir().unwrap();
        let sdist = touch(other.path(), "x-1.tar.gz");
        let found = collect(&[sdist.clone(), dir.path().to_path_buf(), wheel.clone()]).unwrap();
        assert_eq!(found.dists, [wheel, sdist]);
        assert!(found.ignored.is_empty());
    }

    #[test]
    fn nothing_to_upload_and_missing_paths_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "a-1.0.tar.gz.sigstore.json");
        let error = collect(&[dir.path().to_path_buf()])
            .unwrap_err()
            .to_string();
        let error = error.replace(&dir.path().display().to_string(), "<dir>");
        insta::assert_snapshot!(error, @"no distributions (.whl or .tar.gz) found in <dir> (1 other files ignored); build them first (e.g. `python -m build`) into that directory");

        let missing = dir.path().join("nope");
        let error = collect(&[missing]).unwrap_err().to_string();
        let error = error.replace(&dir.path().display().to_string(), "<dir>");
        assert!(
            error.contains("`<dir>/nope`: No such file or directory"),
            "{error}"
        );
        assert!(error.ends_with("pass the directory that holds the built distributions (default: dist/) or the files themselves"), "{error}");
    }
}
