//! The multipart form of one upload, its content streamed from disk.

use std::sync::Arc;

use futures_util::StreamExt;
use oidc_core::http::{ResponseText, error_chain};
use oidc_core::{HttpClient, Secret};
use reqwest::multipart::{Form, Part};
use url::Url;

use super::answer::read_answer;
use super::{UploadError, UploadItem, UploadReporter};

/// Read size of the content stream: large enough to keep the pipe full, small enough to keep
/// memory flat whatever the file size.
const CHUNK: usize = 256 * 1024;

/// The text fields of the form, in the order they are sent.
pub(crate) fn text_fields(item: &UploadItem) -> Vec<(&'static str, String)> {
    let dist = &item.dist;
    let mut fields = vec![
        (":action", "file_upload".to_owned()),
        ("protocol_version", "1".to_owned()),
    ];
    fields.extend(dist.metadata.form_fields());
    fields.push(("filetype", dist.filetype().to_owned()));
    fields.push(("pyversion", dist.pyversion().to_owned()));
    fields.push(("sha256_digest", dist.sha256.clone()));
    fields.push(("blake2_256_digest", dist.blake2_256.clone()));
    if let Some(attestations) = crate::attestation::upload_field(&item.attestations) {
        fields.push(("attestations", attestations));
    }
    fields
}

/// Sends one upload attempt. `Ok` on 200.
pub(crate) async fn send(
    http: &HttpClient,
    url: &Url,
    item: &UploadItem,
    username: &str,
    password: &Secret,
    reporter: &Arc<dyn UploadReporter>,
) -> Result<(), UploadError> {
    let dist = &item.dist;
    let transport = |source| UploadError::Transport {
        filename: dist.filename.clone(),
        source,
    };
    HttpClient::check_url(url).map_err(transport)?;
    let file = tokio::fs::File::open(&dist.path)
        .await
        .map_err(|err| UploadError::Open {
            path: dist.path.display().to_string(),
            reason: err.to_string(),
        })?;
    let filename = dist.filename.clone();
    let progress = Arc::clone(reporter);
    let stream = tokio_util::io::ReaderStream::with_capacity(file, CHUNK).inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            progress.progress(&filename, bytes.len() as u64);
        }
    });
    let content = Part::stream_with_length(reqwest::Body::wrap_stream(stream), dist.size)
        .file_name(dist.filename.clone())
        .mime_str("application/octet-stream")
        .map_err(|err| UploadError::Open {
            path: dist.path.display().to_string(),
            reason: err.to_string(),
        })?;
    let mut form = Form::new();
    for (name, value) in text_fields(item) {
        form = form.text(name, value);
    }
    form = form.part("content", content);
    let response = http
        .inner()
        .post(url.clone())
        .basic_auth(username, Some(password.expose()))
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .map_err(|err| {
            transport(oidc_core::HttpError::Transport {
                what: "upload".into(),
                url: url.to_string(),
                attempts: 1,
                reason: error_chain(&err.without_url()),
            })
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let response = ResponseText::read(response).await.map_err(transport)?;
    let answer = read_answer(
        response.status,
        response.content_type.as_deref(),
        &response.body,
    );
    if answer.exists {
        return Err(UploadError::Exists {
            filename: dist.filename.clone(),
            status: response.status,
            message: answer.message,
        });
    }
    Err(UploadError::Rejected {
        filename: dist.filename.clone(),
        status: response.status,
        message: answer.message,
        retry_after: response.retry_after,
    })
}
