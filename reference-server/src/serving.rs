//! Serving a router on a bound listener until told to stop, with a bounded graceful shutdown:
//! shared by the reference AS, RS and client (and the harness's counterparts).
//!
//! Connections are served by hyper's HTTP/1.1 server directly rather than `axum::serve`, which
//! cannot bound how long a client may take to send a request's headers: here a connection whose
//! request head is not complete within [`HEADER_READ_TIMEOUT`] (also an idle keep-alive
//! connection) is closed.
//!
//! With [`Tls`], every connection is TLS (rustls; the handshake too must finish within the
//! header-read timeout), except where a quirk gives a router for plain-HTTP requests sent to the
//! same port ([`Tls::plaintext`]): a connection whose first byte is not a TLS handshake record is
//! then served by it.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

/// How long a client may take to send a request's line and headers (and how long a keep-alive
/// connection may stay idle) before its connection is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most header fields hyper parses in one request: its default, which it keeps on the
/// stack (any other number costs every request two heap arrays of that size, 3 % of an
/// introspection's CPU; issue 13). A request with more is answered 431 by hyper itself, with
/// no body. It is above the routers' own limit ([`crate::http::limits::MAX_HEADERS`]) so that
/// requests between the two get the routers' JSON 431.
pub const PARSED_HEADERS: usize = 100;
// The routers' JSON 431 must be reachable below hyper's own bare one.
const _: () = assert!(crate::http::limits::MAX_HEADERS < PARSED_HEADERS);

/// Binds `addr` (port 0: any free port) and returns the listener with the address it got.
pub async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), crate::StartError> {
    let bind_error = |source| crate::StartError::Bind { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}

/// HTTPS on a listener.
#[derive(Clone)]
pub struct Tls {
    /// The rustls configuration.
    pub config: Arc<rustls::ServerConfig>,
    /// The router that answers plain-HTTP requests sent to this port (only ever a quirk);
    /// `None`: a plain-HTTP connection fails the TLS handshake and is closed, as it should be.
    pub plaintext: Option<axum::Router>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("plaintext", &self.plaintext.is_some())
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// HTTPS with this server configuration, and no plain HTTP.
    pub fn new(tls: &crate::tls::ServerTls) -> Self {
        Self {
            config: tls.config(),
            plaintext: None,
        }
    }
}

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// A router being served.
#[derive(Debug)]
pub struct Serving {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Serving {
    /// Serves `router` on `listener` with the [`HEADER_READ_TIMEOUT`]; `what` names the server
    /// in logs.
    pub fn spawn(listener: tokio::net::TcpListener, router: axum::Router, what: &'static str) -> Self {
        Self::spawn_with(listener, router, what, HEADER_READ_TIMEOUT)
    }

    /// Serves `router` on `listener`, closing a connection whose request head takes longer than
    /// `header_read_timeout`; `what` names the server in logs.
    pub fn spawn_with(
        listener: tokio::net::TcpListener,
        router: axum::Router,
        what: &'static str,
        header_read_timeout: Duration,
    ) -> Self {
        Self::spawn_secured(listener, router, what, header_read_timeout, None)
    }

    /// [`Serving::spawn_with`], over TLS when `tls` is given.
    pub fn spawn_secured(
        listener: tokio::net::TcpListener,
        router: axum::Router,
        what: &'static str,
        header_read_timeout: Duration,
        tls: Option<Tls>,
    ) -> Self {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let served = Served {
            router,
            tls,
            header_read_timeout,
        };
        let task = tokio::spawn(accept_loop(listener, served, what, rx));
        Self { stop, task }
    }

    /// Stops accepting connections and waits for in-flight requests at most `grace`; after
    /// that their connections are dropped.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!("in-flight requests did not finish in time; closing their connections");
            // The connections are tasks of the accept loop's set: aborting it drops them.
            self.task.abort();
        }
    }
}

/// What a listener serves, and how.
struct Served {
    router: axum::Router,
    tls: Option<Tls>,
    header_read_timeout: Duration,
}

/// Accepts connections until `stop` turns true, then lets every connection finish its request
/// in flight and waits for them.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    served: Served,
    what: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(served.header_read_timeout);
    let mut connections = tokio::task::JoinSet::new();
    let stop_connections = stop.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        match accepted {
            Ok((io, peer)) => match &served.tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(served.router.clone()));
                    connections.spawn(serve_connection(conn, peer, stop_connections.clone()));
                }
                Some(tls) => {
                    let secured = Secured {
                        tls: tls.clone(),
                        router: served.router.clone(),
                        http: http.clone(),
                        handshake_timeout: served.header_read_timeout,
                    };
                    connections.spawn(secured.serve(io, peer, stop_connections.clone()));
                }
            },
            Err(e) => accept_failed(e, what).await,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One connection to a TLS listener, before its handshake.
struct Secured {
    tls: Tls,
    router: axum::Router,
    http: hyper::server::conn::http1::Builder,
    handshake_timeout: Duration,
}

impl Secured {
    /// Completes the TLS handshake within the timeout and serves the connection; or, when the
    /// listener answers plain HTTP too (a quirk), serves a connection that does not open with a
    /// TLS handshake record in plain HTTP.
    async fn serve(self, io: tokio::net::TcpStream, peer: SocketAddr, stop: tokio::sync::watch::Receiver<bool>) {
        if let Some(plain) = self.tls.plaintext.clone() {
            let mut first = [0u8; 1];
            match tokio::time::timeout(self.handshake_timeout, io.peek(&mut first)).await {
                Ok(Ok(1)) if first[0] != TLS_HANDSHAKE => {
                    let conn = self
                        .http
                        .serve_connection(TokioIo::new(io), TowerToHyperService::new(plain));
                    serve_connection(conn, peer, stop).await;
                    return;
                }
                Ok(Ok(1)) => {}
                _ => return,
            }
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(self.tls.config.clone());
        let stream = match tokio::time::timeout(self.handshake_timeout, acceptor.accept(io)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                // A plain-HTTP request, an untrusted or missing client certificate, a scanner.
                tracing::debug!(error = %e, %peer, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake not complete in time");
                return;
            }
        };
        let conn = self
            .http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(self.router));
        serve_connection(conn, peer, stop).await;
    }
}

/// One HTTP/1.1 connection to a router, over any transport.
type Connection<I> = hyper::server::conn::http1::Connection<TokioIo<I>, TowerToHyperService<axum::Router>>;

/// Serves one connection; once `stop` turns true, finishes the request in flight and closes.
async fn serve_connection<I>(conn: Connection<I>, peer: SocketAddr, mut stop: tokio::sync::watch::Receiver<bool>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut conn = pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    // A client closing early, a malformed request, or a request head that did
                    // not arrive within the header-read timeout.
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            () = stopped(&mut stop), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Waits out an accept error: a connection-level one (the peer gave up) is skipped at once;
/// anything else (out of file descriptors) is logged, and accepting resumes after a second.
async fn accept_failed(e: std::io::Error, what: &'static str) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, server = what, "failed to accept a connection; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
