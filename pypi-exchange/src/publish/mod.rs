//! The whole upload of a set of distributions, as `trustpub pypi upload` (and
//! gh-action-pypi-publish) does it: find, read and validate every distribution (nothing goes
//! out when one is invalid), check the attestations already beside them, mint a short-lived
//! token with the job's identity (trusted publishing) or use the given API token, sign a PEP 740
//! publish attestation for each distribution in one signing session, upload them, reconcile
//! what the index already has, and burn the token. Returns a [`PublishReport`]; progress goes
//! to a [`PublishObserver`]. Nothing here prints.
//!
//! The safe defaults are not settings: the run's event is checked against the
//! [`EventPolicy`] (a `pull_request_target` run never gets a token), the index gets only the
//! audience it is entitled to (an embedder loosens this by naming the audience in
//! [`PublishSettings::allowed_audience`]), and every URL goes through the HTTP client's policy
//! (https, or http on loopback only).
//!
//! Attestations are signed in one signing session (one key, one Fulcio certificate, renewed
//! only if it runs out; Rekor submissions in parallel), and each distribution is uploaded as
//! soon as its attestation is signed, verified and written. The very first file is signed and
//! uploaded alone: a signing session or a credential that does not work stops the run before
//! anything else goes out, and nothing is uploaded ([`PublishRunError::Signing`]). A later
//! failure stops every upload not yet started; the report names them, and running the same
//! upload again finishes the job (the files already on the index count as done).

pub mod report;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt as _;
use oidc_core::ci::{EventPolicy, GithubContext, MaskSink};
use oidc_core::sigstore::{
    AmbientSignerError, ArtifactDigest, CertificateClaims, ExpectedIdentity, KeylessSigner,
    SigningJob, SigstoreConfig, SigstoreError, TrustRoot, verify_bundle,
};
use oidc_core::{Claims, Detector, Environment, HttpClient, ObtainError, Secret, Session};
use url::Url;

pub use report::{AttestationState, CredentialUsed, FileOutcome, FileReport, PublishReport, Tally};

use crate::api_token::{TokenShape, check_token_shape};
use crate::attestation::{self, Attestation, AttestationError, ConvertError};
use crate::digests::{FileDigests, file_digests};
use crate::dist::{
    CollectError, Collection, Distribution, Problem, ValidateOptions, collect, normalize_name,
    validate,
};
use crate::exchange::{PypiExchange, PypiExchangeError};
use crate::index::PackageIndex;
use crate::upload::{
    CredentialSource, FileResult, SkipExisting, StaticCredentials, UploadItem, UploadOptions,
    UploadReporter, Uploader,
};

/// How the upload authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Trusted publishing: the job's ambient identity is exchanged for a short-lived token.
    Trusted,
    /// A username and password: `__token__` and an API token, or a private index's account.
    Token {
        /// The username.
        username: String,
        /// The password or token.
        password: Secret,
    },
}

/// Whether PEP 740 attestations go with the upload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AttestationMode {
    /// On with trusted publishing to PyPI or TestPyPI (as gh-action-pypi-publish does), off
    /// elsewhere (with a notice).
    #[default]
    Auto,
    /// Always: needs trusted publishing (PyPI accepts attestations only from a trusted
    /// publisher's upload).
    On,
    /// Never.
    Off,
}

/// A real run or a dry run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RunMode {
    /// Sign and upload.
    #[default]
    Publish,
    /// Read, validate and (with trusted publishing) mint and burn a token to prove the
    /// publisher works; sign and upload nothing. The report is the plan.
    DryRun,
}

/// Everything a run is asked to do.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// Distributions, or directories holding them (`dist/` when empty).
    pub paths: Vec<PathBuf>,
    /// Where to upload.
    pub index: PackageIndex,
    /// The simple index to look files up in; derived from the upload URL when `None`.
    pub simple_url: Option<Url>,
    /// How to authenticate.
    pub credentials: Credentials,
    /// An audience the index may ask for although it belongs to another service (`--audience`).
    /// PyPI and TestPyPI always get exactly `pypi` / `testpypi`.
    pub allowed_audience: Option<String>,
    /// Attestations.
    pub attestations: AttestationMode,
    /// The Sigstore instance attestations are signed with and checked against.
    pub sigstore: SigstoreConfig,
    /// Files the index already has.
    pub skip_existing: SkipExisting,
    /// Check the metadata as PyPI would (twine's `check --strict`).
    pub verify_metadata: bool,
    /// Report every file's SHA-256, MD5 and BLAKE2b-256 before the upload ([`FileStep::Hashed`]).
    pub print_hash: bool,
    /// Files in flight at once (at least 1).
    pub concurrency: usize,
    /// A real run or a dry run.
    pub mode: RunMode,
    /// Which events may publish (the refusals cannot be switched off).
    pub policy: EventPolicy,
}

impl PublishSettings {
    /// Trusted publishing of `paths` to `index`, with gh-action-pypi-publish's defaults:
    /// attestations on PyPI and TestPyPI (public-good Sigstore), metadata checks on, every
    /// file uploaded.
    pub fn new(index: PackageIndex, paths: Vec<PathBuf>) -> Self {
        Self {
            paths,
            index,
            simple_url: None,
            credentials: Credentials::Trusted,
            allowed_audience: None,
            attestations: AttestationMode::Auto,
            sigstore: SigstoreConfig::public_good(),
            skip_existing: SkipExisting::Off,
            verify_metadata: true,
            print_hash: false,
            concurrency: 4,
            mode: RunMode::Publish,
            policy: EventPolicy,
        }
    }
}

/// Run-wide things worth telling the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunNotice {
    /// A file next to the distributions is left out.
    Ignored(String),
    /// Attestations are off because the index is not PyPI or TestPyPI.
    AttestationsOffByDefault {
        /// The index's host.
        host: String,
    },
    /// The API token looks wrong (it may still work).
    SuspiciousToken(String),
    /// An API token is used on PyPI or TestPyPI: trusted publishing would need none.
    UpgradeToTrustedPublishing {
        /// Pre-filled "add a trusted publisher" links, one per project (empty outside GitHub).
        settings_links: Vec<String>,
    },
    /// A short-lived upload token was minted.
    Minted {
        /// The index's host.
        host: String,
    },
    /// The job runs in a reusable workflow: PyPI matches the called workflow.
    ReusableWorkflow(String),
    /// Attestations are signed as this identity.
    SigningAs(String),
    /// An existing attestation was made by another workflow: it was removed and is signed
    /// anew, as PyPI would refuse it.
    AttestationReplaced {
        /// The distribution.
        filename: String,
        /// Why.
        reason: String,
    },
    /// A minted token could not be burned (it expires by itself).
    RevocationFailed {
        /// The token's scope.
        scope: String,
        /// Why.
        error: String,
    },
    /// Dry run: the minted token was burned.
    Revoked,
    /// The uploads start.
    Uploading {
        /// How many files.
        count: usize,
        /// The upload URL.
        url: String,
    },
}

/// One step of one distribution.
#[derive(Debug)]
pub enum FileStep<'a> {
    /// It was read and validated.
    Checked(&'a Distribution),
    /// Its digests ([`PublishSettings::print_hash`]).
    Hashed {
        /// The distribution.
        dist: &'a Distribution,
        /// Its digests.
        digests: &'a FileDigests,
    },
    /// Its existing attestation files were checked.
    AttestationChecked {
        /// The distribution.
        filename: &'a str,
        /// The attestation files.
        paths: &'a [PathBuf],
    },
    /// An attestation was signed, verified and written beside it.
    Signed {
        /// The distribution.
        filename: &'a str,
        /// The attestation file.
        path: &'a Path,
        /// The Rekor log index.
        log_index: Option<u64>,
    },
}

/// Hears about the run as it goes (the CLI prints; the library never does). Every method has
/// a default that does nothing. As a [`MaskSink`] it masks every token the run obtains and
/// shows the event policy's warnings.
pub trait PublishObserver: MaskSink {
    /// A run-wide notice.
    fn notice(&self, _notice: &RunNotice) {}
    /// A validation finding (errors stop the run with [`PublishRunError::Invalid`]; warnings
    /// and notes do not).
    fn problem(&self, _problem: &Problem) {}
    /// A step of one distribution.
    fn step(&self, _step: &FileStep<'_>) {}
    /// Where upload progress goes (bytes sent per file).
    fn upload_reporter(&self) -> Option<Arc<dyn UploadReporter>> {
        None
    }
}

/// An observer that hears nothing (and masks nothing).
impl PublishObserver for oidc_core::ci::NoMask {}

/// Why a run stopped before uploading anything.
#[derive(Debug, thiserror::Error)]
pub enum PublishRunError {
    /// Attestations were asked for with an API token.
    #[error(
        "--attestations needs trusted publishing: PyPI accepts attestations only from a trusted publisher's upload (drop --password, or pass --attestations false)"
    )]
    AttestationsNeedTrustedPublishing,
    /// A password (not an API token) for PyPI or TestPyPI.
    #[error(
        "password-based uploads are disabled on PyPI: use trusted publishing (no --password) or an API token with --user __token__"
    )]
    PasswordOnPypi,
    /// The API token cannot work.
    #[error("{0}")]
    DamagedToken(String),
    /// No distributions were found.
    #[error(transparent)]
    Collect(#[from] CollectError),
    /// Some distributions are invalid (each problem went to [`PublishObserver::problem`]).
    #[error(
        "{errors} problem(s) in the distributions: nothing was uploaded. Fix them and run again"
    )]
    Invalid {
        /// How many errors.
        errors: usize,
    },
    /// Attestation files beside the distributions cannot go with them.
    #[error("{} attestation file(s) cannot be used: nothing was uploaded", .problems.len())]
    InvalidAttestations {
        /// Each problem.
        problems: Vec<AttestationProblem>,
    },
    /// A distribution could not be hashed for [`PublishSettings::print_hash`].
    #[error("{}: {source}", .path.display())]
    Hash {
        /// The distribution.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No upload token: no identity, a refused event, or the index refused the exchange.
    #[error(transparent)]
    Exchange(#[from] ObtainError<PypiExchangeError>),
    /// The Sigstore trust root for checking existing attestations could not be loaded.
    #[error(transparent)]
    Sigstore(#[from] SigstoreError),
    /// The signing session could not start.
    #[error(transparent)]
    Signer(#[from] AmbientSignerError),
    /// Some attestations could not be made: nothing was uploaded.
    #[error(
        "an attestation could not be made for every file, so nothing was uploaded ({} failed)",
        .failures.len()
    )]
    Signing {
        /// Each failure, in input order.
        failures: Vec<SignFailure>,
    },
    /// An attestation made by another workflow could not be removed.
    #[error(
        "{source}: remove the attestation made by another workflow, then run again ({})",
        .path.display()
    )]
    RemoveForeign {
        /// The attestation file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A worker task failed.
    #[error("{0}")]
    Internal(String),
}

/// An attestation file that cannot go with its distribution.
#[derive(Debug, thiserror::Error)]
pub enum AttestationProblem {
    /// It cannot be read, or it attests another file.
    #[error(transparent)]
    Load(#[from] AttestationError),
    /// It does not verify against the trust root.
    #[error("{source}. Remove the stale attestation (or rebuild it) before uploading")]
    Verify {
        /// The attestation file.
        path: PathBuf,
        /// Why.
        source: SigstoreError,
    },
    /// The distribution's digest is unusable.
    #[error("{filename}: {reason}")]
    Digest {
        /// The distribution.
        filename: String,
        /// Why.
        reason: String,
    },
}

/// Why one attestation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignFailure {
    /// Signing or verifying failed.
    #[error(transparent)]
    Sigstore(SigstoreError),
    /// The bundle could not be turned into a PEP 740 attestation.
    #[error("{filename}: {source}")]
    Convert {
        /// The distribution.
        filename: String,
        /// Why.
        source: ConvertError,
    },
    /// The attestation file could not be written.
    #[error(transparent)]
    Write(AttestationError),
    /// The distribution's digest is unusable.
    #[error("{filename}: {reason}")]
    Digest {
        /// The distribution.
        filename: String,
        /// Why.
        reason: String,
    },
}

/// An upload run to one index.
pub struct PublishRun<'a> {
    http: HttpClient,
    detector: &'a Detector,
    env: &'a dyn Environment,
    settings: PublishSettings,
    renewal_mask: Option<Arc<dyn MaskSink>>,
}

/// A distribution being prepared, with its attestations.
struct Prepared {
    item: UploadItem,
    state: AttestationState,
    /// Who signed its existing attestations, to compare with this job once it is known.
    signers: Signers,
}

/// Each existing attestation file and the identity in its certificate.
type Signers = Vec<(PathBuf, CertificateClaims)>;

impl<'a> PublishRun<'a> {
    /// A run over `settings`, with `detector` for the job's identity and `env` for the CI
    /// context (the GitHub repository and workflow for advice).
    pub fn new(
        http: HttpClient,
        detector: &'a Detector,
        env: &'a dyn Environment,
        settings: PublishSettings,
    ) -> Self {
        Self {
            http,
            detector,
            env,
            settings,
            renewal_mask: None,
        }
    }

    /// Masks the `sigstore` ID tokens fetched to renew the signing certificate in a long run
    /// (the first one is masked by the observer). They are [`oidc_core::IdToken`]s and never
    /// printed; the mask adds the runner's own masking.
    #[must_use]
    pub fn with_renewal_mask(mut self, mask: Arc<dyn MaskSink>) -> Self {
        self.renewal_mask = Some(mask);
        self
    }

    /// Runs the upload. `Err` means nothing was uploaded; per-file failures are in the report.
    pub async fn run(
        self,
        observer: &dyn PublishObserver,
    ) -> Result<PublishReport, PublishRunError> {
        let settings = &self.settings;
        let trusted = matches!(settings.credentials, Credentials::Trusted);
        self.check_credentials(observer)?;
        let attest = self.attestations_on(observer)?;
        let exchange = PypiExchange::new(self.http.clone(), settings.index.clone())
            .with_allowed_audience(settings.allowed_audience.clone());

        // 1. Find, read and validate everything before anything is minted. Meanwhile, with
        //    trusted publishing, learn the index's audience: a harmless GET that takes one
        //    round trip off the critical path (a failure here is reported when the token is
        //    minted).
        let validation = self.read_and_validate(observer);
        let (collection, dists) = if trusted {
            let (dists, _) = tokio::join!(validation, exchange.audience());
            dists
        } else {
            validation.await
        }?;
        if !trusted {
            self.upgrade_nudge(&dists, observer);
        }
        if settings.print_hash {
            hash_all(&dists, observer).await?;
        }

        // 2. Attestations that already sit beside the dists are checked now; the rest are
        //    signed once the exchange has proved the trusted publisher works (so a
        //    misconfigured publisher leaves no entries in the public transparency log).
        let mut prepared = self.check_existing(&collection, dists, attest, observer)?;

        // 3. Credentials, signing, upload.
        let uploader = Uploader::new(
            self.http.clone(),
            settings.index.clone(),
            UploadOptions {
                skip_existing: settings.skip_existing,
                concurrency: settings.concurrency.max(1),
                simple_url: settings.simple_url.clone(),
                ..UploadOptions::default()
            },
        );
        let reporter = observer
            .upload_reporter()
            .unwrap_or_else(|| Arc::new(crate::upload::NoReport));
        let files = match &settings.credentials {
            Credentials::Token { username, password } => {
                if settings.mode == RunMode::DryRun {
                    return Ok(self.plan(prepared, CredentialUsed::Token));
                }
                let credentials = StaticCredentials {
                    username: username.clone(),
                    password: password.clone(),
                };
                self.upload_all(prepared, &uploader, &credentials, reporter, observer)
                    .await
            }
            Credentials::Trusted => {
                let session = Session::new(
                    self.detector,
                    &exchange,
                    settings.policy,
                    observer as &dyn MaskSink,
                );
                // Mint before the first file so a refused exchange stops everything cleanly.
                let obtained = session.credential().await?;
                observer.notice(&RunNotice::Minted {
                    host: settings.index.host().to_owned(),
                });
                if let Some(warning) = crate::explain::reusable_workflow_warning(&obtained.claims) {
                    observer.notice(&RunNotice::ReusableWorkflow(warning));
                }
                let dry_run = settings.mode == RunMode::DryRun;
                if attest
                    && let Err(err) =
                        replace_foreign(&mut prepared, &obtained.claims, !dry_run, observer)
                {
                    finish(session, observer).await;
                    return Err(err);
                }
                if dry_run {
                    finish(session, observer).await;
                    observer.notice(&RunNotice::Revoked);
                    return Ok(self.plan(prepared, CredentialUsed::TrustedPublishing));
                }
                let files = if prepared
                    .iter()
                    .any(|p| p.state == AttestationState::WouldSign)
                {
                    self.sign_and_upload(prepared, &uploader, &session, reporter, observer)
                        .await
                } else {
                    Ok(self
                        .upload_all(prepared, &uploader, &session, reporter, observer)
                        .await)
                };
                finish(session, observer).await;
                files?
            }
        };
        Ok(PublishReport {
            files,
            mode: settings.mode,
            credentials: if trusted {
                CredentialUsed::TrustedPublishing
            } else {
                CredentialUsed::Token
            },
            upload_url: settings.index.upload_url().to_string(),
        })
    }

    /// The API token checks (on every index, as gh-action-pypi-publish's are).
    fn check_credentials(&self, observer: &dyn PublishObserver) -> Result<(), PublishRunError> {
        let Credentials::Token { username, password } = &self.settings.credentials else {
            return Ok(());
        };
        observer.mask(password.expose());
        if self.settings.index.is_pypi_or_testpypi() && username != "__token__" {
            return Err(PublishRunError::PasswordOnPypi);
        }
        match check_token_shape(password.expose()) {
            TokenShape::Damaged(problem) => return Err(PublishRunError::DamagedToken(problem)),
            TokenShape::Unusual(problem) => {
                observer.notice(&RunNotice::SuspiciousToken(problem));
            }
            TokenShape::NotPypi if username == "__token__" => observer.notice(
                &RunNotice::SuspiciousToken(
                    "the username is __token__ but the password does not start with `pypi-`, as PyPI API tokens do: check that it is the token itself".into(),
                ),
            ),
            TokenShape::NotPypi | TokenShape::Plausible => {}
        }
        Ok(())
    }

    /// Whether attestations go with this upload.
    fn attestations_on(&self, observer: &dyn PublishObserver) -> Result<bool, PublishRunError> {
        let trusted = matches!(self.settings.credentials, Credentials::Trusted);
        let index = &self.settings.index;
        match self.settings.attestations {
            AttestationMode::On if !trusted => {
                Err(PublishRunError::AttestationsNeedTrustedPublishing)
            }
            AttestationMode::On => Ok(true),
            AttestationMode::Off => Ok(false),
            AttestationMode::Auto if trusted && index.is_pypi_or_testpypi() => Ok(true),
            AttestationMode::Auto => {
                if trusted {
                    observer.notice(&RunNotice::AttestationsOffByDefault {
                        host: index.host().to_owned(),
                    });
                }
                Ok(false)
            }
        }
    }

    /// Finds, reads (concurrently) and validates every distribution.
    async fn read_and_validate(
        &self,
        observer: &dyn PublishObserver,
    ) -> Result<(Collection, Vec<Distribution>), PublishRunError> {
        let paths = self.settings.paths.clone();
        let collection = tokio::task::spawn_blocking(move || collect(&paths))
            .await
            .map_err(|err| {
                PublishRunError::Internal(format!("reading the distributions stopped: {err}"))
            })??;
        for ignored in &collection.ignored {
            observer.notice(&RunNotice::Ignored(ignored.to_string()));
        }
        // Reading is mostly I/O: more readers than cores keeps the disk busy.
        let workers = std::thread::available_parallelism()
            .map_or(2, usize::from)
            .max(4)
            * 2;
        let reads: Vec<Result<Distribution, Problem>> =
            futures_util::stream::iter(collection.dists.clone())
                .map(|path| async move {
                    let file = path.display().to_string();
                    match tokio::task::spawn_blocking(move || Distribution::read(&path)).await {
                        Ok(Ok(dist)) => Ok(dist),
                        Ok(Err(err)) => Err(Problem::from_read_error(&err)),
                        Err(err) => Err(Problem::error(
                            &file,
                            None,
                            format!("reading it failed unexpectedly: {err}"),
                        )),
                    }
                })
                .buffered(workers)
                .collect()
                .await;
        let mut problems = Vec::new();
        let mut dists = Vec::new();
        for read in reads {
            match read {
                Ok(dist) => dists.push(dist),
                Err(problem) => problems.push(problem),
            }
        }
        problems.extend(validate(
            &dists,
            &ValidateOptions {
                verify_metadata: self.settings.verify_metadata,
            },
        ));
        for problem in &problems {
            observer.problem(problem);
        }
        let errors = problems.iter().filter(|p| p.is_error()).count();
        if errors > 0 {
            return Err(PublishRunError::Invalid { errors });
        }
        for dist in &dists {
            observer.step(&FileStep::Checked(dist));
        }
        Ok((collection, dists))
    }

    /// gh-action-pypi-publish's "Upgrade to Trusted Publishing" nudge, on PyPI and TestPyPI
    /// only, with a pre-filled publisher form per project when the job runs on GitHub.
    fn upgrade_nudge(&self, dists: &[Distribution], observer: &dyn PublishObserver) {
        let index = &self.settings.index;
        if !index.is_pypi_or_testpypi() {
            return;
        }
        let mut projects: Vec<String> = dists
            .iter()
            .filter_map(|d| d.metadata.name.as_deref().map(normalize_name))
            .collect();
        projects.sort();
        projects.dedup();
        let mut settings_links = Vec::new();
        if let Some(github) = GithubContext::from_env(self.env)
            && let (Some(repository), Some(workflow)) =
                (github.repository.as_deref(), github.workflow_filename())
        {
            let (owner, name) = repository.split_once('/').unwrap_or((repository, ""));
            settings_links = projects
                .iter()
                .filter_map(|project| {
                    index.publisher_settings_link(project, owner, name, workflow, None)
                })
                .collect();
        }
        observer.notice(&RunNotice::UpgradeToTrustedPublishing { settings_links });
    }

    /// Checks the attestation files already beside each distribution (subject name and
    /// SHA-256, as PyPI does, and the signature against the trust root); marks the others to
    /// be signed when attestations are on.
    fn check_existing(
        &self,
        collection: &Collection,
        dists: Vec<Distribution>,
        attest: bool,
        observer: &dyn PublishObserver,
    ) -> Result<Vec<Prepared>, PublishRunError> {
        let any_existing = collection.attestations.values().any(|p| !p.is_empty());
        let trust = if attest && any_existing {
            Some(TrustRoot::for_config(&self.settings.sigstore)?)
        } else {
            None
        };
        let mut prepared = Vec::new();
        let mut problems = Vec::new();
        for dist in dists {
            let paths = collection
                .attestations
                .get(&dist.filename)
                .cloned()
                .unwrap_or_default();
            let (attestations, state, signers) = if !attest {
                (Vec::new(), AttestationState::None, Vec::new())
            } else if paths.is_empty() {
                (Vec::new(), AttestationState::WouldSign, Vec::new())
            } else {
                match existing(&dist, &paths, trust.as_ref()) {
                    Ok((attestations, signers)) => {
                        observer.step(&FileStep::AttestationChecked {
                            filename: &dist.filename,
                            paths: &paths,
                        });
                        (attestations, AttestationState::Existing(paths), signers)
                    }
                    Err(problem) => {
                        problems.push(problem);
                        (Vec::new(), AttestationState::None, Vec::new())
                    }
                }
            };
            prepared.push(Prepared {
                item: UploadItem { dist, attestations },
                state,
                signers,
            });
        }
        if problems.is_empty() {
            Ok(prepared)
        } else {
            Err(PublishRunError::InvalidAttestations { problems })
        }
    }

    /// Uploads files whose attestations are settled (existing ones, or none), as the uploader
    /// orders them: wheels first, the very first file alone.
    async fn upload_all(
        &self,
        prepared: Vec<Prepared>,
        uploader: &Uploader,
        credentials: &dyn CredentialSource,
        reporter: Arc<dyn UploadReporter>,
        observer: &dyn PublishObserver,
    ) -> Vec<FileReport> {
        self.announce(prepared.len(), observer);
        let mut states: HashMap<String, (PathBuf, AttestationState)> = HashMap::new();
        let items = prepared
            .into_iter()
            .map(|p| {
                states.insert(
                    p.item.dist.filename.clone(),
                    (p.item.dist.path.clone(), p.state),
                );
                p.item
            })
            .collect();
        uploader
            .upload_all(items, credentials, reporter)
            .await
            .into_iter()
            .map(|result: FileResult| {
                let (path, state) = states
                    .remove(&result.filename)
                    .unwrap_or_else(|| (PathBuf::from(&result.filename), AttestationState::None));
                FileReport::from_result(result, path, state)
            })
            .collect()
    }

    /// Signs a PEP 740 publish attestation for each distribution that needs one, in one
    /// signing session (one key, one certificate, Rekor submissions in parallel), and uploads
    /// each distribution as soon as its attestation is signed, verified and written beside it.
    ///
    /// The order of [`Uploader::upload_all`] holds: wheels before sdists, and the very first
    /// file is signed and uploaded alone, so that a signing session or credentials that do not
    /// work stop the run before anything else is sent. After that, a failed attestation stops
    /// every upload not yet started (they are reported as not tried; a re-run signs and uploads
    /// them and finds the others already present). When nothing was uploaded the run is an
    /// error ([`PublishRunError::Signing`]).
    async fn sign_and_upload(
        &self,
        prepared: Vec<Prepared>,
        uploader: &Uploader,
        credentials: &dyn CredentialSource,
        reporter: Arc<dyn UploadReporter>,
        observer: &dyn PublishObserver,
    ) -> Result<Vec<FileReport>, PublishRunError> {
        let signer = KeylessSigner::ambient(
            self.detector,
            &self.http,
            &self.settings.sigstore,
            observer as &dyn MaskSink,
            self.renewal_mask.clone(),
        )
        .await?;
        if let Some(san) = &signer.expected_identity().san {
            observer.notice(&RunNotice::SigningAs(san.clone()));
        }
        self.announce(prepared.len(), observer);
        let pipeline = Pipeline {
            signer: &signer,
            uploader,
            credentials,
            reporter,
            observer,
            signing: tokio::sync::Semaphore::new(SIGNING_CONCURRENCY),
            uploading: tokio::sync::Semaphore::new(self.settings.concurrency.max(1)),
            stopped: std::sync::Mutex::new(None),
        };
        let (wheels, sdists): (Vec<_>, Vec<_>) =
            prepared.into_iter().partition(|p| p.item.dist.is_wheel());
        let mut files: Vec<FileReport> = Vec::new();
        for phase in [wheels, sdists] {
            let mut phase = phase.into_iter();
            if files.is_empty()
                && let Some(first) = phase.next()
            {
                files.push(pipeline.one(first).await);
            }
            let width = phase.len().max(1);
            let rest: Vec<FileReport> = futures_util::stream::iter(phase)
                .map(|p| pipeline.one(p))
                .buffered(width)
                .collect()
                .await;
            files.extend(rest);
        }
        let nothing_uploaded = !files.iter().any(|f| f.outcome.is_done());
        if nothing_uploaded
            && files
                .iter()
                .any(|f| matches!(f.outcome, FileOutcome::NotSigned(_)))
        {
            let failures = files
                .into_iter()
                .filter_map(|f| match f.outcome {
                    FileOutcome::NotSigned(failure) => Some(failure),
                    _ => None,
                })
                .collect();
            return Err(PublishRunError::Signing { failures });
        }
        Ok(files)
    }

    /// Announces the uploads.
    fn announce(&self, count: usize, observer: &dyn PublishObserver) {
        observer.notice(&RunNotice::Uploading {
            count,
            url: self.settings.index.upload_url().to_string(),
        });
    }

    /// The dry run's report: what a real run would upload.
    fn plan(&self, prepared: Vec<Prepared>, credentials: CredentialUsed) -> PublishReport {
        PublishReport {
            files: prepared
                .into_iter()
                .map(|p| FileReport::of(&p.item.dist, p.state, FileOutcome::WouldUpload))
                .collect(),
            mode: RunMode::DryRun,
            credentials,
            upload_url: self.settings.index.upload_url().to_string(),
        }
    }
}

/// Statements signed at once: after the one certificate, each is one Rekor request, and
/// Rekor answers in parallel.
const SIGNING_CONCURRENCY: usize = 8;

/// One run's signing and uploading, file by file.
struct Pipeline<'r> {
    signer: &'r KeylessSigner,
    uploader: &'r Uploader,
    credentials: &'r dyn CredentialSource,
    reporter: Arc<dyn UploadReporter>,
    observer: &'r dyn PublishObserver,
    signing: tokio::sync::Semaphore,
    uploading: tokio::sync::Semaphore,
    /// Set when an attestation could not be made: why no further upload starts.
    stopped: std::sync::Mutex<Option<String>>,
}

impl Pipeline<'_> {
    fn stopped(&self) -> Option<String> {
        self.stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn stop(&self, reason: String) {
        self.stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert(reason);
    }

    /// Signs (when needed) and uploads one distribution.
    async fn one(&self, mut p: Prepared) -> FileReport {
        let not_attempted = |p: Prepared, reason: String| {
            FileReport::of(&p.item.dist, p.state, FileOutcome::NotAttempted { reason })
        };
        if p.state == AttestationState::WouldSign {
            // The semaphores are never closed: `ok()` only drops an impossible error.
            let _slot = self.signing.acquire().await.ok();
            if let Some(reason) = self.stopped() {
                return not_attempted(p, reason);
            }
            if let Err(failure) = self.sign(&mut p).await {
                self.stop(format!(
                    "the attestation for {} could not be made",
                    p.item.dist.filename
                ));
                return FileReport::of(
                    &p.item.dist,
                    AttestationState::None,
                    FileOutcome::NotSigned(failure),
                );
            }
        }
        let _slot = self.uploading.acquire().await.ok();
        if let Some(reason) = self.stopped() {
            return not_attempted(p, reason);
        }
        let path = p.item.dist.path.clone();
        let result = self
            .uploader
            .upload_one(p.item, self.credentials, &self.reporter)
            .await;
        self.reporter.finished(&result);
        FileReport::from_result(result, path, p.state)
    }

    /// Signs one publish attestation, verifies it, writes it beside the distribution and
    /// attaches it to the upload.
    async fn sign(&self, p: &mut Prepared) -> Result<(), SignFailure> {
        let dist = &p.item.dist;
        let digest =
            ArtifactDigest::sha256_hex(&dist.sha256).map_err(|reason| SignFailure::Digest {
                filename: dist.filename.clone(),
                reason,
            })?;
        let signed = self
            .signer
            .sign(&SigningJob {
                subject: dist.filename.clone(),
                statement: attestation::publish_statement(&dist.filename, &dist.sha256),
                digest,
            })
            .await
            .map_err(SignFailure::Sigstore)?;
        let converted = Attestation::from_bundle_json(&signed.bundle_json).map_err(|source| {
            SignFailure::Convert {
                filename: dist.filename.clone(),
                source,
            }
        })?;
        let path =
            attestation::write_attestation(&dist.path, &converted).map_err(SignFailure::Write)?;
        self.observer.step(&FileStep::Signed {
            filename: &dist.filename,
            path: &path,
            log_index: signed.verified.log_index,
        });
        p.item.attestations = vec![converted];
        p.state = AttestationState::Signed(path);
        Ok(())
    }
}

/// `--print-hash`: every file's digests, before the upload.
async fn hash_all(
    dists: &[Distribution],
    observer: &dyn PublishObserver,
) -> Result<(), PublishRunError> {
    for dist in dists {
        let owned = dist.clone();
        let digests = tokio::task::spawn_blocking(move || file_digests(&owned))
            .await
            .map_err(|err| PublishRunError::Internal(format!("hashing stopped: {err}")))?
            .map_err(|source| PublishRunError::Hash {
                path: dist.path.clone(),
                source,
            })?;
        observer.step(&FileStep::Hashed {
            dist,
            digests: &digests,
        });
    }
    Ok(())
}

/// Loads and verifies the existing attestation files of `dist`.
fn existing(
    dist: &Distribution,
    paths: &[PathBuf],
    trust: Option<&TrustRoot>,
) -> Result<(Vec<Attestation>, Signers), AttestationProblem> {
    let attestations = attestation::load_existing(dist, paths)?;
    let Some(trust) = trust else {
        return Ok((attestations, Vec::new()));
    };
    let digest =
        ArtifactDigest::sha256_hex(&dist.sha256).map_err(|reason| AttestationProblem::Digest {
            filename: dist.filename.clone(),
            reason,
        })?;
    let mut signers = Vec::new();
    for (path, attestation) in paths.iter().zip(&attestations) {
        let verified = verify_bundle(
            trust,
            &attestation.to_bundle_json(),
            &path.display().to_string(),
            &digest,
            &ExpectedIdentity::default(),
        )
        .map_err(|source| AttestationProblem::Verify {
            path: path.clone(),
            source,
        })?;
        signers.push((path.clone(), verified.claims));
    }
    Ok((attestations, signers))
}

/// Attestations made by another workflow verify, but PyPI checks them against this job's
/// publisher (the certificate's source repository and workflow) and would refuse the upload:
/// they are removed (unless `remove` is false: a dry run changes no file) and signed anew.
fn replace_foreign(
    prepared: &mut [Prepared],
    claims: &Claims,
    remove: bool,
    observer: &dyn PublishObserver,
) -> Result<(), PublishRunError> {
    let Some(repository) = claims.github.repository.clone() else {
        return Ok(());
    };
    let expected = ExpectedIdentity {
        repository: Some(repository),
        workflow: claims
            .github
            .job_workflow_ref
            .as_deref()
            .and_then(oidc_core::ci::workflow_filename)
            .map(str::to_owned),
        ..ExpectedIdentity::default()
    };
    for p in prepared.iter_mut() {
        let foreign = p.signers.iter().find_map(|(path, signer)| {
            expected.check(signer).err().map(|mismatch| {
                let name = path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                (
                    path.clone(),
                    format!("the existing {name} does not match this job: {mismatch}"),
                )
            })
        });
        let Some((path, reason)) = foreign else {
            continue;
        };
        observer.notice(&RunNotice::AttestationReplaced {
            filename: p.item.dist.filename.clone(),
            reason,
        });
        if remove {
            fs_err::remove_file(&path).map_err(|source| PublishRunError::RemoveForeign {
                path: path.clone(),
                source,
            })?;
        }
        p.item.attestations.clear();
        p.signers.clear();
        p.state = AttestationState::WouldSign;
    }
    Ok(())
}

/// Burns every token the session minted; a failed revocation is a notice (they expire anyway).
async fn finish(session: Session<'_, PypiExchange>, observer: &dyn PublishObserver) {
    for failure in session.finish().await {
        observer.notice(&RunNotice::RevocationFailed {
            scope: failure.scope,
            error: failure.error.to_string(),
        });
    }
}

#[cfg(test)]
mod tests;
