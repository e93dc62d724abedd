//! GitHub Actions: the token endpoint named by `ACTIONS_ID_TOKEN_REQUEST_URL`.

use std::path::Path;
use std::sync::Arc;

use url::Url;

use super::{IdentityError, Provider, TokenRequest};
use crate::env::Environment;
use crate::http::{HttpClient, ResponseText};
use crate::process::BoxFuture;
use crate::secret::IdToken;

/// GitHub Actions (`GITHUB_ACTIONS=true`).
pub struct GithubActions {
    env: Arc<dyn Environment>,
    http: HttpClient,
}

impl GithubActions {
    /// A provider reading `env` and fetching with `http`.
    pub fn new(env: Arc<dyn Environment>, http: HttpClient) -> Self {
        Self { env, http }
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<Option<IdToken>, IdentityError> {
        if !self.env.is_true("GITHUB_ACTIONS") {
            return Ok(None);
        }
        let url = self.env.non_empty("ACTIONS_ID_TOKEN_REQUEST_URL");
        let bearer = self.env.non_empty("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
        let (Some(url), Some(bearer)) = (url, bearer) else {
            if let Some(head_repository) = fork_pull_request(self.env.as_ref()) {
                return Err(IdentityError::GithubForkPullRequest { head_repository });
            }
            let missing = [
                (
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    self.env.non_empty("ACTIONS_ID_TOKEN_REQUEST_URL").is_none(),
                ),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    self.env
                        .non_empty("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
                        .is_none(),
                ),
            ]
            .iter()
            .filter(|(_, missing)| *missing)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>();
            let missing = match missing.as_slice() {
                [one] => format!("{one} is unset"),
                many => format!("{} are unset", many.join(" and ")),
            };
            return Err(IdentityError::GithubMissingPermission { missing });
        };
        let mut url = Url::parse(&url).map_err(|err| IdentityError::GithubEndpoint {
            status: 0,
            body: format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL ({err})"),
        })?;
        url.query_pairs_mut()
            .append_pair("audience", &request.audience);
        let response = self
            .http
            .send("GitHub OIDC token request", &url, |client| {
                client
                    .get(url.clone())
                    .bearer_auth(&bearer)
                    .header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        let response = ResponseText::read(response).await?;
        if !response.is_success() {
            return Err(IdentityError::GithubEndpoint {
                status: response.status,
                body: response.summary(),
            });
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            value: Option<String>,
        }
        match serde_json::from_str::<TokenResponse>(&response.body) {
            Ok(TokenResponse { value: Some(value) }) if !value.trim().is_empty() => {
                Ok(Some(IdToken::new(value)))
            }
            Ok(_) => Err(IdentityError::GithubEndpoint {
                status: response.status,
                body: "the response has no `value` field holding the token".into(),
            }),
            Err(_) => Err(IdentityError::GithubEndpoint {
                status: response.status,
                body: response.summary(),
            }),
        }
    }
}

impl Provider for GithubActions {
    fn name(&self) -> &'static str {
        "GitHub Actions"
    }

    fn id_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> BoxFuture<'a, Result<Option<IdToken>, IdentityError>> {
        Box::pin(self.fetch(request))
    }
}

/// The fork's `owner/name` when this is a `pull_request` run from a fork.
pub(crate) fn fork_pull_request(env: &dyn Environment) -> Option<String> {
    if env.var("GITHUB_EVENT_NAME").as_deref() != Some("pull_request") {
        return None;
    }
    let path = env.non_empty("GITHUB_EVENT_PATH")?;
    let text = env.read_to_string(Path::new(&path)).ok()?;
    let event: serde_json::Value = serde_json::from_str(&text).ok()?;
    let repo = event.get("pull_request")?.get("head")?.get("repo")?;
    if repo.get("fork").and_then(serde_json::Value::as_bool) == Some(true) {
        Some(
            repo.get("full_name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("a fork")
                .to_owned(),
        )
    } else {
        None
    }
}
