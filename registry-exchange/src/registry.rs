//! The table of registries: one row each, everything the broker needs to know about one.
//!
//! A new registry is one row here and one module beside this one (its request, its answers,
//! its refusals).

use std::fmt;
use std::time::Duration;

use url::Url;

/// The registries the broker speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegistryKind {
    /// crates.io (Rust).
    CratesIo,
    /// RubyGems.org (Ruby).
    Rubygems,
    /// NuGet.org (.NET).
    Nuget,
}

/// How a registry's audience is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudienceRule {
    /// The registry URL without its scheme and trailing slash (`https://crates.io` →
    /// `crates.io`), as crates-io-auth-action derives it.
    UrlWithoutScheme,
    /// A constant, whatever the URL (override it with `--audience` for a staging server).
    Fixed(&'static str),
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// Which one.
    pub kind: RegistryKind,
    /// The name on the command line (`crates-io`).
    pub name: &'static str,
    /// Other accepted names (`crates.io`).
    pub aliases: &'static [&'static str],
    /// The name for people (`crates.io`).
    pub display: &'static str,
    /// The registry's URL.
    pub default_url: &'static str,
    /// How the audience is found.
    pub audience: AudienceRule,
    /// The variable the native client reads the credential from.
    pub variable: &'static str,
    /// How the native client presents the credential on publish.
    pub presentation: &'static str,
    /// The workflow claim the registry matches the workflow file against.
    pub workflow_claim: &'static str,
    /// Every claim the registry matches on, in the order to show them.
    pub matched_claims: &'static [&'static str],
    /// The CI providers whose ID tokens the registry accepts.
    pub ci_providers: &'static [&'static str],
    /// The official one-registry action the broker replaces.
    pub official_action: &'static str,
    /// Whether the registry can revoke its credentials before they expire.
    pub revocable: bool,
    /// Whether the exchange needs the registry account that owns the policy (`--user`).
    pub needs_user: bool,
    /// How long a credential lives when the registry does not say.
    pub lifetime: Duration,
    /// Where the trusted publisher is configured.
    pub settings: &'static str,
    /// The registry's documentation of trusted publishing.
    pub docs: &'static str,
}

/// The table, in a stable order.
pub const REGISTRIES: [Registry; 3] = [
    Registry {
        kind: RegistryKind::CratesIo,
        name: "crates-io",
        aliases: &["crates.io", "cratesio", "cargo"],
        display: "crates.io",
        default_url: "https://crates.io",
        audience: AudienceRule::UrlWithoutScheme,
        variable: "CARGO_REGISTRY_TOKEN",
        presentation: "`Authorization: <token>` (cargo sends it raw; `Bearer` also accepted)",
        workflow_claim: "workflow_ref",
        matched_claims: &[
            "repository",
            "repository_owner_id",
            "workflow_ref",
            "job_workflow_ref",
            "environment",
            "event_name",
            "project_path",
            "namespace_id",
            "ci_config_ref_uri",
        ],
        ci_providers: &["GitHub Actions", "GitLab CI (gitlab.com, beta)"],
        official_action: "rust-lang/crates-io-auth-action",
        revocable: true,
        needs_user: false,
        lifetime: Duration::from_secs(30 * 60),
        settings: "crates.io: the crate → Settings → Trusted Publishing → Add",
        docs: "https://crates.io/docs/trusted-publishing",
    },
    Registry {
        kind: RegistryKind::Rubygems,
        name: "rubygems",
        aliases: &["rubygems.org", "gem", "gems"],
        display: "RubyGems.org",
        default_url: "https://rubygems.org",
        audience: AudienceRule::Fixed("rubygems.org"),
        variable: "GEM_HOST_API_KEY",
        presentation: "`Authorization: <key>` (raw, no `Bearer`)",
        workflow_claim: "job_workflow_ref",
        matched_claims: &[
            "repository",
            "repository_owner_id",
            "job_workflow_ref",
            "workflow_ref",
            "environment",
            "ref",
            "sha",
        ],
        ci_providers: &["GitHub Actions"],
        official_action: "rubygems/configure-rubygems-credentials",
        revocable: false,
        needs_user: false,
        lifetime: Duration::from_secs(15 * 60),
        settings: "RubyGems.org: the gem → Trusted publishers → Create (or your profile → Pending trusted publishers for a new gem)",
        docs: "https://guides.rubygems.org/trusted-publishing/",
    },
    Registry {
        kind: RegistryKind::Nuget,
        name: "nuget",
        aliases: &["nuget.org", "dotnet"],
        display: "NuGet.org",
        default_url: "https://www.nuget.org",
        audience: AudienceRule::Fixed("https://www.nuget.org"),
        variable: "NUGET_API_KEY",
        presentation: "`X-NuGet-ApiKey: <key>` (`dotnet nuget push --api-key`)",
        workflow_claim: "job_workflow_ref",
        matched_claims: &[
            "repository_owner",
            "repository",
            "repository_owner_id",
            "repository_id",
            "job_workflow_ref",
            "workflow_ref",
            "environment",
            "event_name",
            "namespace_path",
            "project_path",
        ],
        ci_providers: &["GitHub Actions", "GitLab CI (gitlab.com)"],
        official_action: "NuGet/login",
        revocable: false,
        needs_user: true,
        lifetime: Duration::from_secs(15 * 60),
        settings: "NuGet.org: your user menu → Trusted Publishing → Add policy",
        docs: "https://learn.microsoft.com/nuget/nuget-org/trusted-publishing",
    },
];

impl RegistryKind {
    /// Every registry, in the table's order.
    pub const ALL: [RegistryKind; 3] = [Self::CratesIo, Self::Rubygems, Self::Nuget];

    /// Its row of the table.
    pub fn info(self) -> &'static Registry {
        match self {
            Self::CratesIo => &REGISTRIES[0],
            Self::Rubygems => &REGISTRIES[1],
            Self::Nuget => &REGISTRIES[2],
        }
    }

    /// The registry a command-line name (or alias) means, ignoring case.
    ///
    /// ```
    /// use registry_exchange::RegistryKind;
    /// assert_eq!(RegistryKind::parse("crates.io"), Some(RegistryKind::CratesIo));
    /// assert_eq!(RegistryKind::parse("NuGet"), Some(RegistryKind::Nuget));
    /// assert_eq!(RegistryKind::parse("pypi"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|kind| {
            let info = kind.info();
            info.name == name || info.aliases.contains(&name.as_str())
        })
    }

    /// The audience for a registry at `url`.
    ///
    /// ```
    /// use registry_exchange::RegistryKind;
    /// let url = url::Url::parse("https://staging.crates.io/").unwrap();
    /// assert_eq!(RegistryKind::CratesIo.audience(&url), "staging.crates.io");
    /// assert_eq!(RegistryKind::Nuget.audience(&url), "https://www.nuget.org");
    /// ```
    pub fn audience(self, url: &Url) -> String {
        match self.info().audience {
            AudienceRule::UrlWithoutScheme => audience_from_url(url),
            AudienceRule::Fixed(audience) => audience.to_owned(),
        }
    }

    /// The registry's default URL, parsed (a test checks every row's URL parses).
    pub fn default_url(self) -> Result<Url, url::ParseError> {
        Url::parse(self.info().default_url)
    }
}

/// crates-io-auth-action's rule: strip `http://`/`https://`, then trailing slashes.
///
/// ```
/// use registry_exchange::registry::audience_from_url;
/// let url = url::Url::parse("https://127.0.0.1:8443/").unwrap();
/// assert_eq!(audience_from_url(&url), "127.0.0.1:8443");
/// ```
pub fn audience_from_url(url: &Url) -> String {
    let text = url.as_str();
    let text = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(text);
    text.trim_end_matches('/').to_owned()
}

impl fmt::Display for RegistryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.info().display)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        for kind in RegistryKind::ALL {
            let info = kind.info();
            assert_eq!(info.kind, kind);
            assert!(Url::parse(info.default_url).is_ok(), "{}", info.name);
            assert_eq!(RegistryKind::parse(info.name), Some(kind));
            for alias in info.aliases {
                assert_eq!(RegistryKind::parse(alias), Some(kind));
            }
            assert!(info.matched_claims.contains(&info.workflow_claim));
        }
        assert_eq!(
            RegistryKind::CratesIo.audience(&RegistryKind::CratesIo.default_url().unwrap()),
            "crates.io"
        );
        assert_eq!(
            RegistryKind::Rubygems.audience(&RegistryKind::Rubygems.default_url().unwrap()),
            "rubygems.org"
        );
    }
}
