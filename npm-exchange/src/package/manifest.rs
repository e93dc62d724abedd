//! The manifest npm publishes: `package.json` from the tarball, normalised as npm does it.
//!
//! `npm publish <tarball>` reads `package/package.json` through pacote, which runs
//! `@npmcli/package-json`'s `prepare()` (see [`normalize`](super::normalize)); libnpmpublish
//! then cleans the version strictly, sets `_id` to `name@version` and adds `dist`.
//!
//! What we send differently from npm, on purpose:
//! - no `_nodeVersion` / `_npmVersion`: we are neither, and the registry does not need them
//!   (npm sends `process.versions.node` and its own version; `_npmUser` is added by the registry);
//! - no `_integrity` / `_resolved` / `_from`: pacote adds them when publishing a tarball file
//!   (they carry local paths); `npm publish` from a directory does not send them either;
//! - no `gitHead` discovery: a tarball has no `.git`; a `gitHead` already in `package.json` is kept.

use std::fmt;

use semver::Version;

use super::json::{Json, Object};
use super::normalize::{PackageFiles, prepare};
use super::publish_config::PublishConfig;

/// Why `package.json` cannot be published. The texts of npm's own errors are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// `package.json` is not JSON.
    #[error("package.json is not valid JSON: {0}")]
    InvalidJson(String),
    /// `package.json` holds something other than an object.
    #[error("package.json does not contain a JSON object")]
    NotAnObject,
    /// No `name` (or an empty one).
    #[error("package.json has no \"name\"")]
    MissingName,
    /// `name` is not a string (npm's text).
    #[error("name field must be a string.")]
    NameNotString,
    /// `name` is not a valid package name (npm's text; the name is shown as JSON).
    #[error("Invalid name: {0}")]
    InvalidName(String),
    /// No `version` (or an empty one).
    #[error("package.json has no \"version\"")]
    MissingVersion,
    /// `version` is not a version even in node-semver's loose mode (npm's text).
    #[error("Invalid version: \"{0}\"")]
    InvalidVersion(String),
    /// The cleaned version is not strict semver (npm's `EBADSEMVER` text).
    #[error("invalid semver: {0}")]
    InvalidSemver(String),
    /// `main` is set to something other than a string (npm's text).
    #[error("The \"main\" attribute must be of type string.")]
    MainNotString,
}

/// A package name npm accepts: `name` or `@scope/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageName {
    name: String,
    /// Byte offset of the `/` in a scoped name.
    slash: Option<usize>,
}

impl PackageName {
    /// Parses a package name with the rules npm applies before publishing (`Invalid name` when
    /// it starts with `.`, is not URL-safe, or is `node_modules`/`favicon.ico`). Upper case is
    /// allowed, as in npm; the registry refuses it for new packages.
    pub fn parse(name: &str) -> Result<Self, ManifestError> {
        if name.is_empty() {
            return Err(ManifestError::MissingName);
        }
        if !super::normalize::is_valid_name(name) {
            return Err(ManifestError::InvalidName(
                Json::String(name.to_owned()).to_json_string(),
            ));
        }
        let slash = name.starts_with('@').then(|| name.find('/')).flatten();
        Ok(Self {
            name: name.to_owned(),
            slash,
        })
    }

    /// The name as written, `@scope/name` or `name`.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The scope with its `@` (`@scope`), for a scoped name.
    pub fn scope(&self) -> Option<&str> {
        self.slash.map(|slash| &self.name[..slash])
    }

    /// The name without its scope: `name` for `@scope/name`.
    pub fn unscoped(&self) -> &str {
        self.slash
            .map_or(&self.name, |slash| &self.name[slash + 1..])
    }

    /// The name as it appears in registry URL paths: `@scope%2fname` (lowercase `%2f`, `@`
    /// kept, as npm-package-arg's `escapedName`); unscoped names are unchanged.
    pub fn escaped(&self) -> String {
        self.name.replacen('/', "%2f", 1)
    }

    /// The package URL npm puts in provenance subjects: `pkg:npm/%40scope/name@1.2.3`.
    pub fn purl(&self, version: &Version) -> String {
        let name = self
            .name
            .strip_prefix('@')
            .map_or_else(|| self.name.clone(), |rest| format!("%40{rest}"));
        format!("pkg:npm/{name}@{version}")
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A normalised `package.json`, ready to become the `versions` entry of a publish document.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    data: Object,
    name: PackageName,
    version: Version,
    publish_config: PublishConfig,
}

impl Manifest {
    /// Parses and normalises `package.json` text, with the tarball's file list for the steps
    /// that look at files (README, `bin` directories, `types`, ...).
    pub(crate) fn from_package_json(
        text: &str,
        files: &PackageFiles,
    ) -> Result<Self, ManifestError> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let Json::Object(mut data) =
            Json::parse(text).map_err(|e| ManifestError::InvalidJson(e.to_string()))?
        else {
            return Err(ManifestError::NotAnObject);
        };
        prepare(&mut data, files)?;
        let name = PackageName::parse(data.get_str("name").unwrap_or_default())?;
        // libnpmpublish: `semver.clean(version)` in strict mode, then `_id = name@version`.
        let cleaned = data.get_str("version").unwrap_or_default().to_owned();
        let version =
            Version::parse(&cleaned).map_err(|_| ManifestError::InvalidSemver(cleaned.clone()))?;
        let version = Version {
            build: semver::BuildMetadata::EMPTY,
            ..version
        };
        data.insert("version", Json::String(version.to_string()));
        data.insert("_id", Json::String(format!("{name}@{version}")));
        let publish_config = PublishConfig::parse(data.get_object("publishConfig"));
        Ok(Self {
            data,
            name,
            version,
            publish_config,
        })
    }

    /// The package name.
    pub fn name(&self) -> &PackageName {
        &self.name
    }

    /// The version, cleaned as npm does (`v1.2.3` → `1.2.3`, build metadata dropped).
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The scope with its `@`, for a scoped package.
    pub fn scope(&self) -> Option<&str> {
        self.name.scope()
    }

    /// `description`, or the first paragraph of the README when there is none (as npm does).
    pub fn description(&self) -> Option<&str> {
        self.data.get_str("description")
    }

    /// `private` is truthy: npm refuses to publish.
    pub fn is_private(&self) -> bool {
        self.data.truthy("private")
    }

    /// The `publishConfig` settings.
    pub fn publish_config(&self) -> &PublishConfig {
        &self.publish_config
    }

    /// `repository.url`, normalised (`github:o/r` → `git+https://github.com/o/r.git`).
    pub fn repository_url(&self) -> Option<&str> {
        self.data
            .get_object("repository")
            .and_then(|r| r.get_str("url"))
    }

    /// `repository.directory`, for packages inside a monorepo.
    pub fn repository_directory(&self) -> Option<&str> {
        self.data
            .get_object("repository")
            .and_then(|r| r.get_str("directory"))
    }

    /// `readme`: the README's text, or npm's `ERROR: No README data found!`.
    pub fn readme(&self) -> Option<&str> {
        self.data.get_str("readme")
    }

    /// The file `readme` was read from, e.g. `README.md`.
    pub fn readme_filename(&self) -> Option<&str> {
        self.data.get_str("readmeFilename")
    }

    /// The `tag` field of `package.json`, which npm uses as the dist-tag before `--tag`.
    pub fn tag_field(&self) -> Option<String> {
        self.data
            .get("tag")
            .filter(|t| t.truthy())
            .map(Json::to_js_string)
    }

    /// Any field of the normalised manifest.
    pub fn field(&self, key: &str) -> Option<serde_json::Value> {
        self.data.get(key).map(Json::to_serde)
    }

    /// The normalised manifest as JSON text, in npm's key order (without `dist`).
    pub fn to_json_string(&self) -> String {
        let mut out = String::new();
        self.data.write_json(&mut out);
        out
    }

    /// The provenance subject name: `pkg:npm/%40scope/name@1.2.3`.
    pub fn purl(&self) -> String {
        self.name.purl(&self.version)
    }

    /// The normalised fields.
    pub(crate) fn data(&self) -> &Object {
        &self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_split_and_escape() {
        let scoped = PackageName::parse("@demo/tiny-pkg").unwrap();
        assert_eq!(
            (scoped.scope(), scoped.unscoped()),
            (Some("@demo"), "tiny-pkg")
        );
        assert_eq!(scoped.escaped(), "@demo%2ftiny-pkg");
        assert_eq!(
            scoped.purl(&Version::new(1, 2, 3)),
            "pkg:npm/%40demo/tiny-pkg@1.2.3"
        );
        let plain = PackageName::parse("plain").unwrap();
        assert_eq!(
            (plain.scope(), plain.unscoped(), plain.escaped()),
            (None, "plain", "plain".into())
        );
        assert_eq!(
            PackageName::parse("a b").unwrap_err().to_string(),
            r#"Invalid name: "a b""#
        );
    }
}

#[cfg(test)]
mod normalization_tests {
    use super::*;
    use crate::package::Access;

    /// The files of `npm_tests`' first fixture, as the tarball scan would report them.
    fn rich_files() -> PackageFiles {
        let paths = [
            "package.json",
            "readme.markdown",
            "README",
            "AUTHORS",
            "binding.gyp",
            "server.js",
            "lib/main.js",
            "lib/main.d.ts",
            "bin/tool.js",
            "man/rich.1",
        ];
        PackageFiles {
            files: paths.iter().map(|p| (*p).to_owned()).collect(),
            readme: Some((
                "readme.markdown".into(),
                "Rich package\r\nIt does things.\n\nMore.\n".into(),
            )),
            authors: Some("# comment\nAlice <a@x.io> (https://alice.example)\n\n  Bob  \n".into()),
        }
    }

    #[test]
    fn normalises_like_npm() {
        let manifest = Manifest::from_package_json(
            crate::package::npm_tests::RICH_PACKAGE_JSON,
            &rich_files(),
        )
        .unwrap();
        // The same text as the version entry npm 11.19.1 sent for this package (see
        // `npm_tests::documents_match_what_npm_publish_sends`), without `dist` hashes.
        let pretty = Json::Object(manifest.data().clone())
            .to_pretty()
            .replace('\u{2028}', "<U+2028>");
        insta::assert_snapshot!(pretty, @r#"
        {
          "name": "@demo/rich",
          "version": "2.0.0-Beta.1",
          "tag": "next",
          "description": "Rich package\r It does things.",
          "main": "lib/main.js",
          "bin": {
            "tool": "bin/tool.js"
          },
          "directories": {
            "man": "./man"
          },
          "scripts": {
            "test": "jest",
            "install": "node-gyp rebuild",
            "start": "node server.js"
          },
          "repositories": [
            {
              "type": "git",
              "url": "git+ssh://git@gitlab.com/grp/sub/proj.git",
              "directory": "packages/rich"
            }
          ],
          "author": {
            "name": "A B",
            "email": "a@b.co",
            "url": "https://ab.example"
          },
          "maintainers": [
            {
              "name": "M",
              "email": "m@x.io"
            },
            {
              "name": "N"
            }
          ],
          "bugs": {
            "email": "bugs@example.com"
          },
          "homepage": "http://example.com/rich",
          "keywords": [
            "one",
            "two,three"
          ],
          "files": [
            "lib",
            "bin"
          ],
          "dependencies": {
            "left": "1.0.0",
            "right": ">=2",
            "extra": "*"
          },
          "devDependencies": {
            "hosted": "github:o/r",
            "plain": "^1.0.0",
            "gh": "git+ssh://git@github.com/o/r.git#v1"
          },
          "optionalDependencies": {
            "opt": "1"
          },
          "dist": {
            "keep": "me"
          },
          "numbers": [
            1.5,
            1e+21,
            0.1,
            0,
            12345678901234567000,
            1e-7
          ],
          "ordering": {
            "1": 4,
            "2": 2,
            "b": 1,
            "a": 3
          },
          "escapes": "tab\t quote\" backslash\\ control\u0001 unicode é <U+2028>",
          "publishConfig": {
            "access": "public",
            "tag": "from-config"
          },
          "gypfile": true,
          "contributors": [
            {
              "name": "Alice",
              "email": "a@x.io",
              "url": "https://alice.example"
            },
            {
              "name": "Bob"
            }
          ],
          "readme": "Rich package\r\nIt does things.\n\nMore.\n",
          "readmeFilename": "readme.markdown",
          "man": [
            "man/rich.1"
          ],
          "types": "./lib/main.d.ts",
          "_id": "@demo/rich@2.0.0-Beta.1",
          "bundleDependencies": [
            "left",
            "extra"
          ],
          "repository": {
            "type": "git",
            "url": "git+ssh://git@gitlab.com/grp/sub/proj.git",
            "directory": "packages/rich"
          }
        }
        "#);
        assert_eq!(
            manifest.description(),
            Some("Rich package\r It does things.")
        );
        assert_eq!(
            manifest.repository_url(),
            Some("git+ssh://git@gitlab.com/grp/sub/proj.git")
        );
        assert_eq!(manifest.repository_directory(), Some("packages/rich"));
        assert_eq!(manifest.tag_field().as_deref(), Some("next"));
        assert_eq!(manifest.publish_config().access(), Some(Access::Public));
        assert_eq!(manifest.publish_config().tag(), Some("from-config"));
        assert_eq!(
            manifest.field("gypfile"),
            Some(serde_json::Value::Bool(true))
        );
    }

    #[test]
    fn normalises_repository_shorthands() {
        let cases = [
            ("\"o/r\"", "git+https://github.com/o/r.git"),
            ("\"github:o/r\"", "git+https://github.com/o/r.git"),
            (
                "\"https://github.com/o/r\"",
                "git+https://github.com/o/r.git",
            ),
            (
                "{\"type\":\"git\",\"url\":\"git@github.com:o/r.git\"}",
                "git+ssh://git@github.com/o/r.git",
            ),
            ("\"gitlab:g/p\"", "git+https://gitlab.com/g/p.git"),
            ("\"https://example.com/r.git\"", "https://example.com/r.git"),
        ];
        for (repository, expected) in cases {
            let text = format!(r#"{{"name":"p","version":"1.0.0","repository":{repository}}}"#);
            let manifest = Manifest::from_package_json(&text, &PackageFiles::default()).unwrap();
            assert_eq!(manifest.repository_url(), Some(expected), "{repository}");
        }
    }
}
