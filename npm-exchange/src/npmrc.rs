//! npm's configuration, as far as publishing needs it: the registry and the registry token.
//!
//! npm layers its settings (command line > `npm_config_*` environment > project `./.npmrc` >
//! user `~/.npmrc` or `NPM_CONFIG_USERCONFIG` > built-in default) and finds a token by the
//! registry's "nerf dart": `//host[:port]/path/` of the registry URL, so
//! `//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}` (what `actions/setup-node` writes) is
//! the token for `https://registry.npmjs.org/` and for no other registry. `${VAR}` expands from
//! the environment (`${VAR?}` to an empty string when unset); an unset `${VAR}` stays literal,
//! as in `@npmcli/config`.
//!
//! ```
//! use npm_exchange::npmrc::{Npmrc, nerf_dart};
//! use oidc_core::MapEnv;
//!
//! let env = MapEnv::new().with("NODE_AUTH_TOKEN", "npm_abc");
//! let rc = Npmrc::parse("//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\n", &env);
//! let url = url::Url::parse("https://registry.npmjs.org/").unwrap();
//! assert_eq!(nerf_dart(&url), "//registry.npmjs.org/");
//! assert_eq!(rc.get("//registry.npmjs.org/:_authToken"), Some("npm_abc"));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use oidc_core::{Environment, Secret};
use url::Url;

use crate::registry::NpmRegistry;

/// The placeholder `actions/setup-node` puts in `NODE_AUTH_TOKEN` when a workflow sets
/// `registry-url` without a token: never a real credential.
pub const SETUP_NODE_PLACEHOLDER: &str = "XXXXX-XXXXX-XXXXX-XXXXX";

/// The largest `.npmrc` read (they are a few lines; anything bigger is not one).
const MAX_NPMRC_BYTES: u64 = 1024 * 1024;

/// One `.npmrc` file's `key = value` lines (sections and array keys ignored), with `${VAR}`
/// expanded in keys and values. Credential values (`_authToken`, `_auth`, `_password`) are
/// held as [`Secret`]s from the moment they are parsed, so `Debug` never shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Npmrc {
    entries: Vec<(String, Value)>,
}

/// A value of an `.npmrc` line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Plain(String),
    Credential(Secret),
}

impl Value {
    fn expose(&self) -> &str {
        match self {
            Self::Plain(value) => value,
            Self::Credential(secret) => secret.expose(),
        }
    }
}

/// Whether a key holds a credential (`//host/:_authToken`, `_auth`, `_password`).
fn is_credential(key: &str) -> bool {
    let last = key.rsplit(':').next().unwrap_or(key);
    matches!(last, "_authToken" | "_auth" | "_password")
}

impl Npmrc {
    /// Parses the text of an `.npmrc` (ini: `;`/`#` comments, `[section]` headers, quoted
    /// values), expanding `${VAR}` from `env`.
    pub fn parse(text: &str, env: &dyn Environment) -> Self {
        let mut entries = Vec::new();
        let mut in_section = false;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') && line.ends_with(']') {
                in_section = true;
                continue;
            }
            if in_section {
                continue;
            }
            let (key, value) = match line.split_once('=') {
                Some((key, value)) => (key.trim(), value.trim()),
                None => (line, "true"),
            };
            if key.is_empty() || key.ends_with("[]") {
                continue;
            }
            let key = expand(key, env);
            let value = expand(&unquote(value), env);
            let value = if is_credential(&key) {
                Value::Credential(Secret::new(value))
            } else {
                Value::Plain(value)
            };
            entries.push((key, value));
        }
        Self { entries }
    }

    /// The last value given for `key` (ini keeps the last). A credential is exposed: keep it
    /// in a [`Secret`].
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.expose())
    }
}

/// ini's value rules: a `"…"` or `'…'` value is a JSON / literal string; otherwise an inline
/// `;` or `#` comment is cut.
fn unquote(value: &str) -> String {
    if value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')))
    {
        if value.starts_with('"')
            && let Ok(decoded) = serde_json::from_str::<String>(value)
        {
            return decoded;
        }
        return value[1..value.len() - 1].to_owned();
    }
    let mut out = String::new();
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ';' || c == '#' {
            break;
        } else {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// `@npmcli/config`'s env-replace: `${NAME}` → the variable, or left as is when unset;
/// `${NAME?}` → the variable or empty; a backslash before `$` escapes it.
fn expand(text: &str, env: &dyn Environment) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let backslashes = rest[..start]
            .chars()
            .rev()
            .take_while(|c| *c == '\\')
            .count();
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        let end = start + 2 + len + 1;
        if name.is_empty() || name.contains(['$', '{']) {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start - backslashes]);
        out.push_str(&"\\".repeat(backslashes / 2));
        if backslashes % 2 == 1 {
            out.push_str(&rest[start..end]);
        } else {
            let (name, optional) = match name.strip_suffix('?') {
                Some(name) => (name, true),
                None => (name, false),
            };
            match env.var(name) {
                Some(value) => out.push_str(&value),
                None if optional => {}
                None => out.push_str(&rest[start..end]),
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `//host[:port]/path/`: the key prefix npm files a registry's credentials under (the URL
/// without scheme, query or the last path segment).
pub fn nerf_dart(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path();
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    format!("//{host}{port}{dir}")
}

/// Where a setting came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingSource {
    /// A command-line flag (`--registry`, `--token`).
    Flag(&'static str),
    /// An environment variable.
    Env(String),
    /// A line of an `.npmrc`.
    File {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// `publishConfig` in the package's `package.json`.
    PublishConfig,
    /// npm's built-in default.
    Default,
}

impl fmt::Display for SettingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "--{flag}"),
            Self::Env(name) => write!(f, "${name}"),
            Self::File { path, key } => write!(f, "`{key}` in {}", path.display()),
            Self::PublishConfig => f.write_str("publishConfig in package.json"),
            Self::Default => f.write_str("npm's default"),
        }
    }
}

/// An `.npmrc` that exists but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {reason}. Fix or remove the file (npm reads it too)", .path.display())]
pub struct NpmrcError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// A token from the configuration, with where it came from.
#[derive(Debug, Clone)]
pub struct ConfiguredToken {
    /// The token.
    pub token: Secret,
    /// Where it was found.
    pub source: SettingSource,
}

impl ConfiguredToken {
    /// Whether this is `actions/setup-node`'s placeholder rather than a token.
    pub fn is_placeholder(&self) -> bool {
        self.token.expose() == SETUP_NODE_PLACEHOLDER
    }
}

/// npm's settings that decide where a package goes and with which token: the environment,
/// the project `.npmrc` and the user `.npmrc`, highest first.
#[derive(Debug, Clone, Default)]
pub struct NpmSettings {
    env_registry: Option<(String, String)>,
    env_tokens: Vec<(String, Secret)>,
    files: Vec<(PathBuf, Npmrc)>,
}

impl NpmSettings {
    /// Loads `cwd/.npmrc` (project) and the user config (`NPM_CONFIG_USERCONFIG`, else
    /// `$HOME/.npmrc`); `NPM_CONFIG_REGISTRY` and the token variables `NODE_AUTH_TOKEN` and
    /// `NPM_TOKEN` come from `env`. Missing files are fine; unreadable ones are an error.
    pub fn load(env: &dyn Environment, cwd: &Path) -> Result<Self, NpmrcError> {
        let mut files = Vec::new();
        let project = cwd.join(".npmrc");
        let user = npm_env(env, "userconfig")
            .map(|(_, v)| PathBuf::from(v))
            .or_else(|| env.non_empty("HOME").map(|h| Path::new(&h).join(".npmrc")));
        for path in std::iter::once(project).chain(user) {
            if files.iter().any(|(p, _): &(PathBuf, Npmrc)| *p == path) {
                continue;
            }
            if let Some(text) = read_bounded(&path)? {
                files.push((path, Npmrc::parse(&text, env)));
            }
        }
        let env_tokens = ["NODE_AUTH_TOKEN", "NPM_TOKEN"]
            .into_iter()
            .filter_map(|name| {
                env.non_empty(name)
                    .map(|v| (name.to_owned(), Secret::new(v)))
            })
            .collect();
        Ok(Self {
            env_registry: npm_env(env, "registry"),
            env_tokens,
            files,
        })
    }

    /// Settings from these `.npmrc` texts only (highest first), for tests and embedders.
    pub fn from_files(files: Vec<(PathBuf, Npmrc)>) -> Self {
        Self {
            files,
            ..Self::default()
        }
    }

    /// The configured `registry` below the command line: `NPM_CONFIG_REGISTRY`, then the
    /// `.npmrc` files.
    pub fn registry(&self) -> Option<(String, SettingSource)> {
        if let Some((name, value)) = &self.env_registry {
            return Some((value.clone(), SettingSource::Env(name.clone())));
        }
        self.file_value("registry")
    }

    /// `@scope:registry` from the `.npmrc` files: npm sends a scoped package there whatever
    /// `--registry` says.
    pub fn scope_registry(&self, scope: &str) -> Option<(String, SettingSource)> {
        self.file_value(&format!("{scope}:registry"))
    }

    /// The token for `registry`: `NODE_AUTH_TOKEN`, then `NPM_TOKEN`, then
    /// `<nerf dart>:_authToken` in the `.npmrc` files (exactly the registry's, as npm's
    /// `getCredentialsByURI`: a token filed under another registry or path is not used).
    pub fn token_for(&self, registry: &NpmRegistry) -> Option<ConfiguredToken> {
        if let Some((name, token)) = self.env_tokens.first() {
            return Some(ConfiguredToken {
                token: token.clone(),
                source: SettingSource::Env(name.clone()),
            });
        }
        let key = format!("{}:_authToken", nerf_dart(registry.url()));
        self.file_value(&key)
            .filter(|(value, _)| !value.is_empty())
            .map(|(value, source)| ConfiguredToken {
                token: Secret::new(value),
                source,
            })
    }

    fn file_value(&self, key: &str) -> Option<(String, SettingSource)> {
        self.files.iter().find_map(|(path, rc)| {
            rc.get(key).map(|value| {
                (
                    value.to_owned(),
                    SettingSource::File {
                        path: path.clone(),
                        key: key.to_owned(),
                    },
                )
            })
        })
    }
}

/// `npm_config_<name>` (any case, as npm reads it), with the variable's name.
fn npm_env(env: &dyn Environment, name: &str) -> Option<(String, String)> {
    [
        format!("npm_config_{name}"),
        format!("NPM_CONFIG_{}", name.to_ascii_uppercase()),
    ]
    .into_iter()
    .find_map(|var| env.non_empty(&var).map(|value| (var, value)))
}

fn read_bounded(path: &Path) -> Result<Option<String>, NpmrcError> {
    let error = |reason: String| NpmrcError {
        path: path.to_owned(),
        reason,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) if path.is_dir() => return Err(error(format!("it is a directory ({err})"))),
        Err(err) => return Err(error(err.to_string())),
    };
    let bytes = oidc_core::bounded::read_capped(file, MAX_NPMRC_BYTES)
        .map_err(|err| error(err.to_string()))?
        .ok_or_else(|| error(format!("it is larger than {MAX_NPMRC_BYTES} bytes")))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| error("it is not UTF-8 text".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use oidc_core::MapEnv;

    use super::*;

    fn url(u: &str) -> Url {
        Url::parse(u).unwrap()
    }

    #[test]
    fn nerf_darts_follow_npm() {
        assert_eq!(
            nerf_dart(&url("https://registry.npmjs.org")),
            "//registry.npmjs.org/"
        );
        assert_eq!(
            nerf_dart(&url("http://127.0.0.1:4873/npm/")),
            "//127.0.0.1:4873/npm/"
        );
        assert_eq!(
            nerf_dart(&url("https://r.example/a/b?x=1")),
            "//r.example/a/"
        );
        assert_eq!(nerf_dart(&url("https://r.example:443/")), "//r.example/");
    }

    #[test]
    fn env_replace_matches_npmcli_config() {
        let env = MapEnv::new().with("A", "1");
        assert_eq!(expand("${A}-${B}", &env), "1-${B}");
        assert_eq!(expand("${B?}x", &env), "x");
        assert_eq!(expand("\\${A}", &env), "${A}");
        assert_eq!(expand("\\\\${A}", &env), "\\1");
        assert_eq!(expand("${A", &env), "${A");
    }

    #[test]
    fn ini_lines_comments_quotes_and_sections() {
        let env = MapEnv::new().with("T", "tok");
        let rc = Npmrc::parse(
            "; comment\n# other\nregistry = \"http://r.example/\"\n//r.example/:_authToken=${T} ; trailing\nflag\n[section]\nregistry=http://no/\nlist[]=a\n",
            &env,
        );
        assert_eq!(rc.get("registry"), Some("http://r.example/"));
        assert_eq!(rc.get("//r.example/:_authToken"), Some("tok"));
        assert_eq!(rc.get("flag"), Some("true"));
        assert_eq!(rc.get("list[]"), None);
        let debug = format!("{rc:?}");
        assert!(
            !debug.contains("tok\""),
            "credentials are redacted: {debug}"
        );
        assert!(debug.contains("http://r.example/"), "{debug}");
    }

    #[test]
    fn tokens_match_the_registry_exactly_and_env_wins() {
        let env = MapEnv::new();
        let project = Npmrc::parse(
            "//r.example/:_authToken=project\n//other.example/:_authToken=other\n",
            &env,
        );
        let user = Npmrc::parse(
            "//r.example/:_authToken=user\n//r.example/sub/:_authToken=sub\n@s:registry=http://s.example/\n",
            &env,
        );
        let settings = NpmSettings::from_files(vec![
            ("p/.npmrc".into(), project),
            ("u/.npmrc".into(), user),
        ]);
        let r = NpmRegistry::parse("https://r.example").unwrap();
        let found = settings.token_for(&r).unwrap();
        assert_eq!(found.token.expose(), "project");
        assert_eq!(
            found.source.to_string(),
            "`//r.example/:_authToken` in p/.npmrc"
        );
        let sub = NpmRegistry::parse("https://r.example/sub/").unwrap();
        assert_eq!(settings.token_for(&sub).unwrap().token.expose(), "sub");
        let none = NpmRegistry::parse("https://r.example/elsewhere/").unwrap();
        assert!(
            settings.token_for(&none).is_none(),
            "no walking up the path"
        );
        assert_eq!(
            settings.scope_registry("@s").unwrap().0,
            "http://s.example/"
        );

        let with_env = NpmSettings {
            env_tokens: vec![(
                "NODE_AUTH_TOKEN".into(),
                Secret::new(SETUP_NODE_PLACEHOLDER),
            )],
            ..settings
        };
        let token = with_env.token_for(&r).unwrap();
        assert!(token.is_placeholder());
        assert_eq!(token.source.to_string(), "$NODE_AUTH_TOKEN");
    }

    #[test]
    fn load_reads_project_and_userconfig() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".npmrc"),
            "registry=http://project.example/\n",
        )
        .unwrap();
        let user = dir.path().join("user.npmrc");
        std::fs::write(
            &user,
            "registry=http://user.example/\n//user.example/:_authToken=${TOK}\n",
        )
        .unwrap();
        let env = MapEnv::new()
            .with("NPM_CONFIG_USERCONFIG", user.display().to_string())
            .with("TOK", "secret-from-env");
        let settings = NpmSettings::load(&env, dir.path()).unwrap();
        assert_eq!(settings.registry().unwrap().0, "http://project.example/");
        let r = NpmRegistry::parse("http://user.example/").unwrap();
        assert_eq!(
            settings.token_for(&r).unwrap().token.expose(),
            "secret-from-env"
        );
        let env = env.with("npm_config_registry", "http://env.example/");
        let settings = NpmSettings::load(&env, dir.path()).unwrap();
        assert_eq!(
            settings.registry().unwrap(),
            (
                "http://env.example/".to_owned(),
                SettingSource::Env("npm_config_registry".into())
            )
        );
    }
}
