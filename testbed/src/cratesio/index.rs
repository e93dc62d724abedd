//! The registry side that `cargo` talks to: the sparse index (`/index/config.json` and one file per crate at the
//! standard paths `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd`), `.crate` downloads, and `PUT /api/v1/crates/new`.
//!
//! A publish body is cargo's: u32 LE JSON length, the JSON metadata, u32 LE `.crate` length, the `.crate`. It is
//! checked in crates.io's order — metadata framing and JSON, crate name and semver, the `Authorization` token
//! (only trusted-publishing tokens exist here: `Trusted Publishing tokens do not support creating new crates…`,
//! `Invalid authentication token` for unknown, expired or revoked ones, ``The provided access token is not valid
//! for crate `x` ``), the tarball framing and contents (`<name>-<version>/Cargo.toml`), required metadata
//! (description, license), and duplicates — and answered 200 `{"crate":{…},"warnings":{…}}`.

use std::io::Read as _;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::exchange::{PREFIX, auth_header, error, parse, require_user_agent};
use super::{CratePublishRecord, CratesIoState, canonical};
use crate::records::now_unix;
use crate::tp_jwt::sha256_hex;

const MAX_JSON_LENGTH: u32 = 1024 * 1024;
const MAX_TARBALL_ENTRIES: usize = 10_000;
const MAX_MANIFEST: u64 = 1024 * 1024;

/// `GET /index/config.json`.
pub(crate) async fn config(State(state): State<Arc<CratesIoState>>) -> Response {
    let base = state.base_url();
    Json(json!({
        "dl": format!("{base}api/v1/crates"),
        "api": base.trim_end_matches('/'),
        "auth-required": false,
    }))
    .into_response()
}

/// The sparse-index path of a crate name (lowercased): `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd`.
pub(crate) fn index_path(name: &str) -> String {
    let name = name.to_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// `GET /index/<path>`: the crate's index file, one JSON line per version, or 404.
pub(crate) async fn index_file(
    State(state): State<Arc<CratesIoState>>,
    Path(path): Path<String>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "Not Found").into_response();
    let Some(name) = path.rsplit('/').next() else {
        return not_found();
    };
    if !name.is_ascii() || name.is_empty() || index_path(name) != path {
        return not_found();
    }
    let registry = state.registry();
    let Some(krate) = registry.crates.get(&canonical(name)) else {
        return not_found();
    };
    // The index is keyed by the exact (lowercased) name; `foo_bar` and `foo-bar` are different files.
    if krate.name.to_lowercase() != name || krate.order.is_empty() {
        return not_found();
    }
    let mut body = String::new();
    for version in &krate.order {
        if let Some((line, _)) = krate.versions.get(version) {
            body.push_str(&line.to_string());
            body.push('\n');
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// `GET /api/v1/crates/<name>/<version>/download`: the `.crate`.
pub(crate) async fn download(
    State(state): State<Arc<CratesIoState>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    let registry = state.registry();
    let file = registry
        .crates
        .get(&canonical(&name))
        .and_then(|krate| krate.versions.get(&version))
        .map(|(_, file)| Arc::clone(file));
    match file {
        Some(file) => (
            [(header::CONTENT_TYPE, "application/gzip")],
            file.as_ref().clone(),
        )
            .into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// A refusal: status and crates.io's `detail`.
type Refusal = (StatusCode, String);

fn bad_request(detail: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, detail.into())
}

fn forbidden(detail: impl Into<String>) -> Refusal {
    (StatusCode::FORBIDDEN, detail.into())
}

/// Reads a u32 LE length and that many bytes from `body` at `*at`.
fn frame<'b>(
    body: &'b [u8],
    at: &mut usize,
    max: u32,
    what: &str,
    too_large: impl FnOnce() -> Refusal,
) -> Result<&'b [u8], Refusal> {
    let length_bytes: [u8; 4] = body
        .get(*at..at.saturating_add(4))
        .and_then(|slice| slice.try_into().ok())
        .ok_or_else(|| bad_request(format!("invalid {what} length")))?;
    let length = u32::from_le_bytes(length_bytes);
    if length > max {
        return Err(too_large());
    }
    let start = at.saturating_add(4);
    let end = start.saturating_add(usize::try_from(length).unwrap_or(usize::MAX));
    let bytes = body.get(start..end).ok_or_else(|| {
        bad_request(format!(
            "invalid {what} length for remaining payload: {length}"
        ))
    })?;
    *at = end;
    Ok(bytes)
}

/// `PUT /api/v1/crates/new`.
pub(crate) async fn publish(
    State(state): State<Arc<CratesIoState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = require_user_agent(&headers) {
        return refusal;
    }
    let mut record = CratePublishRecord {
        at: now_unix(),
        name: None,
        version: None,
        cksum: None,
        token_sha256: auth_header(&headers)
            .ok()
            .flatten()
            .map(|token| sha256_hex(token.as_bytes())),
        status: 200,
        error: None,
    };
    let response = match accept(&state, &headers, &body, &mut record) {
        Ok(body) => Json(body).into_response(),
        Err((status, detail)) => {
            record.status = status.as_u16();
            record.error = Some(detail.clone());
            error(status, &detail)
        }
    };
    state
        .recorder
        .record(|records| records.crates_published.push(record));
    response
}

fn valid_crate_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("crate name cannot be empty".to_owned()),
        Some(first) if !first.is_ascii_alphabetic() => {
            return Err(format!(
                "invalid character `{first}` in crate name: `{name}`, the first character must be an ASCII character"
            ));
        }
        Some(_) => {}
    }
    if name.len() > 64 {
        return Err("the name is too long (max 64 characters)".to_owned());
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(format!(
            "invalid character `{bad}` in crate name: `{name}`, characters must be an ASCII alphanumeric characters, `-`, or `_`"
        ));
    }
    Ok(())
}

fn accept(
    state: &CratesIoState,
    headers: &HeaderMap,
    body: &[u8],
    record: &mut CratePublishRecord,
) -> Result<Value, Refusal> {
    let mut at = 0;
    let json_bytes = frame(body, &mut at, MAX_JSON_LENGTH, "metadata", || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "JSON metadata blob too large".to_owned(),
        )
    })?;
    let metadata: Map<String, Value> = serde_json::from_slice(json_bytes)
        .map_err(|e| bad_request(format!("invalid upload request: {e}")))?;
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("invalid upload request: missing field `name`"))?
        .to_owned();
    let vers = metadata
        .get("vers")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("invalid upload request: missing field `vers`"))?
        .to_owned();
    record.name = Some(name.clone());
    valid_crate_name(&name).map_err(bad_request)?;
    let version = semver::Version::parse(&vers)
        .map_err(|_| bad_request(format!("\"{vers}\" is an invalid semver version")))?
        .to_string();
    record.version = Some(version.clone());

    // Authentication: only trusted-publishing tokens exist on the testbed.
    let token = auth_header(headers).map_err(|detail| (StatusCode::UNAUTHORIZED, detail))?;
    let key = canonical(&name);
    let now = now_unix();
    {
        let registry = state.registry();
        let existing = registry.crates.get(&key);
        match token {
            Some(token) if token.starts_with(PREFIX) => {
                let hashed = parse(&token).ok_or_else(|| {
                    (
                        StatusCode::UNAUTHORIZED,
                        "Invalid `Authorization` header: Failed to parse token".to_owned(),
                    )
                })?;
                let Some(existing) = existing else {
                    return Err(forbidden(
                        "Trusted Publishing tokens do not support creating new crates. Publish the crate manually, first",
                    ));
                };
                let live = registry
                    .tokens
                    .get(&hashed)
                    .filter(|live| live.expires > now)
                    .ok_or_else(|| forbidden("Invalid authentication token"))?;
                if !live.crates.contains(&key) {
                    return Err(forbidden(format!(
                        "The provided access token is not valid for crate `{}`",
                        existing.name
                    )));
                }
            }
            Some(_) => return Err(forbidden("authentication failed")),
            None => return Err(forbidden("this action requires authentication")),
        }
    }

    let max_upload = state.config.max_upload_size;
    let tarball = frame(body, &mut at, max_upload, "tarball", || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("max upload size is: {max_upload}"),
        )
    })?;
    check_tarball(tarball, &format!("{name}-{version}"))?;

    let empty = |field: &str| {
        metadata
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    };
    let mut missing = Vec::new();
    if empty("description") {
        missing.push("description");
    }
    if empty("license") && empty("license_file") {
        missing.push("license");
    }
    if !missing.is_empty() {
        return Err(bad_request(format!(
            "missing or empty metadata fields: {}. Please see https://doc.rust-lang.org/cargo/reference/manifest.html for more information on configuring these fields",
            missing.join(", ")
        )));
    }

    let cksum = sha256_hex(tarball);
    record.cksum = Some(cksum.clone());
    let line = index_line(&metadata, &name, &version, &cksum);
    let mut registry = state.registry();
    let krate = registry
        .crates
        .get_mut(&key)
        .ok_or_else(|| forbidden("Invalid authentication token"))?;
    if krate.versions.contains_key(&version) {
        return Err(bad_request(format!(
            "crate version `{version}` is already uploaded"
        )));
    }
    krate
        .versions
        .insert(version.clone(), (line, Arc::new(tarball.to_vec())));
    krate.order.push(version.clone());
    Ok(json!({
        "crate": {
            "id": krate.name,
            "name": krate.name,
            "newest_version": version,
            "max_version": version,
            "description": metadata.get("description"),
        },
        "warnings": {"invalid_categories": [], "invalid_badges": [], "other": []},
    }))
}

/// Checks the `.crate`: a gzipped tar whose entries all live under `<name>-<version>/`, with a `Cargo.toml`.
fn check_tarball(tarball: &[u8], prefix: &str) -> Result<(), Refusal> {
    let malformed = |why: String| bad_request(format!("uploaded tarball is malformed: {why}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    let entries = archive
        .entries()
        .map_err(|e| malformed(format!("not a gzipped tar archive ({e})")))?;
    let mut has_manifest = false;
    for (count, entry) in entries.enumerate() {
        if count >= MAX_TARBALL_ENTRIES {
            return Err(malformed("too many entries".to_owned()));
        }
        let mut entry = entry.map_err(|e| malformed(format!("unreadable entry ({e})")))?;
        let path = entry
            .path()
            .map_err(|e| malformed(format!("unreadable path ({e})")))?
            .to_string_lossy()
            .into_owned();
        if !path.starts_with(&format!("{prefix}/")) {
            return Err(bad_request(format!("invalid path found: {path}")));
        }
        if path == format!("{prefix}/Cargo.toml") {
            let mut manifest = String::new();
            (&mut entry)
                .take(MAX_MANIFEST)
                .read_to_string(&mut manifest)
                .map_err(|e| malformed(format!("unreadable Cargo.toml ({e})")))?;
            has_manifest = manifest.contains("[package]");
        }
    }
    if !has_manifest {
        return Err(bad_request("missing or invalid Cargo.toml"));
    }
    Ok(())
}

/// The index line crates.io writes for a publish (`crates_io_index::Crate`).
fn index_line(metadata: &Map<String, Value>, name: &str, version: &str, cksum: &str) -> Value {
    let deps: Vec<Value> = metadata
        .get("deps")
        .and_then(Value::as_array)
        .map(|deps| {
            deps.iter()
                .filter_map(Value::as_object)
                .map(|dep| {
                    let text = |key: &str| dep.get(key).cloned().unwrap_or(Value::Null);
                    let mut line = Map::new();
                    let package = dep.get("name").cloned().unwrap_or(Value::Null);
                    match dep.get("explicit_name_in_toml").and_then(Value::as_str) {
                        Some(explicit) => {
                            line.insert("name".to_owned(), json!(explicit));
                            line.insert("package".to_owned(), package);
                        }
                        None => {
                            line.insert("name".to_owned(), package);
                        }
                    }
                    line.insert("req".to_owned(), text("version_req"));
                    line.insert(
                        "features".to_owned(),
                        dep.get("features").cloned().unwrap_or_else(|| json!([])),
                    );
                    line.insert(
                        "optional".to_owned(),
                        dep.get("optional").cloned().unwrap_or(json!(false)),
                    );
                    line.insert(
                        "default_features".to_owned(),
                        dep.get("default_features").cloned().unwrap_or(json!(true)),
                    );
                    line.insert("target".to_owned(), text("target"));
                    line.insert(
                        "kind".to_owned(),
                        dep.get("kind").cloned().unwrap_or(json!("normal")),
                    );
                    if let Some(registry) = dep.get("registry").filter(|r| !r.is_null()) {
                        line.insert("registry".to_owned(), registry.clone());
                    }
                    Value::Object(line)
                })
                .collect()
        })
        .unwrap_or_default();
    let features = metadata
        .get("features")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // Features using `dep:` or `?/` syntax go to `features2` with `"v": 2`, as crates.io does.
    let (new_style, old_style): (Map<String, Value>, Map<String, Value>) =
        features.into_iter().partition(|(_, values)| {
            values.as_array().is_some_and(|values| {
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|value| value.starts_with("dep:") || value.contains("?/"))
            })
        });
    let mut line = json!({
        "name": name,
        "vers": version,
        "deps": deps,
        "cksum": cksum,
        "features": old_style,
        "yanked": false,
        "links": metadata.get("links").cloned().unwrap_or(Value::Null),
    });
    if let Some(map) = line.as_object_mut() {
        if !new_style.is_empty() {
            map.insert("features2".to_owned(), Value::Object(new_style));
            map.insert("v".to_owned(), json!(2));
        }
        if let Some(rust_version) = metadata.get("rust_version").filter(|v| v.is_string()) {
            map.insert("rust_version".to_owned(), rust_version.clone());
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Serde_Json"), "se/rd/serde_json");
    }

    #[test]
    fn renamed_dependencies_keep_the_package() {
        let metadata = json!({"deps": [{
            "name": "real", "version_req": "^1", "features": [], "optional": false, "default_features": true,
            "target": null, "kind": "normal", "registry": null, "explicit_name_in_toml": "alias"
        }], "features": {"x": ["dep:real"], "y": []}});
        let line = index_line(metadata.as_object().unwrap(), "c", "1.0.0", "00");
        assert_eq!(line["deps"][0]["name"], "alias");
        assert_eq!(line["deps"][0]["package"], "real");
        assert_eq!(line["deps"][0]["req"], "^1");
        assert_eq!(line["features2"]["x"][0], "dep:real");
        assert_eq!(line["features"]["y"], json!([]));
        assert_eq!(line["v"], 2);
    }
}
