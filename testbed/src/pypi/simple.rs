//! The simple repository API (PEP 503 HTML, PEP 691 JSON) and file downloads, served from the testbed's own copy
//! of every accepted upload.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{PypiState, names};

const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";
const HTML_TYPE: &str = "application/vnd.pypi.simple.v1+html";

/// Whether the client asked for PEP 691 JSON (`application/vnd.pypi.simple.v1+json` or `…latest+json` ranked
/// above any HTML type).
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut json_q = 0.0f32;
    let mut html_q = 0.0f32;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        match range.as_str() {
            JSON_TYPE | "application/vnd.pypi.simple.latest+json" => json_q = json_q.max(q),
            HTML_TYPE | "application/vnd.pypi.simple.latest+html" | "text/html" | "*/*" => {
                html_q = html_q.max(q)
            }
            _ => {}
        }
    }
    json_q > 0.0 && json_q >= html_q
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "404 Not Found\n",
    )
        .into_response()
}

/// `GET /simple/`.
pub(crate) async fn index(State(state): State<Arc<PypiState>>, headers: HeaderMap) -> Response {
    let projects: Vec<String> = state
        .registry()
        .projects
        .values()
        .map(|project| project.name.clone())
        .collect();
    if wants_json(&headers) {
        let listed: Vec<_> = projects
            .iter()
            .map(|name| json!({"name": name, "_last-serial": 0}))
            .collect();
        let body = json!({"meta": {"api-version": "1.1", "_last-serial": 0}, "projects": listed});
        return ([(header::CONTENT_TYPE, JSON_TYPE)], body.to_string()).into_response();
    }
    let mut html = String::from(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Simple index</title>\n  </head>\n  <body>\n",
    );
    for name in &projects {
        html.push_str(&format!(
            "    <a href=\"/simple/{}/\">{}</a>\n",
            names::normalize(name),
            html_escape(name)
        ));
    }
    html.push_str("  </body>\n</html>\n");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// `GET /simple/<project>` → 301 to the normalized, slash-terminated URL.
pub(crate) async fn redirect_to_slash(Path(project): Path<String>) -> Response {
    let location = format!("/simple/{}/", names::normalize(&project));
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// `GET /simple/<project>/`.
pub(crate) async fn project(
    State(state): State<Arc<PypiState>>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Response {
    let normalized = names::normalize(&project);
    if normalized != project {
        let location = format!("/simple/{normalized}/");
        return (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, location)],
        )
            .into_response();
    }
    let Some((display, files)) = state
        .registry()
        .projects
        .get(&normalized)
        .map(|p| (p.name.clone(), p.files.clone()))
    else {
        return not_found();
    };
    let base = state.base_url();
    let url_of = |filename: &str| format!("{base}files/{normalized}/{filename}");
    if wants_json(&headers) {
        let mut versions: Vec<String> = files.iter().map(|file| file.version.clone()).collect();
        versions.dedup();
        let listed: Vec<_> = files
            .iter()
            .map(|file| {
                json!({
                    "filename": file.filename,
                    "url": url_of(&file.filename),
                    "hashes": {"sha256": file.sha256, "blake2b_256": file.blake2_256},
                    "requires-python": file.requires_python,
                    "size": file.size,
                    "upload-time": time::OffsetDateTime::from_unix_timestamp(file.uploaded_at)
                        .ok()
                        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
                    "yanked": false,
                    "data-dist-info-metadata": false,
                    "core-metadata": false,
                    "provenance": file.attestations.as_ref().map(|_| format!("{base}integrity/{normalized}/{}/{}/provenance", file.version, file.filename)),
                })
            })
            .collect();
        let body = json!({"meta": {"api-version": "1.1", "_last-serial": 0}, "name": normalized, "versions": versions, "files": listed});
        return ([(header::CONTENT_TYPE, JSON_TYPE)], body.to_string()).into_response();
    }
    let mut html = format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Links for {name}</title>\n  </head>\n  <body>\n    <h1>Links for {name}</h1>\n",
        name = html_escape(&display)
    );
    for file in &files {
        let requires = file
            .requires_python
            .as_deref()
            .map(|spec| format!(" data-requires-python=\"{}\"", html_escape(spec)))
            .unwrap_or_default();
        html.push_str(&format!(
            "    <a href=\"{}#sha256={}\"{requires}>{}</a><br />\n",
            url_of(&file.filename),
            file.sha256,
            html_escape(&file.filename)
        ));
    }
    html.push_str("  </body>\n</html>\n");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// `GET /files/<project>/<filename>`.
pub(crate) async fn download(
    State(state): State<Arc<PypiState>>,
    Path((project, filename)): Path<(String, String)>,
) -> Response {
    let path = state
        .registry()
        .projects
        .get(&names::normalize(&project))
        .and_then(|p| {
            p.files
                .iter()
                .find(|file| file.filename == filename)
                .map(|file| file.path.clone())
        });
    let Some(path) = path else { return not_found() };
    match tokio::fs::File::open(&path).await {
        Ok(file) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            Body::from_stream(tokio_util::io::ReaderStream::new(file)),
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_negotiation() {
        let headers = |accept: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::ACCEPT, accept.parse().unwrap());
            map
        };
        assert!(wants_json(&headers("application/vnd.pypi.simple.v1+json")));
        assert!(wants_json(&headers(
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
        )));
        assert!(!wants_json(&headers("text/html")));
        assert!(!wants_json(&headers(
            "application/vnd.pypi.simple.v1+json;q=0.1, text/html"
        )));
        assert!(!wants_json(&HeaderMap::new()));
    }
}
