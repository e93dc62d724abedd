//! Core metadata (`METADATA` in wheels, `PKG-INFO` in sdists), parsed into [`CoreMetadata`].
//!
//! The format is RFC 822-style headers, one field per line, continuation lines starting with
//! whitespace, and an optional message body (after the first empty line) that holds the
//! description. Multi-line `Description:` and `License:` headers use the Metadata 1.x escape
//! where each continuation line starts with 7 or 8 spaces and a `|`.
//!
//! Parsing is strict where PyPI or twine would refuse the file (unsupported `Metadata-Version`,
//! a single-use field given twice, a description both as header and body, non-UTF-8 bytes) and
//! keeps everything else: unknown fields are preserved in [`CoreMetadata::other_fields`].
//! Checks that PyPI applies to field *values* (a valid name, a PEP 440 version, ...) live in
//! [`validate`](super::validate) so that every problem is reported at once.

use std::fmt;

use super::headers::split_headers;

/// A `Metadata-Version` that PyPI accepts.
///
/// `2.0` is deliberately absent: it was never a released specification and PyPI rejects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetadataVersion {
    /// Metadata 1.0 (PEP 241).
    V1_0,
    /// Metadata 1.1 (PEP 314).
    V1_1,
    /// Metadata 1.2 (PEP 345).
    V1_2,
    /// Metadata 2.1 (PEP 566).
    V2_1,
    /// Metadata 2.2 (PEP 643, `Dynamic`).
    V2_2,
    /// Metadata 2.3.
    V2_3,
    /// Metadata 2.4 (PEP 639, `License-Expression` and `License-File`).
    V2_4,
    /// Metadata 2.5 (PEP 794, `Import-Name` and `Import-Namespace`).
    V2_5,
}

impl MetadataVersion {
    /// Every accepted version, oldest first.
    pub const ALL: [Self; 8] = [
        Self::V1_0,
        Self::V1_1,
        Self::V1_2,
        Self::V2_1,
        Self::V2_2,
        Self::V2_3,
        Self::V2_4,
        Self::V2_5,
    ];

    /// The version as written in the `Metadata-Version` field and sent as `metadata_version`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0",
            Self::V1_1 => "1.1",
            Self::V1_2 => "1.2",
            Self::V2_1 => "2.1",
            Self::V2_2 => "2.2",
            Self::V2_3 => "2.3",
            Self::V2_4 => "2.4",
            Self::V2_5 => "2.5",
        }
    }

    fn parse(value: &str) -> Result<Self, MetadataError> {
        let value = value.trim();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == value)
            .ok_or_else(|| MetadataError::UnsupportedMetadataVersion {
                version: value.to_owned(),
            })
    }
}

impl fmt::Display for MetadataVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `Project-URL` entry (`Label, https://...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectUrl {
    /// The label before the comma (`Homepage`, `Source`, ...).
    pub label: String,
    /// The URL after the comma.
    pub url: String,
}

/// The parsed core metadata of one distribution.
///
/// Single-use fields are `Option` (absent or empty → `None`); multi-use fields are `Vec`s in
/// file order. `name` and `version` stay raw text: whether they are acceptable is reported by
/// [`validate`](super::validate), alongside every other problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreMetadata {
    /// `Metadata-Version`.
    pub metadata_version: MetadataVersion,
    /// `Name`, as written.
    pub name: Option<String>,
    /// `Version`, as written.
    pub version: Option<String>,
    /// `Summary`.
    pub summary: Option<String>,
    /// The description: the message body, or the (unescaped) `Description` header.
    pub description: Option<String>,
    /// `Description-Content-Type`.
    pub description_content_type: Option<String>,
    /// `Keywords`, split on commas.
    pub keywords: Vec<String>,
    /// `Home-page`.
    pub home_page: Option<String>,
    /// `Download-URL`.
    pub download_url: Option<String>,
    /// `Author`.
    pub author: Option<String>,
    /// `Author-email`.
    pub author_email: Option<String>,
    /// `Maintainer`.
    pub maintainer: Option<String>,
    /// `Maintainer-email`.
    pub maintainer_email: Option<String>,
    /// `License` (free text, possibly several lines).
    pub license: Option<String>,
    /// `License-Expression` (SPDX, Metadata 2.4).
    pub license_expression: Option<String>,
    /// `License-File` (Metadata 2.4), paths relative to the project root.
    pub license_files: Vec<String>,
    /// `Classifier`.
    pub classifiers: Vec<String>,
    /// `Platform`.
    pub platforms: Vec<String>,
    /// `Supported-Platform`.
    pub supported_platforms: Vec<String>,
    /// `Requires-Dist`.
    pub requires_dist: Vec<String>,
    /// `Requires-Python`.
    pub requires_python: Option<String>,
    /// `Requires-External`.
    pub requires_external: Vec<String>,
    /// `Project-URL`.
    pub project_urls: Vec<ProjectUrl>,
    /// `Provides-Extra`.
    pub provides_extra: Vec<String>,
    /// `Provides-Dist`.
    pub provides_dist: Vec<String>,
    /// `Obsoletes-Dist`.
    pub obsoletes_dist: Vec<String>,
    /// `Dynamic` (Metadata 2.2).
    pub dynamic: Vec<String>,
    /// `Import-Name` (Metadata 2.5). An empty entry means "installs no importable names".
    pub import_names: Vec<String>,
    /// `Import-Namespace` (Metadata 2.5).
    pub import_namespaces: Vec<String>,
    /// Any other header, `(name as written, value)`, in file order.
    pub other_fields: Vec<(String, String)>,
}

/// Why a metadata file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The bytes are not UTF-8.
    #[error(
        "metadata is not valid UTF-8 (first bad byte on line {line}); core metadata must be \
         UTF-8: rebuild the distribution with a current build backend"
    )]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
    },
    /// A line in the header block is neither `Name: value` nor a continuation.
    #[error(
        "line {line} is not a `Field: value` header: {text:?}; the metadata is corrupt, \
         rebuild the distribution"
    )]
    MalformedHeader {
        /// 1-based line number.
        line: usize,
        /// The start of the offending line.
        text: String,
    },
    /// No `Metadata-Version` field.
    #[error(
        "there is no Metadata-Version field, so this is not core metadata; rebuild the \
         distribution with a standard build backend"
    )]
    MissingMetadataVersion,
    /// `Metadata-Version` is not one PyPI accepts.
    #[error("{}", unsupported_version_message(version))]
    UnsupportedMetadataVersion {
        /// The declared version.
        version: String,
    },
    /// A single-use field appears more than once.
    #[error(
        "the field {field} appears {count} times but may appear only once; PyPI would reject \
         the metadata, rebuild the distribution"
    )]
    DuplicateField {
        /// The field name as first written.
        field: String,
        /// How many times it appears.
        count: usize,
    },
    /// The description is given both as a `Description` header and as the message body.
    #[error(
        "the description is given both as a Description header and as the message body; \
         PyPI cannot tell which to use, rebuild the distribution"
    )]
    DescriptionTwice,
    /// A `Project-URL` without a `Label, URL` shape.
    #[error("Project-URL {value:?} is not `Label, URL`; write it as e.g. `Homepage, https://...`")]
    MalformedProjectUrl {
        /// The field value.
        value: String,
    },
}

fn unsupported_version_message(version: &str) -> String {
    if version == "2.0" {
        "Metadata-Version 2.0 is not accepted by PyPI (2.0 was never a released \
         specification); rebuild the distribution with a current build backend, which writes \
         2.1 or later"
            .to_owned()
    } else {
        let accepted: Vec<_> = MetadataVersion::ALL.iter().map(|v| v.as_str()).collect();
        format!(
            "Metadata-Version {version:?} is not one PyPI accepts ({}); if it is newer, \
             upgrade trustpub, otherwise rebuild the distribution",
            accepted.join(", ")
        )
    }
}

/// How a field may occur and where its value goes.
#[derive(Clone, Copy)]
enum Field {
    Single(fn(&mut CoreMetadata) -> &mut Option<String>),
    Multi(fn(&mut CoreMetadata) -> &mut Vec<String>),
    MetadataVersion,
    Keywords,
    ProjectUrl,
    Description,
}

/// The known fields by lowercase name.
fn known_field(lower_name: &str) -> Option<Field> {
    use Field::{Multi, Single};
    Some(match lower_name {
        "metadata-version" => Field::MetadataVersion,
        "name" => Single(|m| &mut m.name),
        "version" => Single(|m| &mut m.version),
        "summary" => Single(|m| &mut m.summary),
        "description" => Field::Description,
        "description-content-type" => Single(|m| &mut m.description_content_type),
        "keywords" => Field::Keywords,
        "home-page" => Single(|m| &mut m.home_page),
        "download-url" => Single(|m| &mut m.download_url),
        "author" => Single(|m| &mut m.author),
        "author-email" => Single(|m| &mut m.author_email),
        "maintainer" => Single(|m| &mut m.maintainer),
        "maintainer-email" => Single(|m| &mut m.maintainer_email),
        "license" => Single(|m| &mut m.license),
        "license-expression" => Single(|m| &mut m.license_expression),
        "license-file" => Multi(|m| &mut m.license_files),
        "classifier" => Multi(|m| &mut m.classifiers),
        "platform" => Multi(|m| &mut m.platforms),
        "supported-platform" => Multi(|m| &mut m.supported_platforms),
        "requires-dist" => Multi(|m| &mut m.requires_dist),
        "requires-python" => Single(|m| &mut m.requires_python),
        "requires-external" => Multi(|m| &mut m.requires_external),
        "project-url" => Field::ProjectUrl,
        "provides-extra" => Multi(|m| &mut m.provides_extra),
        "provides-dist" => Multi(|m| &mut m.provides_dist),
        "obsoletes-dist" => Multi(|m| &mut m.obsoletes_dist),
        "dynamic" => Multi(|m| &mut m.dynamic),
        "import-name" => Multi(|m| &mut m.import_names),
        "import-namespace" => Multi(|m| &mut m.import_namespaces),
        _ => return None,
    })
}

fn not_empty(value: String) -> Option<String> {
    if value.is_empty() { None } else { Some(value) }
}

impl CoreMetadata {
    /// Parses the bytes of a `METADATA` or `PKG-INFO` file.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetadataError> {
        let (headers, body) = split_headers(bytes)?;
        let version_header = headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("metadata-version"))
            .ok_or(MetadataError::MissingMetadataVersion)?;
        let mut metadata = Self::empty(MetadataVersion::parse(&version_header.value())?);
        let mut header_description = None;
        for header in &headers {
            let lower = header.name.to_ascii_lowercase();
            let Some(field) = known_field(&lower) else {
                metadata
                    .other_fields
                    .push((header.name.to_owned(), header.value()));
                continue;
            };
            let is_multi_use = matches!(field, Field::Multi(_) | Field::ProjectUrl);
            if !is_multi_use {
                let count = headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case(&lower))
                    .count();
                if count > 1 {
                    return Err(MetadataError::DuplicateField {
                        field: header.name.to_owned(),
                        count,
                    });
                }
            }
            let value = header.value();
            match field {
                Field::MetadataVersion => {}
                Field::Single(slot) => *slot(&mut metadata) = not_empty(value),
                Field::Multi(slot) => {
                    // An empty Import-Name is meaningful (PEP 794: no importable names).
                    if !value.is_empty() || lower.starts_with("import-") {
                        slot(&mut metadata).push(value);
                    }
                }
                Field::Keywords => {
                    metadata.keywords = value
                        .split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                Field::ProjectUrl => match value.split_once(',') {
                    Some((label, url)) => metadata.project_urls.push(ProjectUrl {
                        label: label.trim().to_owned(),
                        url: url.trim().to_owned(),
                    }),
                    None if value.is_empty() => {}
                    None => return Err(MetadataError::MalformedProjectUrl { value }),
                },
                Field::Description => header_description = not_empty(value),
            }
        }

        let body = body.filter(|b| !b.is_empty()).map(str::to_owned);
        metadata.description = match (header_description, body) {
            (Some(_), Some(_)) => return Err(MetadataError::DescriptionTwice),
            (header, body) => body.or(header),
        };
        Ok(metadata)
    }

    fn empty(metadata_version: MetadataVersion) -> Self {
        Self {
            metadata_version,
            name: None,
            version: None,
            summary: None,
            description: None,
            description_content_type: None,
            keywords: Vec::new(),
            home_page: None,
            download_url: None,
            author: None,
            author_email: None,
            maintainer: None,
            maintainer_email: None,
            license: None,
            license_expression: None,
            license_files: Vec::new(),
            classifiers: Vec::new(),
            platforms: Vec::new(),
            supported_platforms: Vec::new(),
            requires_dist: Vec::new(),
            requires_python: None,
            requires_external: Vec::new(),
            project_urls: Vec::new(),
            provides_extra: Vec::new(),
            provides_dist: Vec::new(),
            obsoletes_dist: Vec::new(),
            dynamic: Vec::new(),
            import_names: Vec::new(),
            import_namespaces: Vec::new(),
            other_fields: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CoreMetadata {
        CoreMetadata::parse(text.as_bytes()).unwrap()
    }

    fn error(text: &[u8]) -> String {
        CoreMetadata::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_field_of_metadata_2_5() {
        let m = parse(
            "Metadata-Version: 2.5\r\n\
             Name: Friendly.Bard\r\n\
             Version: 1.0.0\r\n\
             Summary: A  friendly bard\r\n\
             Description-Content-Type: text/markdown; charset=UTF-8\r\n\
             Keywords: music, , poetry ,bards\r\n\
             Home-page: https://example.org\r\n\
             Download-URL: https://example.org/dl\r\n\
             Author: Ana\r\n\
             Author-email: Ana <ana@example.org>\r\n\
             Maintainer: Bo\r\n\
             Maintainer-email: bo@example.org\r\n\
             License-Expression: MIT OR Apache-2.0\r\n\
             License-File: LICENSE-MIT\r\n\
             License-File: licenses/APACHE\r\n\
             Classifier: Programming Language :: Python\r\n\
             Classifier: Topic :: Artistic Software\r\n\
             Platform: any\r\n\
             Supported-Platform: RedHat 7.2\r\n\
             Requires-Dist: requests>=2; extra == 'http'\r\n\
             Requires-Python: >=3.9\r\n\
             Requires-External: libpng (>=1.5)\r\n\
             Project-URL: Source, https://example.org/src\r\n\
             Project-URL: Bug Tracker,https://example.org/issues\r\n\
             Provides-Extra: http\r\n\
             Provides-Dist: bard\r\n\
             Obsoletes-Dist: old-bard (<1)\r\n\
             Dynamic: Requires-Dist\r\n\
             Import-Name: friendly_bard\r\n\
             Import-Name: _friendly_bard; private\r\n\
             Import-Namespace: bards\r\n\
             X-Custom: kept\r\n\
             \r\n\
             # Friendly Bard\r\n\
             \r\n\
             Sings.\r\n",
        );
        assert_eq!(m.metadata_version, MetadataVersion::V2_5);
        assert_eq!(m.name.as_deref(), Some("Friendly.Bard"));
        assert_eq!(m.version.as_deref(), Some("1.0.0"));
        assert_eq!(m.summary.as_deref(), Some("A  friendly bard"));
        assert_eq!(
            m.description_content_type.as_deref(),
            Some("text/markdown; charset=UTF-8")
        );
        assert_eq!(m.keywords, ["music", "poetry", "bards"]);
        assert_eq!(m.home_page.as_deref(), Some("https://example.org"));
        assert_eq!(m.download_url.as_deref(), Some("https://example.org/dl"));
        assert_eq!(m.author.as_deref(), Some("Ana"));
        assert_eq!(m.author_email.as_deref(), Some("Ana <ana@example.org>"));
        assert_eq!(m.maintainer.as_deref(), Some("Bo"));
        assert_eq!(m.maintainer_email.as_deref(), Some("bo@example.org"));
        assert_eq!(m.license, None);
        assert_eq!(m.license_expression.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(m.license_files, ["LICENSE-MIT", "licenses/APACHE"]);
        assert_eq!(
            m.classifiers,
            [
                "Programming Language :: Python",
                "Topic :: Artistic Software"
            ]
        );
        assert_eq!(m.platforms, ["any"]);
        assert_eq!(m.supported_platforms, ["RedHat 7.2"]);
        assert_eq!(m.requires_dist, ["requests>=2; extra == 'http'"]);
        assert_eq!(m.requires_python.as_deref(), Some(">=3.9"));
        assert_eq!(m.requires_external, ["libpng (>=1.5)"]);
        assert_eq!(
            m.project_urls,
            [
                ProjectUrl {
                    label: "Source".into(),
                    url: "https://example.org/src".into()
                },
                ProjectUrl {
                    label: "Bug Tracker".into(),
                    url: "https://example.org/issues".into()
                },
            ]
        );
        assert_eq!(m.provides_extra, ["http"]);
        assert_eq!(m.provides_dist, ["bard"]);
        assert_eq!(m.obsoletes_dist, ["old-bard (<1)"]);
        assert_eq!(m.dynamic, ["Requires-Dist"]);
        assert_eq!(m.import_names, ["friendly_bard", "_friendly_bard; private"]);
        assert_eq!(m.import_namespaces, ["bards"]);
        assert_eq!(m.other_fields, [("X-Custom".into(), "kept".into())]);
        assert_eq!(
            m.description.as_deref(),
            Some("# Friendly Bard\r\n\r\nSings.\r\n")
        );
    }

    #[test]
    fn field_names_are_case_insensitive_and_unknown_fields_are_kept() {
        let m =
            parse("metadata-version: 2.1\nNAME: x\nversion:1.0\nRequires: os\nX-Y: a\nX-Y: b\n");
        assert_eq!(m.name.as_deref(), Some("x"));
        assert_eq!(m.version.as_deref(), Some("1.0"));
        assert_eq!(
            m.other_fields,
            [
                ("Requires".into(), "os".into()),
                ("X-Y".into(), "a".into()),
                ("X-Y".into(), "b".into())
            ]
        );
    }

    #[test]
    fn continuation_lines_unfold_ordinary_fields() {
        let m = parse(
            "Metadata-Version: 2.1\nName: x\nSummary: a long\n  summary\n\tcontinued\nVersion: 1\n",
        );
        assert_eq!(m.summary.as_deref(), Some("a long summary continued"));
        assert_eq!(m.version.as_deref(), Some("1"));
    }

    #[test]
    fn description_header_with_pipe_escapes_keeps_lines_and_indentation() {
        let m = parse(
            "Metadata-Version: 1.2\nName: x\nVersion: 1\nDescription: Title\n        |=====\n        |\n        |    code block\n       |seven spaces\n        |\nLicense: MIT\n        |second line\n",
        );
        assert_eq!(
            m.description.as_deref(),
            Some("Title\n=====\n\n    code block\nseven spaces")
        );
        assert_eq!(m.license.as_deref(), Some("MIT\nsecond line"));
    }

    #[test]
    fn description_header_with_plain_eight_space_escapes() {
        let m = parse(
            "Metadata-Version: 1.0\nName: x\nVersion: 1\nDescription: Title\n        \n        Text\n            indented\nAuthor: a\n",
        );
        assert_eq!(
            m.description.as_deref(),
            Some("Title\n\nText\n    indented")
        );
        assert_eq!(m.author.as_deref(), Some("a"));
    }

    #[test]
    fn unicode_values_and_bom_are_fine() {
        let m = parse(
            "\u{feff}Metadata-Version: 2.1\nName: x\nVersion: 1\nAuthor: Łukasz Ößwald 日本\n\nDescripción ✓\n",
        );
        assert_eq!(m.author.as_deref(), Some("Łukasz Ößwald 日本"));
        assert_eq!(m.description.as_deref(), Some("Descripción ✓\n"));
    }

    #[test]
    fn empty_values_are_absent_except_import_names() {
        let m = parse(
            "Metadata-Version: 2.5\nName: x\nVersion: 1\nSummary:\nClassifier: \nImport-Name:\nProject-URL:\n\n",
        );
        assert_eq!(m.summary, None);
        assert!(m.classifiers.is_empty());
        assert_eq!(m.import_names, [""]);
        assert!(m.project_urls.is_empty());
        assert_eq!(m.description, None, "an empty body is no description");
    }

    #[test]
    fn accepted_metadata_versions() {
        for version in MetadataVersion::ALL {
            let m = parse(&format!(
                "Metadata-Version: {version}\nName: x\nVersion: 1\n"
            ));
            assert_eq!(m.metadata_version, version);
        }
    }

    #[test]
    fn user_facing_parse_errors() {
        insta::assert_snapshot!(error(b"Metadata-Version: 2.0\nName: x\n"), @"Metadata-Version 2.0 is not accepted by PyPI (2.0 was never a released specification); rebuild the distribution with a current build backend, which writes 2.1 or later");
        insta::assert_snapshot!(error(b"Metadata-Version: 3.1\n"), @r#"Metadata-Version "3.1" is not one PyPI accepts (1.0, 1.1, 1.2, 2.1, 2.2, 2.3, 2.4, 2.5); if it is newer, upgrade trustpub, otherwise rebuild the distribution"#);
        insta::assert_snapshot!(error(b"Name: x\nVersion: 1\n"), @"there is no Metadata-Version field, so this is not core metadata; rebuild the distribution with a standard build backend");
        insta::assert_snapshot!(error(b""), @"there is no Metadata-Version field, so this is not core metadata; rebuild the distribution with a standard build backend");
        insta::assert_snapshot!(error(b"Metadata-Version: 2.1\nName: x\nAuthor: \xff\xfe\n"), @"metadata is not valid UTF-8 (first bad byte on line 3); core metadata must be UTF-8: rebuild the distribution with a current build backend");
        insta::assert_snapshot!(error(b"Metadata-Version: 2.1\nthis is not a header\n"), @r#"line 2 is not a `Field: value` header: "this is not a header"; the metadata is corrupt, rebuild the distribution"#);
        insta::assert_snapshot!(error(b"  leading continuation\nMetadata-Version: 2.1\n"), @r#"line 1 is not a `Field: value` header: "  leading continuation"; the metadata is corrupt, rebuild the distribution"#);
        insta::assert_snapshot!(error(b"Metadata-Version: 2.1\nName: a\nname: b\n"), @"the field Name appears 2 times but may appear only once; PyPI would reject the metadata, rebuild the distribution");
        insta::assert_snapshot!(error(b"Metadata-Version: 2.1\nDescription: a\n\nbody\n"), @"the description is given both as a Description header and as the message body; PyPI cannot tell which to use, rebuild the distribution");
        insta::assert_snapshot!(error(b"Metadata-Version: 2.1\nProject-URL: https://x.org\n"), @r#"Project-URL "https://x.org" is not `Label, URL`; write it as e.g. `Homepage, https://...`"#);
    }

    #[test]
    fn garbage_never_panics() {
        let long_line = "x".repeat(100_000);
        assert!(CoreMetadata::parse(long_line.as_bytes()).is_err());
        let long_name = format!("Metadata-Version: 2.1\n{}: v\n", "N".repeat(50_000));
        assert_eq!(parse(&long_name).other_fields.len(), 1);
        assert!(error("Metadata-Version: 2.1\nwörd wörd wörd wörd wörd wörd wörd wörd wörd wörd wörd wörd wörd\n".as_bytes()).contains('…'));
        for bytes in [
            &b"\x00\x01\x02"[..],
            b":",
            b"\n\n\n",
            b"\r",
            b"Metadata-Version: 2.1\n\xc3",
        ] {
            let _ = CoreMetadata::parse(bytes);
        }
    }
}
