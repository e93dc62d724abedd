//! A Sigstore on loopback: Fulcio v2 and Rekor v1, each on its own HTTPS origin, with the trust material
//! (`trusted_root.json`, `trust_config.json`) written into the testbed directory, so that bundles signed against
//! it verify with sigstore-python, pypi-attestations, sigstore-js (`@sigstore/verify`) and `sigstore-verify` given
//! that trusted root — and fail with them when a fault is switched on.
//!
//! # What is faithful
//! - **Fulcio** ([`fulcio`]): both request forms (`publicKeyRequest` with a proof of possession over `sub`, or
//!   `email` when the token has one; base64 PEM `certificateSigningRequest` with `Authorization: Bearer`), the
//!   token checked like Fulcio's GitHub issuer (signature by the testbed issuer's key, `iss` known, `aud` =
//!   `sigstore`, expiry), Fulcio's error statuses and client messages in grpc-gateway's JSON. The chain is a
//!   self-signed P-384 root and a P-384 intermediate (path length 0, code-signing EKU); the response chain is leaf,
//!   intermediate, root; the trusted root's `certChain` is intermediate, root. Leaves follow Fulcio's profile
//!   (10 minutes, empty subject, critical SAN URI `https://github.com/{job_workflow_ref}`, critical KeyUsage
//!   digitalSignature, EKU codeSigning, SKI/AKI, the `github-workflow` OID extensions 1.1–1.6 raw and 1.8–1.23 as
//!   UTF8String, rendered from the claims by Fulcio's templates) and embed an RFC 6962 SCT over the precertificate
//!   from a P-256 CT log key ([`ct`]).
//! - **Rekor** ([`rekor`]): `dsse` 0.0.1 canonicalization as `pkg/types/dsse/v0.0.1` (envelope hash over the
//!   envelope string as sent, payload hash, signatures verified over PAE and sorted, verifiers re-encoded as LF
//!   64-column PEM), JCS bodies ([`jcs`]), one RFC 6962 tree over all entries ([`merkle`]) so proofs have real
//!   audit paths, signed checkpoints and SETs, 201 with `Location`/`ETag`, 409 for a duplicate, Rekor's error
//!   texts; `hashedrekord` 0.0.1 too.
//! - **Registries** ([`verify`]): the testbed PyPI verifies every PEP 740 attestation on upload (for the Trusted
//!   Publisher that minted the upload token: issuer, source repository, Build Config URI at the certificate's
//!   digest or ref; then one subject naming the file with its SHA-256, a known predicate type, one attestation per
//!   type) and the testbed npm verifies provenance bundles, both against the same trusted root. PyPI checks in
//!   sigstore-python 4.5's order and reports pypi-attestations/Warehouse's texts; npm checks in
//!   `@sigstore/verify` 3's order and reports its texts. Those texts were compared with what sigstore-python
//!   4.5.1, pypi-attestations 0.0.30 and `@sigstore/verify` 3.1.1 print for the testbed's own faults.
//!
//! Checked by hand against the real verifiers: bundles signed through this Fulcio and Rekor (by the tests' tiny
//! client, by sigstore-rust's `sigstore-sign`, and by sigstore-python itself through `trust_config.json`) verify
//! with sigstore-python 4.5.1 (`verify_dsse`), pypi-attestations 0.0.30 (`GitHubPublisher`), `@sigstore/verify`
//! 3.1.1 and `sigstore-verify` 0.15.1; the bad-SCT, wrong-log-key, expired-certificate and foreign-root cases are
//! rejected by all of them. In `cargo test` only `sigstore-verify` runs (no Python or Node needed).
//!
//! # What is simplified
//! - Only ECDSA P-256 and P-384 keys are understood (real Fulcio also takes RSA and Ed25519); any other key is
//!   refused as unparsable. Proofs of possession are checked with SHA-256 whatever the curve, as Fulcio does.
//! - One Rekor shard: the global `logIndex` equals the proof's `logIndex`, and there is no sharding history. No
//!   search/index API, no `intoto` kind, no Rekor v2, no timestamp authority.
//! - Checkpoints carry no `Timestamp:` line (current Rekor omits it as well); the signer name is the Rekor
//!   listener's `host:port`.
//! - A missing claim that a Fulcio template needs is reported with the direct-claim wording, even where real
//!   Fulcio would print Go's template error. Malformed JSON bodies get a plain reason rather than protojson's.
//! - Trust material validity starts an hour before the testbed started, so that an expired-certificate fault fails
//!   on the certificate's validity rather than on the CA's.
//! - Verification texts for failures the faults cannot produce (a malformed SCT list, a missing Fulcio extension,
//!   an unknown log ID) are close to, not copied from, the real verifiers'. npm's comparison of the certificate's
//!   source repository with the publishing identity has no documented npm wording; the text is the testbed's.

mod ca;
mod claims;
mod ct;
mod dsse;
mod faults;
mod fulcio;
mod jcs;
mod keys;
mod merkle;
mod rekor;
mod trust;
pub(crate) mod verify;
mod x509;

#[cfg(test)]
mod client;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use axum::Router;
use axum::routing::{get, post};
use url::Url;

pub(crate) use dsse::IN_TOTO_PAYLOAD_TYPE;
pub use faults::SigstoreFaults;
pub(crate) use trust::TrustMaterial;
pub(crate) use x509::ParsedCertificate;

/// The Fulcio OIDs the registries' identity checks read.
pub(crate) mod oids {
    pub(crate) use super::claims::{
        OID_BUILD_CONFIG_URI as BUILD_CONFIG_URI, OID_ISSUER_V2 as ISSUER_V2,
        OID_SOURCE_REPOSITORY_DIGEST as SOURCE_REPOSITORY_DIGEST,
        OID_SOURCE_REPOSITORY_REF as SOURCE_REPOSITORY_REF,
        OID_SOURCE_REPOSITORY_URI as SOURCE_REPOSITORY_URI,
    };
}

use crate::TestbedError;
use crate::jwt::TrustedIssuer;
use crate::records::{Recorder, now_unix};
use ca::FulcioCa;
use keys::{Curve, EcKey};
use rekor::RekorLog;

/// The shared state of Fulcio, the CT log and Rekor.
pub(crate) struct SigstoreState {
    ca: FulcioCa,
    ca_name: String,
    ct_key: EcKey,
    rogue_ct_key: EcKey,
    rekor_key: EcKey,
    rogue_rekor_key: EcKey,
    log: Mutex<RekorLog>,
    faults: SigstoreFaults,
    recorder: Recorder,
    github: TrustedIssuer,
    rekor_host: OnceLock<String>,
    tree_id: u64,
    valid_from: u64,
}

impl SigstoreState {
    /// Fresh keys, CA and an empty log; tokens are accepted from `github`.
    pub(crate) fn new(
        github: TrustedIssuer,
        recorder: Recorder,
    ) -> Result<Arc<Self>, TestbedError> {
        let now = u64::try_from(now_unix()).unwrap_or_default();
        let ca_name = format!("trustpub testbed sigstore {:08x}", fastrand::u32(..));
        Ok(Arc::new(Self {
            ca: FulcioCa::generate(
                &ca_name,
                now.saturating_sub(86_400),
                now + 10 * 365 * 86_400,
            )?,
            ca_name,
            ct_key: EcKey::generate(Curve::P256)?,
            rogue_ct_key: EcKey::generate(Curve::P256)?,
            rekor_key: EcKey::generate(Curve::P256)?,
            rogue_rekor_key: EcKey::generate(Curve::P256)?,
            log: Mutex::new(RekorLog::default()),
            faults: SigstoreFaults::default(),
            recorder,
            github,
            rekor_host: OnceLock::new(),
            tree_id: fastrand::u64(1..u64::MAX >> 1),
            valid_from: now.saturating_sub(3600),
        }))
    }

    fn log(&self) -> MutexGuard<'_, RekorLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells Rekor where it is served (`host:port`, its checkpoint origin and signer name).
    pub(crate) fn set_rekor_url(&self, url: &Url) {
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => "rekor.testbed".to_owned(),
        };
        let _ = self.rekor_host.set(host);
    }

    fn rekor_host(&self) -> &str {
        self.rekor_host
            .get()
            .map_or("rekor.testbed", String::as_str)
    }

    /// The failure knobs.
    pub(crate) fn faults(&self) -> SigstoreFaults {
        self.faults.clone()
    }

    /// Writes `trusted_root.json` and `trust_config.json` into `dir`; returns their paths and the trust material
    /// read back from the trusted root.
    pub(crate) fn write_trust_files(
        &self,
        dir: &Path,
        fulcio_url: &Url,
        rekor_url: &Url,
    ) -> Result<TrustFiles, TestbedError> {
        let root = trust::trusted_root(&trust::RootContents {
            fulcio_url,
            rekor_url,
            ca_name: &self.ca_name,
            chain: [self.ca.intermediate_der(), self.ca.root_der()],
            rekor_spki: self.rekor_key.spki_der(),
            ct_spki: self.ct_key.spki_der(),
            valid_from: self.valid_from,
        });
        let config = trust::trust_config(&root, fulcio_url, rekor_url, self.valid_from);
        let to_text = |value: &serde_json::Value| {
            serde_json::to_string_pretty(value).map_err(|error| {
                TestbedError::Crypto(format!("serializing the trust files: {error}"))
            })
        };
        let trusted_root = dir.join("trusted_root.json");
        let trust_config = dir.join("trust_config.json");
        fs_err::write(&trusted_root, to_text(&root)?)?;
        fs_err::write(&trust_config, to_text(&config)?)?;
        let material = TrustMaterial::from_trusted_root(&root).map_err(|error| {
            TestbedError::Crypto(format!("reading back our own trusted root: {error}"))
        })?;
        Ok(TrustFiles {
            trusted_root,
            trust_config,
            material: Arc::new(material),
        })
    }
}

/// Where the trust files are, and what they say.
#[derive(Debug, Clone)]
pub(crate) struct TrustFiles {
    /// `trusted_root.json`.
    pub(crate) trusted_root: PathBuf,
    /// `trust_config.json`.
    pub(crate) trust_config: PathBuf,
    /// The trusted root as the registries verify with it.
    pub(crate) material: Arc<TrustMaterial>,
}

/// Trust material of a CA and logs nobody runs, for tests that only need something to verify against.
#[cfg(test)]
pub(crate) fn test_trust_material() -> TrustMaterial {
    let ca = FulcioCa::generate("test", 1_700_000_000, 2_000_000_000).unwrap();
    let (rekor, ct) = (
        EcKey::generate(Curve::P256).unwrap(),
        EcKey::generate(Curve::P256).unwrap(),
    );
    let url = Url::parse("https://127.0.0.1:1/").unwrap();
    let root = trust::trusted_root(&trust::RootContents {
        fulcio_url: &url,
        rekor_url: &url,
        ca_name: "test",
        chain: [ca.intermediate_der(), ca.root_der()],
        rekor_spki: rekor.spki_der(),
        ct_spki: ct.spki_der(),
        valid_from: 1_700_000_000,
    });
    TrustMaterial::from_trusted_root(&root).unwrap()
}

/// Fulcio's routes.
pub(crate) fn fulcio_router(state: Arc<SigstoreState>) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(fulcio::signing_cert))
        .route("/api/v2/trustBundle", get(fulcio::trust_bundle))
        .with_state(state)
}

/// Rekor's routes.
pub(crate) fn rekor_router(state: Arc<SigstoreState>) -> Router {
    Router::new()
        .route(
            "/api/v1/log/entries",
            post(rekor::create_entry).get(rekor::get_entry_by_index),
        )
        .route("/api/v1/log/entries/{uuid}", get(rekor::get_entry))
        .route("/api/v1/log", get(rekor::log_info))
        .route("/api/v1/log/publicKey", get(rekor::public_key))
        .with_state(state)
}
