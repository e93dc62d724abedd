//! Why a distribution file could not be read.

use std::io;
use std::path::{Path, PathBuf};

use super::filename::FilenameError;
use super::metadata::MetadataError;

/// A distribution file that cannot be read. Every variant names the file, says what is wrong
/// with it and what to do.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// The path is a symbolic link.
    #[error(
        "{}: is a symbolic link; trustpub does not follow links among distributions, pass the \
         file it points to instead",
        path.display()
    )]
    Symlink {
        /// The path.
        path: PathBuf,
    },
    /// The path is a directory named like a distribution.
    #[error(
        "{}: is a directory, not a distribution file; remove it or pass the files inside it",
        path.display()
    )]
    Directory {
        /// The path.
        path: PathBuf,
    },
    /// The path is a device, FIFO or socket.
    #[error(
        "{}: is not a regular file (a device, FIFO or socket); pass a built distribution file",
        path.display()
    )]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file could not be opened or read.
    #[error(
        "{}; check that the file exists and is readable",
        io_message(path, "cannot be read", cause)
    )]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        cause: io::Error,
    },
    /// The file is empty.
    #[error(
        "{}: is empty (0 bytes); the build or the download did not finish, build or download \
         it again",
        path.display()
    )]
    Empty {
        /// The path.
        path: PathBuf,
    },
    /// The name is neither `*.whl` nor `*.tar.gz`.
    #[error(
        "{}: is neither a wheel (.whl) nor an sdist (.tar.gz), the only formats PyPI accepts",
        path.display()
    )]
    NotADistribution {
        /// The path.
        path: PathBuf,
    },
    /// The file name is not UTF-8.
    #[error(
        "{}: the file name is not valid UTF-8; distribution names are ASCII, rename or rebuild it",
        path.display()
    )]
    FilenameNotUtf8 {
        /// The path.
        path: PathBuf,
    },
    /// A `.whl` whose name does not parse.
    #[error("{}: {cause}", path.display())]
    WheelFilename {
        /// The path.
        path: PathBuf,
        /// What is wrong with the name.
        cause: FilenameError,
    },
    /// The content is not the format the name promises (e.g. an HTML page saved as `.whl`).
    #[error(
        "{}: is not {expected}, its content looks like {found}; build the distribution again or \
         download it again",
        path.display()
    )]
    WrongFormat {
        /// The path.
        path: PathBuf,
        /// What the file should be (`a zip archive (wheel)`, `a gzip-compressed tar (sdist)`).
        expected: &'static str,
        /// What it looks like instead.
        found: &'static str,
    },
    /// The zip archive is truncated or corrupt.
    #[error(
        "{}: is not a readable zip archive ({cause}); the wheel is truncated or corrupt, build it \
         again or download it again",
        path.display()
    )]
    CorruptZip {
        /// The path.
        path: PathBuf,
        /// What the zip reader reported.
        cause: String,
    },
    /// The gzip stream or the tar inside it is truncated or corrupt.
    #[error(
        "{}: is not a readable .tar.gz ({cause}); the sdist is truncated or corrupt, build it \
         again or download it again",
        path.display()
    )]
    CorruptTarGz {
        /// The path.
        path: PathBuf,
        /// What the gzip or tar reader reported.
        cause: String,
    },
    /// A wheel without a top-level `*.dist-info/METADATA`.
    #[error(
        "{}: has no {expected} (no *.dist-info/METADATA at all), so it is not a complete wheel; \
         build it again with a standard build backend",
        path.display()
    )]
    NoWheelMetadata {
        /// The path.
        path: PathBuf,
        /// The member PyPI looks for.
        expected: String,
    },
    /// A wheel with several `*.dist-info/METADATA`, none of them the one PyPI reads.
    #[error(
        "{}: has several metadata files ({}) and none is {expected}, the one PyPI reads; build \
         the wheel again",
        path.display(),
        found.join(", ")
    )]
    SeveralWheelMetadata {
        /// The path.
        path: PathBuf,
        /// The member PyPI looks for.
        expected: String,
        /// The metadata members present.
        found: Vec<String>,
    },
    /// An sdist without `<dir>/PKG-INFO`.
    #[error(
        "{}: has no PKG-INFO in its top-level directory, which PyPI requires; build the sdist \
         with a standard build backend (e.g. `python -m build --sdist`)",
        path.display()
    )]
    NoPkgInfo {
        /// The path.
        path: PathBuf,
    },
    /// An sdist with several `<dir>/PKG-INFO`.
    #[error(
        "{}: has {} top-level PKG-INFO files ({}); an sdist has exactly one, build it again",
        path.display(),
        found.len(),
        found.join(", ")
    )]
    SeveralPkgInfo {
        /// The path.
        path: PathBuf,
        /// The PKG-INFO members.
        found: Vec<String>,
    },
    /// An sdist whose members are not all inside one top-level directory.
    #[error(
        "{}: has {count} top-level members ({}); an sdist holds everything in one \
         `{{name}}-{{version}}/` directory, build it again",
        path.display(),
        found.join(", ")
    )]
    SeveralTopLevel {
        /// The path.
        path: PathBuf,
        /// How many top-level members there are.
        count: usize,
        /// The top-level member names (at most a few).
        found: Vec<String>,
    },
    /// The metadata member is a link or directory.
    #[error(
        "{}: {member} is not a regular file (a link or directory); build the distribution again",
        path.display()
    )]
    MetadataNotAFile {
        /// The path.
        path: PathBuf,
        /// The archive member.
        member: String,
    },
    /// The metadata member is implausibly large.
    #[error(
        "{}: {member} is larger than {} MiB; that is not plausible core metadata, check the \
         build (a huge README?)",
        path.display(),
        limit / (1024 * 1024)
    )]
    MetadataTooLarge {
        /// The path.
        path: PathBuf,
        /// The archive member.
        member: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The archive inflates far beyond its own size: a zip or gzip bomb (PyPI's rule: more than
    /// 64 MiB and more than 50 times the file).
    #[error(
        "{}: {what} inflates to more than {} MiB, over 50 times the file's size; PyPI rejects \
         such a file as a decompression bomb, so it was not read further: check the build",
        path.display(),
        limit / (1024 * 1024)
    )]
    Inflation {
        /// The path.
        path: PathBuf,
        /// What inflates: "the archive", or a member.
        what: String,
        /// The limit in bytes that was passed.
        limit: u64,
    },
    /// The metadata member does not parse.
    #[error("{}: {member}: {cause}", path.display())]
    Metadata {
        /// The path.
        path: PathBuf,
        /// The archive member.
        member: String,
        /// What is wrong with it.
        cause: MetadataError,
    },
}

impl DistError {
    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Symlink { path }
            | Self::Directory { path }
            | Self::NotAFile { path }
            | Self::Io { path, .. }
            | Self::Empty { path }
            | Self::NotADistribution { path }
            | Self::FilenameNotUtf8 { path }
            | Self::WheelFilename { path, .. }
            | Self::WrongFormat { path, .. }
            | Self::CorruptZip { path, .. }
            | Self::CorruptTarGz { path, .. }
            | Self::NoWheelMetadata { path, .. }
            | Self::SeveralWheelMetadata { path, .. }
            | Self::NoPkgInfo { path }
            | Self::SeveralPkgInfo { path, .. }
            | Self::SeveralTopLevel { path, .. }
            | Self::MetadataNotAFile { path, .. }
            | Self::MetadataTooLarge { path, .. }
            | Self::Inflation { path, .. }
            | Self::Metadata { path, .. } => path,
        }
    }
}

/// An I/O error's message, naming `path` once: `fs_err` errors already name it
/// (``failed to open file `dist/x.whl`: ...``), others get `{path}: {what}: ` in front.
pub(crate) fn io_message(path: &Path, what: &str, error: &io::Error) -> String {
    let message = error.to_string();
    let shown = path.display().to_string();
    if message.contains(&shown) {
        message
    } else {
        format!("{shown}: {what}: {message}")
    }
}
