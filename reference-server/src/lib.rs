//! A complete UMA 2.0 authorization server (UMA Grant + Federated Authorization) for the
//! conformance suite: its default target, the counterpart it plays, and, through
//! [quirks], the proof that every check can fail, and through [variants], the
//! proof that no check fails a conformant alternative.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use uma_reference_server::{Config, Server};
//!
//! let server = Server::builder(Config::demo()).memory().start().await?;
//! println!("issuer: {}", server.issuer());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod client;
pub mod config;
pub mod core;
pub mod crypto;
pub mod http;
pub mod http_client;
pub mod quirks;
pub mod role;
pub mod rs;
pub mod serving;
pub mod store;
pub mod tls;
pub mod types;
pub mod variants;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use config::Config;
pub use core::{Ctx, SharedCtx};
pub use http::app;
pub use quirks::{Quirk, Quirks};
pub use role::Role;
pub use store::Store;
pub use variants::{Variant, Variants};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listener could not be bound.
    #[error("failed to bind {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened.
    #[error("failed to open the database")]
    Store(#[from] store::StoreError),
    /// The AS could not initialise (keys, clients, trusted issuers).
    #[error("failed to initialise the authorization server: {0}")]
    Init(core::ProtocolError),
}

/// Where the server keeps its state.
#[derive(Clone, Debug)]
enum Storage {
    Memory,
    Dir(PathBuf),
    Url(String),
}

/// Builds a [`Server`].
#[derive(Debug)]
pub struct ServerBuilder {
    config: Config,
    addr: SocketAddr,
    storage: Storage,
    test_clock: bool,
    tls: Option<tls::ServerTls>,
}

impl ServerBuilder {
    /// Listens on `127.0.0.1:port` (0: any free port; the default).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Listens on `addr` (loopback addresses only are sensible here).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Serves HTTPS (the default issuer is then `https://127.0.0.1:PORT`).
    pub fn tls(mut self, tls: tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Keeps state in memory only (no database file, no SQLite), lost on shutdown.
    pub fn memory(mut self) -> Self {
        self.storage = Storage::Memory;
        self
    }

    /// Keeps state in `dir/uma.db` (SQLite).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.storage = Storage::Dir(dir.into());
        self
    }

    /// Keeps state at a database URL (`sqlite://…` or `postgres://…`).
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.storage = Storage::Url(url.into());
        self
    }

    /// Lets each request read the clock ahead by the milliseconds of its
    /// [`core::TEST_CLOCK_HEADER`] (default off; see [`http::test_clock`]): for a harness that
    /// makes tickets and tokens expire without waiting. Never for a deployed server.
    pub fn test_clock(mut self, on: bool) -> Self {
        self.test_clock = on;
        self
    }

    /// Binds, opens the store, and serves until [`Server::shutdown`].
    pub async fn start(self) -> Result<Server, StartError> {
        let (listener, local) = serving::bind(self.addr).await?;
        let issuer = if self.config.issuer.is_empty() {
            let scheme = if self.tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{local}")
        } else {
            self.config.issuer.clone()
        };
        let durability = self.config.durability;
        let store = match (&self.storage, self.config.database_url.as_str()) {
            (_, url) if !url.is_empty() => Store::connect_with(url, durability).await?,
            (Storage::Memory, _) => Store::connect_with("sqlite::memory:", durability).await?,
            (Storage::Dir(d), _) => Store::open_dir_with(d, durability).await?,
            (Storage::Url(u), _) => Store::connect_with(u, durability).await?,
        };
        let header_read_timeout = Duration::from_secs(self.config.header_read_timeout_secs);
        let ctx: SharedCtx = Arc::new(Ctx::new(self.config, issuer, store).await.map_err(StartError::Init)?);
        let (tx, rx) = tokio::sync::watch::channel(false);
        let sweeper = tokio::spawn(sweep_loop(ctx.clone(), rx.clone()));
        let secured = self.tls.as_ref().map(|t| serving::Tls {
            plaintext: http::plaintext_app(ctx.clone())
                .map(|r| if self.test_clock { http::test_clock::layer(r) } else { r }),
            ..serving::Tls::new(t)
        });
        let router = if self.test_clock {
            http::test_clock::layer(app(ctx.clone()))
        } else {
            app(ctx.clone())
        };
        let serving =
            serving::Serving::spawn_secured(listener, router, "authorization server", header_read_timeout, secured);
        Ok(Server {
            ctx,
            local,
            stop: tx,
            serving,
            sweeper,
        })
    }
}

async fn sweep_loop(ctx: SharedCtx, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match ctx.store.sweep(ctx.clock.now(), 86_400).await {
                    Ok(n) if n > 0 => tracing::debug!(removed = n, "swept expired tickets and tokens"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweep failed"),
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
}

/// How long a graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running reference AS.
#[derive(Debug)]
pub struct Server {
    ctx: SharedCtx,
    local: SocketAddr,
    /// Stops the sweeper.
    stop: tokio::sync::watch::Sender<bool>,
    serving: serving::Serving,
    sweeper: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Starts building a server with `config`. Defaults: `127.0.0.1`, any free port, SQLite in
    /// `./uma-data`.
    pub fn builder(config: Config) -> ServerBuilder {
        ServerBuilder {
            config,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            storage: Storage::Dir(PathBuf::from("uma-data")),
            test_clock: false,
            tls: None,
        }
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.ctx.issuer
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The shared context (store, clock, configuration), for tests and embedding.
    pub fn ctx(&self) -> &SharedCtx {
        &self.ctx
    }

    /// Stops accepting connections, finishes in-flight requests, and closes the store.
    /// In-flight requests get [`SHUTDOWN_GRACE`]; after that their connections are dropped.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.serving.stop(SHUTDOWN_GRACE).await;
        let _ = self.sweeper.await;
        self.ctx.store.close().await;
    }
}

/// Builds a router over an in-memory store, for `oneshot` tests.
pub async fn test_app(config: Config, issuer: &str) -> Result<(axum::Router, SharedCtx), StartError> {
    test_app_at(config, issuer, "sqlite::memory:").await
}

/// Builds a router over the database at `database_url` (e.g. a SQLite file with a pool of
/// several connections, for concurrency tests), for `oneshot` tests.
pub async fn test_app_at(
    config: Config,
    issuer: &str,
    database_url: &str,
) -> Result<(axum::Router, SharedCtx), StartError> {
    let store = Store::connect_with(database_url, config.durability).await?;
    let ctx: SharedCtx = Arc::new(
        Ctx::new(config, issuer.to_owned(), store)
            .await
            .map_err(StartError::Init)?,
    );
    Ok((app(ctx.clone()), ctx))
}
