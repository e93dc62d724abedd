//! `<dist>.publish.attestation` files: where they go, reading one, writing one atomically.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use oidc_core::bounded::read_capped;
use oidc_core::fs::{Existing, WriteError, write_new_atomic};

use super::AttestationError;
use super::object::Attestation;

/// The suffix gh-action-pypi-publish gives a distribution's publish attestation (twine uploads
/// every `<dist>.*.attestation` with its distribution).
pub const PUBLISH_ATTESTATION_SUFFIX: &str = ".publish.attestation";

/// Where the publish attestation of `dist` goes: beside it, `<dist>.publish.attestation`.
///
/// ```
/// # use std::path::Path;
/// use pypi_exchange::attestation::attestation_path;
/// assert_eq!(
///     attestation_path(Path::new("dist/x-1.0.tar.gz")),
///     Path::new("dist/x-1.0.tar.gz.publish.attestation")
/// );
/// ```
pub fn attestation_path(dist: &Path) -> PathBuf {
    let mut path = OsString::from(dist.as_os_str());
    path.push(PUBLISH_ATTESTATION_SUFFIX);
    PathBuf::from(path)
}

/// The largest attestation file read (1 MiB): a real one is a few KiB.
pub const ATTESTATION_LIMIT: u64 = 1024 * 1024;

/// Reads an attestation file (any `*.attestation`, not only publish ones): a regular file, not
/// a symlink (one planted beside a dist could point anywhere, `/dev/zero` included), of at most
/// 1 MiB.
pub fn read_attestation(path: &Path) -> Result<Attestation, AttestationError> {
    let read_error = |reason: String| AttestationError::Read {
        path: path.to_owned(),
        reason,
    };
    if std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()) {
        return Err(read_error(
            "it is a symbolic link; trustpub reads attestations only from regular files: \
             replace the link with the file"
                .to_owned(),
        ));
    }
    let file = fs_err::File::open(path).map_err(|err| read_error(err.to_string()))?;
    let bytes = read_capped(file, ATTESTATION_LIMIT)
        .map_err(|err| read_error(err.to_string()))?
        .ok_or_else(|| {
            read_error(format!(
                "it is larger than {} KiB, which no attestation is",
                ATTESTATION_LIMIT / 1024
            ))
        })?;
    let text = String::from_utf8(bytes).map_err(|_| AttestationError::Malformed {
        path: path.to_owned(),
        reason: "it is not UTF-8 text".to_owned(),
    })?;
    Attestation::from_json(&text).map_err(|err| AttestationError::Malformed {
        path: path.to_owned(),
        reason: err.to_string(),
    })
}

/// Writes `attestation` to [`attestation_path`]`(dist)` and returns that path.
///
/// Through the one writer of files next to the user's ([`oidc_core::fs::write_new_atomic`]):
/// the file appears whole or not at all, a symlink at its name is refused, and an existing
/// file is never replaced: one with the same contents is left as it is (writing again is a
/// no-op), one with other contents is an error.
pub fn write_attestation(
    dist: &Path,
    attestation: &Attestation,
) -> Result<PathBuf, AttestationError> {
    let path = attestation_path(dist);
    let contents = attestation.to_json();
    match write_new_atomic(&path, contents.as_bytes(), Existing::Keep) {
        Ok(_) => Ok(path),
        Err(WriteError::Exists { .. }) => Err(AttestationError::Exists { path }),
        Err(err) => Err(AttestationError::Write {
            path,
            reason: err.reason(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE_ATTESTATION: &str =
        include_str!("../../tests/fixtures/pep740/bundle.publish.attestation");

    fn attestation() -> Attestation {
        Attestation::from_json(REFERENCE_ATTESTATION).unwrap()
    }

    /// Redacts the temporary directory, and a temporary file's random part, out of a message.
    fn redact(message: &str, dir: &Path) -> String {
        let message = message.replace(&dir.display().to_string(), "[dir]");
        match message.split_once(".publish.attestation.") {
            Some((head, tail)) if tail.len() > 6 && tail[6..].starts_with(".tmp") => {
                format!("{head}.publish.attestation.[random]{}", &tail[6..])
            }
            _ => message,
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs_err::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn path_is_beside_the_dist() {
        assert_eq!(
            attestation_path(Path::new("x-1.0-py3-none-any.whl")),
            Path::new("x-1.0-py3-none-any.whl.publish.attestation")
        );
        assert_eq!(
            attestation_path(Path::new("/tmp/dist/x-1.0.tar.gz")),
            Path::new("/tmp/dist/x-1.0.tar.gz.publish.attestation")
        );
    }

    #[test]
    fn writes_reads_and_rewrites_the_same_attestation() {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("sampleproject-4.0.0-py3-none-any.whl");
        let written = write_attestation(&dist, &attestation()).unwrap();
        assert_eq!(written, attestation_path(&dist));
        assert_eq!(
            fs_err::read_to_string(&written).unwrap(),
            REFERENCE_ATTESTATION
        );
        assert_eq!(read_attestation(&written).unwrap(), attestation());
        // Writing the same attestation again is a no-op, and leaves no temporary file behind.
        assert_eq!(write_attestation(&dist, &attestation()).unwrap(), written);
        assert_eq!(
            entries(dir.path()),
            ["sampleproject-4.0.0-py3-none-any.whl.publish.attestation"]
        );
    }

    #[test]
    fn never_replaces_a_different_attestation() {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("sampleproject-4.0.0-py3-none-any.whl");
        fs_err::write(attestation_path(&dist), "{}").unwrap();
        let error = write_attestation(&dist, &attestation()).unwrap_err();
        insta::assert_snapshot!(redact(&error.to_string(), dir.path()), @"[dir]/sampleproject-4.0.0-py3-none-any.whl.publish.attestation already exists and holds a different attestation; trustpub does not overwrite attestation files: delete it to sign this file again, or keep it and upload it as it is");
        assert_eq!(
            fs_err::read_to_string(attestation_path(&dist)).unwrap(),
            "{}"
        );
        assert_eq!(
            entries(dir.path()),
            ["sampleproject-4.0.0-py3-none-any.whl.publish.attestation"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn reads_neither_through_a_symlink_nor_without_a_bound() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("x-1.0.tar.gz.publish.attestation");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let error = read_attestation(&link).unwrap_err();
        insta::assert_snapshot!(redact(&error.to_string(), dir.path()), @"cannot read attestation [dir]/x-1.0.tar.gz.publish.attestation: it is a symbolic link; trustpub reads attestations only from regular files: replace the link with the file");
        let big = dir.path().join("y-1.0.tar.gz.publish.attestation");
        fs_err::write(&big, vec![b' '; ATTESTATION_LIMIT as usize + 1]).unwrap();
        let error = read_attestation(&big).unwrap_err();
        insta::assert_snapshot!(redact(&error.to_string(), dir.path()), @"cannot read attestation [dir]/y-1.0.tar.gz.publish.attestation: it is larger than 1024 KiB, which no attestation is");
    }

    #[test]
    fn reports_write_and_read_failures_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("missing").join("x-1.0.tar.gz");
        let error = write_attestation(&dist, &attestation()).unwrap_err();
        insta::assert_snapshot!(redact(&error.to_string(), dir.path()), @"cannot write attestation [dir]/missing/x-1.0.tar.gz.publish.attestation: cannot create a temporary file beside it: No such file or directory (os error 2) at path \"[dir]/missing/.x-1.0.tar.gz.publish.attestation.[random].tmp\"");

        let missing = dir.path().join("x-1.0.tar.gz.publish.attestation");
        let error = read_attestation(&missing).unwrap_err();
        insta::assert_snapshot!(redact(&error.to_string(), dir.path()), @"cannot read attestation [dir]/x-1.0.tar.gz.publish.attestation: failed to open file `[dir]/x-1.0.tar.gz.publish.attestation`: No such file or directory (os error 2)");

        fs_err::write(&missing, r#"{"version":1}"#).unwrap();
        let error = read_attestation(&missing).unwrap_err();
        insta::assert_snapshot!(redact(&error.to_string(), dir.path()), @"[dir]/x-1.0.tar.gz.publish.attestation is not a PEP 740 attestation: missing field `verification_material` at line 1 column 13");
    }
}
