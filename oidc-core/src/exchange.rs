//! The shape every registry exchange implements, and the one driver that runs it.
//!
//! A registry names the audience it wants (fixed, like npm's, or discovered, like PyPI's),
//! trades an ID token for a short-lived [`Credential`], and may revoke it when the job is done.
//! [`obtain`] runs the steps in order: the event policy, the audience, a fresh ambient token,
//! the exchange, and masking of every secret the moment it exists.

use std::time::{Duration, SystemTime};

use crate::ci::{EventPolicy, EventRefused, MaskSink, RunEvent};
use crate::claims::Claims;
use crate::http::{Attempt, RetryError, RetryPolicy, ServerWait};
use crate::process::BoxFuture;
use crate::provider::{AmbientToken, Detector, IdentityError, TokenRequest};
use crate::secret::Secret;

/// A short-lived upload credential a registry minted.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The secret itself.
    pub secret: Secret,
    /// When it stops working, when the registry says.
    pub expires_at: Option<SystemTime>,
    /// What it may do (`upload to the projects of publisher …`, `publish @scope/name`).
    pub scope: String,
}

impl Credential {
    /// Whether it expires within `margin` from now (unknown expiry: never).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at.is_some_and(|at| {
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
                <= margin
        })
    }
}

/// A registry that trades ID tokens for upload credentials.
pub trait Exchange: Send + Sync {
    /// The registry's own error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The registry, for messages (`PyPI (upload.pypi.org)`).
    fn registry(&self) -> String;

    /// What to ask the CI for: the audience (perhaps discovered from the registry) and any
    /// registry-specific token variable.
    fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, Self::Error>>;

    /// Trades a fresh ID token for a credential. The token's claims are at hand to explain a
    /// rejection.
    fn exchange<'a>(
        &'a self,
        token: &'a AmbientToken,
    ) -> BoxFuture<'a, Result<Credential, Self::Error>>;

    /// Whether an exchange error is worth another try with a fresh ID token (a 5xx, a lost
    /// connection). The default: never.
    fn is_transient(_error: &Self::Error) -> bool {
        false
    }

    /// Revokes a credential when done. The default does nothing (npm tokens simply expire).
    fn revoke<'a>(&'a self, _credential: &'a Credential) -> BoxFuture<'a, Result<(), Self::Error>> {
        Box::pin(async { Ok(()) })
    }
}

/// Why no credential was obtained.
#[derive(Debug, thiserror::Error)]
pub enum ObtainError<E: std::error::Error + 'static> {
    /// The run's event may not publish.
    #[error(transparent)]
    Event(#[from] EventRefused),
    /// The registry's audience could not be learned.
    #[error(transparent)]
    Audience(E),
    /// No ID token could be had.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The registry refused the token.
    #[error(transparent)]
    Exchange(E),
}

/// A credential with the identity it was minted for.
#[derive(Debug, Clone)]
pub struct Obtained {
    /// The credential.
    pub credential: Credential,
    /// The claims of the ID token that was exchanged.
    pub claims: Claims,
    /// The CI system that issued the ID token.
    pub provider: &'static str,
}

/// How many times [`obtain`] tries an exchange that fails transiently, each with a fresh token.
pub const EXCHANGE_ATTEMPTS: u32 = 3;

/// Runs the whole exchange: event policy → audience → fresh ID token → event policy on its
/// signed claims → exchange → mask.
///
/// The run's event is read from the detector's environment ([`RunEvent::from_env`]): a run the
/// environment calls `pull_request_target` never asks for a token; the token's signed
/// `event_name` is checked again before it is exchanged. Warnings for allowed events go to
/// [`MaskSink::warning`].
///
/// A transient exchange failure ([`Exchange::is_transient`]) is retried with a new ID token:
/// registries refuse to see one token twice, so an HTTP-level retry of the same request could
/// turn a lost response into a reuse error. The retries go through the one retry helper
/// ([`RetryPolicy::run`]), at most [`EXCHANGE_ATTEMPTS`] attempts.
pub async fn obtain<E: Exchange>(
    detector: &Detector,
    exchange: &E,
    policy: &EventPolicy,
    mask: &dyn MaskSink,
) -> Result<Obtained, ObtainError<E::Error>> {
    let event = RunEvent::from_env(detector.env());
    policy.check_environment(&event)?;
    let request = exchange
        .token_request()
        .await
        .map_err(ObtainError::Audience)?;
    let (request, event) = (&request, &event);
    let what = format!(
        "{}: the exchange (with a fresh ID token each attempt)",
        exchange.registry()
    );
    EXCHANGE_RETRY
        .run(&what, |attempt| async move {
            let ambient = match detector.detect(request).await {
                Ok(ambient) => ambient,
                Err(err) => return Attempt::Fail(Failed(err.into())),
            };
            mask.mask(ambient.token.expose());
            let warnings = match policy.check_token(event, &ambient.claims) {
                Ok(warnings) => warnings,
                Err(err) => return Attempt::Fail(Failed(err.into())),
            };
            if attempt == 1 {
                for warning in warnings {
                    mask.warning(warning.title, &warning.message);
                }
            }
            tracing::info!(
                "got an ID token from {} for audience `{}` (claims: repository={:?}, workflow_ref={:?})",
                ambient.provider,
                request.audience,
                ambient.claims.github.repository,
                ambient.claims.github.workflow_ref,
            );
            match exchange.exchange(&ambient).await {
                Ok(credential) => {
                    mask.mask(credential.secret.expose());
                    Attempt::Done(Obtained {
                        credential,
                        claims: ambient.claims,
                        provider: ambient.provider,
                    })
                }
                Err(err) if E::is_transient(&err) => Attempt::Retry {
                    error: Failed(ObtainError::Exchange(err)),
                    // A long Retry-After already ended the exchange request itself
                    // (HttpError::ServerBusy, which no registry counts as transient).
                    retry_after: None,
                },
                Err(err) => Attempt::Fail(Failed(ObtainError::Exchange(err))),
            }
        })
        .await
        .map_err(|Failed(err)| err)
}

/// The retry policy of [`obtain`]: at most [`EXCHANGE_ATTEMPTS`] exchanges, each with a fresh
/// ID token, half a second of backoff (with jitter) doubling between them.
const EXCHANGE_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: EXCHANGE_ATTEMPTS,
    base_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(30),
};

/// An [`ObtainError`] inside [`obtain`]'s retry loop.
struct Failed<E: std::error::Error + 'static>(ObtainError<E>);

impl<E: std::error::Error + 'static> std::fmt::Display for Failed<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error + 'static> RetryError for Failed<E> {
    /// Never reached: [`obtain`] passes no `Retry-After` (see there). Should one come, the
    /// exchange's own error stands and the log says how long was asked.
    fn server_asked_to_wait(self, wait: ServerWait) -> Self {
        tracing::warn!("{}; {wait}", self.0);
        self
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::claims::tests::jwt;
    use crate::env::{Environment, MapEnv};
    use crate::provider::GitlabCi;

    #[derive(Debug, thiserror::Error)]
    #[error("refused: {0}")]
    struct Refused(String);

    struct Fake {
        refuse: bool,
        requests: Mutex<u32>,
    }

    /// Fails transiently `failures` times, then mints; records the `jti` of every token it saw.
    struct Flaky {
        failures: Mutex<u32>,
        seen: Mutex<Vec<Option<String>>>,
        /// What the failures say (`503` is transient, anything else a refusal).
        status: &'static str,
    }

    impl Exchange for Flaky {
        type Error = Refused;

        fn registry(&self) -> String {
            "flaky".into()
        }

        fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, Refused>> {
            Box::pin(async { Ok(TokenRequest::new("fake-aud")) })
        }

        fn exchange<'a>(
            &'a self,
            token: &'a AmbientToken,
        ) -> BoxFuture<'a, Result<Credential, Refused>> {
            Box::pin(async move {
                self.seen.lock().unwrap().push(token.claims.jti.clone());
                let mut failures = self.failures.lock().unwrap();
                if *failures > 0 {
                    *failures -= 1;
                    return Err(Refused(self.status.into()));
                }
                Ok(Credential {
                    secret: Secret::new("minted"),
                    expires_at: None,
                    scope: String::new(),
                })
            })
        }

        fn is_transient(error: &Refused) -> bool {
            error.0 == "503"
        }
    }

    /// A detector whose every token has a new `jti`, like a real CI.
    struct FreshTokens;

    impl crate::provider::Provider for FreshTokens {
        fn name(&self) -> &'static str {
            "fresh"
        }

        fn id_token<'a>(
            &'a self,
            _: &'a TokenRequest,
        ) -> BoxFuture<'a, Result<Option<crate::IdToken>, IdentityError>> {
            let token = jwt(
                &serde_json::json!({"aud": "fake-aud", "jti": format!("jti-{}", fastrand::u64(..))}),
            );
            Box::pin(async move { Ok(Some(token)) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_exchange_failures_are_retried_with_fresh_tokens() {
        let detector =
            Detector::with_providers(Arc::new(MapEnv::new()), vec![Box::new(FreshTokens)]);
        let flaky = Flaky {
            failures: Mutex::new(2),
            seen: Mutex::default(),
            status: "503",
        };
        let obtained = obtain(&detector, &flaky, &EventPolicy, &crate::ci::NoMask)
            .await
            .unwrap();
        assert_eq!(obtained.credential.secret.expose(), "minted");
        let seen = flaky.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
        assert_eq!(
            distinct.len(),
            3,
            "each attempt used a new ID token: {seen:?}"
        );

        // More transient failures than attempts: the last error comes back.
        let flaky = Flaky {
            failures: Mutex::new(EXCHANGE_ATTEMPTS),
            seen: Mutex::default(),
            status: "503",
        };
        let err = obtain(&detector, &flaky, &EventPolicy, &crate::ci::NoMask)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "refused: 503");
        assert_eq!(flaky.seen.lock().unwrap().len() as u32, EXCHANGE_ATTEMPTS);

        // A refusal is not transient: one exchange, no retry.
        for status in ["400", "401", "403"] {
            let flaky = Flaky {
                failures: Mutex::new(1),
                seen: Mutex::default(),
                status,
            };
            let err = obtain(&detector, &flaky, &EventPolicy, &crate::ci::NoMask)
                .await
                .unwrap_err();
            assert_eq!(err.to_string(), format!("refused: {status}"));
            assert_eq!(flaky.seen.lock().unwrap().len(), 1, "{status}");
        }
    }

    impl Exchange for Fake {
        type Error = Refused;

        fn registry(&self) -> String {
            "fake".into()
        }

        fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, Refused>> {
            *self.requests.lock().unwrap() += 1;
            Box::pin(async { Ok(TokenRequest::new("fake-aud")) })
        }

        fn exchange<'a>(
            &'a self,
            token: &'a AmbientToken,
        ) -> BoxFuture<'a, Result<Credential, Refused>> {
            Box::pin(async move {
                if self.refuse {
                    return Err(Refused(token.claims.sub.clone().unwrap_or_default()));
                }
                Ok(Credential {
                    secret: Secret::new("minted-secret"),
                    expires_at: Some(SystemTime::now() + Duration::from_secs(900)),
                    scope: "everything".into(),
                })
            })
        }
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl MaskSink for Recorder {
        fn mask(&self, secret: &str) {
            self.0.lock().unwrap().push(secret.to_owned());
        }
    }

    fn detector() -> (Detector, String) {
        let token =
            jwt(&serde_json::json!({"aud": "fake-aud", "sub": "project_path:g/p:ref_type:tag"}));
        let env: Arc<dyn Environment> = Arc::new(
            MapEnv::new()
                .with("GITLAB_CI", "true")
                .with("FAKE_AUD_ID_TOKEN", token.expose()),
        );
        (
            Detector::with_providers(env.clone(), vec![Box::new(GitlabCi::new(env))]),
            token.expose().to_owned(),
        )
    }

    #[tokio::test]
    async fn obtains_and_masks_every_secret() {
        let (detector, raw) = detector();
        let fake = Fake {
            refuse: false,
            requests: Mutex::default(),
        };
        let recorder = Recorder::default();
        let obtained = obtain(&detector, &fake, &EventPolicy, &recorder)
            .await
            .unwrap();
        assert_eq!(obtained.credential.secret.expose(), "minted-secret");
        assert_eq!(obtained.provider, "GitLab CI");
        assert_eq!(
            *recorder.0.lock().unwrap(),
            vec![raw, "minted-secret".to_owned()]
        );
        assert!(!obtained.credential.expires_within(Duration::from_secs(60)));
        assert!(
            obtained
                .credential
                .expires_within(Duration::from_secs(3600))
        );
    }

    #[tokio::test]
    async fn refused_events_never_ask_for_a_token() {
        let env: Arc<dyn Environment> = Arc::new(
            MapEnv::new()
                .with("GITHUB_ACTIONS", "true")
                .with("GITHUB_EVENT_NAME", "pull_request_target"),
        );
        let detector = Detector::with_providers(env.clone(), vec![Box::new(GitlabCi::new(env))]);
        let fake = Fake {
            refuse: false,
            requests: Mutex::default(),
        };
        let err = obtain(&detector, &fake, &EventPolicy, &crate::ci::NoMask)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            ObtainError::Event(EventRefused::PullRequestTarget { .. })
        ));
        assert_eq!(*fake.requests.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn exchange_errors_come_back_typed() {
        let (detector, _) = detector();
        let fake = Fake {
            refuse: true,
            requests: Mutex::default(),
        };
        let err = obtain(&detector, &fake, &EventPolicy, &crate::ci::NoMask)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "refused: project_path:g/p:ref_type:tag");
    }
}
