//! Diagnosing a trusted-publishing setup, for any registry.
//!
//! `trustpub doctor` answers one question: would a publish from this job work, and if not, what
//! exactly must change? This module holds the registry-neutral part of the answer:
//!
//! - the findings model: [`Finding`] (a problem or a note, with a stable kebab-case `code` and
//!   the fix), [`FieldCheck`] (one claim compared with what the registry matches on: the
//!   [`PublisherField`] it is for and the [`CompareRule`]),
//!   [`PublisherForm`] (the values to enter in the registry's trusted-publisher form),
//!   [`ExchangeOutcome`] and the whole [`Diagnosis`] with its [`Conclusion`];
//! - the checks every GitHub Actions ID token gets whatever the registry ([`checks`]: the event,
//!   the issuer, the clock, the audience, the runner) and the translation of a failed token
//!   request into what to change ([`checks::identity_finding`]);
//! - the driver: a registry implements [`RegistryDoctor`] (its comparisons, its form, its
//!   exchange attempt), and [`diagnose`] runs the live diagnosis (fetch a token, compare, attempt
//!   the exchange) while [`diagnose_offline`] explains captured claims with no network at all.
//!
//! Nothing here prints or holds a secret: a [`Diagnosis`] is safe to render, serialize and log.

pub mod checks;
mod findings;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::ci::MaskSink;
use crate::claims::Claims;
use crate::process::BoxFuture;
use crate::provider::{AmbientToken, Detector, TokenRequest};

pub use checks::{ClaimRequirements, check_claims, identity_finding};
pub use findings::{
    Attempt, CompareRule, Comparison, ExchangeOutcome, Expectations, FieldCheck, Finding,
    FormField, PublisherField, PublisherForm, RegistryError, Severity, Verdict,
};

/// Live (a token fetched here, an exchange attempted) or offline (captured claims explained).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// In CI: a fresh token, a real exchange attempt.
    Live,
    /// A captured token or claims file: no network at all, no exchange.
    Offline,
}

/// A claim as shown (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimRow {
    /// The claim name.
    pub name: String,
    /// Its value as text, `None` when absent.
    pub value: Option<String>,
}

/// The bottom line of a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conclusion {
    /// Live: the exchange succeeded and nothing is wrong: a publish would work.
    Ready,
    /// No error found, but the exchange was not tried (offline, or no package to try it for).
    Unproven,
    /// No credential could be obtained: no identity, a refused event, or a refused exchange.
    NoCredential,
    /// A credential was obtained (or none was tried), but a check failed (an `--expect-*`
    /// mismatch, or a problem in captured claims).
    ChecksFailed,
}

/// Everything a doctor run found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// The registry, for people (`PyPI (upload.pypi.org)`).
    pub registry: String,
    /// The URL it was diagnosed against.
    pub target: String,
    /// Live or offline.
    pub mode: Mode,
    /// The audience the token was (or must be) for.
    pub audience: Option<String>,
    /// The CI system that issued the token, when one was fetched.
    pub provider: Option<String>,
    /// The non-secret claims the registry matches on, plus issuer, audience and times.
    pub claims: Vec<ClaimRow>,
    /// Field-by-field comparison.
    pub checks: Vec<FieldCheck>,
    /// The trusted-publisher form values for this workflow.
    pub form: Option<PublisherForm>,
    /// The exchange attempt.
    pub exchange: ExchangeOutcome,
    /// Everything found, most severe first.
    pub findings: Vec<Finding>,
    /// What in the network setup (a proxy, extra CA certificates) applies to the requests
    /// that carry the token ([`HttpClient::network_notes`](crate::HttpClient::network_notes)).
    pub network: Vec<String>,
}

impl Diagnosis {
    /// An empty diagnosis for `doctor` in `mode`.
    fn start(doctor: &dyn RegistryDoctor, mode: Mode) -> Self {
        Self {
            registry: doctor.registry(),
            target: doctor.target(),
            mode,
            audience: None,
            provider: None,
            claims: Vec::new(),
            checks: Vec::new(),
            form: None,
            exchange: ExchangeOutcome::NotAttempted {
                reason: String::new(),
            },
            findings: Vec::new(),
            network: Vec::new(),
        }
    }

    /// The most severe finding's severity.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The findings of one severity.
    pub fn findings_of(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity == severity)
    }

    /// The bottom line.
    pub fn conclusion(&self) -> Conclusion {
        let has_errors = self.worst() == Some(Severity::Error);
        let exchanged = matches!(self.exchange, ExchangeOutcome::Succeeded { .. });
        match (self.mode, has_errors, exchanged) {
            (Mode::Live, true, false) => Conclusion::NoCredential,
            (_, true, _) => Conclusion::ChecksFailed,
            (Mode::Live, false, true) => Conclusion::Ready,
            (_, false, _) => Conclusion::Unproven,
        }
    }

    /// Sorts the findings most severe first (stable: equal ones keep their order).
    fn sort(&mut self) {
        self.findings
            .sort_by_key(|finding| std::cmp::Reverse(finding.severity));
    }

    /// Adds the claim rows, the common checks and the registry's comparison.
    fn analyze(&mut self, doctor: &dyn RegistryDoctor, claims: &Claims, now: i64) {
        self.claims = claim_rows(claims, doctor.matched_claims());
        self.findings.extend(check_claims(
            claims,
            self.audience.as_deref(),
            &doctor.requirements(),
            self.mode,
            now,
        ));
        let comparison = doctor.compare(claims);
        self.checks = comparison.checks;
        self.form = comparison.form;
        self.findings.extend(comparison.findings);
    }
}

/// The claims shown: issuer and audience, the registry's matched claims, then the times.
pub fn claim_rows(claims: &Claims, matched: &[&str]) -> Vec<ClaimRow> {
    let mut names: Vec<&str> = vec!["iss", "aud"];
    for name in matched.iter().copied().chain(["iat", "nbf", "exp"]) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| ClaimRow {
            name: name.to_owned(),
            value: claims.get_text(name),
        })
        .collect()
}

/// What a registry contributes to a diagnosis.
pub trait RegistryDoctor: Send + Sync {
    /// The registry, for people (`PyPI (upload.pypi.org)`).
    fn registry(&self) -> String;

    /// The URL diagnosed (`https://upload.pypi.org/legacy/`).
    fn target(&self) -> String;

    /// The claims the registry matches on, in the order to show them.
    fn matched_claims(&self) -> &'static [&'static str];

    /// The audience, when it is known without asking the registry (offline).
    fn known_audience(&self) -> Option<String>;

    /// The common checks' settings for this registry (a GitHub-hosted runner required?).
    fn requirements(&self) -> ClaimRequirements;

    /// What to ask the CI for; may ask the registry (PyPI's audience). An error is a finding.
    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, Finding>>;

    /// Compares the claims with what the registry matches on, and fills the form.
    fn compare(&self, claims: &Claims) -> Comparison;

    /// Live-only checks against the registry itself (npm: does the package exist?).
    fn registry_checks(&self) -> BoxFuture<'_, Vec<Finding>>;

    /// Offers the token to the registry, then burns or discards whatever it issued. Every
    /// secret is handed to `mask` the moment it exists.
    fn attempt<'a>(
        &'a self,
        token: &'a AmbientToken,
        mask: &'a dyn MaskSink,
    ) -> BoxFuture<'a, Attempt>;
}

/// Seconds since the epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The live diagnosis: the registry's checks, a fresh token for its audience (masked at once),
/// the common and registry comparisons, then the exchange attempt, unless the run's event may
/// not publish (trustpub never mints in `pull_request_target` or `pull_request` runs, and the
/// doctor does not either).
pub async fn diagnose(
    doctor: &dyn RegistryDoctor,
    detector: &Detector,
    mask: &dyn MaskSink,
) -> Diagnosis {
    let mut diagnosis = Diagnosis::start(doctor, Mode::Live);
    diagnosis.findings.extend(doctor.registry_checks().await);
    let request = match doctor.token_request().await {
        Ok(request) => request,
        Err(finding) => {
            diagnosis.findings.push(finding);
            diagnosis.exchange = ExchangeOutcome::NotAttempted {
                reason: "the registry's audience could not be learned, so no token was requested"
                    .to_owned(),
            };
            diagnosis.sort();
            return diagnosis;
        }
    };
    diagnosis.audience = Some(request.audience.clone());
    let ambient = match detector.detect(&request).await {
        Ok(ambient) => ambient,
        Err(err) => {
            diagnosis.findings.push(identity_finding(&err));
            diagnosis.exchange = ExchangeOutcome::NotAttempted {
                reason: "no ID token could be had".to_owned(),
            };
            diagnosis.sort();
            return diagnosis;
        }
    };
    mask.mask(ambient.token.expose());
    diagnosis.provider = Some(ambient.provider.to_owned());
    diagnosis.analyze(doctor, &ambient.claims, unix_now());
    diagnosis.exchange = match checks::event_refusal(&ambient.claims) {
        Some(refused) => ExchangeOutcome::NotAttempted {
            reason: format!(
                "trustpub does not mint publish credentials in a `{refused}` run, so the doctor did not either"
            ),
        },
        None => {
            let attempt = doctor.attempt(&ambient, mask).await;
            diagnosis.findings.extend(attempt.findings);
            attempt.outcome
        }
    };
    diagnosis.sort();
    diagnosis
}

/// Explains captured claims with no network at all: no token is requested and no exchange is
/// attempted. `now` is the time to judge expiry and clock skew against.
pub fn diagnose_offline(doctor: &dyn RegistryDoctor, claims: &Claims, now: i64) -> Diagnosis {
    let mut diagnosis = Diagnosis::start(doctor, Mode::Offline);
    diagnosis.audience = doctor.known_audience();
    diagnosis.analyze(doctor, claims, now);
    diagnosis.exchange = ExchangeOutcome::NotAttempted {
        reason: "offline: a captured token is explained without any network; only a run in CI can prove the exchange".to_owned(),
    };
    diagnosis.sort();
    diagnosis
}

/// Reads a captured token file: a raw JWT (only its claims are decoded; the signature is not
/// checked) or a JSON object of claims (`trustpub token --claims` output).
pub fn read_claims(text: &str) -> Result<Claims, crate::claims::ClaimsError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|err| crate::claims::ClaimsError::Json {
                segment: "claims file",
                reason: json_reason(&err),
            })?;
        match value {
            serde_json::Value::Object(map) => Claims::from_map(map),
            _ => Err(crate::claims::ClaimsError::Json {
                segment: "claims file",
                reason: "it is not an object".to_owned(),
            }),
        }
    } else {
        Claims::decode(&crate::secret::IdToken::new(trimmed))
    }
}

/// A JSON error's category and position, never the input (which may hold a token).
fn json_reason(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let category = match err.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected data",
        Category::Eof => "unexpected end of input",
    };
    format!("{category} at line {} column {}", err.line(), err.column())
}

#[cfg(test)]
mod tests;
