//! The test clock: a request carrying [`TEST_CLOCK_HEADER`] reads the AS's clock that many
//! milliseconds ahead (`Clock::ahead`). Only a server built with its test clock on
//! (`ServerBuilder::test_clock`, which the conformance harness uses for its embedded reference)
//! has this layer; no configuration file or command-line flag turns it on, so a deployed
//! server never lets a client move its clock.
//!
//! Why per request and not a global jump: the harness runs scenarios concurrently against one
//! server. A scenario that waits for its ticket to expire sends its later requests with the
//! header, so only its own requests see the later time, and the tickets of every other scenario
//! keep their real lifetimes.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;

use crate::core::{Clock, MAX_AHEAD_MS, TEST_CLOCK_HEADER};

/// How far ahead a request asks to read the clock: a non-negative integer of milliseconds, at
/// most [`MAX_AHEAD_MS`]; anything else is ignored (real time).
pub fn requested_ahead(req: &Request) -> i64 {
    req.headers()
        .get(TEST_CLOCK_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|ms| (0..=MAX_AHEAD_MS).contains(ms))
        .unwrap_or(0)
}

async fn ahead(req: Request, next: Next) -> Response {
    let ms = requested_ahead(&req);
    if ms == 0 {
        return next.run(req).await;
    }
    Clock::ahead(ms, next.run(req)).await
}

/// `router` with the test clock on.
pub fn layer(router: Router) -> Router {
    router.layer(middleware::from_fn(ahead))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Option<&str>) -> Request {
        let mut b = axum::http::Request::builder().uri("/");
        if let Some(v) = v {
            b = b.header(TEST_CLOCK_HEADER, v);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn only_a_bounded_non_negative_integer_moves_the_clock() {
        assert_eq!(requested_ahead(&req(None)), 0);
        assert_eq!(requested_ahead(&req(Some("6500"))), 6500);
        assert_eq!(requested_ahead(&req(Some("-1"))), 0);
        assert_eq!(requested_ahead(&req(Some("1.5"))), 0);
        assert_eq!(requested_ahead(&req(Some("86400001"))), 0);
    }

    #[tokio::test]
    async fn the_offset_holds_for_the_request_only() {
        let clock = Clock::default();
        let before = clock.now();
        let inside = Clock::ahead(10_000, async { clock.now() }).await;
        assert!(inside >= before + 10, "{inside} vs {before}");
        assert!(clock.now() < before + 10);
    }
}
