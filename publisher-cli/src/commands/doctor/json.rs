//! `trustpub doctor --format json`: one JSON document on stdout, schema `trustpub.doctor/v1`.
//!
//! (On GitHub Actions, workflow commands such as `::add-mask::` and `::error` lines may precede
//! the document on stdout: read from the first line that starts with `{`.)
//!
//! ```text
//! {
//!   "schema": "trustpub.doctor/v1",
//!   "registry": "pypi" | "npm",
//!   "registry_name": "PyPI (upload.pypi.org)",   // for people
//!   "target": "https://upload.pypi.org/legacy/",  // the upload URL or registry diagnosed
//!   "mode": "live" | "offline",
//!   "conclusion": "ready" | "unproven" | "no-credential" | "checks-failed",
//!   "ok": true,                                   // exit_code == 0
//!   "exit_code": 0,                               // 0, 3 or 7: see `trustpub --help`
//!   "audience": "pypi" | null,
//!   "provider": "GitHub Actions" | null,          // who issued the token (live only)
//!   "network": [ "…" ],                           // proxy / extra CAs for the token's requests
//!   "claims": { "iss": "…", "repository": "…", "environment": null, … },
//!                                                 // every value as text, null when absent
//!   "checks": [ { "field": "workflow filename", "claim": "job_workflow_ref",
//!                 "value": "release.yml" | null, "expected": "…" | null,
//!                 "rule": "exact" | "case-insensitive" | "required",
//!                 "verdict": "match" | "mismatch" | "missing" | "unchecked" } ],
//!   "form": null | { "location": "…", "fields": [ { "label": "Workflow name",
//!                    "value": "release.yml", "note": "…" | null } ],
//!                    "link": "https://…" | null, "command": "npm trust …" | null },
//!   "exchange": { "status": "not-attempted", "reason": "…" }
//!             | { "status": "succeeded", "detail": "…" }
//!             | { "status": "refused", "http_status": 422,
//!                 "errors": [ { "code": "invalid-publisher" | null, "description": "…" } ],
//!                 "fixes": [ "…" ] }
//!             | { "status": "failed", "detail": "…" },
//!   "findings": [ { "severity": "error" | "warning" | "note", "code": "kebab-case-id",
//!                   "title": "…", "detail": "…", "fix": "…" | null } ]   // most severe first
//! }
//! ```
//!
//! Within v1, fields are only ever added; finding codes are stable ids. A change to the meaning
//! or type of a field gets a new schema version.

use serde_json::{Map, Value, json};

use oidc_core::doctor::Diagnosis;

use super::Registry;
use crate::exit::Outcome;

/// The schema id of the document.
pub const SCHEMA: &str = "trustpub.doctor/v1";

/// The document for a diagnosis.
pub fn document(diagnosis: &Diagnosis, registry: Registry, outcome: Outcome) -> Value {
    let claims: Map<String, Value> = diagnosis
        .claims
        .iter()
        .map(|row| {
            (
                row.name.clone(),
                row.value.clone().map_or(Value::Null, Value::String),
            )
        })
        .collect();
    json!({
        "schema": SCHEMA,
        "registry": registry.as_str(),
        "registry_name": diagnosis.registry,
        "target": diagnosis.target,
        "mode": diagnosis.mode,
        "conclusion": diagnosis.conclusion(),
        "ok": outcome == Outcome::Success,
        "exit_code": outcome.code(),
        "audience": diagnosis.audience,
        "provider": diagnosis.provider,
        "claims": claims,
        "checks": diagnosis.checks,
        "form": diagnosis.form,
        "exchange": diagnosis.exchange,
        "findings": diagnosis.findings,
        "network": diagnosis.network,
    })
}
