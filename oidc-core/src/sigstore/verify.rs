//! Offline verification of a v0.3 DSSE bundle: the chain to the trust root, the SCT, the
//! transparency-log inclusion proof, checkpoint and SET, the DSSE signature, the statement's
//! subject against the artifact's digest, and the certificate's identity against what the
//! caller expects.

use sigstore_verify::VerificationPolicy;
use sigstore_verify::types::{Artifact, Bundle, HashAlgorithm, SignatureContent};

use super::{SigstoreError, TrustRoot};
use crate::claims::{Claims, IssuerKind};

/// The digest a statement's subject must carry: SHA-256 (PEP 740) or SHA-512 (npm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactDigest {
    /// A SHA-256 digest.
    Sha256([u8; 32]),
    /// A SHA-512 digest.
    Sha512([u8; 64]),
}

impl ArtifactDigest {
    /// From lowercase or uppercase hex.
    pub fn sha256_hex(hex_digest: &str) -> Result<Self, String> {
        let mut out = [0; 32];
        hex::decode_to_slice(hex_digest, &mut out)
            .map_err(|err| format!("`{hex_digest}` is not a SHA-256 hex digest: {err}"))?;
        Ok(Self::Sha256(out))
    }

    /// From lowercase or uppercase hex.
    pub fn sha512_hex(hex_digest: &str) -> Result<Self, String> {
        let mut out = [0; 64];
        hex::decode_to_slice(hex_digest, &mut out)
            .map_err(|err| format!("`{hex_digest}` is not a SHA-512 hex digest: {err}"))?;
        Ok(Self::Sha512(out))
    }

    /// The digest as lowercase hex.
    pub fn to_hex(&self) -> String {
        match self {
            Self::Sha256(bytes) => hex::encode(bytes),
            Self::Sha512(bytes) => hex::encode(bytes),
        }
    }

    fn to_sigstore(&self) -> Result<sigstore_verify::types::ArtifactDigest, String> {
        let (algorithm, bytes): (HashAlgorithm, &[u8]) = match self {
            Self::Sha256(bytes) => (HashAlgorithm::Sha2256, bytes),
            Self::Sha512(bytes) => (HashAlgorithm::Sha2512, bytes),
        };
        sigstore_verify::types::ArtifactDigest::new(algorithm, bytes.to_vec())
            .map_err(|err| err.to_string())
    }
}

/// What a Fulcio certificate says about the workload it was issued to (the `1.3.6.1.4.1.57264.1`
/// extensions), plus its SAN and issuer. Values are as the certificate has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateClaims {
    /// The SAN (`https://github.com/O/R/.github/workflows/release.yml@refs/tags/v1`).
    pub identity: Option<String>,
    /// The OIDC issuer (`1.8`).
    pub issuer: Option<String>,
    /// `1.9`: the workflow that signed (the reusable one, if any), with its ref.
    pub build_signer_uri: Option<String>,
    /// `1.11`: `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
    /// `1.12`: `https://github.com/O/R`.
    pub source_repository_uri: Option<String>,
    /// `1.13`: the commit.
    pub source_repository_digest: Option<String>,
    /// `1.14`: the ref (`refs/tags/v1`).
    pub source_repository_ref: Option<String>,
    /// `1.18`: the top-level workflow that ran, with its ref.
    pub build_config_uri: Option<String>,
    /// `1.20`: the triggering event.
    pub build_trigger: Option<String>,
    /// `1.21`: the run.
    pub run_invocation_uri: Option<String>,
    /// `1.22`: `public`, `private` or `internal`.
    pub source_repository_visibility: Option<String>,
    /// `1.23`: the deployment environment, if the job had one.
    pub deployment_environment: Option<String>,
}

impl CertificateClaims {
    /// The repository's path on its forge (`O/R`), from `1.12`.
    pub fn repository(&self) -> Option<&str> {
        let uri = self.source_repository_uri.as_deref()?;
        let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
        rest.split_once('/')
            .map(|(_, path)| path.trim_end_matches('/'))
    }

    /// The workflow file that ran (`release.yml`, `.gitlab-ci.yml`), from `1.18`.
    pub fn workflow(&self) -> Option<&str> {
        let uri = self.build_config_uri.as_deref()?;
        let (path, _) = uri.rsplit_once('@').unwrap_or((uri, ""));
        let file = path
            .rsplit_once("/.github/workflows/")
            .map(|(_, file)| file)
            .or_else(|| path.rsplit_once("//").map(|(_, file)| file))?;
        Some(file.trim_start_matches('/'))
    }
}

/// Who must have signed; each field is checked when set. With none set, any identity from the
/// trust root's CAs is accepted (the chain, log and signature are still checked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedIdentity {
    /// The OIDC issuer (`https://token.actions.githubusercontent.com`).
    pub issuer: Option<String>,
    /// The exact certificate SAN.
    pub san: Option<String>,
    /// The source repository, `O/R` (case-insensitive, as GitHub treats it).
    pub repository: Option<String>,
    /// The workflow file that ran (`release.yml`).
    pub workflow: Option<String>,
    /// The git ref (`refs/tags/v1.0.0`; a bare `v1.0.0` matches a tag or branch of that name).
    pub git_ref: Option<String>,
}

/// One expectation the certificate does not meet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the certificate's {field} is {found}, expected {expected}")]
pub struct IdentityMismatch {
    /// Which claim.
    pub field: &'static str,
    /// What was expected.
    pub expected: String,
    /// What the certificate has (`nothing` when absent).
    pub found: String,
}

impl ExpectedIdentity {
    /// Checks the claims a policy cannot express (repository, workflow, ref).
    pub fn check(&self, claims: &CertificateClaims) -> Result<(), IdentityMismatch> {
        let found = |value: Option<&str>| value.unwrap_or("nothing").to_owned();
        if let Some(repository) = &self.repository
            && !claims
                .repository()
                .is_some_and(|found| found.eq_ignore_ascii_case(repository))
        {
            return Err(IdentityMismatch {
                field: "source repository (1.3.6.1.4.1.57264.1.12)",
                expected: repository.clone(),
                found: found(claims.source_repository_uri.as_deref()),
            });
        }
        if let Some(workflow) = &self.workflow {
            let workflow = workflow.trim_start_matches(".github/workflows/");
            if claims.workflow() != Some(workflow) {
                return Err(IdentityMismatch {
                    field: "workflow (build config URI, 1.3.6.1.4.1.57264.1.18)",
                    expected: workflow.to_owned(),
                    found: found(claims.build_config_uri.as_deref()),
                });
            }
        }
        if let Some(git_ref) = &self.git_ref {
            let actual = claims.source_repository_ref.as_deref();
            let matches = actual.is_some_and(|actual| {
                actual == git_ref
                    || (!git_ref.starts_with("refs/")
                        && (actual == format!("refs/tags/{git_ref}")
                            || actual == format!("refs/heads/{git_ref}")))
            });
            if !matches {
                return Err(IdentityMismatch {
                    field: "source repository ref (1.3.6.1.4.1.57264.1.14)",
                    expected: git_ref.clone(),
                    found: found(actual),
                });
            }
        }
        Ok(())
    }
}

/// The identity Fulcio puts in a certificate for this ID token: its issuer, and the SAN where
/// the token's CI is known (GitHub: `https://github.com/{job_workflow_ref}`; GitLab:
/// `https://{ci_config_ref_uri}`). Used to check our own bundles before they leave the machine.
pub fn expected_certificate_identity(claims: &Claims) -> ExpectedIdentity {
    let issuer = claims.iss.clone();
    let san = match claims.issuer_kind() {
        IssuerKind::GithubCom => claims
            .github
            .job_workflow_ref
            .as_ref()
            .map(|job| format!("https://github.com/{job}")),
        IssuerKind::GitlabCom | IssuerKind::GitlabSelfManaged => claims
            .gitlab
            .ci_config_ref_uri
            .as_ref()
            .map(|uri| format!("https://{uri}")),
        IssuerKind::GithubEnterprise | IssuerKind::Other => None,
    };
    ExpectedIdentity {
        issuer,
        san,
        ..ExpectedIdentity::default()
    }
}

/// A bundle that verified, with what it proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The signing certificate's identity and CI claims.
    pub claims: CertificateClaims,
    /// When Rekor logged it (seconds since the epoch), if the bundle has a v1 entry.
    pub integrated_time: Option<i64>,
    /// The Rekor log index.
    pub log_index: Option<u64>,
    /// The signed in-toto statement (the DSSE payload), byte for byte.
    pub statement: Vec<u8>,
}

/// Verifies `bundle_json` (a v0.3 DSSE bundle) for an artifact with `digest`, against `trust`,
/// for `expected`. `subject` names the artifact in errors.
pub fn verify_bundle(
    trust: &TrustRoot,
    bundle_json: &str,
    subject: &str,
    digest: &ArtifactDigest,
    expected: &ExpectedIdentity,
) -> Result<VerifiedBundle, SigstoreError> {
    let bundle = Bundle::from_json(bundle_json).map_err(|err| SigstoreError::Malformed {
        subject: subject.to_owned(),
        reason: err.to_string(),
    })?;
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(SigstoreError::Verification {
            subject: subject.to_owned(),
            reason: "it holds a message signature, not a DSSE-signed in-toto statement".into(),
        });
    };
    let statement = envelope.payload.as_bytes().to_vec();
    let artifact = digest
        .to_sigstore()
        .map_err(|reason| SigstoreError::Verification {
            subject: subject.to_owned(),
            reason,
        })?;
    let mut policy = VerificationPolicy::any_identity();
    if let Some(issuer) = &expected.issuer {
        policy = policy.require_issuer(issuer.clone());
    }
    if let Some(san) = &expected.san {
        policy = policy.require_identity(san.clone());
    }
    let result = trust
        .verifier()
        .verify(Artifact::from_digest(artifact), &bundle, &policy)
        .map_err(|err| SigstoreError::Verification {
            subject: subject.to_owned(),
            reason: format!(
                "{} (checked against {})",
                crate::http::error_chain(&err),
                trust.source_name()
            ),
        })?;
    let claims = certificate_claims(&result);
    expected
        .check(&claims)
        .map_err(|mismatch| SigstoreError::Verification {
            subject: subject.to_owned(),
            reason: mismatch.to_string(),
        })?;
    let entry = bundle.verification_material.tlog_entries.first();
    Ok(VerifiedBundle {
        claims,
        integrated_time: result.integrated_time().map(|time| time.as_second()),
        log_index: entry.map(|entry| u64::from(entry.log_index)),
        statement,
    })
}

fn certificate_claims(result: &sigstore_verify::VerificationResult) -> CertificateClaims {
    let mut claims = CertificateClaims {
        identity: result.identity().map(|san| san.as_str().to_owned()),
        issuer: result.issuer().map(str::to_owned),
        ..CertificateClaims::default()
    };
    if let Some(info) = result.certificate() {
        let ci = &info.ci_claims;
        claims.build_signer_uri = ci.build_signer_uri.clone();
        claims.runner_environment = ci.runner_environment.clone();
        claims.source_repository_uri = ci.source_repository_uri.clone();
        claims.source_repository_digest = ci.source_repository_digest.clone();
        claims.source_repository_ref = ci.source_repository_ref.clone();
        claims.build_config_uri = ci.build_config_uri.clone();
        claims.build_trigger = ci.build_trigger.clone();
        claims.run_invocation_uri = ci.run_invocation_uri.clone();
        claims.source_repository_visibility = ci.source_repository_visibility_at_signing.clone();
        claims.deployment_environment = ci.deployment_environment.clone();
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::GITHUB_ISSUER;

    fn github_claims() -> CertificateClaims {
        CertificateClaims {
            identity: Some("https://github.com/Octo-Org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0".into()),
            issuer: Some(GITHUB_ISSUER.into()),
            source_repository_uri: Some("https://github.com/Octo-Org/octo-repo".into()),
            source_repository_ref: Some("refs/tags/v1.0.0".into()),
            build_config_uri: Some("https://github.com/Octo-Org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0".into()),
            ..CertificateClaims::default()
        }
    }

    #[test]
    fn repository_and_workflow_come_from_the_uris() {
        let claims = github_claims();
        assert_eq!(claims.repository(), Some("Octo-Org/octo-repo"));
        assert_eq!(claims.workflow(), Some("release.yml"));
        let gitlab = CertificateClaims {
            source_repository_uri: Some("https://gitlab.com/group/project".into()),
            build_config_uri: Some(
                "https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main".into(),
            ),
            ..CertificateClaims::default()
        };
        assert_eq!(gitlab.repository(), Some("group/project"));
        assert_eq!(gitlab.workflow(), Some(".gitlab-ci.yml"));
    }

    #[test]
    fn expectations_are_checked_field_by_field() {
        let claims = github_claims();
        let mut expected = ExpectedIdentity {
            issuer: Some(GITHUB_ISSUER.into()),
            repository: Some("octo-org/OCTO-repo".into()),
            workflow: Some(".github/workflows/release.yml".into()),
            git_ref: Some("v1.0.0".into()),
            ..ExpectedIdentity::default()
        };
        expected.check(&claims).unwrap();

        expected.workflow = Some("publish.yml".into());
        insta::assert_snapshot!(expected.check(&claims).unwrap_err(), @"the certificate's workflow (build config URI, 1.3.6.1.4.1.57264.1.18) is https://github.com/Octo-Org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0, expected publish.yml");
        expected.workflow = None;
        expected.repository = Some("someone/else".into());
        insta::assert_snapshot!(expected.check(&claims).unwrap_err(), @"the certificate's source repository (1.3.6.1.4.1.57264.1.12) is https://github.com/Octo-Org/octo-repo, expected someone/else");
        expected.repository = None;
        expected.git_ref = Some("refs/heads/main".into());
        insta::assert_snapshot!(expected.check(&claims).unwrap_err(), @"the certificate's source repository ref (1.3.6.1.4.1.57264.1.14) is refs/tags/v1.0.0, expected refs/heads/main");
        expected.git_ref = None;
        let empty = CertificateClaims::default();
        expected.repository = Some("o/r".into());
        insta::assert_snapshot!(expected.check(&empty).unwrap_err(), @"the certificate's source repository (1.3.6.1.4.1.57264.1.12) is nothing, expected o/r");
    }

    #[test]
    fn our_own_identity_follows_fulcio() {
        let mut raw = serde_json::Map::new();
        raw.insert("iss".into(), GITHUB_ISSUER.into());
        raw.insert(
            "job_workflow_ref".into(),
            "o/r/.github/workflows/release.yml@refs/tags/v1".into(),
        );
        let claims = Claims::from_map(raw).unwrap();
        let expected = expected_certificate_identity(&claims);
        assert_eq!(expected.issuer.as_deref(), Some(GITHUB_ISSUER));
        assert_eq!(
            expected.san.as_deref(),
            Some("https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1")
        );
    }

    #[test]
    fn digests_parse_from_hex() {
        let digest = ArtifactDigest::sha256_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(digest.to_hex(), "ab".repeat(32));
        assert!(ArtifactDigest::sha256_hex("abc").is_err());
        assert!(ArtifactDigest::sha512_hex(&"ab".repeat(32)).is_err());
        assert!(matches!(
            ArtifactDigest::sha512_hex(&"cd".repeat(64)).unwrap(),
            ArtifactDigest::Sha512(_)
        ));
    }

    #[test]
    fn garbage_is_not_a_bundle() {
        let trust = TrustRoot::public_good().unwrap();
        let digest = ArtifactDigest::Sha256([0; 32]);
        let err = verify_bundle(
            &trust,
            "<html>",
            "x.whl",
            &digest,
            &ExpectedIdentity::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("x.whl is not a Sigstore bundle"),
            "{err}"
        );
    }
}
