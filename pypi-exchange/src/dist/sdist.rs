//! An sdist's metadata and digests, in one streaming pass.

use std::collections::{BTreeSet, HashSet};
use std::io::{self, Read};
use std::path::{Component, Path};

use flate2::read::MultiGzDecoder;
use oidc_core::bounded::{InflationGuard, InflationLimit, read_capped};

use super::error::DistError;
use super::metadata::{CoreMetadata, MetadataVersion};
use super::read::{ArchiveContents, ArchiveIssue, Digests, HashingReader, METADATA_LIMIT, drain};

/// How many top-level names a "several top-level members" error lists.
const LISTED_TOP_LEVEL: usize = 5;

/// Streams an sdist once: the raw bytes go through `hashing`, gunzip and tar look for the
/// single `<dir>/PKG-INFO`, and the stream is drained to its end so the digests are complete.
pub(crate) fn read_metadata_and_hash<R: Read>(
    path: &Path,
    hashing: HashingReader<R>,
    compressed_size: u64,
) -> Result<(ArchiveContents, Digests), DistError> {
    // Every inflated byte is counted: a gzip bomb stops at PyPI's own zip-bomb limit.
    let max_inflated = InflationLimit::PYPI.max_inflated(compressed_size);
    let (guarded, tripped) = InflationGuard::wrap(MultiGzDecoder::new(hashing), max_inflated);
    let corrupt = |error: io::Error| {
        if tripped.tripped() {
            return DistError::Inflation {
                path: path.to_path_buf(),
                what: "the gzip stream".to_owned(),
                limit: max_inflated,
            };
        }
        DistError::CorruptTarGz {
            path: path.to_path_buf(),
            cause: match error.kind() {
                io::ErrorKind::UnexpectedEof => format!("it ends too early: {error}"),
                _ => error.to_string(),
            },
        }
    };
    let mut archive = tar::Archive::new(guarded);
    let mut top_level = BTreeSet::new();
    let mut pkg_infos = Vec::new();
    let mut pkg_info = None;
    let mut files = HashSet::new();
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let entry_type = entry.header().entry_type();
        if entry_type.is_pax_global_extensions() || entry_type.is_pax_local_extensions() {
            continue;
        }
        let entry_path = entry.path().map_err(corrupt)?;
        let mut parts = Vec::new();
        for component in entry_path.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) | Component::ParentDir => {
                    return Err(DistError::CorruptTarGz {
                        path: path.to_path_buf(),
                        cause: format!(
                            "member {:?} points outside the archive directory",
                            entry_path.display().to_string()
                        ),
                    });
                }
            }
        }
        let Some(first) = parts.first() else {
            continue;
        };
        top_level.insert(first.clone());
        let member = parts.join("/");
        let is_file = entry_type.is_file() || entry_type.is_contiguous();
        if parts.len() == 2 && parts[1] == "PKG-INFO" {
            if pkg_info.is_none() {
                if !is_file {
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
                if entry.header().size().unwrap_or(0) > METADATA_LIMIT {
                    return Err(too_large());
                }
                let bytes = read_capped(&mut entry, METADATA_LIMIT)
                    .map_err(corrupt)?
                    .ok_or_else(too_large)?;
                pkg_info = Some((member.clone(), bytes));
            }
            pkg_infos.push(member.clone());
        }
        if is_file {
            files.insert(member);
        }
    }
    // Finish the gzip stream (this checks its CRC), then read anything after it, so the
    // digests cover the whole file.
    let mut decoder = archive.into_inner();
    drain(&mut decoder).map_err(corrupt)?;
    let mut hashing = decoder.into_inner().into_inner();
    drain(&mut hashing).map_err(corrupt)?;
    let digests = hashing.finish().map_err(corrupt)?;

    let (member, bytes) = match (pkg_info, pkg_infos.len()) {
        (Some(found), 1) => found,
        (None, _) => {
            return Err(DistError::NoPkgInfo {
                path: path.to_path_buf(),
            });
        }
        (Some(_), _) => {
            return Err(DistError::SeveralPkgInfo {
                path: path.to_path_buf(),
                found: pkg_infos,
            });
        }
    };
    if top_level.len() > 1 {
        return Err(DistError::SeveralTopLevel {
            path: path.to_path_buf(),
            count: top_level.len(),
            found: top_level.into_iter().take(LISTED_TOP_LEVEL).collect(),
        });
    }
    let metadata = CoreMetadata::parse(&bytes).map_err(|cause| DistError::Metadata {
        path: path.to_path_buf(),
        member: member.clone(),
        cause,
    })?;

    let mut issues = Vec::new();
    if metadata.metadata_version >= MetadataVersion::V2_4 {
        let top = member.trim_end_matches("/PKG-INFO");
        for license_file in &metadata.license_files {
            let expected_member = format!("{top}/{license_file}");
            if !files.contains(&expected_member) {
                issues.push(ArchiveIssue::MissingLicenseFile {
                    license_file: license_file.clone(),
                    expected_member,
                });
            }
        }
    }
    Ok((
        ArchiveContents {
            metadata,
            member,
            issues,
        },
        digests,
    ))
}
