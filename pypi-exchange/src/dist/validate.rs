//! Checking distributions against PyPI's upload rules before anything is uploaded.
//!
//! [`validate`] reports every problem in every file at once, so one run shows all there is to
//! fix. Errors are what PyPI would reject (the messages quote PyPI's own where it has one);
//! warnings are what may fail or look wrong; notes are worth knowing.

use std::collections::BTreeMap;

use super::filename::{
    filename_name_part, platform_tag_advice, pypi_accepts_platform_tag, sdist_filename,
};
use super::metadata::{CoreMetadata, MetadataVersion};
use super::problem::{Problem, Severity};
use super::read::{ArchiveIssue, DistKind, Distribution};
use super::version::{Version, is_valid_project_name, normalize_name};

/// PyPI's default per-file size limit (100 MiB); projects can ask for more.
pub const PYPI_DEFAULT_FILE_SIZE_LIMIT: u64 = 100 * 1024 * 1024;
const SUMMARY_LIMIT: usize = 512;
const PROJECT_URL_LABEL_LIMIT: usize = 32;
const SIZE_LIMIT_HELP: &str =
    "https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase";

/// What [`validate`] checks beyond PyPI's hard rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Check the description the way `twine check` would, as far as trustpub can (the
    /// `verify-metadata` input of gh-action-pypi-publish, on by default).
    pub verify_metadata: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self {
            verify_metadata: true,
        }
    }
}

/// Checks `dists` (one upload) and returns every problem found, file by file in the order
/// given, then the problems that concern several files.
pub fn validate(dists: &[Distribution], options: &ValidateOptions) -> Vec<Problem> {
    let mut problems = Vec::new();
    // (normalized name, canonical version) → files of that release.
    let mut releases: BTreeMap<(String, String), Vec<&Distribution>> = BTreeMap::new();
    for dist in dists {
        if let Some((name, version)) = check_file(dist, options, &mut problems) {
            releases
                .entry((normalize_name(name), version.canonical()))
                .or_default()
                .push(dist);
        }
    }
    check_duplicate_filenames(dists, &mut problems);
    check_releases(&releases, &mut problems);
    problems
}

/// Checks one file; returns its name and version when both are usable.
fn check_file<'d>(
    dist: &'d Distribution,
    options: &ValidateOptions,
    problems: &mut Vec<Problem>,
) -> Option<(&'d str, Version)> {
    let file = dist.filename.as_str();
    let metadata = &dist.metadata;
    let mut error = |field, message: String| problems.push(Problem::error(file, field, message));

    let name = match metadata.name.as_deref() {
        None => {
            error(
                Some("Name"),
                "the metadata has no Name, which PyPI requires; set `name` under [project] in \
                 pyproject.toml and build again"
                    .to_owned(),
            );
            None
        }
        Some(name) if !is_valid_project_name(name) => {
            error(
                Some("Name"),
                format!(
                    "{name:?} is not a valid project name: PyPI allows ASCII letters, digits, \
                     '.', '_' and '-', starting and ending with a letter or digit; fix `name` in \
                     pyproject.toml and build again"
                ),
            );
            None
        }
        Some(name) => Some(name),
    };
    let version = match metadata.version.as_deref() {
        None => {
            error(
                Some("Version"),
                "the metadata has no Version, which PyPI requires; set `version` in \
                 pyproject.toml (or configure the dynamic version) and build again"
                    .to_owned(),
            );
            None
        }
        Some(text) => match text.parse::<Version>() {
            Err(e) => {
                error(
                    Some("Version"),
                    format!("{e}; fix the version and build again"),
                );
                None
            }
            Ok(version) if version.is_local() => {
                error(
                    Some("Version"),
                    format!(
                        "{text:?} has a local version label; PyPI does not accept local \
                         versions, build without it (for setuptools-scm: \
                         local_scheme = \"no-local-version\")"
                    ),
                );
                None
            }
            Ok(version) => Some(version),
        },
    };

    check_metadata_fields(file, metadata, problems);
    check_description_content_type(file, metadata, problems);
    if options.verify_metadata {
        check_description(file, metadata, problems);
    }
    check_filename(dist, name, version.as_ref(), problems);
    check_archive(dist, problems);

    if dist.size > PYPI_DEFAULT_FILE_SIZE_LIMIT {
        problems.push(Problem::warning(
            file,
            Some("size"),
            format!(
                "the file is {:.1} MiB, over PyPI's default limit of 100 MiB per file; unless \
                 project '{}' already has a higher limit, PyPI will answer 'File too large': \
                 request a limit increase ({SIZE_LIMIT_HELP}) before publishing",
                dist.size as f64 / (1024.0 * 1024.0),
                name.unwrap_or("?"),
            ),
        ));
    }
    Some((name?, version?))
}

/// Fields newer than the declared `Metadata-Version`, `License` with `License-Expression`,
/// the summary and project URL limits.
fn check_metadata_fields(file: &str, m: &CoreMetadata, problems: &mut Vec<Problem>) {
    use MetadataVersion::{V1_1, V1_2, V2_1, V2_2, V2_4, V2_5};
    let declared = m.metadata_version;
    let present = [
        (
            "Supported-Platform",
            V1_1,
            !m.supported_platforms.is_empty(),
        ),
        ("Download-URL", V1_1, m.download_url.is_some()),
        ("Classifier", V1_1, !m.classifiers.is_empty()),
        ("Maintainer", V1_2, m.maintainer.is_some()),
        ("Maintainer-email", V1_2, m.maintainer_email.is_some()),
        ("Requires-Dist", V1_2, !m.requires_dist.is_empty()),
        ("Requires-Python", V1_2, m.requires_python.is_some()),
        ("Requires-External", V1_2, !m.requires_external.is_empty()),
        ("Project-URL", V1_2, !m.project_urls.is_empty()),
        ("Provides-Dist", V1_2, !m.provides_dist.is_empty()),
        ("Obsoletes-Dist", V1_2, !m.obsoletes_dist.is_empty()),
        (
            "Description-Content-Type",
            V2_1,
            m.description_content_type.is_some(),
        ),
        ("Provides-Extra", V2_1, !m.provides_extra.is_empty()),
        ("Dynamic", V2_2, !m.dynamic.is_empty()),
        ("License-Expression", V2_4, m.license_expression.is_some()),
        ("Import-Name", V2_5, !m.import_names.is_empty()),
        ("Import-Namespace", V2_5, !m.import_namespaces.is_empty()),
    ];
    for (field, introduced, is_present) in present {
        if is_present && introduced > declared {
            problems.push(Problem::error(
                file,
                Some(field),
                format!(
                    "{field} was introduced in Metadata-Version {introduced} but this file \
                     declares {declared}, which PyPI rejects; build again with a current build \
                     backend, which declares a matching version"
                ),
            ));
        }
    }
    if !m.license_files.is_empty() && declared < V2_4 {
        problems.push(Problem::new(
            Severity::Note,
            Some(file),
            Some("License-File"),
            format!(
                "License-File needs Metadata-Version 2.4 but this file declares {declared}, so \
                 it is not sent to PyPI (as twine does); build with a backend that writes \
                 Metadata 2.4 to have license files recorded"
            ),
        ));
    }
    if m.license.is_some() && m.license_expression.is_some() {
        problems.push(Problem::error(
            file,
            Some("License-Expression"),
            "License and License-Expression are mutually exclusive and PyPI rejects both; keep \
             the SPDX expression (`license = \"MIT\"` in pyproject.toml) and drop the License \
             text"
                .to_owned(),
        ));
    }
    if let Some(summary) = &m.summary {
        let chars = summary.chars().count();
        if chars > SUMMARY_LIMIT {
            problems.push(Problem::error(
                file,
                Some("Summary"),
                format!(
                    "the summary is {chars} characters long and PyPI allows at most \
                     {SUMMARY_LIMIT}; shorten `description` in pyproject.toml"
                ),
            ));
        }
    }
    for url in &m.project_urls {
        let chars = url.label.chars().count();
        let message = if url.label.is_empty() || url.url.is_empty() {
            format!(
                "{:?} needs both a label and a URL (`Label, https://...`); fix [project.urls] \
                 in pyproject.toml",
                format!("{}, {}", url.label, url.url)
            )
        } else if chars > PROJECT_URL_LABEL_LIMIT {
            format!(
                "the label {:?} is {chars} characters long and PyPI allows at most \
                 {PROJECT_URL_LABEL_LIMIT}; shorten that key under [project.urls]",
                url.label
            )
        } else {
            continue;
        };
        problems.push(Problem::error(file, Some("Project-URL"), message));
    }
}

/// A content type's lowercase `type/subtype` and its parameters (lowercase names).
fn parse_content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|param| param.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.trim().to_ascii_lowercase(), v.to_owned())
        })
        .collect();
    (essence, params)
}

fn check_description_content_type(file: &str, m: &CoreMetadata, problems: &mut Vec<Problem>) {
    let Some(value) = &m.description_content_type else {
        return;
    };
    let (essence, params) = parse_content_type(value);
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let message = if !matches!(
        essence.as_str(),
        "text/markdown" | "text/x-rst" | "text/plain"
    ) {
        format!(
            "{value:?} is not a type PyPI accepts: use text/markdown, text/x-rst or text/plain \
             (a `readme` ending in .md, .rst or .txt in pyproject.toml sets it)"
        )
    } else if let Some(charset) = param("charset").filter(|c| !c.eq_ignore_ascii_case("UTF-8")) {
        format!(
            "charset {charset:?} is not accepted: PyPI takes only UTF-8 descriptions, convert \
             the README to UTF-8 and declare charset=UTF-8"
        )
    } else if let Some(variant) = param("variant").filter(|v| {
        essence == "text/markdown"
            && !v.eq_ignore_ascii_case("GFM")
            && !v.eq_ignore_ascii_case("CommonMark")
    }) {
        format!(
            "Markdown variant {variant:?} is not accepted: use variant=GFM or variant=CommonMark"
        )
    } else {
        return;
    };
    problems.push(Problem::error(
        file,
        Some("Description-Content-Type"),
        message,
    ));
}

/// The `verify_metadata` checks: what `twine check` would say, except rendering
/// reStructuredText, which trustpub does not do and says so.
fn check_description(file: &str, m: &CoreMetadata, problems: &mut Vec<Problem>) {
    let description = m.description.as_deref().map(str::trim).unwrap_or_default();
    if description.is_empty() || description == "UNKNOWN" {
        problems.push(Problem::warning(
            file,
            Some("Description"),
            "the description is empty, so PyPI will show no project description; set `readme` \
             in pyproject.toml",
        ));
        return;
    }
    match m
        .description_content_type
        .as_deref()
        .map(parse_content_type)
    {
        None => problems.push(Problem::warning(
            file,
            Some("Description-Content-Type"),
            "not set, so PyPI renders the description as \
             reStructuredText and rejects the upload if that fails; trustpub does not check \
             reStructuredText rendering. If the description is Markdown, declare it (a `readme` \
             ending in .md in pyproject.toml does)",
        )),
        Some((essence, _)) if essence == "text/x-rst" => problems.push(Problem::new(
            Severity::Note,
            Some(file),
            Some("Description"),
            "the description is reStructuredText; trustpub does not check that it renders, and \
             PyPI rejects descriptions that fail to render: run `twine check` on the file if in \
             doubt",
        )),
        Some(_) => {}
    }
}

fn check_filename(
    dist: &Distribution,
    name: Option<&str>,
    version: Option<&Version>,
    problems: &mut Vec<Problem>,
) {
    let file = dist.filename.as_str();
    let mut error =
        |message: String| problems.push(Problem::error(file, Some("filename"), message));
    match &dist.kind {
        DistKind::Wheel(wheel) => {
            if let Some(name) = name {
                let expected = filename_name_part(name);
                if wheel.name != expected {
                    error(format!(
                        "Filename '{file}' should contain the normalized project name \
                         '{expected}', not '{}'; build the wheel again with a current build \
                         backend",
                        wheel.name
                    ));
                }
            }
            if let Some(version) = version
                && wheel.version != *version
            {
                error(format!(
                    "Version in filename should be '{version}' not '{}'; the metadata says \
                     {version}, build the wheel again so that its name and metadata agree",
                    wheel.version_text
                ));
            }
            for tag in &wheel.platform_tags {
                if !pypi_accepts_platform_tag(tag) {
                    error(format!(
                        "Binary wheel '{file}' has an unsupported platform tag '{tag}'; {}",
                        platform_tag_advice(tag)
                    ));
                }
            }
        }
        DistKind::Sdist => {
            if let (Some(name), Some(version)) = (name, version) {
                let expected = sdist_filename(name, version);
                if file != expected {
                    error(format!(
                        "Filename '{file}' is invalid, should be '{expected}' (PEP 625); build \
                         the sdist again with a current build backend"
                    ));
                }
            }
        }
    }
}

fn check_archive(dist: &Distribution, problems: &mut Vec<Problem>) {
    let file = dist.filename.as_str();
    let what = if dist.is_wheel() { "wheel" } else { "sdist" };
    for issue in &dist.archive_issues {
        let (field, message) = match issue {
            ArchiveIssue::DistInfoMismatch { expected, found } => (
                "archive",
                format!(
                    "PyPI reads '{expected}' (named after the filename) but the metadata is at \
                     '{found}'; build the wheel again so its .dist-info directory matches its \
                     filename"
                ),
            ),
            ArchiveIssue::MissingMember { member } => (
                "archive",
                format!(
                    "'{member}' is missing and PyPI rejects wheels without it; build the wheel \
                     again with a standard build backend"
                ),
            ),
            ArchiveIssue::MissingLicenseFile {
                license_file,
                expected_member,
            } => (
                "License-File",
                format!(
                    "'{license_file}' is not in the {what} at '{expected_member}', where PyPI \
                     requires it; make the build backend include the license file"
                ),
            ),
            ArchiveIssue::UnsupportedCompression { member, method } => (
                "archive",
                format!(
                    "'{member}' is compressed with {method}; PyPI accepts only stored and \
                     deflate members, build the {what} again with a standard tool"
                ),
            ),
            ArchiveIssue::DuplicateMembers => (
                "archive",
                format!(
                    "the zip archive has several members with the same name, which PyPI \
                     rejects; build the {what} again"
                ),
            ),
        };
        problems.push(Problem::error(file, Some(field), message));
    }
}

fn check_duplicate_filenames(dists: &[Distribution], problems: &mut Vec<Problem>) {
    let mut by_name: BTreeMap<&str, Vec<&Distribution>> = BTreeMap::new();
    for dist in dists {
        by_name.entry(&dist.filename).or_default().push(dist);
    }
    for (filename, same) in by_name.into_iter().filter(|(_, same)| same.len() > 1) {
        let paths: Vec<_> = same.iter().map(|d| d.path.display().to_string()).collect();
        problems.push(Problem::error(
            filename,
            Some("filename"),
            format!(
                "{} files have this name ({}); PyPI takes a file name once, keep only one",
                same.len(),
                paths.join(", ")
            ),
        ));
    }
}

fn check_releases(
    releases: &BTreeMap<(String, String), Vec<&Distribution>>,
    problems: &mut Vec<Problem>,
) {
    // How a release is called in messages: name and version as the first file writes them.
    let release_name = |files: &[&Distribution]| {
        let metadata = files.first().map(|d| &d.metadata);
        let name = metadata.and_then(|m| m.name.as_deref()).unwrap_or_default();
        let version = metadata
            .and_then(|m| m.version.as_deref())
            .unwrap_or_default();
        format!("{name} {version}")
    };
    let describe = |(_, files): (&(String, String), &Vec<&Distribution>)| {
        let plural = if files.len() == 1 { "" } else { "s" };
        format!("{} ({} file{plural})", release_name(files), files.len())
    };
    for files in releases.values() {
        let sdists: Vec<_> = files.iter().filter(|d| !d.is_wheel()).collect();
        if let Some((first, others)) = sdists.split_first() {
            for other in others {
                problems.push(Problem::error(
                    &other.filename,
                    Some("filename"),
                    format!(
                        "Only one sdist may be uploaded per release, and '{}' is already an \
                         sdist of {}; keep only one",
                        first.filename,
                        release_name(files),
                    ),
                ));
            }
        }
    }
    let mut projects: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for release in releases {
        projects
            .entry(release.0.0.as_str())
            .or_default()
            .push(release);
    }
    for versions in projects.values().filter(|v| v.len() > 1) {
        let listed: Vec<_> = versions.iter().map(|&r| describe(r)).collect();
        problems.push(Problem::new(
            Severity::Warning,
            None,
            None,
            format!(
                "this upload holds several versions of one project: {}; files left over from an \
                 earlier build are the usual cause, clean the dist directory before building if \
                 that is not intended",
                listed.join(", ")
            ),
        ));
    }
    if projects.len() > 1 {
        let listed: Vec<_> = releases.iter().map(describe).collect();
        problems.push(Problem::new(
            Severity::Note,
            None,
            None,
            format!(
                "this upload holds files of {} projects: {}; that is allowed, check that it is \
                 intended",
                projects.len(),
                listed.join(", ")
            ),
        ));
    }
}
