//! Property-based fuzzing (proptest, stable Rust) of what is read from a package tarball: the
//! gzip/tar layer and `package.json` with its normalisation. Seeds are real `package.json` files
//! (`tests/fixtures/fuzz/`) packed as `npm pack` does; mutations flip, insert and cut bytes.
//!
//! Asserted: no panic, an error naming the tarball, and bounded memory (members are capped, the
//! gzip stream is counted). CI runs a few cases (`PROPTEST_CASES`, 64 by default here); locally:
//! `PROPTEST_CASES=100000 cargo test -p npm-exchange --lib fuzz_`. A crash found becomes a named
//! regression test at the end of this file.

use proptest::prelude::*;

use super::manifest::Manifest;
use super::normalize::PackageFiles;
use super::tarball::PackageTarball;
use super::test_support::{package_tgz, tgz, write};

const AJV: &str = include_str!("../../tests/fixtures/fuzz/ajv.package.json");
const ARGPARSE: &str = include_str!("../../tests/fixtures/fuzz/argparse.package.json");

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn mutate(seed: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for &(at, byte, kind) in edits {
        let at = at % (bytes.len() + 1);
        match kind {
            0 if at < bytes.len() => bytes[at] ^= byte | 1,
            1 => bytes.insert(at, byte),
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8)
}

fn read(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "pkg.tgz", bytes);
    match PackageTarball::read(&path) {
        Ok(tarball) => assert_eq!(tarball.size(), bytes.len() as u64),
        Err(error) => {
            let text = error.to_string();
            assert!(text.contains("pkg.tgz"), "{text}");
        }
    }
}

#[test]
fn the_seeds_are_valid() {
    for seed in [AJV, ARGPARSE] {
        let dir = tempfile::tempdir().unwrap();
        PackageTarball::read(&write(dir.path(), "pkg.tgz", &package_tgz(seed))).unwrap();
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_package_json_mutated(seed in prop_oneof![Just(AJV), Just(ARGPARSE)], edits in edits()) {
        let bytes = mutate(seed.as_bytes(), &edits);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Manifest::from_package_json(&text, &PackageFiles::default());
    }

    #[test]
    fn fuzz_package_json_fields(
        field in proptest::sample::select(&[
            "name", "version", "main", "bin", "man", "files", "directories", "repository",
            "bugs", "homepage", "license", "author", "contributors", "scripts", "dependencies",
            "bundleDependencies", "publishConfig", "engines", "exports", "types", "readme",
        ][..]),
        value in prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,24}".prop_map(serde_json::Value::from),
            proptest::collection::vec(".{0,8}", 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(".{0,8}", ".{0,8}", 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().map(|(k, v)| (k, v.into())).collect())),
        ],
    ) {
        let mut json: serde_json::Value = serde_json::from_str(ARGPARSE).unwrap();
        json[field] = value;
        let _ = Manifest::from_package_json(&json.to_string(), &PackageFiles::default());
    }

    #[test]
    fn fuzz_tarball_mutated(seed in prop_oneof![Just(AJV), Just(ARGPARSE)], edits in edits()) {
        read(&mutate(&package_tgz(seed), &edits));
    }

    #[test]
    fn fuzz_tarball_members(
        // Names the tar writer accepts (it refuses `..`); the reader is what is under test.
        members in proptest::collection::vec((
            "[a-zA-Z./]{1,30}".prop_filter("a path tar can write", |n| !n.split('/').any(|s| s == "..")),
            proptest::collection::vec(any::<u8>(), 0..64),
        ), 0..6),
    ) {
        let mut all: Vec<(String, Vec<u8>)> = vec![("package/package.json".into(), ARGPARSE.as_bytes().to_vec())];
        all.extend(members.into_iter().map(|(name, data)| (format!("package/{name}"), data)));
        let entries: Vec<(&str, &[u8])> = all.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        read(&tgz(&entries));
    }
}

// Regression tests for inputs the fuzzers found go here, one named test each.
