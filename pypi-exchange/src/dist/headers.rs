//! The RFC 822-style layout of core metadata: header lines, continuation lines, and the
//! message body after the first empty line.

use super::metadata::MetadataError;

/// One header with its continuation lines, before unfolding.
pub(crate) struct RawHeader<'a> {
    /// The field name as written.
    pub(crate) name: &'a str,
    first: &'a str,
    continuations: Vec<&'a str>,
}

/// Headers in file order and the body (`None` when there is no empty line).
pub(crate) type Split<'a> = (Vec<RawHeader<'a>>, Option<&'a str>);

/// Splits metadata bytes into headers and body.
///
/// The bytes must be UTF-8 (a leading byte-order mark is dropped). A line starting with a space
/// or tab continues the previous header; any other line before the first empty line must be
/// `Name: value`.
pub(crate) fn split_headers(bytes: &[u8]) -> Result<Split<'_>, MetadataError> {
    let text = std::str::from_utf8(bytes).map_err(|e| MetadataError::NotUtf8 {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut headers: Vec<RawHeader<'_>> = Vec::new();
    let mut offset = 0;
    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            return Ok((headers, Some(&text[offset..])));
        }
        if line.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some(header) => header.continuations.push(line),
                None => return Err(malformed(index, line)),
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value))
                if !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                headers.push(RawHeader {
                    name,
                    first: value,
                    continuations: Vec::new(),
                });
            }
            _ => return Err(malformed(index, line)),
        }
    }
    Ok((headers, None))
}

impl RawHeader<'_> {
    /// The header value. Free-text fields (`Description`, `License`) keep their line breaks
    /// and lose the Metadata 1.x continuation prefix (up to 8 spaces, or whitespace and `|`);
    /// every other field is unfolded to a single line as RFC 822 says.
    pub(crate) fn value(&self) -> String {
        let mut value = self.first.trim().to_owned();
        if self.continuations.is_empty() {
            return value;
        }
        if self.name.eq_ignore_ascii_case("description")
            || self.name.eq_ignore_ascii_case("license")
        {
            let piped = self
                .continuations
                .iter()
                .all(|line| line.trim_start_matches([' ', '\t']).starts_with('|'));
            for line in &self.continuations {
                value.push('\n');
                if piped {
                    let rest = line.trim_start_matches([' ', '\t']);
                    value.push_str(rest.strip_prefix('|').unwrap_or(rest));
                } else if let Some(rest) = line.strip_prefix('\t') {
                    value.push_str(rest);
                } else {
                    let spaces = line.len() - line.trim_start_matches(' ').len();
                    value.push_str(&line[spaces.min(8)..]);
                }
            }
            value.trim_end().to_owned()
        } else {
            for line in &self.continuations {
                let line = line.trim();
                if !line.is_empty() {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(line);
                }
            }
            value
        }
    }
}

fn malformed(index: usize, line: &str) -> MetadataError {
    MetadataError::MalformedHeader {
        line: index + 1,
        text: clip(line, 60),
    }
}

/// The first `max` characters of `text`, for error messages.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, String)> {
        let (headers, _) = split_headers(text.as_bytes()).unwrap();
        headers
            .iter()
            .map(|h| (h.name.to_owned(), h.value()))
            .collect()
    }

    #[test]
    fn body_starts_after_the_first_empty_line() {
        let (headers, body) = split_headers(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore").unwrap();
        assert_eq!(headers.len(), 2);
        assert_eq!(body, Some("body\r\n\r\nmore"));
        let (_, body) = split_headers(b"A: 1\n").unwrap();
        assert_eq!(body, None);
        let (_, body) = split_headers(b"A: 1\n\n").unwrap();
        assert_eq!(body, Some(""));
    }

    #[test]
    fn whitespace_only_lines_continue_a_header() {
        let parsed = values("Description: a\n        \n        b\nX: y\n");
        assert_eq!(
            parsed,
            [
                ("Description".to_owned(), "a\n\nb".to_owned()),
                ("X".to_owned(), "y".to_owned())
            ]
        );
    }

    #[test]
    fn values_are_trimmed_and_colons_after_the_first_kept() {
        assert_eq!(
            values("Home-page:   https://x.org:8080/a  \n"),
            [("Home-page".to_owned(), "https://x.org:8080/a".to_owned())]
        );
    }

    #[test]
    fn clipping_respects_characters() {
        assert_eq!(clip("ääää", 2), "ää…");
        assert_eq!(clip("ab", 2), "ab");
    }
}
