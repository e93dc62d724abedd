//! The npm registry a package goes to, and the OIDC audience that follows from it.

use url::Url;

/// The public registry.
pub const NPMJS_REGISTRY: &str = "https://registry.npmjs.org/";

/// An npm registry, known by its base URL (`--registry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmRegistry {
    url: Url,
}

/// The registry URL is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the registry URL `{url}` is not usable: {reason}")]
pub struct RegistryUrlError {
    /// What was given.
    pub url: String,
    /// Why.
    pub reason: String,
}

impl NpmRegistry {
    /// Parses a registry URL; a missing trailing slash is added (npm treats both alike).
    pub fn parse(url: &str) -> Result<Self, RegistryUrlError> {
        let error = |reason: &str| RegistryUrlError {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let mut parsed = Url::parse(url).map_err(|err| error(&err.to_string()))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err(error("it must be an http(s) URL with a host"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(error("it must not carry credentials"));
        }
        if !parsed.path().ends_with('/') {
            let path = format!("{}/", parsed.path());
            parsed.set_path(&path);
        }
        Ok(Self { url: parsed })
    }

    /// The base URL, with a trailing slash.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host, for messages.
    pub fn host(&self) -> String {
        match self.url.port() {
            Some(port) => format!("{}:{port}", self.url.host_str().unwrap_or_default()),
            None => self.url.host_str().unwrap_or_default().to_owned(),
        }
    }

    /// The OIDC audience: `npm:<hostname>`, without the port (as the npm CLI derives it).
    ///
    /// ```
    /// use npm_exchange::registry::NpmRegistry;
    /// assert_eq!(NpmRegistry::parse("https://registry.npmjs.org").unwrap().audience(), "npm:registry.npmjs.org");
    /// assert_eq!(NpmRegistry::parse("http://127.0.0.1:4873/").unwrap().audience(), "npm:127.0.0.1");
    /// ```
    pub fn audience(&self) -> String {
        format!("npm:{}", self.url.host_str().unwrap_or_default())
    }

    /// An absolute path on the registry's origin (the exchange drops any path prefix, as npm does).
    pub fn origin_path(&self, path: &str) -> Url {
        let mut url = self.url.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }
}
