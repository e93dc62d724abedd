//! Forwarding accepted uploads to a real index (pypiserver): the same multipart form, fields in their original
//! order, the file streamed from disk.

use axum::http::StatusCode;
use reqwest::multipart::{Form as Multipart, Part};
use tokio_util::io::ReaderStream;
use url::Url;

use super::PypiState;
use super::errors::UploadError;
use super::multipart::{FilePart, Form};

/// Sends the upload to `target`; a refusal becomes a 400 naming the target and its answer.
pub(crate) async fn forward(
    state: &PypiState,
    target: &Url,
    form: &Form,
    content: &FilePart,
) -> Result<(), UploadError> {
    let mut multipart = Multipart::new();
    for (name, value) in &form.fields {
        multipart = multipart.text(name.clone(), value.clone());
    }
    let file = tokio::fs::File::open(&content.path)
        .await
        .map_err(|error| {
            UploadError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "The testbed could not reopen {}: {error}",
                    content.path.display()
                ),
            )
        })?;
    let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(file, 1 << 20));
    let part = Part::stream_with_length(body, content.size)
        .file_name(content.filename.clone())
        .mime_str("application/octet-stream")
        .map_err(|error| UploadError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    multipart = multipart.part("content", part);

    let mut request = state.http.post(target.clone()).multipart(multipart);
    if let Some((user, password)) = &state.config.forward_auth {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.map_err(|error| {
        UploadError::new(
            StatusCode::BAD_GATEWAY,
            format!("The testbed accepted the upload but could not reach the forwarding target {target}: {error}"),
        )
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let snippet = crate::server::one_line(&body, 300);
    Err(UploadError::bad_request(format!(
        "The testbed accepted the upload but the forwarding target {target} refused it: {status} {snippet}"
    )))
}
