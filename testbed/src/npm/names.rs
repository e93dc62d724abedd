//! npm package names in URLs: `@scope%2fname` escaping, percent-decoding, and the name rules.

/// Percent-decodes `text`; `None` if an escape is broken or the result is not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// npm-package-arg's `escapedName`: `@scope%2fname` for scoped names, the name itself otherwise.
pub(crate) fn escape(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

/// The part after the scope: `@scope/name` → `name`.
pub(crate) fn unscoped(name: &str) -> &str {
    name.split_once('/').map_or(name, |(_, rest)| rest)
}

/// Whether `name` is a valid new-style npm package name (lowercase, URL-safe, ≤ 214 characters, optionally
/// `@scope/`).
pub(crate) fn is_valid(name: &str) -> bool {
    let part_ok = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && !part.starts_with('_')
            && part.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'-' | b'.' | b'_' | b'~')
            })
    };
    if name.len() > 214 {
        return false;
    }
    match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, rest)| part_ok(scope) && part_ok(rest)),
        None => part_ok(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            percent_decode("@demo%2ftiny-pkg").as_deref(),
            Some("@demo/tiny-pkg")
        );
        assert_eq!(
            percent_decode("%40demo%2Ftiny").as_deref(),
            Some("@demo/tiny")
        );
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(escape("@demo/tiny-pkg"), "@demo%2ftiny-pkg");
        assert_eq!(escape("plain"), "plain");
        assert_eq!(unscoped("@demo/tiny-pkg"), "tiny-pkg");
        assert!(is_valid("@demo/tiny-pkg"));
        assert!(is_valid("left-pad"));
        assert!(!is_valid("Left-Pad"));
        assert!(!is_valid("@demo"));
        assert!(!is_valid(".hidden"));
        assert!(!is_valid("a/b"));
    }
}
