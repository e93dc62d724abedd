//! What must hold before a provenance statement is signed.
//!
//! npm checks the CI system, the ID-token permission and the package's visibility itself
//! (libnpmpublish's `ensureProvenanceGeneration`); the registry checks the rest only after the
//! statement has been signed and logged in Rekor, and refuses the upload with
//! `422 Error verifying sigstore provenance bundle: ...`. We check all of it first, with the same
//! wording, so that a publish that would fail never leaves an entry in the transparency log.
//!
//! The registry reads the source repository, its visibility and the runner from the Fulcio
//! certificate, which copies them from the ID token's claims (`repository_visibility` and
//! `runner_environment` on GitHub, `project_visibility` and `runner_environment` on GitLab;
//! npm's own OIDC code reads the same visibility claims to decide whether to turn provenance on).
//! So the checks read the decoded claims when they are given, and the CI variables otherwise.

use std::fmt;

use oidc_core::claims::Claims;
use oidc_core::env::Environment;

use super::build::{CiBuild, CiBuildError, CiProvider, GithubBuild, GitlabBuild};
use crate::package::Manifest;
use crate::package::hosted::HostedGit;

/// What is known of the package's own visibility on the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageVisibility {
    /// The publish sends `access: public` (`--access public` or `publishConfig.access`), so npm
    /// does not ask.
    AccessPublic,
    /// The registry's answer to `GET /-/package/<escaped name>/visibility` (`{"public": bool}`);
    /// a 404 (a new package) is `public: false`, as npm treats it.
    Registry {
        /// The `public` field.
        public: bool,
    },
    /// Not asked: the check is skipped (npm itself would refuse unless `access` is public).
    NotChecked,
}

/// The inputs of [`check_provenance_preconditions`], all explicit.
#[derive(Clone, Copy)]
pub struct ProvenanceContext<'a> {
    /// The CI variables (`GITHUB_*`, `RUNNER_ENVIRONMENT`, `ACTIONS_ID_TOKEN_REQUEST_URL`,
    /// `CI_*`, `SIGSTORE_ID_TOKEN`, ...).
    pub env: &'a dyn Environment,
    /// The claims of the job's ID token (either audience: they carry the same claims). Without
    /// them, the repository visibility is only checked on GitLab (`CI_PROJECT_VISIBILITY`) and
    /// the runner only on GitHub (`RUNNER_ENVIRONMENT`).
    pub claims: Option<&'a Claims>,
    /// The package's visibility on the registry.
    pub package: PackageVisibility,
}

impl fmt::Debug for ProvenanceContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvenanceContext")
            .field("env", &"<environment>")
            .field("claims", &self.claims.map(|_| "<claims>"))
            .field("package", &self.package)
            .finish()
    }
}

/// One reason provenance cannot be generated or would be refused. `Display` gives npm's or the
/// registry's text where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProvenanceProblem {
    /// The CI environment cannot describe the build (unsupported CI, missing variables).
    Build(CiBuildError),
    /// GitHub Actions without `ACTIONS_ID_TOKEN_REQUEST_URL` (npm's `EUSAGE`).
    IdTokenPermission,
    /// GitLab CI without `SIGSTORE_ID_TOKEN` (npm's `EUSAGE`).
    SigstoreIdTokenMissing,
    /// The registry says the package is new or private (npm's `EUSAGE`).
    PackageNotPublic,
    /// `repository.url` does not name the repository the provenance names (registry 422).
    RepositoryMismatch {
        /// `repository.url` as published (normalised by npm), empty when absent.
        found: String,
        /// The source repository of the build, e.g. `https://github.com/owner/repo`.
        expected: String,
    },
    /// The source repository is not public (registry 422).
    RepositoryNotPublic {
        /// The CI system.
        provider: CiProvider,
        /// The visibility: `private` or `internal`.
        visibility: String,
    },
    /// The job does not run on a runner the CI system hosts (registry 422).
    RunnerNotHosted {
        /// The CI system.
        provider: CiProvider,
        /// The runner environment, e.g. `self-hosted`.
        runner: String,
    },
}

/// The only runner environment the registry accepts for a provider.
fn hosted_runner(provider: CiProvider) -> &'static str {
    match provider {
        CiProvider::GithubActions => "github-hosted",
        CiProvider::GitlabCi => "gitlab-hosted",
    }
}

impl ProvenanceProblem {
    /// What to do about it, when the text does not already say.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::Build(error) => return error.hint().map(str::to_owned),
            Self::IdTokenPermission => "add `permissions: id-token: write` to the publishing job",
            Self::SigstoreIdTokenMissing => {
                "add `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore` to the publishing job"
            }
            Self::PackageNotPublic => {
                "publish with `--access public` or `publishConfig.access: public`, or without provenance"
            }
            Self::RepositoryMismatch { expected, .. } => {
                return Some(format!(
                    "set \"repository\": {{\"type\": \"git\", \"url\": \"git+{expected}.git\"}} in package.json; owner and name are case-sensitive, and a package inside a monorepo also needs \"directory\""
                ));
            }
            Self::RepositoryNotPublic { .. } => {
                "make the repository public, or publish without provenance"
            }
            Self::RunnerNotHosted {
                provider: CiProvider::GithubActions,
                ..
            } => {
                "run the publishing job on a GitHub-hosted runner (e.g. `runs-on: ubuntu-latest`), or publish without provenance"
            }
            Self::RunnerNotHosted {
                provider: CiProvider::GitlabCi,
                ..
            } => {
                "run the publishing job on a GitLab.com hosted runner, or publish without provenance"
            }
        };
        Some(hint.to_owned())
    }
}

impl fmt::Display for ProvenanceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Build(error) => error.fmt(f),
            Self::IdTokenPermission => f.write_str(
                "Provenance generation in GitHub Actions requires \"write\" access to the \"id-token\" permission",
            ),
            Self::SigstoreIdTokenMissing => f.write_str(
                "Provenance generation in GitLab CI requires \"SIGSTORE_ID_TOKEN\" with \"sigstore\" audience to be present in \"id_tokens\". For more info see:\nhttps://docs.gitlab.com/ee/ci/secrets/id_token_authentication.html",
            ),
            Self::PackageNotPublic => f.write_str(
                "Can't generate provenance for new or private package, you must set `access` to public.",
            ),
            Self::RepositoryMismatch { found, expected } => write!(
                f,
                "Failed to validate repository information: package.json: \"repository.url\" is \"{found}\", expected to match \"{expected}\" from provenance"
            ),
            Self::RepositoryNotPublic {
                provider,
                visibility,
            } => write!(
                f,
                "Unsupported {provider} source repository visibility: \"{visibility}\". Only public source repositories are supported when publishing with provenance."
            ),
            Self::RunnerNotHosted { provider, runner } => write!(
                f,
                "Unsupported {provider} runner environment: \"{runner}\". Only \"{}\" runners are supported when publishing with provenance.",
                hosted_runner(*provider)
            ),
        }
    }
}

/// Provenance for this package cannot be generated here, or the registry would refuse it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProvenanceRefusal {
    /// `name@version`.
    pub package: String,
    /// Every problem found, in the order npm and then the registry would meet them.
    pub problems: Vec<ProvenanceProblem>,
}

impl fmt::Display for ProvenanceRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot publish {} with provenance:", self.package)?;
        crate::package::checks::write_problems(
            f,
            self.problems
                .iter()
                .map(|problem| (problem.to_string(), problem.hint())),
        )
    }
}

/// A repository URL reduced to the form the provenance names: `https://github.com/owner/repo`.
/// Known hosts go through hosted-git-info (so `git+ssh://git@github.com/o/r.git`,
/// `git://github.com/o/r` and `https://user@github.com/o/r.git#main` all reduce to the same
/// URL); others only lose `git+`, a trailing `/` and `.git`. Case is kept: the registry compares
/// case-sensitively.
fn web_url(url: &str) -> String {
    if let Some(web) = HostedGit::from_url(url).and_then(|hosted| hosted.web_url()) {
        return web;
    }
    let url = url.trim();
    let url = url.strip_prefix("git+").unwrap_or(url);
    let url = url.trim_end_matches('/');
    url.strip_suffix(".git").unwrap_or(url).to_owned()
}

/// The claim as a string, when the token has it.
fn claim<'a>(claims: Option<&'a Claims>, name: &str) -> Option<&'a str> {
    claims?.raw.get(name)?.as_str()
}

/// Checks everything that can be known before signing: npm's own pre-checks
/// (`ensureProvenanceGeneration`) and the registry's checks of the provenance (repository,
/// public repository, hosted runner). On success, returns the CI build the statement will
/// describe ([`ProvenanceStatement::new`](super::ProvenanceStatement::new)).
pub fn check_provenance_preconditions(
    manifest: &Manifest,
    ci: &ProvenanceContext<'_>,
) -> Result<CiBuild, ProvenanceRefusal> {
    let refusal = |problems| ProvenanceRefusal {
        package: format!("{}@{}", manifest.name(), manifest.version()),
        problems,
    };
    let env = ci.env;
    let provider = match CiProvider::detect(env) {
        Ok(provider) => provider,
        Err(error) => return Err(refusal(vec![ProvenanceProblem::Build(error)])),
    };
    let mut problems = Vec::new();
    match provider {
        CiProvider::GithubActions if env.non_empty("ACTIONS_ID_TOKEN_REQUEST_URL").is_none() => {
            problems.push(ProvenanceProblem::IdTokenPermission);
        }
        CiProvider::GitlabCi if env.non_empty("SIGSTORE_ID_TOKEN").is_none() => {
            problems.push(ProvenanceProblem::SigstoreIdTokenMissing);
        }
        _ => {}
    }
    if ci.package == (PackageVisibility::Registry { public: false }) {
        problems.push(ProvenanceProblem::PackageNotPublic);
    }

    let build = match provider {
        CiProvider::GithubActions => GithubBuild::from_env(env).map(CiBuild::GithubActions),
        CiProvider::GitlabCi => GitlabBuild::from_env(env).map(CiBuild::GitlabCi),
    };
    match &build {
        Ok(build) => {
            let expected = build.source_repository();
            let found = manifest.repository_url().unwrap_or_default();
            if found.is_empty() || web_url(found) != web_url(&expected) {
                problems.push(ProvenanceProblem::RepositoryMismatch {
                    found: found.to_owned(),
                    expected,
                });
            }
        }
        Err(error) => problems.push(ProvenanceProblem::Build(error.clone())),
    }

    let (visibility, runner) = match provider {
        CiProvider::GithubActions => (
            claim(ci.claims, "repository_visibility").map(str::to_owned),
            claim(ci.claims, "runner_environment")
                .map(str::to_owned)
                .or_else(|| env.non_empty("RUNNER_ENVIRONMENT")),
        ),
        CiProvider::GitlabCi => (
            claim(ci.claims, "project_visibility")
                .map(str::to_owned)
                .or_else(|| env.non_empty("CI_PROJECT_VISIBILITY")),
            claim(ci.claims, "runner_environment").map(str::to_owned),
        ),
    };
    if let Some(visibility) = visibility.filter(|v| v != "public") {
        problems.push(ProvenanceProblem::RepositoryNotPublic {
            provider,
            visibility,
        });
    }
    if let Some(runner) = runner.filter(|r| r != hosted_runner(provider)) {
        problems.push(ProvenanceProblem::RunnerNotHosted { provider, runner });
    }

    match build {
        Ok(build) if problems.is_empty() => Ok(build),
        _ => Err(refusal(problems)),
    }
}

#[cfg(test)]
mod tests;
