//! What every registry module shares on the wire: endpoint URLs under the registry URL, a
//! bounded read of each answer, ISO-8601 expiry times.

use std::time::{Duration, SystemTime};

use oidc_core::http::{ResponseText, summarize_body};
use url::Url;

use crate::error::BrokerError;
use crate::registry::RegistryKind;

/// The most of an answer that is read: token responses and error bodies are small; anything
/// larger is a proxy page or worse.
pub const MAX_BODY: usize = 64 * 1024;

/// `path` under the registry URL, keeping any path prefix (`https://host/prefix/` +
/// `api/v1/x` → `https://host/prefix/api/v1/x`).
pub fn endpoint(base: &Url, path: &str) -> Url {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let with_slash = format!("{}/", base.path());
        base.set_path(&with_slash);
    }
    base.set_query(None);
    base.set_fragment(None);
    base.join(path.trim_start_matches('/'))
        .unwrap_or_else(|_| base.clone())
}

/// Checks a registry URL: `https` (or `http` on loopback), no credentials in it.
pub fn parse_registry_url(registry: RegistryKind, text: &str) -> Result<Url, BrokerError> {
    let invalid = |reason: &str| BrokerError::InvalidUrl {
        registry,
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(text.trim()).map_err(|err| invalid(&err.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("give an https:// URL"));
    }
    if url.host_str().is_none() {
        return Err(invalid("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "it carries credentials; the broker mints its own, so remove them",
        ));
    }
    oidc_core::HttpClient::check_url(&url).map_err(|err| invalid(&err.to_string()))?;
    Ok(url)
}

/// Whether the answer is an HTML page (a proxy, a login wall, a maintenance page).
pub fn is_html(response: &ResponseText) -> bool {
    response
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.contains("html"))
        || response.body.trim_start().starts_with('<')
}

/// The error for an answer that is not the registry's protocol.
pub fn unexpected(
    registry: RegistryKind,
    step: &'static str,
    host: &str,
    response: &ResponseText,
    body: Option<&str>,
) -> BrokerError {
    BrokerError::Unexpected {
        registry,
        step,
        host: host.to_owned(),
        status: response.status,
        body: body.map_or_else(
            || summarize_body(response.content_type.as_deref(), &response.body),
            str::to_owned,
        ),
    }
}

/// An ISO-8601 / RFC 3339 time (`2026-11-22T01:00:00Z`, NuGet's `…0000000+00:00`).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let at =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .ok()?;
    let secs = u64::try_from(at.unix_timestamp()).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// The host (and port) of a URL, for messages.
pub fn host(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_path_prefix() {
        let base = Url::parse("https://example.test/prefix").unwrap();
        assert_eq!(
            endpoint(&base, "/api/v2/token").as_str(),
            "https://example.test/prefix/api/v2/token"
        );
        let base = Url::parse("https://crates.io").unwrap();
        assert_eq!(
            endpoint(&base, "api/v1/trusted_publishing/tokens").as_str(),
            "https://crates.io/api/v1/trusted_publishing/tokens"
        );
    }

    #[test]
    fn registry_urls_are_checked() {
        assert!(parse_registry_url(RegistryKind::CratesIo, "https://crates.io").is_ok());
        assert!(parse_registry_url(RegistryKind::CratesIo, "http://127.0.0.1:8080/").is_ok());
        let err = parse_registry_url(RegistryKind::Nuget, "http://nuget.example/").unwrap_err();
        assert!(err.to_string().contains("plain HTTP"), "{err}");
        let err =
            parse_registry_url(RegistryKind::Nuget, "https://u:p@nuget.example/").unwrap_err();
        assert!(err.to_string().contains("carries credentials"), "{err}");
        assert!(parse_registry_url(RegistryKind::Rubygems, "ftp://x").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time("2026-11-22T01:00:00Z"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_309_200))
        );
        assert_eq!(
            parse_time("2026-11-22T01:00:00.1234567+00:00"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_309_200))
        );
        assert_eq!(parse_time("tomorrow"), None);
    }
}
