//! One exchange for any registry of the table: what `trustpub exec`, `exchange`, `revoke` and
//! `doctor` build from a registry name and its options.

use oidc_core::process::BoxFuture;
use oidc_core::{AmbientToken, Credential, Exchange, HttpClient, Secret, TokenRequest};
use url::Url;

use crate::crates_io::CratesIoExchange;
use crate::error::BrokerError;
use crate::nuget::NugetExchange;
use crate::registry::RegistryKind;
use crate::rubygems::RubygemsExchange;
use crate::wire;

/// What the user chose beyond the registry's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerOptions {
    /// The registry URL (default: the table's).
    pub url: Option<String>,
    /// The audience (default: the registry's rule).
    pub audience: Option<String>,
    /// The registry account that owns the policy (NuGet; ignored elsewhere).
    pub user: Option<String>,
}

/// Why a broker could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// NuGet without `--user`.
    #[error(
        "{registry} needs the account that owns the trusted publishing policy: pass --user NAME (the nuget.org profile name that created the policy, not an organization)"
    )]
    MissingUser {
        /// Which registry.
        registry: RegistryKind,
    },
    /// The URL cannot be used.
    #[error(transparent)]
    Url(BrokerError),
}

/// The exchange with one registry.
pub enum BrokerExchange {
    /// crates.io.
    CratesIo(CratesIoExchange),
    /// RubyGems.org.
    Rubygems(RubygemsExchange),
    /// NuGet.org.
    Nuget(NugetExchange),
}

impl BrokerExchange {
    /// The exchange with `registry`, as `options` configure it.
    pub fn new(
        http: HttpClient,
        registry: RegistryKind,
        options: &BrokerOptions,
    ) -> Result<Self, SetupError> {
        let url = match &options.url {
            Some(text) => wire::parse_registry_url(registry, text).map_err(SetupError::Url)?,
            None => registry.default_url().map_err(|err| {
                SetupError::Url(BrokerError::InvalidUrl {
                    registry,
                    url: registry.info().default_url.to_owned(),
                    reason: err.to_string(),
                })
            })?,
        };
        let audience = options.audience.clone().filter(|a| !a.trim().is_empty());
        Ok(match registry {
            RegistryKind::CratesIo => Self::CratesIo(CratesIoExchange::new(http, url, audience)),
            RegistryKind::Rubygems => Self::Rubygems(RubygemsExchange::new(http, url, audience)),
            RegistryKind::Nuget => {
                let user = options
                    .user
                    .clone()
                    .filter(|u| !u.trim().is_empty())
                    .ok_or(SetupError::MissingUser { registry })?;
                Self::Nuget(NugetExchange::new(http, url, audience, user))
            }
        })
    }

    /// Which registry.
    pub fn kind(&self) -> RegistryKind {
        match self {
            Self::CratesIo(_) => RegistryKind::CratesIo,
            Self::Rubygems(_) => RegistryKind::Rubygems,
            Self::Nuget(_) => RegistryKind::Nuget,
        }
    }

    /// The audience asked of the CI.
    pub fn audience(&self) -> &str {
        match self {
            Self::CratesIo(e) => e.audience(),
            Self::Rubygems(e) => e.audience(),
            Self::Nuget(e) => e.audience(),
        }
    }

    /// The exchange endpoint.
    pub fn endpoint(&self) -> Url {
        match self {
            Self::CratesIo(e) => e.endpoint(),
            Self::Rubygems(e) => e.endpoint(),
            Self::Nuget(e) => e.endpoint(),
        }
    }

    /// Trades a fresh ID token for a credential.
    pub async fn exchange_token(&self, ambient: &AmbientToken) -> Result<Credential, BrokerError> {
        match self {
            Self::CratesIo(e) => e.exchange_token(ambient).await,
            Self::Rubygems(e) => e.exchange_token(ambient).await,
            Self::Nuget(e) => e.exchange_token(ambient).await,
        }
    }

    /// Revokes a credential now: crates.io forgets it; the others cannot
    /// ([`BrokerError::NotRevocable`]).
    pub async fn revoke_token(&self, credential: &Credential) -> Result<(), BrokerError> {
        match self {
            Self::CratesIo(e) => e.revoke_token(credential).await,
            _ => Err(BrokerError::NotRevocable {
                registry: self.kind(),
            }),
        }
    }
}

impl Exchange for BrokerExchange {
    type Error = BrokerError;

    fn registry(&self) -> String {
        match self {
            Self::CratesIo(e) => e.registry(),
            Self::Rubygems(e) => e.registry(),
            Self::Nuget(e) => e.registry(),
        }
    }

    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, BrokerError>> {
        let request = TokenRequest::new(self.audience());
        Box::pin(async move { Ok(request) })
    }

    fn exchange<'a>(
        &'a self,
        token: &'a AmbientToken,
    ) -> BoxFuture<'a, Result<Credential, BrokerError>> {
        Box::pin(self.exchange_token(token))
    }

    fn is_transient(error: &BrokerError) -> bool {
        error.is_transient()
    }

    fn revoke<'a>(&'a self, credential: &'a Credential) -> BoxFuture<'a, Result<(), BrokerError>> {
        Box::pin(async move {
            match self.revoke_token(credential).await {
                Err(BrokerError::NotRevocable { .. }) => Ok(()),
                other => other,
            }
        })
    }
}

/// How a native client presents a credential on publish: the header name and value.
///
/// ```
/// use oidc_core::Secret;
/// use registry_exchange::{RegistryKind, publish_header};
/// let key = Secret::new("rubygems_0123");
/// assert_eq!(publish_header(RegistryKind::Rubygems, &key), ("Authorization", "rubygems_0123".to_owned()));
/// assert_eq!(publish_header(RegistryKind::Nuget, &key).0, "X-NuGet-ApiKey");
/// ```
pub fn publish_header(registry: RegistryKind, credential: &Secret) -> (&'static str, String) {
    let value = credential.expose().to_owned();
    match registry {
        // cargo sends the token raw; RubyGems hashes the whole header, so never `Bearer`.
        RegistryKind::CratesIo | RegistryKind::Rubygems => ("Authorization", value),
        RegistryKind::Nuget => ("X-NuGet-ApiKey", value),
    }
}
