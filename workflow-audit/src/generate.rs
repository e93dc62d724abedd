//! The hardened publish workflow `trustpub init <registry>` writes, and the trusted-publisher
//! fields to enter on the registry.
//!
//! Every workflow has: a `v*` tag trigger and a job-level guard, `permissions: {}` at the top, a
//! build job without OIDC identity that uploads an artifact, a publish job behind an
//! `environment:` that alone holds `id-token: write`, builds nothing and restores no cache,
//! actions pinned by full commit SHA with the version in a comment ([`pins`]),
//! `persist-credentials: false` on every checkout, and trustpub as the publisher. Each passes
//! the audit of this crate with zero findings (tested) and zizmor (tested in the CLI).

use crate::pins::{self, KnownPin};
use crate::publish::Registry;

/// The guard every job carries.
const GUARD: &str = "github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')";

/// What `init` is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// The registry.
    pub registry: Registry,
    /// The workflow file name, without directory (`publish-pypi.yml`).
    pub file_name: String,
    /// The deployment environment (`pypi`).
    pub environment: String,
    /// The trustpub action's commit SHA (40 hex).
    pub action_sha: String,
    /// The trustpub version (`0.1.0`): the action's version comment, and the version `pipx`
    /// runs for `trustpub exec`.
    pub version: String,
    /// The package name, when known (fills the PyPI link and the `npm trust` command).
    pub package: Option<String>,
}

impl InitOptions {
    /// Defaults for `registry`: file `publish-<registry>.yml`, environment `<registry>`.
    pub fn new(registry: Registry, action_sha: String, version: String) -> Self {
        Self {
            registry,
            file_name: format!("publish-{}.yml", registry.as_str()),
            environment: registry.as_str().to_owned(),
            action_sha,
            version,
            package: None,
        }
    }
}

/// Why a workflow cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// The action SHA is not a full commit SHA.
    #[error(
        "`{0}` is not a full 40-character commit SHA of trustpub/trustpub: copy it from the release page (https://github.com/trustpub/trustpub/releases)"
    )]
    BadSha(String),
    /// A name would break the YAML or the registry's matching.
    #[error("{what} `{value}` may only hold letters, digits, `-`, `_` and `.`")]
    BadName {
        /// Which value.
        what: &'static str,
        /// The value.
        value: String,
    },
}

fn check_name(what: &'static str, value: &str) -> Result<(), InitError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(InitError::BadName {
            what,
            value: value.to_owned(),
        })
    }
}

fn checkout() -> String {
    format!(
        "      - uses: {}\n        with:\n          persist-credentials: false\n",
        pins::CHECKOUT.uses()
    )
}

fn upload(name: &str, path: &str) -> String {
    format!(
        "      - uses: {}\n        with:\n          name: {name}\n          path: {path}\n          if-no-files-found: error\n",
        pins::UPLOAD_ARTIFACT.uses()
    )
}

fn download(name: &str, path: &str) -> String {
    format!(
        "      - uses: {}\n        with:\n          name: {name}\n          path: {path}\n",
        pins::DOWNLOAD_ARTIFACT.uses()
    )
}

fn setup(pin: KnownPin, with: &[(&str, &str)]) -> String {
    let mut text = format!("      - uses: {}\n", pin.uses());
    if !with.is_empty() {
        text.push_str("        with:\n");
        for (key, value) in with {
            text.push_str(&format!("          {key}: {value}\n"));
        }
    }
    text
}

/// The workflow text.
pub fn workflow(options: &InitOptions) -> Result<String, InitError> {
    let sha = &options.action_sha;
    if !(sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(InitError::BadSha(sha.clone()));
    }
    check_name("the workflow file name", &options.file_name)?;
    check_name("the environment", &options.environment)?;
    check_name("the version", &options.version)?;
    let registry = options.registry;
    let env = &options.environment;
    let version = &options.version;
    let action = format!(
        "trustpub/trustpub@{} # v{version}",
        sha.to_ascii_lowercase()
    );
    // trustpub from PyPI, at this version, for `trustpub exec` (the registry's native client
    // runs with the exchanged credential in its environment, and only for as long as it runs).
    let exec = format!("pipx run --spec 'trustpub=={version}' trustpub exec");

    let (build_steps, publish_steps) = match registry {
        Registry::Pypi => (
            [
                checkout(),
                setup(pins::SETUP_PYTHON, &[("python-version", "'3.x'")]),
                "      - name: Build the sdist and wheels\n        run: |\n          python -m pip install build==1.6.1\n          python -m build\n".to_owned(),
                upload("dist", "dist/"),
            ]
            .concat(),
            [
                download("dist", "dist/"),
                format!("      - name: Upload to PyPI\n        uses: {action}\n"),
            ]
            .concat(),
        ),
        Registry::Npm => (
            [
                checkout(),
                setup(
                    pins::SETUP_NODE,
                    &[("node-version", "24"), ("package-manager-cache", "false")],
                ),
                "      - name: Pack the package\n        run: |\n          npm ci --ignore-scripts\n          mkdir -p dist\n          npm pack --pack-destination dist\n".to_owned(),
                upload("npm-tarballs", "dist/*.tgz"),
            ]
            .concat(),
            [
                download("npm-tarballs", "dist/"),
                format!("      - name: Publish to npm\n        uses: {action}\n        with:\n          command: npm\n          packages-dir: dist/\n"),
            ]
            .concat(),
        ),
        Registry::CratesIo => (
            [
                checkout(),
                "      - name: Package and verify the crate\n        run: cargo package --locked\n".to_owned(),
                upload("crate", "target/package/*.crate"),
            ]
            .concat(),
            [
                checkout(),
                format!(
                    "      # The build job verified the crate; --no-verify builds nothing here.\n      - name: Publish to crates.io\n        run: {} crates-io -- cargo publish --locked --no-verify\n",
                    exec
                ),
            ]
            .concat(),
        ),
        Registry::Rubygems => (
            [
                checkout(),
                setup(pins::SETUP_RUBY, &[("ruby-version", "ruby"), ("bundler-cache", "false")]),
                "      - name: Build the gem\n        run: |\n          mkdir -p pkg\n          gem build --output pkg/ *.gemspec\n".to_owned(),
                upload("gem", "pkg/*.gem"),
            ]
            .concat(),
            [
                download("gem", "pkg/"),
                format!(
                    "      - name: Push to RubyGems.org\n        run: {} rubygems -- gem push pkg/*.gem\n",
                    exec
                ),
            ]
            .concat(),
        ),
        Registry::Nuget => (
            [
                checkout(),
                setup(pins::SETUP_DOTNET, &[("dotnet-version", "'9.0.x'")]),
                "      - name: Pack\n        run: dotnet pack --configuration Release --output out\n".to_owned(),
                upload("nupkg", "out/*.nupkg"),
            ]
            .concat(),
            [
                download("nupkg", "out/"),
                format!(
                    "      - name: Push to NuGet.org\n        env:\n          # The nuget.org account that owns the trusted publishing policy.\n          NUGET_USER: ${{{{ vars.NUGET_USER }}}}\n        run: >-\n          {} nuget --user \"$NUGET_USER\" --\n          sh -c 'dotnet nuget push out/*.nupkg --api-key \"$NUGET_API_KEY\" --source https://api.nuget.org/v3/index.json'\n",
                    exec
                ),
            ]
            .concat(),
        ),
    };
    let publish_permissions = if registry == Registry::CratesIo {
        "      contents: read  # check out the source for `cargo publish`\n      id-token: write  # mint the OIDC token the registry exchanges\n"
    } else {
        "      id-token: write  # mint the OIDC token the registry exchanges\n"
    };
    let title = registry.title();
    let file = &options.file_name;
    Ok(format!(
        "\
# Publishes to {title} with OIDC trusted publishing: no stored token.
# Generated by `trustpub init {reg}`; check it with `trustpub audit` and zizmor.
#
# - Runs only for pushed `v*` tags, and every job re-checks that with its `if:`.
# - `permissions: {{}}` at the top; only the `publish` job holds `id-token: write`, behind the
#   `{env}` environment (give it required reviewers and a deployment rule for `v*` tags).
# - The build job has no OIDC identity and hands its output over as an artifact; the publish
#   job builds nothing and restores no cache.
# - Every action is pinned by full commit SHA, with the version in a comment.
#
# Trusted publisher on {title}: this repository, workflow `{file}`, environment `{env}`.
name: Publish to {title}

on:
  push:
    tags: ['v*']

permissions: {{}}

# One release at a time per tag; never cancel a publish halfway.
concurrency:
  group: ${{{{ github.workflow }}}}-${{{{ github.ref }}}}
  cancel-in-progress: false

jobs:
  build:
    name: Build
    if: {GUARD}
    runs-on: ubuntu-24.04
    permissions:
      contents: read  # check out the source
    steps:
{build_steps}
  publish:
    name: Publish to {title}
    needs: build
    if: {GUARD}
    runs-on: ubuntu-24.04
    environment: {env}
    permissions:
{publish_permissions}    steps:
{publish_steps}",
        reg = registry.as_str(),
    ))
}

/// `owner/name` from a git remote URL of github.com (`git@github.com:o/r.git`,
/// `https://github.com/o/r`, `ssh://git@github.com/o/r.git`).
pub fn github_repository(remote: &str) -> Option<(String, String)> {
    let remote = remote.trim();
    let rest = remote
        .strip_prefix("git@github.com:")
        .or_else(|| remote.strip_prefix("ssh://git@github.com/"))
        .or_else(|| remote.strip_prefix("https://github.com/"))
        .or_else(|| remote.strip_prefix("http://github.com/"))
        .or_else(|| remote.strip_prefix("git://github.com/"))
        .or_else(|| {
            // https://user@github.com/o/r
            let after = remote.strip_prefix("https://")?;
            let (_, path) = after.split_once("@github.com/")?;
            Some(path)
        })?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let (owner, name) = rest.split_once('/')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (valid(owner) && valid(name)).then(|| (owner.to_owned(), name.to_owned()))
}

/// The fields to enter on the registry's trusted-publisher form, and a link or command that
/// fills them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherFields {
    /// `(field, value)` in form order.
    pub fields: Vec<(&'static str, String)>,
    /// A pre-filled link (PyPI) or a command (npm), when there is one.
    pub shortcut: Option<String>,
    /// Where the form is.
    pub where_: &'static str,
}

fn query_escape(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The trusted-publisher fields for `options`, for repository `owner/name`.
pub fn publisher_fields(options: &InitOptions, owner: &str, name: &str) -> PublisherFields {
    let file = options.file_name.clone();
    let env = options.environment.clone();
    let package = options.package.clone();
    let mut fields = vec![
        ("Owner", owner.to_owned()),
        ("Repository", name.to_owned()),
        ("Workflow", file.clone()),
        ("Environment", env.clone()),
    ];
    let (shortcut, where_) = match options.registry {
        Registry::Pypi => {
            let query = format!(
                "provider=github&owner={}&repository={}&workflow_filename={}&environment={}",
                query_escape(owner),
                query_escape(name),
                query_escape(&file),
                query_escape(&env)
            );
            let link = match &package {
                Some(p) => format!(
                    "https://pypi.org/manage/project/{}/settings/publishing/?{query}",
                    query_escape(p)
                ),
                None => format!("https://pypi.org/manage/account/publishing/?{query}"),
            };
            (
                Some(link),
                "pypi.org: the project's Settings > Publishing (a new project: your account's Publishing page, as a pending publisher)",
            )
        }
        Registry::Npm => (
            Some(format!(
                "npm trust github {} --repo {owner}/{name} --file {file} --env {env} --allow-publish",
                package.as_deref().unwrap_or("<package>")
            )),
            "npmjs.com: the package's Settings > Trusted Publisher (GitHub Actions), or `npm trust` (npm >= 11.10)",
        ),
        Registry::CratesIo => (
            None,
            "crates.io: the crate's Settings > Trusted Publishing (GitHub)",
        ),
        Registry::Rubygems => (
            None,
            "rubygems.org: the gem's Trusted publishers page (GitHub Actions)",
        ),
        Registry::Nuget => {
            fields.push((
                "Policy owner",
                "the nuget.org account in the NUGET_USER repository variable".to_owned(),
            ));
            (
                None,
                "nuget.org: your account's Trusted Publishing page (GitHub Actions)",
            )
        }
    };
    PublisherFields {
        fields,
        shortcut,
        where_,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, Source, audit};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn every_generated_workflow_audits_clean() {
        for registry in Registry::ALL {
            let options = InitOptions::new(registry, SHA.into(), "0.1.0".into());
            let text = workflow(&options).unwrap();
            let report = audit(
                &[Source {
                    path: format!(".github/workflows/{}", options.file_name),
                    text: text.clone(),
                }],
                &Options {
                    expectations: vec![crate::Expectation {
                        registry,
                        workflow: Some(options.file_name.clone()),
                        environment: Some(options.environment.clone()),
                        origin: "test".into(),
                    }],
                },
            );
            assert!(
                report.findings.is_empty() && report.ignored.is_empty(),
                "{registry}:\n{text}\n{}",
                crate::render::human(&report)
            );
        }
    }

    #[test]
    fn refuses_bad_input() {
        let mut options = InitOptions::new(Registry::Pypi, "v1".into(), "0.1.0".into());
        assert!(matches!(workflow(&options), Err(InitError::BadSha(_))));
        options.action_sha = SHA.into();
        options.environment = "a: b".into();
        assert!(matches!(workflow(&options), Err(InitError::BadName { .. })));
    }

    #[test]
    fn reads_github_remotes() {
        for remote in [
            "git@github.com:octo/repo.git",
            "https://github.com/octo/repo",
            "https://github.com/octo/repo.git\n",
            "ssh://git@github.com/octo/repo.git",
            "https://x-access-token@github.com/octo/repo.git",
        ] {
            assert_eq!(
                github_repository(remote),
                Some(("octo".into(), "repo".into())),
                "{remote}"
            );
        }
        assert_eq!(github_repository("https://gitlab.com/octo/repo"), None);
    }

    #[test]
    fn pypi_link_is_prefilled() {
        let mut options = InitOptions::new(Registry::Pypi, SHA.into(), "0.1.0".into());
        options.package = Some("sample".into());
        let fields = publisher_fields(&options, "octo", "repo");
        assert_eq!(
            fields.shortcut.as_deref(),
            Some(
                "https://pypi.org/manage/project/sample/settings/publishing/?provider=github&owner=octo&repository=repo&workflow_filename=publish-pypi.yml&environment=pypi"
            )
        );
    }
}
