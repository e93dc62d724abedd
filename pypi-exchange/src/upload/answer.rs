//! What an index's refusal means: the message to show, and whether it is the index's way of
//! saying "this file already exists".
//!
//! Indexes say "exists" in different ways; the list is twine's (`twine.commands.upload.skip_upload`),
//! which has followed them for years:
//!
//! | index | status | text (in the reason or the body, any case) |
//! |---|---|---|
//! | pypiserver, devpi | 409 | anything |
//! | PyPI, TestPyPI, Google Artifact Registry | 400 | `already exist` |
//! | Sonatype Nexus | 400 | `updating asset` |
//! | JFrog Artifactory | 403 | `overwrite artifact` |
//! | GitLab | 400 | `already been taken` |

use oidc_core::http::{summarize_body, truncate};

/// An index's answer to one upload, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What to show (one line, from the index, never the whole body).
    pub message: String,
    /// Whether the index says the file already exists.
    pub exists: bool,
}

/// Whether an index's refusal says the file already exists (twine's rule, see the module doc).
pub fn says_exists(status: u16, body: &str) -> bool {
    let text = body.to_ascii_lowercase();
    match status {
        409 => true,
        400 => {
            text.contains("already exist")
                || text.contains("updating asset")
                || text.contains("already been taken")
        }
        403 => text.contains("overwrite artifact"),
        _ => false,
    }
}

/// Reads a refusal: the index's own message, or for an HTML page its title and a hint that fits
/// the status.
pub fn read_answer(status: u16, content_type: Option<&str>, body: &str) -> Answer {
    let exists = says_exists(status, body);
    let message = if is_html(content_type, body) {
        html_message(status, body, exists)
    } else {
        warehouse_message(status, content_type, body)
    };
    Answer { message, exists }
}

fn is_html(content_type: Option<&str>, body: &str) -> bool {
    let trimmed = body.trim_start();
    content_type.is_some_and(|ct| ct.contains("html"))
        || (trimmed.starts_with('<') && {
            let head = trimmed.get(..512).unwrap_or(trimmed).to_ascii_lowercase();
            head.contains("<html") || head.contains("<!doctype html")
        })
}

/// `the index answered 409 with an HTML page: "Error: 409 Conflict"` and what to check.
fn html_message(status: u16, body: &str, exists: bool) -> String {
    let title = between(body, "<title>", "</title>")
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty())
        .map_or_else(
            || "(no title)".to_owned(),
            |t| format!("\"{}\"", truncate(&t, 120)),
        );
    format!(
        "the index answered {status} with an HTML page: {title}; {}",
        status_hint(status, exists)
    )
}

/// What a status usually means for an upload.
pub fn status_hint(status: u16, exists: bool) -> &'static str {
    if exists {
        return "the index already has a file with this name";
    }
    match status {
        401 => "the index wants credentials: check --user and --password (or the .pypirc section)",
        403 => {
            "the index refused these credentials: check --user and --password (or the .pypirc section) and that the account may upload to this project"
        }
        404 | 405 => {
            "check --repository-url: it must be the index's upload URL (https://upload.pypi.org/legacy/ on PyPI, the root of a pypiserver, the index URL on devpi)"
        }
        413 => "the file is larger than the index (or a proxy in front of it) accepts",
        429 => "the index is rate limiting: wait, then run again",
        500..=599 => "the index or a proxy in front of it failed: run again later",
        _ => "is the URL right, or is a proxy in the way?",
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let lower = text.to_ascii_lowercase();
    let from = lower.find(start)? + start.len();
    let to = from + lower[from..].find(end)?;
    text.get(from..to)
}

/// Warehouse puts its message in the status line; with `Accept: application/json` the body is
/// `{"message": "...", "code": "<status line>", "title": "..."}`. Plain text starts with the
/// status line. Anything else is summarized.
pub(crate) fn warehouse_message(status: u16, content_type: Option<&str>, body: &str) -> String {
    let strip_status = |line: &str| -> String {
        let line = line.trim();
        truncate(
            line.strip_prefix(&format!("{status} ")).unwrap_or(line),
            300,
        )
    };
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) {
        if let Some(serde_json::Value::String(code)) = map.get("code")
            && code.trim_start().starts_with(&status.to_string())
        {
            return strip_status(code);
        }
        if let Some(serde_json::Value::String(message)) = map.get("message") {
            let lines: Vec<&str> = message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            if let Some(last) = lines.last() {
                return truncate(last, 300);
            }
        }
    }
    if content_type.is_some_and(|ct| ct.starts_with("text/plain"))
        && let Some(first) = body.lines().find(|l| !l.trim().is_empty())
    {
        return strip_status(first);
    }
    summarize_body(content_type, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twines_conflict_answers() {
        // pypiserver and devpi
        assert!(says_exists(409, ""));
        // PyPI, TestPyPI, Google Artifact Registry
        assert!(says_exists(
            400,
            "400 File already exists ('a-1.0.tar.gz', with blake2_256 hash 'ab')."
        ));
        assert!(says_exists(400, "the package already EXISTS"));
        // Nexus
        assert!(says_exists(
            400,
            "Repository does not allow updating assets: pypi-hosted"
        ));
        // Artifactory
        assert!(says_exists(
            403,
            "Not enough permissions to delete/overwrite artifact 'pypi:a/1.0/a.whl'"
        ));
        // GitLab
        assert!(says_exists(
            400,
            "{\"message\":\"Validation failed: File name has already been taken\"}"
        ));
        assert!(!says_exists(
            403,
            "Invalid or non-existent authentication information."
        ));
        assert!(!says_exists(400, "Invalid distribution file."));
        assert!(!says_exists(500, "already exists"));
    }

    #[test]
    fn html_pages_get_their_title_and_a_fitting_hint() {
        let page = "<html><head><title>Error: 409 Conflict</title></head><body>x</body></html>";
        let answer = read_answer(409, Some("text/html; charset=UTF-8"), page);
        assert!(answer.exists);
        assert_eq!(
            answer.message,
            "the index answered 409 with an HTML page: \"Error: 409 Conflict\"; the index already has a file with this name"
        );
        let answer = read_answer(
            403,
            Some("text/html"),
            "<html><title>\n Forbidden\n</title></html>",
        );
        assert!(!answer.exists);
        assert!(
            answer.message.contains(
                "403 with an HTML page: \"Forbidden\"; the index refused these credentials"
            ),
            "{}",
            answer.message
        );
        let answer = read_answer(404, None, "<!DOCTYPE html><html><body>nope</body></html>");
        assert!(
            answer
                .message
                .contains("404 with an HTML page: (no title); check --repository-url"),
            "{}",
            answer.message
        );
        let answer = read_answer(
            502,
            Some("text/html"),
            "<html><title>502 Bad Gateway</title></html>",
        );
        assert!(
            answer.message.contains("run again later"),
            "{}",
            answer.message
        );
        assert!(!answer.message.contains("proxy in the way"));
    }

    #[test]
    fn warehouse_json_and_plain_text() {
        let json = r#"{"message": "The server could not comply.\n\n\nFile already exists ('a.whl').\n\n", "code": "400 File already exists ('a.whl').", "title": "Bad Request"}"#;
        let answer = read_answer(400, Some("application/json"), json);
        assert!(answer.exists);
        assert_eq!(answer.message, "File already exists ('a.whl').");
        let answer = read_answer(401, Some("text/plain"), "401 Unauthorized\n\nbody");
        assert_eq!(answer.message, "Unauthorized");
    }
}
