//! PEP 440 versions and PEP 503 project names, as far as an upload needs them.
//!
//! PyPI compares a wheel's filename version with its metadata version as parsed
//! `packaging.version.Version` objects, so `1.0` and `1.0.0` are the same release while
//! `1.0` and `1.0.post0` are not. [`Version`]'s `PartialEq` follows those rules, and its
//! `Display` is the normalized form (`str(Version(...))` in `packaging`), which is what PEP 625
//! sdist filenames use.
//!
//! Parsing, normalisation and comparison are [`pep440_rs`]'s (the PEP 440 implementation
//! maturin and rattler use; uv's is its continuation). Its grammar is `packaging`'s
//! `VERSION_PATTERN`: the tests below hold it to `packaging`'s results and PEP 440's own
//! normalisation examples. One difference is kept on purpose: a release, pre-, post- or dev
//! number above `u64::MAX` (twenty digits) is refused, where `packaging` (Python integers)
//! accepts it. [`Version`] wraps the parsed value so that this crate's API does not change with
//! `pep440_rs`'s; [`Version::as_pep440`] gives the parts to callers who need them.

use std::fmt;
use std::str::FromStr;

pub use pep440_rs;

/// Normalizes a project name per PEP 503: runs of `-`, `_` and `.` become one `-`, and the
/// result is lowercase (`Foo.Bar__baz` → `foo-bar-baz`).
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    out
}

/// Whether `name` is a project name PyPI accepts: ASCII letters and digits, with `.`, `_`
/// and `-` allowed inside (not at either end).
pub fn is_valid_project_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A parsed PEP 440 version.
///
/// Equality follows `packaging`: trailing zeros of the release segment are ignored
/// (`1.0 == 1.0.0`), spellings are normalized (`1.0-RC1 == 1.0rc1`), everything else counts.
/// Ordering is PEP 440's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pep440_rs::Version);

/// A string that is not a PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a valid PEP 440 version: {reason}")]
pub struct VersionError {
    /// The text that failed to parse.
    pub input: String,
    /// What is wrong with it (already part of this error's message, so not its `source`).
    pub reason: pep440_rs::VersionParseError,
}

impl Version {
    /// Whether the version has a local label (`1.0+local`), which PyPI refuses.
    pub fn is_local(&self) -> bool {
        self.0.is_local()
    }

    /// The canonical form (`packaging.utils.canonicalize_version`): the normalized form with
    /// trailing zeros of the release dropped, so `1.0.0`, `1.0` and `1` all give `1`. Equal
    /// versions have equal canonical forms; PyPI identifies a release by it.
    pub fn canonical(&self) -> String {
        let release = self.0.release();
        let keep = release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(1, |i| i + 1)
            .min(release.len());
        let trimmed = release[..keep].to_vec();
        self.0.clone().with_release(trimmed).to_string()
    }

    /// The parsed parts (epoch, release, pre-, post-, dev- and local parts), as `pep440_rs` has them.
    pub fn as_pep440(&self) -> &pep440_rs::Version {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Parses like `packaging.version.Version`: case-insensitive, surrounding whitespace and a
    /// leading `v` allowed, every alternative spelling PEP 440 lists accepted and normalized.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        pep440_rs::Version::from_str(input)
            .map(Self)
            .map_err(|reason| VersionError {
                input: input.to_owned(),
                reason,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn names_normalize_like_pep_503() {
        assert_eq!(normalize_name("Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(normalize_name("friendly-bard"), "friendly-bard");
        assert_eq!(normalize_name("FRIENDLY_-.BARD"), "friendly-bard");
        assert_eq!(normalize_name("_x_"), "-x-");
        assert_eq!(normalize_name("Ünïcode"), "ünïcode");
    }

    #[test]
    fn project_names_follow_the_pypi_pattern() {
        for ok in ["a", "A1", "foo-bar", "foo.bar_baz", "9x"] {
            assert!(is_valid_project_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "ünï", "a/b", "_"] {
            assert!(!is_valid_project_name(bad), "{bad}");
        }
    }

    #[test]
    fn versions_normalize_like_packaging() {
        let cases = [
            ("1.0", "1.0"),
            ("v1.0", "1.0"),
            (" 1.0 ", "1.0"),
            ("1.0-RC1", "1.0rc1"),
            ("1.0.alpha.2", "1.0a2"),
            ("1.0beta", "1.0b0"),
            ("1.0c3", "1.0rc3"),
            ("1.0preview1", "1.0rc1"),
            ("1.0-1", "1.0.post1"),
            ("1.0.post", "1.0.post0"),
            ("1.0-r5", "1.0.post5"),
            ("1.0rev", "1.0.post0"),
            ("1.0a1.post2.dev3", "1.0a1.post2.dev3"),
            ("1.0-dev", "1.0.dev0"),
            ("1.0_dev_7", "1.0.dev7"),
            ("2!1.0", "2!1.0"),
            ("0!1.0", "1.0"),
            ("1.0+Ubuntu-1_2", "1.0+ubuntu.1.2"),
            ("1.0+007", "1.0+7"),
            ("01.002", "1.2"),
            ("1.0a.post1", "1.0a0.post1"),
            ("1.0a.", "1.0a0"),
            ("20240101120000", "20240101120000"),
        ];
        for (input, normalized) in cases {
            assert_eq!(v(input).to_string(), normalized, "{input}");
        }
    }

    #[test]
    fn equality_ignores_trailing_zeros_only() {
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("1"), v("1.0.0.0"));
        assert_eq!(v("1.0rc1"), v("1.0-RC-1"));
        assert_eq!(v("0"), v("0.0"));
        assert_ne!(v("1.0"), v("1.0.post0"));
        assert_ne!(v("1.0"), v("1.0.1"));
        assert_ne!(v("1.0"), v("1!1.0"));
        assert_ne!(v("1.0"), v("1.0+local"));
        assert_ne!(v("1.0a1"), v("1.0b1"));
        assert_ne!(v("1.0.dev1"), v("1.0"));
    }

    #[test]
    fn canonical_forms_drop_trailing_zeros() {
        assert_eq!(v("1.0.0").canonical(), "1");
        assert_eq!(v("1.0").canonical(), v("1").canonical());
        assert_eq!(v("0.0").canonical(), "0");
        assert_eq!(v("1.10.0").canonical(), "1.10");
        assert_eq!(
            v("2!1.0.0rc1.post0.dev2+loc").canonical(),
            "2!1rc1.post0.dev2+loc"
        );
        assert_eq!(v("1.0.1").canonical(), "1.0.1");
    }

    #[test]
    fn local_versions_are_detected() {
        assert!(v("1.0+abc.5").is_local());
        assert!(!v("1.0").is_local());
        assert_eq!(
            v("1.0+abc.5").as_pep440().local(),
            [
                pep440_rs::LocalSegment::String("abc".into()),
                pep440_rs::LocalSegment::Number(5)
            ]
        );
    }

    /// Every example of PEP 440's "Normalization" section, with the normal and canonical forms
    /// `packaging` 26.4 gives (`str(Version(s))`, `canonicalize_version(s)`).
    #[test]
    fn pep_440_normalization_examples() {
        let cases = [
            // Case sensitivity.
            ("1.1RC1", "1.1rc1", "1.1rc1"),
            ("1.0.0RC1", "1.0.0rc1", "1rc1"),
            // Integer normalization (local labels keep their text).
            ("00", "0", "0"),
            ("09000", "9000", "9000"),
            ("1.01.0010", "1.1.10", "1.1.10"),
            ("1.0+foo0100", "1.0+foo0100", "1+foo0100"),
            // Pre-release separators and spellings, implicit number.
            ("1.1.a1", "1.1a1", "1.1a1"),
            ("1.1-a1", "1.1a1", "1.1a1"),
            ("1.1_a1", "1.1a1", "1.1a1"),
            ("1.0a.1", "1.0a1", "1a1"),
            ("1.1alpha1", "1.1a1", "1.1a1"),
            ("1.1beta2", "1.1b2", "1.1b2"),
            ("1.1c3", "1.1rc3", "1.1rc3"),
            ("1.0-pre1", "1.0rc1", "1rc1"),
            ("1.0preview", "1.0rc0", "1rc0"),
            ("1.2a", "1.2a0", "1.2a0"),
            // Post-release separators and spellings, implicit number, implicit post-release.
            ("1.2-post2", "1.2.post2", "1.2.post2"),
            ("1.2post2", "1.2.post2", "1.2.post2"),
            ("1.2.post.2", "1.2.post2", "1.2.post2"),
            ("1.2.post-2", "1.2.post2", "1.2.post2"),
            ("1.2.post_2", "1.2.post2", "1.2.post2"),
            ("1.0-r4", "1.0.post4", "1.post4"),
            ("1.0-rev4", "1.0.post4", "1.post4"),
            ("1.2.post", "1.2.post0", "1.2.post0"),
            ("1.0-1", "1.0.post1", "1.post1"),
            // Development release separators, implicit number.
            ("1.2-dev2", "1.2.dev2", "1.2.dev2"),
            ("1.2dev2", "1.2.dev2", "1.2.dev2"),
            ("1.2.dev.2", "1.2.dev2", "1.2.dev2"),
            ("1.2.dev", "1.2.dev0", "1.2.dev0"),
            // Local version segments.
            ("1.0+ubuntu-1", "1.0+ubuntu.1", "1+ubuntu.1"),
            ("1.0+ubuntu_1", "1.0+ubuntu.1", "1+ubuntu.1"),
            ("1.0.0+0", "1.0.0+0", "1+0"),
            // Preceding v, surrounding whitespace.
            ("v1.0", "1.0", "1"),
            ("1.0\n", "1.0", "1"),
            ("\t1.0 ", "1.0", "1"),
            // Epochs and every part at once.
            ("1!1.0.0.0", "1!1.0.0.0", "1!1"),
            (
                "2.0.0.0rc0.post0.dev0+0.0",
                "2.0.0.0rc0.post0.dev0+0.0",
                "2rc0.post0.dev0+0.0",
            ),
        ];
        for (input, normalized, canonical) in cases {
            assert_eq!(v(input).to_string(), normalized, "{input:?}");
            assert_eq!(v(input).canonical(), canonical, "{input:?}");
        }
    }

    #[test]
    fn comparisons_follow_packaging() {
        assert_eq!(v("1.0+1"), v("1.0+01"));
        assert_eq!(v("1.0+ABC"), v("1.0+abc"));
        assert_eq!(v("1.0a0"), v("1.0a"));
        assert_eq!(v("1.0.post0"), v("1.0-0"));
        assert_ne!(v("1.0+0"), v("1.0"));
        assert!(v("1.0") < v("1.0.post0"));
        assert!(v("1.0.dev0") < v("1.0a0"));
        assert!(v("1.0+a") < v("1.0+1"));
        let hash = |version: &Version| {
            use std::hash::{BuildHasher as _, BuildHasherDefault, DefaultHasher};
            BuildHasherDefault::<DefaultHasher>::default().hash_one(version)
        };
        assert_eq!(hash(&v("1.0")), hash(&v("1.0.0")));
    }

    #[test]
    fn invalid_versions_are_rejected_with_the_reason() {
        let error = |s: &str| s.parse::<Version>().unwrap_err().to_string();
        insta::assert_snapshot!(error("one"), @"'one' is not a valid PEP 440 version: expected version to start with a number, but no leading ASCII digits were found");
        insta::assert_snapshot!(error("1.0-foo"), @"'1.0-foo' is not a valid PEP 440 version: after parsing `1.0`, found `-foo`, which is not part of a valid version");
        insta::assert_snapshot!(error("1.0+"), @"'1.0+' is not a valid PEP 440 version: found a `+` indicating the start of a local component in a version, but did not find any alphanumeric ASCII segment following the `+`");
        insta::assert_snapshot!(error("99999999999999999999999"), @r#"'99999999999999999999999' is not a valid PEP 440 version: expected number less than or equal to 18446744073709551615, but number found in "99999999999999999999999" exceeds it"#);
        for bad in [
            "",
            "1.",
            "1..0",
            ".1",
            "1.0.",
            "1!",
            "1.0 rc1",
            "1.0ä",
            "1.0+a..b",
            "1.0+a_",
            "1.0-",
            "1.0.*",
            "1!2!3",
            "vv1.0",
            "v 1.0",
            "1.0a1b2",
            "1.0.post1.post2",
            "1.0.dev1a1",
            "1.0+a+b",
            "1.0+-a",
            "1.0+a.",
            "١.0",
            "1.０",
            "1.0 +local",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} should not parse");
        }
    }
}
