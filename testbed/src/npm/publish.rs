//! `PUT /<escaped name>`: the libnpmpublish document, checked the way the registry does before anything is
//! stored: the bearer token and its package scope, `_id`/`name`, one version (valid semver, not already
//! published), the `<name>-<version>.tgz` attachment (base64, `length`, `dist.integrity` SHA-512, `dist.shasum`
//! SHA-1, a tarball whose `package/package.json` names the same package and version), and the optional
//! `<name>-<version>.sigstore` provenance attachment.
//!
//! Refusals are `{"error": "<message>"}`. Authentication failures other than a missing token are masked as 404
//! `Not found`, like npmjs; an expired token also gets an `npm-notice` header.

use std::io::Read as _;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::{Digest as _, Sha512};

use super::exchange::bearer;
use super::{NpmState, StoredVersion, forward, names, packument, provenance};
use crate::records::{NpmPublishRecord, now_unix};

/// A publish refusal.
struct Refusal {
    status: StatusCode,
    message: String,
    notice: Option<&'static str>,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
        notice: None,
    }
}

fn bad_request(message: impl Into<String>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, message)
}

/// Handles one publish.
pub(crate) async fn publish(
    state: &NpmState,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let mut record = NpmPublishRecord {
        at: now_unix(),
        package: name.to_owned(),
        version: None,
        sha512: None,
        had_provenance: false,
        access: None,
        status: 200,
        error: None,
    };
    let outcome = run(state, name, headers, body, &mut record).await;
    let response = match outcome {
        Ok(()) => (StatusCode::OK, Json(json!({"success": true}))).into_response(),
        Err(refusal) => {
            record.status = refusal.status.as_u16();
            record.error = Some(refusal.message.clone());
            let mut response =
                (refusal.status, Json(json!({"error": refusal.message}))).into_response();
            if let Some(notice) = refusal.notice {
                response
                    .headers_mut()
                    .insert("npm-notice", HeaderValue::from_static(notice));
            }
            response
        }
    };
    state
        .recorder
        .record(|records| records.npm_publishes.push(record));
    response
}

async fn run(
    state: &NpmState,
    name: &str,
    headers: &HeaderMap,
    body: Body,
    record: &mut NpmPublishRecord,
) -> Result<(), Refusal> {
    let bytes = axum::body::to_bytes(body, state.config.max_body_size)
        .await
        .map_err(|_| refuse(StatusCode::PAYLOAD_TOO_LARGE, "request entity too large"))?;

    let token = bearer(headers).ok_or_else(|| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "You must be logged in to publish packages.",
        )
    })?;
    let claims = {
        let registry = state.registry();
        let masked = || refuse(StatusCode::NOT_FOUND, "Not found");
        let granted = registry.tokens.get(&token).ok_or_else(masked)?;
        if granted.expires <= now_unix() {
            return Err(Refusal {
                notice: Some("Access token expired or revoked. Please try logging in again."),
                ..masked()
            });
        }
        if granted.package != name {
            return Err(masked());
        }
        granted.claims.clone()
    };

    let document: Value = serde_json::from_slice(&bytes)
        .map_err(|error| bad_request(format!("The publish document is not JSON: {error}")))?;
    let doc = document
        .as_object()
        .ok_or_else(|| bad_request("The publish document must be a JSON object"))?;
    record.access = doc.get("access").and_then(Value::as_str).map(str::to_owned);
    for field in ["_id", "name"] {
        let value = doc.get(field).and_then(Value::as_str).unwrap_or_default();
        if value != name {
            return Err(bad_request(format!(
                "The document's {field} \"{value}\" does not match the package in the URL \"{name}\""
            )));
        }
    }
    let versions = doc
        .get("versions")
        .and_then(Value::as_object)
        .ok_or_else(|| bad_request("The document has no versions object"))?;
    let (version, manifest) = match versions.iter().collect::<Vec<_>>().as_slice() {
        [(version, manifest)] => (
            (*version).clone(),
            manifest.as_object().cloned().unwrap_or_default(),
        ),
        [] => return Err(bad_request("The document publishes no version")),
        _ => return Err(bad_request("Only one version can be published at a time")),
    };
    record.version = Some(version.clone());
    if semver::Version::parse(&version).is_err() {
        return Err(bad_request(format!("Invalid version: \"{version}\"")));
    }
    if manifest.get("name").and_then(Value::as_str) != Some(name)
        || manifest.get("version").and_then(Value::as_str) != Some(&version)
    {
        return Err(bad_request(format!(
            "versions[\"{version}\"] must have name \"{name}\" and version \"{version}\""
        )));
    }
    let dist_tags = doc
        .get("dist-tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if dist_tags.values().any(|tagged| !tagged.is_string()) {
        return Err(bad_request("dist-tags must map tags to version strings"));
    }
    if state
        .registry()
        .packages
        .get(name)
        .is_some_and(|package| package.versions.contains_key(&version))
    {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            format!("You cannot publish over the previously published versions: {version}."),
        ));
    }

    let tarball_key = format!("{name}-{version}.tgz");
    let provenance_key = format!("{name}-{version}.sigstore");
    let attachments = doc
        .get("_attachments")
        .and_then(Value::as_object)
        .ok_or_else(|| bad_request("The document has no _attachments"))?;
    if let Some(unexpected) = attachments
        .keys()
        .find(|key| **key != tarball_key && **key != provenance_key)
    {
        return Err(bad_request(format!(
            "Unexpected attachment \"{unexpected}\": expected \"{tarball_key}\" (and optionally \"{provenance_key}\")"
        )));
    }
    let attachment = attachments
        .get(&tarball_key)
        .ok_or_else(|| bad_request(format!("Attachment \"{tarball_key}\" is missing")))?;
    let data = attachment
        .get("data")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request(format!("Attachment \"{tarball_key}\" has no data")))?;
    let tarball = STANDARD.decode(data).map_err(|error| {
        bad_request(format!(
            "Attachment \"{tarball_key}\" is not base64: {error}"
        ))
    })?;
    if let Some(length) = attachment.get("length").and_then(Value::as_u64)
        && length != tarball.len() as u64
    {
        return Err(bad_request(format!(
            "Attachment \"{tarball_key}\" is {} bytes, its length says {length}",
            tarball.len()
        )));
    }
    let sha512 = Sha512::digest(&tarball);
    let sha512_hex = hex::encode(sha512);
    record.sha512 = Some(sha512_hex.clone());
    check_digests(&manifest, &sha512, &tarball)?;
    check_tarball(&tarball, name, &version)?;

    let bundle = match attachments.get(&provenance_key) {
        Some(attachment) => {
            record.had_provenance = true;
            let text = attachment
                .get("data")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let bundle = provenance::check(
                text,
                name,
                &version,
                &sha512_hex,
                &manifest,
                Some(&claims),
                &state.trust,
            )
            .map_err(|message| {
                refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Error verifying sigstore provenance bundle: {message}"),
                )
            })?;
            Some(bundle)
        }
        None => None,
    };

    if let Some(target) = &state.config.forward_to {
        forward::forward(state, target, name, &document)
            .await
            .map_err(|(status, message)| refuse(status, message))?;
    }

    // Store, with the registry's own dist.
    let base = state.base_url();
    let mut stored = manifest;
    let mut dist = stored
        .get("dist")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    dist.insert(
        "tarball".to_owned(),
        json!(format!(
            "{base}{name}/-/{}-{version}.tgz",
            names::unscoped(name)
        )),
    );
    dist.insert(
        "integrity".to_owned(),
        json!(format!("sha512-{}", STANDARD.encode(sha512))),
    );
    dist.insert(
        "shasum".to_owned(),
        json!(hex::encode(Sha1::digest(&tarball))),
    );
    if bundle.is_some() {
        dist.insert(
            "attestations".to_owned(),
            json!({"url": format!("{base}-/npm/v1/attestations/{name}@{version}"), "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}}),
        );
    }
    stored.insert("dist".to_owned(), Value::Object(dist));
    let mut registry = state.registry();
    let Some(package) = registry.packages.get_mut(name) else {
        return Err(refuse(StatusCode::NOT_FOUND, "Not found"));
    };
    for (tag, tagged) in &dist_tags {
        if let Some(tagged) = tagged.as_str() {
            package.dist_tags.insert(tag.clone(), tagged.to_owned());
        }
    }
    package.versions.insert(
        version,
        StoredVersion {
            manifest: stored,
            tarball: std::sync::Arc::new(tarball),
            provenance: bundle,
            published_at: packument::now_iso(),
        },
    );
    Ok(())
}

fn check_digests(
    manifest: &Map<String, Value>,
    sha512: &[u8],
    tarball: &[u8],
) -> Result<(), Refusal> {
    let actual_integrity = format!("sha512-{}", STANDARD.encode(sha512));
    if let Some(integrity) = manifest
        .get("dist")
        .and_then(|dist| dist.get("integrity"))
        .and_then(Value::as_str)
    {
        let claimed = integrity
            .split_whitespace()
            .find(|hash| hash.starts_with("sha512-"));
        if claimed != Some(actual_integrity.as_str()) {
            return Err(bad_request(format!(
                "Integrity check failed: dist.integrity is \"{integrity}\", the tarball's is \"{actual_integrity}\""
            )));
        }
    }
    if let Some(shasum) = manifest
        .get("dist")
        .and_then(|dist| dist.get("shasum"))
        .and_then(Value::as_str)
    {
        let actual = hex::encode(Sha1::digest(tarball));
        if shasum != actual {
            return Err(bad_request(format!("shasum error, {actual} != {shasum}")));
        }
    }
    Ok(())
}

/// The tarball must be gzipped tar holding `package/package.json` for the same name and version.
fn check_tarball(tarball: &[u8], name: &str, version: &str) -> Result<(), Refusal> {
    let invalid = |why: String| bad_request(format!("Invalid tarball: {why}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    let entries = archive
        .entries()
        .map_err(|error| invalid(format!("not a gzipped tar archive ({error})")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|error| invalid(format!("not a gzipped tar archive ({error})")))?;
        let path = entry
            .path()
            .map_err(|error| invalid(error.to_string()))?
            .to_string_lossy()
            .into_owned();
        if path.trim_start_matches("./") != "package/package.json" {
            continue;
        }
        let mut text = String::new();
        entry
            .by_ref()
            .take(16 * 1024 * 1024)
            .read_to_string(&mut text)
            .map_err(|error| invalid(format!("package/package.json: {error}")))?;
        let package: Value = serde_json::from_str(&text)
            .map_err(|error| invalid(format!("package/package.json is not JSON: {error}")))?;
        let (found_name, found_version) = (
            package
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            package
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        if found_name != name || found_version != version {
            return Err(invalid(format!(
                "package/package.json is {found_name}@{found_version}, the document publishes {name}@{version}"
            )));
        }
        return Ok(());
    }
    Err(invalid("package/package.json is missing".to_owned()))
}
