//! npm's manifest normalisation for `npm publish <tarball>`, ported from
//! `@npmcli/package-json@7` (`lib/normalize.js`).
//!
//! pacote reads a tarball's manifest with `PackageJson.prepare()`, whose steps run in this order:
//! the file-system steps (`gypfile`, `serverjs`, `authors`, `readme`, `mans`, `binDir`/`bin`,
//! `gitHead`, `fillTypes`), then the synchronous ones (name and version checks, `_attributes`,
//! `_id`, `bundledDependencies`, `bundleDependencies`, `scriptpath`, `fixRepositoryField`,
//! `fixDependencies`, `normalizeData`). The file-system steps see the unpacked tarball; here they
//! see [`PackageFiles`], the list of paths and the few contents read while scanning it.
//!
//! Left out on purpose: `gitHead` (a tarball has no `.git`; a `gitHead` already in `package.json`
//! is kept) and `binRefs` (it only logs warnings).

use std::collections::BTreeSet;

use super::hosted::HostedGit;
use super::json::{Json, Object};
use super::manifest::ManifestError;
use super::node_semver::clean_loose;
use super::normalize_data::normalize_data;
use super::text::{
    is_js_space, is_uri_component_safe, js_trim, posix_basename, posix_dirname, posix_extname,
    posix_join, secure_and_unixify_path,
};

/// What the normalisation needs from the tarball besides `package.json`.
#[derive(Debug, Clone, Default)]
pub(crate) struct PackageFiles {
    /// Regular files, relative to the package root (the tarball's `package/` stripped).
    pub(crate) files: BTreeSet<String>,
    /// The README npm picks, as `(file name, contents)`.
    pub(crate) readme: Option<(String, String)>,
    /// The contents of a top-level `AUTHORS` file.
    pub(crate) authors: Option<String>,
}

/// The unpacked package as the file-system steps see it: files and the directories holding them.
struct Tree {
    entries: BTreeSet<String>,
}

impl Tree {
    fn new(files: &PackageFiles) -> Self {
        let mut entries = files.files.clone();
        for file in &files.files {
            let mut dir = file.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                entries.insert(parent.to_owned());
                dir = parent;
            }
        }
        Self { entries }
    }

    /// `fs.access(path.join(root, path))` succeeds.
    fn exists(&self, path: &str) -> bool {
        let normalized = posix_join(&[path]);
        self.entries.contains(normalized.trim_end_matches('/'))
    }

    /// `glob(pattern, { cwd: dir })` for the patterns npm uses: the entries below `dir` (relative
    /// to it) with no segment starting with a dot, in path order (npm gets directory order).
    fn entries_below(&self, dir: &str) -> Vec<String> {
        let dir = posix_join(&[dir]);
        let prefix = match dir.trim_end_matches('/') {
            "." | "" => String::new(),
            d => format!("{d}/"),
        };
        self.entries
            .iter()
            .filter_map(|entry| entry.strip_prefix(&prefix).map(str::to_owned))
            .filter(|rel| !rel.is_empty() && rel.split('/').all(|s| !s.starts_with('.')))
            .collect()
    }
}

/// The value of `scripts`, `data.scripts || {}`, when npm can add to it.
fn scripts_object(data: &Object) -> Option<Object> {
    match data.get("scripts") {
        Some(Json::Object(scripts)) => Some(scripts.clone()),
        Some(value) if value.truthy() => None,
        _ => Some(Object::new()),
    }
}

/// Runs `PackageJson.prepare()` on `data`, as pacote does for a tarball.
pub(crate) fn prepare(data: &mut Object, files: &PackageFiles) -> Result<(), ManifestError> {
    file_steps(data, files)?;
    sync_steps(data)
}

fn file_steps(data: &mut Object, files: &PackageFiles) -> Result<(), ManifestError> {
    let tree = Tree::new(files);
    // gypfile: a top-level *.gyp means `node-gyp rebuild` on install.
    if let Some(mut scripts) = scripts_object(data)
        && !scripts.truthy("install")
        && !scripts.truthy("preinstall")
        && data.get("gypfile") != Some(&Json::Bool(false))
        && tree
            .entries_below("")
            .iter()
            .any(|e| !e.contains('/') && e.ends_with(".gyp"))
    {
        scripts.insert("install", Json::String("node-gyp rebuild".into()));
        data.insert("scripts", Json::Object(scripts));
        data.insert("gypfile", Json::Bool(true));
    }
    // serverjs
    if let Some(mut scripts) = scripts_object(data)
        && !scripts.truthy("start")
        && tree.exists("server.js")
    {
        scripts.insert("start", Json::String("node server.js".into()));
        data.insert("scripts", Json::Object(scripts));
    }
    // authors
    if !data.truthy("contributors")
        && let Some(authors) = &files.authors
    {
        let contributors = authors
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            // `line.replace(/^\s*#.*$/, '')`: `.` stops at a line terminator left in the line.
            .map(|line| {
                let comment = js_trim(line).starts_with('#')
                    && !line.contains(['\r', '\u{2028}', '\u{2029}']);
                if comment { "" } else { js_trim(line) }
            })
            .filter(|line| !line.is_empty())
            .map(|line| Json::String(line.to_owned()))
            .collect();
        data.insert("contributors", Json::Array(contributors));
    }
    // readme
    if !data.truthy("readme") {
        if let Some((filename, content)) = &files.readme {
            data.insert("readme", Json::String(content.clone()));
            data.insert("readmeFilename", Json::String(filename.clone()));
        }
        if !data.truthy("readme") {
            data.insert("readme", Json::String(NO_README.into()));
        }
    }
    // mans
    let man_dir = data
        .get_object("directories")
        .and_then(|d| d.get_str("man"))
        .filter(|d| !d.is_empty());
    if let Some(man_dir) = man_dir.map(secure_and_unixify_path)
        && !data.truthy("man")
    {
        let mans = tree
            .entries_below(&man_dir)
            .into_iter()
            .filter(|rel| {
                is_man_page(posix_basename(rel, None))
                    && files.files.contains(&posix_join(&[&man_dir, rel]))
            })
            .map(|rel| Json::String(posix_join(&[&man_dir, &rel])))
            .collect();
        data.insert("man", Json::Array(mans));
    }
    normalize_man(data);
    // binDir, else bin
    let bin_dir = data
        .get_object("directories")
        .and_then(|d| d.get_str("bin"))
        .filter(|d| !d.is_empty());
    match bin_dir.map(secure_and_unixify_path) {
        Some(bin_path) if !data.truthy("bin") => {
            let mut bins = Object::new();
            for rel in tree.entries_below(&bin_path) {
                let target = format!("{bin_path}/{}", secure_and_unixify_path(&rel));
                bins.insert(posix_basename(&rel, None), Json::String(target));
            }
            data.insert("bin", Json::Object(bins));
        }
        _ => normalize_bin(data),
    }
    // fillTypes
    let main = match data.get("main") {
        Some(main) if main.truthy() => main
            .as_str()
            .ok_or(ManifestError::MainNotString)?
            .to_owned(),
        _ => "index.js".to_owned(),
    };
    let extless = posix_join(&[
        &posix_dirname(&main),
        posix_basename(&main, Some(posix_extname(&main))),
    ]);
    let dts = format!("./{extless}.d.ts");
    if !data.contains_key("types") && !data.contains_key("typings") && tree.exists(&dts) {
        data.insert("types", Json::String(dts));
    }
    Ok(())
}

/// What npm puts in `readme` when there is none.
pub(crate) const NO_README: &str = "ERROR: No README data found!";

/// `**/*.[0-9]`'s last segment: not a dotfile, ends in `.` and a digit.
fn is_man_page(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 3
        && !name.starts_with('.')
        && bytes[bytes.len() - 2] == b'.'
        && bytes[bytes.len() - 1].is_ascii_digit()
}

/// `normalizePackageMan`.
fn normalize_man(data: &mut Object) {
    let Some(man) = data.get("man").filter(|m| m.truthy()).cloned() else {
        data.remove("man");
        return;
    };
    let entries = match man {
        Json::Array(items) => items,
        other => vec![other],
    };
    let mans: Vec<Json> = entries
        .iter()
        .filter_map(Json::as_str)
        .map(|m| Json::String(secure_and_unixify_path(m)))
        .collect();
    if mans.is_empty() {
        data.remove("man");
    } else {
        data.insert("man", Json::Array(mans));
    }
}

/// `normalizePackageBin`: a string or array becomes an object; names are reduced to their base
/// name and targets made relative to the package root; invalid entries are dropped.
fn normalize_bin(data: &mut Object) {
    let mut bin = match data.get("bin") {
        Some(Json::String(target)) => {
            let name = data.get("name").map(Json::to_js_string).unwrap_or_default();
            Object::from_iter([(name, Json::String(target.clone()))])
        }
        Some(Json::Array(items)) => items
            .iter()
            .map(|item| {
                (
                    posix_basename(&item.to_js_string(), None).to_owned(),
                    item.clone(),
                )
            })
            .collect(),
        Some(Json::Object(bin)) => bin.clone(),
        _ => {
            data.remove("bin");
            return;
        }
    };
    for key in bin.keys() {
        let Some(value) = bin.get(&key).cloned() else {
            continue;
        };
        let Json::String(target) = value else {
            bin.remove(&key);
            continue;
        };
        let base = posix_basename(&secure_and_unixify_path(&key), None).to_owned();
        let target = secure_and_unixify_path(&target);
        if base.is_empty() || target.is_empty() {
            bin.remove(&key);
            continue;
        }
        if base != key {
            bin.remove(&key);
        }
        bin.insert(base, Json::String(target));
    }
    if bin.is_empty() {
        data.remove("bin");
    } else {
        data.insert("bin", Json::Object(bin));
    }
}

/// `isValidScopedPackageName || isCorrectlyEncodedName` and the other `Invalid name` rules.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let scoped = name.strip_prefix('@').is_some_and(|rest| {
        let parts: Vec<&str> = rest.split('/').collect();
        parts.len() == 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && is_uri_component_safe(p))
    });
    let encoded = !name.contains(['/', '@', '+', '%', ':'])
        && !name.contains(is_js_space)
        && is_uri_component_safe(name);
    let lower = name.to_lowercase();
    !name.starts_with('.')
        && (scoped || encoded)
        && lower != "node_modules"
        && lower != "favicon.ico"
}

fn sync_steps(data: &mut Object) -> Result<(), ManifestError> {
    let id_part = |v: Option<&Json>| match v {
        None | Some(Json::Null) => String::new(),
        Some(v) => v.to_js_string(),
    };
    let package_id = format!(
        "{}@{}",
        id_part(data.get("name")),
        id_part(data.get("version"))
    );
    // Name: missing, not a string, or invalid.
    match data.get("name") {
        Some(name) if name.truthy() => {
            let Json::String(name) = name else {
                return Err(ManifestError::NameNotString);
            };
            let trimmed = js_trim(name).to_owned();
            if !is_valid_name(&trimmed) {
                return Err(ManifestError::InvalidName(
                    Json::String(trimmed).to_json_string(),
                ));
            }
            data.insert("name", Json::String(trimmed));
        }
        _ => return Err(ManifestError::MissingName),
    }
    // Version: loose semver, cleaned.
    match data.get("version") {
        Some(version) if version.truthy() => {
            let cleaned = version.as_str().and_then(clean_loose);
            let cleaned =
                cleaned.ok_or_else(|| ManifestError::InvalidVersion(version.to_js_string()))?;
            data.insert("version", Json::String(cleaned));
        }
        _ => return Err(ManifestError::MissingVersion),
    }
    // _attributes, then _id.
    data.retain(|key, _| !key.starts_with('_'));
    data.insert("_id", Json::String(package_id));
    // bundledDependencies → bundleDependencies; `false`, `null` and junk removed.
    if !data.contains_key("bundleDependencies")
        && let Some(bundled) = data.get("bundledDependencies").cloned()
    {
        data.insert("bundleDependencies", bundled);
    }
    data.remove("bundledDependencies");
    match data.get("bundleDependencies").cloned() {
        Some(Json::Bool(true)) => {
            let names = data
                .get_object("dependencies")
                .map(Object::keys)
                .unwrap_or_default();
            data.insert(
                "bundleDependencies",
                Json::Array(names.into_iter().map(Json::String).collect()),
            );
        }
        Some(Json::Object(bundle)) => {
            data.insert(
                "bundleDependencies",
                Json::Array(bundle.keys().into_iter().map(Json::String).collect()),
            );
        }
        Some(Json::Array(_)) | None => {}
        Some(_) => {
            data.remove("bundleDependencies");
        }
    }
    scriptpath(data);
    fix_repository(data);
    fix_dependencies(data);
    normalize_data(data);
    Ok(())
}

/// `scriptpath`: drop non-string scripts and a leading `node_modules/.bin/`.
fn scriptpath(data: &mut Object) {
    match data.get_mut("scripts") {
        None | Some(Json::Null | Json::Array(_)) => {}
        Some(Json::Object(scripts)) => {
            for key in scripts.keys() {
                match scripts.get(&key) {
                    Some(Json::String(script)) => {
                        let fixed = strip_bin_prefix(script).to_owned();
                        scripts.insert(key, Json::String(fixed));
                    }
                    _ => {
                        scripts.remove(&key);
                    }
                }
            }
        }
        Some(_) => {
            data.remove("scripts");
        }
    }
}

/// Removes `/^(\.[/\\])?node_modules[/\\].bin[\\/]/` (the `.` matches any character).
fn strip_bin_prefix(script: &str) -> &str {
    let rest = script
        .strip_prefix("./")
        .or_else(|| script.strip_prefix(".\\"))
        .unwrap_or(script);
    let stripped = rest
        .strip_prefix("node_modules")
        .and_then(|r| r.strip_prefix(['/', '\\']))
        .and_then(|r| {
            let mut chars = r.chars();
            let any = chars
                .next()
                .filter(|c| !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'))?;
            r[any.len_utf8()..]
                .strip_prefix("bin")?
                .strip_prefix(['/', '\\'])
        });
    stripped.unwrap_or(script)
}

/// `fixRepositoryField`.
fn fix_repository(data: &mut Object) {
    if let Some(first) = match data.get("repositories") {
        Some(Json::Array(items)) => Some(items.first().cloned()),
        Some(value) if value.truthy() => Some(None),
        _ => None,
    } {
        // `data.repositories[0]`: undefined removes the key from the serialised JSON.
        match first {
            Some(first) => data.insert("repository", first),
            None => {
                data.remove("repository");
            }
        }
    }
    if let Some(Json::String(url)) = data.get("repository").filter(|r| r.truthy()).cloned() {
        let repository = Object::from_iter([
            ("type".to_owned(), Json::String("git".into())),
            ("url".to_owned(), Json::String(url)),
        ]);
        data.insert("repository", Json::Object(repository));
    }
    if let Some(Json::Object(repository)) = data.get_mut("repository")
        && let Some(Json::String(url)) = repository.get("url").filter(|u| u.truthy())
        && let Some(hosted) = HostedGit::from_url(url)
    {
        let normalized = if hosted.is_shortcut() {
            hosted.https()
        } else {
            hosted.to_default_string()
        };
        repository.insert("url", Json::String(normalized));
        // `data.repository = data.repositories[0]` shares the object, so npm's rewrite of the
        // URL shows in `repositories[0]` too.
        let repository = Json::Object(repository.clone());
        if let Some(Json::Array(repositories)) = data.get_mut("repositories")
            && let Some(first @ Json::Object(_)) = repositories.first_mut()
        {
            *first = repository;
        }
    }
}

/// `fixDependencies`: string and array dependency lists become objects, non-string specs are
/// dropped, and hosted git specs are rewritten (`owner/repo` → `github:owner/repo`).
fn fix_dependencies(data: &mut Object) {
    for kind in ["dependencies", "devDependencies", "optionalDependencies"] {
        let list = match data.get(kind) {
            Some(Json::String(list)) if !list.is_empty() => split_list(js_trim(list)),
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => continue,
        };
        let deps = list
            .iter()
            .map(|dep| split_dependency(js_trim(dep)))
            .collect();
        data.insert(kind, Json::Object(deps));
    }
    for kind in ["dependencies", "devDependencies"] {
        match data.get_mut(kind) {
            None => {}
            Some(Json::Object(deps)) => {
                for name in deps.keys() {
                    match deps.get(&name) {
                        Some(Json::String(spec)) => {
                            if let Some(hosted) = HostedGit::from_url(spec) {
                                deps.insert(name, Json::String(hosted.to_default_string()));
                            }
                        }
                        _ => {
                            deps.remove(&name);
                        }
                    }
                }
            }
            Some(_) => {
                data.remove(kind);
            }
        }
    }
}

/// `list.split(/[\n\r\s\t ,]+/)`: runs of spaces and commas separate, empty ends are kept.
fn split_list(list: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut in_separator = false;
    for c in list.chars() {
        if is_js_space(c) || c == ',' {
            if !in_separator {
                pieces.push(String::new());
            }
            in_separator = true;
        } else {
            in_separator = false;
            if let Some(last) = pieces.last_mut() {
                last.push(c);
            }
        }
    }
    pieces
}

/// `"name@1.0.0"` → `("name", "1.0.0")`, splitting at the first `[@\s><=]` (optionally after `:`).
fn split_dependency(dep: &str) -> (String, Json) {
    let split = dep
        .char_indices()
        .find(|&(_, c)| c == '@' || c == '>' || c == '<' || c == '=' || is_js_space(c));
    let Some((at, _)) = split else {
        return (dep.to_owned(), Json::String(String::new()));
    };
    let at = if at > 0 && dep[..at].ends_with(':') {
        at - 1
    } else {
        at
    };
    let version = &dep[at..];
    let version = version.strip_prefix('@').unwrap_or(version);
    (
        dep[..at].to_owned(),
        Json::String(js_trim(version).to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_node_modules_bin_like_npm() {
        assert_eq!(strip_bin_prefix("./node_modules/.bin/tsc -p ."), "tsc -p .");
        assert_eq!(strip_bin_prefix("node_modules\\xbin/jest"), "jest");
        assert_eq!(strip_bin_prefix("node_modules/bin/x"), "node_modules/bin/x");
    }

    #[test]
    fn splits_dependency_strings_like_npm() {
        assert_eq!(
            split_dependency("a@1.0.0"),
            ("a".into(), Json::String("1.0.0".into()))
        );
        assert_eq!(
            split_dependency("b>=2"),
            ("b".into(), Json::String(">=2".into()))
        );
        assert_eq!(
            split_dependency("c"),
            ("c".into(), Json::String(String::new()))
        );
        assert_eq!(
            split_dependency("a:@1"),
            ("a".into(), Json::String(":@1".into()))
        );
        assert_eq!(split_list("a b,,c,"), ["a", "b", "c", ""]);
    }

    #[test]
    fn validates_names_like_npm() {
        for ok in ["a", "@s/p", "Upper", "a.b-c_d~e!f'g(h)i*j"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            ".hidden",
            "a/b",
            "@s/p/q",
            "@/p",
            "a b",
            "é",
            "node_modules",
            "FAVICON.ICO",
            "a:b",
            "a%20",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
