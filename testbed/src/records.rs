//! What happened on the testbed, for test assertions: every token issued, mint, burn, upload, npm exchange and
//! publish, certificate issued by Fulcio and entry created in Rekor, in order.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The current time as unix seconds.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// An ID token the issuer handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    /// The token's `jti`.
    pub jti: String,
    /// The token's `aud`.
    pub audience: String,
    /// When it was issued (unix seconds, testbed clock, before any clock offset).
    pub issued_at: i64,
    /// The `repository` claim.
    pub repository: String,
}

/// One `POST /_/oidc/mint-token` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The request path (`/_/oidc/mint-token` or the `github` alias).
    pub path: String,
    /// The `jti` of the presented JWT, when it could be read.
    pub jti: Option<String>,
    /// The `(code, description)` pairs of a refusal; empty on success.
    pub errors: Vec<(String, String)>,
    /// Projects the minted token may upload to; empty on refusal.
    pub projects: Vec<String>,
    /// `expires` of the minted token (unix seconds).
    pub expires: Option<i64>,
}

impl MintRecord {
    /// Whether a token was minted.
    pub fn succeeded(&self) -> bool {
        self.errors.is_empty() && self.expires.is_some()
    }
}

/// One `POST /_/oidc/burn-token` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurnRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// Whether the token was a live one the testbed had minted (and is now revoked).
    pub revoked_live_token: bool,
}

/// One legacy upload request that got as far as naming a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The `name` field.
    pub project: String,
    /// The `version` field.
    pub version: String,
    /// The file name of the `content` part.
    pub filename: String,
    /// Hex SHA-256 of the received content.
    pub sha256: String,
    /// Size of the received content.
    pub size: u64,
    /// Whether an `attestations` field came with it.
    pub had_attestations: bool,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The error message, if refused.
    pub error: Option<String>,
}

/// One `POST /-/npm/v1/oidc/token/exchange/package/<name>` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpmExchangeRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The package named in the path (decoded).
    pub package: String,
    /// The `jti` of the presented JWT, when it could be read.
    pub jti: Option<String>,
    /// The HTTP status of the answer (201 on success).
    pub status: u16,
    /// The `message` of a refusal.
    pub error: Option<String>,
}

/// One `PUT /<name>` publish request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpmPublishRecord {
    /// When it arrived (unix seconds).
    pub at: i64,
    /// The package named in the path (decoded).
    pub package: String,
    /// The version published, when the document named one.
    pub version: Option<String>,
    /// Hex SHA-512 of the tarball, when it decoded.
    pub sha512: Option<String>,
    /// Whether a `.sigstore` provenance attachment came with it.
    pub had_provenance: bool,
    /// The `access` field.
    pub access: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The `error` of a refusal.
    pub error: Option<String>,
}

/// A certificate Fulcio issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRecord {
    /// When it was issued (unix seconds).
    pub at: i64,
    /// The SAN URI (`https://github.com/{job_workflow_ref}`).
    pub subject_alternative_name: String,
    /// The `jti` of the identity token it was issued for.
    pub token_jti: Option<String>,
    /// `publicKeyRequest` or `certificateSigningRequest`.
    pub request_form: String,
    /// The end of its validity (unix seconds).
    pub not_after: i64,
    /// The leaf certificate, PEM.
    pub pem: String,
}

/// An entry Rekor added to its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekorEntryRecord {
    /// Its integrated time (unix seconds).
    pub at: i64,
    /// Its log index.
    pub log_index: u64,
    /// Its entry UUID (tree ID then leaf hash, hex).
    pub uuid: String,
    /// `dsse` or `hashedrekord`.
    pub kind: String,
    /// Whether the wrong-log-key fault was on when it was answered.
    pub signed_with_wrong_key: bool,
}

/// A snapshot of everything recorded so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    /// ID tokens issued by the GitHub issuer.
    pub tokens_issued: Vec<IssuedToken>,
    /// PyPI mint requests.
    pub mints: Vec<MintRecord>,
    /// PyPI burn requests.
    pub burns: Vec<BurnRecord>,
    /// PyPI uploads.
    pub uploads: Vec<UploadRecord>,
    /// npm OIDC exchanges.
    pub npm_exchanges: Vec<NpmExchangeRecord>,
    /// npm publishes.
    pub npm_publishes: Vec<NpmPublishRecord>,
    /// Certificates Fulcio issued.
    #[serde(default)]
    pub certificates_issued: Vec<CertificateRecord>,
    /// Entries Rekor created.
    #[serde(default)]
    pub rekor_entries: Vec<RekorEntryRecord>,
    /// crates.io `POST /api/v1/trusted_publishing/tokens` requests (refused ones too).
    #[serde(default)]
    pub crates_io_exchanges: Vec<crate::CratesIoExchangeRecord>,
    /// Trusted-publishing tokens crates.io issued, with their `revoked` flag.
    #[serde(default)]
    pub crates_io_tokens: Vec<crate::CratesIoTokenRecord>,
    /// crates.io `PUT /api/v1/crates/new` requests (refused ones too).
    #[serde(default)]
    pub crates_published: Vec<crate::CratePublishRecord>,
    /// RubyGems.org `POST /api/v1/oidc/trusted_publisher/exchange_token` requests (refused ones too).
    #[serde(default)]
    pub rubygems_exchanges: Vec<crate::RubygemsExchangeRecord>,
    /// API keys RubyGems.org's exchange issued.
    #[serde(default)]
    pub rubygems_keys: Vec<crate::RubygemsKeyRecord>,
    /// RubyGems.org `POST /api/v1/gems` requests (refused ones too).
    #[serde(default)]
    pub gems_pushed: Vec<crate::GemPushRecord>,
    /// NuGet.org `POST /api/v2/token` requests (refused ones too).
    #[serde(default)]
    pub nuget_exchanges: Vec<crate::NugetExchangeRecord>,
    /// API keys NuGet.org's token API issued.
    #[serde(default)]
    pub nuget_keys: Vec<crate::NugetKeyRecord>,
    /// NuGet.org `PUT /api/v2/package` requests (refused ones too).
    #[serde(default)]
    pub nuget_pushed: Vec<crate::NugetPushRecord>,
}

/// The shared, append-only log behind [`Records`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Records>>);

impl Recorder {
    /// Appends to the log.
    pub(crate) fn record(&self, add: impl FnOnce(&mut Records)) {
        add(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// A copy of the log.
    pub(crate) fn snapshot(&self) -> Records {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
