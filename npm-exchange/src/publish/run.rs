//! The whole `npm publish` of many tarballs: read and check every tarball (nothing goes out
//! when one is invalid), then per package, several at once: the registry it goes to, its
//! credential (its own OIDC exchange with a fresh ID token, or a configured token), npm's
//! provenance decision and signing, and the PUT, reconciling a version the registry already
//! has by its integrity. Returns a [`PublishReport`]; progress goes to a [`PublishObserver`].
//! Nothing here prints.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt as _;
use oidc_core::ci::{EventPolicy, EventRefused, MaskSink, RunEvent};
use oidc_core::sigstore::{
    AmbientSignerError, ArtifactDigest, ExpectedIdentity, KeylessSigner, SigningJob,
    SigstoreConfig, SigstoreError, TrustRoot, verify_bundle,
};
use oidc_core::{
    Claims, Detector, Environment, HttpClient, IdentityError, ObtainError, RetryPolicy, Secret,
    obtain,
};

use super::report::{
    CredentialProblem, PackageFailure, PackageOutcome, PackageReport, ProvenancePlan, PublishReport,
};
use super::{PublishStatus, Publisher};
use crate::exchange::NpmExchange;
use crate::npmrc::{ConfiguredToken, NpmSettings, SettingSource, nerf_dart};
use crate::package::{
    Access, PackageError, PackageTarball, PublishDocument, PublishOptions, PublishRefused,
};
use crate::provenance::{
    PackageVisibility, ProvenanceBundle, ProvenanceContext, ProvenanceStatement, ProvenanceSubject,
    check_provenance_preconditions, fetch_package_visibility,
};
use crate::registry::{NPMJS_REGISTRY, NpmRegistry, RegistryUrlError};

/// Whether and how provenance goes with the packages (from the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvenanceMode {
    /// None (`--no-provenance`).
    Off,
    /// npm's default: with trusted publishing, when npm's conditions hold (a notice
    /// otherwise); `publishConfig.provenance` can turn it on or off per package.
    Auto,
    /// Always (`--provenance`): an unmet condition fails the package.
    Required,
    /// Attach `--provenance-file` (one package).
    File,
}

/// Everything a run is asked to do.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// Tarballs, or directories whose `*.tgz` are published (sorted by name).
    pub paths: Vec<PathBuf>,
    /// `--registry`: wins over `publishConfig.registry` and the configuration (but, as in npm,
    /// not over an `@scope:registry` line for a scoped package).
    pub registry: Option<NpmRegistry>,
    /// `--tag`: wins over `publishConfig.tag`.
    pub tag: Option<String>,
    /// `--access`: wins over `publishConfig.access`.
    pub access: Option<Access>,
    /// `--token`: a registry token given on the command line.
    pub token: Option<Secret>,
    /// The environment and `.npmrc` settings.
    pub npm: NpmSettings,
    /// `false` with `--no-trusted-publishing`: use the configured token, never exchange.
    pub trusted_publishing: bool,
    /// Provenance.
    pub provenance: ProvenanceMode,
    /// `--provenance-file`.
    pub provenance_file: Option<PathBuf>,
    /// The Sigstore instance, when provenance may be signed or checked.
    pub sigstore: Option<SigstoreConfig>,
    /// Packages in flight at once (at least 1).
    pub concurrency: usize,
    /// Stop before signing and publishing.
    pub dry_run: bool,
    /// Which events may publish (the refusals cannot be switched off; the token's signed
    /// `event_name` decides, the environment is the fallback).
    pub policy: EventPolicy,
}

impl PublishSettings {
    /// Trusted publishing of `paths` with npm's own choices from `npm` (the `.npmrc` files and
    /// `NPM_CONFIG_*`: registry, tag, access per package): provenance whenever npm's conditions
    /// hold, signed with the public-good Sigstore; 4 packages at once.
    pub fn new(paths: Vec<PathBuf>, npm: NpmSettings) -> Self {
        Self {
            paths,
            registry: None,
            tag: None,
            access: None,
            token: None,
            npm,
            trusted_publishing: true,
            provenance: ProvenanceMode::Auto,
            provenance_file: None,
            sigstore: Some(SigstoreConfig::public_good()),
            concurrency: 4,
            dry_run: false,
            policy: EventPolicy,
        }
    }
}

/// Run-wide things worth telling the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunNotice {
    /// A configured token is not used because trusted publishing is available.
    TokenIgnored {
        /// Where the token was found.
        source: SettingSource,
        /// It is `actions/setup-node`'s placeholder.
        placeholder: bool,
    },
    /// A configured token is used (no ID token here, or `--no-trusted-publishing`).
    UsingToken {
        /// Where it was found.
        source: SettingSource,
    },
    /// Provenance is signed as this identity.
    SigningAs(String),
    /// The job runs in a reusable workflow: npm matches the trusted publisher on the caller's
    /// workflow (`workflow_ref`), not the called one (`job_workflow_ref`), as PyPI does.
    ReusableWorkflow {
        /// The calling workflow's file name: what npm's trusted publisher must name.
        caller: String,
        /// The called workflow (`job_workflow_ref`).
        called: String,
    },
}

/// One step of one package.
#[derive(Debug)]
pub enum PackageStep<'a> {
    /// The tarball was read and checked; it goes to `registry`.
    Checked {
        /// The registry host.
        registry: &'a str,
    },
    /// An ID token was exchanged for a publish token scoped to the package.
    Exchanged,
    /// No provenance for this package, and why (a notice in `Auto` mode).
    NoProvenance {
        /// Why not.
        reason: String,
        /// Whether it is worth a warning (the reason could not be checked) rather than a note.
        warn: bool,
    },
    /// The given bundle was checked.
    ProvenanceChecked {
        /// The bundle.
        path: &'a Path,
        /// Its signer.
        identity: &'a str,
    },
    /// Provenance was signed and written beside the tarball.
    ProvenanceSigned {
        /// The bundle file.
        path: &'a Path,
        /// The Rekor log index.
        log_index: Option<u64>,
    },
    /// The PUT starts.
    Publishing {
        /// The registry host.
        registry: &'a str,
        /// The dist-tag.
        tag: &'a str,
        /// Bytes.
        size: u64,
    },
}

/// Hears about the run as it goes (the CLI prints; the library never does). Every method has
/// a default that does nothing; `index` is the package's position in the input.
pub trait PublishObserver: MaskSink {
    /// A run-wide notice.
    fn notice(&self, _notice: &RunNotice) {}
    /// A step of package `index`.
    fn step(&self, _index: usize, _label: &str, _step: &PackageStep<'_>) {}
    /// Package `index` is done, whatever the outcome.
    fn finished(&self, _index: usize, _report: &PackageReport) {}
}

/// Why a run did not start (nothing was published).
#[derive(Debug, thiserror::Error)]
pub enum PublishRunError {
    /// No tarballs were found.
    #[error(
        "no package tarballs (*.tgz) in {paths}: run `npm pack` (or `pnpm -r pack`) first, or name the tarballs"
    )]
    NoTarballs {
        /// The paths looked at.
        paths: String,
    },
    /// A directory could not be listed.
    #[error("cannot list {}: {source}", .path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Some packages are invalid: nothing was published.
    #[error("{} problem(s) in the packages: nothing was published", .problems.len())]
    Invalid {
        /// Every problem, in input order.
        problems: Vec<InvalidPackage>,
    },
    /// `--provenance-file` with several packages.
    #[error(
        "--provenance-file attaches one bundle to one package, and {count} packages were given: publish them one at a time"
    )]
    ProvenanceFileNeedsOnePackage {
        /// How many packages.
        count: usize,
    },
    /// The run's event may not publish.
    #[error(transparent)]
    Event(#[from] EventRefused),
    /// The Sigstore trust root for `--provenance-file` could not be loaded.
    #[error(transparent)]
    Sigstore(#[from] SigstoreError),
    /// A reading task failed.
    #[error("reading a tarball failed unexpectedly: {0}")]
    Internal(String),
}

/// One invalid package.
#[derive(Debug, thiserror::Error)]
pub enum InvalidPackage {
    /// The tarball cannot be read.
    #[error(transparent)]
    Read(#[from] PackageError),
    /// npm would refuse it.
    #[error(transparent)]
    Refused(#[from] PublishRefused),
    /// The registry chosen for it is unusable.
    #[error("{package}: {source} (from {from})")]
    Registry {
        /// `name@version`.
        package: String,
        /// Which setting named it.
        from: SettingSource,
        /// Why.
        source: RegistryUrlError,
    },
}

/// A package ready to go.
struct Planned {
    tarball: PackageTarball,
    document: PublishDocument,
    registry: NpmRegistry,
    registry_source: SettingSource,
}

/// How one package authenticates.
enum Credential {
    Trusted,
    Token(ConfiguredToken),
    Problem(CredentialProblem),
}

/// The provenance decided for one package.
enum Provenance {
    None,
    Sign(ProvenanceStatement),
    Bundle(String),
}

/// A publish run over many packages.
pub struct PublishRun<'a> {
    http: HttpClient,
    detector: &'a Detector,
    env: &'a dyn Environment,
    settings: PublishSettings,
    retry: RetryPolicy,
    signer: tokio::sync::OnceCell<Arc<KeylessSigner>>,
    trust: Option<TrustRoot>,
    stop: AtomicBool,
    stopped: Mutex<Option<IdentityError>>,
    notices: Mutex<HashSet<String>>,
    renewal_mask: Option<Arc<dyn MaskSink>>,
}

impl<'a> PublishRun<'a> {
    /// A run with these settings, over `http`, detecting identities with `detector` and reading
    /// CI variables from `env`.
    pub fn new(
        http: HttpClient,
        detector: &'a Detector,
        env: &'a dyn Environment,
        settings: PublishSettings,
    ) -> Self {
        Self {
            retry: http.retry_policy().clone(),
            http,
            detector,
            env,
            settings,
            signer: tokio::sync::OnceCell::new(),
            trust: None,
            stop: AtomicBool::new(false),
            stopped: Mutex::new(None),
            notices: Mutex::new(HashSet::new()),
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

    /// Uses this retry policy for PUTs (default: the HTTP client's); the PUTs retry through
    /// oidc-core's one retry helper whatever the policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Runs the publish. `Err` means nothing was published; otherwise the report says, per
    /// package, what happened.
    pub async fn run(
        mut self,
        observer: &dyn PublishObserver,
    ) -> Result<PublishReport, PublishRunError> {
        let planned = self.read_and_check(observer).await?;
        if self.settings.provenance_file.is_some() && planned.len() > 1 {
            return Err(PublishRunError::ProvenanceFileNeedsOnePackage {
                count: planned.len(),
            });
        }
        if let (ProvenanceMode::File, Some(config)) =
            (self.settings.provenance, &self.settings.sigstore)
        {
            self.trust = Some(TrustRoot::for_config(config)?);
        }
        let trusted_somewhere = planned
            .iter()
            .any(|p| matches!(self.credential(&p.registry), Credential::Trusted));
        if trusted_somewhere {
            self.settings
                .policy
                .check_environment(&RunEvent::from_env(self.env))?;
        }
        let this = &self;
        let packages: Vec<PackageReport> =
            futures_util::stream::iter(planned.into_iter().enumerate())
                .map(|(index, package)| async move {
                    let report = this.publish_one(index, package, observer).await;
                    observer.finished(index, &report);
                    report
                })
                .buffered(self.settings.concurrency.max(1))
                .collect()
                .await;
        let stopped = self
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Ok(PublishReport {
            packages,
            stopped,
            dry_run: self.settings.dry_run,
        })
    }

    async fn read_and_check(
        &self,
        observer: &dyn PublishObserver,
    ) -> Result<Vec<Planned>, PublishRunError> {
        let paths = find_tarballs(&self.settings.paths)?;
        let reads: Vec<_> = futures_util::stream::iter(paths)
            .map(|path| async move {
                tokio::task::spawn_blocking(move || PackageTarball::read(&path)).await
            })
            .buffered(self.settings.concurrency.clamp(1, 8))
            .collect()
            .await;
        let mut planned = Vec::new();
        let mut problems = Vec::new();
        for read in reads {
            let tarball = match read {
                Ok(Ok(tarball)) => tarball,
                Ok(Err(err)) => {
                    problems.push(InvalidPackage::Read(err));
                    continue;
                }
                Err(err) => return Err(PublishRunError::Internal(err.to_string())),
            };
            let manifest = tarball.manifest();
            let label = format!("{}@{}", manifest.name(), manifest.version());
            let (registry, registry_source) = match self.registry_for(&tarball) {
                Ok(found) => found,
                Err((from, source)) => {
                    problems.push(InvalidPackage::Registry {
                        package: label,
                        from,
                        source,
                    });
                    continue;
                }
            };
            let options = PublishOptions {
                registry: registry.url(),
                tag: self.settings.tag.as_deref(),
                access: self.settings.access,
            };
            match PublishDocument::new(&tarball, &options) {
                Ok(document) => {
                    observer.step(
                        planned.len(),
                        &label,
                        &PackageStep::Checked {
                            registry: &registry.host(),
                        },
                    );
                    planned.push(Planned {
                        tarball,
                        document,
                        registry,
                        registry_source,
                    });
                }
                Err(refused) => problems.push(InvalidPackage::Refused(refused)),
            }
        }
        if !problems.is_empty() {
            return Err(PublishRunError::Invalid { problems });
        }
        Ok(planned)
    }

    /// npm's choice of registry for a package: `@scope:registry` from the configuration, then
    /// `--registry`, then `publishConfig.registry`, then the configured `registry`, then npmjs.
    fn registry_for(
        &self,
        tarball: &PackageTarball,
    ) -> Result<(NpmRegistry, SettingSource), (SettingSource, RegistryUrlError)> {
        let manifest = tarball.manifest();
        let npm = &self.settings.npm;
        let (url, source) =
            if let Some(found) = manifest.scope().and_then(|scope| npm.scope_registry(scope)) {
                found
            } else if let Some(registry) = &self.settings.registry {
                return Ok((registry.clone(), SettingSource::Flag("registry")));
            } else if let Some(url) = manifest.publish_config().registry() {
                (url.to_string(), SettingSource::PublishConfig)
            } else if let Some(found) = npm.registry() {
                found
            } else {
                (NPMJS_REGISTRY.to_owned(), SettingSource::Default)
            };
        NpmRegistry::parse(&url)
            .map(|registry| (registry, source.clone()))
            .map_err(|err| (source, err))
    }

    /// How a package on `registry` authenticates: like npm 11, trusted publishing whenever an
    /// ID token can be had (a configured token does not win over it); a configured token only
    /// without one, or with `--no-trusted-publishing`. A placeholder is never used.
    fn credential(&self, registry: &NpmRegistry) -> Credential {
        let configured = match &self.settings.token {
            Some(token) if !token.is_empty() => Some(ConfiguredToken {
                token: token.clone(),
                source: SettingSource::Flag("token"),
            }),
            _ => self.settings.npm.token_for(registry),
        };
        let problem_or_token = |configured: ConfiguredToken| {
            if configured.is_placeholder() {
                Credential::Problem(CredentialProblem::Placeholder {
                    source: configured.source,
                    registry: registry.host(),
                })
            } else {
                Credential::Token(configured)
            }
        };
        if !self.settings.trusted_publishing {
            return match configured {
                Some(configured) => problem_or_token(configured),
                None => Credential::Problem(CredentialProblem::Missing {
                    registry: registry.host(),
                    key: format!("{}:_authToken", nerf_dart(registry.url())),
                }),
            };
        }
        if id_token_available(self.env) {
            return Credential::Trusted;
        }
        match configured {
            Some(configured) => problem_or_token(configured),
            None => Credential::Trusted,
        }
    }

    /// Says a notice once per run.
    fn notice_once(&self, observer: &dyn PublishObserver, notice: RunNotice) {
        let key = format!("{notice:?}");
        let fresh = self
            .notices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
        if fresh {
            observer.notice(&notice);
        }
    }

    async fn publish_one(
        &self,
        index: usize,
        package: Planned,
        observer: &dyn PublishObserver,
    ) -> PackageReport {
        let Planned {
            tarball,
            document,
            registry,
            registry_source,
        } = package;
        let label = format!("{}@{}", document.name(), document.version());
        let mut report = PackageReport {
            label: label.clone(),
            path: tarball.path().to_owned(),
            size: tarball.size(),
            integrity: tarball.integrity(),
            tag: document.tag().to_owned(),
            registry: registry.host(),
            registry_source,
            provenance_bundle: None,
            outcome: PackageOutcome::NotAttempted,
        };
        if self.stop.load(Ordering::SeqCst) {
            return report;
        }
        let step = |s: PackageStep<'_>| observer.step(index, &label, &s);

        // 1. The credential: this package's own exchange, or a configured token.
        let mut claims = None;
        let credential = match self.credential(&registry) {
            Credential::Trusted => {
                if let Some(configured) = self
                    .settings
                    .token
                    .as_ref()
                    .map(|t| ConfiguredToken {
                        token: t.clone(),
                        source: SettingSource::Flag("token"),
                    })
                    .or_else(|| self.settings.npm.token_for(&registry))
                {
                    observer.mask(configured.token.expose());
                    self.notice_once(
                        observer,
                        RunNotice::TokenIgnored {
                            placeholder: configured.is_placeholder(),
                            source: configured.source,
                        },
                    );
                }
                let exchange =
                    NpmExchange::new(self.http.clone(), registry.clone(), document.name().clone());
                match obtain(self.detector, &exchange, &self.settings.policy, observer).await {
                    Ok(obtained) => {
                        step(PackageStep::Exchanged);
                        if let Some(notice) = reusable_workflow(&obtained.claims) {
                            self.notice_once(observer, notice);
                        }
                        claims = Some(obtained.claims);
                        obtained.credential.secret
                    }
                    Err(ObtainError::Exchange(err) | ObtainError::Audience(err)) => {
                        report.outcome = PackageOutcome::Failed(PackageFailure::Exchange(err));
                        return report;
                    }
                    Err(ObtainError::Identity(err)) => {
                        // No ID token for one package means none for any: stop at once.
                        self.stop.store(true, Ordering::SeqCst);
                        let mut stopped =
                            self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
                        if stopped.is_none() {
                            *stopped = Some(err);
                        }
                        return report;
                    }
                    Err(ObtainError::Event(_)) => {
                        // Checked before the run started; cannot change during it.
                        self.stop.store(true, Ordering::SeqCst);
                        return report;
                    }
                }
            }
            Credential::Token(configured) => {
                observer.mask(configured.token.expose());
                self.notice_once(
                    observer,
                    RunNotice::UsingToken {
                        source: configured.source.clone(),
                    },
                );
                configured.token
            }
            Credential::Problem(problem) => {
                report.outcome = PackageOutcome::Failed(PackageFailure::Credential(problem));
                return report;
            }
        };
        let trusted = claims.is_some();

        // 2. Provenance, decided before anything is signed.
        let mode = self.mode_for(&tarball, trusted);
        let provenance = match self
            .provenance_for(
                mode,
                (&tarball, &document),
                &registry,
                &credential,
                claims.as_ref(),
                &step,
            )
            .await
        {
            Ok(provenance) => provenance,
            Err(failure) => {
                report.outcome = PackageOutcome::Failed(failure);
                return report;
            }
        };
        if self.settings.dry_run {
            report.outcome = PackageOutcome::WouldPublish {
                provenance: match provenance {
                    Provenance::None => ProvenancePlan::None,
                    Provenance::Sign(_) => ProvenancePlan::Sign,
                    Provenance::Bundle(_) => ProvenancePlan::Given,
                },
            };
            return report;
        }

        // 3. Sign and attach.
        let bundle_json = match provenance {
            Provenance::None => None,
            Provenance::Bundle(json) => Some(json),
            Provenance::Sign(statement) => {
                match self.sign(&label, &statement, &tarball, observer).await {
                    Ok((json, path, log_index)) => {
                        step(PackageStep::ProvenanceSigned {
                            path: &path,
                            log_index,
                        });
                        report.provenance_bundle = Some(path);
                        Some(json)
                    }
                    Err(failure) => {
                        report.outcome = PackageOutcome::Failed(failure);
                        return report;
                    }
                }
            }
        };
        let document = match bundle_json {
            None => document,
            Some(json) => match document.with_provenance_bundle(json) {
                Ok(document) => document,
                Err(err) => {
                    report.outcome = PackageOutcome::Failed(PackageFailure::Document(err));
                    return report;
                }
            },
        };

        // 4. The PUT; a version already there with the same integrity counts as done.
        step(PackageStep::Publishing {
            registry: &registry.host(),
            tag: document.tag(),
            size: tarball.size(),
        });
        let publisher = Publisher::new(self.http.clone(), registry, self.retry.clone());
        report.outcome = match publisher
            .publish(&document, &tarball.integrity(), &credential)
            .await
        {
            Ok(PublishStatus::Published) => PackageOutcome::Published,
            Ok(PublishStatus::AlreadyPublished) => PackageOutcome::AlreadyPresent,
            Err(err) => PackageOutcome::Failed(PackageFailure::Publish(err)),
        };
        report
    }

    /// The provenance mode for one package: the command line's, with `publishConfig.provenance`
    /// deciding when no flag did; off by default with a token (npm signs automatically only
    /// after an exchange).
    fn mode_for(&self, tarball: &PackageTarball, trusted: bool) -> ProvenanceMode {
        match self.settings.provenance {
            ProvenanceMode::Auto => match tarball.manifest().publish_config().provenance() {
                Some(true) => ProvenanceMode::Required,
                Some(false) => ProvenanceMode::Off,
                None if trusted => ProvenanceMode::Auto,
                None => ProvenanceMode::Off,
            },
            other => other,
        }
    }

    async fn provenance_for(
        &self,
        mode: ProvenanceMode,
        package: (&PackageTarball, &PublishDocument),
        registry: &NpmRegistry,
        credential: &Secret,
        claims: Option<&Claims>,
        step: &(dyn Fn(PackageStep<'_>) + Sync),
    ) -> Result<Provenance, PackageFailure> {
        let (tarball, document) = package;
        let label = format!("{}@{}", document.name(), document.version());
        let subject = ProvenanceSubject::for_tarball(tarball);
        match mode {
            ProvenanceMode::Off => Ok(Provenance::None),
            ProvenanceMode::File => {
                let (Some(path), Some(trust)) = (&self.settings.provenance_file, &self.trust)
                else {
                    return Ok(Provenance::None);
                };
                let bundle = ProvenanceBundle::read(path, &subject)
                    .await
                    .map_err(PackageFailure::ProvenanceFile)?;
                let digest = ArtifactDigest::Sha512(*tarball.sha512());
                let verified = verify_bundle(
                    trust,
                    bundle.json(),
                    &path.display().to_string(),
                    &digest,
                    &ExpectedIdentity::default(),
                )
                .map_err(|source| PackageFailure::Sigstore {
                    package: label.clone(),
                    source,
                })?;
                step(PackageStep::ProvenanceChecked {
                    path,
                    identity: verified
                        .claims
                        .identity
                        .as_deref()
                        .unwrap_or("an unknown identity"),
                });
                Ok(Provenance::Bundle(bundle.into_json()))
            }
            ProvenanceMode::Auto | ProvenanceMode::Required => {
                let visibility = if document.access() == Some(Access::Public)
                    || document.name().scope().is_none()
                {
                    Ok(PackageVisibility::AccessPublic)
                } else {
                    fetch_package_visibility(&self.http, registry, document.name(), credential)
                        .await
                };
                let package = match visibility {
                    Ok(visibility) => visibility,
                    Err(source) if mode == ProvenanceMode::Auto => {
                        step(PackageStep::NoProvenance {
                            reason: source.to_string(),
                            warn: true,
                        });
                        return Ok(Provenance::None);
                    }
                    Err(source) => {
                        return Err(PackageFailure::Visibility {
                            package: label,
                            source,
                        });
                    }
                };
                let ci = ProvenanceContext {
                    env: self.env,
                    claims,
                    package,
                };
                match check_provenance_preconditions(tarball.manifest(), &ci) {
                    Ok(build) => Ok(Provenance::Sign(ProvenanceStatement::new(&build, &subject))),
                    Err(refusal) if mode == ProvenanceMode::Auto => {
                        step(PackageStep::NoProvenance {
                            reason: format!("{refusal} (pass --provenance to make this an error)"),
                            warn: false,
                        });
                        Ok(Provenance::None)
                    }
                    Err(refusal) => Err(PackageFailure::ProvenanceRefused(refusal)),
                }
            }
        }
    }

    /// Signs with the run's signer (made once, at the first package that needs it, from a
    /// fresh `sigstore` ID token) and writes the bundle beside the tarball.
    async fn sign(
        &self,
        label: &str,
        statement: &ProvenanceStatement,
        tarball: &PackageTarball,
        observer: &dyn PublishObserver,
    ) -> Result<(String, PathBuf, Option<u64>), PackageFailure> {
        let failure = |source| PackageFailure::Sigstore {
            package: label.to_owned(),
            source,
        };
        let Some(config) = &self.settings.sigstore else {
            return Err(failure(SigstoreError::Signing {
                subject: label.to_owned(),
                reason: "provenance to sign without a Sigstore configuration".into(),
            }));
        };
        let signer = self
            .signer
            .get_or_try_init(|| async {
                // One signing session for the run, renewed with a fresh ambient token when
                // its certificate runs out.
                let signer = KeylessSigner::ambient(
                    self.detector,
                    &self.http,
                    config,
                    observer as &dyn MaskSink,
                    self.renewal_mask.clone(),
                )
                .await
                .map_err(|err| match err {
                    AmbientSignerError::Sigstore(err) => err,
                    AmbientSignerError::Identity(err) => SigstoreError::Token {
                        reason: err.to_string(),
                    },
                })?;
                if let Some(san) = &signer.expected_identity().san {
                    self.notice_once(observer, RunNotice::SigningAs(san.clone()));
                }
                Ok::<_, SigstoreError>(Arc::new(signer))
            })
            .await
            .map_err(failure)?
            .clone();
        let signed = signer
            .sign(&SigningJob {
                subject: label.to_owned(),
                statement: statement.as_bytes().to_vec(),
                digest: ArtifactDigest::Sha512(*tarball.sha512()),
            })
            .await
            .map_err(failure)?;
        let path = bundle_path(tarball.path());
        // The bundle is ours (signed just now): one of an earlier run is replaced; a symlink
        // at its name is refused (one atomic writer for every file trustpub puts beside the
        // user's).
        let (target, contents) = (path.clone(), signed.bundle_json.clone().into_bytes());
        tokio::task::spawn_blocking(move || {
            oidc_core::fs::write_new_atomic(&target, &contents, oidc_core::fs::Existing::Replace)
        })
        .await
        .map_err(|err| PackageFailure::Sigstore {
            package: label.to_owned(),
            source: SigstoreError::Signing {
                subject: label.to_owned(),
                reason: format!("writing the bundle stopped: {err}"),
            },
        })?
        .map_err(|source| PackageFailure::BundleWrite {
            path: path.clone(),
            source,
        })?;
        Ok((signed.bundle_json, path, signed.verified.log_index))
    }
}

/// Whether this job can get an ID token for an exchange, by npm 11's rule: `NPM_ID_TOKEN`
/// is set (GitLab, CircleCI, any provider), or GitHub Actions gives both
/// `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (`id-token: write`).
pub fn id_token_available(env: &dyn Environment) -> bool {
    env.non_empty("NPM_ID_TOKEN").is_some()
        || (env.non_empty("ACTIONS_ID_TOKEN_REQUEST_URL").is_some()
            && env.non_empty("ACTIONS_ID_TOKEN_REQUEST_TOKEN").is_some())
}

/// gh-action-pypi-publish warns before minting from a reusable workflow; npm matches the
/// caller (`workflow_ref`), so the caller's file name is what its trusted publisher must name.
fn reusable_workflow(claims: &oidc_core::Claims) -> Option<RunNotice> {
    let caller = claims.github.workflow_ref.as_deref()?;
    let called = claims.github.job_workflow_ref.as_deref()?;
    if caller == called {
        return None;
    }
    Some(RunNotice::ReusableWorkflow {
        caller: oidc_core::ci::workflow_filename(caller)
            .unwrap_or(caller)
            .to_owned(),
        called: called.to_owned(),
    })
}

/// `<tarball>.sigstore.json`: where a signed provenance bundle is kept beside its tarball.
pub fn bundle_path(tarball: &Path) -> PathBuf {
    let mut name = tarball.as_os_str().to_owned();
    name.push(".sigstore.json");
    PathBuf::from(name)
}

/// The tarballs named, or found (`*.tgz`, sorted) in the directories named; `.` by default.
pub fn find_tarballs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PublishRunError> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let mut found = Vec::new();
    for path in &paths {
        if path.is_dir() {
            let entries = fs_err::read_dir(path).map_err(|source| PublishRunError::ReadDir {
                path: path.clone(),
                source,
            })?;
            let mut tgz: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "tgz"))
                .collect();
            tgz.sort();
            found.extend(tgz);
        } else {
            found.push(path.clone());
        }
    }
    if found.is_empty() {
        return Err(PublishRunError::NoTarballs {
            paths: paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use oidc_core::{HttpConfig, MapEnv};

    use super::*;
    use crate::npmrc::{Npmrc, SETUP_NODE_PLACEHOLDER};
    use crate::package::test_support::{package_tgz, write};

    fn settings(npm: NpmSettings) -> PublishSettings {
        PublishSettings {
            paths: Vec::new(),
            registry: None,
            tag: None,
            access: None,
            token: None,
            npm,
            trusted_publishing: true,
            provenance: ProvenanceMode::Off,
            provenance_file: None,
            sigstore: None,
            concurrency: 4,
            dry_run: false,
            policy: EventPolicy,
        }
    }

    fn with_run<T>(
        env: &MapEnv,
        settings: PublishSettings,
        f: impl FnOnce(&PublishRun<'_>) -> T,
    ) -> T {
        let http = HttpClient::new(&HttpConfig::default(), env).unwrap();
        let detector = Detector::with_providers(Arc::new(env.clone()), Vec::new());
        let run = PublishRun::new(http, &detector, env, settings);
        f(&run)
    }

    fn npmrc(text: &str) -> NpmSettings {
        NpmSettings::from_files(vec![(
            "/p/.npmrc".into(),
            Npmrc::parse(text, &MapEnv::new()),
        )])
    }

    #[test]
    fn registry_order_is_npms() {
        let dir = tempfile::tempdir().unwrap();
        let scoped = PackageTarball::read(&write(
            dir.path(),
            "s.tgz",
            &package_tgz(r#"{"name":"@s/p","version":"1.0.0","publishConfig":{"registry":"https://pc.example/"}}"#),
        ))
        .unwrap();
        let plain = PackageTarball::read(&write(
            dir.path(),
            "p.tgz",
            &package_tgz(r#"{"name":"p","version":"1.0.0"}"#),
        ))
        .unwrap();
        let env = MapEnv::new();
        let rc = npmrc("registry=https://rc.example/\n@s:registry=https://scope.example/\n");
        let mut with_flag = settings(rc.clone());
        with_flag.registry = Some(NpmRegistry::parse("https://flag.example/").unwrap());
        with_run(&env, with_flag, |run| {
            // An @scope:registry line wins even over --registry, as in npm's pickRegistry.
            assert_eq!(run.registry_for(&scoped).unwrap().0.host(), "scope.example");
            assert_eq!(run.registry_for(&plain).unwrap().0.host(), "flag.example");
        });
        with_run(
            &env,
            settings(npmrc("registry=https://rc.example/\n")),
            |run| {
                let (registry, source) = run.registry_for(&scoped).unwrap();
                assert_eq!(
                    (registry.host().as_str(), source),
                    ("pc.example", SettingSource::PublishConfig)
                );
                assert_eq!(run.registry_for(&plain).unwrap().0.host(), "rc.example");
            },
        );
        with_run(&env, settings(NpmSettings::default()), |run| {
            assert_eq!(
                run.registry_for(&plain).unwrap(),
                (
                    NpmRegistry::parse(NPMJS_REGISTRY).unwrap(),
                    SettingSource::Default
                )
            );
        });
    }

    fn kind(credential: Credential) -> String {
        match credential {
            Credential::Trusted => "trusted".into(),
            Credential::Token(t) => format!("token from {}", t.source),
            Credential::Problem(p) => format!("problem: {p}"),
        }
    }

    #[test]
    fn oidc_first_then_the_configured_token() {
        let registry = NpmRegistry::parse("https://registry.npmjs.org/").unwrap();
        let rc = npmrc("//registry.npmjs.org/:_authToken=npm_stale\n");
        let ci = MapEnv::new()
            .with("ACTIONS_ID_TOKEN_REQUEST_URL", "https://t.example/?x=1")
            .with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "r");
        let local = MapEnv::new();
        with_run(&ci, settings(rc.clone()), |run| {
            assert_eq!(kind(run.credential(&registry)), "trusted");
        });
        with_run(&local, settings(rc.clone()), |run| {
            assert_eq!(
                kind(run.credential(&registry)),
                "token from `//registry.npmjs.org/:_authToken` in /p/.npmrc"
            );
        });
        let mut no_tp = settings(rc);
        no_tp.trusted_publishing = false;
        with_run(&ci, no_tp, |run| {
            assert!(kind(run.credential(&registry)).starts_with("token from"));
        });
        let mut placeholder = settings(NpmSettings::default());
        placeholder.token = Some(Secret::new(SETUP_NODE_PLACEHOLDER));
        with_run(&local, placeholder, |run| {
            assert!(kind(run.credential(&registry)).contains("setup-node's placeholder"));
        });
        let mut missing = settings(NpmSettings::default());
        missing.trusted_publishing = false;
        with_run(&ci, missing, |run| {
            assert!(
                kind(run.credential(&registry)).contains("`//registry.npmjs.org/:_authToken=…`")
            );
        });
        with_run(&local, settings(NpmSettings::default()), |run| {
            assert_eq!(
                kind(run.credential(&registry)),
                "trusted",
                "fails later, explained"
            );
        });
    }
}
