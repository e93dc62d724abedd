//! Failure knobs of the simulated PyPI, for the fault matrix: transient and standing misbehaviour
//! of the mint, burn and upload routes, applied by a middleware in front of the real handlers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::PypiState;
use crate::records::now_unix;

/// A route of the simulated PyPI a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PypiRoute {
    /// `POST /_/oidc/mint-token`.
    Mint,
    /// `POST /_/oidc/burn-token`.
    Burn,
    /// `POST /legacy/`.
    Upload,
}

impl PypiRoute {
    fn of(path: &str) -> Option<Self> {
        match path {
            "/_/oidc/mint-token" | "/_/oidc/github/mint-token" => Some(Self::Mint),
            "/_/oidc/burn-token" => Some(Self::Burn),
            "/legacy/" | "/" => Some(Self::Upload),
            _ => None,
        }
    }
}

/// One misbehaviour, answered instead of (or before) the real handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PypiFault {
    /// A plain-text error with this status, and a `Retry-After` header when given (seconds or
    /// an HTTP date, sent as written).
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` value.
        retry_after: Option<String>,
    },
    /// An HTML error page (a proxy or CDN in front of the index) with this status.
    HtmlPage {
        /// The HTTP status.
        status: u16,
    },
    /// 200 with a JSON body cut in the middle.
    TruncatedJson,
    /// Reads this many bytes of the request body, then breaks the connection (the response
    /// body fails after the status line).
    ResetAfter {
        /// Request bytes read first.
        bytes: usize,
    },
    /// Waits this long, then lets the real handler answer.
    Slow {
        /// The delay.
        delay: Duration,
    },
    /// Expires every minted token, then lets the real handler answer (a token that runs out
    /// in the middle of a run).
    ExpireTokens,
}

#[derive(Debug, Default)]
struct Knobs {
    /// `(route, fault)` in the order they are used: the first one matching a request is taken.
    queue: VecDeque<(PypiRoute, PypiFault)>,
    /// Faults applied to every request of a route until cleared.
    standing: Vec<(PypiRoute, PypiFault)>,
}

/// A handle on PyPI's failure knobs; clones share the same knobs.
#[derive(Debug, Clone, Default)]
pub struct PypiFaults(Arc<Mutex<Knobs>>);

impl PypiFaults {
    fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `fault` to the next `count` requests of `route`, then behaves again.
    pub fn fail_next(&self, route: PypiRoute, count: usize, fault: PypiFault) {
        let mut knobs = self.knobs();
        for _ in 0..count {
            knobs.queue.push_back((route, fault.clone()));
        }
    }

    /// Applies `fault` to every request of `route` until [`PypiFaults::clear`].
    pub fn set(&self, route: PypiRoute, fault: PypiFault) {
        self.knobs().standing.push((route, fault));
    }

    /// Removes every fault.
    pub fn clear(&self) {
        let mut knobs = self.knobs();
        knobs.queue.clear();
        knobs.standing.clear();
    }

    fn next(&self, route: PypiRoute) -> Option<PypiFault> {
        let mut knobs = self.knobs();
        if let Some(at) = knobs.queue.iter().position(|(r, _)| *r == route) {
            return knobs.queue.remove(at).map(|(_, fault)| fault);
        }
        knobs
            .standing
            .iter()
            .find(|(r, _)| *r == route)
            .map(|(_, fault)| fault.clone())
    }
}

/// The middleware: applies the next fault of the request's route, if any.
pub(crate) async fn apply(
    State(state): State<Arc<PypiState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(route) = PypiRoute::of(request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(fault) = state.faults.next(route) else {
        return next.run(request).await;
    };
    match fault {
        PypiFault::ResetAfter { bytes } => {
            let mut stream = request.into_body().into_data_stream();
            let mut read = 0;
            while read < bytes {
                match stream.next().await {
                    Some(Ok(chunk)) => read += chunk.len(),
                    _ => break,
                }
            }
            drop(stream);
            let broken = futures_util::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(
                    "the testbed breaks the connection",
                ))
            });
            (StatusCode::OK, Body::from_stream(broken)).into_response()
        }
        PypiFault::Slow { delay } => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        PypiFault::ExpireTokens => {
            let now = now_unix();
            for token in state.registry().tokens.values_mut() {
                token.expires = token.expires.min(now - 1);
            }
            next.run(request).await
        }
        PypiFault::Status { .. } | PypiFault::HtmlPage { .. } | PypiFault::TruncatedJson => {
            // An answer given before the request body is read can reach the client as a broken
            // pipe instead: read it all first, as a server (or proxy) that buffers requests does.
            let _ = axum::body::to_bytes(request.into_body(), 64 * 1024 * 1024).await;
            answer(fault)
        }
    }
}

/// The answer of a fault that answers by itself (the others are passed to the real handler).
fn answer(fault: PypiFault) -> Response {
    match fault {
        PypiFault::Status {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = (status, format!("{status}\n")).into_response();
            if let Some(value) = retry_after.and_then(|v| v.parse().ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        PypiFault::HtmlPage { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let body = format!(
                "<!DOCTYPE html>\n<html><head><title>{status}</title></head>\n<body><h1>{status}</h1>\
                 <p>The server is temporarily unable to service your request.</p></body></html>\n"
            );
            (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response()
        }
        PypiFault::TruncatedJson => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"success\": true, \"token\": \"pypi-AgEIcHlwaS5vcmc",
        )
            .into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
