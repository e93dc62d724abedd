//! Reading a package tarball (`npm pack` output) in one streaming pass.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::read::GzDecoder;
use oidc_core::bounded::{InflationGuard, InflationLimit, Tripped, read_capped};
use sha1::Sha1;
use sha2::{Digest, Sha512};

use super::PackageError;
use super::manifest::Manifest;
use super::normalize::PackageFiles;

/// A package tarball that has been read, hashed and whose manifest has been normalised.
///
/// Only the digests and the manifest are kept: the tarball itself stays on disk and is read
/// again, in chunks, when the publish document is sent.
#[derive(Debug, Clone)]
pub struct PackageTarball {
    path: PathBuf,
    size: u64,
    sha512: [u8; 64],
    sha1: [u8; 20],
    manifest: Manifest,
}

/// Passes bytes through while hashing and counting them.
struct HashingReader<R> {
    inner: R,
    sha512: Sha512,
    sha1: Sha1,
    len: u64,
    head: Vec<u8>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        self.sha512.update(chunk);
        self.sha1.update(chunk);
        self.len += n as u64;
        if self.head.len() < 2 {
            let wanted = (2 - self.head.len()).min(n);
            self.head.extend_from_slice(&chunk[..wanted]);
        }
        Ok(n)
    }
}

/// How npm ranks README candidates (`@npmcli/package-json`'s `readme` step): the first file
/// whose extension looks like Markdown wins, otherwise a file named exactly `README`. npm takes
/// the first Markdown file in directory order, which is not deterministic; we prefer
/// `README.md`, then take them in tarball order.
fn readme_rank(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if lower != "readme" && !lower.starts_with("readme.") {
        return None;
    }
    let markdownish = name.rfind('.').is_some_and(|dot| {
        let mut wanted = "markdown".chars();
        name[dot + 1..]
            .chars()
            .all(|c| wanted.any(|w| w == c.to_ascii_lowercase()))
    });
    if lower == "readme.md" {
        Some(0)
    } else if markdownish {
        Some(1)
    } else if name == "README" {
        Some(2)
    } else {
        None
    }
}

/// The largest `package.json` read into memory (2 MiB): real ones are a few KiB, the largest
/// published ones a few hundred; parsed JSON takes several times its text.
pub const PACKAGE_JSON_LIMIT: u64 = 2 * 1024 * 1024;

/// The largest README read into memory (4 MiB): it goes into the publish document whole.
pub const README_LIMIT: u64 = 4 * 1024 * 1024;

/// The largest `AUTHORS` file read into memory (1 MiB).
pub const AUTHORS_LIMIT: u64 = 1024 * 1024;

/// What the scan collects from the archive.
#[derive(Default)]
struct Scan {
    package_json: Option<String>,
    files: PackageFiles,
    readme_rank: Option<u8>,
    /// Archive entries seen, including one that failed to parse.
    entries: usize,
    /// A member over its cap: the scan stopped there.
    too_large: Option<(String, u64)>,
}

impl Scan {
    fn visit(&mut self, entry: &mut tar::Entry<'_, impl Read>) -> io::Result<()> {
        if !entry.header().entry_type().is_file() {
            return Ok(());
        }
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let segments: Vec<&str> = raw_path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        // pacote unpacks with `strip: 1`: the first directory (`package/`) is the package root.
        if segments.len() < 2 || segments.contains(&"..") {
            return Ok(());
        }
        let rel = segments[1..].join("/");
        let too_large = &mut self.too_large;
        let mut read_text = |entry: &mut tar::Entry<'_, _>, cap: u64| -> io::Result<String> {
            match read_capped(entry, cap)? {
                Some(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
                None => {
                    *too_large = Some((format!("package/{rel}"), cap));
                    Err(io::Error::other("a member is over its size limit"))
                }
            }
        };
        if rel == "package.json" {
            self.package_json = Some(read_text(entry, PACKAGE_JSON_LIMIT)?);
        } else if rel == "AUTHORS" {
            self.files.authors = Some(read_text(entry, AUTHORS_LIMIT)?);
        } else if let Some(rank) = readme_rank(&rel).filter(|_| !rel.contains('/')) {
            let current = self.files.readme.as_ref().map(|(name, _)| name.as_str());
            let better = match self.readme_rank {
                None => true,
                Some(best) => {
                    rank < best || (rank == best && (rank != 1 || current == Some(rel.as_str())))
                }
            };
            if better {
                self.files.readme = Some((rel.clone(), read_text(entry, README_LIMIT)?));
                self.readme_rank = Some(rank);
            }
        }
        self.files.files.insert(rel);
        Ok(())
    }
}

/// Gunzips and untars `reader` to its end, collecting what the manifest needs into `scan`.
/// The inflated stream goes through `guard`'s limit.
fn scan_archive(
    reader: impl Read,
    max_inflated: u64,
    scan: &mut Scan,
) -> (io::Result<()>, Tripped) {
    let (guarded, tripped) = InflationGuard::wrap(GzDecoder::new(reader), max_inflated);
    (scan_guarded(guarded, scan), tripped)
}

fn scan_guarded(reader: impl Read, scan: &mut Scan) -> io::Result<()> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        scan.entries += 1;
        scan.visit(&mut entry?)?;
    }
    // The rest of the gzip stream (tar padding), so that its CRC and length are checked.
    io::copy(&mut archive.into_inner(), &mut io::sink())?;
    Ok(())
}

/// Explains a failed scan: the tar crate reports format errors as `ErrorKind::Other`, flate2
/// reports bad compressed data as `InvalidInput`/`InvalidData`.
fn describe(error: &io::Error, entries: usize) -> String {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => "it ends early (the file is truncated)".to_owned(),
        io::ErrorKind::Other if entries <= 1 => {
            "the gzip data inside is not a tar archive".to_owned()
        }
        io::ErrorKind::Other => format!("the tar archive inside is corrupt ({error})"),
        _ => format!("its compressed data is corrupt ({error})"),
    }
}

impl PackageTarball {
    /// Reads a `.tgz` made by `npm pack`: one pass over the file computes its sha512 and sha1
    /// while `package/package.json`, the README and the file list are unpacked; the manifest is
    /// then normalised as npm does for publishing. Blocking: call it from `spawn_blocking`.
    pub fn read(path: &Path) -> Result<Self, PackageError> {
        let io_error = |source| PackageError::Io {
            path: path.to_owned(),
            source,
        };
        let corrupt = |detail: String| PackageError::Corrupt {
            path: path.to_owned(),
            detail,
        };
        // `metadata` follows symlinks: a link to a tarball is fine, a dangling one is not found.
        let metadata = fs_err::metadata(path).map_err(io_error)?;
        if metadata.is_dir() {
            return Err(PackageError::NotAFile {
                path: path.to_owned(),
                kind: "a directory",
            });
        }
        if !metadata.is_file() {
            return Err(PackageError::NotAFile {
                path: path.to_owned(),
                kind: "not a regular file",
            });
        }
        let file = fs_err::File::open(path).map_err(io_error)?;
        let mut reader = HashingReader {
            inner: file,
            sha512: Sha512::new(),
            sha1: Sha1::new(),
            len: 0,
            head: Vec::new(),
        };
        let mut scan = Scan::default();
        let max_inflated = InflationLimit::NPM.max_inflated(metadata.len());
        let (scanned, tripped) = scan_archive(&mut reader, max_inflated, &mut scan);
        // Whatever the archive said, hash the file to its end.
        io::copy(&mut reader, &mut io::sink()).map_err(io_error)?;
        if reader.head != [0x1f, 0x8b] {
            return Err(corrupt(
                "it is not gzip-compressed (a .tgz file starts with the bytes 1f 8b)".into(),
            ));
        }
        if let Some((member, limit)) = scan.too_large {
            return Err(PackageError::MemberTooLarge {
                path: path.to_owned(),
                member,
                limit,
            });
        }
        if tripped.tripped() {
            return Err(PackageError::Inflation {
                path: path.to_owned(),
                limit: max_inflated,
            });
        }
        scanned.map_err(|e| corrupt(describe(&e, scan.entries)))?;
        let package_json = scan
            .package_json
            .ok_or_else(|| PackageError::MissingPackageJson {
                path: path.to_owned(),
            })?;
        let manifest =
            Manifest::from_package_json(&package_json, &scan.files).map_err(|source| {
                PackageError::Manifest {
                    path: path.to_owned(),
                    source,
                }
            })?;
        Ok(Self {
            path: path.to_owned(),
            size: reader.len,
            sha512: reader.sha512.finalize().into(),
            sha1: reader.sha1.finalize().into(),
            manifest,
        })
    }

    /// The tarball's path, as given to [`read`](Self::read).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size of the tarball in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// `dist.integrity`: `sha512-<base64>` (Subresource Integrity, as ssri writes it).
    pub fn integrity(&self) -> String {
        format!("sha512-{}", STANDARD.encode(self.sha512))
    }

    /// The raw sha512 digest of the tarball.
    pub fn sha512(&self) -> &[u8; 64] {
        &self.sha512
    }

    /// The sha512 digest in hex, as in a provenance statement's subject digest.
    pub fn sha512_hex(&self) -> String {
        hex::encode(self.sha512)
    }

    /// `dist.shasum`: the sha1 digest in hex.
    pub fn shasum(&self) -> String {
        hex::encode(self.sha1)
    }

    /// The normalised manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The tarball's key in `_attachments`: `<name>-<version>.tgz` (`@scope/name-1.0.0.tgz`).
    pub fn attachment_name(&self) -> String {
        format!("{}-{}.tgz", self.manifest.name(), self.manifest.version())
    }

    /// The provenance bundle's key in `_attachments`: `<name>-<version>.sigstore`.
    pub fn provenance_attachment_name(&self) -> String {
        format!(
            "{}-{}.sigstore",
            self.manifest.name(),
            self.manifest.version()
        )
    }
}

#[cfg(test)]
mod tests {
    use sha1::Sha1;
    use sha2::{Digest, Sha512};

    use super::*;
    use crate::package::test_support::{gzip, package_tgz, scrub, tgz, write};

    fn read_error(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "pkg.tgz", bytes);
        scrub(
            &PackageTarball::read(&path).unwrap_err().to_string(),
            dir.path(),
        )
    }

    #[test]
    fn reads_an_unscoped_package_and_hashes_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = package_tgz(r#"{"name":"plain","version":"1.0.0"}"#);
        let path = write(dir.path(), "plain-1.0.0.tgz", &bytes);
        let tarball = PackageTarball::read(&path).unwrap();
        assert_eq!(tarball.size(), bytes.len() as u64);
        assert_eq!(
            tarball.integrity(),
            format!("sha512-{}", STANDARD.encode(Sha512::digest(&bytes)))
        );
        assert_eq!(tarball.sha512_hex(), hex::encode(Sha512::digest(&bytes)));
        assert_eq!(tarball.shasum(), hex::encode(Sha1::digest(&bytes)));
        let manifest = tarball.manifest();
        assert_eq!(
            (manifest.name().as_str(), manifest.version().to_string()),
            ("plain", "1.0.0".into())
        );
        assert_eq!(manifest.readme(), Some("# Demo\n\nA demo package.\n"));
        assert_eq!(manifest.readme_filename(), Some("README.md"));
        assert_eq!(manifest.description(), Some("A demo package."));
        assert_eq!(tarball.attachment_name(), "plain-1.0.0.tgz");
    }

    #[test]
    fn reads_a_scoped_package() {
        let dir = tempfile::tempdir().unwrap();
        let bytes =
            package_tgz(r#"{"name":"@demo/tiny-pkg","version":"2.0.0-rc.1","private":true}"#);
        let tarball = PackageTarball::read(&write(dir.path(), "t.tgz", &bytes)).unwrap();
        let manifest = tarball.manifest();
        assert_eq!(
            (manifest.scope(), manifest.name().unscoped()),
            (Some("@demo"), "tiny-pkg")
        );
        assert!(manifest.is_private());
        assert_eq!(tarball.attachment_name(), "@demo/tiny-pkg-2.0.0-rc.1.tgz");
        assert_eq!(
            tarball.provenance_attachment_name(),
            "@demo/tiny-pkg-2.0.0-rc.1.sigstore"
        );
        assert_eq!(manifest.purl(), "pkg:npm/%40demo/tiny-pkg@2.0.0-rc.1");
    }

    #[test]
    fn picks_the_readme_as_npm_does() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["readme.markdown", "README.md"], Some("README.md")),
            (&["README", "Readme.mkd"], Some("Readme.mkd")),
            (&["README.rst", "README"], Some("README")),
            (&["README.txt"], None),
            (&["readme"], None),
            (&["docs/README.md"], None),
            (&["README.", "README.markdown"], Some("README.")),
        ];
        for (names, expected) in cases {
            let mut entries = vec![(
                "package/package.json".to_owned(),
                br#"{"name":"a","version":"1.0.0"}"#.to_vec(),
            )];
            entries.extend(
                names
                    .iter()
                    .map(|n| (format!("package/{n}"), format!("text of {n}").into_bytes())),
            );
            let entries: Vec<(&str, &[u8])> = entries
                .iter()
                .map(|(p, d)| (p.as_str(), d.as_slice()))
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let tarball =
                PackageTarball::read(&write(dir.path(), "a.tgz", &tgz(&entries))).unwrap();
            let manifest = tarball.manifest();
            assert_eq!(manifest.readme_filename(), *expected, "{names:?}");
            let readme = expected.map_or(crate::package::normalize::NO_README.to_owned(), |n| {
                format!("text of {n}")
            });
            assert_eq!(manifest.readme(), Some(readme.as_str()), "{names:?}");
        }
    }

    #[test]
    fn rejects_files_that_are_not_gzip() {
        insta::assert_snapshot!(read_error(b"hello, I am not a tarball"), @"[TMP]/pkg.tgz is not a valid npm package tarball: it is not gzip-compressed (a .tgz file starts with the bytes 1f 8b); rebuild it with `npm pack`");
        insta::assert_snapshot!(read_error(b""), @"[TMP]/pkg.tgz is not a valid npm package tarball: it is not gzip-compressed (a .tgz file starts with the bytes 1f 8b); rebuild it with `npm pack`");
    }

    #[test]
    fn rejects_truncated_and_corrupt_archives() {
        let bytes = package_tgz(r#"{"name":"plain","version":"1.0.0"}"#);
        insta::assert_snapshot!(read_error(&bytes[..bytes.len() / 2]), @"[TMP]/pkg.tgz is not a valid npm package tarball: it ends early (the file is truncated); rebuild it with `npm pack`");
        insta::assert_snapshot!(read_error(&gzip(&[b'x'; 700])), @"[TMP]/pkg.tgz is not a valid npm package tarball: the gzip data inside is not a tar archive; rebuild it with `npm pack`");
        let mut flipped = bytes.clone();
        flipped[40] ^= 0xff;
        insta::assert_snapshot!(read_error(&flipped), @"[TMP]/pkg.tgz is not a valid npm package tarball: its compressed data is corrupt (corrupt deflate stream); rebuild it with `npm pack`");
    }

    #[test]
    fn rejects_archives_without_package_json() {
        let no_manifest = tgz(&[("package/index.js", b"1")]);
        insta::assert_snapshot!(read_error(&no_manifest), @"[TMP]/pkg.tgz has no package/package.json, so it is not an npm package tarball; rebuild it with `npm pack`");
        let top_level = tgz(&[("package.json", br#"{"name":"a","version":"1.0.0"}"#)]);
        insta::assert_snapshot!(read_error(&top_level), @"[TMP]/pkg.tgz has no package/package.json, so it is not an npm package tarball; rebuild it with `npm pack`");
    }

    #[test]
    fn rejects_bad_package_json_with_npms_messages() {
        let cases = [
            (
                "{not json",
                "package/package.json in [TMP]/pkg.tgz: package.json is not valid JSON: key must be a string at line 1 column 2 (fix package.json and run `npm pack` again)",
            ),
            (
                "[1]",
                "package/package.json in [TMP]/pkg.tgz: package.json does not contain a JSON object (fix package.json and run `npm pack` again)",
            ),
            (
                r#"{"version":"1.0.0"}"#,
                "package/package.json in [TMP]/pkg.tgz: package.json has no \"name\" (fix package.json and run `npm pack` again)",
            ),
            (
                r#"{"name":5,"version":"1.0.0"}"#,
                "package/package.json in [TMP]/pkg.tgz: name field must be a string. (fix package.json and run `npm pack` again)",
            ),
            (
                r#"{"name":".hidden","version":"1.0.0"}"#,
                "package/package.json in [TMP]/pkg.tgz: Invalid name: \".hidden\" (fix package.json and run `npm pack` again)",
            ),
            (
                r#"{"name":"plain"}"#,
                "package/package.json in [TMP]/pkg.tgz: package.json has no \"version\" (fix package.json and run `npm pack` again)",
            ),
            (
                r#"{"name":"plain","version":"1.2"}"#,
                "package/package.json in [TMP]/pkg.tgz: Invalid version: \"1.2\" (fix package.json and run `npm pack` again)",
            ),
            (
                r#"{"name":"plain","version":1}"#,
                "package/package.json in [TMP]/pkg.tgz: Invalid version: \"1\" (fix package.json and run `npm pack` again)",
            ),
            (
                r#"{"name":"plain","version":"1.0.0","main":3}"#,
                "package/package.json in [TMP]/pkg.tgz: The \"main\" attribute must be of type string. (fix package.json and run `npm pack` again)",
            ),
        ];
        for (package_json, expected) in cases {
            assert_eq!(
                read_error(&package_tgz(package_json)),
                expected,
                "{package_json}"
            );
        }
    }

    #[test]
    fn rejects_directories_and_dangling_links_but_follows_good_links() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("folder.tgz");
        fs_err::create_dir(&folder).unwrap();
        let error = PackageTarball::read(&folder).unwrap_err().to_string();
        insta::assert_snapshot!(scrub(&error, dir.path()), @"[TMP]/folder.tgz is a directory, not a package tarball: pass the .tgz file that `npm pack` wrote");

        let dangling = dir.path().join("dangling.tgz");
        std::os::unix::fs::symlink(dir.path().join("missing.tgz"), &dangling).unwrap();
        let error = PackageTarball::read(&dangling).unwrap_err();
        assert!(matches!(error, PackageError::Io { .. }), "{error:?}");
        insta::assert_snapshot!(scrub(&error.to_string(), dir.path()), @"cannot read the package tarball: failed to query resolved metadata `[TMP]/dangling.tgz`: No such file or directory (os error 2)");

        let target = write(
            dir.path(),
            "real.tgz",
            &package_tgz(r#"{"name":"plain","version":"1.0.0"}"#),
        );
        let link = dir.path().join("link.tgz");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(
            PackageTarball::read(&link)
                .unwrap()
                .manifest()
                .name()
                .as_str(),
            "plain"
        );
    }
}
