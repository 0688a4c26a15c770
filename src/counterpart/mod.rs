//! Every party the harness plays, and their start-up.
//!
//! - [`reference`]: the reference implementation run in-process (the embedded target AS, RS and
//!   client, and the reference AS the counterparts are built from).
//! - The counterpart AS and RS: when the target is a resource server or a client, the reference
//!   AS (and, for a client target, the reference RS) running on loopback behind a layer that
//!   records every request the target makes and lets a scenario change the answers ([`traffic`]).
//!   [`Counterparts`] is what RS and client scenarios know about them; [`start`] starts them.
//! - [`idp`]: the test identity provider that mints the ID tokens pushed as claim tokens.
//! - [`forms`]: the HTML form reader of the claims-gathering form driver (the requesting party's
//!   browser); [`browser`] and [`manual`]: the browser (WebDriver) and manual drivers, shared by
//!   a run's scenarios through [`drivers`].
//!
//! The target talks to one counterpart for the whole run, so RS and client scenarios run one at a
//! time: the recorder marks where a scenario starts, and the hooks a scenario sets are cleared when
//! it ends.

pub mod browser;
pub mod drivers;
pub mod forms;
pub mod idp;
pub mod manual;
mod pat_owner;
pub mod reference;
pub mod start;
pub mod traffic;
mod world;

use std::net::SocketAddr;
use std::sync::Arc;

pub use pat_owner::{PatOwnerFuture, PatOwnerResolver};
pub use start::{Running, start_for_client, start_for_rs};
pub use traffic::{Hook, HookAction, Party, Recorded, Traffic};
pub use world::{Counterparts, REFERENCE_RS_REQUESTS};

/// Why a party could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A loopback port could not be bound.
    #[error("failed to bind {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A reference component did not start.
    #[error("failed to start {what}: {message}")]
    Reference {
        /// Which component.
        what: &'static str,
        /// The cause, as the reference server reports it.
        message: String,
    },
    /// The target's `setup` command failed.
    #[error("failed to point the target at the harness: {0}")]
    Setup(String),
    /// The target profile names a secret that cannot be resolved, or lacks a section.
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
}

/// A running counterpart server (one router behind the recording layer).
#[derive(Debug)]
pub struct Served {
    /// `http://127.0.0.1:PORT` (`https://` over TLS).
    pub base: String,
    serving: uma_reference_server::serving::Serving,
}

impl Served {
    /// Serves `router` behind the recording layer of `traffic` as `party` on `listener`.
    pub async fn serve(
        listener: tokio::net::TcpListener,
        router: axum::Router,
        traffic: Traffic,
        party: Party,
    ) -> Result<Self, StartError> {
        Self::serve_secured(listener, router, traffic, party, None)
    }

    /// [`Served::serve`], over TLS with a certificate of the run's test CA when `tls` is given.
    pub fn serve_secured(
        listener: tokio::net::TcpListener,
        router: axum::Router,
        traffic: Traffic,
        party: Party,
        tls: Option<&reference::RunCa>,
    ) -> Result<Self, StartError> {
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            source,
        })?;
        let router = traffic.layer(router, party);
        let secured = tls
            .map(|ca| ca.server().map(|t| uma_reference_server::serving::Tls::new(&t)))
            .transpose()?;
        let scheme = if secured.is_some() { "https" } else { "http" };
        let serving = uma_reference_server::serving::Serving::spawn_secured(
            listener,
            router,
            "counterpart",
            uma_reference_server::serving::HEADER_READ_TIMEOUT,
            secured,
        );
        Ok(Self {
            base: format!("{scheme}://{addr}"),
            serving,
        })
    }

    /// Stops serving (in-flight requests get two seconds).
    pub async fn shutdown(self) {
        self.serving.stop(std::time::Duration::from_secs(2)).await;
    }
}

/// Binds a loopback listener on `port` (0 = any).
pub async fn bind(port: u16) -> Result<tokio::net::TcpListener, StartError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// The counterpart AS: the reference AS behind the recorder.
#[derive(Debug)]
pub struct CounterpartAs {
    /// The server.
    pub served: Served,
    /// Its context (store, configuration), for direct set-up.
    pub ctx: uma_reference_server::SharedCtx,
}

impl CounterpartAs {
    /// Starts the reference AS with `config` on `port` (0 = any), recording into `traffic`.
    pub async fn start(config: uma_reference_server::Config, port: u16, traffic: Traffic) -> Result<Self, StartError> {
        Self::start_secured(config, port, traffic, None).await
    }

    /// [`CounterpartAs::start`], over TLS with a certificate of the run's test CA when `tls` is
    /// given.
    pub async fn start_secured(
        config: uma_reference_server::Config,
        port: u16,
        traffic: Traffic,
        tls: Option<&reference::RunCa>,
    ) -> Result<Self, StartError> {
        Self::start_at(config, port, None, traffic, tls).await
    }

    /// [`CounterpartAs::start_secured`] with an issuer path (`/realms/interop`, a validated
    /// profile's `counterpart.as_path`): every endpoint is served under it (the reference's
    /// variant `issuer-with-path`).
    pub async fn start_at(
        mut config: uma_reference_server::Config,
        port: u16,
        path: Option<&str>,
        traffic: Traffic,
        tls: Option<&reference::RunCa>,
    ) -> Result<Self, StartError> {
        let listener = bind(port).await?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            source,
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut issuer = format!("{scheme}://{addr}");
        if let Some(path) = path {
            issuer.push_str(path);
            config
                .variants
                .insert(uma_reference_server::variants::Variant::IssuerWithPath);
        }
        config.issuer = issuer.clone();
        let failed = |e: &dyn std::fmt::Display| StartError::Reference {
            what: "the counterpart AS",
            message: e.to_string(),
        };
        let store = uma_reference_server::Store::connect("sqlite::memory:")
            .await
            .map_err(|e| failed(&e))?;
        let ctx: uma_reference_server::SharedCtx = Arc::new(
            uma_reference_server::Ctx::new(config, issuer, store)
                .await
                .map_err(|e| failed(&e))?,
        );
        let router = uma_reference_server::app(ctx.clone());
        traffic.resolve_pat_owners(Party::As, pat_owner::reference(ctx.clone()));
        let served = Served::serve_secured(listener, router, traffic, Party::As, tls)?;
        Ok(Self { served, ctx })
    }

    /// The issuer (the served origin, and the issuer path if any).
    pub fn issuer(&self) -> &str {
        &self.ctx.issuer
    }
}
