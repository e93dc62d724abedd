//! The body of `PUT <registry>/<escaped name>`, as libnpmpublish's `buildMetadata` builds it.
//!
//! Key order, as npm sends it (observed with npm 11.19.1):
//!
//! ```text
//! {"_id":<name>,"name":<name>,"description":<description, omitted when absent>,
//!  "dist-tags":{<tag>:<version>},
//!  "versions":{<version>:{...normalised manifest...,"dist":{"integrity","shasum","tarball"}}},
//!  "access":<"public"|"restricted"|null>,
//!  "_attachments":{"<name>-<version>.tgz":{"content_type":"application/octet-stream",
//!                   "data":<base64 of the tarball>,"length":<bytes>},
//!                  ...extra attachments such as "<name>-<version>.sigstore"}}
//! ```
//!
//! The text is kept split around the tarball's `data` value, so that the base64 can be produced
//! from disk while the body is sent.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest, Sha512};
use url::Url;

use super::PackageError;
use super::body::{BodySource, base64_len, body_stream};
use super::checks::{PublishOptions, PublishRefused, check};
use super::json::{Json, Object, write_json_string};
use super::manifest::PackageName;
use super::publish_config::Access;
use super::tarball::PackageTarball;

/// The media type of the Sigstore bundles npm 11 attaches (`bundle.mediaType`).
pub const PROVENANCE_MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The registry URL with its path ending in `/` (query and fragment dropped), so that relative
/// paths resolve below it as npm-registry-fetch's string concatenation does.
fn registry_base(registry: &Url) -> Url {
    let mut base = registry.clone();
    base.set_query(None);
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base
}

/// Where a package is published: `<registry>/<escaped name>`, e.g.
/// `https://registry.npmjs.org/@scope%2fname`. A path in the registry URL is kept, with or
/// without a trailing slash (`https://host/npm` and `https://host/npm/` both give
/// `https://host/npm/@scope%2fname`).
pub fn package_url(registry: &Url, name: &PackageName) -> Url {
    let mut url = registry_base(registry);
    let path = format!("{}{}", url.path(), name.escaped());
    url.set_path(&path);
    url
}

/// An extra entry of `_attachments`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Attachment {
    name: String,
    content_type: String,
    data: String,
}

/// The publish document for one package version.
#[derive(Debug, Clone)]
pub struct PublishDocument {
    name: PackageName,
    version: semver::Version,
    tag: String,
    access: Option<Access>,
    publish_url: Url,
    tarball_url: String,
    tarball_path: PathBuf,
    tarball_size: u64,
    tarball_sha512: [u8; 64],
    attachment_name: String,
    /// Everything before the tarball's base64, ending with `"data":"`.
    prefix: Bytes,
    extras: Vec<Attachment>,
}

impl PublishDocument {
    /// Checks the package as npm would ([`check`]) and builds its publish document.
    pub fn new(
        tarball: &PackageTarball,
        options: &PublishOptions<'_>,
    ) -> Result<Self, PublishRefused> {
        let manifest = tarball.manifest();
        let plan = check(manifest, options)?;
        let (name, version) = (manifest.name().clone(), manifest.version().clone());
        let refused = |registry: &Url| PublishRefused {
            package: format!("{name}@{version}"),
            problems: vec![super::checks::PublishProblem::RegistryNotHttp {
                registry: registry.to_string(),
            }],
        };
        let base = registry_base(options.registry);
        // libnpmpublish: `new URL('<name>/-/<name>-<version>.tgz', registry)`, then https → http.
        let tarball_url = base
            .join(&format!("{name}/-/{name}-{version}.tgz"))
            .map_err(|_| refused(options.registry))?;
        let tarball_url = match tarball_url.as_str().strip_prefix("https://") {
            Some(rest) => format!("http://{rest}"),
            None => tarball_url.to_string(),
        };

        let mut version_manifest = manifest.data().clone();
        let mut dist = match version_manifest.get("dist") {
            Some(Json::Object(dist)) => dist.clone(),
            _ => Object::new(),
        };
        dist.insert("integrity", Json::String(tarball.integrity()));
        dist.insert("shasum", Json::String(tarball.shasum()));
        dist.insert("tarball", Json::String(tarball_url.clone()));
        version_manifest.insert("dist", Json::Object(dist));

        let mut prefix = String::new();
        prefix.push_str("{\"_id\":");
        write_json_string(name.as_str(), &mut prefix);
        prefix.push_str(",\"name\":");
        write_json_string(name.as_str(), &mut prefix);
        if let Some(description) = manifest.data().get("description") {
            prefix.push_str(",\"description\":");
            description.write_json(&mut prefix);
        }
        prefix.push_str(",\"dist-tags\":{");
        write_json_string(&plan.tag, &mut prefix);
        prefix.push(':');
        write_json_string(&version.to_string(), &mut prefix);
        prefix.push_str("},\"versions\":{");
        write_json_string(&version.to_string(), &mut prefix);
        prefix.push(':');
        version_manifest.write_json(&mut prefix);
        prefix.push_str("},\"access\":");
        match plan.access {
            Some(access) => write_json_string(access.as_str(), &mut prefix),
            None => prefix.push_str("null"),
        }
        prefix.push_str(",\"_attachments\":{");
        write_json_string(&tarball.attachment_name(), &mut prefix);
        prefix.push_str(":{\"content_type\":\"application/octet-stream\",\"data\":\"");

        Ok(Self {
            publish_url: package_url(options.registry, &name),
            name,
            version,
            tag: plan.tag,
            access: plan.access,
            tarball_url,
            tarball_path: tarball.path().to_owned(),
            tarball_size: tarball.size(),
            tarball_sha512: *tarball.sha512(),
            attachment_name: tarball.attachment_name(),
            prefix: Bytes::from(prefix),
            extras: Vec::new(),
        })
    }

    /// Adds an entry to `_attachments` after the tarball: `{content_type, data, length}`, where
    /// `data` is sent as a JSON string and `length` is its length in UTF-16 code units, as
    /// JavaScript's `string.length`.
    pub fn with_attachment(
        mut self,
        name: impl Into<String>,
        content_type: impl Into<String>,
        data: impl Into<String>,
    ) -> Result<Self, PackageError> {
        let name = name.into();
        if name == self.attachment_name || self.extras.iter().any(|a| a.name == name) {
            return Err(PackageError::DuplicateAttachment { name });
        }
        self.extras.push(Attachment {
            name,
            content_type: content_type.into(),
            data: data.into(),
        });
        Ok(self)
    }

    /// Attaches a provenance bundle as npm does: under `<name>-<version>.sigstore`, with the
    /// bundle's own `mediaType` as content type and the bundle JSON text (not base64) as data.
    pub fn with_provenance_bundle(
        self,
        bundle_json: impl Into<String>,
    ) -> Result<Self, PackageError> {
        let bundle_json = bundle_json.into();
        let invalid = |detail: String| PackageError::InvalidProvenanceBundle { detail };
        let bundle: serde_json::Value =
            serde_json::from_str(&bundle_json).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let media_type = bundle
            .get("mediaType")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| invalid("no \"mediaType\" string".into()))?
            .to_owned();
        let name = format!("{}-{}.sigstore", self.name, self.version);
        self.with_attachment(name, media_type, bundle_json)
    }

    /// The package name.
    pub fn name(&self) -> &PackageName {
        &self.name
    }

    /// The version published.
    pub fn version(&self) -> &semver::Version {
        &self.version
    }

    /// The dist-tag set to this version.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The access level sent (`None` is sent as `null`).
    pub fn access(&self) -> Option<Access> {
        self.access
    }

    /// Where to `PUT` the document: `<registry>/<escaped name>`.
    pub fn publish_url(&self) -> &Url {
        &self.publish_url
    }

    /// `dist.tarball` as sent (the registry replaces it with its own).
    pub fn tarball_url(&self) -> &str {
        &self.tarball_url
    }

    fn suffix(&self) -> Bytes {
        let mut suffix = format!("\",\"length\":{}}}", self.tarball_size);
        for attachment in &self.extras {
            suffix.push(',');
            write_json_string(&attachment.name, &mut suffix);
            suffix.push_str(":{\"content_type\":");
            write_json_string(&attachment.content_type, &mut suffix);
            suffix.push_str(",\"data\":");
            write_json_string(&attachment.data, &mut suffix);
            suffix.push_str(&format!(
                ",\"length\":{}}}",
                attachment.data.encode_utf16().count()
            ));
        }
        suffix.push_str("}}");
        Bytes::from(suffix)
    }

    /// The exact length of the document in bytes.
    pub fn content_length(&self) -> u64 {
        self.prefix.len() as u64 + base64_len(self.tarball_size) + self.suffix().len() as u64
    }

    /// The whole document as JSON text, with the tarball read from disk and inlined as base64.
    /// Holds the tarball in memory: for snapshots and small packages; send large ones with
    /// [`body_stream`](Self::body_stream). Blocking.
    pub fn to_json(&self) -> Result<String, PackageError> {
        let path = &self.tarball_path;
        let tarball = fs_err::read(path).map_err(|source| PackageError::Io {
            path: path.clone(),
            source,
        })?;
        let detail = if tarball.len() as u64 != self.tarball_size {
            Some(format!(
                "it was {} bytes and is now {}",
                self.tarball_size,
                tarball.len()
            ))
        } else if Sha512::digest(&tarball).as_slice() != self.tarball_sha512 {
            Some("its sha512 digest no longer matches".to_owned())
        } else {
            None
        };
        if let Some(detail) = detail {
            return Err(PackageError::Changed {
                path: path.clone(),
                detail,
            });
        }
        let suffix = self.suffix();
        let mut text =
            String::with_capacity(self.prefix.len() + tarball.len() * 4 / 3 + 4 + suffix.len());
        text.push_str(&String::from_utf8_lossy(&self.prefix));
        STANDARD.encode_string(&tarball, &mut text);
        text.push_str(&String::from_utf8_lossy(&suffix));
        Ok(text)
    }

    /// The document as a stream of byte chunks for `reqwest::Body::wrap_stream`, with its exact
    /// length for `Content-Length`. The tarball is read from disk in chunks and base64-encoded on
    /// the fly; at most one chunk is in memory. Call again for each attempt (retries).
    ///
    /// If the tarball changed on disk since it was read (size or sha512), the stream ends with an
    /// error before the document is complete, so the registry never receives a mismatched body.
    pub fn body_stream(
        &self,
    ) -> (
        u64,
        impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    ) {
        let source = BodySource {
            prefix: self.prefix.clone(),
            suffix: self.suffix(),
            path: self.tarball_path.clone(),
            size: self.tarball_size,
            sha512: self.tarball_sha512,
        };
        (self.content_length(), body_stream(source))
    }
}

#[cfg(test)]
mod tests;
