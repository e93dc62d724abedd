//! A credential kept fresh for a long run, and revoked at the end.
//!
//! PyPI tokens live 15 minutes; a large upload can outlast that. A [`Session`] hands out the
//! current credential and mints a new one (with a fresh ID token) when the current one is
//! within [`Session::REFRESH_MARGIN`] of expiring, as twine does. [`Session::finish`] revokes
//! every credential it minted, success or failure.

use std::time::Duration;

use tokio::sync::Mutex;

use crate::ci::{EventPolicy, MaskSink};
use crate::exchange::{Credential, Exchange, ObtainError, Obtained, obtain};
use crate::provider::Detector;

/// A revocation that failed: worth a warning, never an error (the token expires anyway).
#[derive(Debug)]
pub struct RevokeFailure<E> {
    /// The credential's scope, to say which one.
    pub scope: String,
    /// Why.
    pub error: E,
}

/// Mints on demand, re-mints before expiry, revokes at the end.
pub struct Session<'a, E: Exchange> {
    detector: &'a Detector,
    exchange: &'a E,
    policy: EventPolicy,
    mask: &'a dyn MaskSink,
    state: Mutex<State>,
}

struct State {
    current: Option<Obtained>,
    minted: Vec<Credential>,
}

impl<'a, E: Exchange> Session<'a, E> {
    /// Re-mint when the credential has less than this left (twine uses the same margin).
    pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

    /// A session that mints nothing until asked. The run's event comes from the detector's
    /// environment and each token's signed claims (see [`obtain`]).
    pub fn new(
        detector: &'a Detector,
        exchange: &'a E,
        policy: EventPolicy,
        mask: &'a dyn MaskSink,
    ) -> Self {
        Self {
            detector,
            exchange,
            policy,
            mask,
            state: Mutex::new(State {
                current: None,
                minted: Vec::new(),
            }),
        }
    }

    /// The current credential, minted (or re-minted) if needed.
    pub async fn credential(&self) -> Result<Obtained, ObtainError<E::Error>> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current
            && !current.credential.expires_within(Self::REFRESH_MARGIN)
        {
            return Ok(current.clone());
        }
        if state.current.is_some() {
            tracing::info!("the upload credential expires within 5 minutes: minting a new one");
        }
        let obtained = obtain(self.detector, self.exchange, &self.policy, self.mask).await?;
        state.minted.push(obtained.credential.clone());
        state.current = Some(obtained.clone());
        Ok(obtained)
    }

    /// How many credentials were minted so far.
    pub async fn minted(&self) -> usize {
        self.state.lock().await.minted.len()
    }

    /// Revokes every credential minted, returning the failures (to show as warnings).
    pub async fn finish(self) -> Vec<RevokeFailure<E::Error>> {
        let state = self.state.into_inner();
        let mut failures = Vec::new();
        for credential in &state.minted {
            if let Err(error) = self.exchange.revoke(credential).await {
                failures.push(RevokeFailure {
                    scope: credential.scope.clone(),
                    error,
                });
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex as StdMutex};
    use std::time::SystemTime;

    use super::*;
    use crate::ci::NoMask;
    use crate::claims::tests::jwt;
    use crate::env::{Environment, MapEnv};
    use crate::process::BoxFuture;
    use crate::provider::{AmbientToken, GitlabCi, TokenRequest};
    use crate::secret::Secret;

    #[derive(Debug, thiserror::Error)]
    #[error("burn failed")]
    struct BurnFailed;

    /// Mints tokens that expire after `lifetime`, numbered; records revocations.
    struct Counting {
        lifetime: Duration,
        minted: StdMutex<u32>,
        revoked: StdMutex<Vec<String>>,
        fail_revoke: bool,
    }

    impl Exchange for Counting {
        type Error = BurnFailed;
        fn registry(&self) -> String {
            "counting".into()
        }
        fn token_request(&self) -> BoxFuture<'_, Result<TokenRequest, BurnFailed>> {
            Box::pin(async { Ok(TokenRequest::new("aud")) })
        }
        fn exchange<'a>(
            &'a self,
            _: &'a AmbientToken,
        ) -> BoxFuture<'a, Result<Credential, BurnFailed>> {
            Box::pin(async move {
                let mut n = self.minted.lock().unwrap();
                *n += 1;
                Ok(Credential {
                    secret: Secret::new(format!("token-{n}")),
                    expires_at: Some(SystemTime::now() + self.lifetime),
                    scope: format!("scope-{n}"),
                })
            })
        }
        fn revoke<'a>(
            &'a self,
            credential: &'a Credential,
        ) -> BoxFuture<'a, Result<(), BurnFailed>> {
            Box::pin(async move {
                self.revoked
                    .lock()
                    .unwrap()
                    .push(credential.secret.expose().to_owned());
                if self.fail_revoke {
                    Err(BurnFailed)
                } else {
                    Ok(())
                }
            })
        }
    }

    /// The session's current credential, as text.
    async fn secret<E: Exchange>(session: &Session<'_, E>) -> String {
        session
            .credential()
            .await
            .unwrap()
            .credential
            .secret
            .expose()
            .to_owned()
    }

    fn detector() -> Detector {
        let env: Arc<dyn Environment> = Arc::new(MapEnv::new().with("GITLAB_CI", "true").with(
            "AUD_ID_TOKEN",
            jwt(&serde_json::json!({"aud": "aud"})).expose(),
        ));
        Detector::with_providers(env.clone(), vec![Box::new(GitlabCi::new(env))])
    }

    #[tokio::test]
    async fn reuses_a_fresh_credential_and_burns_it_at_the_end() {
        let detector = detector();
        let exchange = Counting {
            lifetime: Duration::from_secs(900),
            minted: StdMutex::default(),
            revoked: StdMutex::default(),
            fail_revoke: false,
        };
        let session = Session::new(&detector, &exchange, EventPolicy, &NoMask);
        assert_eq!(secret(&session).await, "token-1");
        assert_eq!(secret(&session).await, "token-1");
        assert_eq!(session.minted().await, 1);
        assert!(session.finish().await.is_empty());
        assert_eq!(*exchange.revoked.lock().unwrap(), vec!["token-1"]);
    }

    #[tokio::test]
    async fn re_mints_a_credential_about_to_expire_and_burns_both() {
        let detector = detector();
        let exchange = Counting {
            // Already inside the refresh margin: every call re-mints.
            lifetime: Duration::from_secs(60),
            minted: StdMutex::default(),
            revoked: StdMutex::default(),
            fail_revoke: true,
        };
        let session = Session::new(&detector, &exchange, EventPolicy, &NoMask);
        assert_eq!(secret(&session).await, "token-1");
        assert_eq!(secret(&session).await, "token-2");
        let failures = session.finish().await;
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].scope, "scope-1");
        assert_eq!(
            *exchange.revoked.lock().unwrap(),
            vec!["token-1", "token-2"]
        );
    }
}
