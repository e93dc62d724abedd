//! The library run against the testbed's simulated GitHub issuer, Fulcio, Rekor and PyPI.

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use oidc_core::ci::NoMask;
use oidc_core::process::TokioRunner;
use oidc_core::{Detector, HttpConfig, MapEnv, ProviderContext};
use testbed::{GithubIdentity, PypiPublisher, Testbed, TestbedConfig};

use super::*;
use crate::dist::Severity;

/// Everything the observer heard, as short lines; with `after_first_signature`, something
/// to do once the first attestation is signed (a fault to switch on mid-run).
#[derive(Default)]
struct Heard(Arc<Mutex<Vec<String>>>, Option<Box<dyn Fn() + Send + Sync>>);

/// Hears when uploads start, into the same lines.
struct UploadsHeard(Arc<Mutex<Vec<String>>>);

impl UploadReporter for UploadsHeard {
    fn started(&self, filename: &str, _size: u64) {
        self.0.lock().unwrap().push(format!("upload {filename}"));
    }
}

impl Heard {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

impl MaskSink for Heard {
    fn mask(&self, _secret: &str) {
        self.push("mask".into());
    }
}

impl PublishObserver for Heard {
    fn notice(&self, notice: &RunNotice) {
        self.push(format!("notice {notice:?}"));
    }
    fn problem(&self, problem: &Problem) {
        self.push(format!("problem {:?} {problem}", problem.severity));
    }
    fn step(&self, step: &FileStep<'_>) {
        let line = match step {
            FileStep::Checked(dist) => format!("checked {}", dist.filename),
            FileStep::Hashed { dist, digests } => {
                format!("hashed {} {}", dist.filename, digests.sha256)
            }
            FileStep::AttestationChecked { filename, .. } => format!("existing {filename}"),
            FileStep::Signed { filename, .. } => {
                if let Some(after) = &self.1 {
                    after();
                }
                format!("signed {filename}")
            }
        };
        self.push(line);
    }
    fn upload_reporter(&self) -> Option<Arc<dyn UploadReporter>> {
        Some(Arc::new(UploadsHeard(self.0.clone())))
    }
}

fn write_wheel(dir: &Path, name: &str, version: &str) -> PathBuf {
    let module = name.replace('-', "_");
    let path = dir.join(format!("{module}-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let info = format!("{module}-{version}.dist-info");
    for (member, contents) in [
        (format!("{module}/__init__.py"), String::new()),
        (
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_owned(),
        ),
        (format!("{info}/RECORD"), String::new()),
    ] {
        zip.start_file(member, options).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

struct Job {
    testbed: Testbed,
    env: Arc<MapEnv>,
    http: HttpClient,
    detector: Detector,
}

async fn job(identity: Option<GithubIdentity>) -> Job {
    job_with(identity, HttpConfig::default()).await
}

async fn job_with(identity: Option<GithubIdentity>, config: HttpConfig) -> Job {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    if let Some(identity) = identity {
        testbed.set_identity(identity);
    }
    let job = testbed.identity();
    let (owner, repo) = job.repository.split_once('/').unwrap();
    testbed.add_pypi_publisher(
        "lib-run",
        PypiPublisher::new(owner, repo, job.repository_owner_id, &job.workflow_file),
    );
    let env = Arc::new(MapEnv::new().with_all(testbed.github_env()));
    let http = HttpClient::new(&config, env.as_ref()).unwrap();
    let detector = Detector::new(&ProviderContext {
        env: env.clone(),
        runner: Arc::new(TokioRunner),
        http: http.clone(),
    });
    Job {
        testbed,
        env,
        http,
        detector,
    }
}

impl Job {
    fn settings(&self, dir: &Path) -> PublishSettings {
        let index = PackageIndex::parse(self.testbed.pypi_upload_url().as_str()).unwrap();
        let mut settings = PublishSettings::new(index, vec![dir.to_path_buf()]);
        // The testbed's index is not pypi.org: it may have `pypi` because the embedder says so.
        settings.allowed_audience = Some("pypi".into());
        settings.attestations = AttestationMode::On;
        settings.sigstore = SigstoreConfig {
            fulcio_url: self.testbed.fulcio_url(),
            rekor_url: self.testbed.rekor_url(),
            trusted_root: Some(self.testbed.sigstore_trusted_root_path().to_path_buf()),
        };
        settings
    }

    async fn run(
        &self,
        settings: PublishSettings,
        heard: &Heard,
    ) -> Result<PublishReport, PublishRunError> {
        PublishRun::new(
            self.http.clone(),
            &self.detector,
            self.env.as_ref(),
            settings,
        )
        .run(heard)
        .await
    }
}

#[tokio::test]
async fn publishes_every_file_with_an_attestation_from_one_certificate() {
    let job = job(None).await;
    let dir = tempfile::tempdir().unwrap();
    for version in ["1.0", "1.1", "1.2"] {
        write_wheel(dir.path(), "lib-run", version);
    }
    let heard = Heard::default();
    let report = job.run(job.settings(dir.path()), &heard).await.unwrap();

    let tally = report.tally();
    assert_eq!((tally.uploaded, tally.failed), (3, 0), "{report:?}");
    assert_eq!(report.credentials, CredentialUsed::TrustedPublishing);
    for file in &report.files {
        let AttestationState::Signed(path) = &file.attestation else {
            panic!("{}: {:?}", file.filename, file.attestation);
        };
        assert!(path.is_file(), "{} was written", path.display());
    }
    let on_index = job.testbed.pypi_files("lib-run");
    assert_eq!(on_index.len(), 3);
    assert!(on_index.iter().all(|f| f.attestations.is_some()));
    let records = job.testbed.records();
    assert_eq!(records.certificates_issued.len(), 1, "one signing session");
    assert_eq!(records.rekor_entries.len(), 3);
    assert_eq!(records.burns.len(), 1, "the minted token is burned");
    let lines = heard.lines();
    assert!(
        lines.iter().any(|l| l.starts_with("notice Minted")),
        "{lines:?}"
    );
    assert_eq!(lines.iter().filter(|l| l.starts_with("signed ")).count(), 3);
    job.testbed.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_mints_and_burns_but_signs_and_uploads_nothing() {
    let job = job(None).await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(dir.path(), "lib-run", "2.0");
    let mut settings = job.settings(dir.path());
    settings.mode = RunMode::DryRun;
    let heard = Heard::default();
    let report = job.run(settings, &heard).await.unwrap();

    assert!(report.is_dry_run());
    assert_eq!(report.tally().planned, 1);
    assert_eq!(report.files[0].attestation, AttestationState::WouldSign);
    assert!(job.testbed.pypi_files("lib-run").is_empty());
    let records = job.testbed.records();
    assert_eq!(records.mints.len(), 1);
    assert_eq!(records.burns.len(), 1);
    assert!(records.certificates_issued.is_empty(), "nothing signed");
    assert!(heard.lines().contains(&"notice Revoked".to_owned()));
    job.testbed.shutdown().await;
}

#[tokio::test]
async fn an_invalid_distribution_stops_the_run_before_any_token() {
    let job = job(None).await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(dir.path(), "lib-run", "3.0");
    std::fs::write(
        dir.path().join("lib_run-3.1-py3-none-any.whl"),
        b"not a zip",
    )
    .unwrap();
    let heard = Heard::default();
    let err = job.run(job.settings(dir.path()), &heard).await.unwrap_err();

    assert!(
        matches!(err, PublishRunError::Invalid { errors: 1 }),
        "{err:?}"
    );
    let lines = heard.lines();
    assert!(
        lines.iter().any(
            |l| l.starts_with(&format!("problem {:?} ", Severity::Error))
                && l.contains("lib_run-3.1-py3-none-any.whl")
        ),
        "{lines:?}"
    );
    assert!(
        job.testbed.records().tokens_issued.is_empty(),
        "no ID token"
    );
    assert!(job.testbed.pypi_files("lib-run").is_empty());
    job.testbed.shutdown().await;
}

#[tokio::test]
async fn pull_request_target_gets_no_token() {
    let job = job(Some(GithubIdentity {
        event_name: "pull_request_target".into(),
        ..GithubIdentity::default()
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_wheel(dir.path(), "lib-run", "4.0");
    let err = job
        .run(job.settings(dir.path()), &Heard::default())
        .await
        .unwrap_err();

    assert!(
        matches!(err, PublishRunError::Exchange(ObtainError::Event(_))),
        "{err:?}"
    );
    let records = job.testbed.records();
    assert!(records.mints.is_empty(), "nothing was exchanged");
    assert!(job.testbed.pypi_files("lib-run").is_empty());
    job.testbed.shutdown().await;
}

#[tokio::test]
async fn passwords_are_refused_on_pypi_and_tokens_checked_before_reading() {
    let env = MapEnv::new();
    let http = HttpClient::new(&HttpConfig::default(), &env).unwrap();
    let detector = Detector::with_providers(Arc::new(MapEnv::new()), Vec::new());
    let index = PackageIndex::parse(crate::index::PYPI_UPLOAD_URL).unwrap();
    let run = |username: &str, password: &str, attestations| {
        let mut settings = PublishSettings::new(index.clone(), vec!["no-such-dir".into()]);
        settings.credentials = Credentials::Token {
            username: username.into(),
            password: Secret::new(password),
        };
        settings.attestations = attestations;
        PublishRun::new(http.clone(), &detector, &env, settings)
    };

    let err = run("alice", "hunter2", AttestationMode::Auto)
        .run(&NoMask)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishRunError::PasswordOnPypi), "{err:?}");
    let err = run("__token__", "pypi-AgEIcHlwaS5vcmc", AttestationMode::On)
        .run(&NoMask)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PublishRunError::AttestationsNeedTrustedPublishing),
        "{err:?}"
    );
    // A plausible-looking token gets as far as looking for the files.
    let heard = Heard::default();
    let err = run("__token__", "not-a-pypi-token", AttestationMode::Auto)
        .run(&heard)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishRunError::Collect(_)), "{err:?}");
    let lines = heard.lines();
    assert_eq!(lines[0], "mask", "the password is masked first: {lines:?}");
    assert!(lines[1].starts_with("notice SuspiciousToken"), "{lines:?}");
}

/// Retries a failing Rekor twice, quickly.
fn quick_retries() -> HttpConfig {
    HttpConfig {
        retry: oidc_core::RetryPolicy {
            max_attempts: 2,
            base_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(20),
        },
        ..HttpConfig::default()
    }
}

#[tokio::test]
async fn uploads_start_as_attestations_are_signed_and_a_failed_one_stops_the_rest() {
    let job = job_with(None, quick_retries()).await;
    let dir = tempfile::tempdir().unwrap();
    for version in ["5.0", "5.1", "5.2", "5.3"] {
        write_wheel(dir.path(), "lib-run", version);
    }
    // Once the first file is signed, Rekor fails every request: the first file (signed and
    // uploaded alone) is published; the others cannot be signed, so none of them goes out.
    let faults = job.testbed.sigstore_faults();
    let heard = Heard(
        Arc::default(),
        Some(Box::new(move || faults.fail_next_rekor_requests(1000))),
    );
    let mut settings = job.settings(dir.path());
    settings.concurrency = 1;
    let report = job.run(settings, &heard).await.unwrap();

    let tally = report.tally();
    assert_eq!((tally.uploaded, tally.failed), (1, 3), "{report:?}");
    assert!(matches!(report.files[0].outcome, FileOutcome::Uploaded));
    assert!(
        report
            .files
            .iter()
            .any(|f| matches!(f.outcome, FileOutcome::NotSigned(SignFailure::Sigstore(_)))),
        "{report:?}"
    );
    for file in &report.files[1..] {
        assert!(
            matches!(
                file.outcome,
                FileOutcome::NotSigned(_) | FileOutcome::NotAttempted { .. }
            ),
            "{}: {:?}",
            file.filename,
            file.outcome
        );
    }
    let on_index = job.testbed.pypi_files("lib-run");
    assert_eq!(on_index.len(), 1, "only the first file went out");
    assert_eq!(job.testbed.records().burns.len(), 1, "the token is burned");
    job.testbed.shutdown().await;
}

#[tokio::test]
async fn when_the_first_attestation_fails_nothing_is_uploaded() {
    let job = job_with(None, quick_retries()).await;
    let dir = tempfile::tempdir().unwrap();
    for version in ["6.0", "6.1"] {
        write_wheel(dir.path(), "lib-run", version);
    }
    job.testbed.sigstore_faults().fail_next_rekor_requests(1000);
    let err = job
        .run(job.settings(dir.path()), &Heard::default())
        .await
        .unwrap_err();

    let PublishRunError::Signing { failures } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        failures.len(),
        1,
        "the first file stopped the run: {failures:?}"
    );
    assert!(job.testbed.pypi_files("lib-run").is_empty());
    let records = job.testbed.records();
    assert_eq!(records.certificates_issued.len(), 1);
    assert_eq!(records.burns.len(), 1, "the token is burned");
    job.testbed.shutdown().await;
}

#[tokio::test]
async fn uploads_overlap_the_signing_of_later_files() {
    let job = job(None).await;
    let dir = tempfile::tempdir().unwrap();
    // More files than are signed at once, and a Rekor 150 ms away: the first batch's uploads
    // start while the last files are still being signed.
    for minor in 0..(SIGNING_CONCURRENCY + 4) {
        write_wheel(dir.path(), "lib-run", &format!("7.{minor}"));
    }
    job.testbed.sigstore_faults().set_latency(
        std::time::Duration::ZERO,
        std::time::Duration::from_millis(150),
    );
    let heard = Heard::default();
    let report = job.run(job.settings(dir.path()), &heard).await.unwrap();

    assert_eq!(
        report.tally().uploaded,
        SIGNING_CONCURRENCY + 4,
        "{report:?}"
    );
    let lines = heard.lines();
    let last_signed = lines
        .iter()
        .rposition(|l| l.starts_with("signed "))
        .unwrap();
    let uploads_before = lines[..last_signed]
        .iter()
        .filter(|l| l.starts_with("upload "))
        .count();
    assert!(
        uploads_before > 1,
        "uploads other than the first started before the last signature: {lines:#?}"
    );
    // Every upload comes after its own signature.
    for (i, line) in lines.iter().enumerate() {
        if let Some(file) = line.strip_prefix("upload ") {
            assert!(
                lines[..i].contains(&format!("signed {file}")),
                "{file} was uploaded before it was signed: {lines:#?}"
            );
        }
    }
    assert_eq!(job.testbed.records().certificates_issued.len(), 1);
    job.testbed.shutdown().await;
}
