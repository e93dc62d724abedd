//! Types that hold secrets and refuse to show them.
//!
//! Every ID token and every minted credential lives in one of these types. They redact
//! themselves in `Debug` and `Display`, so a secret cannot leak through a log line, an error
//! message or a `{:?}` by accident; the raw value is reached only through an explicit
//! [`expose`](Secret::expose) call at the one place that must send it.

use std::fmt;

/// A secret string (a minted registry token, a password) that redacts itself when formatted.
///
/// ```
/// use oidc_core::Secret;
/// let token = Secret::new("pypi-AgEIcHlwaS5vcmc");
/// assert_eq!(format!("{token}"), "********");
/// assert_eq!(format!("{token:?}"), "Secret(********)");
/// assert_eq!(token.expose(), "pypi-AgEIcHlwaS5vcmc");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw secret. Call it only where the value is sent to the service that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string (an unset password, for instance).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// An OpenID Connect ID token (a JWT) issued by the CI provider.
///
/// It proves the job's identity to a registry, so it is as sensitive as a password for the
/// few minutes it lives. Decode its non-secret claims with [`Claims::decode`](crate::Claims::decode).
///
/// ```
/// use oidc_core::IdToken;
/// let token = IdToken::new("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJweXBpIn0.c2ln");
/// assert!(!format!("{token:?} {token}").contains("eyJ"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IdToken(String);

impl IdToken {
    /// Wraps a raw JWT. Surrounding whitespace (a trailing newline from a CLI tool) is removed.
    pub fn new(value: impl Into<String>) -> Self {
        let value: String = value.into();
        let trimmed = value.trim();
        if trimmed.len() == value.len() {
            Self(value)
        } else {
            Self(trimmed.to_owned())
        }
    }

    /// The raw JWT. Call it only where the token is sent to the registry.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdToken(********)")
    }
}

impl fmt::Display for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<ID token ********>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str =
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vcjpyZWY6cmVmcy90YWdzL3YxIn0.sig-value";

    #[test]
    fn id_token_never_formats_its_value() {
        let token = IdToken::new(RAW);
        for shown in [
            format!("{token:?}"),
            format!("{token}"),
            format!("{token:#?}"),
        ] {
            assert!(!shown.contains(RAW), "{shown}");
            assert!(!shown.contains("eyJ"), "{shown}");
            assert!(!shown.contains("sig-value"), "{shown}");
        }
        assert_eq!(token.expose(), RAW);
    }

    #[test]
    fn secret_never_formats_its_value() {
        let secret = Secret::new("pypi-AgEIcHlwaS5vcmcCJDk");
        for shown in [
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{secret:#?}"),
        ] {
            assert!(!shown.contains("pypi-"), "{shown}");
            assert!(!shown.contains("AgEI"), "{shown}");
        }
        assert_eq!(secret.expose(), "pypi-AgEIcHlwaS5vcmcCJDk");
    }

    #[test]
    fn secrets_stay_hidden_inside_derived_debug() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: IdToken,
            secret: Secret,
        }
        let holder = Holder {
            token: IdToken::new(RAW),
            secret: Secret::new("npm_abcdef"),
        };
        let shown = format!("{holder:?}");
        assert!(
            !shown.contains("eyJ") && !shown.contains("npm_abc"),
            "{shown}"
        );
    }

    #[test]
    fn id_token_trims_trailing_newline() {
        assert_eq!(IdToken::new("a.b.c\n").expose(), "a.b.c");
    }
}
