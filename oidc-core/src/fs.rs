//! Writing files next to the user's files: one writer for all of them.
//!
//! trustpub writes a few files into directories it does not own: `<tarball>.sigstore.json`,
//! `<dist>.publish.attestation`, and the GitHub step summary. A planted symlink at one of those
//! names must not turn the write into an overwrite of something else (`~/.bashrc`, a workflow
//! file), and a file already there must not be clobbered without saying so. So:
//!
//! - [`write_new_atomic`] writes a temporary file in the destination's directory, syncs it and
//!   renames it into place without replacing anything: the file appears whole or not at all.
//!   An existing file with the same bytes is left alone ([`Written::Unchanged`]); one with other
//!   bytes is an error unless the caller asked for [`Existing::Replace`]. A symlink at the
//!   destination is refused in every mode (a rename would replace the link, not follow it, but a
//!   link there means someone expects the write to land elsewhere: that is never what we want).
//! - [`append_no_follow`] appends to a file (the step summary) opened without following a
//!   symlink, and only if it is a regular file.
//!
//! ```
//! use oidc_core::fs::{Existing, Written, write_new_atomic};
//! # let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("x.sigstore.json");
//! assert_eq!(write_new_atomic(&path, b"{}", Existing::Keep).unwrap(), Written::Created);
//! assert_eq!(write_new_atomic(&path, b"{}", Existing::Keep).unwrap(), Written::Unchanged);
//! assert!(write_new_atomic(&path, b"[]", Existing::Keep).is_err());
//! assert_eq!(write_new_atomic(&path, b"[]", Existing::Replace).unwrap(), Written::Replaced);
//! ```

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

/// What to do when the destination already holds a different file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Keep it and fail: the caller does not want to lose it.
    Keep,
    /// Replace it (atomically): the caller owns the file and says so.
    Replace,
}

/// What [`write_new_atomic`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// There was no file: it was created.
    Created,
    /// A file with the same contents was there: nothing was written.
    Unchanged,
    /// A file with other contents was replaced ([`Existing::Replace`] only).
    Replaced,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The destination is a symlink.
    #[error(
        "refusing to write {path}: it is a symbolic link, and trustpub never writes through one; remove the link (or point the output elsewhere) and run again"
    )]
    Symlink {
        /// The destination.
        path: PathBuf,
    },
    /// The destination exists and is not a regular file.
    #[error("refusing to write {path}: it exists and is not a regular file")]
    NotAFile {
        /// The destination.
        path: PathBuf,
    },
    /// The destination holds other contents and the caller did not ask to replace it.
    #[error(
        "{path} already exists with different contents; trustpub does not overwrite it: delete it to write it again, or keep it"
    )]
    Exists {
        /// The destination.
        path: PathBuf,
    },
    /// A file operation failed.
    #[error("cannot write {path}: {action}: {source}")]
    Io {
        /// The destination.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

impl WriteError {
    /// What went wrong, without the path: for callers whose own error names the file.
    pub fn reason(&self) -> String {
        match self {
            Self::Symlink { .. } => "it is a symbolic link, and trustpub never writes through one; remove the link and run again".to_owned(),
            Self::NotAFile { .. } => "it exists and is not a regular file".to_owned(),
            Self::Exists { .. } => "it already exists with different contents".to_owned(),
            Self::Io { action, source, .. } => format!("{action}: {source}"),
        }
    }
}

/// The largest existing file compared byte for byte (larger ones are "different").
const COMPARE_LIMIT: u64 = 64 * 1024 * 1024;

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io {
        path,
        action,
        source,
    }
}

/// Refuses a symlink or a non-file at `path`; `Ok(true)` when a regular file is there.
fn check_destination(path: &Path) -> Result<bool, WriteError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(WriteError::Symlink {
            path: path.to_path_buf(),
        }),
        Ok(meta) if !meta.is_file() => Err(WriteError::NotAFile {
            path: path.to_path_buf(),
        }),
        Ok(_) => Ok(true),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
        Err(err) => Err(io_error(path, "cannot inspect the destination")(err)),
    }
}

/// Whether the regular file at `path` holds exactly `contents` (opened without following a link).
fn same_contents(path: &Path, contents: &[u8]) -> Result<bool, WriteError> {
    let file = open_no_follow(path, std::fs::OpenOptions::new().read(true))
        .map_err(|err| classify_open_error(path, err, "cannot read the existing file"))?;
    let meta = file
        .metadata()
        .map_err(io_error(path, "cannot inspect the existing file"))?;
    if !meta.is_file() {
        return Err(WriteError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if meta.len() != contents.len() as u64 || meta.len() > COMPARE_LIMIT {
        return Ok(false);
    }
    let mut existing = Vec::with_capacity(contents.len());
    file.take(COMPARE_LIMIT)
        .read_to_end(&mut existing)
        .map_err(io_error(path, "cannot read the existing file"))?;
    Ok(existing == contents)
}

/// Writes `contents` to `path` atomically, never through a symlink, never clobbering silently.
///
/// The temporary file is `.<name>.<random>.tmp` in the destination's directory (so the rename
/// stays on one file system); it is removed if anything fails.
pub fn write_new_atomic(
    path: &Path,
    contents: &[u8],
    existing: Existing,
) -> Result<Written, WriteError> {
    let present = check_destination(path)?;
    if present {
        if same_contents(path, contents)? {
            return Ok(Written::Unchanged);
        }
        if existing == Existing::Keep {
            return Err(WriteError::Exists {
                path: path.to_path_buf(),
            });
        }
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| WriteError::NotAFile {
        path: path.to_path_buf(),
    })?;
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_error(path, "cannot create a temporary file beside it"))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io_error(path, "cannot write the temporary file"))?;
    if present {
        // Replace: `rename` replaces a link rather than following it, and the destination was
        // checked just above; check again right before, to narrow the window.
        check_destination(path)?;
        temp.persist(path).map_err(|err| {
            io_error(path, "cannot rename the temporary file into place")(err.error)
        })?;
        sync_dir(dir);
        return Ok(Written::Replaced);
    }
    match temp.persist_noclobber(path) {
        Ok(_) => {
            sync_dir(dir);
            Ok(Written::Created)
        }
        Err(err) if err.error.kind() == ErrorKind::AlreadyExists => {
            // Something appeared meanwhile (`err.file` is dropped, deleting the temporary
            // file): judge it as if it had been there from the start, but never replace it.
            check_destination(path)?;
            if same_contents(path, contents)? {
                Ok(Written::Unchanged)
            } else {
                Err(WriteError::Exists {
                    path: path.to_path_buf(),
                })
            }
        }
        Err(err) => Err(io_error(
            path,
            "cannot rename the temporary file into place",
        )(err.error)),
    }
}

/// Makes a rename durable (best effort: not every platform can sync a directory).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Appends `contents` to the regular file at `path` (created if missing), never through a
/// symlink: the step summary's writer.
pub fn append_no_follow(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    check_destination(path)?;
    let mut file = open_no_follow(path, std::fs::OpenOptions::new().create(true).append(true))
        .map_err(|err| classify_open_error(path, err, "cannot open it for appending"))?;
    let meta = file
        .metadata()
        .map_err(io_error(path, "cannot inspect it"))?;
    if !meta.is_file() {
        return Err(WriteError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    file.write_all(contents)
        .map_err(io_error(path, "cannot append to it"))
}

#[cfg(unix)]
fn open_no_follow(
    path: &Path,
    options: &mut std::fs::OpenOptions,
) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NOFOLLOW).open(path)
}

#[cfg(not(unix))]
fn open_no_follow(
    path: &Path,
    options: &mut std::fs::OpenOptions,
) -> std::io::Result<std::fs::File> {
    options.open(path)
}

/// `O_NOFOLLOW` on a link fails with `ELOOP`: report that as the symlink it is.
fn classify_open_error(path: &Path, err: std::io::Error, action: &'static str) -> WriteError {
    #[cfg(unix)]
    if err.raw_os_error() == Some(libc::ELOOP) {
        return WriteError::Symlink {
            path: path.to_path_buf(),
        };
    }
    io_error(path, action)(err)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn creates_keeps_identical_refuses_different() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        assert_eq!(
            write_new_atomic(&path, b"one", Existing::Keep).unwrap(),
            Written::Created
        );
        assert_eq!(
            write_new_atomic(&path, b"one", Existing::Keep).unwrap(),
            Written::Unchanged
        );
        let error = write_new_atomic(&path, b"two", Existing::Keep).unwrap_err();
        assert!(matches!(error, WriteError::Exists { .. }), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(
            write_new_atomic(&path, b"two", Existing::Replace).unwrap(),
            Written::Replaced
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, b"precious").unwrap();
        let link = dir.path().join("out.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for existing in [Existing::Keep, Existing::Replace] {
            let error = write_new_atomic(&link, b"evil", existing).unwrap_err();
            assert!(matches!(error, WriteError::Symlink { .. }), "{error}");
        }
        let error = append_no_follow(&link, b"evil").unwrap_err();
        assert!(matches!(error, WriteError::Symlink { .. }), "{error}");
        assert!(error.to_string().contains("symbolic link"), "{error}");
        // A dangling link is refused too (it would create the target).
        let dangling = dir.path().join("dangling.md");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(matches!(
            append_no_follow(&dangling, b"x").unwrap_err(),
            WriteError::Symlink { .. }
        ));
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    }

    #[test]
    fn appends_to_a_regular_file_and_refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        append_no_follow(&path, b"a\n").unwrap();
        append_no_follow(&path, b"b\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a\nb\n");
        assert!(matches!(
            append_no_follow(dir.path(), b"x").unwrap_err(),
            WriteError::NotAFile { .. }
        ));
        assert!(matches!(
            write_new_atomic(dir.path(), b"x", Existing::Replace).unwrap_err(),
            WriteError::NotAFile { .. }
        ));
    }
}
