//! Where the routes live: at the root, or under the issuer's path (variant `issuer-with-path`),
//! minus the endpoints a variant withdrew.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::core::SharedCtx;
use crate::core::discovery::{self, paths};

/// Mounts `routes` at [`discovery::mount_path`] (with the RFC 8414 document at its RFC 8414
/// §3.1 place, the well-known path inserted before the issuer's path) and answers 404 for the
/// endpoints [`discovery::withdrawn`] names.
pub(super) fn mount(ctx: SharedCtx, routes: Router) -> Router {
    let prefix = discovery::mount_path(&ctx);
    let router = if prefix.is_empty() {
        routes
    } else {
        let rfc8414 = format!("{}{prefix}", paths::OAUTH_CONFIG);
        Router::new()
            .nest(&prefix, routes)
            .route(&rfc8414, get(super::oauth_metadata).with_state(ctx.clone()))
    };
    // Without a variant that withdraws an endpoint or moves the routes, the layer would only
    // cost every request a boxed future.
    if prefix.is_empty() && !discovery::withdraws_any(&ctx) {
        return router;
    }
    router.layer(middleware::from_fn_with_state(ctx, withdraw))
}

async fn withdraw(State(ctx): State<SharedCtx>, req: Request, next: Next) -> Response {
    let prefix = discovery::mount_path(&ctx);
    let path = req.uri().path();
    let gone = match path.strip_prefix(prefix.as_str()) {
        Some(rel) if rel.starts_with('/') => discovery::withdrawn(&ctx, rel),
        // Outside the issuer's path only the RFC 8414 document is served.
        _ => ctx.variant(crate::variants::Variant::NoRfc8414Document),
    };
    if gone {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}
