//! Building `npm pack`-style tarballs in tests, and finding npm for the comparison tests.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A gzip-compressed tar of `(path, contents)` regular files, laid out as `npm pack` does
/// (`package/...`, mode 0644, npm's fixed mtime of 1985-10-26).
pub(crate) fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_path(path).unwrap();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(499_162_500);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    gzip(&builder.into_inner().unwrap())
}

/// Gzip with a fixed header, so the bytes are the same on every run.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A minimal package: `package.json`, `README.md` and `index.js`.
pub(crate) fn package_tgz(package_json: &str) -> Vec<u8> {
    tgz(&[
        ("package/package.json", package_json.as_bytes()),
        ("package/README.md", b"# Demo\n\nA demo package.\n"),
        ("package/index.js", b"module.exports = 1\n"),
    ])
}

/// Writes `bytes` to `dir/name`.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs_err::write(&path, bytes).unwrap();
    path
}

/// `text` with the temporary directory replaced by `[TMP]`, for snapshots.
pub(crate) fn scrub(text: &str, dir: &Path) -> String {
    text.replace(&dir.display().to_string(), "[TMP]")
}

/// Whether `npm` can be run. Outside CI a missing npm skips the test with a printed reason; in
/// CI (`CI=true`) it fails the test, so the comparison with npm is never silently lost.
pub(crate) fn npm_available() -> bool {
    let found = std::process::Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        trustpub_test_tools::skip(
            "npm is not installed: install Node.js 20+ with npm 11 so the comparison with npm runs",
        );
    }
    found
}

/// An `npm` command isolated from the user's configuration and from CI detection (so that npm
/// does not attempt an OIDC exchange or provenance).
pub(crate) fn npm(scratch: &Path) -> tokio::process::Command {
    let userconfig = write(scratch, "npmrc", b"");
    let mut command = tokio::process::Command::new("npm");
    for (key, _) in std::env::vars() {
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("npm_config_")
            || lower.starts_with("actions_id_token")
            || key == "NPM_ID_TOKEN"
        {
            command.env_remove(&key);
        }
    }
    command
        .env("CI", "false")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .env_remove("CIRCLECI")
        .env("npm_config_userconfig", userconfig)
        .env("npm_config_cache", scratch.join("npm-cache"))
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_loglevel", "error")
        .kill_on_drop(true);
    command
}
