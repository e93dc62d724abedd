//! Distribution filenames: wheel names (PEP 427 / 491), PEP 625 sdist names, and the wheel
//! platform tags PyPI accepts.

use super::version::{Version, VersionError, normalize_name};

/// The `pyversion` form value PyPI expects for an sdist.
pub const SDIST_PYVERSION: &str = "source";

/// A parsed wheel filename: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    /// The name part as written (normally the normalized name with `_` for `-`).
    pub name: String,
    /// The version part as written.
    pub version_text: String,
    /// The version part, parsed.
    pub version: Version,
    /// The optional build tag (starts with a digit).
    pub build: Option<String>,
    /// The python tag part as written, e.g. `py2.py3` or `cp312`.
    pub python_tag: String,
    /// The python tags (`py2.py3` → `py2`, `py3`).
    pub python_tags: Vec<String>,
    /// The ABI tags.
    pub abi_tags: Vec<String>,
    /// The platform tags (`manylinux_2_17_x86_64.manylinux2014_x86_64` → two tags).
    pub platform_tags: Vec<String>,
}

/// Why a filename is not a wheel filename.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    /// The name does not end in `.whl`.
    #[error("'{filename}' does not end in .whl")]
    NotAWheel {
        /// The filename.
        filename: String,
    },
    /// The wrong number of `-`-separated parts.
    #[error(
        "'{filename}' is not a wheel filename: expected \
         {{name}}-{{version}}(-{{build}})?-{{python}}-{{abi}}-{{platform}}.whl with no '-' inside \
         a part, found {parts} parts; rebuild the wheel with a current build backend"
    )]
    WrongShape {
        /// The filename.
        filename: String,
        /// How many parts it has.
        parts: usize,
    },
    /// A part is empty or has characters wheel names may not use.
    #[error(
        "'{filename}' is not a wheel filename: its {part} {value:?} {rule}; rebuild the wheel \
         with a current build backend"
    )]
    BadPart {
        /// The filename.
        filename: String,
        /// Which part (`name`, `build tag`, `python tag`, ...).
        part: &'static str,
        /// The part's text.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The version part is not PEP 440.
    #[error("'{filename}' is not a wheel filename: {source}")]
    BadVersion {
        /// The filename.
        filename: String,
        /// The version error.
        #[source]
        source: VersionError,
    },
}

impl WheelFilename {
    /// Parses a wheel filename (the file name only, not a path).
    pub fn parse(filename: &str) -> Result<Self, FilenameError> {
        let Some(stem) = filename.strip_suffix(".whl") else {
            return Err(FilenameError::NotAWheel {
                filename: filename.to_owned(),
            });
        };
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version_text, build, python, abi, platform) = match parts[..] {
            [name, version, python, abi, platform] => (name, version, None, python, abi, platform),
            [name, version, build, python, abi, platform] => {
                (name, version, Some(build), python, abi, platform)
            }
            _ => {
                return Err(FilenameError::WrongShape {
                    filename: filename.to_owned(),
                    parts: parts.len(),
                });
            }
        };
        let check = |part: &'static str, value: &str| {
            let ok = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'));
            if ok {
                Ok(())
            } else {
                Err(FilenameError::BadPart {
                    filename: filename.to_owned(),
                    part,
                    value: value.to_owned(),
                    rule: "is empty or uses characters other than ASCII letters, digits, '_' and '.'",
                })
            }
        };
        check("name", name)?;
        if let Some(build) = build {
            check("build tag", build)?;
            if !build.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(FilenameError::BadPart {
                    filename: filename.to_owned(),
                    part: "build tag",
                    value: build.to_owned(),
                    rule: "does not start with a digit",
                });
            }
        }
        let tags = |part: &'static str, value: &str| -> Result<Vec<String>, FilenameError> {
            check(part, value)?;
            let tags: Vec<String> = value.split('.').map(str::to_owned).collect();
            if tags.iter().any(String::is_empty) {
                return Err(FilenameError::BadPart {
                    filename: filename.to_owned(),
                    part,
                    value: value.to_owned(),
                    rule: "has an empty tag between dots",
                });
            }
            Ok(tags)
        };
        let python_tags = tags("python tag", python)?;
        let abi_tags = tags("abi tag", abi)?;
        let platform_tags = tags("platform tag", platform)?;
        let version = version_text
            .parse()
            .map_err(|source| FilenameError::BadVersion {
                filename: filename.to_owned(),
                source,
            })?;
        Ok(Self {
            name: name.to_owned(),
            version_text: version_text.to_owned(),
            version,
            build: build.map(str::to_owned),
            python_tag: python.to_owned(),
            python_tags,
            abi_tags,
            platform_tags,
        })
    }

    /// The `pyversion` form value for this wheel: its python tag part, e.g. `py2.py3`.
    pub fn pyversion(&self) -> &str {
        &self.python_tag
    }

    /// The `.dist-info` directory PyPI reads: `{name}-{version}.dist-info`, both parts exactly
    /// as written in the filename.
    pub fn dist_info_dir(&self) -> String {
        format!("{}-{}.dist-info", self.name, self.version_text)
    }
}

/// The name part a wheel or PEP 625 sdist filename must have: the PEP 503 normalized name with
/// `_` in place of `-` (`Friendly.Bard` → `friendly_bard`).
pub fn filename_name_part(project_name: &str) -> String {
    normalize_name(project_name).replace('-', "_")
}

/// The PEP 625 sdist filename PyPI requires: `{normalized name with _}-{normalized version}.tar.gz`.
pub fn sdist_filename(project_name: &str, version: &Version) -> String {
    format!("{}-{version}.tar.gz", filename_name_part(project_name))
}

const STATIC_PLATFORMS: &[&str] = &[
    "any",
    "win32",
    "win_amd64",
    "win_arm64",
    "win_ia64",
    "manylinux1_x86_64",
    "manylinux1_i686",
    "manylinux2010_x86_64",
    "manylinux2010_i686",
    "manylinux2014_x86_64",
    "manylinux2014_i686",
    "manylinux2014_aarch64",
    "manylinux2014_armv7l",
    "manylinux2014_ppc64",
    "manylinux2014_ppc64le",
    "manylinux2014_s390x",
    "linux_armv6l",
    "linux_armv7l",
];
const MACOS_ARCHES: &[&str] = &[
    "ppc",
    "ppc64",
    "i386",
    "x86_64",
    "arm64",
    "intel",
    "fat",
    "fat3",
    "fat32",
    "fat64",
    "universal",
    "universal2",
];
/// macOS major versions after 10 that PyPI accepts (with minor version 0 only).
const MACOS_MAJORS: &[u32] = &[11, 12, 13, 14, 15, 26];
const LINUX_ARCHES: &[&str] = &[
    "x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64",
];
const IOS_ARCHES: &[&str] = &["arm64", "x86_64"];
const ANDROID_ABIS: &[&str] = &["armeabi_v7a", "arm64_v8a", "x86", "x86_64"];

/// Splits a leading `N_` off `s`.
fn number_then_underscore(s: &str) -> Option<(u32, &str)> {
    let (digits, rest) = s.split_once('_')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, rest))
}

/// Whether PyPI accepts a wheel platform tag.
///
/// Accepted: `any`; `win32`, `win_amd64`, `win_arm64`, `win_ia64`; `manylinux1` / `2010`
/// (x86_64, i686) and `manylinux2014` (plus aarch64, armv7l, ppc64, ppc64le, s390x);
/// `manylinux_X_Y_{arch}` and `musllinux_X_Y_{arch}` for the known arches; `macosx_10_*` and
/// `macosx_{11..15,26}_0` for the known arches; `ios_X_Y_{arm64,x86_64}_{iphoneos,iphonesimulator}`;
/// `android_N_{abi}`; `pyemscripten_Y_N_wasm32`; `linux_armv6l` and `linux_armv7l`.
/// Everything else, notably plain `linux_x86_64`, is rejected.
pub fn pypi_accepts_platform_tag(tag: &str) -> bool {
    if STATIC_PLATFORMS.contains(&tag) {
        return true;
    }
    if let Some(rest) = tag.strip_prefix("macosx_") {
        let Some((major, rest)) = number_then_underscore(rest) else {
            return false;
        };
        let Some((minor, arch)) = number_then_underscore(rest) else {
            return false;
        };
        return MACOS_ARCHES.contains(&arch)
            && (major == 10 || (MACOS_MAJORS.contains(&major) && minor == 0));
    }
    if let Some(rest) = tag
        .strip_prefix("manylinux_")
        .map(|rest| (rest, true))
        .or_else(|| tag.strip_prefix("musllinux_").map(|rest| (rest, false)))
    {
        let (rest, many) = rest;
        let Some((_, rest)) = number_then_underscore(rest) else {
            return false;
        };
        let Some((_, arch)) = number_then_underscore(rest) else {
            return false;
        };
        return LINUX_ARCHES.contains(&arch) || (many && arch == "ppc64");
    }
    if let Some(rest) = tag.strip_prefix("ios_") {
        let Some((_, rest)) = number_then_underscore(rest) else {
            return false;
        };
        let Some((_, rest)) = number_then_underscore(rest) else {
            return false;
        };
        let arch = rest
            .strip_suffix("_iphoneos")
            .or_else(|| rest.strip_suffix("_iphonesimulator"));
        return arch.is_some_and(|arch| IOS_ARCHES.contains(&arch));
    }
    if let Some(rest) = tag.strip_prefix("android_") {
        return number_then_underscore(rest).is_some_and(|(_, abi)| ANDROID_ABIS.contains(&abi));
    }
    if let Some(rest) = tag.strip_prefix("pyemscripten_") {
        return number_then_underscore(rest)
            .and_then(|(_, rest)| number_then_underscore(rest))
            .is_some_and(|(_, arch)| arch == "wasm32");
    }
    false
}

/// What to do about a platform tag PyPI rejects.
pub(crate) fn platform_tag_advice(tag: &str) -> &'static str {
    if tag.starts_with("linux_") {
        "PyPI accepts only portable Linux wheels: repair this one with auditwheel, or build it \
         with cibuildwheel or maturin for a manylinux or musllinux target"
    } else if tag.starts_with("macosx_") {
        "PyPI accepts macosx_10_* and, from macOS 11 on, only a .0 minor version \
         (macosx_11_0_arm64) of a known architecture: rebuild with MACOSX_DEPLOYMENT_TARGET set \
         to a major version"
    } else {
        "PyPI accepts any, win*, manylinux*, musllinux_*, macosx_*, ios_*, android_* and \
         pyemscripten_* tags for known architectures: build the wheel for one of those"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wheel_filenames() {
        let w = WheelFilename::parse("friendly_bard-1.0.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(w.name, "friendly_bard");
        assert_eq!(w.version_text, "1.0.0");
        assert_eq!(w.version.to_string(), "1.0.0");
        assert_eq!(w.build, None);
        assert_eq!(w.python_tags, ["py2", "py3"]);
        assert_eq!(w.pyversion(), "py2.py3");
        assert_eq!(w.abi_tags, ["none"]);
        assert_eq!(w.platform_tags, ["any"]);
        assert_eq!(w.dist_info_dir(), "friendly_bard-1.0.0.dist-info");

        let w = WheelFilename::parse(
            "numpy-2.1.0-1local-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(w.build.as_deref(), Some("1local"));
        assert_eq!(w.pyversion(), "cp312");
        assert_eq!(
            w.platform_tags,
            ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
        );
    }

    #[test]
    fn rejects_malformed_wheel_filenames() {
        let error = |s: &str| WheelFilename::parse(s).unwrap_err().to_string();
        insta::assert_snapshot!(error("foo-1.0.tar.gz"), @"'foo-1.0.tar.gz' does not end in .whl");
        insta::assert_snapshot!(error("foo.whl"), @"'foo.whl' is not a wheel filename: expected {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl with no '-' inside a part, found 1 parts; rebuild the wheel with a current build backend");
        insta::assert_snapshot!(error("my-pkg-1.0-1-py3-none-any.whl"), @"'my-pkg-1.0-1-py3-none-any.whl' is not a wheel filename: expected {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl with no '-' inside a part, found 7 parts; rebuild the wheel with a current build backend");
        insta::assert_snapshot!(error("my-pkg-1.0-py3-none-any.whl"), @"'my-pkg-1.0-py3-none-any.whl' is not a wheel filename: 'pkg' is not a valid PEP 440 version: expected version to start with a number, but no leading ASCII digits were found");
        insta::assert_snapshot!(error("foo-1.0-x1-py3-none-any.whl"), @r#"'foo-1.0-x1-py3-none-any.whl' is not a wheel filename: its build tag "x1" does not start with a digit; rebuild the wheel with a current build backend"#);
        insta::assert_snapshot!(error("foo-one-py3-none-any.whl"), @"'foo-one-py3-none-any.whl' is not a wheel filename: 'one' is not a valid PEP 440 version: expected version to start with a number, but no leading ASCII digits were found");
        insta::assert_snapshot!(error("foo-1.0-py3..py2-none-any.whl"), @r#"'foo-1.0-py3..py2-none-any.whl' is not a wheel filename: its python tag "py3..py2" has an empty tag between dots; rebuild the wheel with a current build backend"#);
        assert!(WheelFilename::parse("föö-1.0-py3-none-any.whl").is_err());
        assert!(WheelFilename::parse("-1.0-py3-none-any.whl").is_err());
        assert!(WheelFilename::parse(".whl").is_err());
    }

    #[test]
    fn sdist_names_follow_pep_625() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(
            sdist_filename("Friendly.Bard", &v("1.0")),
            "friendly_bard-1.0.tar.gz"
        );
        assert_eq!(
            sdist_filename("a-b_c", &v("1.0-RC1")),
            "a_b_c-1.0rc1.tar.gz"
        );
        assert_eq!(sdist_filename("x", &v("1.0.0")), "x-1.0.0.tar.gz");
        assert_eq!(filename_name_part("Zope.Interface"), "zope_interface");
    }

    #[test]
    fn platform_tags_pypi_accepts() {
        for tag in [
            "any",
            "win32",
            "win_amd64",
            "win_arm64",
            "manylinux1_x86_64",
            "manylinux2010_i686",
            "manylinux2014_aarch64",
            "manylinux2014_ppc64",
            "manylinux_2_17_x86_64",
            "manylinux_2_28_aarch64",
            "manylinux_2_17_ppc64",
            "manylinux_2_39_riscv64",
            "musllinux_1_1_x86_64",
            "musllinux_1_2_armv7l",
            "macosx_10_9_x86_64",
            "macosx_10_15_universal2",
            "macosx_11_0_arm64",
            "macosx_14_0_arm64",
            "macosx_26_0_arm64",
            "ios_13_0_arm64_iphoneos",
            "ios_13_0_x86_64_iphonesimulator",
            "android_21_arm64_v8a",
            "android_24_x86",
            "pyemscripten_2026_0_wasm32",
            "linux_armv6l",
            "linux_armv7l",
        ] {
            assert!(pypi_accepts_platform_tag(tag), "{tag} should be accepted");
        }
    }

    #[test]
    fn platform_tags_pypi_rejects() {
        for tag in [
            "linux_x86_64",
            "linux_aarch64",
            "manylinux1_aarch64",
            "manylinux2014_riscv64",
            "musllinux_1_2_ppc64",
            "manylinux_2_17_sparc",
            "manylinux_x_17_x86_64",
            "macosx_11_1_arm64",
            "macosx_16_0_arm64",
            "macosx_10_9_sparc",
            "macosx_10_x86_64",
            "ios_13_0_arm64",
            "ios_13_0_armv7_iphoneos",
            "android_arm64_v8a",
            "android_21_mips",
            "freebsd_13_0_x86_64",
            "pyodide_2024_0_wasm32",
            "pyemscripten_2026_0_wasm64",
            "win_amd65",
            "",
            "ANY",
        ] {
            assert!(!pypi_accepts_platform_tag(tag), "{tag} should be rejected");
        }
    }
}
