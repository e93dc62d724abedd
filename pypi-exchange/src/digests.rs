//! The digests gh-action-pypi-publish prints with `print-hash`: SHA-256, MD5 and BLAKE2b-256.
//!
//! SHA-256 and BLAKE2b-256 come from reading the distribution ([`Distribution`]); MD5 (which
//! PyPI no longer needs) is computed here, in one more streaming pass, only when asked for.

use std::io::Read;

use md5::{Digest, Md5};

use crate::dist::Distribution;

/// A distribution's three digests, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    /// SHA-256.
    pub sha256: String,
    /// MD5.
    pub md5: String,
    /// BLAKE2b with a 256-bit digest.
    pub blake2_256: String,
}

/// The digests of `dist` (reads the file once more, in 256 KiB chunks, for MD5).
pub fn file_digests(dist: &Distribution) -> std::io::Result<FileDigests> {
    let mut file = fs_err::File::open(&dist.path)?;
    let mut md5 = Md5::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        md5.update(&buffer[..n]);
    }
    Ok(FileDigests {
        sha256: dist.sha256.clone(),
        md5: hex::encode(md5.finalize()),
        blake2_256: dist.blake2_256.clone(),
    })
}
