//! Bounded reads of untrusted archives: a member read into memory is capped, and a compressed
//! stream may not inflate beyond a ratio of the file it came from.
//!
//! A 600 KB `.tgz` can inflate to 600 MB; a zip entry can declare 10 bytes and inflate to
//! gigabytes. Nothing declared is trusted: the bytes are counted as they come out of the
//! decompressor.
//!
//! ```
//! use oidc_core::bounded::{InflationGuard, InflationLimit, read_capped};
//! use std::io::Read;
//!
//! // A member: at most 8 bytes, whatever its header said.
//! assert_eq!(read_capped(&b"short"[..], 8).unwrap(), Some(b"short".to_vec()));
//! assert_eq!(read_capped(&b"far too long"[..], 8).unwrap(), None);
//!
//! // A stream: 1 KiB of compressed file may inflate to at most max(floor, ratio x 1 KiB).
//! let limit = InflationLimit { floor: 4096, ratio: 2 };
//! let (mut guarded, guard) = InflationGuard::wrap(&[0u8; 5000][..], limit.max_inflated(1024));
//! let mut sink = Vec::new();
//! assert!(guarded.read_to_end(&mut sink).is_err());
//! assert!(guard.tripped());
//! ```

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How far a compressed stream may inflate: `max(floor, ratio x compressed size)` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflationLimit {
    /// Inflated bytes always allowed, whatever the ratio.
    pub floor: u64,
    /// Inflated bytes allowed per compressed byte above the floor.
    pub ratio: u64,
}

impl InflationLimit {
    /// PyPI's own zip-bomb rule (Warehouse rejects a dist whose contents exceed 64 MiB *and*
    /// 50 times its size): a file that passes here is not refused there for its ratio.
    pub const PYPI: Self = Self {
        floor: 64 * 1024 * 1024,
        ratio: 50,
    };

    /// For npm tarballs: the registry has no ratio rule, so a more generous one (256 MiB, then
    /// 100 times the tarball) that real packages never reach and a bomb always does.
    pub const NPM: Self = Self {
        floor: 256 * 1024 * 1024,
        ratio: 100,
    };

    /// The most bytes a file of `compressed` bytes may inflate to.
    pub fn max_inflated(&self, compressed: u64) -> u64 {
        self.floor.max(compressed.saturating_mul(self.ratio))
    }
}

/// Shared flag telling whether an [`InflationGuard`] stopped a stream, so that a caller can
/// tell "over the limit" from any other error however the archive reader wrapped it.
#[derive(Debug, Clone, Default)]
pub struct Tripped(Arc<AtomicBool>);

impl Tripped {
    /// Whether the guard stopped the stream.
    pub fn tripped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A reader (put it right after the decompressor) that fails once more than `max` bytes came
/// through it.
#[derive(Debug)]
pub struct InflationGuard<R> {
    inner: R,
    count: u64,
    max: u64,
    tripped: Tripped,
}

impl<R: Read> InflationGuard<R> {
    /// Wraps `inner`; the returned [`Tripped`] reports whether the limit was hit.
    pub fn wrap(inner: R, max: u64) -> (Self, Tripped) {
        let tripped = Tripped::default();
        (
            Self {
                inner,
                count: 0,
                max,
                tripped: tripped.clone(),
            },
            tripped,
        )
    }

    /// The bytes read through so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for InflationGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count = self.count.saturating_add(n as u64);
        if self.count > self.max {
            self.tripped.0.store(true, Ordering::Relaxed);
            return Err(io::Error::other(format!(
                "the compressed data inflates beyond {} bytes",
                self.max
            )));
        }
        Ok(n)
    }
}

/// Reads `reader` to its end if that is at most `cap` bytes: `Ok(None)` when it is longer (at
/// most `cap + 1` bytes are read). The buffer grows with what actually arrives, never with what
/// a header declared.
pub fn read_capped<R: Read>(reader: R, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Ok(None);
    }
    bytes.shrink_to_fit();
    Ok(Some(bytes))
}

/// Reads a text file of at most `cap` bytes (a configuration file, an event payload, a trust
/// root): larger is an error naming the file and the cap, never an unbounded read (a FIFO or a
/// device at the path cannot exhaust memory; the size is not taken from metadata).
pub fn read_text_file(path: &std::path::Path, cap: u64) -> io::Result<String> {
    let file = fs_err::File::open(path)?;
    let bytes = read_capped(file, cap)?.ok_or_else(|| {
        io::Error::other(format!("{} is larger than {cap} bytes", path.display()))
    })?;
    String::from_utf8(bytes).map_err(|err| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not UTF-8 text: {err}", path.display()),
        )
    })
}

/// The most [`crate::Environment::read_to_string`] reads from a file (GitHub's event payload
/// is the largest: a few MiB for a big push).
pub const ENV_FILE_CAP: u64 = 64 * 1024 * 1024;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_files_are_read_up_to_their_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, "0123456789").unwrap();
        assert_eq!(read_text_file(&path, 10).unwrap(), "0123456789");
        let err = read_text_file(&path, 9).unwrap_err().to_string();
        assert!(err.contains("is larger than 9 bytes"), "{err}");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        let err = read_text_file(&path, 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn limits_follow_the_floor_then_the_ratio() {
        assert_eq!(InflationLimit::PYPI.max_inflated(1), 64 * 1024 * 1024);
        assert_eq!(
            InflationLimit::PYPI.max_inflated(10 * 1024 * 1024),
            500 * 1024 * 1024
        );
        assert_eq!(InflationLimit::NPM.max_inflated(u64::MAX), u64::MAX);
    }

    #[test]
    fn the_guard_lets_exactly_the_limit_through() {
        let (mut guarded, tripped) = InflationGuard::wrap(&[1u8; 100][..], 100);
        let mut out = Vec::new();
        guarded.read_to_end(&mut out).unwrap();
        assert_eq!(
            (out.len(), guarded.count(), tripped.tripped()),
            (100, 100, false)
        );
        let (mut guarded, tripped) = InflationGuard::wrap(&[1u8; 101][..], 100);
        assert!(guarded.read_to_end(&mut Vec::new()).is_err());
        assert!(tripped.tripped());
    }

    #[test]
    fn read_capped_stops_one_byte_past_the_cap() {
        assert_eq!(read_capped(&[7u8; 4][..], 4).unwrap(), Some(vec![7; 4]));
        let mut long = &[7u8; 100][..];
        assert_eq!(read_capped(&mut long, 4).unwrap(), None);
        assert_eq!(long.len(), 95, "reads at most cap + 1 bytes");
    }
}
