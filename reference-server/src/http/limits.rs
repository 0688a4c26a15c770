//! What a reference server refuses before any handler runs, each refusal an OAuth JSON error
//! (`{"error":"invalid_request","error_description":…}`, `Cache-Control: no-store`):
//!
//! - [`guard`] (AS, RS and client): a request target longer than [`MAX_URI_BYTES`] (414), more
//!   than [`MAX_HEADERS`] header fields or more than [`MAX_HEADER_BYTES`] of them (431);
//! - [`BodyGuardLayer`] (AS): a `Content-Encoding` other than `identity` (415, RFC 9110 §15.5.16,
//!   with `Accept-Encoding: identity`), a declared `Content-Length` over the body limit (413),
//!   and a request still unanswered after [`REQUEST_TIMEOUT`] (408).
//!
//! Beyond these, hyper answers by itself, with an empty body, before any router sees the
//! request: 400 for a request line or header it cannot parse, 431 for more than 100 header
//! fields or a head over its ~400 KiB buffer, and 414 for a request target over 64 KiB; and a
//! connection whose head does not arrive within the header-read timeout is closed without an
//! answer (see [`crate::serving`]).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::error_response;
use crate::core::ProtocolError;

/// The longest request target (path and query) served, in bytes. RFC 9110 §4.1 recommends
/// supporting at least 8000 octets.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header fields a request may have. Below hyper's own limit (100, see
/// [`crate::serving`]), so that a request with a few more still gets a JSON 431.
pub const MAX_HEADERS: usize = 64;
/// The most bytes of header field names and values a request may have.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The longest any request to the AS may take before the server answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An OAuth `invalid_request` error with `status`.
pub(super) fn refusal(status: StatusCode, description: impl Into<String>) -> ProtocolError {
    ProtocolError::new(status.as_u16(), "invalid_request", Some(description.into()))
}

/// Refuses a request whose target or header section is over the limits (414, 431).
pub async fn guard(req: Request, next: Next) -> Response {
    match oversized_head(&req) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// The refusal of a request whose target or header section is over the limits (414, 431).
fn oversized_head(req: &Request) -> Option<Response> {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(error_response(
            refusal(
                StatusCode::URI_TOO_LONG,
                format!("the request target is {target} bytes long; at most {MAX_URI_BYTES} are accepted"),
            ),
            true,
        ));
    }
    let count = req.headers().len();
    let bytes: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if count > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Some(error_response(
            refusal(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "the request has {count} header fields of {bytes} bytes; at most {MAX_HEADERS} fields \
                     of {MAX_HEADER_BYTES} bytes are accepted"
                ),
            ),
            true,
        ));
    }
    None
}

/// The AS's checks of a request before any handler reads it: [`guard`]'s (414, 431), then its
/// body's (415, 413); and its overall time limit (408). A layer of its own rather than an
/// `axum::middleware::from_fn`, which costs every request a boxed future and a clone of the
/// service behind it; and the timer is set only for a request that is not answered at its
/// first poll (most are: their body has arrived with their head), so that the others do not
/// pay for entering and leaving the timer wheel (issue 13).
#[derive(Debug, Clone, Copy)]
pub struct BodyGuardLayer {
    /// The largest body accepted, in bytes.
    pub limit: usize,
    /// How long a request may take before it is answered 408 ([`REQUEST_TIMEOUT`]).
    pub timeout: Duration,
}

impl<S> tower::Layer<S> for BodyGuardLayer {
    type Service = BodyGuard<S>;

    fn layer(&self, inner: S) -> BodyGuard<S> {
        BodyGuard {
            inner,
            limit: self.limit,
            timeout: self.timeout,
        }
    }
}

/// The service of [`BodyGuardLayer`].
#[derive(Debug, Clone)]
pub struct BodyGuard<S> {
    inner: S,
    limit: usize,
    timeout: Duration,
}

impl<S> tower::Service<Request> for BodyGuard<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Guarded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match refused_before_reading(&req, self.limit) {
            Some(refused) => Guarded::Refused(Some(refused)),
            None => Guarded::Running {
                answer: self.inner.call(req),
                timeout: self.timeout,
                deadline: None,
            },
        }
    }
}

/// A request's answer under [`BodyGuard`].
#[derive(Debug)]
pub enum Guarded<F> {
    /// Refused before any handler ran.
    Refused(Option<Response>),
    /// Being answered; `deadline` is set at the first poll that finds the answer not ready.
    Running {
        answer: F,
        timeout: Duration,
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

impl<F> Future for Guarded<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Guarded::Refused(refused) => Poll::Ready(Ok(refused
                .take()
                .unwrap_or_else(|| error_response(ProtocolError::server_error(), true)))),
            Guarded::Running {
                answer,
                timeout,
                deadline,
            } => {
                if let Poll::Ready(answered) = Pin::new(answer).poll(cx) {
                    return Poll::Ready(answered);
                }
                let timer = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(*timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Ok(error_response(
                        refusal(
                            StatusCode::REQUEST_TIMEOUT,
                            format!("the request was not answered within {} s", timeout.as_secs()),
                        ),
                        true,
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// The refusal of a request over the head limits ([`oversized_head`]), sent with a content
/// coding other than `identity` (415) or declaring a body over `limit` bytes (413).
fn refused_before_reading(req: &Request, limit: usize) -> Option<Response> {
    if let Some(refused) = oversized_head(req) {
        return Some(refused);
    }
    if let Some(coding) = unsupported_coding(req.headers()) {
        let mut resp = error_response(
            refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Encoding {coding} is not supported; send the body unencoded (identity)"),
            ),
            true,
        );
        resp.headers_mut()
            .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        return Some(resp);
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    declared.filter(|n| *n > limit as u64).map(|n| {
        error_response(
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is {n} bytes long; at most {limit} are accepted"),
            ),
            true,
        )
    })
}

/// The first content coding of the request other than `identity`, as sent (or `(unreadable)`).
fn unsupported_coding(headers: &axum::http::HeaderMap) -> Option<String> {
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let Ok(text) = value.to_str() else {
            return Some("(unreadable)".to_owned());
        };
        for coding in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if !coding.eq_ignore_ascii_case("identity") {
                return Some(coding.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer as _, ServiceExt as _};

    /// A service answering 200 after `polls` polls that found it not ready (`None`: never).
    #[derive(Clone)]
    struct Slow(Option<usize>);

    impl tower::Service<Request> for Slow {
        type Response = Response;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request) -> Self::Future {
            let polls = self.0;
            Box::pin(async move {
                match polls {
                    Some(n) => {
                        for _ in 0..n {
                            tokio::task::yield_now().await;
                        }
                        Ok(Response::new(axum::body::Body::empty()))
                    }
                    None => std::future::pending().await,
                }
            })
        }
    }

    fn guarded(answers_after: Option<usize>, timeout: Duration) -> BodyGuard<Slow> {
        BodyGuardLayer { limit: 1024, timeout }.layer(Slow(answers_after))
    }

    fn request(content_length: Option<&str>) -> Request {
        let mut b = axum::http::Request::post("/token");
        if let Some(n) = content_length {
            b = b.header(header::CONTENT_LENGTH, n);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn an_answer_ready_at_once_or_later_within_the_time_limit_is_passed_through() {
        for polls in [0, 3] {
            let resp = guarded(Some(polls), Duration::from_secs(30))
                .oneshot(request(None))
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "after {polls} polls");
        }
    }

    #[tokio::test]
    async fn a_request_not_answered_within_the_time_limit_gets_a_408() {
        let answer = guarded(None, Duration::from_millis(20)).oneshot(request(None));
        // Bounded, so that a guard that never answers fails the test instead of hanging it.
        let resp = tokio::time::timeout(Duration::from_secs(10), answer)
            .await
            .expect("the guard answers")
            .unwrap();
        assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
    }

    #[tokio::test]
    async fn a_declared_body_over_the_limit_is_refused_before_the_service_runs() {
        // The service would never answer: the 413 comes from the guard alone.
        let resp = guarded(None, Duration::from_secs(30))
            .oneshot(request(Some("1025")))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    fn headers(values: &[&str]) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        for v in values {
            h.append(header::CONTENT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn identity_and_no_coding_are_accepted() {
        assert_eq!(unsupported_coding(&headers(&[])), None);
        assert_eq!(unsupported_coding(&headers(&["identity"])), None);
        assert_eq!(unsupported_coding(&headers(&["Identity, identity"])), None);
    }

    #[test]
    fn any_other_coding_is_named() {
        assert_eq!(unsupported_coding(&headers(&["gzip"])).as_deref(), Some("gzip"));
        assert_eq!(
            unsupported_coding(&headers(&["identity", "identity, br"])).as_deref(),
            Some("br")
        );
    }
}
