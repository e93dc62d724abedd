//! The JavaScript and Node.js string primitives npm's normalisation is written in terms of:
//! `String.prototype.trim`, `\s`, `encodeURIComponent`/`decodeURIComponent`, and `path.posix`.
//! Ported so that our normalised manifest matches npm's byte for byte.

/// JavaScript's `\s` (WhiteSpace and LineTerminator; unlike Rust's `char::is_whitespace` it
/// includes U+FEFF and excludes U+0085).
pub(crate) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// `String.prototype.trim`.
pub(crate) fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

/// Characters `encodeURIComponent` leaves alone.
fn is_uri_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '!' | '~' | '*' | '\'' | '(' | ')')
}

/// `encodeURIComponent`.
pub(crate) fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_uri_unreserved(c) {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// Whether `encodeURIComponent(s) === s`.
pub(crate) fn is_uri_component_safe(s: &str) -> bool {
    s.chars().all(is_uri_unreserved)
}

/// `decodeURIComponent`, or `None` where JavaScript throws `URIError`.
pub(crate) fn decode_uri_component(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `path.posix.normalize`.
pub(crate) fn posix_normalize(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let absolute = path.starts_with('/');
    let trailing = path.ends_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.last().is_some_and(|last| *last != "..") {
                    segments.pop();
                } else if !absolute {
                    segments.push("..");
                }
            }
            other => segments.push(other),
        }
    }
    let joined = segments.join("/");
    match (joined.is_empty(), absolute) {
        (true, true) => "/".into(),
        (true, false) => if trailing { "./" } else { "." }.into(),
        (false, _) => format!(
            "{}{joined}{}",
            if absolute { "/" } else { "" },
            if trailing { "/" } else { "" }
        ),
    }
}

/// `path.posix.join`.
pub(crate) fn posix_join(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        ".".into()
    } else {
        posix_normalize(&joined)
    }
}

/// `path.posix.dirname`.
pub(crate) fn posix_dirname(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let bytes = path.as_bytes();
    let has_root = bytes[0] == b'/';
    let mut end = None;
    let mut matched_slash = true;
    for i in (1..bytes.len()).rev() {
        if bytes[i] == b'/' {
            if !matched_slash {
                end = Some(i);
                break;
            }
        } else {
            matched_slash = false;
        }
    }
    match end {
        None => if has_root { "/" } else { "." }.into(),
        Some(1) if has_root => "//".into(),
        Some(end) => path[..end].into(),
    }
}

/// `path.posix.basename(path)`; with `suffix`, strips it unless it is the whole name.
pub(crate) fn posix_basename<'a>(path: &'a str, suffix: Option<&str>) -> &'a str {
    let trimmed = path.trim_end_matches('/');
    let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
    match suffix {
        Some(suffix) if !suffix.is_empty() && base != suffix => {
            base.strip_suffix(suffix).unwrap_or(base)
        }
        _ => base,
    }
}

/// `path.posix.extname`.
pub(crate) fn posix_extname(path: &str) -> &str {
    let base = posix_basename(path, None);
    match base.rfind('.') {
        Some(0) | None => "",
        Some(_) if base == ".." => "",
        Some(dot) => &base[dot..],
    }
}

/// `secureAndUnixifyPath` from `@npmcli/package-json`: backslashes and colons become slashes,
/// the path is resolved inside the package root, and an empty result means "invalid".
pub(crate) fn secure_and_unixify_path(reference: &str) -> String {
    let unixified = reference.replace(['\\', ':'], "/");
    let rooted = posix_join(&["/", &unixified]);
    let secured = posix_join(&[".", &rooted]).replace(['\\', ':'], "/");
    if secured.starts_with("./") {
        String::new()
    } else {
        secured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_like_javascript() {
        assert_eq!(js_trim("\u{FEFF}\u{A0} a b\r\n"), "a b");
        assert_eq!(js_trim("\u{85}a"), "\u{85}a");
    }

    #[test]
    fn uri_components_round_trip() {
        assert_eq!(
            encode_uri_component("@scope/na me~é"),
            "%40scope%2Fna%20me~%C3%A9"
        );
        assert_eq!(
            decode_uri_component("%40scope%2fna%20me~%C3%A9").as_deref(),
            Some("@scope/na me~é")
        );
        assert_eq!(decode_uri_component("%E2%82"), None);
        assert_eq!(decode_uri_component("%zz"), None);
        assert_eq!(decode_uri_component("100%"), None);
    }

    #[test]
    fn posix_paths_behave_like_node() {
        assert_eq!(posix_normalize("./a//b/../c/"), "a/c/");
        assert_eq!(posix_normalize("../a"), "../a");
        assert_eq!(posix_join(&[".", "/"]), "./");
        assert_eq!(posix_dirname("lib/main.js"), "lib");
        assert_eq!(posix_dirname("main.js"), ".");
        assert_eq!(posix_dirname("/a"), "/");
        assert_eq!(posix_basename("a/b/", None), "b");
        assert_eq!(posix_basename("a/index.js", Some(".js")), "index");
        assert_eq!(posix_extname("a/.bashrc"), "");
        assert_eq!(posix_extname("a.b.md"), ".md");
        assert_eq!(posix_extname("index."), ".");
    }

    #[test]
    fn secures_paths_like_npm() {
        assert_eq!(secure_and_unixify_path("./cli.js"), "cli.js");
        assert_eq!(secure_and_unixify_path("../../etc/passwd"), "etc/passwd");
        assert_eq!(secure_and_unixify_path("bin\\tool:x"), "bin/tool/x");
        assert_eq!(secure_and_unixify_path("bin/"), "bin/");
        assert_eq!(secure_and_unixify_path("a/.."), "");
        assert_eq!(secure_and_unixify_path(""), "");
    }
}
