//! Request bodies of the AS: read within the size limit, and of the media type the endpoint
//! takes.
//!
//! A body declared with another `Content-Type` is refused with 400 `invalid_request`, naming
//! the type expected. RFC 9110 §15.5.16 would allow 415, but the protocols these endpoints
//! belong to say 400 for a malformed request: RFC 6749 §5.2 for the token endpoint (and so
//! RFC 7009 and RFC 7662), and FedAuthz §3.2, a MUST, for resource registration; so the AS
//! answers 400 everywhere. (An unsupported `Content-Encoding` is a 415: see
//! [`super::limits`].) A body with no `Content-Type` at all is read as the endpoint's own type,
//! as resource servers and client libraries that omit it expect.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::limits::refusal;
use crate::core::ProtocolError;

/// The media types endpoints take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Media {
    /// `application/json`: resource registration, permissions, policies, approvals, RFC 7591
    /// registration.
    Json,
    /// `application/x-www-form-urlencoded`: token, introspection, revocation, the claims
    /// interaction and login forms, the demo identity provider.
    Form,
}

impl Media {
    fn name(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// Checks that the request's body, if it declares a media type, declares `media` (parameters
/// such as `charset` aside).
pub(super) fn require(headers: &HeaderMap, media: Media) -> Result<(), ProtocolError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let declared = value
        .to_str()
        .ok()
        .map(|v| v.split(';').next().unwrap_or_default().trim());
    match declared {
        Some(m) if m.eq_ignore_ascii_case(media.name()) => Ok(()),
        Some(m) => Err(refusal(
            StatusCode::BAD_REQUEST,
            format!(
                "Content-Type {m} is not supported here; the body must be {}",
                media.name()
            ),
        )),
        None => Err(refusal(
            StatusCode::BAD_REQUEST,
            format!("the Content-Type is unreadable; the body must be {}", media.name()),
        )),
    }
}

/// [`require`] for the token, revocation and introspection endpoints, where the variant
/// `untyped-form-refused` also refuses a body that declares no media type (RFC 9110 §8.3 lets
/// a recipient examine such content, or not), and the `lenient_form_labels` configuration reads
/// any body as a form.
pub(super) fn require_form(ctx: &crate::SharedCtx, headers: &HeaderMap) -> Result<(), ProtocolError> {
    if ctx.variant(crate::variants::Variant::UntypedFormRefused) && !headers.contains_key(header::CONTENT_TYPE) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            format!("the body declares no Content-Type; it must be {}", Media::Form.name()),
        ));
    }
    if ctx.config.lenient_form_labels {
        return Ok(());
    }
    require(headers, Media::Form)
}

/// Checks the media type, then parses the body as JSON.
pub(super) fn json(headers: &HeaderMap, body: &Bytes) -> Result<Value, ProtocolError> {
    require(headers, Media::Json)?;
    parse_json(body)
}

/// Parses a body as JSON.
fn parse_json(body: &Bytes) -> Result<Value, ProtocolError> {
    serde_json::from_slice(body).map_err(|e| ProtocolError::invalid_request(format!("the body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_type(ct: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ct) = ct {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        h
    }

    #[test]
    fn no_content_type_is_read_as_the_endpoints_own_type() {
        assert!(require(&with_type(None), Media::Json).is_ok());
        assert!(require(&with_type(None), Media::Form).is_ok());
    }

    #[test]
    fn the_declared_type_is_compared_without_case_or_parameters() {
        assert!(require(&with_type(Some("Application/JSON; charset=utf-8")), Media::Json).is_ok());
        assert!(
            require(
                &with_type(Some("application/x-www-form-urlencoded;charset=UTF-8")),
                Media::Form
            )
            .is_ok()
        );
    }

    #[test]
    fn another_declared_type_is_invalid_request_naming_both() {
        let e = require(&with_type(Some("text/plain")), Media::Json).unwrap_err();
        assert_eq!((e.status, e.error.as_str()), (400, "invalid_request"));
        let d = e.description.unwrap();
        assert!(d.contains("text/plain") && d.contains("application/json"), "{d}");
        let e = require(&with_type(Some("application/json")), Media::Form).unwrap_err();
        assert_eq!((e.status, e.error.as_str()), (400, "invalid_request"));
    }
}
