//! Reading a project's files and hashes from an index's simple API (PEP 691 JSON, or PEP 503
//! HTML), to reconcile "File already exists" and to implement `--skip-existing`.

use std::collections::BTreeMap;

use oidc_core::http::ResponseText;
use oidc_core::{HttpClient, HttpError};
use serde::Deserialize;
use url::Url;

use crate::dist::normalize_name;

/// Why the simple index could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SimpleIndexError {
    /// Transport failure.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The index answered with an error.
    #[error("the simple index at {url} answered {status}: {body}")]
    Status {
        /// The project page.
        url: String,
        /// HTTP status.
        status: u16,
        /// A safe summary of the body.
        body: String,
    },
    /// The page could not be parsed.
    #[error("the simple index page {url} is not valid PEP 691 JSON: {reason}")]
    Malformed {
        /// The project page.
        url: String,
        /// Why.
        reason: String,
    },
}

/// The files of a project on the index: file name → SHA-256 (when the index gives one).
pub type ProjectFiles = BTreeMap<String, Option<String>>;

#[derive(Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

/// The project's page URL: `<simple>/<normalized name>/`.
pub fn project_url(simple: &Url, project: &str) -> Url {
    let mut url = simple.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}/{}/", normalize_name(project)));
    url
}

/// The project's files, or `None` when the index does not know the project (404).
pub async fn project_files(
    http: &HttpClient,
    simple: &Url,
    project: &str,
) -> Result<Option<ProjectFiles>, SimpleIndexError> {
    let url = project_url(simple, project);
    let response = http
        .send("simple index lookup", &url, |c| {
            c.get(url.clone())
                .header(
                    "Accept",
                    "application/vnd.pypi.simple.v1+json, text/html;q=0.2",
                )
                .header("Cache-Control", "max-age=0")
        })
        .await?;
    let response = ResponseText::read_capped(response, oidc_core::http::PAGE_BODY_CAP).await?;
    if response.status == 404 {
        return Ok(None);
    }
    if !response.is_success() {
        return Err(SimpleIndexError::Status {
            url: url.to_string(),
            status: response.status,
            body: response.summary(),
        });
    }
    let body = response.body;
    if response
        .content_type
        .as_deref()
        .unwrap_or_default()
        .contains("json")
    {
        let page: JsonPage =
            serde_json::from_str(&body).map_err(|err| SimpleIndexError::Malformed {
                url: url.to_string(),
                reason: err.to_string(),
            })?;
        Ok(Some(
            page.files
                .into_iter()
                .map(|f| {
                    (
                        f.filename,
                        f.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
                    )
                })
                .collect(),
        ))
    } else {
        Ok(Some(parse_html(&body)))
    }
}

/// Reads the anchors of a PEP 503 page: `<a href="…/file.whl#sha256=…">file.whl</a>`.
pub fn parse_html(body: &str) -> ProjectFiles {
    let mut files = ProjectFiles::new();
    let lower = body.to_ascii_lowercase();
    let mut rest = 0;
    while let Some(start) = lower[rest..].find("<a ") {
        let tag_start = rest + start;
        let Some(tag_end) = lower[tag_start..].find('>').map(|e| tag_start + e) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</a>").map(|e| tag_end + e) else {
            break;
        };
        let tag = &body[tag_start..tag_end];
        let text = body[tag_end + 1..close].trim();
        let href = attribute(tag, "href").unwrap_or_default();
        let sha256 = href
            .split_once('#')
            .and_then(|(_, fragment)| fragment.strip_prefix("sha256="))
            .map(|h| h.to_ascii_lowercase());
        let filename = if text.is_empty() {
            href.split('#')
                .next()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        } else {
            text.to_owned()
        };
        if !filename.is_empty() {
            files.insert(filename, sha256);
        }
        rest = close + 4;
    }
    files
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let value = &tag[at..];
    let quote = value.chars().next()?;
    if quote == '"' || quote == '\'' {
        let end = value[1..].find(quote)?;
        Some(value[1..=end].to_owned())
    } else {
        Some(value.split_whitespace().next()?.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pep503_anchors() {
        let html = r#"<!DOCTYPE html><html><body>
            <a href="../../packages/sample-1.0-py3-none-any.whl#sha256=ABC123" data-requires-python="&gt;=3.8">sample-1.0-py3-none-any.whl</a><br/>
            <a href='/files/sample-1.0.tar.gz'>sample-1.0.tar.gz</a>
        </body></html>"#;
        let files = parse_html(html);
        assert_eq!(
            files.get("sample-1.0-py3-none-any.whl"),
            Some(&Some("abc123".to_owned()))
        );
        assert_eq!(files.get("sample-1.0.tar.gz"), Some(&None));
    }

    #[test]
    fn project_urls_are_normalized() {
        let simple = Url::parse("https://pypi.org/simple/").unwrap();
        assert_eq!(
            project_url(&simple, "My_Package.Name").as_str(),
            "https://pypi.org/simple/my-package-name/"
        );
    }
}
