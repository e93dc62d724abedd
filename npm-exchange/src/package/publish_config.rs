//! `publishConfig`: the settings in `package.json` that change how a package is published.

use std::fmt;

use url::Url;

use super::json::{Json, Object};

/// Who may install the package: `npm publish --access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone.
    Public,
    /// Only members of the scope's organisation (scoped packages only).
    Restricted,
}

impl Access {
    /// Parses `public` or `restricted`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "public" => Some(Self::Public),
            "restricted" => Some(Self::Restricted),
            _ => None,
        }
    }

    /// `public` or `restricted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `publishConfig` value that is not what npm expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSetting {
    /// The field, e.g. `publishConfig.access`.
    pub field: &'static str,
    /// The value found, as JSON.
    pub value: String,
    /// What it should be.
    pub expected: &'static str,
}

/// The `publishConfig` settings that change how a package is published.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishConfig {
    access: Option<Access>,
    tag: Option<String>,
    registry: Option<Url>,
    provenance: Option<bool>,
    invalid: Vec<InvalidSetting>,
}

impl PublishConfig {
    pub(crate) fn parse(config: Option<&Object>) -> Self {
        let mut parsed = Self::default();
        let Some(config) = config else { return parsed };
        let mut invalid = |field, value: &Json, expected| {
            parsed.invalid.push(InvalidSetting {
                field,
                value: value.to_json_string(),
                expected,
            });
        };
        match config.get("access") {
            None | Some(Json::Null) => {}
            Some(value) => match value.as_str().and_then(Access::parse) {
                Some(access) => parsed.access = Some(access),
                None => invalid(
                    "publishConfig.access",
                    value,
                    "\"public\" or \"restricted\"",
                ),
            },
        }
        match config.get("tag") {
            None | Some(Json::Null) => {}
            Some(Json::String(tag)) if tag.is_empty() => {}
            Some(Json::String(tag)) => parsed.tag = Some(tag.clone()),
            Some(value) => invalid(
                "publishConfig.tag",
                value,
                "a dist-tag name such as \"next\"",
            ),
        }
        match config.get("registry") {
            None | Some(Json::Null) => {}
            Some(value) => match value.as_str().map(Url::parse) {
                Some(Ok(url)) => parsed.registry = Some(url),
                _ => invalid("publishConfig.registry", value, "an absolute URL"),
            },
        }
        match config.get("provenance") {
            None | Some(Json::Null) => {}
            Some(Json::Bool(provenance)) => parsed.provenance = Some(*provenance),
            Some(value) => invalid("publishConfig.provenance", value, "true or false"),
        }
        parsed
    }

    /// `publishConfig.access`.
    pub fn access(&self) -> Option<Access> {
        self.access
    }

    /// `publishConfig.tag`.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// `publishConfig.registry`: npm publishes there unless `--registry` is given.
    pub fn registry(&self) -> Option<&Url> {
        self.registry.as_ref()
    }

    /// `publishConfig.provenance`.
    pub fn provenance(&self) -> Option<bool> {
        self.provenance
    }

    /// Settings present but unusable; [`check`](super::check) reports them.
    pub fn invalid(&self) -> &[InvalidSetting] {
        &self.invalid
    }
}
