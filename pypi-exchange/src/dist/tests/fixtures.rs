//! Builders for wheels, sdists and broken variants of them.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Core metadata text with the given version, name and project version, plus `extra` lines
/// (each ending in a newline; a blank line starts the description body).
pub fn metadata(metadata_version: &str, name: &str, version: &str, extra: &str) -> String {
    format!("Metadata-Version: {metadata_version}\nName: {name}\nVersion: {version}\n{extra}")
}

/// A zip archive with the given members (all deflated).
pub fn zip_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The members of a well-formed wheel: a module, METADATA, WHEEL and RECORD in `dist_info`.
pub fn wheel_members(dist_info: &str, metadata: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        ("pkg/__init__.py".to_owned(), b"print('hi')\n".to_vec()),
        (
            format!("{dist_info}/METADATA"),
            metadata.as_bytes().to_vec(),
        ),
        (
            format!("{dist_info}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_vec(),
        ),
        (format!("{dist_info}/RECORD"), b"".to_vec()),
    ]
}

/// Writes `members` as a zip file named `filename` in `dir`.
pub fn write_zip(dir: &Path, filename: &str, members: &[(String, Vec<u8>)]) -> PathBuf {
    let members: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let path = dir.join(filename);
    fs_err::write(&path, zip_bytes(&members)).unwrap();
    path
}

/// Writes a well-formed wheel whose `.dist-info` matches its filename.
pub fn write_wheel(dir: &Path, filename: &str, metadata: &str) -> PathBuf {
    let mut parts = filename.split('-');
    let dist_info = format!(
        "{}-{}.dist-info",
        parts.next().unwrap(),
        parts.next().unwrap()
    );
    write_zip(dir, filename, &wheel_members(&dist_info, metadata))
}

/// One tar member.
pub enum Member<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    PaxGlobal(&'a [u8]),
}

/// A gzip-compressed tar with the given members.
pub fn tar_gz_bytes(members: &[Member<'_>]) -> Vec<u8> {
    let encoder = GzEncoder::new(Vec::new(), Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for member in members {
        let mut header = Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        match member {
            Member::File(path, data) => {
                header.set_entry_type(EntryType::Regular);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, path, *data).unwrap();
            }
            Member::Dir(path) => {
                header.set_entry_type(EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, path, &[][..]).unwrap();
            }
            Member::Symlink(path, target) => {
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
            Member::PaxGlobal(data) => {
                header.set_entry_type(EntryType::XGlobalHeader);
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, "pax_global_header", *data)
                    .unwrap();
            }
        }
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// Writes a gzip-compressed tar named `filename` in `dir`.
pub fn write_tar_gz(dir: &Path, filename: &str, members: &[Member<'_>]) -> PathBuf {
    let path = dir.join(filename);
    fs_err::write(&path, tar_gz_bytes(members)).unwrap();
    path
}

/// Writes a well-formed sdist: everything under `{filename without .tar.gz}/`.
pub fn write_sdist(dir: &Path, filename: &str, pkg_info: &str) -> PathBuf {
    let top = filename.strip_suffix(".tar.gz").unwrap();
    write_tar_gz(
        dir,
        filename,
        &[
            Member::Dir(top),
            Member::File(&format!("{top}/pyproject.toml"), b"[project]\n"),
            Member::File(&format!("{top}/PKG-INFO"), pkg_info.as_bytes()),
        ],
    )
}
