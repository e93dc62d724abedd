//! The npm CLI's and libnpmpublish's refusals, and the dist-tag and access they resolve.
//!
//! npm stops at the first problem; [`check`] reports all of them, with npm's own texts.
//! Where npm is looser, we are stricter on purpose (noted on [`PublishProblem`]).

use std::fmt;

use url::Url;

use super::manifest::Manifest;
use super::node_semver::{is_loose_version, is_valid_range};
use super::publish_config::{Access, InvalidSetting};
use super::text::{is_uri_component_safe, js_trim};

/// The publish settings given on the command line (`--registry`, `--tag`, `--access`).
#[derive(Debug, Clone, Copy)]
pub struct PublishOptions<'a> {
    /// The registry to publish to, already resolved (`--registry`, else
    /// `publishConfig.registry`, else the configured default).
    pub registry: &'a Url,
    /// `--tag`; `None` when not given.
    pub tag: Option<&'a str>,
    /// `--access`; `None` when not given.
    pub access: Option<Access>,
}

/// What a successful [`check`] resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPlan {
    /// The dist-tag: `package.json`'s `tag` field, else `--tag`, else `publishConfig.tag`,
    /// else `latest` (libnpmpublish's `manifest.tag || opts.defaultTag`).
    pub tag: String,
    /// The access level sent: `--access`, else `publishConfig.access`, else none (`null`, which
    /// lets the registry decide: public for unscoped, restricted for new scoped packages).
    pub access: Option<Access>,
}

/// One reason npm would refuse to publish. `Display` gives npm's own text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishProblem {
    /// The dist-tag parses as a semver range (`v1`, `1.x`, `^2`). npm checks only `--tag`;
    /// we check the tag actually sent.
    TagIsSemverRange {
        /// The tag.
        tag: String,
    },
    /// The dist-tag has characters `encodeURIComponent` would escape (npm-package-arg's
    /// `EINVALIDTAGNAME`).
    InvalidTagName {
        /// The tag, trimmed.
        tag: String,
        /// `name@tag`, as npm quotes it.
        spec: String,
    },
    /// A prerelease version with neither `--tag` nor `publishConfig.tag`.
    PrereleaseNeedsTag,
    /// `private` is set (`EPRIVATE`).
    Private,
    /// `restricted` access for an unscoped package (`EUNSCOPED`).
    UnscopedRestricted,
    /// A `publishConfig` value npm would pass on but the registry cannot use.
    InvalidSetting(InvalidSetting),
    /// The registry is not an `http:` or `https:` URL.
    RegistryNotHttp {
        /// The registry URL.
        registry: String,
    },
}

impl PublishProblem {
    /// What to do about it, when npm's text does not already say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::TagIsSemverRange { .. } | Self::InvalidTagName { .. } => {
                Some("use a dist-tag name such as `next` or `beta`")
            }
            Self::UnscopedRestricted => {
                Some("publish with `--access public`, or under a `@scope/` name")
            }
            Self::RegistryNotHttp { .. } => Some("use the registry's https:// URL"),
            Self::PrereleaseNeedsTag | Self::Private | Self::InvalidSetting(_) => None,
        }
    }
}

impl fmt::Display for PublishProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TagIsSemverRange { tag } => {
                write!(f, "Tag name must not be a valid SemVer range: {}", js_trim(tag))
            }
            Self::InvalidTagName { tag, spec } => write!(
                f,
                "Invalid tag name \"{tag}\" of package \"{spec}\": Tags may not have any characters that encodeURIComponent encodes."
            ),
            Self::PrereleaseNeedsTag => {
                f.write_str("You must specify a tag using --tag when publishing a prerelease version.")
            }
            Self::Private => f.write_str(
                "This package has been marked as private\nRemove the 'private' field from the package.json to publish it.",
            ),
            Self::UnscopedRestricted => f.write_str("Can't restrict access to unscoped packages."),
            Self::InvalidSetting(InvalidSetting { field, value, expected }) => {
                write!(f, "package.json \"{field}\" is {value}, expected {expected}.")
            }
            Self::RegistryNotHttp { registry } => write!(f, "The registry {registry} is not an http(s) URL."),
        }
    }
}

/// npm would refuse to publish this package with these options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PublishRefused {
    /// `name@version`.
    pub package: String,
    /// Every problem found, in the order npm would meet them.
    pub problems: Vec<PublishProblem>,
}

impl fmt::Display for PublishRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot publish {}:", self.package)?;
        write_problems(
            f,
            self.problems
                .iter()
                .map(|problem| (problem.to_string(), problem.hint().map(str::to_owned))),
        )
    }
}

/// A refusal's problems, one indented item each with its hint in parentheses (shared by the
/// publish and provenance refusals).
pub(crate) fn write_problems(
    f: &mut fmt::Formatter<'_>,
    problems: impl Iterator<Item = (String, Option<String>)>,
) -> fmt::Result {
    for (text, hint) in problems {
        let text = text.replace('\n', "\n    ");
        write!(f, "\n  - {text}")?;
        if let Some(hint) = hint {
            write!(f, "\n    ({hint})")?;
        }
    }
    Ok(())
}

/// Checks a package against npm's publish-time rules and resolves the dist-tag and access.
pub fn check(
    manifest: &Manifest,
    options: &PublishOptions<'_>,
) -> Result<PublishPlan, PublishRefused> {
    let mut problems = Vec::new();
    let config = manifest.publish_config();
    let explicit_tag = options.tag.or(config.tag());
    let tag = manifest
        .tag_field()
        .or_else(|| explicit_tag.map(str::to_owned))
        .unwrap_or_else(|| "latest".into());
    if is_valid_range(&tag) {
        problems.push(PublishProblem::TagIsSemverRange { tag: tag.clone() });
    } else if !is_loose_version(&tag) && !is_uri_component_safe(js_trim(&tag)) {
        let spec = format!("{}@{tag}", manifest.name());
        problems.push(PublishProblem::InvalidTagName {
            tag: js_trim(&tag).to_owned(),
            spec,
        });
    }
    if !manifest.version().pre.is_empty() && explicit_tag.is_none() {
        problems.push(PublishProblem::PrereleaseNeedsTag);
    }
    if manifest.is_private() {
        problems.push(PublishProblem::Private);
    }
    let access = options.access.or(config.access());
    if manifest.scope().is_none() && access == Some(Access::Restricted) {
        problems.push(PublishProblem::UnscopedRestricted);
    }
    problems.extend(
        config
            .invalid()
            .iter()
            .cloned()
            .map(PublishProblem::InvalidSetting),
    );
    if !matches!(options.registry.scheme(), "http" | "https") {
        problems.push(PublishProblem::RegistryNotHttp {
            registry: options.registry.to_string(),
        });
    }
    if problems.is_empty() {
        Ok(PublishPlan { tag, access })
    } else {
        Err(PublishRefused {
            package: format!("{}@{}", manifest.name(), manifest.version()),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::normalize::PackageFiles;

    fn manifest(package_json: &str) -> Manifest {
        Manifest::from_package_json(package_json, &PackageFiles::default()).unwrap()
    }

    fn run(
        package_json: &str,
        tag: Option<&str>,
        access: Option<Access>,
    ) -> Result<PublishPlan, PublishRefused> {
        let registry = Url::parse("https://registry.npmjs.org/").unwrap();
        check(
            &manifest(package_json),
            &PublishOptions {
                registry: &registry,
                tag,
                access,
            },
        )
    }

    fn problems(package_json: &str, tag: Option<&str>, access: Option<Access>) -> Vec<String> {
        run(package_json, tag, access)
            .unwrap_err()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn private_packages_are_refused_with_npms_text() {
        let refused = run(
            r#"{"name":"p","version":"1.0.0","private":true}"#,
            None,
            None,
        )
        .unwrap_err();
        insta::assert_snapshot!(refused.problems[0], @r"
        This package has been marked as private
        Remove the 'private' field from the package.json to publish it.
        ");
        assert!(
            run(
                r#"{"name":"p","version":"1.0.0","private":false}"#,
                None,
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn prereleases_need_an_explicit_tag() {
        let prerelease = r#"{"name":"p","version":"2.0.0-beta.1"}"#;
        insta::assert_snapshot!(problems(prerelease, None, None).join("\n"), @"You must specify a tag using --tag when publishing a prerelease version.");
        assert_eq!(run(prerelease, Some("beta"), None).unwrap().tag, "beta");
        assert_eq!(run(prerelease, Some("latest"), None).unwrap().tag, "latest");
        let configured = r#"{"name":"p","version":"2.0.0-beta.1","publishConfig":{"tag":"next"}}"#;
        assert_eq!(run(configured, None, None).unwrap().tag, "next");
    }

    #[test]
    fn tags_that_are_ranges_or_not_url_safe_are_refused() {
        let plain = r#"{"name":"p","version":"1.0.0"}"#;
        insta::assert_snapshot!(problems(plain, Some("v1"), None).join("\n"), @"Tag name must not be a valid SemVer range: v1");
        insta::assert_snapshot!(problems(plain, Some("1.x"), None).join("\n"), @"Tag name must not be a valid SemVer range: 1.x");
        insta::assert_snapshot!(problems(plain, Some("a b"), None).join("\n"), @r#"Invalid tag name "a b" of package "p@a b": Tags may not have any characters that encodeURIComponent encodes."#);
        for ok in ["next", "beta", "v1-lts", "legacy-1.x", "canary"] {
            assert_eq!(run(plain, Some(ok), None).unwrap().tag, ok);
        }
    }

    #[test]
    fn restricted_access_needs_a_scope() {
        insta::assert_snapshot!(problems(r#"{"name":"p","version":"1.0.0"}"#, None, Some(Access::Restricted)).join("\n"), @"Can't restrict access to unscoped packages.");
        let from_config =
            r#"{"name":"p","version":"1.0.0","publishConfig":{"access":"restricted"}}"#;
        assert_eq!(
            problems(from_config, None, None),
            ["Can't restrict access to unscoped packages."]
        );
        assert!(run(from_config, None, Some(Access::Public)).is_ok());
        let scoped = run(
            r#"{"name":"@s/p","version":"1.0.0"}"#,
            None,
            Some(Access::Restricted),
        )
        .unwrap();
        assert_eq!(scoped.access, Some(Access::Restricted));
    }

    #[test]
    fn resolves_tag_and_access_in_npms_order() {
        let pj = r#"{"name":"@s/p","version":"1.0.0","publishConfig":{"tag":"from-config","access":"public"}}"#;
        assert_eq!(
            run(pj, None, None).unwrap(),
            PublishPlan {
                tag: "from-config".into(),
                access: Some(Access::Public)
            }
        );
        assert_eq!(
            run(pj, Some("cli"), Some(Access::Restricted)).unwrap(),
            PublishPlan {
                tag: "cli".into(),
                access: Some(Access::Restricted)
            }
        );
        // libnpmpublish: `manifest.tag || opts.defaultTag`.
        let tagged = r#"{"name":"@s/p","version":"1.0.0","tag":"from-manifest"}"#;
        assert_eq!(
            run(tagged, Some("cli"), None).unwrap(),
            PublishPlan {
                tag: "from-manifest".into(),
                access: None
            }
        );
        assert_eq!(
            run(r#"{"name":"p","version":"1.0.0"}"#, None, None).unwrap(),
            PublishPlan {
                tag: "latest".into(),
                access: None
            }
        );
    }

    #[test]
    fn reports_every_problem_at_once() {
        let pj = r#"{"name":"p","version":"1.0.0-rc.1","private":"yes","publishConfig":{"access":"everyone","provenance":"true"}}"#;
        let registry = Url::parse("ftp://registry.example/").unwrap();
        let options = PublishOptions {
            registry: &registry,
            tag: None,
            access: Some(Access::Restricted),
        };
        let refused = check(&manifest(pj), &options).unwrap_err();
        insta::assert_snapshot!(refused, @r#"
        cannot publish p@1.0.0-rc.1:
          - You must specify a tag using --tag when publishing a prerelease version.
          - This package has been marked as private
            Remove the 'private' field from the package.json to publish it.
          - Can't restrict access to unscoped packages.
            (publish with `--access public`, or under a `@scope/` name)
          - package.json "publishConfig.access" is "everyone", expected "public" or "restricted".
          - package.json "publishConfig.provenance" is "true", expected true or false.
          - The registry ftp://registry.example/ is not an http(s) URL.
            (use the registry's https:// URL)
        "#);
    }
}
