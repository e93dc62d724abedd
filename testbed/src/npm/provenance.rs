//! The registry's checks on a provenance attachment (`<name>-<version>.sigstore`, raw Sigstore bundle JSON):
//! bundle shape, one in-toto subject naming the package's purl and the tarball's SHA-512, the source repository
//! against `package.json`'s `repository.url`, and the public-repository / GitHub-hosted-runner rules. Failures are
//! 422 `Error verifying sigstore provenance bundle: …`. The Sigstore signatures themselves are not verified here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

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

/// Checks the bundle; `Ok` gives the parsed bundle to store, `Err` the text after the 422 prefix.
pub(crate) fn check(
    bundle_text: &str,
    name: &str,
    version: &str,
    tarball_sha512_hex: &str,
    manifest: &Map<String, Value>,
    token_claims: Option<&Map<String, Value>>,
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
    if envelope.get("payloadType").and_then(Value::as_str) != Some("application/vnd.in-toto+json") {
        return Err("the DSSE payload is not an in-toto statement".to_owned());
    }
    let payload = envelope
        .get("payload")
        .and_then(Value::as_str)
        .ok_or("the DSSE envelope has no payload")?;
    let statement: Value = STANDARD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("the DSSE payload is not base64-encoded JSON")?;

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
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(subject_name: &str, digest: &str, repository: &str) -> String {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": subject_name, "digest": {"sha512": digest}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"externalParameters": {"workflow": {"repository": repository}}}},
        });
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json", "payload": STANDARD.encode(statement.to_string()), "signatures": []},
        })
        .to_string()
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
    fn checks() {
        let good = bundle("pkg:npm/%40demo/pkg@1.0.0", "ab", "https://github.com/o/r");
        let repo = json!({"type": "git", "url": "git+https://github.com/o/r.git"});
        assert!(
            check(
                &good,
                "@demo/pkg",
                "1.0.0",
                "ab",
                &manifest(repo.clone()),
                None
            )
            .is_ok()
        );
        insta::assert_snapshot!(check(&good, "@demo/pkg", "1.0.0", "cd", &manifest(repo.clone()), None).unwrap_err(), @"Provenance subject digest does not match the package");
        insta::assert_snapshot!(check(&good, "@demo/pkg", "2.0.0", "ab", &manifest(repo.clone()), None).unwrap_err(), @"Provenance subject pkg:npm/%40demo/pkg@1.0.0 does not match the package: pkg:npm/%40demo/pkg@2.0.0");
        insta::assert_snapshot!(check(&good, "@demo/pkg", "1.0.0", "ab", &manifest(json!("https://github.com/O/r")), None).unwrap_err(), @r#"Failed to validate repository information: package.json: "repository.url" is "https://github.com/O/r", expected to match "https://github.com/o/r" from provenance"#);
        let private = json!({"repository_visibility": "private"})
            .as_object()
            .unwrap()
            .clone();
        insta::assert_snapshot!(check(&good, "@demo/pkg", "1.0.0", "ab", &manifest(repo), Some(&private)).unwrap_err(), @r#"Unsupported GitHub Actions source repository visibility: "private". Only public source repositories are supported when publishing with provenance."#);
        assert!(
            check("{}", "@demo/pkg", "1.0.0", "ab", &Map::new(), None)
                .unwrap_err()
                .starts_with("unsupported bundle media type")
        );
        assert_eq!(
            normalize_repository_url("github:o/r"),
            "https://github.com/o/r"
        );
        assert_eq!(
            normalize_repository_url("git@github.com:o/r.git"),
            "https://github.com/o/r"
        );
    }
}
