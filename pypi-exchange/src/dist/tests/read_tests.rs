//! `Distribution::read` on real archives, good and broken.

use std::path::Path;

use blake2::Blake2b256;
use sha2::{Digest, Sha256};

use super::fixtures::{
    Member, metadata, tar_gz_bytes, wheel_members, write_sdist, write_tar_gz, write_wheel,
    write_zip, zip_bytes,
};
use crate::dist::{ArchiveIssue, DistError, DistKind, Distribution, MetadataVersion};

/// The error text with the temporary directory replaced by `<dir>`.
fn read_error(dir: &Path, path: &Path) -> String {
    let error = Distribution::read(path).unwrap_err();
    assert_eq!(error.path(), path);
    error
        .to_string()
        .replace(&dir.display().to_string(), "<dir>")
}

fn assert_digests(dist: &Distribution) {
    let bytes = fs_err::read(&dist.path).unwrap();
    assert_eq!(dist.size, bytes.len() as u64);
    assert_eq!(dist.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(dist.blake2_256, hex::encode(Blake2b256::digest(&bytes)));
}

#[test]
fn reads_a_wheel_with_metadata_2_5() {
    let dir = tempfile::tempdir().unwrap();
    let text = metadata(
        "2.5",
        "Friendly.Bard",
        "1.0",
        "Summary: Sings\nImport-Name: friendly_bard\nImport-Namespace: bards\n\
         Requires-Dist: rich\nRequires-Dist: click>=8\n\
         Description-Content-Type: text/markdown\n\n# Friendly Bard ✓\n",
    );
    let path = write_wheel(dir.path(), "friendly_bard-1.0-py3-none-any.whl", &text);
    let dist = Distribution::read(&path).unwrap();
    assert_eq!(dist.filename, "friendly_bard-1.0-py3-none-any.whl");
    assert_eq!(dist.filetype(), "bdist_wheel");
    assert_eq!(dist.pyversion(), "py3");
    assert!(matches!(&dist.kind, DistKind::Wheel(w) if w.name == "friendly_bard"));
    assert_eq!(dist.metadata_member, "friendly_bard-1.0.dist-info/METADATA");
    assert_eq!(dist.metadata.metadata_version, MetadataVersion::V2_5);
    assert_eq!(dist.metadata.name.as_deref(), Some("Friendly.Bard"));
    assert_eq!(dist.metadata.import_names, ["friendly_bard"]);
    assert_eq!(dist.metadata.import_namespaces, ["bards"]);
    assert_eq!(dist.metadata.requires_dist, ["rich", "click>=8"]);
    assert_eq!(
        dist.metadata.description.as_deref(),
        Some("# Friendly Bard ✓\n")
    );
    assert!(dist.archive_issues.is_empty(), "{:?}", dist.archive_issues);
    assert_digests(&dist);
}

#[test]
fn reads_an_sdist_in_one_pass_and_hashes_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    // Incompressible data larger than any internal buffer, so the stream really is streamed.
    let mut noise = vec![0u8; 3 * 1024 * 1024 + 17];
    let mut state: u32 = 0x1234_5678;
    for byte in &mut noise {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *byte = state.to_le_bytes()[0];
    }
    let pkg_info = metadata(
        "2.4",
        "x",
        "1.0",
        "License-File: LICENSE\n\nA description.\n",
    );
    let path = write_tar_gz(
        dir.path(),
        "x-1.0.tar.gz",
        &[
            Member::PaxGlobal(b"52 comment=4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"),
            Member::Dir("./x-1.0"),
            Member::File("./x-1.0/data.bin", &noise),
            Member::File("./x-1.0/LICENSE", b"MIT"),
            Member::File("./x-1.0/PKG-INFO", pkg_info.as_bytes()),
            Member::File("./x-1.0/src/x/PKG-INFO", b"not the top-level one"),
        ],
    );
    let dist = Distribution::read(&path).unwrap();
    assert_eq!(dist.kind, DistKind::Sdist);
    assert_eq!(dist.filetype(), "sdist");
    assert_eq!(dist.pyversion(), "source");
    assert_eq!(dist.metadata_member, "x-1.0/PKG-INFO");
    assert_eq!(
        dist.metadata.description.as_deref(),
        Some("A description.\n")
    );
    assert!(dist.archive_issues.is_empty(), "{:?}", dist.archive_issues);
    assert_digests(&dist);
}

#[test]
fn bytes_after_the_gzip_stream_are_hashed_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sdist(dir.path(), "x-1.0.tar.gz", &metadata("2.1", "x", "1.0", ""));
    // A second gzip member holding only padding is still a valid .tar.gz.
    let mut bytes = fs_err::read(&path).unwrap();
    bytes.extend(tar_gz_bytes(&[]));
    fs_err::write(&path, &bytes).unwrap();
    let dist = Distribution::read(&path).unwrap();
    assert_digests(&dist);
}

#[test]
fn wheel_layout_problems_are_recorded_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let text = metadata(
        "2.4",
        "x",
        "1.0",
        "License-File: LICENSE\nLicense-File: NOTICE\n",
    );
    let mut members = wheel_members("X-1.0.dist-info", &text);
    members.retain(|(name, _)| !name.ends_with("RECORD"));
    members.push(("X-1.0.dist-info/licenses/LICENSE".into(), b"MIT".to_vec()));
    let path = write_zip(dir.path(), "x-1.0-py3-none-any.whl", &members);
    let dist = Distribution::read(&path).unwrap();
    assert_eq!(dist.metadata_member, "X-1.0.dist-info/METADATA");
    assert_eq!(
        dist.archive_issues,
        [
            ArchiveIssue::DistInfoMismatch {
                expected: "x-1.0.dist-info/METADATA".into(),
                found: "X-1.0.dist-info/METADATA".into()
            },
            ArchiveIssue::MissingMember {
                member: "X-1.0.dist-info/RECORD".into()
            },
            ArchiveIssue::MissingLicenseFile {
                license_file: "NOTICE".into(),
                expected_member: "X-1.0.dist-info/licenses/NOTICE".into()
            },
        ]
    );
}

#[test]
fn sdist_license_files_must_be_in_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let text = metadata("2.4", "x", "1.0", "License-File: LICENSE\n");
    let path = write_sdist(dir.path(), "x-1.0.tar.gz", &text);
    let dist = Distribution::read(&path).unwrap();
    assert_eq!(
        dist.archive_issues,
        [ArchiveIssue::MissingLicenseFile {
            license_file: "LICENSE".into(),
            expected_member: "x-1.0/LICENSE".into()
        }]
    );
    // Before Metadata 2.4 License-File is not sent, so nothing is required.
    let text = metadata("2.1", "x", "1.0", "License-File: LICENSE\n");
    let path = write_sdist(dir.path(), "x-1.0.tar.gz", &text);
    assert!(Distribution::read(&path).unwrap().archive_issues.is_empty());
}

#[test]
fn unsupported_compression_and_duplicate_members_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let members = wheel_members("x-1.0.dist-info", &metadata("2.1", "x", "1.0", ""));
    let members: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let mut bytes = zip_bytes(&members);
    // Mark pkg/__init__.py as bzip2 (method 12) in both its local and central headers.
    let name = b"pkg/__init__.py";
    for (signature, method_at, name_at) in [(b"PK\x03\x04", 8, 30), (b"PK\x01\x02", 10, 46)] {
        let at = (0..bytes.len() - name_at - name.len())
            .find(|&i| bytes[i..].starts_with(signature) && bytes[i + name_at..].starts_with(name))
            .unwrap();
        bytes[at + method_at..at + method_at + 2].copy_from_slice(&12u16.to_le_bytes());
    }
    let path = dir.path().join("x-1.0-py3-none-any.whl");
    fs_err::write(&path, &bytes).unwrap();
    let dist = Distribution::read(&path).unwrap();
    assert_eq!(
        dist.archive_issues,
        [ArchiveIssue::UnsupportedCompression {
            member: "pkg/__init__.py".into(),
            method: "Bzip2".into()
        }]
    );
}

#[test]
fn metadata_version_2_0_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_wheel(
        dir.path(),
        "x-1.0-py3-none-any.whl",
        &metadata("2.0", "x", "1.0", ""),
    );
    insta::assert_snapshot!(read_error(dir.path(), &path), @"<dir>/x-1.0-py3-none-any.whl: x-1.0.dist-info/METADATA: Metadata-Version 2.0 is not accepted by PyPI (2.0 was never a released specification); rebuild the distribution with a current build backend, which writes 2.1 or later");
}

#[test]
fn non_utf8_metadata_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pkg_info = b"Metadata-Version: 2.1\nName: x\nVersion: 1.0\nAuthor: Jos\xe9\n";
    let path = write_tar_gz(
        dir.path(),
        "x-1.0.tar.gz",
        &[Member::File("x-1.0/PKG-INFO", pkg_info)],
    );
    insta::assert_snapshot!(read_error(dir.path(), &path), @"<dir>/x-1.0.tar.gz: x-1.0/PKG-INFO: metadata is not valid UTF-8 (first bad byte on line 4); core metadata must be UTF-8: rebuild the distribution with a current build backend");
}

#[test]
fn corrupt_wheels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = write_wheel(
        d,
        "x-1.0-py3-none-any.whl",
        &metadata("2.1", "x", "1.0", ""),
    );
    let bytes = fs_err::read(&good).unwrap();

    let truncated = d.join("truncated-1.0-py3-none-any.whl");
    fs_err::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    insta::assert_snapshot!(read_error(d, &truncated), @"<dir>/truncated-1.0-py3-none-any.whl: is not a readable zip archive (invalid Zip archive: Could not find EOCD); the wheel is truncated or corrupt, build it again or download it again");

    let garbage = d.join("garbage-1.0-py3-none-any.whl");
    let mut noise = b"PK\x03\x04".to_vec();
    noise.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    fs_err::write(&garbage, &noise).unwrap();
    assert!(matches!(
        Distribution::read(&garbage),
        Err(DistError::CorruptZip { .. })
    ));

    let tar = d.join("tar-1.0-py3-none-any.whl");
    let mut tar_bytes = vec![0u8; 1024];
    tar_bytes[..9].copy_from_slice(b"x/PKG-INF");
    tar_bytes[257..263].copy_from_slice(b"ustar\0");
    fs_err::write(&tar, &tar_bytes).unwrap();
    insta::assert_snapshot!(read_error(d, &tar), @"<dir>/tar-1.0-py3-none-any.whl: is not a zip archive (a wheel), its content looks like an uncompressed tar archive; build the distribution again or download it again");

    let html = d.join("html-1.0-py3-none-any.whl");
    fs_err::write(
        &html,
        "<!DOCTYPE html>\n<html><body>Not Found</body></html>",
    )
    .unwrap();
    insta::assert_snapshot!(read_error(d, &html), @"<dir>/html-1.0-py3-none-any.whl: is not a zip archive (a wheel), its content looks like an HTML page (often an error page saved in place of the real download); build the distribution again or download it again");

    let sdist_as_wheel = d.join("gz-1.0-py3-none-any.whl");
    fs_err::write(&sdist_as_wheel, tar_gz_bytes(&[])).unwrap();
    insta::assert_snapshot!(read_error(d, &sdist_as_wheel), @"<dir>/gz-1.0-py3-none-any.whl: is not a zip archive (a wheel), its content looks like a gzip-compressed file; build the distribution again or download it again");

    let no_metadata = write_zip(
        d,
        "nometa-1.0-py3-none-any.whl",
        &[("pkg/__init__.py".into(), b"".to_vec())],
    );
    insta::assert_snapshot!(read_error(d, &no_metadata), @"<dir>/nometa-1.0-py3-none-any.whl: has no nometa-1.0.dist-info/METADATA (no *.dist-info/METADATA at all), so it is not a complete wheel; build it again with a standard build backend");

    let two = write_zip(
        d,
        "two-1.0-py3-none-any.whl",
        &[
            ("a-1.0.dist-info/METADATA".into(), b"".to_vec()),
            ("b-1.0.dist-info/METADATA".into(), b"".to_vec()),
        ],
    );
    insta::assert_snapshot!(read_error(d, &two), @"<dir>/two-1.0-py3-none-any.whl: has several metadata files (a-1.0.dist-info/METADATA, b-1.0.dist-info/METADATA) and none is two-1.0.dist-info/METADATA, the one PyPI reads; build the wheel again");

    let one_byte = d.join("one-1.0-py3-none-any.whl");
    fs_err::write(&one_byte, b"P").unwrap();
    insta::assert_snapshot!(read_error(d, &one_byte), @"<dir>/one-1.0-py3-none-any.whl: is not a zip archive (a wheel), its content looks like a text file; build the distribution again or download it again");

    let bad_name = write_zip(
        d,
        "bad.whl",
        &wheel_members("bad.dist-info", &metadata("2.1", "x", "1.0", "")),
    );
    insta::assert_snapshot!(read_error(d, &bad_name), @"<dir>/bad.whl: 'bad.whl' is not a wheel filename: expected {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl with no '-' inside a part, found 1 parts; rebuild the wheel with a current build backend");
}

#[test]
fn huge_metadata_is_refused_before_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut huge = metadata("2.1", "x", "1.0", "\n").into_bytes();
    huge.resize(33 * 1024 * 1024, b'a');
    let path = write_zip(
        dir.path(),
        "x-1.0-py3-none-any.whl",
        &[("x-1.0.dist-info/METADATA".into(), huge)],
    );
    insta::assert_snapshot!(read_error(dir.path(), &path), @"<dir>/x-1.0-py3-none-any.whl: x-1.0.dist-info/METADATA is larger than 16 MiB; that is not plausible core metadata, check the build (a huge README?)");
}

#[test]
fn corrupt_sdists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg_info = metadata("2.1", "x", "1.0", "");
    let good = write_sdist(d, "x-1.0.tar.gz", &pkg_info);
    let bytes = fs_err::read(&good).unwrap();

    let truncated = d.join("truncated-1.0.tar.gz");
    fs_err::write(&truncated, &bytes[..bytes.len() - 30]).unwrap();
    let error = read_error(d, &truncated);
    assert!(
        error.starts_with(
            "<dir>/truncated-1.0.tar.gz: is not a readable .tar.gz (it ends too early"
        ),
        "{error}"
    );
    assert!(
        error.ends_with("the sdist is truncated or corrupt, build it again or download it again")
    );

    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    for byte in &mut flipped[middle..middle + 8] {
        *byte ^= 0x5a;
    }
    let flipped_path = d.join("flipped-1.0.tar.gz");
    fs_err::write(&flipped_path, &flipped).unwrap();
    assert!(matches!(
        Distribution::read(&flipped_path),
        Err(DistError::CorruptTarGz { .. })
    ));

    let no_pkg_info = write_tar_gz(
        d,
        "nopkg-1.0.tar.gz",
        &[Member::File("nopkg-1.0/setup.py", b"")],
    );
    insta::assert_snapshot!(read_error(d, &no_pkg_info), @"<dir>/nopkg-1.0.tar.gz: has no PKG-INFO in its top-level directory, which PyPI requires; build the sdist with a standard build backend (e.g. `python -m build --sdist`)");

    let nested_only = write_tar_gz(
        d,
        "nested-1.0.tar.gz",
        &[Member::File("nested-1.0/src/PKG-INFO", pkg_info.as_bytes())],
    );
    assert!(matches!(
        Distribution::read(&nested_only),
        Err(DistError::NoPkgInfo { .. })
    ));

    let two = write_tar_gz(
        d,
        "two-1.0.tar.gz",
        &[
            Member::File("a-1.0/PKG-INFO", pkg_info.as_bytes()),
            Member::File("b-1.0/PKG-INFO", pkg_info.as_bytes()),
        ],
    );
    insta::assert_snapshot!(read_error(d, &two), @"<dir>/two-1.0.tar.gz: has 2 top-level PKG-INFO files (a-1.0/PKG-INFO, b-1.0/PKG-INFO); an sdist has exactly one, build it again");

    let spread = write_tar_gz(
        d,
        "spread-1.0.tar.gz",
        &[
            Member::File("spread-1.0/PKG-INFO", pkg_info.as_bytes()),
            Member::File("setup.py", b""),
            Member::File("._spread-1.0", b""),
        ],
    );
    insta::assert_snapshot!(read_error(d, &spread), @"<dir>/spread-1.0.tar.gz: has 3 top-level members (._spread-1.0, setup.py, spread-1.0); an sdist holds everything in one `{name}-{version}/` directory, build it again");

    let link = write_tar_gz(
        d,
        "link-1.0.tar.gz",
        &[Member::Symlink("link-1.0/PKG-INFO", "/etc/passwd")],
    );
    insta::assert_snapshot!(read_error(d, &link), @"<dir>/link-1.0.tar.gz: link-1.0/PKG-INFO is not a regular file (a link or directory); build the distribution again");

    let escaping = write_tar_gz(
        d,
        "escape-1.0.tar.gz",
        &[Member::File("escape-1.0/PKG-INFO", pkg_info.as_bytes())],
    );
    // Rewrite the member name to climb out of the archive (same length, checksum fixed up).
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&fs_err::read(&escaping).unwrap()[..]),
        &mut raw,
    )
    .unwrap();
    raw[..19].copy_from_slice(b"../escape1/PKG-INFO");
    let mut header = tar::Header::new_old();
    header.as_mut_bytes().copy_from_slice(&raw[..512]);
    header.set_cksum();
    raw[..512].copy_from_slice(header.as_bytes());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &raw).unwrap();
    fs_err::write(&escaping, encoder.finish().unwrap()).unwrap();
    insta::assert_snapshot!(read_error(d, &escaping), @r#"<dir>/escape-1.0.tar.gz: is not a readable .tar.gz (member "../escape1/PKG-INFO" points outside the archive directory); the sdist is truncated or corrupt, build it again or download it again"#);

    let zip_as_sdist = d.join("zip-1.0.tar.gz");
    fs_err::write(&zip_as_sdist, zip_bytes(&[("a", b"b")])).unwrap();
    insta::assert_snapshot!(read_error(d, &zip_as_sdist), @"<dir>/zip-1.0.tar.gz: is not a gzip-compressed tar archive (an sdist), its content looks like a zip archive; build the distribution again or download it again");

    let gz_not_tar = d.join("gz-1.0.tar.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, b"just some text, not a tar archive").unwrap();
    fs_err::write(&gz_not_tar, encoder.finish().unwrap()).unwrap();
    assert!(matches!(
        Distribution::read(&gz_not_tar),
        Err(DistError::CorruptTarGz { .. })
    ));
}

#[test]
fn files_that_are_not_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = d.join("empty-1.0.tar.gz");
    fs_err::write(&empty, b"").unwrap();
    insta::assert_snapshot!(read_error(d, &empty), @"<dir>/empty-1.0.tar.gz: is empty (0 bytes); the build or the download did not finish, build or download it again");

    let directory = d.join("x-1.0-py3-none-any.whl");
    fs_err::create_dir(&directory).unwrap();
    insta::assert_snapshot!(read_error(d, &directory), @"<dir>/x-1.0-py3-none-any.whl: is a directory, not a distribution file; remove it or pass the files inside it");

    let target = write_sdist(d, "real-1.0.tar.gz", &metadata("2.1", "real", "1.0", ""));
    let link = d.join("link-1.0.tar.gz");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    insta::assert_snapshot!(read_error(d, &link), @"<dir>/link-1.0.tar.gz: is a symbolic link; trustpub does not follow links among distributions, pass the file it points to instead");

    let missing = d.join("missing-1.0.tar.gz");
    insta::assert_snapshot!(read_error(d, &missing), @"failed to query raw metadata `<dir>/missing-1.0.tar.gz`: No such file or directory (os error 2); check that the file exists and is readable");

    let fifo = d.join("fifo-1.0.tar.gz");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    insta::assert_snapshot!(read_error(d, &fifo), @"<dir>/fifo-1.0.tar.gz: is not a regular file (a device, FIFO or socket); pass a built distribution file");

    let other = d.join("notes.txt");
    fs_err::write(&other, b"hello").unwrap();
    insta::assert_snapshot!(read_error(d, &other), @"<dir>/notes.txt: is neither a wheel (.whl) nor an sdist (.tar.gz), the only formats PyPI accepts");
}
