//! The resource server's calls to the authorization server: discovery, the PAT
//! (`client_credentials`), resource registration (FedAuthz §3), the permission endpoint (§4) and
//! introspection (§5).
//!
//! Every call has the configured timeout and reads at most [`MAX_BODY`] bytes of the answer.
//! A protection API call answered with 401 gets a fresh PAT and is retried once.

use std::fmt;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use crate::types::{AccessToken, PermissionTicket};

/// The most of an AS answer the RS reads.
pub(crate) const MAX_BODY: usize = 256 * 1024;

/// The AS call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AsCall {
    /// `GET {issuer}/.well-known/uma2-configuration`.
    Discovery,
    /// The `client_credentials` request for a PAT at the token endpoint.
    Pat,
    /// A resource registration (`POST` to the resource registration endpoint).
    Registration,
    /// A permission request (`POST` to the permission endpoint).
    Permission,
    /// An introspection request.
    Introspection,
}

impl fmt::Display for AsCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Discovery => "discovery",
            Self::Pat => "PAT",
            Self::Registration => "resource registration",
            Self::Permission => "permission",
            Self::Introspection => "introspection",
        })
    }
}

/// Why the resource server could not get what it needed from the authorization server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RsError {
    /// The request did not complete (connection refused, timeout, reset).
    #[error("failed to reach the authorization server for the {call} request")]
    Transport {
        /// The call.
        call: AsCall,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The AS answered with an unexpected status.
    #[error("the authorization server answered the {call} request with HTTP {status}")]
    Status {
        /// The call.
        call: AsCall,
        /// The status code.
        status: u16,
    },
    /// The AS answered, but not with what the protocol says.
    #[error("the authorization server's answer to the {call} request is malformed: {detail}")]
    Malformed {
        /// The call.
        call: AsCall,
        /// What is wrong.
        detail: String,
    },
}

impl RsError {
    /// The call that failed.
    pub fn call(&self) -> AsCall {
        match self {
            Self::Transport { call, .. } | Self::Status { call, .. } | Self::Malformed { call, .. } => *call,
        }
    }

    fn malformed(call: AsCall, detail: impl Into<String>) -> Self {
        Self::Malformed {
            call,
            detail: detail.into(),
        }
    }
}

/// The endpoints the RS uses, from the AS's discovery document.
#[derive(Clone, Debug)]
pub(crate) struct Endpoints {
    /// The `issuer` member (the value of `as_uri` in challenges).
    pub(crate) issuer: String,
    /// Where the discovery document was fetched.
    pub(crate) discovery_url: String,
    pub(crate) token: String,
    pub(crate) resource_registration: String,
    pub(crate) permission: String,
    pub(crate) introspection: String,
}

/// An answer, read up to [`MAX_BODY`].
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl fmt::Debug for Answer {
    // The body may hold a PAT or a ticket: only its length is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Answer {
    /// The body as a JSON object, or a `Malformed` error for `call`.
    pub(crate) fn object(&self, call: AsCall) -> Result<serde_json::Map<String, Value>, RsError> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(RsError::malformed(call, "the body is not a JSON object")),
            Err(e) => Err(RsError::malformed(call, format!("the body is not JSON ({e})"))),
        }
    }
}

/// Sends `req` and reads the answer, bounded in time (the request's timeout) and size.
pub(crate) async fn send(call: AsCall, req: RequestBuilder) -> Result<Answer, RsError> {
    let mut resp = req.send().await.map_err(|source| RsError::Transport { call, source })?;
    let status = resp.status();
    let mut body = Vec::new();
    // Bounded: each chunk is non-empty, and the loop stops past MAX_BODY bytes.
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|source| RsError::Transport { call, source })?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(RsError::malformed(call, format!("the body is over {MAX_BODY} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    tracing::debug!(call = %call, status = status.as_u16(), "authorization server answered");
    Ok(Answer { status, body })
}

/// A required string member of an endpoint URL.
fn url_member(doc: &serde_json::Map<String, Value>, key: &str) -> Result<String, RsError> {
    let value = doc
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| RsError::malformed(AsCall::Discovery, format!("no `{key}`")))?;
    url::Url::parse(value).map_err(|e| RsError::malformed(AsCall::Discovery, format!("`{key}` is not a URL ({e})")))?;
    Ok(value.to_owned())
}

/// Parses a discovery document fetched from `discovery_url`.
pub(crate) fn parse_discovery(discovery_url: &str, answer: &Answer) -> Result<Endpoints, RsError> {
    if answer.status != StatusCode::OK {
        return Err(RsError::Status {
            call: AsCall::Discovery,
            status: answer.status.as_u16(),
        });
    }
    let doc = answer.object(AsCall::Discovery)?;
    Ok(Endpoints {
        issuer: url_member(&doc, "issuer")?,
        discovery_url: discovery_url.to_owned(),
        token: url_member(&doc, "token_endpoint")?,
        resource_registration: url_member(&doc, "resource_registration_endpoint")?,
        permission: url_member(&doc, "permission_endpoint")?,
        introspection: url_member(&doc, "introspection_endpoint")?,
    })
}

/// Parses a token endpoint answer to `client_credentials`.
pub(crate) fn parse_pat(answer: &Answer) -> Result<AccessToken, RsError> {
    if answer.status != StatusCode::OK {
        return Err(RsError::Status {
            call: AsCall::Pat,
            status: answer.status.as_u16(),
        });
    }
    let doc = answer.object(AsCall::Pat)?;
    doc.get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(AccessToken::new)
        .ok_or_else(|| RsError::malformed(AsCall::Pat, "no access_token"))
}

/// Parses a resource registration answer (FedAuthz §3.2.1: 201 with `_id`).
pub(crate) fn parse_registration(answer: &Answer) -> Result<String, RsError> {
    if !answer.status.is_success() {
        return Err(RsError::Status {
            call: AsCall::Registration,
            status: answer.status.as_u16(),
        });
    }
    let doc = answer.object(AsCall::Registration)?;
    doc.get("_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| RsError::malformed(AsCall::Registration, "no _id"))
}

/// Parses a permission endpoint answer (FedAuthz §4.2: 201 with `ticket`). The ticket must fit
/// in a quoted-string of the challenge.
pub(crate) fn parse_ticket(answer: &Answer) -> Result<PermissionTicket, RsError> {
    if !answer.status.is_success() {
        return Err(RsError::Status {
            call: AsCall::Permission,
            status: answer.status.as_u16(),
        });
    }
    let doc = answer.object(AsCall::Permission)?;
    let ticket = doc
        .get("ticket")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RsError::malformed(AsCall::Permission, "no ticket"))?;
    if !ticket.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(RsError::malformed(
            AsCall::Permission,
            "the ticket has characters outside printable ASCII",
        ));
    }
    Ok(PermissionTicket::new(ticket))
}

/// Parses an introspection answer (RFC 7662 §2.2: 200 with a JSON object).
pub(crate) fn parse_introspection(answer: &Answer) -> Result<Value, RsError> {
    if answer.status != StatusCode::OK {
        return Err(RsError::Status {
            call: AsCall::Introspection,
            status: answer.status.as_u16(),
        });
    }
    answer.object(AsCall::Introspection).map(Value::Object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn discovery_needs_every_endpoint_the_rs_uses() {
        let full = r#"{"issuer":"http://127.0.0.1:1","token_endpoint":"http://127.0.0.1:1/t",
            "resource_registration_endpoint":"http://127.0.0.1:1/r","permission_endpoint":"http://127.0.0.1:1/p",
            "introspection_endpoint":"http://127.0.0.1:1/i"}"#;
        let ep = parse_discovery("http://127.0.0.1:1/.well-known/uma2-configuration", &answer(200, full)).unwrap();
        assert_eq!(ep.issuer, "http://127.0.0.1:1");
        assert_eq!(ep.permission, "http://127.0.0.1:1/p");
        let partial = r#"{"issuer":"http://127.0.0.1:1","token_endpoint":"http://127.0.0.1:1/t"}"#;
        assert!(matches!(
            parse_discovery("x", &answer(200, partial)),
            Err(RsError::Malformed { .. })
        ));
        assert!(matches!(
            parse_discovery("x", &answer(404, full)),
            Err(RsError::Status { .. })
        ));
    }

    #[test]
    fn a_ticket_that_cannot_go_in_a_header_is_malformed() {
        assert!(parse_ticket(&answer(201, r#"{"ticket":"abc-123"}"#)).is_ok());
        assert!(parse_ticket(&answer(201, r#"{"ticket":"a\nb"}"#)).is_err());
        assert!(parse_ticket(&answer(201, r#"{"ticket":"é"}"#)).is_err());
        assert!(parse_ticket(&answer(201, r#"{"ticket":""}"#)).is_err());
        assert!(parse_ticket(&answer(201, r#"["t"]"#)).is_err());
        assert!(parse_ticket(&answer(400, r#"{"error":"invalid_resource_id"}"#)).is_err());
    }

    #[test]
    fn an_introspection_answer_must_be_a_200_object() {
        assert!(parse_introspection(&answer(200, r#"{"active":false}"#)).is_ok());
        assert!(parse_introspection(&answer(200, "not json")).is_err());
        assert!(parse_introspection(&answer(500, r#"{"active":false}"#)).is_err());
    }
}
