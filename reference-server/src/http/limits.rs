//! What a reference server refuses before any handler runs, each refusal an OAuth JSON error
//! (`{"error":"invalid_request","error_description":…}`, `Cache-Control: no-store`):
//!
//! - [`guard`] (AS, RS and client): a request target longer than [`MAX_URI_BYTES`] (414), more
//!   than [`MAX_HEADERS`] header fields or more than [`MAX_HEADER_BYTES`] of them (431);
//! - [`body_guard`] (AS): a `Content-Encoding` other than `identity` (415, RFC 9110 §15.5.16,
//!   with `Accept-Encoding: identity`), a declared `Content-Length` over the body limit (413),
//!   and a request still unanswered after [`REQUEST_TIMEOUT`] (408).
//!
//! Beyond these, hyper answers by itself, with an empty body, before any router sees the
//! request: 400 for a request line or header it cannot parse, 431 for more than 256 header
//! fields or a head over its ~400 KiB buffer, and 414 for a request target over 64 KiB; and a
//! connection whose head does not arrive within the header-read timeout is closed without an
//! answer (see [`crate::serving`]).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::error_response;
use crate::core::ProtocolError;

/// The longest request target (path and query) served, in bytes. RFC 9110 §4.1 recommends
/// supporting at least 8000 octets.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header fields a request may have.
pub const MAX_HEADERS: usize = 100;
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
/// body's (415, 413); and its overall time limit (408). `limit` is the largest body accepted,
/// in bytes. One middleware instead of two: each layer is a boxed future per request.
pub async fn body_guard(State(limit): State<usize>, req: Request, next: Next) -> Response {
    if let Some(refused) = oversized_head(&req) {
        return refused;
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
        return resp;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > limit as u64) {
        return error_response(
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is {n} bytes long; at most {limit} are accepted"),
            ),
            true,
        );
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => error_response(
            refusal(
                StatusCode::REQUEST_TIMEOUT,
                format!("the request was not answered within {} s", REQUEST_TIMEOUT.as_secs()),
            ),
            true,
        ),
    }
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
