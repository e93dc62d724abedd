//! Helpers for driving the compiled `trustpub` binary against the testbed.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use testbed::{Testbed, TestbedConfig};

pub async fn testbed() -> Testbed {
    Testbed::start(TestbedConfig::default())
        .await
        .expect("testbed starts")
}

/// Runs `trustpub` with exactly `env` (plus PATH and HOME), in `cwd`. Async, so an in-process
/// testbed keeps serving while the binary runs.
pub async fn trustpub(args: &[&str], env: &BTreeMap<String, String>, cwd: &Path) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_trustpub"));
    command.args(args).current_dir(cwd).env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(value) = std::env::var(key) {
            command.env(key, value);
        }
    }
    command.envs(env);
    command.output().await.expect("trustpub runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that nothing a run masked, no minted-token shape ([`token_shape`]: JWTs, PyPI, npm,
/// crates.io, RubyGems and NuGet tokens) and none of `also_secret` (the runner's request token,
/// passwords) appears outside `::add-mask::` lines. Returns the masked values.
pub fn assert_no_secret_leaks(output: &Output, also_secret: &[&str]) -> Vec<String> {
    match secret_leaks(&stdout(output), &stderr(output), also_secret) {
        Ok(masked) => masked,
        Err(leak) => panic!("{leak}"),
    }
}

/// [`assert_no_secret_leaks`] on text: the masked values, or which leak was found and where.
pub fn secret_leaks(out: &str, err: &str, also_secret: &[&str]) -> Result<Vec<String>, String> {
    let masked: Vec<String> = out
        .lines()
        .filter_map(|line| line.strip_prefix("::add-mask::"))
        .map(str::to_owned)
        .collect();
    for (stream, text) in [("stdout", out), ("stderr", err)] {
        for line in text.lines().filter(|l| !l.starts_with("::add-mask::")) {
            if let Some(shape) = token_shape(line) {
                return Err(format!("{shape} leaked on {stream}: {line}"));
            }
            if also_secret.iter().any(|secret| line.contains(secret)) {
                return Err(format!("a secret leaked on {stream}: {line}"));
            }
            if masked.iter().any(|secret| line.contains(secret.as_str())) {
                return Err(format!("a masked secret leaked on {stream}: {line}"));
            }
        }
    }
    Ok(masked)
}

/// The first credential shape in `line`, by name: what the registries mint (and the testbed
/// mints the same way, `testbed/src/{pypi/mint,npm/exchange,cratesio/exchange,rubygems,nuget}.rs`).
pub fn token_shape(line: &str) -> Option<&'static str> {
    fn base64url(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    }
    fn alnum(b: u8) -> bool {
        b.is_ascii_alphanumeric()
    }
    fn hex(b: u8) -> bool {
        b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
    }
    fn lower_alnum(b: u8) -> bool {
        b.is_ascii_lowercase() || b.is_ascii_digit()
    }
    // (name, prefix, characters after it, how many at least, must not follow a token character)
    type Shape = (&'static str, &'static str, fn(u8) -> bool, usize, bool);
    const SHAPES: &[Shape] = &[
        // A JWT: base64url of `{"` (an ID token, a Sigstore or registry JWT), not inside
        // another base64 string (a `sha512-…` integrity may hold `eyJ` by chance).
        ("a JWT", "eyJ", base64url, 0, true),
        // `pypi-` + a base64url macaroon (minted and API tokens: `pypi-AgEIcHlwaS5vcmc…`).
        ("a PyPI token", "pypi-", base64url, 32, false),
        // `npm_` + 36 alphanumerics (npm's granular and trusted-publishing tokens).
        ("an npm token", "npm_", alnum, 36, false),
        // crates.io: `cio_tp_` + 32 (trusted publishing) or `cio` + 32 alphanumerics (API).
        ("a crates.io token", "cio_tp_", alnum, 32, false),
        ("a crates.io token", "cio", alnum, 32, true),
        // RubyGems.org: `rubygems_` + 48 hex digits.
        ("a RubyGems key", "rubygems_", hex, 48, false),
        // NuGet.org: the older `oy2` + 43 lowercase alphanumerics.
        ("a NuGet API key", "oy2", lower_alnum, 43, true),
    ];
    let bytes = line.as_bytes();
    let token_char =
        |at: usize| at > 0 && (base64url(bytes[at - 1]) || matches!(bytes[at - 1], b'+' | b'/'));
    for at in 0..bytes.len() {
        for (name, prefix, class, least, boundary) in SHAPES {
            if bytes[at..].starts_with(prefix.as_bytes())
                && !(*boundary && token_char(at))
                && bytes[at + prefix.len()..]
                    .iter()
                    .take_while(|b| class(**b))
                    .count()
                    >= *least
            {
                return Some(name);
            }
        }
        // NuGet.org's ApiKeyV5: 52 lowercase alphanumerics, `JQQJ99`, 26 more (84 in all).
        if bytes[at..].starts_with(b"JQQJ99")
            && at >= 52
            && bytes[at - 52..at].iter().all(|b| lower_alnum(*b))
        {
            return Some("a NuGet API key");
        }
    }
    None
}

/// Writes a minimal valid wheel `<name>-<version>-py3-none-any.whl` into `dir`.
pub fn write_wheel(dir: &Path, name: &str, version: &str) -> std::path::PathBuf {
    use std::io::Write;
    std::fs::create_dir_all(dir).unwrap();
    let module = name.replace('-', "_");
    let path = dir.join(format!("{module}-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let dist_info = format!("{module}-{version}.dist-info");
    for (member, contents) in [
        (format!("{module}/__init__.py"), "VALUE = 1\n".to_owned()),
        (
            format!("{dist_info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ),
        (
            format!("{dist_info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_owned(),
        ),
        (format!("{dist_info}/RECORD"), String::new()),
    ] {
        zip.start_file(member, options).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// Writes an `npm pack`-shaped `<name>-<version>.tgz` (scope flattened) into `dir`, whose
/// `repository` is `https://github.com/<repository>` (what npm provenance is checked against).
pub fn write_npm_tarball(
    dir: &Path,
    name: &str,
    version: &str,
    repository: &str,
) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!(
        "{}-{version}.tgz",
        name.trim_start_matches('@').replace('/', "-")
    ));
    let manifest = serde_json::json!({
        "name": name,
        "version": version,
        "main": "index.js",
        "license": "MIT",
        "repository": {"type": "git", "url": format!("git+https://github.com/{repository}.git")},
        "publishConfig": {"access": "public"},
    })
    .to_string();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    ));
    for (member, contents) in [
        ("package/package.json", manifest.as_str()),
        ("package/index.js", "module.exports = 1;\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(499_162_500);
        header.set_cksum();
        tar.append_data(&mut header, member, contents.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

/// `--fulcio-url`, `--rekor-url` and `--trusted-root` for signing with the testbed's Sigstore.
pub fn testbed_sigstore_args(testbed: &Testbed) -> Vec<String> {
    vec![
        "--fulcio-url".into(),
        testbed.fulcio_url().to_string(),
        "--rekor-url".into(),
        testbed.rekor_url().to_string(),
        "--trusted-root".into(),
        testbed.sigstore_trusted_root_path().display().to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens shaped as the testbed (and the registries) mint them.
    const MINTED: &[(&str, &str)] = &[
        (
            "a JWT",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9jdG8ifQ.c2lnbmF0dXJl",
        ),
        (
            "a PyPI token",
            "pypi-AgEIcHlwaS5vcmcCJGZha2UtdG9rZW4tZm9yLXRydXN0cHViLXRlc3RzLW9ubHk_-x",
        ),
        ("an npm token", "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
        (
            "a crates.io token",
            "cio_tp_Ab3dEf7hIj1lMn0pQr5tUv9xYz2BcD4e",
        ),
        ("a crates.io token", "cioAb3dEf7hIj1lMn0pQr5tUv9xYz2BcD4f"),
        (
            "a RubyGems key",
            "rubygems_0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
        (
            "a NuGet API key",
            "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopJQQJ99A1b2CN5PaB3dE9S123NUGTx9Z0",
        ),
        (
            "a NuGet API key",
            "oy2abcdefghijklmnopqrstuvwxyz0123456789abcdefgh",
        ),
    ];

    #[test]
    fn every_minted_token_shape_is_found_wherever_it_is_in_a_line() {
        for (name, token) in MINTED {
            for line in [
                token.to_string(),
                format!("DEBUG reqwest: Authorization: Bearer {token}"),
                format!("token=\"{token}\", next"),
                format!("id_token={token}&next=1"),
            ] {
                assert_eq!(token_shape(&line), Some(*name), "{line}");
                let leak = secret_leaks("", &line, &[]).unwrap_err();
                assert!(leak.contains(&format!("{name} leaked on stderr")), "{leak}");
                let leak = secret_leaks(&format!("::add-mask::{token}\n{line}"), "", &[]);
                assert!(leak.unwrap_err().contains("leaked on stdout"));
            }
            // A masked token on its `::add-mask::` line is not a leak.
            let masked = secret_leaks(&format!("::add-mask::{token}\n"), "", &[]).unwrap();
            assert_eq!(masked, [*token]);
        }
    }

    #[test]
    fn ordinary_output_is_not_taken_for_a_token() {
        let lines = [
            "TRACE npm_exchange::publish: PUT https://registry.npmjs.org/@octo%2fpkg",
            "DEBUG pypi_exchange::upload: pypi-exchange 0.1.0 uploads 3 files",
            "sha256 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "Published @octo/pkg@1.0.0 with provenance (cio, rubygems_, npm_, pypi-, oy2)",
            "the token `pypi-AgEI…` (redacted) expires in 15 minutes",
            "https://pypi.org/project/precious-pkg/ has 0123456789abcdefghijklmnopqrstuvwxyzcio",
            "Published @octo/p@1.0.0  sha512-F2FciUoTFJdM+fmdeyJZiKYwhSQQ19qUGmkjHC+7ZP/eyJmKydLQ==",
        ];
        for line in lines {
            assert_eq!(token_shape(line), None, "{line}");
        }
        assert_eq!(
            secret_leaks("::add-mask::s3cret\nall good\n", "fine\n", &["hunter2"]),
            Ok(vec!["s3cret".to_owned()])
        );
        assert!(secret_leaks("", "pw hunter2", &["hunter2"]).is_err());
        assert!(secret_leaks("::add-mask::s3cret\n", "oops s3cret", &[]).is_err());
    }
}
