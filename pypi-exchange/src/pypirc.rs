//! `.pypirc`: named repositories and their credentials, read the way twine reads them.
//!
//! twine (`twine.utils.get_config`) reads the file with Python's `RawConfigParser` (no
//! interpolation): `[distutils] index-servers` lists the sections to use (default
//! `pypi testpypi`), each section may set `repository`, `username` and `password`, and
//! `[server-login]` gives default credentials. `pypi` always has PyPI's upload URL and
//! `testpypi` TestPyPI's (when listed), so neither needs a section. Flags and environment
//! variables win over the file; resolving that is the caller's job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oidc_core::Secret;

use crate::index::{PYPI_UPLOAD_URL, TESTPYPI_UPLOAD_URL};

/// The most of a `.pypirc` read.
const MAX_BYTES: u64 = 1024 * 1024;

/// One repository of a `.pypirc`.
#[derive(Debug, Clone, Default)]
pub struct Repository {
    /// The upload URL.
    pub repository: Option<String>,
    /// The username.
    pub username: Option<String>,
    /// The password or token (never printed).
    pub password: Option<Secret>,
}

/// Why a repository could not be taken from a `.pypirc`.
#[derive(Debug, thiserror::Error)]
pub enum PypircError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A line is not INI.
    #[error("{path}:{line}: {reason}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The repository is neither built in nor listed.
    #[error(
        "missing '{name}' section from {path} (the sections used are those in `[distutils] index-servers`: {listed}). More info: https://packaging.python.org/specifications/pypirc/"
    )]
    MissingSection {
        /// The repository asked for.
        name: String,
        /// The file.
        path: PathBuf,
        /// The sections listed.
        listed: String,
    },
    /// The section has no upload URL.
    #[error(
        "the '{name}' section of {path} has no `repository` (the upload URL): add `repository = https://…`, or pass --repository-url"
    )]
    NoUrl {
        /// The repository.
        name: String,
        /// The file.
        path: PathBuf,
    },
}

/// A parsed `.pypirc` (or none: a missing file at the default path is an empty one).
#[derive(Debug, Clone)]
pub struct Pypirc {
    path: PathBuf,
    sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl Pypirc {
    /// Reads `path`. A missing file is an error only when `required` (an explicit
    /// `--config-file`), as in twine.
    pub fn load(path: &Path, required: bool) -> Result<Self, PypircError> {
        let read_error = |reason: String| PypircError::Read {
            path: path.to_owned(),
            reason,
        };
        let text = match fs_err::metadata(path) {
            Ok(meta) if meta.len() > MAX_BYTES => {
                return Err(read_error(format!("it is larger than {MAX_BYTES} bytes")));
            }
            Ok(_) => fs_err::read_to_string(path).map_err(|err| read_error(err.to_string()))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => String::new(),
            Err(err) => return Err(read_error(err.to_string())),
        };
        Self::parse(path, &text)
    }

    /// Parses `.pypirc` text as `RawConfigParser` does: `[section]`, `key = value` or
    /// `key: value` (keys are case-insensitive), `#`/`;` comment lines, indented continuation
    /// lines.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PypircError> {
        let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut section: Option<String> = None;
        let mut last_key: Option<String> = None;
        for (n, raw) in text.lines().enumerate() {
            let syntax = |reason: &str| PypircError::Syntax {
                path: path.to_owned(),
                line: n + 1,
                reason: reason.to_owned(),
            };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                if trimmed.is_empty() {
                    last_key = None;
                }
                continue;
            }
            if raw.starts_with([' ', '\t'])
                && let (Some(name), Some(key)) = (&section, &last_key)
                && let Some(value) = sections.get_mut(name).and_then(|s| s.get_mut(key))
            {
                if !value.is_empty() {
                    value.push('\n');
                }
                value.push_str(trimmed);
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[') {
                let name = name
                    .strip_suffix(']')
                    .ok_or_else(|| syntax("a section header must end with `]`"))?;
                sections.entry(name.to_owned()).or_default();
                section = Some(name.to_owned());
                last_key = None;
                continue;
            }
            let Some(name) = &section else {
                return Err(syntax("a value before any [section]"));
            };
            let at = trimmed
                .find(['=', ':'])
                .ok_or_else(|| syntax("expected `key = value`"))?;
            let key = trimmed[..at].trim().to_ascii_lowercase();
            let value = trimmed[at + 1..].trim().to_owned();
            sections
                .entry(name.clone())
                .or_default()
                .insert(key.clone(), value);
            last_key = Some(key);
        }
        Ok(Self {
            path: path.to_owned(),
            sections,
        })
    }

    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections.get(section)?.get(key).map(String::as_str)
    }

    /// The repository called `name` (twine's `get_repository_from_config`).
    pub fn repository(&self, name: &str) -> Result<Repository, PypircError> {
        let listed: Vec<&str> = self
            .get("distutils", "index-servers")
            .unwrap_or("pypi testpypi")
            .split_whitespace()
            .collect();
        let mut repository = Repository {
            repository: None,
            username: self.get("server-login", "username").map(str::to_owned),
            password: self.get("server-login", "password").map(Secret::new),
        };
        let built_in = match name {
            "pypi" => Some(PYPI_UPLOAD_URL),
            "testpypi" if listed.contains(&"testpypi") => Some(TESTPYPI_UPLOAD_URL),
            _ => None,
        };
        if !listed.contains(&name) && built_in.is_none() {
            return Err(PypircError::MissingSection {
                name: name.to_owned(),
                path: self.path.clone(),
                listed: listed.join(" "),
            });
        }
        repository.repository = built_in.map(str::to_owned);
        if listed.contains(&name) {
            if let Some(url) = self.get(name, "repository") {
                repository.repository = Some(url.to_owned());
            }
            if let Some(username) = self.get(name, "username") {
                repository.username = Some(username.to_owned());
            }
            if let Some(password) = self.get(name, "password") {
                repository.password = Some(Secret::new(password));
            }
        }
        if repository.repository.is_none() {
            return Err(PypircError::NoUrl {
                name: name.to_owned(),
                path: self.path.clone(),
            });
        }
        Ok(repository)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Pypirc {
        Pypirc::parse(Path::new("/home/u/.pypirc"), text).unwrap()
    }

    #[test]
    fn reads_sections_as_twine_does() {
        let rc = parse(
            "[distutils]\nindex-servers =\n    pypi\n    private\n\n[pypi]\nusername = __token__\npassword = pypi-secret\n\n[private]\nRepository: http://127.0.0.1:8080/\nusername=alice\npassword = s3cret ; not a comment\n# a comment\n",
        );
        let private = rc.repository("private").unwrap();
        assert_eq!(
            private.repository.as_deref(),
            Some("http://127.0.0.1:8080/")
        );
        assert_eq!(private.username.as_deref(), Some("alice"));
        assert_eq!(private.password.unwrap().expose(), "s3cret ; not a comment");
        let pypi = rc.repository("pypi").unwrap();
        assert_eq!(pypi.repository.as_deref(), Some(PYPI_UPLOAD_URL));
        assert_eq!(pypi.password.unwrap().expose(), "pypi-secret");
        // testpypi is built in only when listed.
        let err = rc.repository("testpypi").unwrap_err().to_string();
        assert!(
            err.starts_with("missing 'testpypi' section from /home/u/.pypirc"),
            "{err}"
        );
    }

    #[test]
    fn built_ins_and_server_login() {
        let rc = parse("[server-login]\nusername = bob\npassword = pw\n");
        let test = rc.repository("testpypi").unwrap();
        assert_eq!(test.repository.as_deref(), Some(TESTPYPI_UPLOAD_URL));
        assert_eq!(test.username.as_deref(), Some("bob"));
        assert!(rc.repository("private").is_err());
        let rc = parse("[distutils]\nindex-servers = nourl\n[nourl]\nusername = x\n");
        assert!(matches!(
            rc.repository("nourl"),
            Err(PypircError::NoUrl { .. })
        ));
    }

    #[test]
    fn secrets_stay_secret_and_bad_lines_are_named() {
        let rc = parse(
            "[distutils]\nindex-servers = p\n[p]\nrepository = https://x/\npassword = hunter2\n",
        );
        let repo = rc.repository("p").unwrap();
        assert!(!format!("{repo:?}").contains("hunter2"));
        let err = Pypirc::parse(Path::new("rc"), "[p]\nno separator here\n").unwrap_err();
        assert_eq!(err.to_string(), "rc:2: expected `key = value`");
        let missing = Pypirc::load(Path::new("/nonexistent/.pypirc"), false).unwrap();
        assert!(missing.repository("pypi").is_ok());
        assert!(Pypirc::load(Path::new("/nonexistent/.pypirc"), true).is_err());
    }
}
