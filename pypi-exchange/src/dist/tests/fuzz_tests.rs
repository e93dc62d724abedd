//! Property-based fuzzing (proptest, stable Rust) of everything read from a distribution:
//! core metadata, wheels and sdists. Seeds are real files (`tests/fixtures/fuzz/`) and the
//! builders of the other tests; mutations flip, insert, delete and truncate bytes.
//!
//! Asserted: no panic, an error that names the file, and bounded memory (every member read is
//! capped; see `read.rs`). CI runs a few cases per target (`PROPTEST_CASES`, 64 by default
//! here); a longer local run: `PROPTEST_CASES=100000 cargo test -p pypi-exchange --lib fuzz_`.
//! A crash found becomes a named regression test at the end of this file.

use proptest::prelude::*;

use super::fixtures::{Member, metadata, tar_gz_bytes, wheel_members, zip_bytes};
use crate::dist::{CoreMetadata, Distribution};

const BUILD_METADATA: &[u8] = include_bytes!("../../../tests/fixtures/fuzz/build-1.6.1.METADATA");
const IDNA_METADATA: &[u8] = include_bytes!("../../../tests/fixtures/fuzz/idna-3.20.METADATA");
const BUILD_WHEEL: &[u8] = include_bytes!("../../../tests/fixtures/fuzz/build-1.6.1.WHEEL");

/// The default number of cases per target: a few seconds in a debug build.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..32)
        )
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Edit::Delete(at, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// Applies `edits` to `seed` (positions wrap around its length).
fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::Flip(at, b) => {
                if let Some(byte) = bytes.get_mut(at % len) {
                    *byte ^= b | 1;
                }
            }
            Edit::Insert(at, insert) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, insert.iter().copied());
            }
            Edit::Delete(at, n) => {
                let at = (at % len).min(bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Edit::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(), 1..6)
}

fn seed_wheel() -> Vec<u8> {
    let members = wheel_members(
        "build-1.6.1.dist-info",
        &String::from_utf8_lossy(BUILD_METADATA),
    );
    let mut members: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(name, data)| (name.as_str(), data.as_slice()))
        .collect();
    members.retain(|(name, _)| !name.ends_with("/WHEEL"));
    members.push(("build-1.6.1.dist-info/WHEEL", BUILD_WHEEL));
    zip_bytes(&members)
}

fn seed_sdist() -> Vec<u8> {
    tar_gz_bytes(&[
        Member::Dir("idna-3.20"),
        Member::File("idna-3.20/PKG-INFO", IDNA_METADATA),
        Member::File("idna-3.20/idna/__init__.py", b"__version__ = '3.20'\n"),
    ])
}

/// Reads `bytes` as the file `name`: success or an error naming the file, never a panic.
fn read_as(name: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs_err::write(&path, bytes).unwrap();
    match Distribution::read(&path) {
        Ok(dist) => assert_eq!(dist.size, bytes.len() as u64),
        Err(error) => {
            assert_eq!(error.path(), path.as_path());
            assert!(!error.to_string().is_empty());
        }
    }
}

#[test]
fn the_seeds_are_valid() {
    for seed in [BUILD_METADATA, IDNA_METADATA] {
        CoreMetadata::parse(seed).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("build-1.6.1-py3-none-any.whl");
    fs_err::write(&wheel, seed_wheel()).unwrap();
    Distribution::read(&wheel).unwrap();
    let sdist = dir.path().join("idna-3.20.tar.gz");
    fs_err::write(&sdist, seed_sdist()).unwrap();
    Distribution::read(&sdist).unwrap();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_core_metadata_mutated(seed in prop_oneof![Just(BUILD_METADATA), Just(IDNA_METADATA)], edits in edits()) {
        let bytes = mutate(seed, &edits);
        if let Err(error) = CoreMetadata::parse(&bytes) {
            prop_assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn fuzz_core_metadata_arbitrary(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = CoreMetadata::parse(&bytes);
    }

    #[test]
    fn fuzz_core_metadata_fields(
        fields in proptest::collection::vec(("[A-Za-z-]{1,20}", "[ -~\t]{0,40}"), 0..20),
        body in "[ -~\n]{0,200}",
    ) {
        let mut text = String::from("Metadata-Version: 2.4\n");
        for (name, value) in &fields {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push('\n');
        text.push_str(&body);
        let _ = CoreMetadata::parse(text.as_bytes());
    }

    #[test]
    fn fuzz_wheel_reading(edits in edits()) {
        read_as("build-1.6.1-py3-none-any.whl", &mutate(&seed_wheel(), &edits));
    }

    #[test]
    fn fuzz_sdist_reading(edits in edits()) {
        read_as("idna-3.20.tar.gz", &mutate(&seed_sdist(), &edits));
    }

    #[test]
    fn fuzz_wheel_members(
        // Distinct names: the zip writer refuses duplicates (the reader is what is under test).
        members in proptest::collection::btree_map("[a-z./-]{1,40}", proptest::collection::vec(any::<u8>(), 0..64), 0..6),
    ) {
        let mut all = wheel_members("x-1.0.dist-info", &metadata("2.1", "x", "1.0", ""));
        for (name, data) in members {
            if !all.iter().any(|(existing, _)| *existing == name) {
                all.push((name, data));
            }
        }
        let all: Vec<(&str, &[u8])> = all.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        read_as("x-1.0-py3-none-any.whl", &zip_bytes(&all));
    }
}

// Regression tests for inputs the fuzzers found go here, one named test each.
