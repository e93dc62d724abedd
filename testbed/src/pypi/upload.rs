//! The legacy upload API, `POST /legacy/`, in Warehouse's order: identity, form and metadata, project and
//! permission, file name, size, digests, duplicates, one sdist per release, archive, PEP 625 / wheel name,
//! attestations (shape, then Sigstore verification for the minting publisher); then (optionally) forwarding, then
//! storing.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::attestations::verify_attestations;
use super::dist::{self, Filetype};
use super::errors::UploadError;
use super::fields::{check_form_fields, parse_attestations, parse_metadata};
use super::multipart::{self, FilePart, Form};
use super::names;
use super::pyrepr::repr_str;
use super::{PypiFile, PypiPublisher, PypiState, forward, md5};
use crate::records::{UploadRecord, now_unix};

/// `POST /legacy` → 308 to `/legacy/` (twine refuses to follow it).
pub(crate) async fn redirect_to_slash() -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, "/legacy/")],
    )
        .into_response()
}

/// `POST /legacy/`.
pub(crate) async fn upload(
    State(state): State<Arc<PypiState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !state.config.upload_latency.is_zero() {
        tokio::time::sleep(state.config.upload_latency).await;
    }
    let incoming = state.files_dir.join("incoming");
    let workdir =
        match fs_err::create_dir_all(&incoming).and_then(|()| tempfile::tempdir_in(&incoming)) {
            Ok(dir) => dir,
            Err(error) => {
                return UploadError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("The testbed could not store the upload: {error}"),
                )
                .render(&headers);
            }
        };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let form = match multipart::boundary(content_type) {
        Some(boundary) => multipart::read_form(body, &boundary, workdir.path()).await,
        None => Err(multipart::FormError::NotMultipart),
    };

    let mut record = UploadRecord {
        at: now_unix(),
        project: String::new(),
        version: String::new(),
        filename: String::new(),
        sha256: String::new(),
        size: 0,
        had_attestations: false,
        status: 200,
        error: None,
    };
    if let Ok(form) = &form {
        record.project = form.get("name").unwrap_or_default().to_owned();
        record.version = form.get("version").unwrap_or_default().to_owned();
        record.had_attestations = form.get("attestations").is_some();
        if let Some(content) = form.file("content") {
            record.filename.clone_from(&content.filename);
            record.sha256.clone_from(&content.sha256);
            record.size = content.size;
        }
    }

    let outcome = match form {
        Ok(form) => handle(&state, &headers, &form).await,
        Err(error) => {
            // Without a usable form, identity still comes first.
            authenticate(&state, &headers).and(Err(UploadError::bad_request(format!(
                "Invalid upload request: {error}."
            ))))
        }
    };
    let response = match outcome {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "",
        )
            .into_response(),
        Err(error) => {
            record.status = error.status.as_u16();
            record.error = Some(error.message.clone());
            error.render(&headers)
        }
    };
    state
        .recorder
        .record(|records| records.uploads.push(record));
    drop(workdir);
    response
}

/// The projects a presented token may upload to, and until when.
struct TokenScope {
    projects: BTreeSet<String>,
    expires: i64,
    publisher: PypiPublisher,
}

fn authenticate(state: &PypiState, headers: &HeaderMap) -> Result<TokenScope, UploadError> {
    let invalid = || {
        UploadError::forbidden(format!(
            "Invalid or non-existent authentication information. See {} for more information.",
            state.help_url("invalid-auth")
        ))
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(invalid)?;
    let (scheme, credential) = value.trim().split_once(' ').ok_or_else(invalid)?;
    let token = if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(credential.trim()).map_err(|_| invalid())?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (user, password) = decoded.split_once(':').ok_or_else(invalid)?;
        if user != "__token__" {
            return Err(UploadError::forbidden(format!(
                "Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted Publishers instead. See {} and {}",
                state.help_url("apitoken"),
                state.help_url("trusted-publishers")
            )));
        }
        password.to_owned()
    } else if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        credential.trim().to_owned()
    } else {
        return Err(invalid());
    };
    let registry = state.registry();
    let minted = registry.tokens.get(&token).ok_or_else(invalid)?;
    Ok(TokenScope {
        projects: minted.projects.clone(),
        expires: minted.expires,
        publisher: minted.publisher.clone(),
    })
}
async fn handle(state: &PypiState, headers: &HeaderMap, form: &Form) -> Result<(), UploadError> {
    let scope = authenticate(state, headers)?;

    match form.get(":action") {
        Some("file_upload") => {}
        Some("submit" | "submit_pkg_info") => {
            return Err(UploadError::new(
                StatusCode::GONE,
                "Project pre-registration is no longer required or supported, upload your files instead.",
            ));
        }
        Some("doc_upload") => {
            return Err(UploadError::new(
                StatusCode::GONE,
                "Uploading documentation is no longer supported, we recommend using https://readthedocs.org/.",
            ));
        }
        other => {
            return Err(UploadError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "Unknown :action {}; use :action=file_upload.",
                    repr_str(other.unwrap_or_default())
                ),
            ));
        }
    }
    if form.get("protocol_version").unwrap_or("1") != "1" {
        return Err(UploadError::bad_request("Unknown protocol version."));
    }
    if let Some(file) = form
        .files
        .iter()
        .find(|file| file.name != "content" && file.name != "gpg_signature")
    {
        return Err(UploadError::bad_request(format!(
            "{}: Should not be a tuple.",
            file.name
        )));
    }

    let metadata = parse_metadata(form)?;
    let filetype = check_form_fields(form, form.get("filetype").and_then(Filetype::parse))?;
    let content = form
        .file("content")
        .ok_or_else(|| UploadError::bad_request("Upload payload does not have a file."))?;
    // A part without Content-Type gets cgi's default (`text/plain`); uv sends none. Only images are refused.
    let content_type = content.content_type.as_deref().unwrap_or("text/plain");
    if content_type.trim().is_empty() || content_type.starts_with("image/") {
        return Err(UploadError::bad_request("Invalid distribution file."));
    }

    // Project and permission.
    let project_key = names::normalize(&metadata.name);
    let project_name = {
        let registry = state.registry();
        match registry.projects.get(&project_key) {
            Some(project) => project.name.clone(),
            None => {
                return Err(UploadError::bad_request(
                    "Non-user identities cannot create new projects. This was probably caused by successfully using a pending publisher but specifying the project name incorrectly (either in PyPI or in the upload metadata). Make sure the project name is set correctly in both places.",
                ));
            }
        }
    };
    if scope.expires <= now_unix() {
        return Err(UploadError::forbidden(
            "Invalid API Token: token is expired",
        ));
    }
    if !scope.projects.contains(&project_key) {
        return Err(UploadError::forbidden(format!(
            "The given token isn't allowed to upload to project '{project_name}'. See {} for more information.",
            state.help_url("project-name")
        )));
    }

    let filename = content.filename.as_str();
    dist::check_characters(filename)?;
    dist::check_extension(filename, filetype)?;
    if content.size > state.config.max_file_size {
        return Err(UploadError::bad_request(format!(
            "File too large. Limit for project '{project_name}' is {} MB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information.",
            state.config.max_file_size / (1024 * 1024)
        )));
    }
    check_digests(form, content).await?;

    // Duplicates: same name or same content anywhere on the index.
    let version = metadata.version.to_string();
    {
        let registry = state.registry();
        let existing = registry
            .projects
            .values()
            .flat_map(|project| &project.files)
            .find(|file| file.filename == filename || file.blake2_256 == content.blake2_256);
        if let Some(existing) = existing {
            if existing.filename == filename
                && existing.sha256 == content.sha256
                && existing.blake2_256 == content.blake2_256
            {
                return Ok(());
            }
            return Err(UploadError::bad_request(format!(
                "File already exists ('{filename}', with blake2_256 hash '{}'). See {} for more information.",
                content.blake2_256,
                state.help_url("file-name-reuse")
            )));
        }
        let release_has_sdist = registry.projects.get(&project_key).is_some_and(|project| {
            project
                .files
                .iter()
                .any(|file| file.version == version && file.filetype == Filetype::Sdist.as_str())
        });
        if filetype == Filetype::Sdist && release_has_sdist {
            return Err(UploadError::bad_request(
                "Only one sdist may be uploaded per release.",
            ));
        }
    }

    let path = content.path.clone();
    let owned_filename = filename.to_owned();
    let archive =
        tokio::task::spawn_blocking(move || dist::check_archive(&path, &owned_filename, filetype))
            .await
            .unwrap_or_else(|error| Err(format!("the archive check crashed: {error}")));
    if let Err(message) = archive {
        return Err(UploadError::bad_request(format!(
            "Invalid distribution file. {message}"
        )));
    }
    match filetype {
        Filetype::Sdist => dist::check_sdist_name(filename, &metadata.name, &metadata.version)?,
        Filetype::Wheel => {
            dist::check_wheel_name(filename, &metadata.name, &metadata.version)?;
        }
    }
    let attestations = parse_attestations(form.get("attestations"))?;
    if let Some(attestations) = &attestations {
        verify_attestations(
            attestations,
            &state.trust,
            &scope.publisher,
            filename,
            &content.sha256,
        )?;
    }

    if let Some(target) = &state.config.forward_to {
        forward::forward(state, target, form, content).await?;
    }

    // Store.
    let project_dir = state.files_dir.join(&project_key);
    let stored = project_dir.join(filename);
    fs_err::create_dir_all(&project_dir)
        .and_then(|()| fs_err::rename(&content.path, &stored))
        .map_err(|error| {
            UploadError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("The testbed could not store {filename}: {error}"),
            )
        })?;
    let file = PypiFile {
        project: project_name,
        version,
        filename: filename.to_owned(),
        filetype: filetype.as_str().to_owned(),
        size: content.size,
        sha256: content.sha256.clone(),
        blake2_256: content.blake2_256.clone(),
        requires_python: form
            .get("requires_python")
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        attestations,
        path: stored,
        uploaded_at: now_unix(),
    };
    let mut registry = state.registry();
    if let Some(project) = registry.projects.get_mut(&project_key) {
        project.files.push(file);
    }
    Ok(())
}

async fn check_digests(form: &Form, content: &FilePart) -> Result<(), UploadError> {
    let mismatch = || {
        UploadError::bad_request(
            "The digest supplied does not match a digest calculated from the uploaded file.",
        )
    };
    let supplied = |field: &str| {
        form.get(field)
            .filter(|v| !v.is_empty())
            .map(str::to_ascii_lowercase)
    };
    if supplied("sha256_digest").is_some_and(|digest| digest != content.sha256) {
        return Err(mismatch());
    }
    if supplied("blake2_256_digest").is_some_and(|digest| digest != content.blake2_256) {
        return Err(mismatch());
    }
    if let Some(digest) = supplied("md5_digest") {
        let path = content.path.clone();
        let computed = tokio::task::spawn_blocking(move || md5::md5_file_hex(&path))
            .await
            .map_err(|error| {
                UploadError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("hashing crashed: {error}"),
                )
            })?
            .map_err(|error| {
                UploadError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("hashing failed: {error}"),
                )
            })?;
        if digest != computed {
            return Err(mismatch());
        }
    }
    Ok(())
}
