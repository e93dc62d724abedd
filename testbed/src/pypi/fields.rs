//! The upload form's fields, checked like Warehouse's metadata parser and `UploadForm`: the core metadata
//! (`metadata_version`, `name`, `version`, …), the control fields (`filetype`, `pyversion`, digests), and the
//! PEP 740 `attestations` field.

use serde_json::Value;

use super::dist::Filetype;
use super::errors::UploadError;
use super::multipart::Form;
use super::names::{self, Version};
use super::pyrepr::repr_str;

const METADATA_HELP: &str =
    "See https://packaging.python.org/specifications/core-metadata for more information.";
const METADATA_VERSIONS: [&str; 8] = ["1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"];

fn metadata_error(message: String) -> UploadError {
    UploadError::bad_request(format!("{message} {METADATA_HELP}"))
}

/// The validated metadata the checks need.
pub(crate) struct Metadata {
    pub(crate) name: String,
    pub(crate) version: Version,
}

pub(crate) fn parse_metadata(form: &Form) -> Result<Metadata, UploadError> {
    let required = |field: &str| metadata_error(format!("{} is a required field", repr_str(field)));
    let metadata_version = form
        .get("metadata_version")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| required("metadata_version"))?;
    if !METADATA_VERSIONS.contains(&metadata_version) {
        return Err(metadata_error(format!(
            "{} is not a valid metadata version",
            repr_str(metadata_version)
        )));
    }
    let name = form
        .get("name")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| required("name"))?;
    if !names::is_valid_name(name) {
        return Err(metadata_error(format!(
            "{} is invalid for 'name'",
            repr_str(name)
        )));
    }
    let version_text = form
        .get("version")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| required("version"))?;
    let version = Version::parse(version_text).ok_or_else(|| {
        metadata_error(format!(
            "{} is invalid for 'version'",
            repr_str(version_text)
        ))
    })?;
    if version.is_local() {
        return Err(metadata_error(format!(
            "The use of local versions in {} is not allowed.",
            repr_str(version_text)
        )));
    }
    if form
        .get("summary")
        .is_some_and(|summary| summary.chars().count() > 512)
    {
        return Err(metadata_error(
            "'summary' field must be 512 characters or less.".to_owned(),
        ));
    }
    if form.get("license").is_some_and(|v| !v.is_empty())
        && form
            .get("license_expression")
            .is_some_and(|v| !v.is_empty())
    {
        return Err(metadata_error(
            "'license' is mutually exclusive with 'license-expression'".to_owned(),
        ));
    }
    Ok(Metadata {
        name: name.to_owned(),
        version,
    })
}

/// The `Invalid value for {field}. Error: {msg}` form errors, and the form-level ones.
pub(crate) fn check_form_fields(
    form: &Form,
    filetype: Option<Filetype>,
) -> Result<Filetype, UploadError> {
    let filetype = filetype.ok_or_else(|| {
        UploadError::bad_request("Invalid value for filetype. Error: Use a known file type.")
    })?;
    for (field, length, algorithm) in [
        ("md5_digest", 32, "MD5"),
        ("sha256_digest", 64, "SHA256"),
        ("blake2_256_digest", 64, "BLAKE2"),
    ] {
        if let Some(value) = form.get(field).filter(|v| !v.is_empty())
            && (value.len() != length || !value.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(UploadError::bad_request(format!(
                "Invalid value for {field}. Error: Use a valid, hex-encoded, {algorithm} message digest."
            )));
        }
    }
    let pyversion = form.get("pyversion").unwrap_or_default();
    match filetype {
        Filetype::Wheel if pyversion.is_empty() => {
            return Err(UploadError::bad_request(
                "Python version is required for binary distribution uploads.",
            ));
        }
        Filetype::Sdist if !pyversion.is_empty() && pyversion != "source" => {
            return Err(UploadError::bad_request(
                "Use 'source' as Python version for an sdist.",
            ));
        }
        _ => {}
    }
    if ["md5_digest", "sha256_digest", "blake2_256_digest"]
        .iter()
        .all(|field| form.get(field).is_none_or(str::is_empty))
    {
        return Err(UploadError::bad_request(
            "Include at least one message digest.",
        ));
    }
    Ok(filetype)
}

/// The `attestations` field: a JSON array of one or two PEP 740 attestation objects (stored; verification of the
/// Sigstore material is not done here).
pub(crate) fn parse_attestations(field: Option<&str>) -> Result<Option<Value>, UploadError> {
    let Some(text) = field else { return Ok(None) };
    let invalid = |why: String| {
        UploadError::bad_request(format!(
            "Invalid attestations supplied during upload: {why}"
        ))
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|error| invalid(format!("Malformed attestations: {error}")))?;
    let Value::Array(items) = &value else {
        return Err(invalid(
            "Malformed attestations: expected a JSON array of attestation objects".to_owned(),
        ));
    };
    if items.is_empty() {
        return Err(invalid(
            "an empty attestation set is not permitted".to_owned(),
        ));
    }
    if items.len() > 2 {
        return Err(invalid(
            "A maximum of 2 attestations per file are supported".to_owned(),
        ));
    }
    for (index, item) in items.iter().enumerate() {
        let has = |key: &str| item.get(key).is_some_and(Value::is_object);
        if item.get("version").and_then(Value::as_u64) != Some(1)
            || !has("verification_material")
            || !has("envelope")
        {
            return Err(invalid(format!(
                "Malformed attestations: attestation {index} must be an object with version 1, verification_material and envelope"
            )));
        }
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> Form {
        Form {
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            files: Vec::new(),
        }
    }

    fn metadata_message(fields: &[(&str, &str)]) -> String {
        parse_metadata(&form(fields))
            .err()
            .map(|e| e.message)
            .unwrap_or_else(|| "ok".to_owned())
    }

    #[test]
    fn metadata_messages() {
        let base = [
            ("metadata_version", "2.4"),
            ("name", "sample"),
            ("version", "1.0"),
        ];
        assert_eq!(metadata_message(&base), "ok");
        insta::assert_snapshot!(metadata_message(&[("metadata_version", "2.0"), ("name", "sample"), ("version", "1.0")]), @"'2.0' is not a valid metadata version See https://packaging.python.org/specifications/core-metadata for more information.");
        insta::assert_snapshot!(metadata_message(&[("metadata_version", "2.5"), ("version", "1.0")]), @"'name' is a required field See https://packaging.python.org/specifications/core-metadata for more information.");
        insta::assert_snapshot!(metadata_message(&[("metadata_version", "2.1"), ("name", "-x-"), ("version", "1.0")]), @"'-x-' is invalid for 'name' See https://packaging.python.org/specifications/core-metadata for more information.");
        insta::assert_snapshot!(metadata_message(&[("metadata_version", "1.0"), ("name", "x"), ("version", "one")]), @"'one' is invalid for 'version' See https://packaging.python.org/specifications/core-metadata for more information.");
        insta::assert_snapshot!(metadata_message(&[("metadata_version", "1.2"), ("name", "x"), ("version", "1.0+local")]), @"The use of local versions in '1.0+local' is not allowed. See https://packaging.python.org/specifications/core-metadata for more information.");
    }

    #[test]
    fn form_field_messages() {
        let message = |fields: &[(&str, &str)]| {
            let form = form(fields);
            check_form_fields(&form, form.get("filetype").and_then(Filetype::parse))
                .err()
                .map(|e| e.message)
                .unwrap_or_else(|| "ok".to_owned())
        };
        assert_eq!(
            message(&[("filetype", "sdist"), ("sha256_digest", &"a".repeat(64))]),
            "ok"
        );
        insta::assert_snapshot!(message(&[("filetype", "bdist_egg")]), @"Invalid value for filetype. Error: Use a known file type.");
        insta::assert_snapshot!(message(&[("filetype", "bdist_wheel"), ("sha256_digest", &"a".repeat(64))]), @"Python version is required for binary distribution uploads.");
        insta::assert_snapshot!(message(&[("filetype", "sdist"), ("pyversion", "py3")]), @"Use 'source' as Python version for an sdist.");
        insta::assert_snapshot!(message(&[("filetype", "sdist")]), @"Include at least one message digest.");
        insta::assert_snapshot!(message(&[("filetype", "sdist"), ("sha256_digest", "xyz")]), @"Invalid value for sha256_digest. Error: Use a valid, hex-encoded, SHA256 message digest.");
    }

    #[test]
    fn attestation_messages() {
        let message = |text: &str| {
            parse_attestations(Some(text))
                .err()
                .map(|e| e.message)
                .unwrap_or_else(|| "ok".to_owned())
        };
        let one = r#"{"version":1,"verification_material":{"certificate":"","transparency_entries":[]},"envelope":{"statement":"","signature":""}}"#;
        assert_eq!(message(&format!("[{one}]")), "ok");
        insta::assert_snapshot!(message("[]"), @"Invalid attestations supplied during upload: an empty attestation set is not permitted");
        insta::assert_snapshot!(message(&format!("[{one},{one},{one}]")), @"Invalid attestations supplied during upload: A maximum of 2 attestations per file are supported");
        insta::assert_snapshot!(message("{}"), @"Invalid attestations supplied during upload: Malformed attestations: expected a JSON array of attestation objects");
        insta::assert_snapshot!(message("[1]"), @"Invalid attestations supplied during upload: Malformed attestations: attestation 0 must be an object with version 1, verification_material and envelope");
    }
}
