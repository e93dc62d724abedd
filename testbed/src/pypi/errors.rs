//! Warehouse's error wire format for the legacy upload API (Pyramid's `HTTPException` rendering).
//!
//! The message is also the status line's reason phrase (`400 File already exists (…)`). The body depends on
//! `Accept`: `text/html` or `*/*` → an HTML page; `application/json` → `{"message", "code", "title"}`; anything
//! else (or no header) → text/plain `"{status}\n\n{explanation}\n\n\n{message}\n\n"`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An upload refusal: status plus Warehouse's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UploadError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl UploadError {
    /// 400 with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 403 with `message`.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// Any status with `message`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// Renders the refusal for a request that sent `accept`.
    pub(crate) fn render(&self, request_headers: &HeaderMap) -> Response {
        let accept = request_headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let status_line = format!("{} {}", self.status.as_u16(), self.message);
        let title = self.status.canonical_reason().unwrap_or("Error");
        let explanation = explanation(self.status);
        let (content_type, body) = match negotiate(accept) {
            Format::Json => (
                "application/json",
                json!({
                    "message": format!("{explanation}\n\n\n{}\n\n", self.message),
                    "code": status_line,
                    "title": title,
                })
                .to_string(),
            ),
            Format::Html => (
                "text/html; charset=UTF-8",
                format!(
                    "<html>\n <head>\n  <title>{status}</title>\n </head>\n <body>\n  <h1>{status}</h1>\n  \
                     {explanation}<br/><br/>\n{message}\n\n\n </body>\n</html>",
                    status = html_escape(&status_line),
                    message = html_escape(&self.message),
                ),
            ),
            Format::Text => (
                "text/plain; charset=UTF-8",
                format!("{status_line}\n\n{explanation}\n\n\n{}\n\n", self.message),
            ),
        };
        let mut response =
            (self.status, [(header::CONTENT_TYPE, content_type)], body).into_response();
        // The reason phrase must be a valid header-ish byte string; Warehouse's messages are plain text.
        let reason: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(reason.into_bytes()) {
            response.extensions_mut().insert(phrase);
        }
        if let Ok(value) = HeaderValue::from_str(&self.message.replace(['\r', '\n'], " ")) {
            response.headers_mut().insert("x-pypi-error", value);
        }
        response
    }
}

/// Pyramid's `explanation` of each status Warehouse uses.
fn explanation(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => {
            "The server could not comply with the request since it is either malformed or otherwise incorrect."
        }
        403 => "Access was denied to this resource.",
        404 => "The resource could not be found.",
        410 => "This resource is no longer available.  No forwarding address is given.",
        413 => "The request entity is too large.",
        _ => "The server has either erred or is incapable of performing the requested operation.",
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Html,
    Json,
    Text,
}

/// WebOb's `acceptable_offers(["text/html", "application/json"])`, first pick, else text/plain.
fn negotiate(accept: &str) -> Format {
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim().to_ascii_lowercase();
            if range.is_empty() {
                return None;
            }
            let q = parts
                .filter_map(|param| {
                    param
                        .trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                })
                .next()
                .unwrap_or(1.0);
            Some((range, q))
        })
        .collect();
    let quality = |offer: &str| -> f32 {
        let (offer_type, _) = offer.split_once('/').unwrap_or((offer, ""));
        let mut best: Option<(u8, f32)> = None;
        for (range, q) in &ranges {
            let specificity = if range == offer {
                3
            } else if range.strip_suffix("/*") == Some(offer_type) {
                2
            } else if range == "*/*" {
                1
            } else {
                continue;
            };
            if best.is_none_or(|(s, _)| specificity > s) {
                best = Some((specificity, *q));
            }
        }
        best.map_or(0.0, |(_, q)| q)
    };
    let html = quality("text/html");
    let json = quality("application/json");
    if html <= 0.0 && json <= 0.0 {
        Format::Text
    } else if json > html {
        Format::Json
    } else {
        Format::Html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if !value.is_empty() {
            headers.insert(header::ACCEPT, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn negotiation_follows_webob() {
        assert_eq!(negotiate(""), Format::Text);
        assert_eq!(negotiate("*/*"), Format::Html);
        assert_eq!(negotiate("application/json"), Format::Json);
        assert_eq!(negotiate("application/json, */*;q=0.1"), Format::Json);
        assert_eq!(negotiate("application/json, */*"), Format::Html);
        assert_eq!(negotiate("text/html"), Format::Html);
        assert_eq!(negotiate("text/plain"), Format::Text);
    }

    #[tokio::test]
    async fn renders_the_three_formats() {
        let error = UploadError::bad_request("Unknown protocol version.");
        let json = error.render(&accept("application/json"));
        assert_eq!(json.status(), 400);
        assert!(
            json.extensions()
                .get::<hyper::ext::ReasonPhrase>()
                .is_some()
        );
        insta::assert_snapshot!(body(json).await, @r#"{"code":"400 Unknown protocol version.","message":"The server could not comply with the request since it is either malformed or otherwise incorrect.\n\n\nUnknown protocol version.\n\n","title":"Bad Request"}"#);
        insta::assert_snapshot!(body(error.render(&accept(""))).await, @r"
        400 Unknown protocol version.

        The server could not comply with the request since it is either malformed or otherwise incorrect.


        Unknown protocol version.
        ");
        insta::assert_snapshot!(body(error.render(&accept("*/*"))).await, @r"
        <html>
         <head>
          <title>400 Unknown protocol version.</title>
         </head>
         <body>
          <h1>400 Unknown protocol version.</h1>
          The server could not comply with the request since it is either malformed or otherwise incorrect.<br/><br/>
        Unknown protocol version.


         </body>
        </html>
        ");
    }
}
