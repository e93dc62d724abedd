//! PEP 440 versions and PEP 503 project names, as far as an upload needs them.
//!
//! PyPI compares a wheel's filename version with its metadata version as parsed
//! `packaging.version.Version` objects, so `1.0` and `1.0.0` are the same release while
//! `1.0` and `1.0.post0` are not. [`Version`]'s `PartialEq` follows those rules, and its
//! `Display` is the normalized form (`str(Version(...))` in `packaging`), which is what PEP 625
//! sdist filenames use.

use std::fmt;
use std::str::FromStr;

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

/// A pre-release marker (`a`, `b` or `rc`), already normalized from its spellings
/// (`alpha`, `beta`, `c`, `pre`, `preview`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PreRelease {
    /// Alpha (`a`, `alpha`).
    Alpha,
    /// Beta (`b`, `beta`).
    Beta,
    /// Release candidate (`rc`, `c`, `pre`, `preview`).
    ReleaseCandidate,
}

impl PreRelease {
    /// The normalized spelling: `a`, `b` or `rc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alpha => "a",
            Self::Beta => "b",
            Self::ReleaseCandidate => "rc",
        }
    }
}

/// One dot-separated part of a local version label (`+ubuntu.1` has `ubuntu` and `1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalSegment {
    /// A purely numeric part, compared as a number.
    Number(u64),
    /// Any other part, lowercased.
    Text(String),
}

/// A parsed PEP 440 version.
///
/// Equality follows `packaging`: trailing zeros of the release segment are ignored
/// (`1.0 == 1.0.0`), spellings are normalized (`1.0-RC1 == 1.0rc1`), everything else counts.
#[derive(Debug, Clone)]
pub struct Version {
    /// The epoch (`2!1.0` has epoch 2); 0 when absent.
    pub epoch: u64,
    /// The release numbers (`1.2.3` → `[1, 2, 3]`); never empty.
    pub release: Vec<u64>,
    /// The pre-release marker and number, if any.
    pub pre: Option<(PreRelease, u64)>,
    /// The post-release number, if any.
    pub post: Option<u64>,
    /// The development release number, if any.
    pub dev: Option<u64>,
    /// The local version label (after `+`); empty when absent.
    pub local: Vec<LocalSegment>,
}

/// A string that is not a PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a valid PEP 440 version: {reason}")]
pub struct VersionError {
    /// The text that failed to parse.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Version {
    /// Whether the version has a local label (`1.0+local`), which PyPI refuses.
    pub fn is_local(&self) -> bool {
        !self.local.is_empty()
    }

    /// The canonical form (`packaging.utils.canonicalize_version`): the normalized form with
    /// trailing zeros of the release dropped, so `1.0.0`, `1.0` and `1` all give `1`. Equal
    /// versions have equal canonical forms; PyPI identifies a release by it.
    pub fn canonical(&self) -> String {
        let mut canonical = self.clone();
        let keep = self.release_key().len().max(1);
        canonical.release.truncate(keep);
        canonical.to_string()
    }

    /// The release numbers without trailing zeros, as compared by `packaging`.
    fn release_key(&self) -> &[u64] {
        let end = self
            .release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(0, |i| i + 1);
        &self.release[..end]
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.epoch == other.epoch
            && self.release_key() == other.release_key()
            && self.pre == other.pre
            && self.post == other.post
            && self.dev == other.dev
            && self.local == other.local
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        for (i, n) in self.release.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        if let Some((kind, n)) = self.pre {
            write!(f, "{}{n}", kind.as_str())?;
        }
        if let Some(n) = self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = self.dev {
            write!(f, ".dev{n}")?;
        }
        for (i, segment) in self.local.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            match segment {
                LocalSegment::Number(n) => write!(f, "{n}")?,
                LocalSegment::Text(t) => f.write_str(t)?,
            }
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        let lower = trimmed.to_ascii_lowercase();
        let mut parser = Parser {
            s: lower.as_bytes(),
            pos: 0,
        };
        parser.parse().map_err(|reason| VersionError {
            input: input.to_owned(),
            reason: match reason {
                Failure::Expected(what) => format!(
                    "expected {what} at '{}'",
                    // The parser only steps over ASCII bytes, so `pos` is a char boundary.
                    trimmed.get(parser.pos..).unwrap_or_default()
                ),
                Failure::TooLarge => "a number in it is too large".to_owned(),
            },
        })
    }
}

enum Failure {
    Expected(&'static str),
    TooLarge,
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

const PRE_LABELS: &[(&str, PreRelease)] = &[
    ("alpha", PreRelease::Alpha),
    ("beta", PreRelease::Beta),
    ("preview", PreRelease::ReleaseCandidate),
    ("pre", PreRelease::ReleaseCandidate),
    ("rc", PreRelease::ReleaseCandidate),
    ("a", PreRelease::Alpha),
    ("b", PreRelease::Beta),
    ("c", PreRelease::ReleaseCandidate),
];

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, text: &str) -> bool {
        if self.s[self.pos..].starts_with(text.as_bytes()) {
            self.pos += text.len();
            true
        } else {
            false
        }
    }

    fn eat_separator(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn number(&mut self) -> Result<Option<u64>, Failure> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return Ok(None);
        }
        let mut value: u64 = 0;
        for &digit in &self.s[start..self.pos] {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(digit - b'0')))
                .ok_or(Failure::TooLarge)?;
        }
        Ok(Some(value))
    }

    /// An optional separator and label; on no match the position is left unchanged.
    fn label<'l, T: Copy>(&mut self, labels: &'l [(&'l str, T)]) -> Option<T> {
        let start = self.pos;
        self.eat_separator();
        for &(text, value) in labels {
            if self.eat(text) {
                return Some(value);
            }
        }
        self.pos = start;
        None
    }

    /// The optional `[-_.]?N` after a pre/post/dev label; a missing number means 0.
    ///
    /// Like `packaging`'s pattern, the separator belongs to the label even without a number
    /// (`1.0a.` is `1.0a0`); every later part starts with an optional separator of its own.
    fn label_number(&mut self) -> Result<u64, Failure> {
        self.eat_separator();
        Ok(self.number()?.unwrap_or(0))
    }

    fn parse(&mut self) -> Result<Version, Failure> {
        self.eat("v");
        let first = self
            .number()?
            .ok_or(Failure::Expected("a release number"))?;
        let mut epoch = 0;
        let mut release = vec![first];
        if self.eat("!") {
            epoch = first;
            release = vec![
                self.number()?
                    .ok_or(Failure::Expected("a release number"))?,
            ];
        }
        while self.peek() == Some(b'.') && self.s.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
        {
            self.pos += 1;
            if let Some(n) = self.number()? {
                release.push(n);
            }
        }
        let pre = match self.label(PRE_LABELS) {
            Some(kind) => Some((kind, self.label_number()?)),
            None => None,
        };
        let post = self.post()?;
        let dev = match self.label(&[("dev", ())]) {
            Some(()) => Some(self.label_number()?),
            None => None,
        };
        let mut local = Vec::new();
        if self.eat("+") {
            loop {
                let start = self.pos;
                while self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
                    self.pos += 1;
                }
                if start == self.pos {
                    return Err(Failure::Expected("a local version segment"));
                }
                let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
                local.push(if text.bytes().all(|b| b.is_ascii_digit()) {
                    LocalSegment::Number(text.parse().map_err(|_| Failure::TooLarge)?)
                } else {
                    LocalSegment::Text(text)
                });
                if !self.eat_separator() {
                    break;
                }
            }
        }
        if self.pos != self.s.len() {
            return Err(Failure::Expected(
                "the end of the version (a pre-, post-, dev- or local part)",
            ));
        }
        Ok(Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    fn post(&mut self) -> Result<Option<u64>, Failure> {
        let start = self.pos;
        if self.eat("-") {
            if let Some(n) = self.number()? {
                return Ok(Some(n));
            }
            self.pos = start;
        }
        match self.label(&[("post", ()), ("rev", ()), ("r", ())]) {
            Some(()) => Ok(Some(self.label_number()?)),
            None => Ok(None),
        }
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
            v("1.0+abc.5").local,
            vec![LocalSegment::Text("abc".into()), LocalSegment::Number(5)]
        );
    }

    #[test]
    fn invalid_versions_are_rejected_with_the_reason() {
        let error = |s: &str| s.parse::<Version>().unwrap_err().to_string();
        insta::assert_snapshot!(error("one"), @"'one' is not a valid PEP 440 version: expected a release number at 'one'");
        insta::assert_snapshot!(error("1.0-foo"), @"'1.0-foo' is not a valid PEP 440 version: expected the end of the version (a pre-, post-, dev- or local part) at '-foo'");
        insta::assert_snapshot!(error("1.0+"), @"'1.0+' is not a valid PEP 440 version: expected a local version segment at ''");
        insta::assert_snapshot!(error("99999999999999999999999"), @"'99999999999999999999999' is not a valid PEP 440 version: a number in it is too large");
        for bad in [
            "", "1.", "1..0", ".1", "1.0.", "1!", "1.0 rc1", "1.0ä", "1.0+a..b", "1.0+a_", "1.0-",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} should not parse");
        }
    }
}
