//! Serving a router on a bound listener until told to stop, with a bounded graceful shutdown:
//! shared by the reference AS, RS and client (and the harness's counterparts).

use std::net::SocketAddr;
use std::time::Duration;

/// Binds `addr` (port 0: any free port) and returns the listener with the address it got.
pub async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), crate::StartError> {
    let bind_error = |source| crate::StartError::Bind { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}

/// A router being served.
#[derive(Debug)]
pub struct Serving {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Serving {
    /// Serves `router` on `listener`; `what` names the server in an error log.
    pub fn spawn(listener: tokio::net::TcpListener, router: axum::Router, what: &'static str) -> Self {
        let (stop, mut rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let result = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, server = what, "stopped with an error");
            }
        });
        Self { stop, task }
    }

    /// Stops accepting connections and waits for in-flight requests at most `grace`; after
    /// that their connections are dropped.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!("in-flight requests did not finish in time; closing their connections");
            self.task.abort();
        }
    }
}
