//! The one HTTP client every trustpub crate uses.
//!
//! rustls with the platform's roots plus any extra CA certificates (from `SSL_CERT_FILE` or
//! given explicitly), connect and read timeouts, a `trustpub/<version>` user agent, `https`
//! only (plain `http` is refused except for loopback hosts), and one retry helper.
//!
//! Retries: every retry loop in trustpub (plain requests, token exchanges, uploads, npm
//! publishes, Fulcio and Rekor) runs through [`RetryPolicy::run`] (reached from the client as
//! [`HttpClient::retry`]), so the decisions are the same everywhere. Each attempt is classified
//! by its caller as an [`Attempt`], keeping the caller's own error type:
//!
//! - what is retried: connection errors, timeouts, 408, 429 and 5xx except 501 and 505
//!   ([`RetryPolicy::is_retryable_code`], [`RetryPolicy::is_retryable_error`]); never another
//!   4xx, and never a certificate nobody here trusts;
//! - the wait: the server's `Retry-After` (seconds or an HTTP date) when it gives one, else
//!   exponential backoff from [`RetryPolicy::base_delay`] with jitter, at most
//!   [`RetryPolicy::max_delay`];
//! - a long `Retry-After`: when the server asks to wait longer than [`RetryPolicy::max_delay`],
//!   there is no further attempt, and the error says how long the server asked
//!   ([`ServerWait`], [`RetryError`]): a CI job neither sleeps for ten minutes nor shortens the
//!   wait and hammers the server;
//! - the cap: at most [`RetryPolicy::max_attempts`] attempts, the first one included;
//! - each retry is logged as a warning (`<what>: <error>; retrying in 1.2s (attempt 2/4)`),
//!   with no secret in it.
//!
//! Requests that must not be repeated as they are keep their own rules inside their step: a
//! token exchange is sent once ([`HttpClient::send_once`]) and retried by [`crate::obtain`]
//! with a fresh ID token (a long `Retry-After` already ends it in `send_once`; a short one is
//! not seen by `obtain`, which waits its own backoff, as registry errors do not carry it); an
//! upload or a publish reconciles against the index after a lost answer instead of trusting a
//! blind repeat.
//!
//! Redirects: a request that carries a secret (an `Authorization`, `Proxy-Authorization` or
//! `Cookie` header, or any body: mint, burn, exchanges, uploads, Fulcio) follows no redirect at
//! all; the 3xx comes back to the caller as the answer. Other requests follow only redirects to
//! the same origin (scheme, host and port), each re-checked by [`HttpClient::check_url`].
//!
//! Proxies: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case) are read from
//! the injected [`Environment`]; loopback hosts and cloud metadata servers never go through a
//! proxy. When a proxy or extra CA certificates apply to a request that carries a secret, that
//! is logged once at `-v` ([`HttpClient::network_notes`] says the same for the doctor).
//!
//! Limits: every request sent with [`HttpClient::send`] has an overall deadline
//! ([`HttpConfig::request_deadline`]) on top of the read timeout, so a server that drips one
//! byte at a time cannot hold a job; [`HttpClient::inner`] (uploads, npm publishes) has the
//! longer [`HttpConfig::transfer_deadline`]. Every answer read into memory goes through
//! [`ResponseText::read`], which stops at [`JSON_BODY_CAP`] ([`PAGE_BODY_CAP`] for index pages
//! and packuments) and names the host and the cap.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use url::{Host, Url};

use crate::env::Environment;

mod retry;

pub use retry::{Attempt, RetryError, RetryPolicy, ServerWait, retry_after};

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
    /// An answer was larger than trustpub reads into memory.
    #[error(
        "the answer from {host} is larger than {limit}, the most trustpub reads for {what}: is the URL right? (a proxy or a hostile server answering with an endless body is stopped here)"
    )]
    TooLarge {
        /// The host that answered.
        host: String,
        /// The cap, for people (`1 MiB`).
        limit: String,
        /// What the request was for.
        what: String,
    },
    /// The answer's body could not be read to its end (a dropped connection, the deadline).
    #[error("reading the answer from {host} failed: {reason}")]
    Body {
        /// The host that answered.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with a retryable status but asked (`Retry-After`) for a longer
    /// pause than the retry policy waits: no further attempt was made.
    #[error("{what}: {url} answered {}; {wait}", status_line(*.status))]
    ServerBusy {
        /// What the request was for.
        what: String,
        /// The URL (never carries credentials).
        url: String,
        /// The HTTP status.
        status: u16,
        /// How long the server asked to wait.
        wait: ServerWait,
    },
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

impl HttpError {
    /// Whether another attempt may succeed: the request or its answer was lost on the way
    /// (refused, reset, timed out). A refused URL, a bad CA file or an oversized answer will
    /// not change.
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Transport { .. } | Self::Body { .. })
    }
}

/// A status with its reason phrase, for messages: `429 Too Many Requests`.
fn status_line(status: u16) -> String {
    StatusCode::from_u16(status).map_or_else(|_| status.to_string(), |code| code.to_string())
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
    /// The overall deadline of one request sent with [`HttpClient::send`] (and its siblings),
    /// from connecting to the last byte of the answer: a server that keeps sending a byte now
    /// and then cannot hold a job longer than this. Each retry gets its own deadline.
    pub request_deadline: Duration,
    /// The overall deadline of one request made with [`HttpClient::inner`] (uploads, publishes),
    /// which may move gigabytes.
    pub transfer_deadline: Duration,
    /// The retry policy of [`HttpClient::send`] and [`HttpClient::retry`] (the Sigstore signer,
    /// npm publishes by default); the longest wait of [`HttpClient::send_once`].
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
            request_deadline: Duration::from_secs(120),
            transfer_deadline: Duration::from_secs(60 * 60),
            retry: RetryPolicy::default(),
        }
    }
}

/// The shared client: two configured `reqwest::Client`s (one that follows same-origin redirects,
/// one that follows none, for requests that carry a secret) and the retry policy.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// Follows same-origin redirects; for requests that carry no secret.
    follow: reqwest::Client,
    /// Follows no redirect; for requests that carry a secret, and [`HttpClient::inner`].
    secret: reqwest::Client,
    retry: RetryPolicy,
    request_deadline: Duration,
    network: Arc<NetworkSetup>,
}

/// What in this client's setup a user should know about when a secret is sent: proxies and
/// extra CA certificates.
#[derive(Debug)]
struct NetworkSetup {
    proxies: ProxySettings,
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR` / `--ca-file`, as `NAME=value` for messages.
    extra_cas: Vec<String>,
    /// Set once the `-v` note was logged.
    announced: AtomicBool,
}

impl HttpClient {
    /// Builds the client. `env` supplies `SSL_CERT_FILE`, `SSL_CERT_DIR` and the proxy variables.
    pub fn new(config: &HttpConfig, env: &dyn Environment) -> Result<Self, HttpError> {
        let mut ca_files: Vec<PathBuf> = config.extra_ca_files.clone();
        let mut extra_cas: Vec<String> = config
            .extra_ca_files
            .iter()
            .map(|path| format!("--ca-file {}", path.display()))
            .collect();
        if config.use_ssl_cert_file
            && let Some(path) = env.non_empty("SSL_CERT_FILE")
        {
            extra_cas.push(format!("SSL_CERT_FILE={path}"));
            ca_files.push(PathBuf::from(path));
        }
        if let Some(dir) = env.non_empty("SSL_CERT_DIR") {
            extra_cas.push(format!("SSL_CERT_DIR={dir}"));
        }
        let mut certificates = Vec::new();
        for path in &ca_files {
            certificates.extend(load_pem_bundle(path, env)?);
        }
        let proxies = ProxySettings::from_env(env);
        let build = |redirect: reqwest::redirect::Policy| {
            let settings = proxies.clone();
            reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .connect_timeout(config.connect_timeout)
                .read_timeout(config.read_timeout)
                .timeout(config.transfer_deadline)
                .redirect(redirect)
                // Only our own proxy rule: it never proxies loopback or metadata requests.
                .no_proxy()
                .proxy(reqwest::Proxy::custom(move |url| settings.proxy_for(url)))
                .tls_certs_merge(certificates.clone())
                .build()
                .map_err(|err| HttpError::Build(error_chain(&err)))
        };
        Ok(Self {
            follow: build(same_origin_redirects())?,
            secret: build(reqwest::redirect::Policy::none())?,
            retry: config.retry.clone(),
            request_deadline: config.request_deadline,
            network: Arc::new(NetworkSetup {
                proxies,
                extra_cas,
                announced: AtomicBool::new(false),
            }),
        })
    }

    /// The underlying reqwest client, for requests that build their own attempts (uploads and
    /// publishes, which stream a file and reconcile after a lost answer); they still retry
    /// through [`retry`](Self::retry). It follows no redirect (these requests carry secrets)
    /// and has the transfer deadline. Read its answers with [`ResponseText::read`].
    pub fn inner(&self) -> &reqwest::Client {
        self.announce_for(None);
        &self.secret
    }

    /// The retry policy requests through this client follow.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Runs `step` under this client's retry policy: [`RetryPolicy::run`], the one retry loop
    /// every caller uses (a caller with its own policy, such as an upload's, calls
    /// [`RetryPolicy::run`] on it).
    pub async fn retry<T, E, F, Fut>(&self, what: &str, step: F) -> Result<T, E>
    where
        E: RetryError,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Attempt<T, E>>,
    {
        self.retry.run(what, step).await
    }

    /// What about the network setup applies to a request to `url` carrying a secret: the proxy
    /// it goes through, extra CA certificates. Empty when nothing is unusual, and for loopback
    /// hosts (the traffic stays on this machine, and no proxy is used). For the doctor.
    pub fn network_notes(&self, url: &Url) -> Vec<String> {
        let mut notes = Vec::new();
        if is_loopback(url) {
            return notes;
        }
        if let Some(proxy) = self.network.proxies.proxy_for(url) {
            notes.push(format!(
                "requests to {} go through the proxy {} (from the proxy variables): the proxy sees the ID token and the minted credential if it terminates TLS",
                host_of(url),
                redact_url(&proxy)
            ));
        }
        if !self.network.extra_cas.is_empty() {
            notes.push(format!(
                "extra CA certificates are trusted ({}): a server holding a certificate from them can receive the ID token and the minted credential",
                self.network.extra_cas.join(", ")
            ));
        }
        notes
    }

    /// Logs [`network_notes`](Self::network_notes) once per client, at info level (`-v`).
    fn announce_for(&self, url: Option<&Url>) {
        let notes = match url {
            Some(url) => self.network_notes(url),
            None if !self.network.extra_cas.is_empty() => vec![format!(
                "extra CA certificates are trusted ({})",
                self.network.extra_cas.join(", ")
            )],
            None => return,
        };
        if notes.is_empty() || self.network.announced.swap(true, Ordering::SeqCst) {
            return;
        }
        for note in notes {
            tracing::info!("a request carrying a secret: {note}");
        }
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
    /// A request carrying a secret (see the module documentation) follows no redirect; others
    /// follow same-origin redirects only. Every attempt has the overall request deadline.
    ///
    /// Returns the last response whatever its status (a 4xx, or a 5xx that outlived every
    /// retry) so the caller can explain it; errors when no response arrived at all, and
    /// ([`HttpError::ServerBusy`]) when a retryable answer asked to wait longer than the
    /// policy's [`max_delay`](RetryPolicy::max_delay).
    pub async fn send<F>(&self, what: &str, url: &Url, build: F) -> Result<Response, HttpError>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        Self::check_url(url)?;
        self.send_unchecked(what, url, build).await
    }

    /// Sends once, without retries: for requests that must not be repeated as they are (a
    /// token mint consumes its ID token; [`crate::obtain`] retries with a fresh one). Same
    /// `https` check and return contract as [`send`](Self::send): a retryable answer that asks
    /// to wait longer than the policy's [`max_delay`](RetryPolicy::max_delay) is
    /// [`HttpError::ServerBusy`], so the caller's retry stops too.
    pub async fn send_once<F>(&self, what: &str, url: &Url, build: F) -> Result<Response, HttpError>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        Self::check_url(url)?;
        let once = RetryPolicy {
            max_attempts: 1,
            ..self.retry.clone()
        };
        self.send_with(&once, what, url, &build).await
    }

    /// POSTs a JSON `body` once (a token exchange: the ID token in it, or in `bearer`, may be
    /// used only once, so a retry is the caller's, with a fresh one) and reads the answer, at
    /// most `cap` bytes. The one shape of every exchange and Sigstore request.
    pub async fn post_json_once(
        &self,
        what: &str,
        url: &Url,
        body: &str,
        bearer: Option<&str>,
        cap: usize,
    ) -> Result<ResponseText, HttpError> {
        let response = self
            .send_once(what, url, |c| {
                let request = c
                    .post(url.clone())
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json")
                    .body(body.to_owned());
                match bearer {
                    Some(token) => request.bearer_auth(token),
                    None => request,
                }
            })
            .await?;
        ResponseText::read_capped(response, cap).await
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
        self.send_with(&self.retry, what, url, &build).await
    }

    /// Sends under `policy`: each attempt's answer or transport error classified as an
    /// [`Attempt`] for [`RetryPolicy::run`].
    async fn send_with<F>(
        &self,
        policy: &RetryPolicy,
        what: &str,
        url: &Url,
        build: &F,
    ) -> Result<Response, HttpError>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        let outcome = policy
            .run(what, |attempt| {
                let sent = self.execute(url, build);
                async move { classify_sent(what, url, attempt, sent.await) }
            })
            .await;
        match outcome {
            Ok(response) | Err(SendFailure::Answer(response, _)) => Ok(response),
            Err(SendFailure::Failed { error, .. }) => Err(error),
        }
    }

    /// Builds one attempt, picks the client by whether it carries a secret, sets the deadline.
    fn execute<F>(
        &self,
        url: &Url,
        build: &F,
    ) -> impl Future<Output = Result<Response, reqwest::Error>> + use<F>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        let request = build(&self.follow).build();
        let deadline = self.request_deadline;
        let carries_secret = request.as_ref().is_ok_and(carries_secret);
        if carries_secret {
            self.announce_for(Some(url));
        }
        let client = if carries_secret {
            self.secret.clone()
        } else {
            self.follow.clone()
        };
        async move {
            let mut request = request?;
            let timeout = request.timeout_mut();
            *timeout = Some(timeout.map_or(deadline, |own| own.min(deadline)));
            client.execute(request).await
        }
    }
}

/// Whether a request carries a secret: credentials in a header, or any body (tokens are sent
/// in JSON bodies, uploads carry the package and often a token).
pub fn carries_secret(request: &reqwest::Request) -> bool {
    use reqwest::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
    request.body().is_some()
        || [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE]
            .iter()
            .any(|name| request.headers().contains_key(name))
}

/// `scheme://host:port` of a URL (the port made explicit), for the same-origin rule.
fn origin_of(url: &Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_owned(),
        url.host_str().map(str::to_ascii_lowercase),
        url.port_or_known_default(),
    )
}

/// `host[:port]` of a URL, for messages.
pub fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => redact_url(url),
    }
}

/// Why an attempt of [`HttpClient::send`] did not simply succeed: an answer with a retryable
/// status (returned to the caller as the answer once retries end), or an error.
enum SendFailure {
    /// A retryable status, and what the request was for.
    Answer(Response, String),
    /// No usable answer; `line` is what the retry log says about it.
    Failed { error: HttpError, line: String },
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Answer(response, _) => write!(
                f,
                "{} answered {}",
                redact_url(response.url()),
                response.status()
            ),
            Self::Failed { line, .. } => f.write_str(line),
        }
    }
}

impl RetryError for SendFailure {
    fn server_asked_to_wait(self, wait: ServerWait) -> Self {
        match self {
            Self::Answer(response, what) => {
                let error = HttpError::ServerBusy {
                    what,
                    url: redact_url(response.url()),
                    status: response.status().as_u16(),
                    wait,
                };
                Self::Failed {
                    line: error.to_string(),
                    error,
                }
            }
            failed @ Self::Failed { .. } => failed,
        }
    }
}

/// Classifies one attempt of [`HttpClient::send`]: a non-retryable answer is done (the caller
/// explains it), a retryable one is retried; a transport error is retried when
/// [`RetryPolicy::is_retryable_error`] says so and the server's certificate is not simply
/// untrusted.
fn classify_sent(
    what: &str,
    url: &Url,
    attempt: u32,
    sent: Result<Response, reqwest::Error>,
) -> Attempt<Response, SendFailure> {
    match sent {
        Ok(response) => {
            if RetryPolicy::is_retryable_status(response.status()) {
                let retry_after = retry_after(&response);
                Attempt::Retry {
                    error: SendFailure::Answer(response, what.to_owned()),
                    retry_after,
                }
            } else {
                Attempt::Done(response)
            }
        }
        Err(err) => {
            let retryable = RetryPolicy::is_retryable_error(&err);
            let reason = error_chain(&err.without_url());
            // A certificate nobody here trusts will not become trusted on a retry.
            let untrusted = is_untrusted_certificate(&reason);
            let line = format!("request to {} failed ({reason})", redact_url(url));
            let error = HttpError::Transport {
                what: what.to_owned(),
                url: redact_url(url),
                attempts: attempt,
                reason: if untrusted {
                    format!("{reason}; {UNTRUSTED_CERTIFICATE_HINT}")
                } else {
                    reason
                },
            };
            let failure = SendFailure::Failed { error, line };
            if retryable && !untrusted {
                Attempt::Retry {
                    error: failure,
                    retry_after: None,
                }
            } else {
                Attempt::Fail(failure)
            }
        }
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

/// Follows a redirect only to the same origin (scheme, host, port) as the first request, and
/// only to a URL [`HttpClient::check_url`] accepts; at most 10.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        if origin_of(first) != origin_of(attempt.url()) {
            let message = format!(
                "refusing a redirect from {} to another origin ({}): trustpub follows redirects only within the same scheme, host and port",
                host_of(first),
                redact_url(attempt.url())
            );
            attempt.error(message)
        } else if HttpClient::check_url(attempt.url()).is_err() {
            attempt.error("refusing a redirect to plain http")
        } else if attempt.previous().len() >= 10 {
            attempt.error("too many redirects (10)")
        } else {
            attempt.follow()
        }
    })
}

/// The proxy variables, read once from the injected environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    https: Option<Url>,
    http: Option<Url>,
    no_proxy: Vec<String>,
}

impl ProxySettings {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper or lower case (lower wins,
    /// as curl reads it). A value that is not a URL is ignored.
    pub fn from_env(env: &dyn Environment) -> Self {
        let read = |name: &str| {
            env.non_empty(&name.to_ascii_lowercase())
                .or_else(|| env.non_empty(name))
        };
        let parse = |value: String| {
            let value = if value.contains("://") {
                value
            } else {
                format!("http://{value}")
            };
            Url::parse(&value).ok()
        };
        let all = read("ALL_PROXY").and_then(parse);
        Self {
            https: read("HTTPS_PROXY").and_then(parse).or_else(|| all.clone()),
            http: read("HTTP_PROXY").and_then(parse).or(all),
            no_proxy: read("NO_PROXY")
                .map(|list| {
                    list.split(',')
                        .map(|entry| entry.trim().trim_start_matches('.').to_ascii_lowercase())
                        .filter(|entry| !entry.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The proxy a request to `url` goes through: none for loopback hosts, cloud metadata
    /// servers (whatever the variables say), and `NO_PROXY` hosts.
    pub fn proxy_for(&self, url: &Url) -> Option<Url> {
        if is_loopback(url) || is_metadata_host(url) {
            return None;
        }
        let host = url
            .host_str()?
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        let excluded = self
            .no_proxy
            .iter()
            .any(|entry| entry == "*" || host == *entry || host.ends_with(&format!(".{entry}")));
        if excluded {
            return None;
        }
        match url.scheme() {
            "https" => self.https.clone(),
            "http" => self.http.clone(),
            _ => None,
        }
    }
}

/// Whether a URL points at a cloud metadata server (Google Cloud, AWS, Azure): link-local
/// addresses and the metadata host names. Such requests never go through a proxy.
pub fn is_metadata_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_link_local(),
        Some(Host::Ipv6(ip)) => {
            (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]
        }
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            matches!(
                domain.as_str(),
                "metadata.google.internal" | "metadata.goog" | "metadata"
            )
        }
        None => false,
    }
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

/// The most trustpub reads into memory from a token or JSON answer (1 MiB). Real answers are a
/// few kilobytes.
pub const JSON_BODY_CAP: usize = 1 << 20;

/// The most trustpub reads into memory from a simple-index page or an npm packument (64 MiB).
/// The largest real ones (projects with thousands of releases) are a few tens of megabytes.
pub const PAGE_BODY_CAP: usize = 64 << 20;

/// A byte count for messages: `1 MiB`, `64 MiB`, `512 KiB`, `100 bytes`.
pub fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
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
    /// The `Location` header of a redirect that was not followed.
    pub location: Option<String>,
    /// The body as text (invalid UTF-8 replaced). Remote text: escape it
    /// ([`escape_remote`]) before it goes into a message.
    pub body: String,
}

impl ResponseText {
    /// Reads the whole response, at most [`JSON_BODY_CAP`] bytes of it.
    pub async fn read(response: Response) -> Result<Self, HttpError> {
        Self::read_capped(response, JSON_BODY_CAP).await
    }

    /// Reads the whole response, at most `cap` bytes of it ([`PAGE_BODY_CAP`] for pages). A
    /// longer body (announced by `Content-Length` or found while reading) is an error naming
    /// the host and the cap; nothing beyond the cap is kept in memory.
    pub async fn read_capped(mut response: Response, cap: usize) -> Result<Self, HttpError> {
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let location = response
            .status()
            .is_redirection()
            .then(|| header(reqwest::header::LOCATION))
            .flatten();
        let retry_after = retry_after(&response);
        let host = host_of(response.url());
        let too_large = || HttpError::TooLarge {
            host: host.clone(),
            limit: human_size(cap),
            what: if cap > JSON_BODY_CAP {
                "an index page or packument".to_owned()
            } else {
                "a token or JSON answer".to_owned()
            },
        };
        if response
            .content_length()
            .is_some_and(|length| length > cap as u64)
        {
            return Err(too_large());
        }
        let mut body: Vec<u8> = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len().saturating_add(chunk.len()) > cap {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => {
                    let reason = if err.is_timeout() {
                        "the answer did not arrive in full before the request's deadline (a slow or stalled server)".to_owned()
                    } else {
                        error_chain(&err.without_url())
                    };
                    return Err(HttpError::Body {
                        host: host.clone(),
                        reason,
                    });
                }
            }
        }
        Ok(Self {
            status,
            content_type,
            retry_after,
            location,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A safe one-line summary of the body ([`summarize_body`]); for a redirect that was not
    /// followed, where it pointed.
    pub fn summary(&self) -> String {
        if let Some(location) = &self.location {
            return format!(
                "a redirect to {} (not followed: requests that carry a credential follow no redirect, and others only within the same origin)",
                escape_remote(location, 200)
            );
        }
        summarize_body(self.content_type.as_deref(), &self.body)
    }
}

/// Makes remote text safe to print: control characters (newlines included), Unicode
/// direction overrides and other invisible format characters become visible escapes (`\n`,
/// `\u{1b}`), so the text stays on one line and cannot start a workflow command
/// (`::stop-commands::`) or move the terminal's cursor; the result is cut to `max` characters.
///
/// ```
/// use oidc_core::http::escape_remote;
/// assert_eq!(escape_remote("bad\n::error::x\x1b[2J", 100), "bad\\n::error::x\\u{1b}[2J");
/// ```
pub fn escape_remote(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars().take(max) {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Control characters (C0, DEL, C1) and invisible Unicode format characters that can reorder
/// or hide text (bidirectional overrides, zero-width characters, the BOM).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
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
            .map(|title| format!(" titled \"{}\"", escape_remote(title.trim(), 80)))
            .unwrap_or_default();
        return format!(
            "an HTML page{title} instead of JSON (is the URL right, or is a proxy in the way?)"
        );
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(trimmed) {
        for key in ["message", "detail", "error", "title"] {
            if let Some(serde_json::Value::String(text)) = map.get(key) {
                return escape_remote(text, 300);
            }
        }
    }
    escape_remote(trimmed.lines().next().unwrap_or_default(), 300)
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
    use wiremock::matchers::{method, path};
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
    async fn a_retry_after_longer_than_the_cap_is_not_waited_for_and_is_named() {
        let (server, calls) = serve(vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
            ResponseTemplate::new(200),
        ])
        .await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let started = std::time::Instant::now();
        let err = fast_client()
            .send("PyPI token revocation", &url, |c| c.get(url.clone()))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(matches!(err, HttpError::ServerBusy { .. }), "{err:?}");
        assert!(!err.is_transport());
        let text = err.to_string().replace(&server.uri(), "[server]");
        insta::assert_snapshot!(text, @"PyPI token revocation: [server]/x answered 429 Too Many Requests; the server asked to wait 3600 s before another attempt, longer than trustpub waits between attempts (2 s): not retried, run the job again later");
    }

    /// A request sent once (a token exchange) is not retried here, but a long `Retry-After`
    /// still comes back as the error that says how long, so the caller's own retry stops too.
    #[tokio::test]
    async fn send_once_names_a_long_retry_after_too() {
        let (server, calls) = serve(vec![
            ResponseTemplate::new(503).insert_header("Retry-After", "120"),
        ])
        .await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let err = fast_client()
            .send_once("mint", &url, |c| c.get(url.clone()))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("answered 503 Service Unavailable; the server asked to wait 120 s"),
            "{err}"
        );
        // A short one is the caller's to handle: the answer comes back, nothing is repeated.
        let (server, calls_short) = serve(vec![
            ResponseTemplate::new(503).insert_header("Retry-After", "1"),
        ])
        .await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let response = fast_client()
            .send_once("mint", &url, |c| c.get(url.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(calls_short.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn permanent_server_errors_are_not_retried() {
        for status in [501, 505] {
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

    async fn redirecting(status: u16, to: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(path("/x"))
            .respond_with(ResponseTemplate::new(status).insert_header("Location", to))
            .mount(&server)
            .await;
        Mock::given(path("/landing"))
            .respond_with(ResponseTemplate::new(200).set_body_string("landed"))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn requests_carrying_a_secret_follow_no_redirect() {
        let other = MockServer::start().await;
        Mock::given(path("/steal"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&other)
            .await;
        let target = format!("{}/steal", other.uri());
        for same_origin in [false, true] {
            let server = redirecting(307, "/landing").await;
            let location = if same_origin {
                format!("{}/landing", server.uri())
            } else {
                target.clone()
            };
            let server = redirecting(307, &location).await;
            let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
            // A body, a bearer token: the 307 comes back unfollowed.
            for secret in [
                &(|c: &reqwest::Client, u: &Url| c.post(u.clone()).body("{\"token\":\"jwt\"}"))
                    as &dyn Fn(&reqwest::Client, &Url) -> RequestBuilder,
                &|c: &reqwest::Client, u: &Url| c.get(u.clone()).bearer_auth("secret"),
            ] {
                let response = fast_client()
                    .send_once("mint", &url, |c| secret(c, &url))
                    .await
                    .unwrap();
                assert_eq!(response.status(), 307);
                let text = ResponseText::read(response).await.unwrap();
                assert!(
                    text.summary().starts_with("a redirect to "),
                    "{}",
                    text.summary()
                );
            }
        }
    }

    #[tokio::test]
    async fn other_requests_follow_same_origin_redirects_only() {
        let server = redirecting(302, "/landing").await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let response = fast_client()
            .send("lookup", &url, |c| c.get(url.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        // Another port is another origin.
        let other = redirecting(200, "/").await;
        let server = redirecting(302, &format!("{}/landing", other.uri())).await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let err = fast_client()
            .send("lookup", &url, |c| c.get(url.clone()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("to another origin"), "{err}");
    }

    #[tokio::test]
    async fn bodies_are_capped_and_the_error_names_host_and_cap() {
        let server = MockServer::start().await;
        Mock::given(path("/x"))
            .respond_with(ResponseTemplate::new(200).set_body_string("y".repeat(2048)))
            .mount(&server)
            .await;
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let response = fast_client()
            .send("t", &url, |c| c.get(url.clone()))
            .await
            .unwrap();
        let err = ResponseText::read_capped(response, 1024).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("the answer from 127.0.0.1:") && text.contains("larger than 1 KiB"),
            "{text}"
        );
        let response = fast_client()
            .send("t", &url, |c| c.get(url.clone()))
            .await
            .unwrap();
        assert_eq!(ResponseText::read(response).await.unwrap().body.len(), 2048);
        assert_eq!(human_size(JSON_BODY_CAP), "1 MiB");
        assert_eq!(human_size(PAGE_BODY_CAP), "64 MiB");
    }

    #[tokio::test]
    async fn every_request_has_an_overall_deadline() {
        let server = MockServer::start().await;
        Mock::given(path("/x"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
            .mount(&server)
            .await;
        let config = HttpConfig {
            request_deadline: Duration::from_millis(300),
            retry: RetryPolicy::none(),
            ..HttpConfig::default()
        };
        let client = HttpClient::new(&config, &MapEnv::new()).unwrap();
        let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
        let started = std::time::Instant::now();
        let err = client
            .send("slow", &url, |c| c.get(url.clone()))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    }

    #[test]
    fn proxies_never_see_loopback_or_metadata_requests() {
        let env = MapEnv::new()
            .with("HTTPS_PROXY", "http://proxy.corp:3128")
            .with("http_proxy", "proxy.corp:8080")
            .with("NO_PROXY", "internal.example, .corp.example");
        let proxies = ProxySettings::from_env(&env);
        let proxy = |url: &str| {
            proxies
                .proxy_for(&Url::parse(url).unwrap())
                .map(|u| u.to_string())
        };
        assert_eq!(
            proxy("https://upload.pypi.org/legacy/").as_deref(),
            Some("http://proxy.corp:3128/")
        );
        assert_eq!(
            proxy("http://example.com/").as_deref(),
            Some("http://proxy.corp:8080/")
        );
        for direct in [
            "https://127.0.0.1:8443/x",
            "http://localhost/x",
            "https://[::1]/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://[fd00:ec2::254]/",
            "https://internal.example/x",
            "https://pypi.corp.example/x",
        ] {
            assert_eq!(proxy(direct), None, "{direct}");
        }
    }

    #[test]
    fn the_network_setup_is_named_for_requests_carrying_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let env = MapEnv::new()
            .with("HTTPS_PROXY", "http://user:pw@proxy.corp:3128")
            .with("SSL_CERT_DIR", dir.path().to_str().unwrap());
        let client = HttpClient::new(&HttpConfig::default(), &env).unwrap();
        let notes = client.network_notes(&Url::parse("https://upload.pypi.org/legacy/").unwrap());
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].contains("http://proxy.corp:3128/") && !notes[0].contains("pw"),
            "{notes:?}"
        );
        assert!(notes[1].contains("SSL_CERT_DIR="), "{notes:?}");
        let loopback = client.network_notes(&Url::parse("https://127.0.0.1/").unwrap());
        assert!(loopback.is_empty(), "{loopback:?}");
    }

    #[test]
    fn remote_text_is_escaped_and_cut() {
        assert_eq!(
            escape_remote("a\n::stop-commands::x\r\u{202e}\u{1b}[1m", 100),
            "a\\n::stop-commands::x\\r\\u{202e}\\u{1b}[1m"
        );
        assert_eq!(escape_remote("abcdef", 3), "abc…");
        assert_eq!(
            summarize_body(None, "{\"message\":\"x\\n::error::pwned\"}"),
            "x\\n::error::pwned"
        );
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
