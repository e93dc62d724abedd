//! Forwarding accepted publishes to a real registry (verdaccio), which takes exactly one attachment: the
//! `.sigstore` provenance attachment is dropped before sending.

use axum::http::StatusCode;
use serde_json::Value;
use url::Url;

use super::{NpmState, names};

/// PUTs `document` (minus `.sigstore` attachments) to `<target>/<escaped name>`; a refusal keeps the target's
/// 4xx status (so a 409 "already present" stays a 409), anything else is a 502.
pub(crate) async fn forward(
    state: &NpmState,
    target: &Url,
    name: &str,
    document: &Value,
) -> Result<(), (StatusCode, String)> {
    let mut document = document.clone();
    if let Some(attachments) = document
        .get_mut("_attachments")
        .and_then(Value::as_object_mut)
    {
        attachments.retain(|key, _| !key.ends_with(".sigstore"));
    }
    let url = target.join(&names::escape(name)).map_err(|error| {
        (
            StatusCode::BAD_GATEWAY,
            format!("The forwarding target {target} cannot take {name}: {error}"),
        )
    })?;
    let mut request = state
        .http
        .put(url.clone())
        .json(&document)
        .header("npm-command", "publish");
    if let Some(token) = &state.config.forward_token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|error| {
        (StatusCode::BAD_GATEWAY, format!("The testbed accepted the publish but could not reach the forwarding target {url}: {error}"))
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let snippet = crate::server::one_line(&body, 300);
    let answer = if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_GATEWAY
    };
    Err((
        answer,
        format!(
            "The testbed accepted the publish but the forwarding target {url} refused it: {status} {snippet}"
        ),
    ))
}
