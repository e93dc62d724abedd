//! MD5 (RFC 1321, RustCrypto's `md-5`), only to check an upload's optional `md5_digest` field the way
//! Warehouse still does. Not for anything security-related.

use std::io::Read;
use std::path::Path;

use ::md5::{Digest as _, Md5};

/// Hex MD5 of a file (run it off the async runtime).
pub(crate) fn md5_file_hex(path: &Path) -> std::io::Result<String> {
    let mut file = fs_err::File::open(path)?;
    let mut md5 = Md5::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        md5.update(&buffer[..read]);
    }
    Ok(hex::encode(md5.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5_hex(data: &[u8]) -> String {
        let mut md5 = Md5::new();
        md5.update(data);
        hex::encode(md5.finalize())
    }

    #[test]
    fn rfc_1321_test_suite() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"a"), "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(b"message digest"),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert_eq!(
            md5_hex(b"abcdefghijklmnopqrstuvwxyz"),
            "c3fcd3d76192e4007dfb496cca67e13b"
        );
        assert_eq!(
            md5_hex(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn files_hash_like_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // Larger than the 1 MiB read buffer, so the file is hashed in more than one update.
        let data: Vec<u8> = (0..(3 << 19) + 5).map(|i: u32| (i * 7) as u8).collect();
        fs_err::write(&path, &data).unwrap();
        assert_eq!(md5_file_hex(&path).unwrap(), md5_hex(&data));
        fs_err::write(&path, b"abc").unwrap();
        assert_eq!(
            md5_file_hex(&path).unwrap(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    #[test]
    fn incremental_updates_agree() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut md5 = Md5::new();
        for chunk in data.chunks(13) {
            md5.update(chunk);
        }
        assert_eq!(hex::encode(md5.finalize()), md5_hex(&data));
    }
}
