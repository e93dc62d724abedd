//! Rekor v1, read from `rekor/pkg/api` and `pkg/types/{dsse,hashedrekord}`: `POST /api/v1/log/entries`,
//! `GET /api/v1/log/entries/{uuid}`, `GET /api/v1/log/entries?logIndex=N`, `GET /api/v1/log`,
//! `GET /api/v1/log/publicKey`.
//!
//! Entries are stored as Rekor stores them: the JCS-canonical body (for `dsse` 0.0.1 the envelope hash over the
//! envelope string exactly as sent, the payload hash, the signatures sorted, each verifier re-encoded as Go PEM),
//! appended to one RFC 6962 tree. Each answer carries the inclusion proof against the current tree, a signed
//! checkpoint (`"<host> - <treeID>\n<size>\n<b64 root>\n"` + `"\n— <host> <b64(key hint ‖ sig)>\n"`) and the SET,
//! an ECDSA signature over the JCS of `{body, integratedTime, logID, logIndex}`. A second submission of the same
//! body is 409 with the existing entry's URL, as Trillian's duplicate detection makes Rekor answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::SigstoreState;
use super::dsse::{Verifier, canonical_entry, decode_b64};
use super::jcs;
use super::keys::{EcKey, pem_encode};
use super::merkle::{Hash, Tree};
use crate::TestbedError;
use crate::records::{RekorEntryRecord, now_unix};

/// One logged entry.
#[derive(Debug)]
struct LogEntry {
    body: Vec<u8>,
    integrated_time: i64,
    leaf_hash: Hash,
}

/// The log: the tree and the entries behind its leaves.
#[derive(Debug, Default)]
pub(crate) struct RekorLog {
    tree: Tree,
    entries: Vec<LogEntry>,
    by_leaf: HashMap<Hash, usize>,
}

/// A Rekor error answer: `{"code", "message"}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"code": status.as_u16(), "message": message.into()})),
    )
        .into_response()
}

impl SigstoreState {
    /// `"<host> - <treeID>"`, the checkpoint origin.
    fn origin(&self) -> String {
        format!("{} - {}", self.rekor_host(), self.tree_id)
    }

    /// The key SETs and checkpoints are signed with (the wrong one under the wrong-log-key fault).
    fn log_signer(&self) -> &EcKey {
        if self.faults.wrong_log_key() {
            &self.rogue_rekor_key
        } else {
            &self.rekor_key
        }
    }

    /// The 80-hex-digit entry UUID: tree ID then leaf hash, as sharded Rekor writes it.
    fn entry_uuid(&self, leaf_hash: &Hash) -> String {
        format!("{:016x}{}", self.tree_id, hex::encode(leaf_hash))
    }

    /// A signed checkpoint for a tree of `size` leaves with root `root`.
    fn checkpoint(&self, size: usize, root: &Hash) -> Result<String, TestbedError> {
        let note = format!("{}\n{size}\n{}\n", self.origin(), STANDARD.encode(root));
        let signature = self.log_signer().sign(note.as_bytes())?;
        let mut signed = self.rekor_key.key_id()[..4].to_vec();
        signed.extend_from_slice(&signature);
        Ok(format!(
            "{note}\n\u{2014} {} {}\n",
            self.rekor_host(),
            STANDARD.encode(signed)
        ))
    }

    /// The `{uuid: LogEntryAnon}` answer for entry `index`, proven against the current tree.
    fn entry_answer(&self, log: &RekorLog, index: usize) -> Result<(String, Value), TestbedError> {
        let entry = log
            .entries
            .get(index)
            .ok_or_else(|| TestbedError::Crypto(format!("no log entry {index}")))?;
        let body = STANDARD.encode(&entry.body);
        let log_id = hex::encode(self.rekor_key.key_id());
        let set_payload = json!({
            "body": body,
            "integratedTime": entry.integrated_time,
            "logID": log_id,
            "logIndex": index,
        });
        let canonical = jcs::canonicalize(&set_payload)
            .ok_or_else(|| TestbedError::Crypto("canonicalizing the SET payload".to_owned()))?;
        let set = self.log_signer().sign(canonical.as_bytes())?;
        let size = log.tree.size();
        let root = log.tree.root();
        let hashes: Vec<String> = log
            .tree
            .inclusion_path(index)
            .iter()
            .map(hex::encode)
            .collect();
        let uuid = self.entry_uuid(&entry.leaf_hash);
        let answer = json!({
            "body": body,
            "integratedTime": entry.integrated_time,
            "logID": log_id,
            "logIndex": index,
            "verification": {
                "inclusionProof": {
                    "checkpoint": self.checkpoint(size, &root)?,
                    "hashes": hashes,
                    "logIndex": index,
                    "rootHash": hex::encode(root),
                    "treeSize": size,
                },
                "signedEntryTimestamp": STANDARD.encode(set),
            },
        });
        Ok((uuid, answer))
    }
}

/// The canonical body of a proposed entry, and its kind; `Err` is the 400 message to send.
fn canonicalize_proposed(body: &[u8]) -> Result<(Vec<u8>, String), String> {
    let proposed: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|problem| format!("parsing body body from \"\" failed, because {problem}"))?;
    let text = |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or_default().to_owned();
    let kind = text(proposed.get("kind"));
    let version = text(proposed.get("apiVersion"));
    let spec = proposed.get("spec").cloned().unwrap_or(Value::Null);
    let canonical = match kind.as_str() {
        "dsse" if version == "0.0.1" => dsse_entry(&spec),
        "hashedrekord" if version == "0.0.1" => hashedrekord_entry(&spec),
        "dsse" | "hashedrekord" => Err(format!(
            "{kind} implementation for version '{version}' not found: type {kind} does not support version {version}"
        )),
        other => Err(format!("could not unmarshal entry for kind '{other}'")),
    }
    .map_err(|reason| format!("error processing entry: {reason}"))?;
    Ok((canonical, kind))
}

fn dsse_entry(spec: &Value) -> Result<Vec<u8>, String> {
    let proposed = spec.get("proposedContent").ok_or(
        "either proposedContent or envelopeHash, payloadHash, and signatures must be present",
    )?;
    let envelope = proposed
        .get("envelope")
        .and_then(Value::as_str)
        .ok_or("spec.proposedContent.envelope in body is required")?;
    let verifiers = proposed
        .get("verifiers")
        .and_then(Value::as_array)
        .filter(|verifiers| !verifiers.is_empty())
        .ok_or("spec.proposedContent.verifiers in body should have at least 1 items")?
        .iter()
        .map(|verifier| {
            let pem = verifier
                .as_str()
                .and_then(decode_b64)
                .ok_or("spec.proposedContent.verifiers in body must be of type byte")?;
            Verifier::from_pem(&String::from_utf8_lossy(&pem))
        })
        .collect::<Result<Vec<_>, String>>()?;
    canonical_entry(envelope, &verifiers)
}

fn hashedrekord_entry(spec: &Value) -> Result<Vec<u8>, String> {
    let field = |pointer: &str| spec.pointer(pointer).and_then(Value::as_str);
    let signature = field("/signature/content").ok_or("missing signature")?;
    let key_pem = field("/signature/publicKey/content")
        .and_then(decode_b64)
        .ok_or("missing public key")?;
    let algorithm = field("/data/hash/algorithm").unwrap_or("sha256");
    let digest_hex = field("/data/hash/value").ok_or("missing digest")?;
    if algorithm != "sha256" {
        return Err(format!("unsupported hash algorithm {algorithm}"));
    }
    let digest = hex::decode(digest_hex).map_err(|_| "invalid digest value")?;
    let verifier = Verifier::from_pem(&String::from_utf8_lossy(&key_pem))?;
    let signature_bytes = decode_b64(signature).ok_or("invalid signature content")?;
    if !verifier.key.verify_sha256_digest(&digest, &signature_bytes) {
        return Err(
            "verifying signature: invalid signature when validating ASN.1 encoded signature"
                .to_owned(),
        );
    }
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest_hex.to_ascii_lowercase()}},
            "signature": {
                "content": signature,
                "publicKey": {"content": STANDARD.encode(&verifier.canonical_pem)},
            },
        },
    });
    jcs::canonicalize(&body)
        .map(String::into_bytes)
        .ok_or_else(|| "error generating canonicalized entry".to_owned())
}

fn internal() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "unexpected result from transparency log",
    )
}

/// `POST /api/v1/log/entries`.
pub(crate) async fn create_entry(State(state): State<Arc<SigstoreState>>, body: Bytes) -> Response {
    let latency = state.faults.rekor_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if state.faults.take_rekor_failure() {
        return internal();
    }
    let (canonical, kind) = match canonicalize_proposed(&body) {
        Ok(found) => found,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let mut log = state.log();
    let leaf_hash = super::merkle::leaf_hash(&canonical);
    if log.by_leaf.contains_key(&leaf_hash) {
        let uuid = state.entry_uuid(&leaf_hash);
        let mut response = error(
            StatusCode::CONFLICT,
            format!("an equivalent entry already exists in the transparency log with UUID {uuid}"),
        );
        if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/log/entries/{uuid}")) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return response;
    }
    let (index, leaf_hash) = log.tree.append(&canonical);
    let integrated_time = now_unix();
    log.entries.push(LogEntry {
        body: canonical,
        integrated_time,
        leaf_hash,
    });
    log.by_leaf.insert(leaf_hash, index);
    let (uuid, answer) = match state.entry_answer(&log, index) {
        Ok(found) => found,
        Err(problem) => {
            tracing::error!(%problem, "answering a new Rekor entry failed");
            return internal();
        }
    };
    drop(log);
    let record = RekorEntryRecord {
        at: integrated_time,
        log_index: index as u64,
        uuid: uuid.clone(),
        kind,
        signed_with_wrong_key: state.faults.wrong_log_key(),
    };
    state
        .recorder
        .record(|records| records.rekor_entries.push(record));
    let mut response = (StatusCode::CREATED, Json(json!({ uuid.clone(): answer }))).into_response();
    for (name, value) in [
        (header::LOCATION, format!("/api/v1/log/entries/{uuid}")),
        (header::ETAG, uuid),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// `GET /api/v1/log/entries/{uuid}`: 64 hex digits (leaf hash) or 80 (tree ID then leaf hash).
pub(crate) async fn get_entry(
    State(state): State<Arc<SigstoreState>>,
    Path(uuid): Path<String>,
) -> Response {
    let uuid = uuid.to_ascii_lowercase();
    let leaf_hex = match uuid.len() {
        64 => uuid.as_str(),
        80 if uuid[..16] == format!("{:016x}", state.tree_id) => &uuid[16..],
        80 => return StatusCode::NOT_FOUND.into_response(),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("incorrectly formatted uuid {uuid}"),
            );
        }
    };
    let Some(leaf_hash) = hex::decode(leaf_hex)
        .ok()
        .and_then(|bytes| <Hash>::try_from(bytes).ok())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("incorrectly formatted uuid {uuid}"),
        );
    };
    let log = state.log();
    let Some(&index) = log.by_leaf.get(&leaf_hash) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    answer(&state, &log, index)
}

/// `GET /api/v1/log/entries?logIndex=N`.
pub(crate) async fn get_entry_by_index(
    State(state): State<Arc<SigstoreState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(index) = query
        .get("logIndex")
        .and_then(|index| index.parse::<usize>().ok())
    else {
        return error(StatusCode::BAD_REQUEST, "logIndex in query is required");
    };
    let log = state.log();
    if index >= log.entries.len() {
        return StatusCode::NOT_FOUND.into_response();
    }
    answer(&state, &log, index)
}

fn answer(state: &SigstoreState, log: &RekorLog, index: usize) -> Response {
    match state.entry_answer(log, index) {
        Ok((uuid, answer)) => Json(json!({ uuid: answer })).into_response(),
        Err(problem) => {
            tracing::error!(%problem, "answering a Rekor entry failed");
            internal()
        }
    }
}

/// `GET /api/v1/log`.
pub(crate) async fn log_info(State(state): State<Arc<SigstoreState>>) -> Response {
    let log = state.log();
    let (size, root) = (log.tree.size(), log.tree.root());
    drop(log);
    match state.checkpoint(size, &root) {
        Ok(checkpoint) => Json(json!({
            "inactiveShards": [],
            "rootHash": hex::encode(root),
            "signedTreeHead": checkpoint,
            "treeID": state.tree_id.to_string(),
            "treeSize": size,
        }))
        .into_response(),
        Err(problem) => {
            tracing::error!(%problem, "signing the tree head failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error generating signed tree head",
            )
        }
    }
}

/// `GET /api/v1/log/publicKey`.
pub(crate) async fn public_key(State(state): State<Arc<SigstoreState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        pem_encode("PUBLIC KEY", state.rekor_key.spki_der()),
    )
        .into_response()
}
