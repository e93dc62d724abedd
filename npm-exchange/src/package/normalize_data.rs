//! The `normalizeData` step (the former `normalize-package-data` fixers), ported from
//! `@npmcli/package-json@7` (`lib/normalize-data.js`). Only the fixers that change the manifest
//! are here; the ones that only collect warnings (license, typos) have no effect on what is sent.

use url::Url;

use super::hosted::HostedGit;
use super::json::{Json, Object};
use super::normalize::NO_README;
use super::text::{is_js_space, js_trim};

pub(crate) fn normalize_data(data: &mut Object) {
    fix_description(data);
    data.remove("modules");
    fix_files(data);
    if let Some(Json::String(man)) = data.get("man").filter(|m| m.truthy()).cloned() {
        data.insert("man", Json::Array(vec![Json::String(man)]));
    }
    fix_bugs(data);
    fix_keywords(data);
    fix_bundle_dependencies(data);
    fix_homepage(data);
    if !data.truthy("readme") {
        data.insert("readme", Json::String(NO_README.into()));
    }
    fix_people(data);
}

fn repository_url(data: &Object) -> Option<String> {
    match data.get("repository") {
        Some(Json::Object(repository)) => repository
            .get_str("url")
            .filter(|u| !u.is_empty())
            .map(str::to_owned),
        _ => None,
    }
}

fn fix_description(data: &mut Object) {
    if data
        .get("description")
        .is_some_and(|d| d.truthy() && d.as_str().is_none())
    {
        data.remove("description");
    }
    let readme = data
        .get_str("readme")
        .filter(|r| !r.is_empty() && *r != NO_README);
    if let Some(readme) = readme
        && !data.truthy("description")
    {
        let description = extract_description(readme);
        data.insert("description", Json::String(description));
    }
}

/// The first paragraph of a Markdown README that is not a heading (`extractDescription`).
pub(crate) fn extract_description(readme: &str) -> String {
    let lines: Vec<&str> = js_trim(readme).split('\n').collect();
    let blank_or_heading = |line: &str| {
        let line = js_trim(line);
        line.is_empty() || line.starts_with('#')
    };
    let start = lines
        .iter()
        .take_while(|line| blank_or_heading(line))
        .count();
    let mut end = start + 1;
    while end < lines.len() && !js_trim(lines[end]).is_empty() {
        end += 1;
    }
    let paragraph = lines
        .get(start..end.min(lines.len()))
        .unwrap_or_default()
        .join(" ");
    js_trim(&paragraph).to_owned()
}

fn fix_files(data: &mut Object) {
    match data.get("files") {
        Some(Json::Array(files)) => {
            let kept = files
                .iter()
                .filter(|f| f.as_str().is_some_and(|f| !f.is_empty()))
                .cloned()
                .collect();
            data.insert("files", Json::Array(kept));
        }
        Some(files) if files.truthy() => {
            data.remove("files");
        }
        _ => {}
    }
}

/// `str.includes('@') && str.indexOf('@') < str.lastIndexOf('.')`.
fn is_email(s: &str) -> bool {
    match (s.find('@'), s.rfind('.')) {
        (Some(at), Some(dot)) => at < dot,
        _ => false,
    }
}

fn can_parse_url(s: &str) -> bool {
    Url::parse(s).is_ok()
}

fn fix_bugs(data: &mut Object) {
    let bugs = data.get("bugs").filter(|b| b.truthy()).cloned();
    let Some(bugs) = bugs else {
        let hosted = repository_url(data).and_then(|url| HostedGit::from_url(&url));
        if let Some(url) = hosted.and_then(|h| h.bugs()) {
            data.insert(
                "bugs",
                Json::Object(Object::from_iter([("url".to_owned(), Json::String(url))])),
            );
        }
        return;
    };
    let mut fixed = Object::new();
    match bugs {
        Json::String(bugs) if is_email(&bugs) => fixed.insert("email", Json::String(bugs)),
        Json::String(bugs) if can_parse_url(&bugs) => fixed.insert("url", Json::String(bugs)),
        Json::Object(old) => {
            // `web` and `name` are read as `url`, in key order; the last one wins.
            let mut url = old.get("url").cloned();
            for (key, value) in old.iter() {
                if key == "web" || key == "name" {
                    url = Some(value.clone());
                }
            }
            if let Some(url) = url.filter(Json::truthy)
                && can_parse_url(&url.to_js_string())
            {
                fixed.insert("url", url);
            }
            if let Some(Json::String(email)) = old.get("email").filter(|e| e.truthy())
                && is_email(email)
            {
                fixed.insert("email", Json::String(email.clone()));
            }
        }
        _ => {}
    }
    if fixed.is_empty() {
        data.remove("bugs");
    } else {
        data.insert("bugs", Json::Object(fixed));
    }
}

fn fix_keywords(data: &mut Object) {
    if let Some(Json::String(keywords)) = data.get("keywords") {
        let split = split_on_comma_space(keywords)
            .into_iter()
            .map(Json::String)
            .collect();
        data.insert("keywords", Json::Array(split));
    }
    match data.get("keywords") {
        Some(Json::Array(keywords)) => {
            let kept = keywords
                .iter()
                .filter(|k| k.as_str().is_some_and(|k| !k.is_empty()))
                .cloned()
                .collect();
            data.insert("keywords", Json::Array(kept));
        }
        Some(keywords) if keywords.truthy() => {
            data.remove("keywords");
        }
        _ => {}
    }
}

/// `str.split(/,\s+/)`.
fn split_on_comma_space(s: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = s;
    loop {
        let found = rest
            .match_indices(',')
            .find(|(i, _)| rest[i + 1..].starts_with(is_js_space));
        let Some((comma, _)) = found else {
            pieces.push(rest.to_owned());
            return pieces;
        };
        pieces.push(rest[..comma].to_owned());
        rest = rest[comma + 1..].trim_start_matches(is_js_space);
    }
}

fn fix_bundle_dependencies(data: &mut Object) {
    match data.get("bundleDependencies").cloned() {
        Some(Json::Array(names)) => {
            let mut kept = Vec::new();
            for name in names {
                let Json::String(dep) = &name else { continue };
                if dep.is_empty() {
                    continue;
                }
                if !data.truthy("dependencies") {
                    data.insert("dependencies", Json::Object(Object::new()));
                }
                if let Some(Json::Object(deps)) = data.get_mut("dependencies")
                    && !deps.contains_key(dep)
                {
                    deps.insert(dep.clone(), Json::String("*".into()));
                }
                kept.push(name);
            }
            data.insert("bundleDependencies", Json::Array(kept));
        }
        Some(value) if value.truthy() => {
            data.remove("bundleDependencies");
        }
        _ => {}
    }
}

fn fix_homepage(data: &mut Object) {
    if !data.truthy("homepage")
        && let Some(hosted) = repository_url(data).and_then(|url| HostedGit::from_url(&url))
    {
        data.insert("homepage", Json::String(hosted.docs()));
    }
    match data.get("homepage") {
        Some(Json::String(homepage)) if !homepage.is_empty() && !can_parse_url(homepage) => {
            let fixed = format!("http://{homepage}");
            data.insert("homepage", Json::String(fixed));
        }
        Some(homepage) if homepage.truthy() && homepage.as_str().is_none() => {
            data.remove("homepage");
        }
        _ => {}
    }
}

fn fix_people(data: &mut Object) {
    if let Some(author) = data.get("author").filter(|a| a.truthy()).cloned() {
        data.insert("author", stringify_person(&author));
    }
    for set in ["maintainers", "contributors"] {
        if let Some(Json::Array(people)) = data.get(set) {
            let people = people.iter().map(stringify_person).collect();
            data.insert(set, Json::Array(people));
        }
    }
}

/// `stringifyPerson`: `"Name <email> (url)"` or `{name, email, url}` → `{name, email, url}`.
fn stringify_person(person: &Json) -> Json {
    let text = match person {
        Json::String(s) => s.clone(),
        Json::Object(p) => {
            let first_truthy = |a: &str, b: &str| {
                p.get(a)
                    .filter(|v| v.truthy())
                    .or_else(|| p.get(b).filter(|v| v.truthy()))
            };
            let name = p
                .get("name")
                .filter(|n| n.truthy())
                .map(Json::to_js_string)
                .unwrap_or_default();
            let email = first_truthy("email", "mail")
                .map(|e| format!(" <{}>", e.to_js_string()))
                .unwrap_or_default();
            let url = first_truthy("url", "web")
                .map(|u| format!(" ({})", u.to_js_string()))
                .unwrap_or_default();
            format!("{name}{email}{url}")
        }
        _ => String::new(),
    };
    let mut parsed = Object::new();
    let name_end = text.find(['(', '<']).unwrap_or(text.len());
    let name = js_trim(&text[..name_end]);
    if !name.is_empty() {
        parsed.insert("name", Json::String(name.to_owned()));
    }
    if let Some(email) = first_delimited(&text, '<', '>') {
        parsed.insert("email", Json::String(email.to_owned()));
    }
    if let Some(url) = first_delimited(&text, '(', ')') {
        parsed.insert("url", Json::String(url.to_owned()));
    }
    Json::Object(parsed)
}

/// The first `open([^open close]+)close` in `s`.
fn first_delimited(s: &str, open: char, close: char) -> Option<&str> {
    s.match_indices(open).find_map(|(i, _)| {
        let inner = &s[i + 1..];
        let end = inner.find([open, close])?;
        (end > 0 && inner[end..].starts_with(close)).then(|| &inner[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_the_first_paragraph() {
        assert_eq!(
            extract_description("# Title\n\nSome text here\nmore\n\n## H2\n"),
            "Some text here more"
        );
        assert_eq!(extract_description("readme lower"), "readme lower");
        assert_eq!(extract_description("# Only a heading\n"), "");
        assert_eq!(extract_description("a\r\nb\r\n\r\nc"), "a\r b");
    }

    #[test]
    fn parses_people_like_npm() {
        let person = stringify_person(&Json::String("Jane Doe <jane@x.io> (https://x.io)".into()));
        assert_eq!(
            person.to_json_string(),
            r#"{"name":"Jane Doe","email":"jane@x.io","url":"https://x.io"}"#
        );
        let object =
            Json::parse(r#"{"web":"https://w","name":"A B","mail":"a@b.c","extra":1}"#).unwrap();
        assert_eq!(
            stringify_person(&object).to_json_string(),
            r#"{"name":"A B","email":"a@b.c","url":"https://w"}"#
        );
        assert_eq!(stringify_person(&Json::Number(5.0)).to_json_string(), "{}");
    }

    #[test]
    fn splits_keywords_on_comma_space() {
        assert_eq!(split_on_comma_space("a, b,c,  d"), ["a", "b,c", "d"]);
    }
}
