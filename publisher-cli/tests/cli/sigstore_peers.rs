//! trustpub's Sigstore output, checked by verifiers that share no code with it: the real
//! `trustpub` binary signs against the testbed's Fulcio and Rekor, then
//! - PEP 740 attestations go through pypi-attestations (`Attestation.verify` with PyPI's GitHub
//!   publisher policy), the `sigstore verify identity --offline` command line (sigstore-python)
//!   and `@sigstore/verify` (sigstore-js);
//! - npm provenance bundles go through sigstore-python's DSSE verification and
//!   `@sigstore/verify`, each binding the tarball through the statement's subject;
//! - each must refuse the wrong identity (another repository, another workflow), a modified
//!   artifact (one byte changed, another file) and the wrong trust root (a second testbed's),
//!   and `trustpub verify` must agree with them on every case (exit 0 or 7).
//!
//! The verifiers run from `publisher-cli/tests/cli/verifiers/`: one Python and one node process per
//! test check every case.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::tools;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use common::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use testbed::{NpmPublisher, PypiPublisher, Testbed};
use tools::*;

const PROJECT: &str = "sigstore-peers";
const PACKAGE: &str = "@sigstore-peers/sample";
const PURL: &str = "pkg:npm/%40sigstore-peers/sample@1.0.0";
const PEP740_PREDICATE: &str = "https://docs.pypi.org/attestations/publish/v1";
const SLSA_PREDICATE: &str = "https://slsa.dev/provenance/v1";
/// trustpub's exit code for an artifact that does not verify.
const VERIFICATION_FAILED: i32 = 7;

struct Verifiers {
    python: PathBuf,
    sigstore: PathBuf,
    node: PathBuf,
    node_modules: PathBuf,
}

fn verifiers() -> Option<Verifiers> {
    let bin = tools_bin();
    require(bin.join("pypi-attestations"), "pypi-attestations")?;
    require(node_modules().join("@sigstore/verify"), "@sigstore/verify")?;
    Some(Verifiers {
        python: require(bin.join("python"), "the tools venv's python")?,
        sigstore: require(bin.join("sigstore"), "sigstore-python")?,
        node: require_on_path("node")?,
        node_modules: node_modules(),
    })
}

/// The identity a consumer expects to have signed: a GitHub Actions workflow.
#[derive(Debug, Clone)]
struct Signer {
    repository: String,
    workflow: String,
    git_ref: String,
    issuer: String,
}

impl Signer {
    fn of(testbed: &Testbed) -> Self {
        let identity = testbed.identity();
        Self {
            repository: identity.repository,
            workflow: identity.workflow_file,
            git_ref: identity.git_ref,
            issuer: identity.issuer,
        }
    }

    /// The certificate's SAN: the workflow file at the ref that ran it.
    fn san(&self) -> String {
        format!(
            "https://github.com/{}/.github/workflows/{}@{}",
            self.repository, self.workflow, self.git_ref
        )
    }

    fn with_repository(&self, repository: &str) -> Self {
        Self {
            repository: repository.into(),
            ..self.clone()
        }
    }

    fn with_workflow(&self, workflow: &str) -> Self {
        Self {
            workflow: workflow.into(),
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A wheel or sdist with its PEP 740 attestation.
    Pypi,
    /// An npm tarball with its provenance bundle.
    Npm,
}

/// One verification every verifier runs: must it pass or be refused?
struct Case {
    name: &'static str,
    kind: Kind,
    artifact: PathBuf,
    /// The `.publish.attestation` or `.sigstore.json` to check the artifact against.
    attestation: PathBuf,
    /// The testbed whose `trusted_root.json` / `trust_config.json` the verifiers trust.
    trusted_root: PathBuf,
    trust_config: PathBuf,
    signer: Signer,
    verifies: bool,
    /// `(verifier, a word its answer must contain)`: the predicate type of a verified
    /// statement, the reason of a refusal, so that nothing passes or fails by accident.
    because: Vec<(&'static str, &'static str)>,
}

impl Case {
    fn new(
        name: &'static str,
        kind: Kind,
        artifact: &Path,
        attestation: &Path,
        trust: &Testbed,
        signer: &Signer,
    ) -> Self {
        Self {
            name,
            kind,
            artifact: artifact.to_owned(),
            attestation: attestation.to_owned(),
            trusted_root: trust.sigstore_trusted_root_path().to_owned(),
            trust_config: trust.sigstore_trust_config_path().to_owned(),
            signer: signer.clone(),
            verifies: false,
            because: Vec::new(),
        }
    }

    /// Every verifier must accept the case, each answering with its word.
    fn verifies(mut self, words: &[(&'static str, &'static str)]) -> Self {
        self.verifies = true;
        self.because = words.to_vec();
        self
    }

    /// Every verifier must refuse the case, each for the reason its word names.
    fn refused(mut self, reasons: &[(&'static str, &'static str)]) -> Self {
        self.verifies = false;
        self.because = reasons.to_vec();
        self
    }

    /// The case as the verifier scripts read it. For PEP 740 the Python script writes the
    /// attestation converted to a Sigstore bundle to `bundle`, where sigstore-js reads it.
    fn to_json(&self, bundles: &Path) -> Value {
        let (kind, bundle) = match self.kind {
            Kind::Pypi => ("pypi", bundles.join(format!("{}.sigstore.json", self.name))),
            Kind::Npm => ("npm", self.attestation.clone()),
        };
        json!({
            "name": self.name,
            "kind": kind,
            "artifact": self.artifact,
            "attestation": self.attestation,
            "bundle": bundle,
            "subject_name": PURL,
            "trusted_root": self.trusted_root,
            "trust_config": self.trust_config,
            "repository": self.signer.repository,
            "workflow": self.signer.workflow,
            "san": self.signer.san(),
            "issuer": self.signer.issuer,
        })
    }

    /// Where `trustpub verify` looks for the attestation when not told.
    fn beside(&self) -> PathBuf {
        let suffix = match self.kind {
            Kind::Pypi => ".publish.attestation",
            Kind::Npm => ".sigstore.json",
        };
        PathBuf::from(format!("{}{suffix}", self.artifact.display()))
    }
}

/// One verifier's answer for one case.
#[derive(Debug, Clone)]
struct Verdict {
    ok: bool,
    detail: String,
}

/// `case → verifier → verdict`.
type Verdicts = BTreeMap<String, BTreeMap<String, Verdict>>;

fn merge(verdicts: &mut Verdicts, results: &Path) {
    let results: Value = serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    for (case, by_verifier) in results.as_object().unwrap() {
        for (verifier, verdict) in by_verifier.as_object().unwrap() {
            verdicts.entry(case.clone()).or_default().insert(
                verifier.clone(),
                Verdict {
                    ok: verdict["ok"].as_bool().unwrap(),
                    detail: verdict["detail"].as_str().unwrap().to_owned(),
                },
            );
        }
    }
}

/// Runs every case through the Python verifiers, sigstore-js and `trustpub verify`.
async fn run_verifiers(verifiers: &Verifiers, dir: &Path, cases: &[Case]) -> Verdicts {
    let bundles = dir.join("bundles");
    std::fs::create_dir_all(&bundles).unwrap();
    let cases_file = dir.join("cases.json");
    let json_cases: Vec<Value> = cases.iter().map(|case| case.to_json(&bundles)).collect();
    std::fs::write(
        &cases_file,
        serde_json::to_string_pretty(&json!({ "cases": json_cases })).unwrap(),
    )
    .unwrap();
    let mut verdicts = Verdicts::new();

    let python_results = dir.join("python-results.json");
    run_ok(
        &verifiers.python,
        &[
            verifier_script("python_verifiers.py").to_str().unwrap(),
            cases_file.to_str().unwrap(),
            python_results.to_str().unwrap(),
        ],
        dir,
        &[],
    )
    .await;
    merge(&mut verdicts, &python_results);

    let js_results = dir.join("js-results.json");
    run_ok(
        &verifiers.node,
        &[
            verifier_script("sigstore_js.cjs").to_str().unwrap(),
            cases_file.to_str().unwrap(),
            js_results.to_str().unwrap(),
        ],
        dir,
        &[("NODE_PATH", verifiers.node_modules.to_str().unwrap())],
    )
    .await;
    merge(&mut verdicts, &js_results);

    for case in cases {
        let verdict = trustpub_verify(case, dir).await;
        verdicts
            .entry(case.name.to_owned())
            .or_default()
            .insert("trustpub verify".into(), verdict);
    }
    verdicts
}

async fn trustpub_verify(case: &Case, dir: &Path) -> Verdict {
    let artifact = case.artifact.display().to_string();
    let attestation = case.attestation.display().to_string();
    let trusted_root = case.trusted_root.display().to_string();
    let mut args = vec![
        "verify",
        artifact.as_str(),
        "--repository",
        case.signer.repository.as_str(),
        "--workflow",
        case.signer.workflow.as_str(),
        "--ref",
        case.signer.git_ref.as_str(),
        "--issuer",
        case.signer.issuer.as_str(),
        "--trusted-root",
        trusted_root.as_str(),
    ];
    if case.attestation != case.beside() {
        args.extend(["--bundle", attestation.as_str()]);
    }
    let output = trustpub(&args, &BTreeMap::new(), dir).await;
    let code = output.status.code();
    assert!(
        code == Some(0) || code == Some(VERIFICATION_FAILED),
        "trustpub verify ended with {code:?} for case {}:\n{}",
        case.name,
        stderr(&output)
    );
    Verdict {
        ok: code == Some(0),
        detail: stderr(&output)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" / "),
    }
}

/// Every verifier gave every case its expected answer, for the expected reason. On any
/// mismatch the whole table is shown.
fn assert_verdicts(cases: &[Case], verdicts: &Verdicts, expected_verifiers: &[&str]) {
    let mut table = String::new();
    let mut wrong = Vec::new();
    for case in cases {
        for (verifier, _) in &case.because {
            assert!(
                expected_verifiers.contains(verifier),
                "case {}: no verifier {verifier}",
                case.name
            );
        }
        let by_verifier = verdicts.get(case.name).cloned().unwrap_or_default();
        for verifier in expected_verifiers {
            let Some(verdict) = by_verifier.get(*verifier) else {
                wrong.push(format!("{}: {verifier} gave no answer", case.name));
                continue;
            };
            let mark = match (case.verifies, verdict.ok) {
                (true, true) => "verified",
                (false, false) => "refused",
                (true, false) => "REFUSED (must verify)",
                (false, true) => "VERIFIED (must refuse)",
            };
            writeln!(
                table,
                "{:<18} {:<18} {:<24} {}",
                case.name, verifier, mark, verdict.detail
            )
            .unwrap();
            if case.verifies != verdict.ok {
                wrong.push(format!("{}: {verifier} {mark}", case.name));
            }
            for (reason_verifier, word) in &case.because {
                if reason_verifier == verifier && !verdict.detail.contains(word) {
                    wrong.push(format!(
                        "{}: {verifier} must give a reason containing {word:?}",
                        case.name
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}\n\n{table}", wrong.join("\n"));
}

/// Writes the sdist `<module>-<version>.tar.gz` for `project` into `dir`.
fn write_sdist(dir: &Path, project: &str, version: &str) -> PathBuf {
    let module = project.replace('-', "_");
    let path = dir.join(format!("{module}-{version}.tar.gz"));
    let mut tar = tar::Builder::new(GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        Compression::default(),
    ));
    let top = format!("{module}-{version}");
    for (name, contents) in [
        (
            format!("{top}/PKG-INFO"),
            format!("Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"),
        ),
        (
            format!("{top}/pyproject.toml"),
            format!("[project]\nname = \"{project}\"\nversion = \"{version}\"\n"),
        ),
        (format!("{top}/{module}/__init__.py"), "VALUE = 1\n".into()),
    ] {
        append(&mut tar, &name, contents.as_bytes());
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

/// Writes an npm tarball (`package/…`, as `npm pack` lays it out) of `PACKAGE@1.0.0`.
fn write_npm_tarball(path: &Path, repository: &str, index_js: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let manifest = serde_json::to_string_pretty(&json!({
        "name": PACKAGE,
        "version": "1.0.0",
        "description": "trustpub Sigstore peers sample",
        "main": "index.js",
        "license": "MIT",
        "repository": {"type": "git", "url": format!("git+https://github.com/{repository}.git")},
        "publishConfig": {"access": "public"}
    }))
    .unwrap();
    let mut tar = tar::Builder::new(GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        Compression::default(),
    ));
    append(&mut tar, "package/package.json", manifest.as_bytes());
    append(&mut tar, "package/index.js", index_js.as_bytes());
    tar.into_inner().unwrap().finish().unwrap();
}

fn append<W: std::io::Write>(tar: &mut tar::Builder<W>, name: &str, contents: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(contents.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    tar.append_data(&mut header, name, contents).unwrap();
}

/// Copies a gzip file (an sdist or npm tarball) to `to` with one byte changed: the header's
/// OS field, so the copy is still a perfectly readable archive with the same contents, and
/// only a verifier that hashes the whole file notices.
fn copy_with_one_byte_changed(from: &Path, to: &Path) {
    let mut bytes = std::fs::read(from).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "{} is gzip", from.display());
    bytes[9] = if bytes[9] == 3 { 255 } else { 3 };
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::File::create(to)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
}

fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pep740_attestations_verify_with_pypi_attestations_sigstore_python_and_sigstore_js() {
    let Some(verifiers) = verifiers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let testbed = common::testbed().await;
    let other_sigstore = common::testbed().await;
    let signer = Signer::of(&testbed);
    let identity = testbed.identity();
    let (owner, repo) = identity.repository.split_once('/').unwrap();
    testbed.add_pypi_publisher(
        PROJECT,
        PypiPublisher::new(
            owner,
            repo,
            identity.repository_owner_id,
            &identity.workflow_file,
        ),
    );
    let dist = dir.join("dist");
    let wheel = write_wheel(&dist, PROJECT, "1.0.0");
    let sdist = write_sdist(&dist, PROJECT, "1.0.0");

    let upload_url = testbed.pypi_upload_url().to_string();
    let mut args = vec![
        "pypi".to_owned(),
        "upload".into(),
        "--repository-url".into(),
        upload_url,
        "--attestations".into(),
        "true".into(),
    ];
    args.extend(testbed_sigstore_args(&testbed));
    args.push("dist".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = trustpub(&args, &testbed.github_env(), dir).await;
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    let attestation =
        |dist: &Path| PathBuf::from(format!("{}.publish.attestation", dist.display()));
    for dist in [&wheel, &sdist] {
        assert!(
            attestation(dist).is_file(),
            "{} is written",
            attestation(dist).display()
        );
    }
    let files = testbed.pypi_files(PROJECT);
    assert_eq!(files.len(), 2);
    assert!(
        files.iter().all(|file| file.attestations.is_some()),
        "the testbed PyPI took (and verified) both attestations: {files:?}"
    );
    let records = testbed.records();
    assert_eq!(
        records.certificates_issued[0].subject_alternative_name,
        signer.san()
    );

    // A modified dist: the sdist with one byte changed, its attestation beside it.
    let modified = dir.join("modified").join(file_name(&sdist));
    copy_with_one_byte_changed(&sdist, &modified);
    std::fs::copy(attestation(&sdist), attestation(&modified)).unwrap();

    let case = |name, artifact: &Path, attested: &Path, trust, signer: &Signer| {
        Case::new(
            name,
            Kind::Pypi,
            artifact,
            &attestation(attested),
            trust,
            signer,
        )
    };
    let verified = [
        ("pypi-attestations", PEP740_PREDICATE),
        ("sigstore-cli", "OK: "),
        ("sigstore-js", PEP740_PREDICATE),
        ("trustpub verify", "Verified"),
    ];
    let impostor = signer.with_repository("someone-else/impostor");
    let other_workflow = signer.with_workflow("other.yml");
    let cases = [
        case("wheel", &wheel, &wheel, &testbed, &signer).verifies(&verified),
        case("sdist", &sdist, &sdist, &testbed, &signer).verifies(&verified),
        case("other-repository", &wheel, &wheel, &testbed, &impostor).refused(&[
            (
                "pypi-attestations",
                "OIDCSourceRepositoryURI does not match",
            ),
            ("sigstore-cli", "SANs do not match"),
            ("sigstore-js", "UNTRUSTED_SIGNER_ERROR"),
            ("trustpub verify", "1.3.6.1.4.1.57264.1.12"),
        ]),
        case("other-workflow", &wheel, &wheel, &testbed, &other_workflow).refused(&[
            ("pypi-attestations", "Build Config URI"),
            ("sigstore-cli", "SANs do not match"),
            ("sigstore-js", "UNTRUSTED_SIGNER_ERROR"),
            ("trustpub verify", "1.3.6.1.4.1.57264.1.18"),
        ]),
        case("modified-dist", &modified, &modified, &testbed, &signer).refused(&[
            ("pypi-attestations", "distribution digest"),
            ("sigstore-cli", "no subject for digest"),
            ("sigstore-js", "sha256"),
            ("trustpub verify", "sha256"),
        ]),
        case("other-dist", &sdist, &wheel, &testbed, &signer).refused(&[
            ("pypi-attestations", "distribution name"),
            ("sigstore-cli", "no subject for digest"),
            ("sigstore-js", "sha256"),
            ("trustpub verify", "distribution name"),
        ]),
        case("other-trust-root", &wheel, &wheel, &other_sigstore, &signer).refused(&[
            ("pypi-attestations", "certificate chain"),
            ("sigstore-cli", "certificate chain"),
            ("sigstore-js", "CERTIFICATE_ERROR"),
            ("trustpub verify", "does not verify"),
        ]),
    ];
    let verdicts = run_verifiers(&verifiers, dir, &cases).await;
    assert_verdicts(
        &cases,
        &verdicts,
        &[
            "pypi-attestations",
            "sigstore-cli",
            "sigstore-js",
            "trustpub verify",
        ],
    );

    // The `sigstore` executable itself, exactly as a consumer types it, agrees with its
    // in-process runs above: OK for the wheel, a refusal for the modified sdist.
    for (case, verifies) in [("wheel", true), ("modified-dist", false)] {
        let case = cases.iter().find(|c| c.name == case).unwrap();
        let bundle = dir
            .join("bundles")
            .join(format!("{}.sigstore.json", case.name));
        let san = case.signer.san();
        let (ok, text) = run(
            &verifiers.sigstore,
            &[
                "--trust-config",
                case.trust_config.to_str().unwrap(),
                "verify",
                "identity",
                "--offline",
                "--bundle",
                bundle.to_str().unwrap(),
                "--cert-identity",
                &san,
                "--cert-oidc-issuer",
                &case.signer.issuer,
                case.artifact.to_str().unwrap(),
            ],
            dir,
            &[],
        )
        .await;
        assert_eq!(
            ok, verifies,
            "sigstore verify identity ({}):\n{text}",
            case.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_provenance_verifies_with_sigstore_python_and_sigstore_js() {
    let Some(verifiers) = verifiers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let testbed = common::testbed().await;
    let other_sigstore = common::testbed().await;
    let signer = Signer::of(&testbed);
    testbed.add_npm_publisher(
        PACKAGE,
        NpmPublisher::github(&signer.repository, &signer.workflow),
    );
    let tarball = dir.join("sigstore-peers-sample-1.0.0.tgz");
    write_npm_tarball(&tarball, &signer.repository, "module.exports = 1;\n");

    let registry = testbed.npm_registry_url().to_string();
    let mut args = vec![
        "npm".to_owned(),
        "publish".into(),
        "--provenance".into(),
        "--registry".into(),
        registry,
    ];
    args.extend(testbed_sigstore_args(&testbed));
    args.push(tarball.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = trustpub(&args, &testbed.github_env(), dir).await;
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    let bundle = PathBuf::from(format!("{}.sigstore.json", tarball.display()));
    assert!(bundle.is_file(), "{} is written", bundle.display());
    let versions = testbed.npm_versions(PACKAGE);
    assert_eq!(versions.len(), 1);
    assert!(
        versions[0].provenance.is_some(),
        "the testbed registry took (and verified) the provenance"
    );

    // A modified tarball (one byte changed, its bundle beside it) and another tarball of the
    // same name and version.
    let modified = dir.join("modified").join(file_name(&tarball));
    let modified_bundle = PathBuf::from(format!("{}.sigstore.json", modified.display()));
    copy_with_one_byte_changed(&tarball, &modified);
    std::fs::copy(&bundle, &modified_bundle).unwrap();
    let other = dir.join("other").join(file_name(&tarball));
    write_npm_tarball(&other, &signer.repository, "module.exports = 2;\n");

    let case = |name, artifact: &Path, bundle: &Path, trust, signer: &Signer| {
        Case::new(name, Kind::Npm, artifact, bundle, trust, signer)
    };
    let impostor = signer.with_repository("someone-else/impostor");
    let other_workflow = signer.with_workflow("other.yml");
    let cases = [
        case("tarball", &tarball, &bundle, &testbed, &signer).verifies(&[
            ("sigstore-python", SLSA_PREDICATE),
            ("sigstore-js", SLSA_PREDICATE),
            ("trustpub verify", "Verified"),
        ]),
        case("other-repository", &tarball, &bundle, &testbed, &impostor).refused(&[
            ("sigstore-python", "SANs do not match"),
            ("sigstore-js", "UNTRUSTED_SIGNER_ERROR"),
            ("trustpub verify", "1.3.6.1.4.1.57264.1.12"),
        ]),
        case(
            "other-workflow",
            &tarball,
            &bundle,
            &testbed,
            &other_workflow,
        )
        .refused(&[
            ("sigstore-python", "SANs do not match"),
            ("sigstore-js", "UNTRUSTED_SIGNER_ERROR"),
            ("trustpub verify", "1.3.6.1.4.1.57264.1.18"),
        ]),
        case(
            "modified-tarball",
            &modified,
            &modified_bundle,
            &testbed,
            &signer,
        )
        .refused(&[
            ("sigstore-python", "sha512"),
            ("sigstore-js", "sha512"),
            ("trustpub verify", "digest"),
        ]),
        case("other-tarball", &other, &bundle, &testbed, &signer).refused(&[
            ("sigstore-python", "sha512"),
            ("sigstore-js", "sha512"),
            ("trustpub verify", "digest"),
        ]),
        case(
            "other-trust-root",
            &tarball,
            &bundle,
            &other_sigstore,
            &signer,
        )
        .refused(&[
            ("sigstore-python", "certificate chain"),
            ("sigstore-js", "CERTIFICATE_ERROR"),
            ("trustpub verify", "does not verify"),
        ]),
    ];
    let verdicts = run_verifiers(&verifiers, dir, &cases).await;
    assert_verdicts(
        &cases,
        &verdicts,
        &["sigstore-python", "sigstore-js", "trustpub verify"],
    );
}
