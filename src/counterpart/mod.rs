//! The counterparts the harness plays when the target is a resource server or a client: the
//! reference AS (and, for a client target, the reference RS) running in-process on loopback, each
//! wrapped in a layer that records every request the target makes and lets a scenario change the
//! answers (hooks).
//!
//! The target talks to one counterpart for the whole run, so RS and client scenarios run one at a
//! time: the recorder marks where a scenario starts, and the hooks a scenario sets are cleared when
//! it ends.

pub mod traffic;

use std::net::SocketAddr;
use std::sync::Arc;

pub use traffic::{Hook, HookAction, Party, Recorded, Traffic};

/// A running counterpart server (one router behind the recording layer).
#[derive(Debug)]
pub struct Served {
    /// `http://127.0.0.1:PORT`.
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
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let router = traffic.layer(router, party);
        let serving = uma_reference_server::serving::Serving::spawn(listener, router, "counterpart");
        Ok(Self {
            base: format!("http://{addr}"),
            serving,
        })
    }

    /// Stops serving (in-flight requests get two seconds).
    pub async fn shutdown(self) {
        self.serving.stop(std::time::Duration::from_secs(2)).await;
    }
}

/// Binds a loopback listener on `port` (0 = any).
pub async fn bind(port: u16) -> Result<tokio::net::TcpListener, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind the counterpart on {addr}: {e}"))
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
    pub async fn start(mut config: uma_reference_server::Config, port: u16, traffic: Traffic) -> Result<Self, String> {
        let listener = bind(port).await?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let issuer = format!("http://{addr}");
        config.issuer = issuer.clone();
        let store = uma_reference_server::Store::connect("sqlite::memory:")
            .await
            .map_err(|e| format!("cannot open the counterpart AS store: {e}"))?;
        let ctx: uma_reference_server::SharedCtx = Arc::new(
            uma_reference_server::Ctx::new(config, issuer, store)
                .await
                .map_err(|e| format!("cannot start the counterpart AS: {e}"))?,
        );
        let router = uma_reference_server::app(ctx.clone());
        let served = Served::serve(listener, router, traffic, Party::As)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self { served, ctx })
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.served.base
    }
}
