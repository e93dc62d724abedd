//! The claims inside an ID token, decoded without verification.
//!
//! Registries verify the signature; a client decodes the payload only to explain itself (which
//! repository, workflow and environment the token speaks for) and to check the audience before
//! sending the token anywhere. [`crate::jwks::verify`] adds signature verification against a JWKS
//! for the testbed and for diagnostics.

use base64::Engine;
use serde_json::{Map, Value};

use crate::secret::IdToken;

/// Why an ID token could not be decoded. Never contains the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// A JWT has exactly three dot-separated segments.
    #[error(
        "the ID token is not a JWT: it has {found} dot-separated segment(s), a JWT has 3 (header.payload.signature)"
    )]
    Segments {
        /// How many segments were found.
        found: usize,
    },
    /// A segment is not base64url.
    #[error("the ID token's {segment} segment is not valid base64url")]
    Base64 {
        /// `header` or `payload`.
        segment: &'static str,
    },
    /// The payload is not a JSON object.
    #[error("the ID token's {segment} is not a JSON object: {reason}")]
    Json {
        /// `header` or `payload`.
        segment: &'static str,
        /// What the JSON parser said (it never quotes the input).
        reason: String,
    },
    /// A claim has the wrong JSON type.
    #[error("the ID token's `{claim}` claim should be {expected}, but it is {found}")]
    WrongType {
        /// The claim name.
        claim: String,
        /// The JSON type the claim must have.
        expected: &'static str,
        /// The JSON type it has.
        found: &'static str,
    },
}

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudienceClaim {
    /// A single string.
    One(String),
    /// An array of strings.
    Many(Vec<String>),
}

impl AudienceClaim {
    /// Whether the token is for `audience`.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }

    /// The audiences, comma-separated, for messages.
    pub fn display(&self) -> String {
        match self {
            Self::One(one) => one.clone(),
            Self::Many(many) => many.join(", "),
        }
    }
}

/// Claims every GitHub Actions ID token carries (all optional: a token from elsewhere has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // Each field is the claim of the same name, documented by GitHub.
pub struct GithubClaims {
    pub repository: Option<String>,
    pub repository_owner: Option<String>,
    pub repository_owner_id: Option<String>,
    pub repository_id: Option<String>,
    pub repository_visibility: Option<String>,
    pub workflow_ref: Option<String>,
    pub job_workflow_ref: Option<String>,
    pub r#ref: Option<String>,
    pub ref_type: Option<String>,
    pub sha: Option<String>,
    pub environment: Option<String>,
    pub event_name: Option<String>,
    pub runner_environment: Option<String>,
    pub run_id: Option<String>,
    pub run_attempt: Option<String>,
    pub actor: Option<String>,
    pub workflow: Option<String>,
}

/// Claims of a GitLab CI ID token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // Each field is the claim of the same name, documented by GitLab.
pub struct GitlabClaims {
    pub project_path: Option<String>,
    pub project_id: Option<String>,
    pub namespace_path: Option<String>,
    pub ci_config_ref_uri: Option<String>,
    pub ci_config_sha: Option<String>,
    pub ref_path: Option<String>,
    pub r#ref: Option<String>,
    pub ref_type: Option<String>,
    pub sha: Option<String>,
    pub environment: Option<String>,
    pub pipeline_source: Option<String>,
    pub runner_environment: Option<String>,
}

/// The decoded claims of an ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// `iss`: who issued the token.
    pub iss: Option<String>,
    /// `aud`: whom the token is for.
    pub aud: Option<AudienceClaim>,
    /// `sub`: the subject (`repo:owner/name:ref:refs/tags/v1` on GitHub).
    pub sub: Option<String>,
    /// `exp`, seconds since the epoch.
    pub exp: Option<i64>,
    /// `iat`, seconds since the epoch.
    pub iat: Option<i64>,
    /// `nbf`, seconds since the epoch.
    pub nbf: Option<i64>,
    /// `jti`: the token's unique id (registries refuse to see one twice).
    pub jti: Option<String>,
    /// The GitHub Actions claims.
    pub github: GithubClaims,
    /// The GitLab CI claims.
    pub gitlab: GitlabClaims,
    /// Every claim, as sent.
    pub raw: Map<String, Value>,
}

/// The issuer of GitHub.com Actions ID tokens.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The issuer of GitLab.com ID tokens.
pub const GITLAB_ISSUER: &str = "https://gitlab.com";

/// Which CI system issued a token, judged from its claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// GitHub.com Actions.
    GithubCom,
    /// GitHub Enterprise Server (or a GHE.com tenant): GitHub claims, another issuer.
    GithubEnterprise,
    /// GitLab.com.
    GitlabCom,
    /// A self-managed GitLab.
    GitlabSelfManaged,
    /// Anything else.
    Other,
}

impl Claims {
    /// Decodes an ID token's payload. The signature is not checked.
    pub fn decode(token: &IdToken) -> Result<Self, ClaimsError> {
        let payload = jwt_segment(token.expose(), 1)?;
        let value: Value = serde_json::from_slice(&payload).map_err(|err| ClaimsError::Json {
            segment: "payload",
            reason: json_reason(&err),
        })?;
        let Value::Object(map) = value else {
            return Err(ClaimsError::Json {
                segment: "payload",
                reason: format!("it is {}", type_name(&value)),
            });
        };
        Self::from_map(map)
    }

    /// Builds claims from a JSON object (a claims file captured elsewhere).
    pub fn from_map(raw: Map<String, Value>) -> Result<Self, ClaimsError> {
        let c = ClaimReader(&raw);
        let aud = match raw.get("aud") {
            None | Some(Value::Null) => None,
            Some(Value::String(one)) => Some(AudienceClaim::One(one.clone())),
            Some(Value::Array(items)) => Some(AudienceClaim::Many(
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(ClaimsError::WrongType {
                            claim: "aud".into(),
                            expected: "a string or an array of strings",
                            found: type_name(other),
                        }),
                    })
                    .collect::<Result<_, _>>()?,
            )),
            Some(other) => {
                return Err(ClaimsError::WrongType {
                    claim: "aud".into(),
                    expected: "a string or an array of strings",
                    found: type_name(other),
                });
            }
        };
        let github = GithubClaims {
            repository: c.string("repository")?,
            repository_owner: c.string("repository_owner")?,
            repository_owner_id: c.id("repository_owner_id")?,
            repository_id: c.id("repository_id")?,
            repository_visibility: c.string("repository_visibility")?,
            workflow_ref: c.string("workflow_ref")?,
            job_workflow_ref: c.string("job_workflow_ref")?,
            r#ref: c.string("ref")?,
            ref_type: c.string("ref_type")?,
            sha: c.string("sha")?,
            environment: c.string("environment")?,
            event_name: c.string("event_name")?,
            runner_environment: c.string("runner_environment")?,
            run_id: c.id("run_id")?,
            run_attempt: c.id("run_attempt")?,
            actor: c.string("actor")?,
            workflow: c.string("workflow")?,
        };
        let gitlab = GitlabClaims {
            project_path: c.string("project_path")?,
            project_id: c.id("project_id")?,
            namespace_path: c.string("namespace_path")?,
            ci_config_ref_uri: c.string("ci_config_ref_uri")?,
            ci_config_sha: c.string("ci_config_sha")?,
            ref_path: c.string("ref_path")?,
            r#ref: github.r#ref.clone(),
            ref_type: github.ref_type.clone(),
            sha: github.sha.clone(),
            environment: github.environment.clone(),
            pipeline_source: c.string("pipeline_source")?,
            runner_environment: github.runner_environment.clone(),
        };
        Ok(Self {
            iss: c.string("iss")?,
            aud,
            sub: c.string("sub")?,
            exp: c.number("exp")?,
            iat: c.number("iat")?,
            nbf: c.number("nbf")?,
            jti: c.string("jti")?,
            github,
            gitlab,
            raw,
        })
    }

    /// Which CI system issued the token.
    pub fn issuer_kind(&self) -> IssuerKind {
        let iss = self.iss.as_deref().unwrap_or_default();
        let looks_github =
            self.github.job_workflow_ref.is_some() || self.github.workflow_ref.is_some();
        let looks_gitlab =
            self.gitlab.project_path.is_some() && self.gitlab.ci_config_ref_uri.is_some();
        if iss == GITHUB_ISSUER {
            IssuerKind::GithubCom
        } else if looks_github {
            IssuerKind::GithubEnterprise
        } else if iss == GITLAB_ISSUER {
            IssuerKind::GitlabCom
        } else if looks_gitlab {
            IssuerKind::GitlabSelfManaged
        } else {
            IssuerKind::Other
        }
    }

    /// A claim as display text (strings as they are, other JSON as JSON).
    pub fn get_text(&self, name: &str) -> Option<String> {
        self.raw.get(name).map(|value| match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// The claims a registry matches on, in order, for explaining a rejection. Missing ones are
    /// shown as `MISSING`, as gh-action-pypi-publish does.
    pub fn display_subset(&self, names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|name| {
                (
                    (*name).to_owned(),
                    self.get_text(name).unwrap_or_else(|| "MISSING".to_owned()),
                )
            })
            .collect()
    }
}

/// Decodes one base64url segment of a JWT (0 = header, 1 = payload).
pub(crate) fn jwt_segment(jwt: &str, index: usize) -> Result<Vec<u8>, ClaimsError> {
    let segments: Vec<&str> = jwt.split('.').collect();
    if segments.len() != 3 || segments.iter().any(|s| s.is_empty() && index < 2) {
        return Err(ClaimsError::Segments {
            found: segments.len(),
        });
    }
    let segment = segments[index].trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| ClaimsError::Base64 {
            segment: if index == 0 { "header" } else { "payload" },
        })
}

/// A serde error's category and position, without the input text.
fn json_reason(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let category = match err.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected data",
        Category::Eof => "unexpected end of input",
    };
    format!("{category} at line {} column {}", err.line(), err.column())
}

/// The JSON type of a value, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct ClaimReader<'a>(&'a Map<String, Value>);

impl ClaimReader<'_> {
    fn string(&self, name: &str) -> Result<Option<String>, ClaimsError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ClaimsError::WrongType {
                claim: name.into(),
                expected: "a string",
                found: type_name(other),
            }),
        }
    }

    /// Ids are strings in GitHub tokens, numbers in some others: accept both as text.
    fn id(&self, name: &str) -> Result<Option<String>, ClaimsError> {
        match self.0.get(name) {
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            _ => self.string(name),
        }
    }

    fn number(&self, name: &str) -> Result<Option<i64>, ClaimsError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or(ClaimsError::WrongType {
                    claim: name.into(),
                    expected: "a number of seconds",
                    found: "an out-of-range number",
                }),
            Some(other) => Err(ClaimsError::WrongType {
                claim: name.into(),
                expected: "a number of seconds",
                found: type_name(other),
            }),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// Builds an unsigned JWT-shaped token from claims (tests only).
    pub(crate) fn jwt(claims: &Value) -> IdToken {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        IdToken::new(format!("{header}.{payload}.c2lnbmF0dXJl"))
    }

    fn github_claims() -> Value {
        serde_json::json!({
            "iss": "https://token.actions.githubusercontent.com",
            "aud": "pypi",
            "sub": "repo:octo-org/octo-repo:environment:pypi",
            "repository": "octo-org/octo-repo",
            "repository_owner": "octo-org",
            "repository_owner_id": "4242",
            "repository_id": "1296269",
            "repository_visibility": "public",
            "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0",
            "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0",
            "ref": "refs/tags/v1.0.0",
            "ref_type": "tag",
            "sha": "a".repeat(40),
            "environment": "pypi",
            "event_name": "push",
            "runner_environment": "github-hosted",
            "run_id": "123",
            "run_attempt": "1",
            "jti": "b1f7b9c2",
            "exp": 1_900_000_300,
            "iat": 1_900_000_000,
            "nbf": 1_899_999_990
        })
    }

    #[test]
    fn decodes_the_github_claim_set() {
        let claims = Claims::decode(&jwt(&github_claims())).unwrap();
        assert_eq!(claims.iss.as_deref(), Some(GITHUB_ISSUER));
        assert_eq!(claims.aud, Some(AudienceClaim::One("pypi".into())));
        assert_eq!(claims.github.repository_owner_id.as_deref(), Some("4242"));
        assert_eq!(claims.github.environment.as_deref(), Some("pypi"));
        assert_eq!(claims.github.r#ref.as_deref(), Some("refs/tags/v1.0.0"));
        assert_eq!(claims.exp, Some(1_900_000_300));
        assert_eq!(claims.issuer_kind(), IssuerKind::GithubCom);
        assert_eq!(claims.raw.len(), 22);
    }

    #[test]
    fn tolerates_padding_and_numeric_ids() {
        let mut value = github_claims();
        value["repository_owner_id"] = serde_json::json!(4242);
        let padded = {
            let header = URL_SAFE_NO_PAD.encode(b"{}");
            let payload = base64::engine::general_purpose::URL_SAFE.encode(value.to_string());
            IdToken::new(format!("{header}.{payload}.sig"))
        };
        let claims = Claims::decode(&padded).unwrap();
        assert_eq!(claims.github.repository_owner_id.as_deref(), Some("4242"));
    }

    #[test]
    fn decodes_gitlab_claims_and_kinds() {
        let claims = Claims::decode(&jwt(&serde_json::json!({
            "iss": "https://gitlab.example.com",
            "aud": ["pypi", "other"],
            "project_path": "group/project",
            "ci_config_ref_uri": "gitlab.example.com/group/project//.gitlab-ci.yml@refs/heads/main",
            "environment": "release"
        })))
        .unwrap();
        assert_eq!(claims.gitlab.project_path.as_deref(), Some("group/project"));
        assert!(claims.aud.as_ref().unwrap().contains("pypi"));
        assert_eq!(claims.issuer_kind(), IssuerKind::GitlabSelfManaged);

        let mut ghes = github_claims();
        ghes["iss"] = "https://ghes.example.com/_services/token".into();
        let claims = Claims::decode(&jwt(&ghes)).unwrap();
        assert_eq!(claims.issuer_kind(), IssuerKind::GithubEnterprise);
    }

    #[test]
    fn malformed_tokens_give_typed_errors_without_the_token() {
        let secret_part = "c2VjcmV0LXRva2VuLXZhbHVl";
        let cases = [
            (
                secret_part.to_string(),
                "is not a JWT: it has 1 dot-separated segment(s)",
            ),
            (
                format!("a.{secret_part}.b.c"),
                "it has 4 dot-separated segment(s)",
            ),
            (
                format!("e30.!!!{secret_part}.sig"),
                "payload segment is not valid base64url",
            ),
            (
                format!("e30.{}.sig", URL_SAFE_NO_PAD.encode("not json")),
                "payload is not a JSON object: syntax error at line 1 column 2",
            ),
            (
                format!("e30.{}.sig", URL_SAFE_NO_PAD.encode("[1,2]")),
                "payload is not a JSON object: it is an array",
            ),
            (
                format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(r#"{"exp":"soon"}"#)),
                "`exp` claim should be a number of seconds, but it is a string",
            ),
            (
                format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(r#"{"repository":42}"#)),
                "`repository` claim should be a string, but it is a number",
            ),
            (
                format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(r#"{"aud":[1]}"#)),
                "`aud` claim should be a string or an array of strings, but it is a number",
            ),
        ];
        for (raw, expected) in cases {
            let err = Claims::decode(&IdToken::new(raw.clone())).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{text}");
            assert!(!text.contains(secret_part), "{text}");
            assert!(!format!("{err:?}").contains(secret_part));
        }
    }

    #[test]
    fn display_subset_marks_missing_claims() {
        let claims = Claims::decode(&jwt(&serde_json::json!({"sub": "x", "run_id": 5}))).unwrap();
        assert_eq!(
            claims.display_subset(&["sub", "environment", "run_id"]),
            vec![
                ("sub".to_owned(), "x".to_owned()),
                ("environment".to_owned(), "MISSING".to_owned()),
                ("run_id".to_owned(), "5".to_owned())
            ]
        );
    }
}
