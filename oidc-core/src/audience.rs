//! The audiences of well-known services: the one list of them.
//!
//! An ID token is a credential for whichever service its `aud` names. A service that may pick
//! the audience it asks for (a package index announcing it at `/_/oidc/audience`) could ask for
//! another service's audience and act as this job there: publish to PyPI, sign with Sigstore,
//! assume a cloud role. [`well_known_service`] names the service an audience belongs to, so a
//! caller can refuse to hand such a token to anyone else.

/// How an entry of [`WELL_KNOWN_AUDIENCES`] matches an audience (ASCII case ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudiencePattern {
    /// Exactly this audience.
    Exact(&'static str),
    /// Any audience starting with this.
    Prefix(&'static str),
    /// Any audience starting with the first and ending with the second part.
    Around(&'static str, &'static str),
}

impl AudiencePattern {
    /// Whether `audience` matches.
    pub fn matches(&self, audience: &str) -> bool {
        let audience = audience.trim().to_ascii_lowercase();
        match self {
            Self::Exact(exact) => audience == exact.to_ascii_lowercase(),
            Self::Prefix(prefix) => audience.starts_with(&prefix.to_ascii_lowercase()),
            Self::Around(start, end) => {
                audience.len() > start.len() + end.len()
                    && audience.starts_with(&start.to_ascii_lowercase())
                    && audience.ends_with(&end.to_ascii_lowercase())
            }
        }
    }
}

/// The audiences of the package registries, Sigstore and the big clouds, with the service
/// each belongs to.
pub const WELL_KNOWN_AUDIENCES: &[(AudiencePattern, &str)] = &[
    (AudiencePattern::Exact("pypi"), "PyPI (pypi.org)"),
    (
        AudiencePattern::Exact("testpypi"),
        "TestPyPI (test.pypi.org)",
    ),
    (AudiencePattern::Prefix("npm:"), "an npm registry"),
    (
        AudiencePattern::Exact("sigstore"),
        "Sigstore (signing certificates in your name)",
    ),
    (AudiencePattern::Exact("crates.io"), "crates.io"),
    (AudiencePattern::Exact("rubygems.org"), "RubyGems.org"),
    (
        AudiencePattern::Exact("https://www.nuget.org"),
        "NuGet (nuget.org)",
    ),
    (AudiencePattern::Exact("https://pub.dev"), "pub.dev"),
    (
        AudiencePattern::Exact("sts.amazonaws.com"),
        "AWS (STS role assumption)",
    ),
    (
        AudiencePattern::Around("sts.", ".amazonaws.com"),
        "AWS (STS role assumption)",
    ),
    (
        AudiencePattern::Exact("api://AzureADTokenExchange"),
        "Microsoft Azure (workload identity federation)",
    ),
    (
        AudiencePattern::Prefix("//iam.googleapis.com/"),
        "Google Cloud (workload identity federation)",
    ),
    (
        AudiencePattern::Prefix("https://iam.googleapis.com/"),
        "Google Cloud (workload identity federation)",
    ),
    (
        AudiencePattern::Exact("https://github.com"),
        "GitHub's default audience (HashiCorp Vault and others)",
    ),
    (
        AudiencePattern::Prefix("https://github.com/"),
        "GitHub's default audience (HashiCorp Vault and others)",
    ),
    (
        AudiencePattern::Exact("https://gitlab.com"),
        "GitLab's default audience",
    ),
];

/// The service a well-known audience belongs to, or `None` for any other audience.
///
/// ```
/// use oidc_core::audience::well_known_service;
/// assert_eq!(well_known_service("sigstore"), Some("Sigstore (signing certificates in your name)"));
/// assert_eq!(well_known_service("npm:registry.npmjs.org"), Some("an npm registry"));
/// assert_eq!(well_known_service("sts.eu-west-1.amazonaws.com"), Some("AWS (STS role assumption)"));
/// assert_eq!(well_known_service("upload.example.com"), None);
/// ```
pub fn well_known_service(audience: &str) -> Option<&'static str> {
    WELL_KNOWN_AUDIENCES
        .iter()
        .find(|(pattern, _)| pattern.matches(audience))
        .map(|(_, service)| *service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_service_is_recognised_and_others_are_not() {
        for (aud, service) in [
            ("pypi", "PyPI (pypi.org)"),
            ("PyPI", "PyPI (pypi.org)"),
            ("testpypi", "TestPyPI (test.pypi.org)"),
            ("npm:registry.npmjs.org", "an npm registry"),
            ("sigstore", "Sigstore (signing certificates in your name)"),
            ("crates.io", "crates.io"),
            ("rubygems.org", "RubyGems.org"),
            ("https://www.nuget.org", "NuGet (nuget.org)"),
            ("https://pub.dev", "pub.dev"),
            ("sts.amazonaws.com", "AWS (STS role assumption)"),
            (
                "sts.us-gov-west-1.amazonaws.com",
                "AWS (STS role assumption)",
            ),
            (
                "api://AzureADTokenExchange",
                "Microsoft Azure (workload identity federation)",
            ),
            (
                "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/g",
                "Google Cloud (workload identity federation)",
            ),
            (
                "https://github.com/octo-org",
                "GitHub's default audience (HashiCorp Vault and others)",
            ),
        ] {
            assert_eq!(well_known_service(aud), Some(service), "{aud}");
        }
        for aud in [
            "upload.example.com",
            "my-index",
            "sts..amazonaws.com",
            "pypi-mirror",
            "",
        ] {
            assert_eq!(well_known_service(aud), None, "{aud}");
        }
    }
}
