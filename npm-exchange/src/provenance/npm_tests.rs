//! Comparisons with libnpmpublish itself: its `generateProvenance` builds the statement for the
//! same variables and tarball, and its `verifyProvenance` checks the same `--provenance-file`
//! bundles, with Sigstore replaced by a stand-in (signing and verification are not compared
//! here). They need Node.js and npm 11: outside CI they are skipped with a message when either
//! is missing; with `CI=true` they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::test_support::{env_of, github_vars, gitlab_vars};
use super::{CiBuild, ProvenanceBundle, ProvenanceStatement, ProvenanceSubject};
use crate::package::PackageTarball;
use crate::package::test_support::{package_tgz, write};

/// Runs libnpmpublish's provenance code with `sigstore` replaced: `attest` returns the payload
/// it was given, `verify` accepts everything.
///
/// `statement <lib> <name> <version> <tarball>`: the statement for the tarball, with the
/// subject computed as `lib/publish.js` does (`npa.toPurl(npa.resolve(name, version))` and
/// ssri's sha512 `hexDigest()`).
/// `bundle <lib> <name> <version> <tarball> <bundle file>`: `OK <JSON.stringify(bundle)>` or
/// `ERR <message>` from `verifyProvenance`.
const SCRIPT: &str = r#"
const path = require('node:path')
const fs = require('node:fs')
const [mode, lib, name, version, tarball, bundleFile] = process.argv.slice(2)
const provenance = require.resolve(path.join(lib, 'lib', 'provenance.js'))
const sigstore = require.resolve('sigstore', { paths: [path.dirname(provenance)] })
require.cache[sigstore] = {
  id: sigstore, filename: sigstore, loaded: true,
  exports: { attest: async (payload) => payload, verify: async () => {} },
}
const npa = require(require.resolve('npm-package-arg', { paths: [lib] }))
const ssri = require(require.resolve('ssri', { paths: [lib] }))
const { generateProvenance, verifyProvenance } = require(provenance)
const integrity = ssri.fromData(fs.readFileSync(tarball), { algorithms: ['sha1', 'sha512'] })
const subject = {
  name: npa.toPurl(npa.resolve(name, version)),
  digest: { sha512: integrity.sha512[0].hexDigest() },
}
if (mode === 'statement') {
  generateProvenance([subject], {}).then((payload) => process.stdout.write(payload))
} else {
  verifyProvenance(subject, bundleFile).then(
    (bundle) => process.stdout.write('OK ' + JSON.stringify(bundle)),
    (error) => process.stdout.write('ERR ' + error.message),
  )
}
"#;

/// libnpmpublish as bundled with the installed npm (`TRUSTPUB_LIBNPMPUBLISH` overrides), or
/// `None` when Node.js or npm is missing: a skip with a printed reason outside CI, a failure
/// with `CI=true`.
fn libnpmpublish() -> Option<PathBuf> {
    let found = || -> Result<PathBuf, String> {
        let node = Command::new("node").arg("--version").output();
        if !node.is_ok_and(|o| o.status.success()) {
            return Err("node is not installed".into());
        }
        let dir = match std::env::var_os("TRUSTPUB_LIBNPMPUBLISH") {
            Some(dir) => PathBuf::from(dir),
            None => {
                let root = Command::new("npm")
                    .args(["root", "-g"])
                    .output()
                    .map_err(|e| format!("npm is not installed ({e})"))?;
                let root = String::from_utf8_lossy(&root.stdout).trim().to_owned();
                Path::new(&root).join("npm/node_modules/libnpmpublish")
            }
        };
        if dir.join("lib/provenance.js").is_file() {
            Ok(dir)
        } else {
            Err(format!("{} has no lib/provenance.js", dir.display()))
        }
    };
    match found() {
        Ok(dir) => Some(dir),
        Err(reason) => {
            trustpub_test_tools::skip(&format!(
                "{reason}: install Node.js 20+ with npm 11 to compare with libnpmpublish"
            ));
            None
        }
    }
}

/// Runs the script with exactly `vars` as its environment (plus `PATH`).
fn node(vars: &[(&'static str, String)], args: &[&str]) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let script = write(scratch.path(), "provenance.js", SCRIPT.as_bytes());
    let output = Command::new("node")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A tarball of `name@version` in `dir`.
fn tarball(dir: &Path, name: &str, version: &str) -> PackageTarball {
    let json = format!(r#"{{"name":"{name}","version":"{version}"}}"#);
    let path = write(dir, "pkg.tgz", &package_tgz(&json));
    PackageTarball::read(&path).unwrap()
}

#[test]
fn statements_match_libnpmpublish() {
    let Some(lib) = libnpmpublish() else { return };
    let lib = lib.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let packages = [
        ("@demo/pkg", "1.2.3"),
        ("left-pad", "0.0.1-beta.2"),
        ("@Scope.x/Name_y", "10.0.0"),
    ];
    for vars in [github_vars(), gitlab_vars()] {
        let build = CiBuild::from_env(&env_of(&vars)).unwrap();
        for (name, version) in packages {
            let tarball = tarball(dir.path(), name, version);
            let path = tarball.path().to_str().unwrap();
            let ours = ProvenanceStatement::new(&build, &ProvenanceSubject::for_tarball(&tarball));
            let npm = node(&vars, &["statement", lib, name, version, path]);
            assert_eq!(
                ours.as_str(),
                npm,
                "{:?} {name}@{version}",
                build.provider()
            );
        }
    }
}

#[test]
fn provenance_files_are_checked_as_libnpmpublish_checks_them() {
    let Some(lib) = libnpmpublish() else { return };
    let lib = lib.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tarball = tarball(dir.path(), "@demo/pkg", "1.2.3");
    let subject = ProvenanceSubject::for_tarball(&tarball);
    let tgz = tarball.path().to_str().unwrap();
    for (label, text) in super::bundle::tests::cases(&subject) {
        let file = write(dir.path(), "bundle.json", text.as_bytes());
        let npm = node(
            &[],
            &[
                "bundle",
                lib,
                "@demo/pkg",
                "1.2.3",
                tgz,
                file.to_str().unwrap(),
            ],
        );
        let ours = match ProvenanceBundle::parse(&text, &subject) {
            Ok(bundle) => format!("OK {}", bundle.json()),
            Err(error) => format!("ERR {error}"),
        };
        match npm.strip_prefix("ERR ") {
            // npm's own JSON parser messages differ from ours; the prefix is the same.
            Some(message) if message.starts_with("Invalid provenance provided: ") => {
                assert!(
                    ours.starts_with("ERR Invalid provenance provided: "),
                    "{label}: {ours}"
                );
            }
            Some(message) if message.starts_with("Failed to parse payload from dsseEnvelope: ") => {
                assert!(
                    ours.starts_with("ERR Failed to parse payload from dsseEnvelope: "),
                    "{label}: {ours}"
                );
            }
            _ => assert_eq!(ours, npm, "{label}"),
        }
    }
}
