//! What Fulcio writes into a certificate for a GitHub Actions token: the SAN and the Sigstore OID extensions, from
//! Fulcio's `ci-issuer-metadata` for `github-workflow` (templates over the claims, `url` defaulting to
//! `https://github.com`, `environment` to empty) rendered in `certificate.Extensions.Render`'s order: the legacy
//! raw-string extensions 1.1–1.6, then 1.8 onward as DER UTF8Strings. Empty values are left out, like Fulcio does.

use serde_json::{Map, Value};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::ext::Extension;

use super::x509::{raw_extension, utf8_extension};
use crate::TestbedError;

/// The Fulcio OID `1.3.6.1.4.1.57264.1.<arc>`.
pub(crate) const fn fulcio_oid(arc: u32) -> ObjectIdentifier {
    match arc {
        1 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1"),
        2 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.2"),
        3 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.3"),
        4 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.4"),
        5 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.5"),
        6 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.6"),
        8 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8"),
        9 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.9"),
        10 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.10"),
        11 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.11"),
        12 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.12"),
        13 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.13"),
        14 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.14"),
        15 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.15"),
        16 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.16"),
        17 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.17"),
        18 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.18"),
        19 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.19"),
        20 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.20"),
        21 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.21"),
        22 => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.22"),
        _ => ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.23"),
    }
}

/// The issuer (1.8).
pub(crate) const OID_ISSUER_V2: ObjectIdentifier = fulcio_oid(8);
/// Source Repository URI (1.12).
pub(crate) const OID_SOURCE_REPOSITORY_URI: ObjectIdentifier = fulcio_oid(12);
/// Source Repository Digest (1.13).
pub(crate) const OID_SOURCE_REPOSITORY_DIGEST: ObjectIdentifier = fulcio_oid(13);
/// Source Repository Ref (1.14).
pub(crate) const OID_SOURCE_REPOSITORY_REF: ObjectIdentifier = fulcio_oid(14);
/// Build Config URI (1.18).
pub(crate) const OID_BUILD_CONFIG_URI: ObjectIdentifier = fulcio_oid(18);

/// One piece of a `github-workflow` template.
enum Part {
    /// Literal text.
    Text(&'static str),
    /// `{{ .claim }}`, with Fulcio's defaults for `url` and `environment`.
    Claim(&'static str),
}

use Part::{Claim, Text};

/// The `github-workflow` extension templates, in render order: (arc, legacy raw encoding, template).
const TEMPLATES: &[(u32, bool, &[Part])] = &[
    (2, true, &[Claim("event_name")]),
    (3, true, &[Claim("sha")]),
    (4, true, &[Claim("workflow")]),
    (5, true, &[Claim("repository")]),
    (6, true, &[Claim("ref")]),
    (
        9,
        false,
        &[Claim("url"), Text("/"), Claim("job_workflow_ref")],
    ),
    (10, false, &[Claim("job_workflow_sha")]),
    (11, false, &[Claim("runner_environment")]),
    (12, false, &[Claim("url"), Text("/"), Claim("repository")]),
    (13, false, &[Claim("sha")]),
    (14, false, &[Claim("ref")]),
    (15, false, &[Claim("repository_id")]),
    (
        16,
        false,
        &[Claim("url"), Text("/"), Claim("repository_owner")],
    ),
    (17, false, &[Claim("repository_owner_id")]),
    (18, false, &[Claim("url"), Text("/"), Claim("workflow_ref")]),
    (19, false, &[Claim("workflow_sha")]),
    (20, false, &[Claim("event_name")]),
    (
        21,
        false,
        &[
            Claim("url"),
            Text("/"),
            Claim("repository"),
            Text("/actions/runs/"),
            Claim("run_id"),
            Text("/attempts/"),
            Claim("run_attempt"),
        ],
    ),
    (22, false, &[Claim("repository_visibility")]),
    (23, false, &[Claim("environment")]),
];

/// A claim as Go's `fmt.Sprintf("%s", v)` would print a string claim; numbers and booleans in their JSON text.
fn claim(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => match name {
            "url" => Some("https://github.com".to_owned()),
            "environment" => Some(String::new()),
            _ => None,
        },
        Some(other) => Some(other.to_string()),
    }
}

fn render(parts: &[Part], claims: &Map<String, Value>, issuer: &str) -> Result<String, String> {
    let mut out = String::new();
    for part in parts {
        match part {
            Text(text) => out.push_str(text),
            Claim(name) => out.push_str(&claim(claims, name).ok_or_else(|| {
                format!("value <{name}> not present in either claims or defaults. Issuer: {issuer}")
            })?),
        }
    }
    Ok(out)
}

/// The certificate identity of a verified GitHub Actions token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateIdentity {
    /// The SAN URI, `https://github.com/{job_workflow_ref}`.
    pub(crate) san_uri: String,
    /// `(arc, value, legacy raw encoding)` in render order, empty values left out.
    pub(crate) values: Vec<(u32, String, bool)>,
}

impl CertificateIdentity {
    /// Renders the identity from verified claims; `Err` is Fulcio's message for a missing claim.
    pub(crate) fn from_claims(claims: &Map<String, Value>) -> Result<Self, String> {
        let issuer = claim(claims, "iss").unwrap_or_default();
        let san_uri = render(
            &[Claim("url"), Text("/"), Claim("job_workflow_ref")],
            claims,
            &issuer,
        )?;
        let mut values = vec![(1, issuer.clone(), true)];
        let mut rendered = Vec::new();
        for (arc, legacy, parts) in TEMPLATES {
            let value = render(parts, claims, &issuer)?;
            if !value.is_empty() {
                rendered.push((*arc, value, *legacy));
            }
        }
        let (legacy, current): (Vec<_>, Vec<_>) =
            rendered.into_iter().partition(|(_, _, legacy)| *legacy);
        values.extend(legacy);
        values.push((8, issuer, false));
        values.extend(current);
        Ok(Self { san_uri, values })
    }

    /// The X.509 extensions, in order.
    pub(crate) fn extensions(&self) -> Result<Vec<Extension>, TestbedError> {
        self.values
            .iter()
            .map(|(arc, value, legacy)| {
                if *legacy {
                    raw_extension(fulcio_oid(*arc), false, value.as_bytes().to_vec())
                } else {
                    utf8_extension(fulcio_oid(*arc), value)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GithubIdentity;

    #[test]
    fn github_claims_render_like_fulcio() {
        let claims = GithubIdentity::default().claims("sigstore", "jti", 1_700_000_000);
        let identity = CertificateIdentity::from_claims(&claims).unwrap();
        assert_eq!(
            identity.san_uri,
            "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0"
        );
        let text: Vec<String> = identity
            .values
            .iter()
            .map(|(arc, value, legacy)| {
                format!("1.{arc}{} {value}", if *legacy { " (raw)" } else { "" })
            })
            .collect();
        insta::assert_snapshot!(text.join("\n"), @r"
        1.1 (raw) https://token.actions.githubusercontent.com
        1.2 (raw) push
        1.3 (raw) 8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1
        1.4 (raw) Release
        1.5 (raw) octo-org/octo-repo
        1.6 (raw) refs/tags/v1.0.0
        1.8 https://token.actions.githubusercontent.com
        1.9 https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
        1.10 8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1
        1.11 github-hosted
        1.12 https://github.com/octo-org/octo-repo
        1.13 8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1
        1.14 refs/tags/v1.0.0
        1.15 606060606
        1.16 https://github.com/octo-org
        1.17 5050505
        1.18 https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0
        1.19 8f4d3c2b1a0e9f8d7c6b5a4938271605f4e3d2c1
        1.20 push
        1.21 https://github.com/octo-org/octo-repo/actions/runs/9876543210/attempts/1
        1.22 public
        ");
        assert_eq!(identity.extensions().unwrap().len(), identity.values.len());
    }

    #[test]
    fn an_environment_adds_the_deployment_extension_and_missing_claims_are_named() {
        let identity = GithubIdentity {
            environment: Some("pypi".to_owned()),
            ..GithubIdentity::default()
        };
        let mut claims = identity.claims("sigstore", "jti", 0);
        let rendered = CertificateIdentity::from_claims(&claims).unwrap();
        assert_eq!(
            rendered.values.last().unwrap(),
            &(23, "pypi".to_owned(), false)
        );
        claims.remove("job_workflow_ref");
        insta::assert_snapshot!(CertificateIdentity::from_claims(&claims).unwrap_err(), @"value <job_workflow_ref> not present in either claims or defaults. Issuer: https://token.actions.githubusercontent.com");
    }
}
