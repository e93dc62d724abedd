//! The one HTTP client every trustpub crate uses.
//!
//! rustls with the platform's roots plus any extra CA certificates (from `SSL_CERT_FILE` or
//! given explicitly), connect and read timeouts, a `trustpub/<version>` user agent, `https`
//! only (plain `http` is refused except for loopback hosts), and a retry policy: exponential
//! backoff with jitter that honours `Retry-After`, retries connection errors, timeouts, 429 and
//! 5xx, never another 4xx, and gives up after a bounded number of attempts.
//!
//! Redirects: reqwest drops `Authorization` (and cookies) when a redirect leaves the original
//! host; on top of that a redirect from `https` to plain `http` is refused.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use reqwest::{RequestBuilder, Response, StatusCode};
use url::{Host, Url};

use crate::env::Environment;

/// The user agent every request carries.
pub const USER_AGENT: &str = concat!("trustpub/", env!("CARGO_PKG_VERSION"));

/// What went wrong talking HTTP.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is plain `http` and not on a loopback host.
    #[error(
        "refusing to send credentials over plain HTTP to {url}: use an https:// URL (plain http is allowed only for 127.0.0.1, ::1 and localhost)"
    )]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },
    /// A CA certificate file could not be read or parsed.
    #[error("cannot use the CA certificate file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Build(String),
    /// The request failed before a response arrived, after every retry.
    #[error("{what}: request to {url} failed after {attempts} attempt(s): {reason}")]
    Transport {
        /// What the request was for (`PyPI audience discovery`, ...).
        what: String,
        /// The URL (never carries credentials).
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The transport error, e.g. `connection refused`, `timed out`.
        reason: String,
    },
}

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

    /// Whether a response status is worth another attempt.
    pub fn is_retryable_status(status: StatusCode) -> bool {
        status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
    }

    /// Whether a transport error is worth another attempt.
    pub fn is_retryable_error(err: &reqwest::Error) -> bool {
        err.is_connect() || err.is_timeout() || err.is_request() || err.is_body()
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

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Extra PEM files of CA certificates to trust on top of the platform's roots.
    pub extra_ca_files: Vec<PathBuf>,
    /// Also trust the PEM bundle named by `SSL_CERT_FILE`, when set.
    pub use_ssl_cert_file: bool,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read timeout: the longest silence while waiting for response bytes.
    pub read_timeout: Duration,
    /// The retry policy of [`HttpClient::send`].
    pub retry: RetryPolicy,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            extra_ca_files: Vec::new(),
            use_ssl_cert_file: true,
            connect_timeout: Duration::from_secs(10),
            // Large uploads wait for the server to hash and store the file before it answers.
            read_timeout: Duration::from_secs(15 * 60),
            retry: RetryPolicy::default(),
        }
    }
}

/// The shared client: a configured `reqwest::Client` and its retry policy.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    retry: RetryPolicy,
}

impl HttpClient {
    /// Builds the client. `env` supplies `SSL_CERT_FILE`.
    pub fn new(config: &HttpConfig, env: &dyn Environment) -> Result<Self, HttpError> {
        let mut ca_files: Vec<PathBuf> = config.extra_ca_files.clone();
        if config.use_ssl_cert_file
            && let Some(path) = env.non_empty("SSL_CERT_FILE")
        {
            ca_files.push(PathBuf::from(path));
        }
        let mut certificates = Vec::new();
        for path in &ca_files {
            certificates.extend(load_pem_bundle(path, env)?);
        }
        let builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .redirect(redirect_policy())
            .tls_certs_merge(certificates);
        let inner = builder
            .build()
            .map_err(|err| HttpError::Build(error_chain(&err)))?;
        Ok(Self {
            inner,
            retry: config.retry.clone(),
        })
    }

    /// The underlying reqwest client, for requests that manage their own retries.
    pub fn inner(&self) -> &reqwest::Client {
        &self.inner
    }

    /// The retry policy requests through this client follow.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Refuses plain `http` to anything but a loopback host.
    pub fn check_url(url: &Url) -> Result<(), HttpError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if is_loopback(url) => Ok(()),
            _ => Err(HttpError::InsecureUrl {
                url: redact_url(url),
            }),
        }
    }

    /// Sends a request built by `build`, retrying per the policy. The builder is called again
    /// for every attempt, so streamed bodies are rebuilt.
    ///
    /// Returns the last response whatever its status (a 4xx, or a 5xx that outlived every
    /// retry) so the caller can explain it; errors only when no response arrived at all.
    pub async fn send<F>(&self, what: &str, url: &Url, build: F) -> Result<Response, HttpError>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        Self::check_url(url)?;
        self.send_unchecked(what, url, build).await
    }

    /// Sends once, without retries: for requests that must not be repeated as they are (a
    /// token mint consumes its ID token). Same `https` check and return contract as
    /// [`send`](Self::send).
    pub async fn send_once<F>(&self, what: &str, url: &Url, build: F) -> Result<Response, HttpError>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        Self::check_url(url)?;
        retry_loop(&RetryPolicy::none(), what, url, || {
            build(&self.inner).send()
        })
        .await
    }

    /// Like [`send`](Self::send) without the `https` check: for link-local services that are
    /// plain `http` by design (the Google Cloud metadata server).
    pub async fn send_unchecked<F>(
        &self,
        what: &str,
        url: &Url,
        build: F,
    ) -> Result<Response, HttpError>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        retry_loop(&self.retry, what, url, || build(&self.inner).send()).await
    }
}

async fn retry_loop<S, SF>(
    policy: &RetryPolicy,
    what: &str,
    url: &Url,
    mut send: S,
) -> Result<Response, HttpError>
where
    S: FnMut() -> SF,
    SF: Future<Output = Result<Response, reqwest::Error>>,
{
    let max_attempts = policy.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        let outcome = send().await;
        let last = attempt >= max_attempts;
        match outcome {
            Ok(response) => {
                let status = response.status();
                if last || !RetryPolicy::is_retryable_status(status) {
                    return Ok(response);
                }
                let hint = retry_after(&response);
                if hint.is_some_and(|wait| wait > policy.max_delay) {
                    // The server asks for a longer pause than we are willing to sit through.
                    return Ok(response);
                }
                let wait = policy.delay(attempt, hint);
                tracing::warn!(
                    "{what}: {url} answered {status}; retrying in {:.1}s (attempt {}/{max_attempts})",
                    wait.as_secs_f64(),
                    attempt + 1,
                    url = redact_url(url),
                );
                tokio::time::sleep(wait).await;
            }
            Err(err) => {
                let retryable = RetryPolicy::is_retryable_error(&err);
                let reason = error_chain(&err.without_url());
                // A certificate nobody here trusts will not become trusted on a retry.
                let untrusted = is_untrusted_certificate(&reason);
                if last || untrusted || !retryable {
                    return Err(HttpError::Transport {
                        what: what.to_owned(),
                        url: redact_url(url),
                        attempts: attempt,
                        reason: if untrusted {
                            format!("{reason}; {UNTRUSTED_CERTIFICATE_HINT}")
                        } else {
                            reason
                        },
                    });
                }
                let wait = policy.delay(attempt, None);
                tracing::warn!(
                    "{what}: request to {url} failed ({reason}); retrying in {:.1}s (attempt {}/{max_attempts})",
                    wait.as_secs_f64(),
                    attempt + 1,
                    url = redact_url(url),
                );
                tokio::time::sleep(wait).await;
            }
        }
        attempt += 1;
    }
}

/// What to do about a server certificate that does not chain to a trusted CA.
const UNTRUSTED_CERTIFICATE_HINT: &str = "the server's certificate is not signed by a CA trusted here: if it uses a private CA (a company proxy, a private index), name that CA's PEM file in SSL_CERT_FILE";

/// Whether a transport error says the server's certificate chain is not trusted.
fn is_untrusted_certificate(reason: &str) -> bool {
    reason.contains("UnknownIssuer")
        || reason.contains("unknown issuer")
        || reason.contains("self-signed certificate")
        || reason.contains("self signed certificate")
}

fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt
            .previous()
            .last()
            .is_some_and(|prev| prev.scheme() == "https")
            && attempt.url().scheme() == "http"
            && !is_loopback(attempt.url());
        if downgrade {
            attempt.error("refusing a redirect from https to plain http")
        } else if attempt.previous().len() >= 10 {
            attempt.error("too many redirects (10)")
        } else {
            attempt.follow()
        }
    })
}

/// Whether a URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A URL without user info, for messages.
pub fn redact_url(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

/// An error and its sources on one line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn load_pem_bundle(
    path: &Path,
    env: &dyn Environment,
) -> Result<Vec<reqwest::Certificate>, HttpError> {
    let text = env.read_to_string(path).map_err(|err| HttpError::CaFile {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    let certificates = reqwest::Certificate::from_pem_bundle(text.as_bytes()).map_err(|err| {
        HttpError::CaFile {
            path: path.to_owned(),
            reason: error_chain(&err),
        }
    })?;
    if certificates.is_empty() {
        return Err(HttpError::CaFile {
            path: path.to_owned(),
            reason: "it contains no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        });
    }
    Ok(certificates)
}

/// A response read to its end: what a caller needs to explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseText {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Retry-After` header, read as a wait.
    pub retry_after: Option<Duration>,
    /// The body as text (empty if it could not be read).
    pub body: String,
}

impl ResponseText {
    /// Reads the whole response.
    pub async fn read(response: Response) -> Self {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = retry_after(&response);
        let body = response.text().await.unwrap_or_default();
        Self {
            status,
            content_type,
            retry_after,
            body,
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A safe one-line summary of the body ([`summarize_body`]).
    pub fn summary(&self) -> String {
        summarize_body(self.content_type.as_deref(), &self.body)
    }
}

/// A short, safe description of an error response body for messages: the JSON `message` or
/// `detail` when there is one, "an HTML page" for HTML, else the first line, truncated.
pub fn summarize_body(content_type: Option<&str>, body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "an empty body".into();
    }
    let is_html = content_type.is_some_and(|ct| ct.contains("html"))
        || trimmed.starts_with('<') && trimmed.to_ascii_lowercase().contains("<html");
    if is_html {
        let title = extract_between(trimmed, "<title>", "</title>")
            .map(|title| format!(" titled \"{}\"", truncate(title.trim(), 80)))
            .unwrap_or_default();
        return format!(
            "an HTML page{title} instead of JSON (is the URL right, or is a proxy in the way?)"
        );
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(trimmed) {
        for key in ["message", "detail", "error", "title"] {
            if let Some(serde_json::Value::String(text)) = map.get(key) {
                return truncate(text, 300);
            }
        }
    }
    truncate(trimmed.lines().next().unwrap_or_default(), 300)
}

fn extract_between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let lower = text.to_ascii_lowercase();
    let from = lower.find(start)? + start.len();
    let to = from + lower[from..].find(end)?;
    text.get(from..to)
}

/// Cuts text to at most `max` characters, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::MapEnv;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use wiremock::matchers::{header, header_exists, method, path};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    fn fast_client() -> HttpClient {
        let config = HttpConfig {
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_secs(2),
            },
            ..HttpConfig::default()
        };
        HttpClient::new(&config, &MapEnv::new()).unwrap()
    }

    struct Sequence {
        calls: Arc<AtomicU32>,
        responses: Vec<ResponseTemplate>,
    }

    impl Respond for Sequence {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) as usize;
            self.responses[n.min(self.responses.len() - 1)].clone()
        }
    }

    async fn serve(responses: Vec<ResponseTemplate>) -> (MockServer, Arc<AtomicU32>) {
        let server = MockServer::start().await;
        let calls = Arc::new(AtomicU32::new(0));
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(Sequence {
                calls: calls.clone(),
                responses,
            })
            .mount(&server)
            .await;
        (server, calls)
    }

    #[tokio::test]
    async fn retries_5xx_then_succeeds() {
        let (server, calls) = serve(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(502),
            ResponseTemplate::new(200).set_body_string("ok"),
        ])
        .await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let client = fast_client();
        let response = client
            .send("test", &url, |c| c.get(url.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts_and_returns_last_response() {
        let (server, calls) = serve(vec![ResponseTemplate::new(500)]).await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let response = fast_client()
            .send("test", &url, |c| c.get(url.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn never_retries_other_4xx() {
        for status in [400, 401, 403, 404, 409, 422] {
            let (server, calls) = serve(vec![ResponseTemplate::new(status)]).await;
            let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
            let response = fast_client()
                .send("test", &url, |c| c.get(url.clone()))
                .await
                .unwrap();
            assert_eq!(response.status(), status);
            assert_eq!(calls.load(Ordering::SeqCst), 1, "status {status}");
        }
    }

    #[tokio::test]
    async fn honours_retry_after_on_429() {
        let (server, calls) = serve(vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            ResponseTemplate::new(200),
        ])
        .await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let started = std::time::Instant::now();
        let response = fast_client()
            .send("test", &url, |c| c.get(url.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // The base delay is 5 ms: only Retry-After explains a pause of a second.
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_retry_after_longer_than_the_cap_is_not_waited_for() {
        let (server, calls) = serve(vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
        ])
        .await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let response = fast_client()
            .send("test", &url, |c| c.get(url.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn retries_connection_errors_then_reports_them() {
        // A port nobody listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let err = fast_client()
            .send("token request", &url, |c| c.get(url.clone()))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "token request: request to http://127.0.0.1:{port}/x failed after 3 attempt(s)"
            )),
            "{text}"
        );
    }

    #[test]
    fn plain_http_is_refused_except_loopback() {
        for ok in [
            "https://pypi.org/",
            "http://127.0.0.1:8080/",
            "http://localhost/",
            "http://[::1]:3/",
        ] {
            assert!(
                HttpClient::check_url(&Url::parse(ok).unwrap()).is_ok(),
                "{ok}"
            );
        }
        let err = HttpClient::check_url(
            &Url::parse("http://user:pw@upload.example.com/legacy/").unwrap(),
        )
        .unwrap_err();
        insta::assert_snapshot!(err, @"refusing to send credentials over plain HTTP to http://upload.example.com/legacy/: use an https:// URL (plain http is allowed only for 127.0.0.1, ::1 and localhost)");
    }

    #[tokio::test]
    async fn authorization_is_not_forwarded_to_another_host() {
        let other = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/landing"))
            .and(header_exists("authorization"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&other)
            .await;
        Mock::given(method("GET"))
            .and(path("/landing"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&other)
            .await;
        let origin = MockServer::start().await;
        // Another port on the same IP, addressed as `localhost`: another host to reqwest.
        let target = other.uri().replace("127.0.0.1", "localhost");
        Mock::given(method("GET"))
            .and(path("/x"))
            .and(header("authorization", "Bearer secret"))
            .respond_with(
                ResponseTemplate::new(302).insert_header("Location", format!("{target}/landing")),
            )
            .mount(&origin)
            .await;
        let url = Url::parse(&format!("{}/x", origin.uri())).unwrap();
        let response = fast_client()
            .send("test", &url, |c| c.get(url.clone()).bearer_auth("secret"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    #[test]
    fn extra_ca_file_errors_name_the_file() {
        let env = MapEnv::new().with("SSL_CERT_FILE", "/nonexistent/ca.pem");
        let err = HttpClient::new(&HttpConfig::default(), &env).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot use the CA certificate file /nonexistent/ca.pem:"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("empty.pem");
        fs_err::write(&file, "not a certificate\n").unwrap();
        let env = MapEnv::new().with("SSL_CERT_FILE", file.to_str().unwrap());
        let err = HttpClient::new(&HttpConfig::default(), &env).unwrap_err();
        assert!(
            err.to_string().contains("contains no PEM certificate"),
            "{err}"
        );
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

    #[test]
    fn summarizes_bodies_without_dumping_them() {
        assert_eq!(
            summarize_body(
                Some("text/html"),
                "<html><head><title>502 Bad Gateway</title></head><body>...</body></html>"
            ),
            "an HTML page titled \"502 Bad Gateway\" instead of JSON (is the URL right, or is a proxy in the way?)"
        );
        assert_eq!(
            summarize_body(None, r#"{"message":"Bad credentials"}"#),
            "Bad credentials"
        );
        assert_eq!(summarize_body(None, "  "), "an empty body");
        assert_eq!(summarize_body(None, &"x".repeat(400)).chars().count(), 301);
    }
}
