//! `--provenance-file`: a Sigstore bundle signed elsewhere, checked against the tarball as
//! libnpmpublish's `verifyProvenance` does before it attaches it.
//!
//! npm reads the file with `JSON.parse`, decodes the DSSE payload, requires exactly one subject
//! whose purl and sha512 are the package's, then calls `sigstore.verify(bundle)` and attaches
//! `JSON.stringify(bundle)`. Everything but the signature verification is here, with npm's
//! messages; verify [`ProvenanceBundle::json`] with Sigstore before attaching it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::subject::ProvenanceSubject;
use crate::package::json::Json;

/// A provenance bundle whose statement is about this package's tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceBundle {
    media_type: String,
    json: String,
}

/// Why a bundle is not provenance for this tarball. The texts are libnpmpublish's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The file is not JSON.
    #[error("Invalid provenance provided: {detail}")]
    InvalidJson {
        /// What the parser said.
        detail: String,
    },
    /// No `dsseEnvelope.payload` (a bundle of a plain message signature, or not a bundle).
    #[error("No dsseEnvelope with payload found in sigstore bundle")]
    NoPayload,
    /// The payload is not base64 of a JSON statement.
    #[error("Failed to parse payload from dsseEnvelope: {detail}")]
    InvalidPayload {
        /// What is wrong with it.
        detail: String,
    },
    /// The statement has no subject.
    #[error("No subject found in sigstore bundle payload")]
    NoSubject,
    /// The statement has several subjects.
    #[error("Found more than one subject in the sigstore bundle payload")]
    SeveralSubjects {
        /// How many.
        count: usize,
    },
    /// The subject names another package or version.
    #[error("Provenance subject {found} does not match the package: {expected}")]
    SubjectMismatch {
        /// The subject's name, as JavaScript prints it (`undefined` when absent).
        found: String,
        /// The package's purl.
        expected: String,
    },
    /// The subject's sha512 is not the tarball's.
    #[error("Provenance subject digest does not match the package")]
    DigestMismatch {
        /// The subject's `digest.sha512`, when it is a string.
        found: Option<String>,
        /// The tarball's sha512 in hex.
        expected: String,
    },
    /// `mediaType` is not one of a Sigstore bundle (what `sigstore.verify` would refuse first).
    #[error(
        "the bundle's \"mediaType\" is {}, not a Sigstore bundle's (application/vnd.dev.sigstore.bundle.v0.3+json, or application/vnd.dev.sigstore.bundle+json;version=0.1 to 0.3)",
        found.as_deref().map_or_else(|| "missing".to_owned(), |found| format!("\"{found}\""))
    )]
    MediaType {
        /// The value, when it is a string.
        found: Option<String>,
    },
}

impl BundleError {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::InvalidJson { .. } | Self::MediaType { .. } => {
                "pass the Sigstore bundle JSON written when the provenance statement was signed"
            }
            Self::NoPayload | Self::InvalidPayload { .. } => {
                "pass a Sigstore bundle of a DSSE-signed in-toto statement, as `npm publish --provenance` makes"
            }
            Self::NoSubject | Self::SeveralSubjects { .. } => {
                "npm provenance has exactly one subject: the package's purl and the tarball's sha512"
            }
            Self::SubjectMismatch { .. } => {
                "the bundle was made for another package or version; sign a statement for this tarball"
            }
            Self::DigestMismatch { .. } => {
                "the bundle was made for another build of this version; publish the tarball it was signed for, or sign again"
            }
        }
    }
}

/// `--provenance-file` cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceFileError {
    /// The file could not be read (the message names it).
    #[error("cannot read the provenance file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error, from `fs_err`, which names the file.
        source: std::io::Error,
    },
    /// The file is not provenance for this tarball.
    #[error("the provenance file {} cannot be attached: {source} ({})", path.display(), source.hint())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: BundleError,
    },
}

/// `Buffer.from(payload, 'base64')` accepts padded and unpadded input.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Whether sigstore-js (`@sigstore/bundle`'s `validateBundleBase`) accepts the media type:
/// `application/vnd.dev.sigstore.bundle+json;version=D.D...` or
/// `application/vnd.dev.sigstore.bundle.vD.D+json...`.
fn is_bundle_media_type(media_type: &str) -> bool {
    let version = |s: &str| {
        let b = s.as_bytes();
        b.len() >= 3 && b[0].is_ascii_digit() && b[1] == b'.' && b[2].is_ascii_digit()
    };
    if let Some(rest) = media_type.strip_prefix("application/vnd.dev.sigstore.bundle+json;version=")
    {
        return version(rest);
    }
    media_type
        .strip_prefix("application/vnd.dev.sigstore.bundle.v")
        .is_some_and(|rest| version(rest) && rest[3..].starts_with("+json"))
}

impl ProvenanceBundle {
    /// Reads a bundle file and checks it against the package's subject.
    pub async fn read(
        path: &Path,
        subject: &ProvenanceSubject,
    ) -> Result<Self, ProvenanceFileError> {
        let bytes = fs_err::tokio::read(path)
            .await
            .map_err(|source| ProvenanceFileError::Io {
                path: path.to_owned(),
                source,
            })?;
        // `JSON.parse(buffer)` decodes the buffer as UTF-8, replacing what is not.
        Self::parse(&String::from_utf8_lossy(&bytes), subject).map_err(|source| {
            ProvenanceFileError::Invalid {
                path: path.to_owned(),
                source,
            }
        })
    }

    /// Checks bundle JSON text against the package's subject, in npm's order.
    pub fn parse(text: &str, subject: &ProvenanceSubject) -> Result<Self, BundleError> {
        let bundle = Json::parse(text).map_err(|error| BundleError::InvalidJson {
            detail: error.to_string(),
        })?;
        let Json::Object(fields) = &bundle else {
            return Err(BundleError::NoPayload);
        };
        let payload = match fields
            .get_object("dsseEnvelope")
            .and_then(|e| e.get("payload"))
        {
            Some(payload) if payload.truthy() => payload,
            _ => return Err(BundleError::NoPayload),
        };
        let invalid = |detail: String| BundleError::InvalidPayload { detail };
        let payload = payload
            .as_str()
            .ok_or_else(|| invalid("the payload is not a string".to_owned()))?;
        let decoded = BASE64
            .decode(payload)
            .map_err(|error| invalid(format!("the payload is not base64 ({error})")))?;
        let statement = Json::parse(&String::from_utf8_lossy(&decoded))
            .map_err(|error| invalid(format!("the payload is not JSON ({error})")))?;

        let subjects = match &statement {
            Json::Object(statement) => match statement.get("subject") {
                Some(Json::Array(subjects)) if !subjects.is_empty() => subjects,
                _ => return Err(BundleError::NoSubject),
            },
            _ => return Err(BundleError::NoSubject),
        };
        if subjects.len() > 1 {
            return Err(BundleError::SeveralSubjects {
                count: subjects.len(),
            });
        }
        let (name, digest) = match &subjects[0] {
            Json::Object(found) => (
                found.get("name"),
                found
                    .get_object("digest")
                    .and_then(|digest| digest.get_str("sha512")),
            ),
            _ => (None, None),
        };
        if name.and_then(Json::as_str) != Some(subject.name()) {
            return Err(BundleError::SubjectMismatch {
                found: name.map_or_else(|| "undefined".to_owned(), Json::to_js_string),
                expected: subject.name().to_owned(),
            });
        }
        if digest != Some(subject.sha512_hex()) {
            return Err(BundleError::DigestMismatch {
                found: digest.map(str::to_owned),
                expected: subject.sha512_hex().to_owned(),
            });
        }
        let media_type = fields.get_str("mediaType");
        let media_type = match media_type {
            Some(media_type) if is_bundle_media_type(media_type) => media_type.to_owned(),
            _ => {
                return Err(BundleError::MediaType {
                    found: media_type.map(str::to_owned),
                });
            }
        };
        Ok(Self {
            media_type,
            json: bundle.to_json_string(),
        })
    }

    /// `mediaType`, which becomes the attachment's `content_type`.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The bundle as npm attaches it: `JSON.stringify(JSON.parse(file))` (compact, keys in the
    /// file's order). Pass it to
    /// [`PublishDocument::with_provenance_bundle`](crate::package::PublishDocument::with_provenance_bundle).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The bundle JSON, owned.
    pub fn into_json(self) -> String {
        self.json
    }
}

#[cfg(test)]
pub(crate) mod tests;
