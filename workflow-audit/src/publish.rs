//! Which jobs publish, and to which registry: known publisher actions and `run:` commands.

use crate::model::{Job, Step};
use crate::yaml::Pos;

/// A package registry that does trusted publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Registry {
    /// PyPI (and TestPyPI).
    Pypi,
    /// npm.
    Npm,
    /// crates.io.
    CratesIo,
    /// RubyGems.org.
    Rubygems,
    /// NuGet.org.
    Nuget,
}

impl Registry {
    /// Every registry.
    pub const ALL: [Registry; 5] = [
        Registry::Pypi,
        Registry::Npm,
        Registry::CratesIo,
        Registry::Rubygems,
        Registry::Nuget,
    ];

    /// The name on the command line (`pypi`, `crates-io`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Registry::Pypi => "pypi",
            Registry::Npm => "npm",
            Registry::CratesIo => "crates-io",
            Registry::Rubygems => "rubygems",
            Registry::Nuget => "nuget",
        }
    }

    /// The display name.
    pub fn title(self) -> &'static str {
        match self {
            Registry::Pypi => "PyPI",
            Registry::Npm => "npm",
            Registry::CratesIo => "crates.io",
            Registry::Rubygems => "RubyGems.org",
            Registry::Nuget => "NuGet.org",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(name))
            .or(match name.to_ascii_lowercase().as_str() {
                "testpypi" => Some(Registry::Pypi),
                "crates.io" | "cratesio" => Some(Registry::CratesIo),
                _ => None,
            })
    }

    /// Whether the registry matches the workflow that holds the publishing job (the callee of a
    /// reusable workflow: PyPI, RubyGems, NuGet) rather than the caller (npm, crates.io).
    pub fn matches_callee(self) -> bool {
        matches!(self, Registry::Pypi | Registry::Rubygems | Registry::Nuget)
    }
}

impl std::fmt::Display for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

/// A place in a job that publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishSite {
    /// Where to (if known).
    pub registry: Option<Registry>,
    /// The step.
    pub pos: Pos,
    /// How (`pypa/gh-action-pypi-publish`, `npm publish`).
    pub how: String,
}

/// Publisher actions: `owner/repo` (lowercase) and the registry.
const PUBLISHER_ACTIONS: &[(&str, Option<Registry>)] = &[
    ("pypa/gh-action-pypi-publish", Some(Registry::Pypi)),
    ("trustpub/trustpub", None),
    ("rust-lang/crates-io-auth-action", Some(Registry::CratesIo)),
    ("rubygems/release-gem", Some(Registry::Rubygems)),
    (
        "rubygems/configure-rubygems-credentials",
        Some(Registry::Rubygems),
    ),
    ("nuget/login", Some(Registry::Nuget)),
    ("js-devtools/npm-publish", Some(Registry::Npm)),
    ("changesets/action", Some(Registry::Npm)),
];

/// Publish commands: the words in order, and the registry.
const PUBLISH_COMMANDS: &[(&[&str], Registry)] = &[
    (&["twine", "upload"], Registry::Pypi),
    (&["uv", "publish"], Registry::Pypi),
    (&["poetry", "publish"], Registry::Pypi),
    (&["hatch", "publish"], Registry::Pypi),
    (&["pdm", "publish"], Registry::Pypi),
    (&["flit", "publish"], Registry::Pypi),
    (&["maturin", "publish"], Registry::Pypi),
    (&["maturin", "upload"], Registry::Pypi),
    (&["npm", "publish"], Registry::Npm),
    (&["pnpm", "publish"], Registry::Npm),
    (&["yarn", "publish"], Registry::Npm),
    (&["yarn", "npm", "publish"], Registry::Npm),
    (&["bun", "publish"], Registry::Npm),
    (&["lerna", "publish"], Registry::Npm),
    (&["changeset", "publish"], Registry::Npm),
    (&["cargo", "publish"], Registry::CratesIo),
    (&["gem", "push"], Registry::Rubygems),
    (&["dotnet", "nuget", "push"], Registry::Nuget),
    (&["nuget", "push"], Registry::Nuget),
];

/// The words of a shell line, split on whitespace and shell separators, with quotes and a
/// leading path (`./bin/trustpub`) removed.
pub fn words(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | ')' | '`'))
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_owned())
        .collect()
}

/// Whether `words` contains `pattern` as consecutive words.
pub fn contains_words(words: &[String], pattern: &[&str]) -> bool {
    words
        .windows(pattern.len())
        .any(|w| w.iter().zip(pattern).all(|(a, b)| a == b))
}

/// The shell lines of a `run:` body, comments dropped.
pub fn shell_lines(run: &str) -> impl Iterator<Item = &str> {
    run.lines()
        .map(|line| line.split(" #").next().unwrap_or(line).trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// trustpub's global options that take a separate value.
const GLOBAL_OPTIONS_WITH_VALUE: &[&str] = &["--ca-file", "--http-timeout", "--id-token-file"];

/// What `trustpub …` in a command line publishes to.
fn trustpub_command(words: &[String]) -> Option<Option<Registry>> {
    let at = words
        .iter()
        .position(|w| w == "trustpub" || w == "trustpub.exe")?;
    // Global options may stand before the subcommand (`trustpub -v pypi upload`,
    // `trustpub --ca-file corp.pem npm publish`).
    let mut rest = &words[at + 1..];
    while let Some(word) = rest.first().filter(|w| w.starts_with('-')) {
        let takes_value = GLOBAL_OPTIONS_WITH_VALUE.contains(&word.as_str());
        rest = &rest[if takes_value { 2 } else { 1 }.min(rest.len())..];
    }
    match rest.first().map(String::as_str) {
        Some("pypi") => Some(Some(Registry::Pypi)),
        Some("npm") => Some(Some(Registry::Npm)),
        Some("exec") => Some(
            rest.iter()
                .skip(1)
                .find(|w| !w.starts_with('-'))
                .and_then(|r| Registry::parse(r)),
        ),
        // Anything else (`token`, `doctor`, `verify`, `audit`, `init`) does not publish.
        _ => None,
    }
}

/// The publish sites of one step.
pub fn step_sites(step: &Step) -> Vec<PublishSite> {
    let mut sites = Vec::new();
    if let Some(uses) = &step.uses
        && let Some((_, registry)) = PUBLISHER_ACTIONS
            .iter()
            .find(|(name, _)| uses.repo == *name)
    {
        let registry = registry.or_else(|| {
            // The trustpub action: `command:` says where (default pypi).
            let command = step
                .with
                .iter()
                .find(|e| e.key == "command")
                .map_or("pypi", |e| e.value.as_str());
            Registry::parse(command).or(match command {
                "exec" | "exchange" => step
                    .with
                    .iter()
                    .find(|e| e.key == "registry")
                    .and_then(|e| Registry::parse(&e.value)),
                _ => None,
            })
        });
        sites.push(PublishSite {
            registry,
            pos: uses.pos,
            how: uses.repo.clone(),
        });
    }
    if let Some((run, pos)) = &step.run {
        for line in shell_lines(run) {
            let words = words(line);
            if let Some(registry) = trustpub_command(&words) {
                sites.push(PublishSite {
                    registry,
                    pos: *pos,
                    how: line.to_owned(),
                });
                continue;
            }
            if let Some((_, registry)) = PUBLISH_COMMANDS
                .iter()
                .find(|(pattern, _)| contains_words(&words, pattern))
            {
                sites.push(PublishSite {
                    registry: Some(*registry),
                    pos: *pos,
                    how: line.to_owned(),
                });
            }
        }
    }
    sites
}

/// Every publish site of a job.
pub fn job_sites(job: &Job) -> Vec<PublishSite> {
    job.steps.iter().flat_map(step_sites).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_step(run: &str) -> Step {
        Step {
            pos: Pos::default(),
            uses: None,
            with: Vec::new(),
            env: Vec::new(),
            run: Some((run.to_owned(), Pos::default())),
        }
    }

    #[test]
    fn finds_publish_commands() {
        let cases = [
            ("python -m twine upload dist/*", Some(Registry::Pypi)),
            (
                "uv publish --trusted-publishing always",
                Some(Registry::Pypi),
            ),
            (
                "npm publish --provenance --access public",
                Some(Registry::Npm),
            ),
            (
                "cd pkg && pnpm publish --no-git-checks",
                Some(Registry::Npm),
            ),
            ("cargo publish -p foo", Some(Registry::CratesIo)),
            ("gem push *.gem", Some(Registry::Rubygems)),
            ("dotnet nuget push out/*.nupkg -s x", Some(Registry::Nuget)),
            (
                "trustpub exec crates-io -- cargo publish",
                Some(Registry::CratesIo),
            ),
            ("./trustpub pypi upload dist/*", Some(Registry::Pypi)),
            (
                "\"$RUNNER_TEMP/trustpub-1.0/trustpub\" -v pypi upload upload/",
                Some(Registry::Pypi),
            ),
            (
                "trustpub --ca-file corp.pem --http-timeout 30 npm publish dist",
                Some(Registry::Npm),
            ),
        ];
        for (line, registry) in cases {
            let sites = step_sites(&run_step(line));
            assert_eq!(sites.len(), 1, "{line}");
            assert_eq!(sites[0].registry, registry, "{line}");
        }
    }

    #[test]
    fn ignores_lookalikes() {
        for line in [
            "echo publish",
            "# npm publish",
            "npm run publish-docs",
            "cargo publish-dry",
            "trustpub doctor pypi",
            "pip install twine",
        ] {
            assert!(step_sites(&run_step(line)).is_empty(), "{line}");
        }
    }
}
