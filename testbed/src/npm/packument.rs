//! Read routes: packuments (`GET /<name>`), tarballs (`GET /<name>/-/<file>.tgz`), package visibility, the
//! attestations of a version, and the dispatch of `PUT /<name>` to publishing.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{NpmState, names, publish};
use crate::records::now_unix;

/// Unix seconds as an ISO 8601 / RFC 3339 timestamp.
pub(crate) fn iso(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Now, ISO 8601.
pub(crate) fn now_iso() -> String {
    iso(now_unix())
}

/// The registry's masked "not found" (also what unauthorised writes get).
pub(crate) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "Not found"}))).into_response()
}

/// `GET /-/ping`.
pub(crate) async fn ping() -> Response {
    Json(json!({})).into_response()
}

/// `GET /-/package/<escaped name>/visibility` → `{"public": bool}`; 404 for an unknown package.
pub(crate) async fn visibility(
    State(state): State<Arc<NpmState>>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let Some(raw) = uri
        .path()
        .strip_prefix("/-/package/")
        .and_then(|rest| rest.strip_suffix("/visibility"))
    else {
        return not_found();
    };
    let Some(name) = names::percent_decode(raw) else {
        return not_found();
    };
    match state.registry().packages.get(&name) {
        Some(package) => Json(json!({"public": package.public})).into_response(),
        None => not_found(),
    }
}

/// `GET /-/npm/v1/attestations/<name>@<version>`.
pub(crate) async fn attestations(
    State(state): State<Arc<NpmState>>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let raw = uri
        .path()
        .strip_prefix("/-/npm/v1/attestations/")
        .unwrap_or_default();
    let Some(spec) = names::percent_decode(raw) else {
        return not_found();
    };
    let Some((name, version)) = spec.rsplit_once('@').filter(|(name, _)| !name.is_empty()) else {
        return not_found();
    };
    let registry = state.registry();
    let bundle = registry
        .packages
        .get(name)
        .and_then(|p| p.versions.get(version))
        .and_then(|v| v.provenance.clone());
    match bundle {
        Some(bundle) => Json(json!({"attestations": [{"predicateType": "https://slsa.dev/provenance/v1", "bundle": bundle}]})).into_response(),
        None => not_found(),
    }
}

/// Everything under `/<name>`: `GET` packument or tarball, `PUT` publish.
pub(crate) async fn package_route(
    State(state): State<Arc<NpmState>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let raw = uri.path().trim_start_matches('/');
    let (raw_name, file) = match raw.split_once("/-/") {
        Some((name, file)) => (name, Some(file)),
        None => (raw, None),
    };
    let Some(name) = names::percent_decode(raw_name).filter(|name| names::is_valid(name)) else {
        return not_found();
    };
    match (method, file) {
        (Method::GET, None) => packument(&state, &name),
        (Method::GET, Some(file)) => tarball(&state, &name, file),
        (Method::PUT, None) => publish::publish(&state, &name, &headers, body).await,
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            Json(json!({"error": "method not allowed"})),
        )
            .into_response(),
    }
}

fn packument(state: &NpmState, name: &str) -> Response {
    let registry = state.registry();
    let Some(package) = registry
        .packages
        .get(name)
        .filter(|p| !p.versions.is_empty())
    else {
        return not_found();
    };
    let mut times = Map::new();
    times.insert("created".to_owned(), Value::String(package.created.clone()));
    let modified = package
        .versions
        .values()
        .map(|v| v.published_at.clone())
        .max()
        .unwrap_or_default();
    times.insert("modified".to_owned(), Value::String(modified));
    let mut versions = Map::new();
    for (version, stored) in &package.versions {
        times.insert(version.clone(), Value::String(stored.published_at.clone()));
        versions.insert(version.clone(), Value::Object(stored.manifest.clone()));
    }
    let body = json!({
        "_id": name,
        "name": name,
        "dist-tags": package.dist_tags,
        "versions": versions,
        "time": times,
    });
    Json(body).into_response()
}

fn tarball(state: &NpmState, name: &str, file: &str) -> Response {
    let registry = state.registry();
    let Some(package) = registry.packages.get(name) else {
        return not_found();
    };
    let unscoped = names::unscoped(name);
    let found = package
        .versions
        .iter()
        .find(|(version, _)| file == format!("{unscoped}-{version}.tgz"));
    match found {
        Some((_, stored)) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            Body::from(stored.tarball.as_ref().clone()),
        )
            .into_response(),
        None => not_found(),
    }
}
