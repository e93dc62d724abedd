//! The registry's answer to "is this package public?", which npm asks before it signs
//! provenance for a package that is not published with `access: public`.

use oidc_core::http::ResponseText;
use oidc_core::{HttpClient, HttpError, Secret};

use super::PackageVisibility;
use crate::package::PackageName;
use crate::registry::NpmRegistry;

/// `GET /-/package/<escaped name>/visibility` with the publish token, as npm 11 does: `{"public":
/// true}` is public; a 404 (a package the registry does not know) is not, as npm treats it.
/// Any other answer is an error: guessing would either sign provenance the registry refuses or
/// drop it silently.
pub async fn fetch_package_visibility(
    http: &HttpClient,
    registry: &NpmRegistry,
    package: &PackageName,
    token: &Secret,
) -> Result<PackageVisibility, VisibilityError> {
    let url = registry.origin_path(&format!("/-/package/{}/visibility", package.escaped()));
    let response = http
        .send("npm package visibility lookup", &url, |client| {
            client
                .get(url.clone())
                .bearer_auth(token.expose())
                .header("Accept", "application/json")
        })
        .await?;
    let answer = ResponseText::read(response).await?;
    match answer.status {
        404 => Ok(PackageVisibility::Registry { public: false }),
        200..=299 => {
            let value: serde_json::Value =
                serde_json::from_str(&answer.body).map_err(|_| VisibilityError::Answer {
                    package: package.to_string(),
                    answer: answer.summary(),
                })?;
            match value.get("public").and_then(serde_json::Value::as_bool) {
                Some(public) => Ok(PackageVisibility::Registry { public }),
                None => Err(VisibilityError::Answer {
                    package: package.to_string(),
                    answer: answer.summary(),
                }),
            }
        }
        _ => Err(VisibilityError::Answer {
            package: package.to_string(),
            answer: answer.summary(),
        }),
    }
}

/// The visibility could not be learned.
#[derive(Debug, thiserror::Error)]
pub enum VisibilityError {
    /// The request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The registry answered something else than `{"public": bool}` or 404.
    #[error(
        "the registry's visibility route for {package} answered {answer}: cannot tell whether provenance may be generated (pass --access public if the package is public, or --no-provenance)"
    )]
    Answer {
        /// The package.
        package: String,
        /// The answer, summarized.
        answer: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn ask(
        server: &MockServer,
        template: ResponseTemplate,
    ) -> Result<PackageVisibility, VisibilityError> {
        Mock::given(method("GET"))
            .and(path("/-/package/@octo%2fpkg/visibility"))
            .and(header("authorization", "Bearer npm_publish"))
            .respond_with(template)
            .mount(server)
            .await;
        let http =
            HttpClient::new(&oidc_core::HttpConfig::default(), &oidc_core::MapEnv::new()).unwrap();
        let registry = NpmRegistry::parse(&server.uri()).unwrap();
        let package = PackageName::parse("@octo/pkg").unwrap();
        fetch_package_visibility(&http, &registry, &package, &Secret::new("npm_publish")).await
    }

    #[tokio::test]
    async fn public_private_unknown_and_garbage() {
        let server = MockServer::start().await;
        let public = ask(
            &server,
            ResponseTemplate::new(200).set_body_string(r#"{"public":true}"#),
        )
        .await;
        assert_eq!(
            public.unwrap(),
            PackageVisibility::Registry { public: true }
        );
        server.reset().await;
        let private = ask(
            &server,
            ResponseTemplate::new(200).set_body_string(r#"{"public":false}"#),
        )
        .await;
        assert_eq!(
            private.unwrap(),
            PackageVisibility::Registry { public: false }
        );
        server.reset().await;
        let unknown = ask(&server, ResponseTemplate::new(404)).await;
        assert_eq!(
            unknown.unwrap(),
            PackageVisibility::Registry { public: false }
        );
        server.reset().await;
        let html = ask(
            &server,
            ResponseTemplate::new(200)
                .set_body_string("<html>login</html>")
                .insert_header("content-type", "text/html"),
        )
        .await;
        let err = html.unwrap_err().to_string();
        assert!(
            err.contains("cannot tell whether provenance may be generated"),
            "{err}"
        );
    }
}
