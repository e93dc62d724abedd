//! The registry's checks on a provenance attachment (`<name>-<version>.sigstore`, raw Sigstore bundle JSON):
//! bundle shape; the Sigstore verification (chain to the testbed's Fulcio CA, SCT, Rekor inclusion proof,
//! checkpoint and SET, DSSE signature, log entry body) against the testbed's trusted root, with sigstore-js's
//! wording; the signing certificate's source repository (present, and the publishing identity's); one in-toto
//! subject naming the package's purl and the tarball's SHA-512; the source repository against `package.json`'s
//! `repository.url`; and the public-repository / GitHub-hosted-runner rules. Failures are 422
//! `Error verifying sigstore provenance bundle: …`.
//!
//! The certificate-repository comparison with the publishing identity is the testbed's reading (npm documents no
//! wording for it); the other texts are npm's or sigstore-js's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::sigstore::verify::{Flavor, SignedStatement, verify_statement};
use crate::sigstore::{IN_TOTO_PAYLOAD_TYPE, ParsedCertificate, TrustMaterial, oids};

/// `pkg:npm/%40scope/name@version` or `pkg:npm/name@version`.
pub(crate) fn purl(name: &str, version: &str) -> String {
    format!("pkg:npm/{}@{version}", name.replacen('@', "%40", 1))
}

/// `git+https://github.com/o/r.git`, `github:o/r`, `git://github.com/o/r` … → `https://github.com/o/r`.
fn normalize_repository_url(url: &str) -> String {
    let url = url.trim();
    let url = url.strip_prefix("git+").unwrap_or(url);
    let url = url.strip_suffix(".git").unwrap_or(url);
    if let Some(short) = url.strip_prefix("github:") {
        return format!("https://github.com/{short}");
    }
    if let Some(rest) = url
        .strip_prefix("git://")
        .or_else(|| url.strip_prefix("ssh://git@"))
    {
        return format!("https://{rest}");
    }
    if let Some(rest) = url.strip_prefix("git@github.com:") {
        return format!("https://github.com/{rest}");
    }
    url.to_owned()
}

/// The leaf certificate of a v0.3 bundle (`certificate`) or a v0.1/v0.2 one (`x509CertificateChain`).
fn bundle_certificate(bundle: &Value) -> Option<Vec<u8>> {
    let material = bundle.get("verificationMaterial")?;
    let raw = material
        .pointer("/certificate/rawBytes")
        .or_else(|| material.pointer("/x509CertificateChain/certificates/0/rawBytes"))?;
    STANDARD.decode(raw.as_str()?).ok()
}

/// sigstore-js's verification of the bundle, then the certificate's repository against the publishing identity.
fn verify_bundle(
    bundle: &Value,
    envelope: &Value,
    payload: &[u8],
    trust: &TrustMaterial,
    token_claims: Option<&Map<String, Value>>,
) -> Result<(), String> {
    let certificate = bundle_certificate(bundle)
        .ok_or("invalid bundle: bundle.verificationMaterial.certificate is missing")?;
    let signatures = envelope
        .get("signatures")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let [signature] = signatures.as_slice() else {
        return Err(
            "invalid bundle: bundle.dsseEnvelope.signatures must contain exactly one signature"
                .to_owned(),
        );
    };
    let signature = signature
        .get("sig")
        .and_then(Value::as_str)
        .and_then(|sig| STANDARD.decode(sig).ok())
        .ok_or("invalid bundle: bundle.dsseEnvelope.signatures[0].sig is missing")?;
    let tlog_entries = bundle
        .pointer("/verificationMaterial/tlogEntries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let entry = tlog_entries
        .first()
        .ok_or("expected 1 tlog timestamps, got 0")?;
    let statement = SignedStatement {
        certificate_der: &certificate,
        payload_type: envelope
            .get("payloadType")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        payload,
        signature: &signature,
        tlog_entry: entry,
    };
    let no_identity_policy = |_: &ParsedCertificate| Ok(());
    let leaf = verify_statement(&statement, trust, &no_identity_policy, Flavor::SigstoreJs)
        .map_err(|error| error.js_text())?;

    let source = leaf
        .utf8_extension(oids::SOURCE_REPOSITORY_URI)
        .ok_or("Missing SourceRepositoryURI in signing certificate")?;
    leaf.utf8_extension(oids::SOURCE_REPOSITORY_REF)
        .ok_or("Missing SourceRepositoryRef in signing certificate")?;
    if let Some(repository) = token_claims
        .and_then(|claims| claims.get("repository"))
        .and_then(Value::as_str)
    {
        let expected = format!("https://github.com/{repository}");
        if source != expected {
            return Err(format!(
                "Provenance signing certificate source repository \"{source}\" does not match the publishing repository \"{expected}\""
            ));
        }
    }
    Ok(())
}

/// Checks the bundle; `Ok` gives the parsed bundle to store, `Err` the text after the 422 prefix.
pub(crate) fn check(
    bundle_text: &str,
    name: &str,
    version: &str,
    tarball_sha512_hex: &str,
    manifest: &Map<String, Value>,
    token_claims: Option<&Map<String, Value>>,
    trust: &TrustMaterial,
) -> Result<Value, String> {
    let bundle: Value = serde_json::from_str(bundle_text)
        .map_err(|error| format!("the bundle is not JSON: {error}"))?;
    let media_type = bundle
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !media_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(format!("unsupported bundle media type \"{media_type}\""));
    }
    let envelope = bundle
        .get("dsseEnvelope")
        .ok_or("the bundle has no dsseEnvelope")?;
    if envelope.get("payloadType").and_then(Value::as_str) != Some(IN_TOTO_PAYLOAD_TYPE) {
        return Err("the DSSE payload is not an in-toto statement".to_owned());
    }
    let payload = envelope
        .get("payload")
        .and_then(Value::as_str)
        .and_then(|payload| STANDARD.decode(payload).ok())
        .ok_or("the DSSE envelope has no base64 payload")?;
    let statement: Value = serde_json::from_slice(&payload)
        .map_err(|_| "the DSSE payload is not base64-encoded JSON")?;
    verify_bundle(&bundle, envelope, &payload, trust, token_claims)?;
    check_statement(
        &statement,
        name,
        version,
        tarball_sha512_hex,
        manifest,
        token_claims,
    )?;
    Ok(bundle)
}

/// The statement's subject and source repository, and the identity's visibility and runner.
fn check_statement(
    statement: &Value,
    name: &str,
    version: &str,
    tarball_sha512_hex: &str,
    manifest: &Map<String, Value>,
    token_claims: Option<&Map<String, Value>>,
) -> Result<(), String> {
    let expected_purl = purl(name, version);
    let subjects = statement
        .get("subject")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let [subject] = subjects.as_slice() else {
        return Err(format!(
            "expected exactly one provenance subject, found {}",
            subjects.len()
        ));
    };
    let subject_name = subject
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if subject_name != expected_purl {
        return Err(format!(
            "Provenance subject {subject_name} does not match the package: {expected_purl}"
        ));
    }
    if subject.pointer("/digest/sha512").and_then(Value::as_str) != Some(tarball_sha512_hex) {
        return Err("Provenance subject digest does not match the package".to_owned());
    }

    if let Some(source) = statement
        .pointer("/predicate/buildDefinition/externalParameters/workflow/repository")
        .and_then(Value::as_str)
    {
        let declared = match manifest.get("repository") {
            Some(Value::String(url)) => url.clone(),
            Some(Value::Object(repository)) => repository
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        if normalize_repository_url(&declared) != source {
            return Err(format!(
                "Failed to validate repository information: package.json: \"repository.url\" is \"{declared}\", expected to match \"{source}\" from provenance"
            ));
        }
    }

    if let Some(claims) = token_claims {
        let visibility = claims
            .get("repository_visibility")
            .and_then(Value::as_str)
            .unwrap_or("public");
        if visibility != "public" {
            return Err(format!(
                "Unsupported GitHub Actions source repository visibility: \"{visibility}\". Only public source repositories are supported when publishing with provenance."
            ));
        }
        let runner = claims
            .get("runner_environment")
            .and_then(Value::as_str)
            .unwrap_or("github-hosted");
        if runner != "github-hosted" {
            return Err(format!(
                "Unsupported GitHub Actions runner environment: \"{runner}\". Only \"github-hosted\" runners are supported when publishing with provenance."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn statement(subject_name: &str, digest: &str, repository: &str) -> Value {
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": subject_name, "digest": {"sha512": digest}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"externalParameters": {"workflow": {"repository": repository}}}},
        })
    }

    fn manifest(repository: Value) -> Map<String, Value> {
        json!({"name": "@demo/pkg", "version": "1.0.0", "repository": repository})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn purls() {
        assert_eq!(purl("@demo/pkg", "1.0.0"), "pkg:npm/%40demo/pkg@1.0.0");
        assert_eq!(purl("left-pad", "1.3.0"), "pkg:npm/left-pad@1.3.0");
    }

    #[test]
    fn statement_checks() {
        let good = statement("pkg:npm/%40demo/pkg@1.0.0", "ab", "https://github.com/o/r");
        let repo = json!({"type": "git", "url": "git+https://github.com/o/r.git"});
        let check = |version: &str,
                     digest: &str,
                     manifest: &Map<String, Value>,
                     claims: Option<&Map<String, Value>>| {
            check_statement(&good, "@demo/pkg", version, digest, manifest, claims)
        };
        assert!(check("1.0.0", "ab", &manifest(repo.clone()), None).is_ok());
        insta::assert_snapshot!(check("1.0.0", "cd", &manifest(repo.clone()), None).unwrap_err(), @"Provenance subject digest does not match the package");
        insta::assert_snapshot!(check("2.0.0", "ab", &manifest(repo.clone()), None).unwrap_err(), @"Provenance subject pkg:npm/%40demo/pkg@1.0.0 does not match the package: pkg:npm/%40demo/pkg@2.0.0");
        insta::assert_snapshot!(check("1.0.0", "ab", &manifest(json!("https://github.com/O/r")), None).unwrap_err(), @r#"Failed to validate repository information: package.json: "repository.url" is "https://github.com/O/r", expected to match "https://github.com/o/r" from provenance"#);
        let private = json!({"repository_visibility": "private"})
            .as_object()
            .unwrap()
            .clone();
        insta::assert_snapshot!(check("1.0.0", "ab", &manifest(repo), Some(&private)).unwrap_err(), @r#"Unsupported GitHub Actions source repository visibility: "private". Only public source repositories are supported when publishing with provenance."#);
        assert_eq!(
            normalize_repository_url("github:o/r"),
            "https://github.com/o/r"
        );
        assert_eq!(
            normalize_repository_url("git@github.com:o/r.git"),
            "https://github.com/o/r"
        );
    }

    #[test]
    fn unsigned_or_foreign_bundles_are_refused() {
        let trust = crate::sigstore::test_trust_material();
        let unsigned = json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"certificate": {"rawBytes": "MII="}},
            "dsseEnvelope": {
                "payloadType": "application/vnd.in-toto+json",
                "payload": STANDARD.encode(statement("pkg:npm/x@1.0.0", "ab", "https://github.com/o/r").to_string()),
                "signatures": [],
            },
        })
        .to_string();
        let check = |text: &str| check(text, "x", "1.0.0", "ab", &Map::new(), None, &trust);
        insta::assert_snapshot!(check(&unsigned).unwrap_err(), @"invalid bundle: bundle.dsseEnvelope.signatures must contain exactly one signature");
        assert!(
            check("{}")
                .unwrap_err()
                .starts_with("unsupported bundle media type")
        );
    }
}
