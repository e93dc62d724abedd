//! The two node-semver behaviours npm's publish path depends on, ported from `semver@7`
//! (`internal/re.js`, `classes/semver.js`, `classes/range.js`):
//!
//! - [`clean_loose`]: `semver.clean(version, { loose: true })`, which `@npmcli/package-json`
//!   applies to `package.json`'s `version` (`" =v1.2.3"` → `"1.2.3"`, `"1.2.3beta"` →
//!   `"1.2.3-beta"`, build metadata dropped);
//! - [`is_valid_range`]: `semver.validRange(tag)`, which the CLI uses to refuse a dist-tag that
//!   looks like a range (`v1`, `1.x`, `^2`, `*`).
//!
//! `semver::Version` is stricter than npm on input and knows nothing of ranges, so it cannot
//! answer either question the way npm does.

use super::text::{is_js_space, js_trim};

/// `Number.MAX_SAFE_INTEGER`: node-semver refuses any larger version component.
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;
/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// A dot-separated list of non-empty `[0-9A-Za-z-]+` identifiers.
fn is_loose_identifiers(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|id| !id.is_empty() && id.chars().all(is_ident_char))
}

/// A strict prerelease identifier: alphanumeric, or numeric without a leading zero.
fn is_strict_prerelease_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().all(is_ident_char)
        && (id.chars().any(|c| !c.is_ascii_digit()) || id == "0" || !id.starts_with('0'))
}

/// A version component as node-semver converts it (`+digits`), if it is a safe integer.
fn safe_number(digits: &str) -> Option<u64> {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 16 {
        return None;
    }
    let value = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse::<u64>().ok()?
    };
    (value <= MAX_SAFE_INTEGER).then_some(value)
}

/// `semver.clean(raw, { loose: true })`: the normalised version, or `None` when npm rejects it
/// (`Invalid version: "<raw>"`).
pub(crate) fn clean_loose(raw: &str) -> Option<String> {
    if raw.encode_utf16().count() > MAX_LENGTH {
        return None;
    }
    let s = js_trim(raw).trim_start_matches(|c: char| c == 'v' || c == '=' || is_js_space(c));
    let (major, rest) = s.split_once('.')?;
    let (minor, rest) = rest.split_once('.')?;
    let numeric = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !numeric(major) || !numeric(minor) {
        return None;
    }
    let patch_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    // The regex is greedy but backtracks: `1.2.34.5` parses as patch `3`, prerelease `4.5`.
    let (patch, prerelease) = (1..=patch_digits)
        .rev()
        .find_map(|len| loose_tail(&rest[len..]).map(|pre| (&rest[..len], pre)))?;
    let mut version = format!(
        "{}.{}.{}",
        safe_number(major)?,
        safe_number(minor)?,
        safe_number(patch)?
    );
    if let Some(prerelease) = prerelease {
        let ids: Vec<String> = prerelease
            .split('.')
            .map(|id| match safe_number(id) {
                Some(n) if id.bytes().all(|b| b.is_ascii_digit()) && n < MAX_SAFE_INTEGER => {
                    n.to_string()
                }
                _ => id.to_owned(),
            })
            .collect();
        version.push('-');
        version.push_str(&ids.join("."));
    }
    Some(version)
}

/// Matches `(?:-?(PRERELEASELOOSE))?(?:\+BUILD)?$`, returning the prerelease if any.
fn loose_tail(tail: &str) -> Option<Option<&str>> {
    let (pre, build) = match tail.split_once('+') {
        Some((pre, build)) => (pre, Some(build)),
        None => (tail, None),
    };
    if build.is_some_and(|b| !is_loose_identifiers(b)) {
        return None;
    }
    if pre.is_empty() {
        return Some(None);
    }
    match pre.strip_prefix('-') {
        Some(after) if is_loose_identifiers(after) => Some(Some(after)),
        _ if is_loose_identifiers(pre) => Some(Some(pre)),
        _ => None,
    }
}

/// An `XRANGEPLAIN` match: `[v=\s]*(M)(?:\.(m)(?:\.(p)(?:-(pr))?(?:\+build)?)?)?`.
struct XRange<'a> {
    major: &'a str,
    minor: Option<&'a str>,
    patch: Option<&'a str>,
    prerelease: Option<&'a str>,
}

/// `x`, `X`, `*` or a missing component.
fn is_x(id: Option<&str>) -> bool {
    id.is_none_or(|id| id.is_empty() || id.eq_ignore_ascii_case("x") || id == "*")
}

/// Splits one `XRANGEIDENTIFIER` (`0|[1-9]\d*|x|X|\*`) off the front of `s`.
fn xrange_id(s: &str) -> Option<(&str, &str)> {
    let first = s.chars().next()?;
    let len = match first {
        'x' | 'X' | '*' | '0' => 1,
        '1'..='9' => s.bytes().take_while(u8::is_ascii_digit).count(),
        _ => return None,
    };
    Some(s.split_at(len))
}

/// Matches the whole of `s` against `XRANGEPLAIN` (strict).
fn xrange_plain(s: &str) -> Option<XRange<'_>> {
    let body = s.trim_start_matches(|c: char| c == 'v' || c == '=' || is_js_space(c));
    let (major, rest) = xrange_id(body)?;
    let mut range = XRange {
        major,
        minor: None,
        patch: None,
        prerelease: None,
    };
    if rest.is_empty() {
        return Some(range);
    }
    let (minor, rest) = xrange_id(rest.strip_prefix('.')?)?;
    range.minor = Some(minor);
    if rest.is_empty() {
        return Some(range);
    }
    let (patch, rest) = xrange_id(rest.strip_prefix('.')?)?;
    range.patch = Some(patch);
    let (pre, build) = match rest.split_once('+') {
        Some((pre, build)) => (pre, Some(build)),
        None => (rest, None),
    };
    if build.is_some_and(|b| !is_loose_identifiers(b)) {
        return None;
    }
    if !pre.is_empty() {
        let ids = pre.strip_prefix('-')?;
        if ids.is_empty() || !ids.split('.').all(is_strict_prerelease_id) {
            return None;
        }
        range.prerelease = Some(ids);
    }
    Some(range)
}

/// `+id + 1` on a version component; an unsafe number yields a component npm rejects later.
fn plus_one(id: &str) -> String {
    safe_number(id).map_or_else(|| "9".repeat(20), |n| (n + 1).to_string())
}

/// Splits the longest `GTLT` (`((?:<|>)?=?)`) off the front of `s`.
fn split_gtlt(s: &str) -> (&str, &str) {
    let mut len = usize::from(s.starts_with(['<', '>']));
    if s[len..].starts_with('=') {
        len += 1;
    }
    s.split_at(len)
}

/// `semver.validRange(range)` (not loose, no prerelease inclusion) is not `null`.
pub(crate) fn is_valid_range(range: &str) -> bool {
    let raw = js_trim(range)
        .split(is_js_space)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    raw.split("||")
        .all(|part| range_part_is_valid(js_trim(part)))
}

fn range_part_is_valid(part: &str) -> bool {
    let part = strip_builds(part);
    let part = hyphen_replace(&part).unwrap_or(part);
    let part = caret_tilde_trim(&comparator_trim(&part));
    part.split(' ')
        .map(parse_comparator)
        .collect::<Vec<_>>()
        .join(" ")
        .split(is_js_space)
        .all(is_comparator)
}

/// Removes every `\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*` (node-semver's `BUILDSTRIPRE`).
fn strip_builds(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(plus) = rest.find('+') {
        out.push_str(&rest[..plus]);
        let after = &rest[plus + 1..];
        let mut end = 0;
        loop {
            let run = after[end..]
                .chars()
                .take_while(|&c| is_ident_char(c))
                .count();
            if run == 0 {
                break;
            }
            end += run;
            if after[end..].starts_with('.') && after[end + 1..].starts_with(is_ident_char) {
                end += 1;
            } else {
                break;
            }
        }
        if end == 0 {
            out.push('+');
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `1.2.3 - 2.3.4` → `>=1.2.3 <=2.3.4` (node-semver's `hyphenReplace`).
fn hyphen_replace(part: &str) -> Option<String> {
    let (from_text, to_text) = part
        .match_indices(" - ")
        .map(|(i, _)| (&part[..i], &part[i + 3..]))
        .find(|(from, to)| xrange_plain(from).is_some() && xrange_plain(to).is_some())?;
    let (from, to) = (xrange_plain(from_text)?, xrange_plain(to_text)?);
    let from = if is_x(Some(from.major)) {
        String::new()
    } else if is_x(from.minor) {
        format!(">={}.0.0", from.major)
    } else if is_x(from.patch) {
        format!(">={}.{}.0", from.major, from.minor.unwrap_or_default())
    } else {
        format!(">={from_text}")
    };
    let to = if is_x(Some(to.major)) {
        String::new()
    } else if is_x(to.minor) {
        format!("<{}.0.0-0", plus_one(to.major))
    } else if is_x(to.patch) {
        format!(
            "<{}.{}.0-0",
            to.major,
            plus_one(to.minor.unwrap_or_default())
        )
    } else if let Some(pre) = to.prerelease {
        format!(
            "<={}.{}.{}-{pre}",
            to.major,
            to.minor.unwrap_or_default(),
            to.patch.unwrap_or_default()
        )
    } else {
        format!("<={to_text}")
    };
    Some(format!("{from} {to}").trim().to_owned())
}

/// `COMPARATORTRIM`: `> 1.2.3` → `>1.2.3`.
fn comparator_trim(s: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let ws1 = rest.len() - rest.trim_start_matches(is_js_space).len();
        let (gtlt, after) = split_gtlt(&rest[ws1..]);
        let version = after.trim_start_matches(is_js_space);
        let body = version.trim_start_matches(|c: char| c == 'v' || c == '=' || is_js_space(c));
        if body.starts_with(|c: char| c.is_ascii_digit() || matches!(c, 'x' | 'X' | '*')) {
            out.push_str(&rest[..ws1]);
            out.push_str(gtlt);
            let run = body
                .find(|c: char| !(is_ident_char(c) || matches!(c, '.' | '+' | '*')))
                .unwrap_or(body.len());
            let matched = version.len() - body.len() + run;
            out.push_str(&version[..matched]);
            i += rest.len() - version.len() + matched;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `TILDETRIM` and `CARETTRIM`: `~ 1` / `~> 1` → `~1`, `^ 1` → `^1`.
fn caret_tilde_trim(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        out.push(c);
        let candidate = if c == '~' {
            rest.strip_prefix('>').unwrap_or(rest)
        } else {
            rest
        };
        if (c == '~' || c == '^') && candidate.starts_with(is_js_space) {
            rest = candidate.trim_start_matches(is_js_space);
        }
    }
    out
}

/// node-semver's `parseComparator`: carets, tildes, x-ranges and stars to plain comparators.
fn parse_comparator(comp: &str) -> String {
    let comp = replace_caret_or_tilde(comp);
    let comp = comp
        .split(is_js_space)
        .map(replace_xrange)
        .collect::<Vec<_>>()
        .join(" ");
    replace_star(js_trim(&comp))
}

fn replace_caret_or_tilde(comp: &str) -> String {
    let (caret, rest) = if let Some(rest) = comp.strip_prefix('^') {
        (true, rest)
    } else if let Some(rest) = comp.strip_prefix('~') {
        (
            false,
            rest.strip_prefix('>')
                .filter(|r| xrange_plain(r).is_some())
                .unwrap_or(rest),
        )
    } else {
        return comp.to_owned();
    };
    let Some(XRange {
        major: ma,
        minor,
        patch,
        prerelease,
    }) = xrange_plain(rest)
    else {
        return comp.to_owned();
    };
    let (mi, pa) = (minor.unwrap_or_default(), patch.unwrap_or_default());
    let pre = prerelease.map(|p| format!("-{p}")).unwrap_or_default();
    if is_x(Some(ma)) {
        String::new()
    } else if is_x(minor) {
        format!(">={ma}.0.0 <{}.0.0-0", plus_one(ma))
    } else if is_x(patch) {
        if caret && ma != "0" {
            format!(">={ma}.{mi}.0 <{}.0.0-0", plus_one(ma))
        } else {
            format!(">={ma}.{mi}.0 <{ma}.{}.0-0", plus_one(mi))
        }
    } else if !caret || (ma == "0" && mi != "0") {
        format!(">={ma}.{mi}.{pa}{pre} <{ma}.{}.0-0", plus_one(mi))
    } else if ma == "0" {
        format!(">={ma}.{mi}.{pa}{pre} <{ma}.{mi}.{}-0", plus_one(pa))
    } else {
        format!(">={ma}.{mi}.{pa}{pre} <{}.0.0-0", plus_one(ma))
    }
}

fn replace_xrange(comp: &str) -> String {
    let comp = js_trim(comp);
    let (gtlt, rest) = split_gtlt(comp);
    let Some(XRange {
        major,
        minor,
        patch,
        ..
    }) = xrange_plain(rest.trim_start_matches(is_js_space))
    else {
        return comp.to_owned();
    };
    let invalid_order =
        (is_x(Some(major)) && !is_x(minor)) || (is_x(minor) && patch.is_some() && !is_x(patch));
    if invalid_order {
        return comp.to_owned();
    }
    let (xm, xp) = (
        is_x(Some(major)) || is_x(minor),
        is_x(Some(major)) || is_x(minor) || is_x(patch),
    );
    let gtlt = if gtlt == "=" && xp { "" } else { gtlt };
    let mi = minor.unwrap_or_default();
    if is_x(Some(major)) {
        if gtlt == ">" || gtlt == "<" {
            "<0.0.0-0".into()
        } else {
            "*".into()
        }
    } else if !gtlt.is_empty() && xp {
        let (op, ma, mi) = match (gtlt, xm) {
            (">", true) => (">=", plus_one(major), "0".to_owned()),
            (">", false) => (">=", major.to_owned(), plus_one(mi)),
            ("<=", true) => ("<", plus_one(major), "0".to_owned()),
            ("<=", false) => ("<", major.to_owned(), plus_one(mi)),
            (op, true) => (op, major.to_owned(), "0".to_owned()),
            (op, false) => (op, major.to_owned(), mi.to_owned()),
        };
        let pre = if op == "<" { "-0" } else { "" };
        format!("{op}{ma}.{mi}.0{pre}")
    } else if xm {
        format!(">={major}.0.0 <{}.0.0-0", plus_one(major))
    } else if xp {
        format!(">={major}.{mi}.0 <{major}.{}.0-0", plus_one(mi))
    } else {
        comp.to_owned()
    }
}

/// Removes the first `(<|>)?=?\s*\*` (node-semver's `replaceStars`).
fn replace_star(comp: &str) -> String {
    for (start, _) in comp.char_indices() {
        let rest = &comp[start..];
        let after_op = rest.strip_prefix(['<', '>']).unwrap_or(rest);
        let after_eq = after_op.strip_prefix('=').unwrap_or(after_op);
        if let Some(after) = after_eq.trim_start_matches(is_js_space).strip_prefix('*') {
            return format!("{}{}", &comp[..start], after);
        }
    }
    comp.to_owned()
}

/// `new Comparator(comp)` succeeds: `^GTLT\s*(FULLPLAIN)$|^$` with safe numbers.
fn is_comparator(comp: &str) -> bool {
    let comp = js_trim(comp);
    // `>=0.0.0` is rewritten to the empty comparator before parsing (`replaceGTE0`).
    if comp.is_empty() {
        return true;
    }
    let (_, rest) = split_gtlt(comp);
    let version = rest.trim_start_matches(is_js_space);
    let version = version.strip_prefix('v').unwrap_or(version);
    let Some(XRange {
        major,
        minor: Some(minor),
        patch: Some(patch),
        ..
    }) = xrange_plain(version)
    else {
        return false;
    };
    version.len() <= MAX_LENGTH
        && !version.starts_with(|c: char| c == 'v' || c == '=' || is_js_space(c))
        && [major, minor, patch]
            .iter()
            .all(|id| id.bytes().all(|b| b.is_ascii_digit()) && safe_number(id).is_some())
}

/// `semver.valid(version, { loose: true })` is not `null`.
pub(crate) fn is_loose_version(version: &str) -> bool {
    clean_loose(version).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_versions_like_npm() {
        let cases = [
            ("1.2.3", Some("1.2.3")),
            (" =v1.2.3 ", Some("1.2.3")),
            ("v1.2.3", Some("1.2.3")),
            ("01.02.03beta+b", Some("1.2.3-beta")),
            ("1.2.3-beta.01", Some("1.2.3-beta.1")),
            ("1.2.34.5", Some("1.2.3-4.5")),
            ("1.2.3-", Some("1.2.3--")),
            ("1.2.3+build.5", Some("1.2.3")),
            ("1.2", None),
            ("1.2.3.", None),
            ("latest", None),
            ("", None),
            ("9007199254740992.0.0", None),
            ("1.2.3-9007199254740991", Some("1.2.3-9007199254740991")),
        ];
        for (raw, expected) in cases {
            assert_eq!(clean_loose(raw).as_deref(), expected, "{raw:?}");
        }
    }

    /// `semver.validRange` answers from node-semver 7 (npm 11.19.1). During development the
    /// port was also compared with node on 160,000 random strings over range alphabets.
    #[test]
    fn recognises_ranges_like_node_semver() {
        let ranges = [
            "1.0",
            "1",
            "v1",
            "1.x",
            "x",
            "X",
            "*",
            "",
            "  ",
            "^1",
            "~1",
            "~>1.2",
            "1.2.3",
            "=1.2.3",
            ">=1.2.3",
            ">= 1.2.3",
            "1 - 2",
            "1 || 2",
            "1+x",
            "1.2.3*",
            ">*",
            "vv1",
            "v=1",
            "1.2.x-beta",
            "~ 1",
            "^ 1",
            "<=x",
            "1.2.3 ||",
        ];
        let not_ranges = [
            "latest",
            "next",
            "beta",
            "v1-lts",
            "legacy-1.x",
            "release-1.0",
            "1.2.3beta",
            "==1.2.3",
            "=1.2.3 - 2",
            "a || 1",
            "foo+bar",
            "x.1",
            "1.x.3",
            "1.2.3-01",
            "01",
            "9007199254740992",
        ];
        for range in ranges {
            assert!(is_valid_range(range), "{range:?} is a range");
        }
        for tag in not_ranges {
            assert!(!is_valid_range(tag), "{tag:?} is not a range");
        }
    }
}
