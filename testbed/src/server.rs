//! One HTTPS listener: a TCP socket on `127.0.0.1` with a random port, TLS by rustls, HTTP/1.1 by hyper, routing
//! by axum.
//!
//! Each simulated service (issuer, PyPI, npm) gets its own [`Listener`], so each sits at the root of its own
//! origin. Dropping a listener stops accepting and closes open connections; [`Listener::shutdown`] does the same
//! but waits (briefly) for in-flight requests to finish.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use url::Url;

use crate::TestbedError;

/// How long a client gets to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful shutdown waits for open connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A running HTTPS listener.
pub(crate) struct Listener {
    url: Url,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds `127.0.0.1:0` and serves `router` over TLS until stopped.
    pub(crate) async fn bind(
        name: &'static str,
        router: Router,
        tls: Arc<ServerConfig>,
    ) -> Result<Self, TestbedError> {
        let socket = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|source| TestbedError::Bind {
                service: name,
                source,
            })?;
        let addr = socket.local_addr().map_err(|source| TestbedError::Bind {
            service: name,
            source,
        })?;
        let url = Url::parse(&format!("https://{addr}/")).map_err(|error| {
            TestbedError::Tls(format!("building the URL of {name} at {addr}: {error}"))
        })?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            name,
            socket,
            router,
            TlsAcceptor::from(tls),
            stopped,
        ));
        Ok(Self {
            url,
            stop,
            task: Some(task),
        })
    }

    /// The origin of this listener, `https://127.0.0.1:<port>/`.
    pub(crate) fn url(&self) -> Url {
        self.url.clone()
    }

    /// Stops accepting, lets open requests finish (up to a few seconds), then closes everything.
    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    name: &'static str,
    socket: TcpListener,
    router: Router,
    acceptor: TlsAcceptor,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = stopped.changed() => {
                if changed.is_err() || *stopped.borrow() {
                    break;
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = socket.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let acceptor = acceptor.clone();
                    let router = router.clone();
                    let stopped = stopped.clone();
                    connections.spawn(serve_connection(name, tcp, peer, acceptor, router, stopped));
                }
                Err(error) => {
                    tracing::warn!(service = name, %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

async fn serve_connection(
    name: &'static str,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            tracing::debug!(service = name, %peer, %error, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(service = name, %peer, "TLS handshake timed out");
            return;
        }
    };
    let service = TowerToHyperService::new(router);
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(service = name, %peer, %error, "connection ended with an error");
                }
                return;
            }
            changed = stopped.changed(), if !stopping => {
                if changed.is_err() || *stopped.borrow() {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The start of a peer's answer on one line (at most `max` characters), for error messages.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    text.trim()
        .chars()
        .take(max)
        .collect::<String>()
        .replace(['\r', '\n'], " ")
}
