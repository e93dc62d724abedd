//! `PUT /api/v2/package` (`nuget push` / `dotnet nuget push`): the `X-NuGet-ApiKey` header, then the package from
//! the first file of a `multipart/form-data` body (or the raw body), read as a zip whose root `.nuspec` names the
//! `<id>` and `<version>`.

use std::io::Read as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{NugetPushRecord, NugetState, set_reason};
use crate::records::now_unix;
use crate::tp_jwt::{header_text, sha256_hex};

const MAX_NUSPEC: u64 = 1024 * 1024;

const API_KEY_REQUIRED: &str =
    "An API key must be provided in the 'X-NuGet-ApiKey' header to use this service";
const API_KEY_NOT_AUTHORIZED: &str = "The specified API key is invalid, has expired, or does not have permission to access the specified package.";

fn answer(status: StatusCode, message: &str) -> Response {
    let mut response = (status, message.to_owned()).into_response();
    set_reason(&mut response, message);
    response
}

pub(crate) async fn push(
    State(state): State<Arc<NugetState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = header_text(&headers, "x-nuget-apikey").unwrap_or("").trim();
    let mut record = NugetPushRecord {
        at: now_unix(),
        id: None,
        version: None,
        key_sha256: (!key.is_empty()).then(|| sha256_hex(key.as_bytes())),
        status: 201,
        error: None,
    };
    let outcome = store(&state, key, &headers, &body, &mut record);
    let response = match outcome {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err((status, message)) => {
            record.status = status.as_u16();
            record.error = Some(message.clone());
            answer(status, &message)
        }
    };
    state
        .recorder
        .record(|records| records.nuget_pushed.push(record));
    response
}

fn store(
    state: &NugetState,
    key: &str,
    headers: &HeaderMap,
    body: &[u8],
    record: &mut NugetPushRecord,
) -> Result<(), (StatusCode, String)> {
    if key.is_empty() {
        return Err((StatusCode::UNAUTHORIZED, API_KEY_REQUIRED.to_owned()));
    }
    let forbidden = || (StatusCode::FORBIDDEN, API_KEY_NOT_AUTHORIZED.to_owned());
    let now = now_unix();
    let owner = state
        .registry()
        .keys
        .get(&sha256_hex(key.as_bytes()))
        .filter(|live| live.expires > now)
        .map(|live| live.package_owner.clone())
        .ok_or_else(forbidden)?;
    let content_type = header_text(headers, header::CONTENT_TYPE.as_str()).unwrap_or("");
    let package = match multipart_boundary(content_type) {
        Some(boundary) => first_part(body, &boundary).ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                "The multipart body holds no package.".to_owned(),
            )
        })?,
        None => body,
    };
    let (id, version) = read_nuspec(package).map_err(|why| {
        (
            StatusCode::BAD_REQUEST,
            format!("The uploaded package is invalid: {why}"),
        )
    })?;
    record.id = Some(id.clone());
    record.version = Some(version.clone());
    let mut registry = state.registry();
    let entry = registry
        .packages
        .entry(id.to_lowercase())
        .or_insert_with(|| super::StoredPackage {
            owner: owner.clone(),
            id: id.clone(),
            versions: Default::default(),
        });
    if !entry.owner.eq_ignore_ascii_case(&owner) {
        return Err(forbidden());
    }
    if entry
        .versions
        .keys()
        .any(|existing| existing.eq_ignore_ascii_case(&version))
    {
        return Err((
            StatusCode::CONFLICT,
            format!(
                "A package with ID '{id}' and version '{version}' already exists and cannot be modified."
            ),
        ));
    }
    entry.versions.insert(version, Arc::new(package.to_vec()));
    Ok(())
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    let (media, params) = content_type.split_once(';')?;
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The content of the first part of a multipart body.
fn first_part<'b>(body: &'b [u8], boundary: &str) -> Option<&'b [u8]> {
    let delimiter = format!("--{boundary}");
    let start = memchr::memmem::find(body, delimiter.as_bytes())? + delimiter.len();
    let rest = body.get(start..)?;
    let headers_end = memchr::memmem::find(rest, b"\r\n\r\n")? + 4;
    let content = rest.get(headers_end..)?;
    let end = memchr::memmem::find(content, format!("\r\n{delimiter}").as_bytes())?;
    content.get(..end)
}

/// The text of the first `<tag>…</tag>` in `xml` (ignoring namespace prefixes and attributes).
fn element(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(found) = xml.get(from..)?.find(&open) {
        let at = from + found + open.len();
        let next = xml.get(at..)?.chars().next()?;
        if next == '>' || next.is_whitespace() {
            let content_start = at + xml.get(at..)?.find('>')? + 1;
            let content_end = content_start + xml.get(content_start..)?.find('<')?;
            return Some(xml.get(content_start..content_end)?.trim().to_owned());
        }
        from = at;
    }
    None
}

/// The `<id>` and `<version>` of the root `.nuspec` of a `.nupkg`.
fn read_nuspec(package: &[u8]) -> Result<(String, String), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(package))
        .map_err(|e| format!("not a zip archive ({e})"))?;
    let name = archive
        .file_names()
        .filter_map(Result::ok)
        .map(|name| name.into_owned())
        .find(|name| !name.contains('/') && name.to_lowercase().ends_with(".nuspec"))
        .ok_or("no .nuspec at the root of the package")?;
    let mut nuspec = String::new();
    archive
        .by_name(&name)
        .map_err(|e| format!("{name}: {e}"))?
        .take(MAX_NUSPEC)
        .read_to_string(&mut nuspec)
        .map_err(|e| format!("{name}: {e}"))?;
    let id = element(&nuspec, "id")
        .filter(|id| !id.is_empty())
        .ok_or("the .nuspec has no <id>")?;
    let version = element(&nuspec, "version")
        .filter(|version| !version.is_empty())
        .ok_or("the .nuspec has no <version>")?;
    Ok((id, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nuspec_elements() {
        let xml = r#"<?xml version="1.0"?><package xmlns="x"><metadata><id>Tiny.Pkg</id><version>1.0.0</version><idx>no</idx></metadata></package>"#;
        assert_eq!(element(xml, "id").as_deref(), Some("Tiny.Pkg"));
        assert_eq!(element(xml, "version").as_deref(), Some("1.0.0"));
        assert_eq!(element(xml, "title"), None);
    }

    #[test]
    fn multipart_first_part() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p.nupkg\"\r\nContent-Type: application/octet-stream\r\n\r\nPK\x03\x04data\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(first_part(body, "XyZ"), Some(&b"PK\x03\x04data"[..]));
    }
}
