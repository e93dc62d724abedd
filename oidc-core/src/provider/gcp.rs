//! Google Cloud: the metadata server's identity endpoint.

use std::path::Path;
use std::sync::Arc;

use url::Url;

use super::{IdentityError, Provider, TokenRequest};
use crate::env::Environment;
use crate::http::{HttpClient, ResponseText};
use crate::process::BoxFuture;
use crate::secret::IdToken;

/// The DMI file that names the machine's maker.
const PRODUCT_NAME: &str = "/sys/class/dmi/id/product_name";

/// Google Cloud (Compute Engine, GKE, Cloud Build, Cloud Run): detected by `GCE_METADATA_HOST`
/// or a DMI product name of `Google` / `Google Compute Engine`.
pub struct GoogleCloud {
    env: Arc<dyn Environment>,
    http: HttpClient,
}

impl GoogleCloud {
    /// A provider reading `env` and fetching with `http`.
    pub fn new(env: Arc<dyn Environment>, http: HttpClient) -> Self {
        Self { env, http }
    }

    fn metadata_host(&self) -> Option<String> {
        if let Some(host) = self.env.non_empty("GCE_METADATA_HOST") {
            return Some(host);
        }
        let product = self.env.read_to_string(Path::new(PRODUCT_NAME)).ok()?;
        matches!(product.trim(), "Google" | "Google Compute Engine")
            .then(|| "metadata.google.internal".to_owned())
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<Option<IdToken>, IdentityError> {
        let Some(host) = self.metadata_host() else {
            return Ok(None);
        };
        let mut url = Url::parse(&format!(
            "http://{host}/computeMetadata/v1/instance/service-accounts/default/identity"
        ))
        .map_err(|err| IdentityError::GoogleMetadata {
            status: 0,
            body: format!("GCE_METADATA_HOST `{host}` does not make a URL ({err})"),
        })?;
        url.query_pairs_mut()
            .append_pair("audience", &request.audience)
            .append_pair("format", "full");
        // The metadata server is link-local and plain http by design.
        let response = self
            .http
            .send_unchecked("Google Cloud identity request", &url, |client| {
                client.get(url.clone()).header("Metadata-Flavor", "Google")
            })
            .await?;
        let response = ResponseText::read(response).await?;
        if !response.is_success() {
            return Err(IdentityError::GoogleMetadata {
                status: response.status,
                body: response.summary(),
            });
        }
        Ok(Some(IdToken::new(response.body)))
    }
}

impl Provider for GoogleCloud {
    fn name(&self) -> &'static str {
        "Google Cloud"
    }

    fn id_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> BoxFuture<'a, Result<Option<IdToken>, IdentityError>> {
        Box::pin(self.fetch(request))
    }
}
