//! Warehouse's checks on the distribution file itself: file name characters and extension, PEP 625 sdist names,
//! wheel file names (normalized name, version, platform tags), and the archive's structure.

use std::io::Read as _;
use std::path::Path;

use super::errors::UploadError;
use super::names::{Version, filename_prefix};
use super::pyrepr::repr_str;

/// The `filetype` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filetype {
    Sdist,
    Wheel,
}

impl Filetype {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "sdist" => Some(Self::Sdist),
            "bdist_wheel" => Some(Self::Wheel),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Sdist => "sdist",
            Self::Wheel => "bdist_wheel",
        }
    }
}

/// No control characters, no path separators.
pub(crate) fn check_characters(filename: &str) -> Result<(), UploadError> {
    if filename.chars().any(|c| (c as u32) < 32 || c as u32 == 127) {
        return Err(UploadError::bad_request(
            "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name.",
        ));
    }
    if filename.contains('/') || filename.contains('\\') {
        return Err(UploadError::bad_request(
            "Cannot upload a file with '/' or '\\' in the name.",
        ));
    }
    Ok(())
}

/// The extension must fit the file type.
pub(crate) fn check_extension(filename: &str, filetype: Filetype) -> Result<(), UploadError> {
    let fits = match filetype {
        Filetype::Sdist => filename.ends_with(".tar.gz") || filename.ends_with(".zip"),
        Filetype::Wheel => filename.ends_with(".whl"),
    };
    if fits {
        Ok(())
    } else {
        Err(UploadError::bad_request(
            "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information",
        ))
    }
}

/// PEP 625: exactly `{normalized name with _}-{version}.tar.gz`.
pub(crate) fn check_sdist_name(
    filename: &str,
    name: &str,
    version: &Version,
) -> Result<(), UploadError> {
    let expected = format!("{}-{version}.tar.gz", filename_prefix(name));
    if filename == expected {
        Ok(())
    } else {
        Err(UploadError::bad_request(format!(
            "Filename '{filename}' is invalid, should be '{expected}'."
        )))
    }
}

/// A wheel file name's parts.
pub(crate) struct WheelName<'a> {
    pub(crate) name: &'a str,
    pub(crate) version: &'a str,
    platforms: Vec<&'a str>,
}

/// `packaging.utils.parse_wheel_filename`, then Warehouse's name, version and platform checks.
pub(crate) fn check_wheel_name<'a>(
    filename: &'a str,
    name: &str,
    version: &Version,
) -> Result<WheelName<'a>, UploadError> {
    let invalid = |why: &str| {
        UploadError::bad_request(format!(
            "Invalid wheel filename ({why}): {}",
            repr_str(filename)
        ))
    };
    let stem = filename
        .strip_suffix(".whl")
        .ok_or_else(|| invalid("extension must be '.whl'"))?;
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() != 5 && parts.len() != 6 {
        return Err(invalid("wrong number of parts"));
    }
    let wheel = WheelName {
        name: parts[0],
        version: parts[1],
        platforms: parts[parts.len() - 1].split('.').collect(),
    };
    if wheel.name.contains("__")
        || !wheel
            .name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Err(UploadError::bad_request(format!(
            "Invalid project name: {}",
            repr_str(filename)
        )));
    }
    let file_version = Version::parse(wheel.version).ok_or_else(|| invalid("invalid version"))?;
    if parts.len() == 6 && !parts[2].starts_with(|c: char| c.is_ascii_digit()) {
        return Err(UploadError::bad_request(format!(
            "Invalid build number: {} in {}",
            parts[2],
            repr_str(filename)
        )));
    }
    for platform in &wheel.platforms {
        if !valid_platform_tag(platform) {
            return Err(UploadError::bad_request(format!(
                "Binary wheel '{filename}' has an unsupported platform tag '{platform}'."
            )));
        }
    }
    let expected_prefix = filename_prefix(name);
    if wheel.name != expected_prefix {
        return Err(UploadError::bad_request(format!(
            "Filename '{filename}' should contain the normalized project name '{expected_prefix}', not '{}'.",
            wheel.name
        )));
    }
    if !file_version.same_as(version) {
        return Err(UploadError::bad_request(format!(
            "Version in filename should be '{version}' not '{}'.",
            wheel.version
        )));
    }
    Ok(wheel)
}

/// Warehouse's allowed platform tags.
fn valid_platform_tag(tag: &str) -> bool {
    const LINUX_ARCHES: [&str; 9] = [
        "x86_64",
        "i686",
        "aarch64",
        "armv7l",
        "ppc64",
        "ppc64le",
        "s390x",
        "riscv64",
        "loongarch64",
    ];
    const MAC_ARCHES: [&str; 11] = [
        "universal2",
        "arm64",
        "x86_64",
        "intel",
        "fat",
        "fat3",
        "fat64",
        "universal",
        "ppc",
        "ppc64",
        "i386",
    ];
    let numbers = |text: &str, count: usize| -> bool {
        let parts: Vec<&str> = text.split('_').collect();
        parts.len() == count
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    // "X_Y_arch" where arch may itself contain underscores.
    let versioned = |rest: &str, arches: &[&str]| -> bool {
        arches.iter().any(|arch| {
            rest.strip_suffix(arch)
                .and_then(|v| v.strip_suffix('_'))
                .is_some_and(|v| numbers(v, 2))
        })
    };
    if matches!(
        tag,
        "any" | "win32" | "win_amd64" | "win_arm64" | "win_ia64" | "linux_armv6l" | "linux_armv7l"
    ) {
        return true;
    }
    if let Some(arch) = tag
        .strip_prefix("manylinux1_")
        .or_else(|| tag.strip_prefix("manylinux2010_"))
    {
        return matches!(arch, "x86_64" | "i686");
    }
    if let Some(arch) = tag.strip_prefix("manylinux2014_") {
        return matches!(
            arch,
            "x86_64" | "i686" | "aarch64" | "armv7l" | "ppc64" | "ppc64le" | "s390x"
        );
    }
    if let Some(rest) = tag
        .strip_prefix("manylinux_")
        .or_else(|| tag.strip_prefix("musllinux_"))
    {
        return versioned(rest, &LINUX_ARCHES);
    }
    if let Some(rest) = tag.strip_prefix("macosx_") {
        return MAC_ARCHES.iter().any(|arch| {
            rest.strip_suffix(arch)
                .and_then(|v| v.strip_suffix('_'))
                .is_some_and(|v| {
                    let mut parts = v.split('_');
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some("10"), Some(minor), None) => numbers(minor, 1),
                        (Some(major), Some("0"), None) => {
                            matches!(major, "11" | "12" | "13" | "14" | "15" | "26")
                        }
                        _ => false,
                    }
                })
        });
    }
    if let Some(rest) = tag.strip_prefix("ios_") {
        return [
            "arm64_iphoneos",
            "arm64_iphonesimulator",
            "x86_64_iphonesimulator",
        ]
        .iter()
        .any(|arch| {
            rest.strip_suffix(arch)
                .and_then(|v| v.strip_suffix('_'))
                .is_some_and(|v| numbers(v, 2))
        });
    }
    if let Some(rest) = tag.strip_prefix("android_") {
        return ["armeabi_v7a", "arm64_v8a", "x86", "x86_64"]
            .iter()
            .any(|arch| {
                rest.strip_suffix(arch)
                    .and_then(|v| v.strip_suffix('_'))
                    .is_some_and(|v| numbers(v, 1))
            });
    }
    if let Some(rest) = tag.strip_prefix("pyemscripten_") {
        return rest.strip_suffix("_wasm32").is_some_and(|v| numbers(v, 2));
    }
    false
}

/// Checks the archive's structure (blocking: run it off the runtime). The error is the `{msg}` of
/// `Invalid distribution file. {msg}`.
pub(crate) fn check_archive(path: &Path, filename: &str, filetype: Filetype) -> Result<(), String> {
    match filetype {
        Filetype::Wheel => check_wheel_archive(path, filename),
        Filetype::Sdist if filename.ends_with(".zip") => check_zip_sdist(path, filename),
        Filetype::Sdist => check_tar_sdist(path, filename),
    }
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<fs_err::File>, String> {
    let file = fs_err::File::open(path).map_err(|error| error.to_string())?;
    zip::ZipArchive::new(file).map_err(|_| "File is not a zipfile".to_owned())
}

fn check_zip_methods(archive: &mut zip::ZipArchive<fs_err::File>) -> Result<Vec<String>, String> {
    let mut names = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|error| format!("Bad zip entry: {error}"))?;
        let name = entry
            .name()
            .map_err(|error| format!("Bad zip entry name: {error}"))?
            .into_owned();
        if !matches!(
            entry.compression(),
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            return Err(format!(
                "File does not use a supported compression type: {name}"
            ));
        }
        names.push(name);
    }
    Ok(names)
}

fn check_wheel_archive(path: &Path, filename: &str) -> Result<(), String> {
    let mut archive = open_zip(path)?;
    let names = check_zip_methods(&mut archive)?;
    let mut parts = filename.trim_end_matches(".whl").split('-');
    let dist_info = format!(
        "{}-{}.dist-info",
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default()
    );
    for required in ["METADATA", "WHEEL", "RECORD"] {
        let wanted = format!("{dist_info}/{required}");
        if !names.contains(&wanted) {
            return Err(format!(
                "Wheel '{filename}' does not contain the required {required} file: {wanted}"
            ));
        }
    }
    let mut metadata = String::new();
    archive
        .by_name(&format!("{dist_info}/METADATA"))
        .map_err(|error| format!("Unreadable METADATA: {error}"))?
        .take(1 << 20)
        .read_to_string(&mut metadata)
        .map_err(|error| format!("Unreadable METADATA: {error}"))?;
    if !metadata
        .lines()
        .any(|line| line.starts_with("Metadata-Version:"))
    {
        return Err(format!(
            "Wheel '{filename}' has a METADATA file without Metadata-Version"
        ));
    }
    Ok(())
}

fn single_top_level(
    names: impl IntoIterator<Item = String>,
    filename: &str,
) -> Result<(String, bool), String> {
    let mut top: Option<String> = None;
    let mut has_pkg_info = false;
    for name in names {
        let name = name.trim_start_matches("./").to_owned();
        let mut parts = name.splitn(2, '/');
        let first = parts.next().unwrap_or_default().to_owned();
        if first.is_empty() {
            continue;
        }
        match &top {
            Some(existing) if *existing != first => {
                return Err(format!(
                    "Too many top-level members in sdist archive: {filename}"
                ));
            }
            Some(_) => {}
            None => top = Some(first.clone()),
        }
        if parts.next() == Some("PKG-INFO") {
            has_pkg_info = true;
        }
    }
    top.map(|top| (top, has_pkg_info))
        .ok_or_else(|| format!("No top-level directory in sdist archive: {filename}"))
}

fn check_tar_sdist(path: &Path, filename: &str) -> Result<(), String> {
    let file = fs_err::File::open(path).map_err(|error| error.to_string())?;
    let mut archive =
        tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let mut names = Vec::new();
    for entry in archive
        .entries()
        .map_err(|error| format!("Not a gzipped tar file: {error}"))?
    {
        let entry = entry.map_err(|error| format!("Not a gzipped tar file: {error}"))?;
        if entry.header().entry_type() == tar::EntryType::GNUSparse {
            return Err(format!(
                "Sparse files are not allowed in sdists: {filename}"
            ));
        }
        let name = entry
            .path()
            .map_err(|error| format!("Bad member name: {error}"))?
            .to_string_lossy()
            .into_owned();
        names.push(name);
    }
    let (_, has_pkg_info) = single_top_level(names, filename)?;
    if has_pkg_info {
        Ok(())
    } else {
        Err(format!("No PKG-INFO in archive: {filename}"))
    }
}

fn check_zip_sdist(path: &Path, filename: &str) -> Result<(), String> {
    let mut archive = open_zip(path)?;
    let names = check_zip_methods(&mut archive)?;
    let (_, has_pkg_info) = single_top_level(names, filename)?;
    if has_pkg_info {
        Ok(())
    } else {
        Err(format!("No PKG-INFO in archive: {filename}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn message(result: Result<impl Sized, UploadError>) -> String {
        result
            .err()
            .map(|error| error.message)
            .unwrap_or_else(|| "ok".to_owned())
    }

    #[test]
    fn sdist_names_follow_pep_625() {
        assert_eq!(
            message(check_sdist_name(
                "sample_project-1.0.tar.gz",
                "Sample.Project",
                &version("1.0")
            )),
            "ok"
        );
        insta::assert_snapshot!(message(check_sdist_name("Sample.Project-1.0.tar.gz", "Sample.Project", &version("1.0"))), @"Filename 'Sample.Project-1.0.tar.gz' is invalid, should be 'sample_project-1.0.tar.gz'.");
        insta::assert_snapshot!(message(check_sdist_name("sample_project-1.0.zip", "sample-project", &version("1.0"))), @"Filename 'sample_project-1.0.zip' is invalid, should be 'sample_project-1.0.tar.gz'.");
    }

    #[test]
    fn wheel_names() {
        let v = version("1.0.0");
        assert_eq!(
            message(check_wheel_name(
                "sample_project-1.0.0-py3-none-any.whl",
                "sample.project",
                &v
            )),
            "ok"
        );
        assert_eq!(
            message(check_wheel_name(
                "sample_project-1.0-1-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                "sample-project",
                &v
            )),
            "ok"
        );
        insta::assert_snapshot!(message(check_wheel_name("Sample_Project-1.0.0-py3-none-any.whl", "sample-project", &v)), @"Filename 'Sample_Project-1.0.0-py3-none-any.whl' should contain the normalized project name 'sample_project', not 'Sample_Project'.");
        insta::assert_snapshot!(message(check_wheel_name("sample_project-1.1-py3-none-any.whl", "sample-project", &v)), @"Version in filename should be '1.0.0' not '1.1'.");
        insta::assert_snapshot!(message(check_wheel_name("sample_project-1.0.0-py3-none.whl", "sample-project", &v)), @"Invalid wheel filename (wrong number of parts): 'sample_project-1.0.0-py3-none.whl'");
        insta::assert_snapshot!(message(check_wheel_name("sample_project-1.0.0-py3-none-linux_x86_64.whl", "sample-project", &v)), @"Binary wheel 'sample_project-1.0.0-py3-none-linux_x86_64.whl' has an unsupported platform tag 'linux_x86_64'.");
    }

    #[test]
    fn platform_tags() {
        for good in [
            "any",
            "win_amd64",
            "manylinux1_x86_64",
            "musllinux_1_2_aarch64",
            "macosx_10_9_x86_64",
            "macosx_11_0_arm64",
            "macosx_26_0_universal2",
            "ios_13_0_arm64_iphoneos",
            "android_21_arm64_v8a",
            "pyemscripten_2024_0_wasm32",
            "linux_armv7l",
        ] {
            assert!(valid_platform_tag(good), "{good}");
        }
        for bad in [
            "linux_x86_64",
            "macosx_11_1_arm64",
            "manylinux2010_aarch64",
            "musllinux_1_x86_64",
            "macosx_16_0_arm64",
        ] {
            assert!(!valid_platform_tag(bad), "{bad}");
        }
    }

    #[test]
    fn characters_and_extensions() {
        insta::assert_snapshot!(message(check_characters("a/b.whl")), @r"Cannot upload a file with '/' or '\' in the name.");
        insta::assert_snapshot!(message(check_characters("a\u{7f}.whl")), @"Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name.");
        assert_eq!(
            message(check_extension("a-1.tar.gz", Filetype::Sdist)),
            "ok"
        );
        assert!(
            message(check_extension("a-1.tar.gz", Filetype::Wheel))
                .starts_with("Invalid file extension: Use .tar.gz, .whl or .zip")
        );
    }

    #[test]
    fn archives() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("w.whl");
        {
            let mut writer = zip::ZipWriter::new(fs_err::File::create(&wheel).unwrap());
            let options = zip::write::SimpleFileOptions::default();
            for (name, body) in [
                ("pkg/__init__.py", ""),
                (
                    "pkg-1.0.dist-info/METADATA",
                    "Metadata-Version: 2.4\nName: pkg\n",
                ),
                ("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"),
            ] {
                writer.start_file(name, options).unwrap();
                std::io::Write::write_all(&mut writer, body.as_bytes()).unwrap();
            }
            writer.finish().unwrap();
        }
        insta::assert_snapshot!(check_archive(&wheel, "pkg-1.0-py3-none-any.whl", Filetype::Wheel).unwrap_err(), @"Wheel 'pkg-1.0-py3-none-any.whl' does not contain the required RECORD file: pkg-1.0.dist-info/RECORD");
        insta::assert_snapshot!(check_archive(&wheel, "pkg-1.0.tar.gz", Filetype::Sdist).unwrap_err(), @"Not a gzipped tar file: invalid gzip header");

        let sdist = dir.path().join("s.tar.gz");
        {
            let encoder = flate2::write::GzEncoder::new(
                fs_err::File::create(&sdist).unwrap(),
                flate2::Compression::fast(),
            );
            let mut builder = tar::Builder::new(encoder);
            for name in ["pkg-1.0/PKG-INFO", "pkg-1.0/setup.py"] {
                let mut header = tar::Header::new_gnu();
                header.set_size(3);
                header.set_mode(0o644);
                header.set_cksum();
                builder.append_data(&mut header, name, &b"abc"[..]).unwrap();
            }
            builder.into_inner().unwrap().finish().unwrap();
        }
        assert_eq!(
            check_archive(&sdist, "pkg-1.0.tar.gz", Filetype::Sdist),
            Ok(())
        );
    }
}
