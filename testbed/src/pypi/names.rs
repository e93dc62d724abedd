//! Project names (PEP 503/508) and versions (PEP 440) as `packaging` reads them.

use std::fmt;

/// PEP 503 normalization: runs of `-`, `_`, `.` become `-`, lowercase.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

/// The normalized name with `_` for `-`: the prefix of wheel and sdist file names.
pub(crate) fn filename_prefix(name: &str) -> String {
    normalize(name).replace('-', "_")
}

/// `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitive.
pub(crate) fn is_valid_name(name: &str) -> bool {
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

/// A parsed PEP 440 version; `Display` gives `packaging`'s canonical string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(&'static str, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Option<String>,
}

impl Version {
    /// Parses like `packaging.version.Version` (leading `v`, alternative spellings and separators accepted).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let mut scanner = Scanner {
            text: lower.as_bytes(),
            at: 0,
        };
        scanner.eat(b"v");
        let first = scanner.number()?;
        let (epoch, mut release) = if scanner.eat(b"!") {
            (first, vec![scanner.number()?])
        } else {
            (0, vec![first])
        };
        loop {
            let save = scanner.at;
            if scanner.eat(b".")
                && let Some(part) = scanner.number()
            {
                release.push(part);
                continue;
            }
            scanner.at = save;
            break;
        }
        let pre = scanner
            .labelled(&[
                ("alpha", "a"),
                ("a", "a"),
                ("beta", "b"),
                ("b", "b"),
                ("preview", "rc"),
                ("pre", "rc"),
                ("rc", "rc"),
                ("c", "rc"),
            ])
            .map(|(label, number)| (label, number.unwrap_or(0)));
        let post = {
            let save = scanner.at;
            if scanner.eat(b"-") && scanner.peek_digit() {
                scanner.number()
            } else {
                scanner.at = save;
                scanner
                    .labelled(&[("post", "post"), ("rev", "post"), ("r", "post")])
                    .map(|(_, number)| number.unwrap_or(0))
            }
        };
        let dev = scanner
            .labelled(&[("dev", "dev")])
            .map(|(_, number)| number.unwrap_or(0));
        let local = if scanner.eat(b"+") {
            let rest = std::str::from_utf8(&scanner.text[scanner.at..]).ok()?;
            let parts: Vec<&str> = rest.split(['-', '_', '.']).collect();
            if parts
                .iter()
                .any(|part| part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return None;
            }
            scanner.at = scanner.text.len();
            Some(parts.join("."))
        } else {
            None
        };
        (scanner.at == scanner.text.len()).then_some(Self {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// PEP 440 equality: `1.0 == 1.0.0`.
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        let trimmed = |release: &[u64]| {
            let end = release
                .iter()
                .rposition(|part| *part != 0)
                .map_or(0, |at| at + 1);
            release[..end].to_vec()
        };
        self.epoch == other.epoch
            && trimmed(&self.release) == trimmed(&other.release)
            && self.pre == other.pre
            && self.post == other.post
            && self.dev == other.dev
            && self.local == other.local
    }

    /// Whether the version has a `+local` part.
    pub(crate) fn is_local(&self) -> bool {
        self.local.is_some()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        let release: Vec<String> = self.release.iter().map(u64::to_string).collect();
        f.write_str(&release.join("."))?;
        if let Some((label, number)) = self.pre {
            write!(f, "{label}{number}")?;
        }
        if let Some(post) = self.post {
            write!(f, ".post{post}")?;
        }
        if let Some(dev) = self.dev {
            write!(f, ".dev{dev}")?;
        }
        if let Some(local) = &self.local {
            write!(f, "+{local}")?;
        }
        Ok(())
    }
}

struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn eat(&mut self, token: &[u8]) -> bool {
        if self.text[self.at..].starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn peek_digit(&self) -> bool {
        self.text.get(self.at).is_some_and(u8::is_ascii_digit)
    }

    fn number(&mut self) -> Option<u64> {
        let start = self.at;
        while self.peek_digit() {
            self.at += 1;
        }
        std::str::from_utf8(&self.text[start..self.at])
            .ok()
            .filter(|digits| !digits.is_empty())?
            .parse()
            .ok()
    }

    fn separator(&mut self) -> bool {
        self.eat(b"-") || self.eat(b"_") || self.eat(b".")
    }

    /// `[-_.]?(label)[-_.]?(digits)?`, restoring the position if no label follows.
    fn labelled(&mut self, labels: &[(&str, &'static str)]) -> Option<(&'static str, Option<u64>)> {
        let save = self.at;
        self.separator();
        let Some(canonical) = labels
            .iter()
            .find_map(|(spelling, canonical)| self.eat(spelling.as_bytes()).then_some(*canonical))
        else {
            self.at = save;
            return None;
        };
        let before_number = self.at;
        self.separator();
        if self.peek_digit() {
            return Some((canonical, self.number()));
        }
        self.at = before_number;
        Some((canonical, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalize("Sample.Project__x"), "sample-project-x");
        assert_eq!(filename_prefix("Sample.Project"), "sample_project");
        assert!(is_valid_name("a"));
        assert!(is_valid_name("sample-project.2"));
        assert!(!is_valid_name("-bad"));
        assert!(!is_valid_name("bad-"));
        assert!(!is_valid_name("sp ace"));
        assert!(!is_valid_name(""));
    }

    #[test]
    fn versions_normalize_like_packaging() {
        let canonical = |text: &str| Version::parse(text).map(|v| v.to_string());
        assert_eq!(canonical("1.0").as_deref(), Some("1.0"));
        assert_eq!(canonical("v1.0.0").as_deref(), Some("1.0.0"));
        assert_eq!(canonical("1.0.0-Alpha.1").as_deref(), Some("1.0.0a1"));
        assert_eq!(canonical("1.0c2").as_deref(), Some("1.0rc2"));
        assert_eq!(canonical("1.0-1").as_deref(), Some("1.0.post1"));
        assert_eq!(canonical("1.0.rev").as_deref(), Some("1.0.post0"));
        assert_eq!(canonical("1.0-dev3").as_deref(), Some("1.0.dev3"));
        assert_eq!(canonical("2!01.002b").as_deref(), Some("2!1.2b0"));
        assert_eq!(canonical("1.0+Ubuntu-1").as_deref(), Some("1.0+ubuntu.1"));
        assert_eq!(canonical("1.0a."), None);
        assert_eq!(canonical("1.0."), None);
        assert_eq!(canonical("UNKNOWN"), None);
        assert_eq!(canonical("1.0+"), None);
        assert!(Version::parse("1.0+local").unwrap().is_local());
        assert!(
            Version::parse("1.0")
                .unwrap()
                .same_as(&Version::parse("1.0.0").unwrap())
        );
        assert!(
            !Version::parse("1.0")
                .unwrap()
                .same_as(&Version::parse("1.0.1").unwrap())
        );
    }
}
