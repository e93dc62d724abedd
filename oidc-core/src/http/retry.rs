//! The one retry loop of trustpub: [`RetryPolicy::run`] and the rules it applies (see the
//! documentation of [`crate::http`]).

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::{Response, StatusCode};

/// When and how often to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first one included (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Whether a response status is worth another attempt: 408, 429 and 5xx except 501 (Not
    /// Implemented) and 505 (HTTP Version Not Supported), which will not change. Another 4xx is
    /// a refusal and never retried.
    pub fn is_retryable_status(status: StatusCode) -> bool {
        Self::is_retryable_code(status.as_u16())
    }

    /// [`is_retryable_status`](Self::is_retryable_status) for a status kept as a number.
    ///
    /// ```
    /// use oidc_core::RetryPolicy;
    /// assert!(RetryPolicy::is_retryable_code(503) && RetryPolicy::is_retryable_code(429));
    /// assert!(!RetryPolicy::is_retryable_code(501) && !RetryPolicy::is_retryable_code(403));
    /// ```
    pub fn is_retryable_code(status: u16) -> bool {
        matches!(status, 408 | 429)
            || ((500..600).contains(&status) && !matches!(status, 501 | 505))
    }

    /// Whether a transport error is worth another attempt: a connection that failed or broke,
    /// a timeout. A certificate nobody here trusts is not, whatever this says
    /// ([`HttpClient::send`](super::HttpClient::send) checks that).
    pub fn is_retryable_error(err: &reqwest::Error) -> bool {
        err.is_connect() || err.is_timeout() || err.is_request() || err.is_body()
    }

    /// Runs `step` until it is done, fails for good, or the policy says stop: the one retry
    /// loop of trustpub (see the module documentation for the rules).
    ///
    /// `step` gets the attempt number (from 1) and classifies its outcome as an [`Attempt`].
    /// On [`Attempt::Retry`], the helper waits (`Retry-After` when given, else backoff with
    /// jitter) and calls `step` again, unless this was the last attempt (the error is returned)
    /// or the server asked to wait longer than [`max_delay`](Self::max_delay) (the error is
    /// returned through [`RetryError::server_asked_to_wait`], without waiting). `what` names
    /// the operation in the log line of each retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oidc_core::http::{Attempt, RetryError, RetryPolicy, ServerWait};
    ///
    /// /// A caller's own error type.
    /// #[derive(Debug)]
    /// struct Busy(String);
    ///
    /// impl std::fmt::Display for Busy {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    ///         f.write_str(&self.0)
    ///     }
    /// }
    ///
    /// impl RetryError for Busy {
    ///     fn server_asked_to_wait(self, wait: ServerWait) -> Self {
    ///         Busy(format!("{}; {wait}", self.0))
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let policy = RetryPolicy {
    ///     max_attempts: 3,
    ///     base_delay: Duration::from_millis(1),
    ///     max_delay: Duration::from_secs(1),
    /// };
    /// // Two 503s, then an answer.
    /// let answer = policy
    ///     .run("lookup", |attempt| async move {
    ///         if attempt < 3 {
    ///             let error = Busy(format!("503 on attempt {attempt}"));
    ///             Attempt::Retry { error, retry_after: None }
    ///         } else {
    ///             Attempt::Done(attempt)
    ///         }
    ///     })
    ///     .await;
    /// assert_eq!(answer.unwrap(), 3);
    ///
    /// // A 429 that asks for ten minutes: no wait, no second attempt, the wait is named.
    /// let err = policy
    ///     .run("lookup", |_| async {
    ///         let error = Busy("429".into());
    ///         Attempt::<(), _>::Retry { error, retry_after: Some(Duration::from_secs(600)) }
    ///     })
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.0.starts_with("429; the server asked to wait 600 s"), "{err}");
    /// # }
    /// ```
    pub async fn run<T, E, F, Fut>(&self, what: &str, mut step: F) -> Result<T, E>
    where
        E: RetryError,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Attempt<T, E>>,
    {
        let max_attempts = self.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let (error, retry_after) = match step(attempt).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry { error, retry_after } => (error, retry_after),
            };
            if let Some(asked) = retry_after.filter(|wait| *wait > self.max_delay) {
                // Neither sit through it nor shorten it: stop, and say how long was asked.
                tracing::debug!(
                    "{what}: the server asked to wait {}s, more than the {}s this policy waits: not retrying",
                    asked.as_secs(),
                    self.max_delay.as_secs()
                );
                return Err(error.server_asked_to_wait(ServerWait {
                    asked,
                    max: self.max_delay,
                }));
            }
            if attempt >= max_attempts {
                return Err(error);
            }
            let wait = self.delay(attempt, retry_after);
            tracing::warn!(
                "{what}: {error}; retrying in {:.1}s (attempt {}/{max_attempts})",
                wait.as_secs_f64(),
                attempt + 1,
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1), honouring `retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exponent = attempt.saturating_sub(1).min(16);
        let backoff = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        // Full jitter over the upper half: spreads clients out without collapsing to zero.
        let half = backoff / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(fastrand::u64(0..=jitter_ms))
    }
}

/// What one attempt of [`RetryPolicy::run`] came to, as its caller classifies it.
#[derive(Debug)]
pub enum Attempt<T, E> {
    /// It worked (or ended in a way that needs no further attempt): the value is returned.
    Done(T),
    /// It failed in a way another attempt may fix (a lost connection, a timeout, a retryable
    /// status: see [`RetryPolicy::is_retryable_code`]).
    Retry {
        /// The error, returned as is when no further attempt is made.
        error: E,
        /// The server's `Retry-After`, when it sent one ([`retry_after`],
        /// [`ResponseText::retry_after`](super::ResponseText::retry_after)).
        retry_after: Option<Duration>,
    },
    /// It failed for good (a 4xx refusal, a bad file): returned at once.
    Fail(E),
}

impl<T, E> Attempt<T, E> {
    /// A failed attempt with an HTTP `status`: [`Attempt::Retry`] when the status is worth
    /// another attempt, else [`Attempt::Fail`].
    pub fn from_status(status: u16, retry_after: Option<Duration>, error: E) -> Self {
        if RetryPolicy::is_retryable_code(status) {
            Self::Retry { error, retry_after }
        } else {
            Self::Fail(error)
        }
    }
}

/// An error [`RetryPolicy::run`] can return after a server asked for a longer pause than the
/// policy waits: it must then say how long the server asked.
pub trait RetryError: std::fmt::Display {
    /// This error, saying also that the server asked to wait `wait.asked` (and that nothing
    /// more is retried). Called only on an error that came with a `Retry-After`.
    #[must_use]
    fn server_asked_to_wait(self, wait: ServerWait) -> Self;
}

/// A server's `Retry-After` that was longer than the retry policy waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerWait {
    /// How long the server asked to wait.
    pub asked: Duration,
    /// The longest pause the policy takes ([`RetryPolicy::max_delay`]).
    pub max: Duration,
}

impl std::fmt::Display for ServerWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server asked to wait {} s before another attempt, longer than trustpub waits between attempts ({} s): not retried, run the job again later",
            seconds(self.asked),
            seconds(self.max)
        )
    }
}

/// Seconds for messages: `600`, `90.2`, `0.05` (at most millisecond precision).
fn seconds(wait: Duration) -> String {
    if wait.subsec_millis() == 0 {
        return wait.as_secs().to_string();
    }
    let text = format!("{:.3}", wait.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Reads a `Retry-After` header: delta-seconds or an HTTP date.
pub fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn which_statuses_are_retried() {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(RetryPolicy::is_retryable_code(status), "{status}");
        }
        for status in [200, 301, 400, 401, 403, 404, 409, 422, 501, 505, 600] {
            assert!(!RetryPolicy::is_retryable_code(status), "{status}");
        }
    }

    /// An error of the helper's tests: what it is, and the wait the server asked, if any.
    #[derive(Debug, PartialEq)]
    struct Failed(&'static str, Option<ServerWait>);

    impl std::fmt::Display for Failed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl RetryError for Failed {
        fn server_asked_to_wait(self, wait: ServerWait) -> Self {
            Failed(self.0, Some(wait))
        }
    }

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }

    /// Retries until done, waiting the backoff (with jitter, within its bounds) or the
    /// server's `Retry-After` exactly. Time is paused: the waits cost nothing.
    #[tokio::test(start_paused = true)]
    async fn the_helper_retries_with_backoff_and_honours_retry_after() {
        let started = tokio::time::Instant::now();
        let seen = std::sync::Mutex::new(Vec::new());
        let value = policy(4)
            .run("test", |attempt| {
                seen.lock().unwrap().push((attempt, started.elapsed()));
                async move {
                    match attempt {
                        1 => Attempt::Retry {
                            error: Failed("503", None),
                            retry_after: None,
                        },
                        2 => Attempt::Retry {
                            error: Failed("429", None),
                            retry_after: Some(Duration::from_secs(7)),
                        },
                        _ => Attempt::Done("ok"),
                    }
                }
            })
            .await;
        assert_eq!(value, Ok("ok"));
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 3);
        let first_wait = seen[1].1 - seen[0].1;
        assert!(
            first_wait >= Duration::from_millis(500) && first_wait <= Duration::from_secs(1),
            "{first_wait:?}"
        );
        assert_eq!(seen[2].1 - seen[1].1, Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn the_helper_stops_at_a_refusal_and_at_the_cap() {
        let calls = AtomicU32::new(0);
        let err = policy(4)
            .run("test", |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Attempt::<(), _>::Fail(Failed("403", None)) }
            })
            .await
            .unwrap_err();
        assert_eq!(
            (err, calls.load(Ordering::SeqCst)),
            (Failed("403", None), 1)
        );

        let calls = AtomicU32::new(0);
        let err = policy(3)
            .run("test", |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Attempt::<(), _>::Retry {
                        error: Failed("502", None),
                        retry_after: Some(Duration::from_secs(1)),
                    }
                }
            })
            .await
            .unwrap_err();
        assert_eq!(
            (err, calls.load(Ordering::SeqCst)),
            (Failed("502", None), 3)
        );
        // A policy of one attempt never waits.
        let started = tokio::time::Instant::now();
        let err = policy(1)
            .run("test", |_| async {
                Attempt::<(), _>::Retry {
                    error: Failed("500", None),
                    retry_after: None,
                }
            })
            .await
            .unwrap_err();
        assert_eq!(err, Failed("500", None));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    /// A `Retry-After` longer than the policy's longest wait: no sleep, no further attempt,
    /// and the error says how long the server asked (on the last attempt too).
    #[tokio::test(start_paused = true)]
    async fn the_helper_gives_up_on_a_long_retry_after_and_says_how_long() {
        for max_attempts in [1, 4] {
            let started = tokio::time::Instant::now();
            let calls = AtomicU32::new(0);
            let err = policy(max_attempts)
                .run("test", |_| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async {
                        Attempt::<(), _>::Retry {
                            error: Failed("429", None),
                            retry_after: Some(Duration::from_secs(600)),
                        }
                    }
                })
                .await
                .unwrap_err();
            let wait = ServerWait {
                asked: Duration::from_secs(600),
                max: Duration::from_secs(30),
            };
            assert_eq!(err, Failed("429", Some(wait)));
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            assert_eq!(started.elapsed(), Duration::ZERO);
        }
        // Exactly the longest wait is still waited for.
        let started = tokio::time::Instant::now();
        let value = policy(2)
            .run("test", |attempt| async move {
                if attempt == 1 {
                    Attempt::Retry {
                        error: Failed("429", None),
                        retry_after: Some(Duration::from_secs(30)),
                    }
                } else {
                    Attempt::Done(())
                }
            })
            .await;
        assert_eq!(value, Ok(()));
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[test]
    fn a_server_wait_reads_in_whole_seconds() {
        let wait = ServerWait {
            asked: Duration::from_millis(90_200),
            max: Duration::from_secs(30),
        };
        insta::assert_snapshot!(wait, @"the server asked to wait 90.2 s before another attempt, longer than trustpub waits between attempts (30 s): not retried, run the job again later");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.delay(1, None);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.delay(3, None);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.delay(9, None) <= Duration::from_secs(1));
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(5))),
            Duration::from_secs(1)
        );
    }
}
