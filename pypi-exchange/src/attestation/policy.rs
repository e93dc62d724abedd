//! PyPI's GitHub Trusted Publisher policy for attestations, as pypi-attestations'
//! `GitHubPublisher` applies it to the signing certificate: a pure function of the certificate's
//! Fulcio claims, read by the caller from a certificate whose chain has verified.

use std::fmt;

/// The issuer of GitHub Actions ID tokens (github.com; PyPI accepts no other GitHub issuer).
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The certificate claims the policy reads (issuer, source repository URI, digest and ref,
/// build config URI), as `sigstore-verify` reports them for a certificate whose chain verified.
pub use oidc_core::sigstore::CertificateClaims;

/// A GitHub Trusted Publisher as PyPI registers it, the identity an attestation must carry
/// (pypi-attestations' `GitHubPublisher`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubPublisherPolicy {
    /// The repository, `OWNER/REPO`, compared exactly as pypi-attestations does (mind the case).
    pub repository: String,
    /// The workflow's file name in `.github/workflows/` (`release.yml`), not a path.
    pub workflow: String,
    /// The GitHub Actions environment, if the publisher names one. Not checked: Fulcio
    /// certificates carry no environment claim, and pypi-attestations does not check it either.
    pub environment: Option<String>,
}

/// A certificate claim the Trusted Publisher does not match: which one, what was expected, what
/// the certificate has, and what that means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyMismatch {
    /// The claim, with its OID (`Build Config URI (1.3.6.1.4.1.57264.1.18)`).
    pub field: &'static str,
    /// The accepted values (any one of them).
    pub expected: Vec<String>,
    /// What the certificate has; `None` when it lacks the extension.
    pub found: Option<String>,
    /// What the mismatch means and what to do.
    pub advice: String,
}

impl fmt::Display for PolicyMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.found {
            Some(found) => write!(f, "the certificate's {} is {found:?}", self.field)?,
            None => write!(f, "the certificate has no {}", self.field)?,
        }
        f.write_str(", expected ")?;
        for (i, expected) in self.expected.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{expected:?}")?;
        }
        write!(f, ": {}", self.advice)
    }
}

const ISSUER_FIELD: &str = "Issuer (1.3.6.1.4.1.57264.1.8)";
const SOURCE_REPOSITORY_FIELD: &str = "Source Repository URI (1.3.6.1.4.1.57264.1.12)";
const REVISION_FIELD: &str = "Source Repository Digest (1.3.6.1.4.1.57264.1.13) or Source Repository Ref (1.3.6.1.4.1.57264.1.14)";
const BUILD_CONFIG_FIELD: &str = "Build Config URI (1.3.6.1.4.1.57264.1.18)";

impl GithubPublisherPolicy {
    /// Checks the certificate's claims as pypi-attestations' GitHub Trusted Publisher policy
    /// does, in its order: the issuer is GitHub Actions; the Source Repository URI is
    /// `https://github.com/{repository}`; the certificate has a Source Repository Digest or Ref;
    /// and the Build Config URI is `https://github.com/{repository}/.github/workflows/{workflow}@`
    /// followed by that digest or that ref. All comparisons are exact.
    pub fn check(&self, claims: &CertificateClaims) -> Result<(), PolicyMismatch> {
        let publisher = format!("{} @ {}", self.workflow, self.repository);
        if claims.issuer.as_deref() != Some(GITHUB_ACTIONS_ISSUER) {
            return Err(PolicyMismatch {
                field: ISSUER_FIELD,
                expected: vec![GITHUB_ACTIONS_ISSUER.to_owned()],
                found: claims.issuer.clone(),
                advice: "the attestation was not signed with a GitHub Actions identity, so it \
                         cannot come from a GitHub Trusted Publisher"
                    .to_owned(),
            });
        }

        let expected_repository = format!("https://github.com/{}", self.repository);
        let found_repository = claims.source_repository_uri.as_deref();
        if found_repository != Some(expected_repository.as_str()) {
            let advice = match found_repository {
                Some(found) if found.eq_ignore_ascii_case(&expected_repository) => format!(
                    "the names differ only in letter case; GitHub ignores case but PyPI's \
                     verifier compares exactly, so give the repository as {:?}",
                    found.trim_start_matches("https://github.com/")
                ),
                Some(_) => format!(
                    "the attestation was signed in another repository than the Trusted \
                     Publisher's ({publisher})"
                ),
                None => "without it the signing repository is unknown".to_owned(),
            };
            return Err(PolicyMismatch {
                field: SOURCE_REPOSITORY_FIELD,
                expected: vec![expected_repository],
                found: claims.source_repository_uri.clone(),
                advice,
            });
        }

        let suffixes: Vec<&str> = [
            claims.source_repository_digest.as_deref(),
            claims.source_repository_ref.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if suffixes.is_empty() {
            return Err(PolicyMismatch {
                field: REVISION_FIELD,
                expected: vec!["a commit or a git ref".to_owned()],
                found: None,
                advice: "Certificate must contain either Source Repository Digest or Source \
                         Repository Ref, against which the Build Config URI is checked"
                    .to_owned(),
            });
        }
        let expected: Vec<String> = suffixes
            .iter()
            .map(|suffix| {
                format!(
                    "https://github.com/{}/.github/workflows/{}@{suffix}",
                    self.repository, self.workflow
                )
            })
            .collect();
        let found = claims.build_config_uri.as_deref();
        if found.is_some_and(|found| expected.iter().any(|expected| expected == found)) {
            return Ok(());
        }
        let mut advice = format!("it does not match the expected Trusted Publisher ({publisher})");
        let prefix = format!("https://github.com/{}/.github/workflows/", self.repository);
        match found.and_then(|found| found.strip_prefix(&prefix)) {
            Some(rest) => {
                let (workflow, at) = rest.rsplit_once('@').unwrap_or((rest, ""));
                if workflow != self.workflow {
                    advice.push_str(&format!(
                        ": the attestation was signed by workflow {workflow:?}"
                    ));
                    if self.workflow.contains('/') {
                        advice.push_str(&format!(
                            "; give the workflow as a file name in .github/workflows/ (such as \
                             {:?}), not a path",
                            self.workflow.rsplit('/').next().unwrap_or_default()
                        ));
                    }
                } else {
                    advice.push_str(&format!(
                        ": the workflow ran at {at:?}, which is neither the certificate's commit \
                         nor its ref"
                    ));
                }
            }
            None if found.is_none() => {
                advice.push_str(": without it the signing workflow is unknown");
            }
            None => {}
        }
        Err(PolicyMismatch {
            field: BUILD_CONFIG_FIELD,
            expected,
            found: claims.build_config_uri.clone(),
            advice,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "6f1e3b1a2c4d5e6f708192a3b4c5d6e7f8091a2b";
    const REF: &str = "refs/tags/v4.0.0";

    fn policy() -> GithubPublisherPolicy {
        GithubPublisherPolicy {
            repository: "octo-org/sampleproject".into(),
            workflow: "release.yml".into(),
            environment: Some("pypi".into()),
        }
    }

    fn claims() -> CertificateClaims {
        CertificateClaims {
            issuer: Some(GITHUB_ACTIONS_ISSUER.into()),
            build_signer_uri: Some(
                "https://github.com/octo-org/shared/.github/workflows/publish.yml@refs/heads/main"
                    .into(),
            ),
            source_repository_uri: Some("https://github.com/octo-org/sampleproject".into()),
            source_repository_digest: Some(SHA.into()),
            source_repository_ref: Some(REF.into()),
            build_config_uri: Some(
                "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v4.0.0"
                    .into(),
            ),
            ..CertificateClaims::default()
        }
    }

    fn mismatch(policy: &GithubPublisherPolicy, claims: &CertificateClaims) -> String {
        policy.check(claims).unwrap_err().to_string()
    }

    #[test]
    fn accepts_the_trusted_publisher_at_its_ref_or_its_commit() {
        let policy = policy();
        assert_eq!(policy.check(&claims()), Ok(()));
        let mut at_commit = claims();
        at_commit.build_config_uri = Some(format!(
            "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@{SHA}"
        ));
        assert_eq!(policy.check(&at_commit), Ok(()));
        // Only one of digest and ref is needed.
        let mut ref_only = claims();
        ref_only.source_repository_digest = None;
        assert_eq!(policy.check(&ref_only), Ok(()));
        // The environment is not in the certificate, so it is not checked.
        let other_environment = GithubPublisherPolicy {
            environment: None,
            ..policy
        };
        assert_eq!(other_environment.check(&claims()), Ok(()));
    }

    #[test]
    fn explains_every_mismatch() {
        let policy = policy();
        let edit = |change: &dyn Fn(&mut CertificateClaims)| {
            let mut claims = claims();
            change(&mut claims);
            mismatch(&policy, &claims)
        };
        insta::assert_snapshot!(edit(&|c| c.issuer = Some("https://gitlab.com".into())), @r#"the certificate's Issuer (1.3.6.1.4.1.57264.1.8) is "https://gitlab.com", expected "https://token.actions.githubusercontent.com": the attestation was not signed with a GitHub Actions identity, so it cannot come from a GitHub Trusted Publisher"#);
        insta::assert_snapshot!(edit(&|c| c.issuer = None), @r#"the certificate has no Issuer (1.3.6.1.4.1.57264.1.8), expected "https://token.actions.githubusercontent.com": the attestation was not signed with a GitHub Actions identity, so it cannot come from a GitHub Trusted Publisher"#);
        insta::assert_snapshot!(edit(&|c| c.source_repository_uri = Some("https://github.com/mallory/sampleproject".into())), @r#"the certificate's Source Repository URI (1.3.6.1.4.1.57264.1.12) is "https://github.com/mallory/sampleproject", expected "https://github.com/octo-org/sampleproject": the attestation was signed in another repository than the Trusted Publisher's (release.yml @ octo-org/sampleproject)"#);
        insta::assert_snapshot!(edit(&|c| c.source_repository_uri = Some("https://github.com/Octo-Org/SampleProject".into())), @r#"the certificate's Source Repository URI (1.3.6.1.4.1.57264.1.12) is "https://github.com/Octo-Org/SampleProject", expected "https://github.com/octo-org/sampleproject": the names differ only in letter case; GitHub ignores case but PyPI's verifier compares exactly, so give the repository as "Octo-Org/SampleProject""#);
        insta::assert_snapshot!(edit(&|c| c.source_repository_uri = None), @r#"the certificate has no Source Repository URI (1.3.6.1.4.1.57264.1.12), expected "https://github.com/octo-org/sampleproject": without it the signing repository is unknown"#);
        insta::assert_snapshot!(edit(&|c| { c.source_repository_digest = None; c.source_repository_ref = None; }), @r#"the certificate has no Source Repository Digest (1.3.6.1.4.1.57264.1.13) or Source Repository Ref (1.3.6.1.4.1.57264.1.14), expected "a commit or a git ref": Certificate must contain either Source Repository Digest or Source Repository Ref, against which the Build Config URI is checked"#);
        insta::assert_snapshot!(edit(&|c| c.build_config_uri = Some("https://github.com/octo-org/sampleproject/.github/workflows/ci.yml@refs/tags/v4.0.0".into())), @r#"the certificate's Build Config URI (1.3.6.1.4.1.57264.1.18) is "https://github.com/octo-org/sampleproject/.github/workflows/ci.yml@refs/tags/v4.0.0", expected "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@6f1e3b1a2c4d5e6f708192a3b4c5d6e7f8091a2b" or "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v4.0.0": it does not match the expected Trusted Publisher (release.yml @ octo-org/sampleproject): the attestation was signed by workflow "ci.yml""#);
        insta::assert_snapshot!(edit(&|c| c.build_config_uri = Some("https://github.com/octo-org/sampleproject/.github/workflows/release.yml@refs/heads/main".into())), @r#"the certificate's Build Config URI (1.3.6.1.4.1.57264.1.18) is "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@refs/heads/main", expected "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@6f1e3b1a2c4d5e6f708192a3b4c5d6e7f8091a2b" or "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v4.0.0": it does not match the expected Trusted Publisher (release.yml @ octo-org/sampleproject): the workflow ran at "refs/heads/main", which is neither the certificate's commit nor its ref"#);
        insta::assert_snapshot!(edit(&|c| c.build_config_uri = Some("https://github.com/octo-org/other/.github/workflows/release.yml@refs/tags/v4.0.0".into())), @r#"the certificate's Build Config URI (1.3.6.1.4.1.57264.1.18) is "https://github.com/octo-org/other/.github/workflows/release.yml@refs/tags/v4.0.0", expected "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@6f1e3b1a2c4d5e6f708192a3b4c5d6e7f8091a2b" or "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v4.0.0": it does not match the expected Trusted Publisher (release.yml @ octo-org/sampleproject)"#);
        insta::assert_snapshot!(edit(&|c| { c.build_config_uri = None; c.source_repository_digest = None; }), @r#"the certificate has no Build Config URI (1.3.6.1.4.1.57264.1.18), expected "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v4.0.0": it does not match the expected Trusted Publisher (release.yml @ octo-org/sampleproject): without it the signing workflow is unknown"#);

        let path_policy = GithubPublisherPolicy {
            workflow: ".github/workflows/release.yml".into(),
            ..policy.clone()
        };
        insta::assert_snapshot!(mismatch(&path_policy, &claims()), @r#"the certificate's Build Config URI (1.3.6.1.4.1.57264.1.18) is "https://github.com/octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v4.0.0", expected "https://github.com/octo-org/sampleproject/.github/workflows/.github/workflows/release.yml@6f1e3b1a2c4d5e6f708192a3b4c5d6e7f8091a2b" or "https://github.com/octo-org/sampleproject/.github/workflows/.github/workflows/release.yml@refs/tags/v4.0.0": it does not match the expected Trusted Publisher (.github/workflows/release.yml @ octo-org/sampleproject): the attestation was signed by workflow "release.yml"; give the workflow as a file name in .github/workflows/ (such as "release.yml"), not a path"#);
    }
}
