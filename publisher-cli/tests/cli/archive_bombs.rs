//! Hostile archives through the compiled binary: a tarball or wheel that inflates to hundreds of
//! megabytes fails cleanly (exit 4, the file, the member and the cap named) with a small peak
//! RSS, before any network traffic.
//!
//! Peak RSS is the children's `ru_maxrss` (getrusage `RUSAGE_CHILDREN`), which counts every
//! child the process ever waited for. The `cli` test binary runs all the CLI tests, many of
//! which start large children (node, cargo, Python), so each test here runs again in a process
//! of its own ([`in_own_process`]) where trustpub is the only child: right after a run the
//! value is the largest peak of that run and the ones before it in the same test, each of
//! which was checked the same way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;

/// The ceiling issue #11 sets for a bomb: 64 MiB.
const RSS_CEILING_KIB: i64 = 64 * 1024;

/// 600 MB of spaces (valid JSON whitespace) compress to about 600 KB.
const BOMB_BYTES: u64 = 600 * 1000 * 1000;

/// Streams `len` bytes of `byte` into `out` in 1 MiB chunks.
fn write_repeated(out: &mut impl Write, byte: u8, len: u64) {
    let chunk = vec![byte; 1024 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
}

/// `pkg.tgz` whose `package/package.json` is `{` + 600 MB of spaces + `"name":"bomb"...}`.
fn tgz_bomb(dir: &Path) -> PathBuf {
    let path = dir.join("bomb-1.0.0.tgz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::best(),
    );
    let mut tar = tar::Builder::new(gz);
    let head = b"{";
    let tail = br#""name":"bomb","version":"1.0.0"}"#;
    let size = head.len() as u64 + BOMB_BYTES + tail.len() as u64;
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    // A reader that yields the member lazily, so the test never holds 600 MB either.
    let body = std::io::Read::chain(
        std::io::Read::chain(&head[..], std::io::repeat(b' ').take_bytes(BOMB_BYTES)),
        &tail[..],
    );
    tar.append_data(&mut header, "package/package.json", body)
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    path
}

trait TakeBytes: std::io::Read + Sized {
    fn take_bytes(self, n: u64) -> std::io::Take<Self> {
        std::io::Read::take(self, n)
    }
}
impl<R: std::io::Read> TakeBytes for R {}

/// A wheel whose METADATA inflates to 600 MB. With `lie`, the zip's declared sizes (local
/// header and central directory) say 100 bytes, so only counting the inflated bytes stops it.
fn wheel_bomb(dir: &Path, lie: bool) -> PathBuf {
    let path = dir.join("bomb-1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    zip.start_file("bomb-1.0.dist-info/METADATA", deflated)
        .unwrap();
    let head = b"Metadata-Version: 2.1\nName: bomb\nVersion: 1.0\n\n";
    zip.write_all(head).unwrap();
    write_repeated(&mut zip, b'a', BOMB_BYTES);
    for (member, text) in [
        ("bomb-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"),
        ("bomb-1.0.dist-info/RECORD", ""),
    ] {
        zip.start_file(member, deflated).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    if lie {
        let mut bytes = std::fs::read(&path).unwrap();
        let name = b"bomb-1.0.dist-info/METADATA";
        let declared = (BOMB_BYTES as u32 + head.len() as u32).to_le_bytes();
        let mut patched = 0;
        for at in 0..bytes.len().saturating_sub(46) {
            // Local file header: size at 22; central directory header: size at 24.
            let (size_at, name_at) = match &bytes[at..at + 4] {
                b"PK\x03\x04" => (22, 30),
                b"PK\x01\x02" => (24, 46),
                _ => continue,
            };
            if bytes.get(at + name_at..at + name_at + name.len()) == Some(&name[..])
                && bytes[at + size_at..at + size_at + 4] == declared
            {
                bytes[at + size_at..at + size_at + 4].copy_from_slice(&100u32.to_le_bytes());
                patched += 1;
            }
        }
        assert_eq!(patched, 2, "both declared sizes of METADATA were rewritten");
        std::fs::write(&path, bytes).unwrap();
    }
    path
}

/// Set in the process a bomb test runs in (see [`in_own_process`]).
const OWN_PROCESS: &str = "TRUSTPUB_TEST_OWN_PROCESS";

/// Runs the test `name` of this module again, alone, in a new process of this test binary and
/// asserts that it passed; returns `true` then (the caller is done). Returns `false` in that
/// process, where the test does its work with trustpub as the process's only child.
async fn in_own_process(name: &str) -> bool {
    if std::env::var_os(OWN_PROCESS).is_some() {
        return false;
    }
    // `cli::archive_bombs` -> `archive_bombs::<name>`, as libtest names the test.
    let module = module_path!().split_once("::").unwrap().1;
    let test = format!("{module}::{name}");
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([test.as_str(), "--exact", "--test-threads=1", "--nocapture"])
        .env(OWN_PROCESS, "1")
        .output()
        .await
        .unwrap();
    let text = format!("{}\n{}", stdout(&output), stderr(&output));
    assert!(
        output.status.success(),
        "{test} in its own process:\n{text}"
    );
    assert!(
        text.contains("test result: ok. 1 passed"),
        "{test} ran in its own process:\n{text}"
    );
    true
}

fn max_child_rss_kib() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .unwrap()
        .max_rss()
}

fn assert_small(path: &Path) {
    let size = std::fs::metadata(path).unwrap().len();
    assert!(
        size < 2 * 1024 * 1024,
        "the bomb is small on disk: {size} bytes"
    );
}

/// Nothing listens on port 1: any network attempt would fail with another exit code.
const NOWHERE: &str = "https://127.0.0.1:1/";

#[tokio::test]
async fn a_tgz_whose_package_json_inflates_to_600_mb_fails_cleanly() {
    if in_own_process("a_tgz_whose_package_json_inflates_to_600_mb_fails_cleanly").await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bomb = tgz_bomb(dir.path());
    assert_small(&bomb);
    let output = trustpub(
        &[
            "npm",
            "publish",
            "--registry",
            NOWHERE,
            "--token",
            "npm_unused",
            bomb.to_str().unwrap(),
        ],
        &Default::default(),
        dir.path(),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{err}");
    assert!(
        err.contains("bomb-1.0.0.tgz: package/package.json is larger than 2048 KiB"),
        "{err}"
    );
    let rss = max_child_rss_kib();
    assert!(rss < RSS_CEILING_KIB, "peak RSS {rss} KiB");
}

#[tokio::test]
async fn a_wheel_with_a_metadata_zip_bomb_fails_cleanly() {
    if in_own_process("a_wheel_with_a_metadata_zip_bomb_fails_cleanly").await {
        return;
    }
    for lie in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let bomb = wheel_bomb(dir.path(), lie);
        assert_small(&bomb);
        let output = trustpub(
            &[
                "pypi",
                "upload",
                "--repository-url",
                NOWHERE,
                "--password",
                "pypi-unused",
                bomb.to_str().unwrap(),
            ],
            &Default::default(),
            dir.path(),
        )
        .await;
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(4), "lie={lie}: {err}");
        let expected = if lie {
            // The declared 100 bytes are not believed: inflating stops past them (the zip
            // reader counts against the declared size; our own cap would stop it at 16 MiB).
            "bomb-1.0-py3-none-any.whl: is not a readable zip archive (i/o error: File is larger than its declared uncompressed size)"
        } else {
            // PyPI's own zip-bomb rule, on the declared sizes, before inflating anything.
            "bomb-1.0-py3-none-any.whl: the wheel (by its declared member sizes) inflates to more than 64 MiB"
        };
        assert!(err.contains(expected), "lie={lie}: {err}");
        let rss = max_child_rss_kib();
        assert!(rss < RSS_CEILING_KIB, "lie={lie}: peak RSS {rss} KiB");
    }
}

#[tokio::test]
async fn an_sdist_gzip_bomb_fails_cleanly() {
    if in_own_process("an_sdist_gzip_bomb_fails_cleanly").await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb-1.0.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::best(),
    );
    let mut tar = tar::Builder::new(gz);
    let pkg_info = b"Metadata-Version: 2.1\nName: bomb\nVersion: 1.0\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(pkg_info.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "bomb-1.0/PKG-INFO", &pkg_info[..])
        .unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(BOMB_BYTES);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(
        &mut header,
        "bomb-1.0/zeros.bin",
        std::io::repeat(0).take_bytes(BOMB_BYTES),
    )
    .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    assert_small(&path);
    let output = trustpub(
        &[
            "pypi",
            "upload",
            "--repository-url",
            NOWHERE,
            "--password",
            "pypi-unused",
            path.to_str().unwrap(),
        ],
        &Default::default(),
        dir.path(),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{err}");
    assert!(
        err.contains("bomb-1.0.tar.gz: the gzip stream inflates to more than 64 MiB"),
        "{err}"
    );
    let rss = max_child_rss_kib();
    assert!(rss < RSS_CEILING_KIB, "peak RSS {rss} KiB");
}
