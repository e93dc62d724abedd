//! `.pypirc`: named repositories and their credentials, read the way twine reads them.
//!
//! twine (`twine.utils.get_config`) reads the file with Python's `RawConfigParser` (no
//! interpolation): `[distutils] index-servers` lists the sections to use (default
//! `pypi testpypi`), each section may set `repository`, `username` and `password`, and
//! `[server-login]` gives default credentials. `pypi` always has PyPI's upload URL and
//! `testpypi` TestPyPI's (when listed), so neither needs a section. Flags and environment
//! variables win over the file: [`Target::resolve`] and [`Target::credentials`] apply twine's
//! order, with one difference for CI (the file is read only when asked for).

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
    /// `--repository` without `--config-file`, and no home directory to find `~/.pypirc` in.
    #[error("--repository {name}: HOME is not set, so there is no ~/.pypirc; pass --config-file")]
    NoHome {
        /// The repository asked for.
        name: String,
    },
    /// A username without a password.
    #[error(
        "--user {user} was given without --password: trusted publishing always uploads as __token__; drop --user, or give the password"
    )]
    UserWithoutPassword {
        /// The username.
        user: String,
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

/// Where to upload and the credentials that come with it, before flags and variables.
#[derive(Debug, Clone)]
pub struct Target {
    /// The upload URL.
    pub upload_url: String,
    /// The `.pypirc` username, if any.
    pub username: Option<String>,
    /// The `.pypirc` password, if any.
    pub password: Option<Secret>,
    /// ` (from the `NAME` section of FILE)`, for messages; empty when no file was read.
    pub source: String,
}

impl Target {
    /// The upload URL, as twine finds it: `repository_url` (`--repository-url`,
    /// `TWINE_REPOSITORY_URL`) wins and brings no credentials; otherwise `repository`
    /// (`--repository NAME`, `TWINE_REPOSITORY`) from the `.pypirc` (`config_file`, or
    /// `~/.pypirc` under `home`); otherwise PyPI. Unlike twine, the `.pypirc` is read only when
    /// `repository` or `config_file` asks for it: a stale `~/.pypirc` on a runner must not turn
    /// trusted publishing off by itself.
    pub fn resolve(
        repository_url: Option<&str>,
        repository: Option<&str>,
        config_file: Option<&Path>,
        home: Option<&str>,
    ) -> Result<Self, PypircError> {
        let plain = |url: &str| Self {
            upload_url: url.to_owned(),
            username: None,
            password: None,
            source: String::new(),
        };
        if let Some(url) = repository_url.filter(|u| !u.is_empty()) {
            return Ok(plain(url));
        }
        if repository.is_none() && config_file.is_none() {
            return Ok(plain(PYPI_UPLOAD_URL));
        }
        let name = repository.unwrap_or("pypi");
        let (path, required) = match (config_file, home.filter(|h| !h.is_empty())) {
            (Some(path), _) => (path.to_path_buf(), true),
            (None, Some(home)) => (Path::new(home).join(".pypirc"), false),
            (None, None) => {
                return Err(PypircError::NoHome {
                    name: name.to_owned(),
                });
            }
        };
        let found = Pypirc::load(&path, required)?.repository(name)?;
        Ok(Self {
            upload_url: found.repository.unwrap_or_default(),
            username: found.username,
            password: found.password,
            source: format!(" (from the `{name}` section of {})", path.display()),
        })
    }

    /// The credentials, as twine finds them: `user` and `password` (flags, `TWINE_USERNAME`,
    /// `TWINE_PASSWORD`, `PYPI_TOKEN`) win over the `.pypirc`'s; without a password, trusted
    /// publishing. A username without a password is refused: trusted publishing always
    /// uploads as `__token__`.
    pub fn credentials(
        self,
        user: Option<String>,
        password: Option<Secret>,
    ) -> Result<crate::publish::Credentials, PypircError> {
        let user = user
            .filter(|u| !u.is_empty())
            .or(self.username)
            .unwrap_or_else(|| "__token__".to_owned());
        let password = password
            .filter(|p| !p.expose().is_empty())
            .or(self.password.filter(|p| !p.expose().is_empty()));
        match password {
            Some(password) => Ok(crate::publish::Credentials::Token {
                username: user,
                password,
            }),
            None if user != "__token__" => Err(PypircError::UserWithoutPassword { user }),
            None => Ok(crate::publish::Credentials::Trusted),
        }
    }
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
        let text = match std::fs::File::open(path) {
            Ok(file) => {
                let bytes = oidc_core::bounded::read_capped(file, MAX_BYTES)
                    .map_err(|err| read_error(err.to_string()))?
                    .ok_or_else(|| read_error(format!("it is larger than {MAX_BYTES} bytes")))?;
                String::from_utf8(bytes)
                    .map_err(|err| read_error(format!("it is not UTF-8 text: {err}")))?
            }
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
    use crate::publish::Credentials;

    #[test]
    fn an_oversized_file_is_refused_without_reading_it_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".pypirc");
        std::fs::write(&path, vec![b'#'; MAX_BYTES as usize + 1]).unwrap();
        let err = Pypirc::load(&path, true).unwrap_err().to_string();
        assert!(err.contains("larger than"), "{err}");
    }

    #[test]
    fn targets_and_credentials_follow_twine() {
        // The URL wins and brings no credentials; nothing asked for: PyPI, no file read.
        let target = Target::resolve(Some("https://example.org/legacy/"), Some("x"), None, None);
        assert_eq!(target.unwrap().upload_url, "https://example.org/legacy/");
        let target = Target::resolve(None, None, None, Some("/nonexistent-home")).unwrap();
        assert_eq!(target.upload_url, PYPI_UPLOAD_URL);
        assert!(matches!(
            target.clone().credentials(None, None),
            Ok(Credentials::Trusted)
        ));
        // A named repository needs a file to be found in.
        let err = Target::resolve(None, Some("private"), None, None).unwrap_err();
        assert!(matches!(err, PypircError::NoHome { .. }), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join(".pypirc");
        std::fs::write(
            &rc,
            "[distutils]\nindex-servers = private\n[private]\nrepository = https://i.example/\nusername = alice\npassword = from-file\n",
        )
        .unwrap();
        let home = dir.path().to_str().unwrap();
        let target = Target::resolve(None, Some("private"), None, Some(home)).unwrap();
        assert_eq!(target.upload_url, "https://i.example/");
        assert!(
            target.source.contains("`private` section"),
            "{}",
            target.source
        );
        // Flags win over the file; an empty flag does not count.
        match target
            .clone()
            .credentials(Some(String::new()), Some(Secret::new("from-flag")))
            .unwrap()
        {
            Credentials::Token { username, password } => {
                assert_eq!(username, "alice");
                assert_eq!(password.expose(), "from-flag");
            }
            other => panic!("{other:?}"),
        }
        // A user without any password cannot use trusted publishing.
        let bare = Target::resolve(None, None, None, None).unwrap();
        let err = bare.credentials(Some("bob".into()), None).unwrap_err();
        assert!(
            matches!(err, PypircError::UserWithoutPassword { .. }),
            "{err}"
        );
    }

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
