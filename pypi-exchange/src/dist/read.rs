//! Reading one distribution file: its kind, core metadata, size and digests.
//!
//! A file's bytes are read once here; the upload reads them a second time. An sdist is
//! streamed once through a hashing reader while gunzip + tar look for `<dir>/PKG-INFO`, then
//! drained to the end so the digests cover every byte. A wheel gets a central-directory lookup
//! (the end of the file and the `METADATA` member, which is also what installers read) plus one
//! sequential hashing pass. Memory stays bounded by the metadata size, never the file size.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use blake2::Blake2b256;
use sha2::{Digest, Sha256};

use super::error::DistError;
use super::filename::{SDIST_PYVERSION, WheelFilename};
use super::metadata::CoreMetadata;
use super::{sdist, wheel};

/// The largest metadata member read into memory (16 MiB): far above any real `METADATA` (the
/// long description included), small enough that a hostile archive cannot exhaust memory. The
/// bytes are counted as they inflate; a zip entry's declared size is not trusted.
pub(crate) const METADATA_LIMIT: u64 = 16 * 1024 * 1024;

/// What kind of distribution a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistKind {
    /// A wheel, with its parsed filename.
    Wheel(Box<WheelFilename>),
    /// A source distribution (`.tar.gz`).
    Sdist,
}

impl DistKind {
    /// The upload form's `filetype`: `bdist_wheel` or `sdist`.
    pub fn filetype(&self) -> &'static str {
        match self {
            Self::Wheel(_) => "bdist_wheel",
            Self::Sdist => "sdist",
        }
    }

    /// The upload form's `pyversion`: the wheel's python tag, or `source` for an sdist.
    pub fn pyversion(&self) -> &str {
        match self {
            Self::Wheel(wheel) => wheel.pyversion(),
            Self::Sdist => SDIST_PYVERSION,
        }
    }
}

/// Something about an archive's layout that PyPI rejects, found while reading it.
/// [`validate`](super::validate) turns these into problems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveIssue {
    /// The wheel's metadata is not in the `.dist-info` directory PyPI derives from the filename.
    DistInfoMismatch {
        /// The member PyPI reads (`{name}-{version}.dist-info/METADATA`).
        expected: String,
        /// The member the wheel has.
        found: String,
    },
    /// A member PyPI requires is missing (a wheel's `WHEEL` or `RECORD`).
    MissingMember {
        /// The missing member.
        member: String,
    },
    /// A `License-File` is not where PyPI requires it.
    MissingLicenseFile {
        /// The `License-File` value.
        license_file: String,
        /// The member PyPI looks for.
        expected_member: String,
    },
    /// A member uses a compression method other than stored or deflate.
    UnsupportedCompression {
        /// The member.
        member: String,
        /// The compression method's name.
        method: String,
    },
    /// The zip archive has several members with the same name.
    DuplicateMembers,
}

/// One distribution file, read and hashed.
#[derive(Debug, Clone)]
pub struct Distribution {
    /// Where the file is.
    pub path: PathBuf,
    /// Its file name, which is also the name it gets on PyPI.
    pub filename: String,
    /// Wheel or sdist.
    pub kind: DistKind,
    /// Its core metadata.
    pub metadata: CoreMetadata,
    /// The archive member the metadata came from (`x-1.0.dist-info/METADATA`, `x-1.0/PKG-INFO`).
    pub metadata_member: String,
    /// The size in bytes.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// BLAKE2b-256 of the file, lowercase hex.
    pub blake2_256: String,
    /// Layout problems found while reading.
    pub archive_issues: Vec<ArchiveIssue>,
}

impl Distribution {
    /// Reads a wheel (`.whl`) or sdist (`.tar.gz`): checks it is a regular file of the format
    /// its name promises, parses its core metadata and computes its size and digests.
    ///
    /// Blocking: call it from `spawn_blocking` in async code.
    pub fn read(path: &Path) -> Result<Self, DistError> {
        let path_buf = path.to_path_buf();
        let io_error = |cause| DistError::Io {
            path: path_buf.clone(),
            cause,
        };
        let link_meta = fs_err::symlink_metadata(path).map_err(io_error)?;
        let file_type = link_meta.file_type();
        if file_type.is_symlink() {
            return Err(DistError::Symlink { path: path_buf });
        }
        if file_type.is_dir() {
            return Err(DistError::Directory { path: path_buf });
        }
        if !file_type.is_file() {
            return Err(DistError::NotAFile { path: path_buf });
        }
        let filename = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| DistError::FilenameNotUtf8 {
                path: path_buf.clone(),
            })?
            .to_owned();
        let kind = if filename.ends_with(".whl") {
            DistKind::Wheel(Box::new(WheelFilename::parse(&filename).map_err(
                |cause| DistError::WheelFilename {
                    path: path_buf.clone(),
                    cause,
                },
            )?))
        } else if filename.ends_with(".tar.gz") {
            DistKind::Sdist
        } else {
            return Err(DistError::NotADistribution { path: path_buf });
        };

        let mut file = fs_err::File::open(path).map_err(io_error)?;
        // Checked again on the open handle: the path could have been swapped meanwhile.
        let open_meta = file.metadata().map_err(io_error)?;
        if !open_meta.is_file() {
            return Err(DistError::NotAFile { path: path_buf });
        }
        if open_meta.len() == 0 {
            return Err(DistError::Empty { path: path_buf });
        }
        let mut head = Vec::with_capacity(512);
        (&mut file)
            .take(512)
            .read_to_end(&mut head)
            .map_err(io_error)?;
        if head.is_empty() {
            return Err(DistError::Empty { path: path_buf });
        }
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;

        let read = match &kind {
            DistKind::Wheel(name) => {
                if !is_zip(&head) {
                    return Err(DistError::WrongFormat {
                        path: path_buf,
                        expected: "a zip archive (a wheel)",
                        found: describe_content(&head),
                    });
                }
                let contents = wheel::read_metadata(path, &mut file, open_meta.len(), name)?;
                file.seek(SeekFrom::Start(0)).map_err(io_error)?;
                let mut hashing = HashingReader::new(&mut file);
                drain(&mut hashing).map_err(io_error)?;
                (contents, hashing.finish().map_err(io_error)?)
            }
            DistKind::Sdist => {
                if !head.starts_with(&GZIP_MAGIC) {
                    return Err(DistError::WrongFormat {
                        path: path_buf,
                        expected: "a gzip-compressed tar archive (an sdist)",
                        found: describe_content(&head),
                    });
                }
                sdist::read_metadata_and_hash(path, HashingReader::new(&mut file), open_meta.len())?
            }
        };
        let (contents, digests) = read;
        Ok(Self {
            path: path_buf,
            filename,
            kind,
            metadata: contents.metadata,
            metadata_member: contents.member,
            size: digests.size,
            sha256: digests.sha256,
            blake2_256: digests.blake2_256,
            archive_issues: contents.issues,
        })
    }

    /// The upload form's `filetype`: `bdist_wheel` or `sdist`.
    pub fn filetype(&self) -> &'static str {
        self.kind.filetype()
    }

    /// The upload form's `pyversion`: the wheel's python tag, or `source` for an sdist.
    pub fn pyversion(&self) -> &str {
        self.kind.pyversion()
    }

    /// Whether this is a wheel.
    pub fn is_wheel(&self) -> bool {
        matches!(self.kind, DistKind::Wheel(_))
    }
}

/// What reading an archive's metadata produced.
pub(crate) struct ArchiveContents {
    pub(crate) metadata: CoreMetadata,
    pub(crate) member: String,
    pub(crate) issues: Vec<ArchiveIssue>,
}

/// A file's size and digests.
pub(crate) struct Digests {
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) blake2_256: String,
}

/// A reader that hashes (SHA-256 and BLAKE2b-256) and counts every byte read through it.
///
/// The two digests together cost about twice one of them, so SHA-256 runs on a helper thread
/// fed in order (1 MiB blocks through a bounded channel) while BLAKE2b runs on the reading
/// thread: a large wheel is hashed in the time of the slower digest, not of both. Should the
/// thread not start, both digests run inline.
pub(crate) struct HashingReader<R> {
    inner: R,
    sha256: Sha256Worker,
    blake2: Blake2b256,
    size: u64,
}

/// Block size handed to the SHA-256 thread.
const SHA_BLOCK: usize = 1024 * 1024;

enum Sha256Worker {
    Inline(Sha256),
    Thread {
        pending: Vec<u8>,
        sender: std::sync::mpsc::SyncSender<Vec<u8>>,
        handle: std::thread::JoinHandle<Sha256>,
    },
}

impl Sha256Worker {
    fn start() -> Self {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let spawned = std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                for block in receiver {
                    hasher.update(&block);
                }
                hasher
            });
        match spawned {
            Ok(handle) => Self::Thread {
                pending: Vec::with_capacity(SHA_BLOCK),
                sender,
                handle,
            },
            Err(_) => Self::Inline(Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Inline(hasher) => hasher.update(data),
            Self::Thread {
                pending, sender, ..
            } => {
                pending.extend_from_slice(data);
                if pending.len() >= SHA_BLOCK {
                    let block = std::mem::replace(pending, Vec::with_capacity(SHA_BLOCK));
                    if let Err(std::sync::mpsc::SendError(block)) = sender.send(block) {
                        // The thread is gone (it cannot panic on hashing, but be safe): keep
                        // the block; `finish` reports the digest as unavailable.
                        pending.extend_from_slice(&block);
                    }
                }
            }
        }
    }

    fn finish(self) -> Option<[u8; 32]> {
        match self {
            Self::Inline(hasher) => Some(hasher.finalize().into()),
            Self::Thread {
                pending,
                sender,
                handle,
            } => {
                if !pending.is_empty() {
                    sender.send(pending).ok()?;
                }
                drop(sender);
                let hasher = handle.join().ok()?;
                Some(hasher.finalize().into())
            }
        }
    }
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            sha256: Sha256Worker::start(),
            blake2: Blake2b256::new(),
            size: 0,
        }
    }

    pub(crate) fn finish(self) -> io::Result<Digests> {
        let sha256 = self
            .sha256
            .finish()
            .ok_or_else(|| io::Error::other("the SHA-256 hashing thread stopped unexpectedly"))?;
        Ok(Digests {
            size: self.size,
            sha256: hex::encode(sha256),
            blake2_256: hex::encode(self.blake2.finalize()),
        })
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let data = buf.get(..n).unwrap_or_default();
        self.sha256.update(data);
        self.blake2.update(data);
        self.size += n as u64;
        Ok(n)
    }
}

/// Reads `reader` to its end, discarding the bytes, in large chunks.
pub(crate) fn drain<R: Read>(reader: &mut R) -> io::Result<u64> {
    let mut buffer = vec![0; 256 * 1024];
    let mut total = 0;
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn is_zip(head: &[u8]) -> bool {
    // A local file header, or the end-of-central-directory record of an empty archive.
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// A short description of what a file's first bytes look like, for error messages.
pub(crate) fn describe_content(head: &[u8]) -> &'static str {
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let text = text.trim_ascii_start();
    let starts_with_ci = |prefix: &[u8]| {
        text.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    if is_zip(head) {
        "a zip archive"
    } else if head.starts_with(&GZIP_MAGIC) {
        "a gzip-compressed file"
    } else if head.get(257..262) == Some(b"ustar") {
        "an uncompressed tar archive"
    } else if head.starts_with(b"BZh") {
        "a bzip2-compressed file"
    } else if head.starts_with(b"\xfd7zXZ\x00") {
        "an xz-compressed file"
    } else if head.starts_with(b"\x28\xb5\x2f\xfd") {
        "a zstd-compressed file"
    } else if starts_with_ci(b"<!doctype html") || starts_with_ci(b"<html") {
        "an HTML page (often an error page saved in place of the real download)"
    } else if starts_with_ci(b"<?xml") || starts_with_ci(b"<") {
        "an XML or HTML document"
    } else if starts_with_ci(b"version https://git-lfs") {
        "a Git LFS pointer (the real file was never fetched: run `git lfs pull`)"
    } else if text.starts_with(b"{") || text.starts_with(b"[") {
        "a JSON document"
    } else if std::str::from_utf8(head).is_ok() && !head.contains(&0) {
        "a text file"
    } else {
        "unrecognized binary data"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_content_by_magic() {
        assert_eq!(describe_content(b"PK\x03\x04rest"), "a zip archive");
        assert_eq!(describe_content(b"\x1f\x8b\x08"), "a gzip-compressed file");
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(describe_content(&tar), "an uncompressed tar archive");
        assert_eq!(
            describe_content(b"\n  <!DOCTYPE html><html>"),
            "an HTML page (often an error page saved in place of the real download)"
        );
        assert_eq!(
            describe_content(b"<HTML><body>404</body>"),
            "an HTML page (often an error page saved in place of the real download)"
        );
        assert_eq!(
            describe_content(b"{\"message\": \"Not Found\"}"),
            "a JSON document"
        );
        assert_eq!(
            describe_content(b"version https://git-lfs.github.com/spec/v1\n"),
            "a Git LFS pointer (the real file was never fetched: run `git lfs pull`)"
        );
        assert_eq!(describe_content(b"x"), "a text file");
        assert_eq!(describe_content(b"\x00\x01"), "unrecognized binary data");
        assert_eq!(describe_content(b"BZh91AY"), "a bzip2-compressed file");
    }

    #[test]
    fn hashing_reader_matches_known_digests() {
        let mut reader = HashingReader::new(&b"abc"[..]);
        assert_eq!(drain(&mut reader).unwrap(), 3);
        let digests = reader.finish().unwrap();
        assert_eq!(digests.size, 3);
        assert_eq!(
            digests.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digests.blake2_256,
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        );
    }
}
