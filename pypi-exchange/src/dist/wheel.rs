//! A wheel's metadata, read through the zip central directory.

use std::io::{Read, Seek};

use std::path::Path;

use oidc_core::bounded::{InflationLimit, read_capped};
use zip::{CompressionMethod, ZipArchive, result::ZipError};

use super::error::DistError;
use super::filename::WheelFilename;
use super::metadata::{CoreMetadata, MetadataVersion};
use super::read::{ArchiveContents, ArchiveIssue, METADATA_LIMIT};

/// Reads the metadata PyPI would read from a wheel, and notes layout problems.
///
/// PyPI reads `{name}-{version}.dist-info/METADATA` with both parts exactly as in the filename;
/// if that member is missing but exactly one other top-level `*.dist-info/METADATA` exists,
/// that one is read and the mismatch recorded as an [`ArchiveIssue`].
pub(crate) fn read_metadata<R: Read + Seek>(
    path: &Path,
    reader: R,
    compressed_size: u64,
    filename: &WheelFilename,
) -> Result<ArchiveContents, DistError> {
    let corrupt = |error: ZipError| DistError::CorruptZip {
        path: path.to_path_buf(),
        cause: error.to_string(),
    };
    let mut archive = ZipArchive::new(reader).map_err(corrupt)?;
    let expected = format!("{}/METADATA", filename.dist_info_dir());
    let mut issues = Vec::new();
    let mut candidates = Vec::new();
    let mut declared_total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index).map_err(corrupt)?;
        declared_total = declared_total.saturating_add(entry.size());
        let name = entry.name().map_err(corrupt)?;
        let compression = entry.compression();
        if !matches!(
            compression,
            CompressionMethod::Stored | CompressionMethod::Deflated
        ) {
            issues.push(ArchiveIssue::UnsupportedCompression {
                member: name.to_string(),
                method: compression.to_string(),
            });
        }
        if let Some((dir, "METADATA")) = name.split_once('/')
            && dir.len() > ".dist-info".len()
            && dir.ends_with(".dist-info")
        {
            candidates.push(name.into_owned());
        }
    }
    // PyPI's zip-bomb rule reads the declared sizes: a wheel over it is refused there, so it is
    // refused here before anything is inflated.
    let max_inflated = InflationLimit::PYPI.max_inflated(compressed_size);
    if declared_total > max_inflated {
        return Err(DistError::Inflation {
            path: path.to_path_buf(),
            what: "the wheel (by its declared member sizes)".to_owned(),
            limit: max_inflated,
        });
    }
    if archive.has_duplicate_names() {
        issues.push(ArchiveIssue::DuplicateMembers);
    }
    let member = if candidates.contains(&expected) {
        expected
    } else {
        match <[String; 1]>::try_from(candidates) {
            Ok([found]) => {
                issues.push(ArchiveIssue::DistInfoMismatch {
                    expected,
                    found: found.clone(),
                });
                found
            }
            Err(candidates) if candidates.is_empty() => {
                return Err(DistError::NoWheelMetadata {
                    path: path.to_path_buf(),
                    expected,
                });
            }
            Err(found) => {
                return Err(DistError::SeveralWheelMetadata {
                    path: path.to_path_buf(),
                    expected,
                    found,
                });
            }
        }
    };

    let bytes = {
        let entry = archive.by_name(&member).map_err(corrupt)?;
        if !entry.is_file() {
            return Err(DistError::MetadataNotAFile {
                path: path.to_path_buf(),
                member,
            });
        }
        let too_large = || DistError::MetadataTooLarge {
            path: path.to_path_buf(),
            member: member.clone(),
            limit: METADATA_LIMIT,
        };
        // The declared size is only a hint to fail early: the inflated bytes are counted.
        if entry.size() > METADATA_LIMIT {
            return Err(too_large());
        }
        read_capped(entry, METADATA_LIMIT)
            .map_err(|e| corrupt(ZipError::Io(e)))?
            .ok_or_else(too_large)?
    };
    let metadata = CoreMetadata::parse(&bytes).map_err(|cause| DistError::Metadata {
        path: path.to_path_buf(),
        member: member.clone(),
        cause,
    })?;

    let dist_info = member.trim_end_matches("/METADATA");
    for required in ["WHEEL", "RECORD"] {
        let required = format!("{dist_info}/{required}");
        if archive.index_for_name(&required).is_none() {
            issues.push(ArchiveIssue::MissingMember { member: required });
        }
    }
    // Before Metadata 2.4 License-File is not sent (twine drops it), so PyPI does not look.
    if metadata.metadata_version >= MetadataVersion::V2_4 {
        for license_file in &metadata.license_files {
            let expected_member = format!("{dist_info}/licenses/{license_file}");
            if archive.index_for_name(&expected_member).is_none() {
                issues.push(ArchiveIssue::MissingLicenseFile {
                    license_file: license_file.clone(),
                    expected_member,
                });
            }
        }
    }
    Ok(ArchiveContents {
        metadata,
        member,
        issues,
    })
}
