//! OAuth and UMA error responses, as plain data.

use serde_json::{Map, Value, json};

use crate::store::StoreError;

/// An error the AS answers with: HTTP status, `error` code, and the extra members and headers
/// the specs call for. The HTTP layer renders it; nothing here knows about axum.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolError {
    /// HTTP status code.
    pub status: u16,
    /// The `error` code.
    pub error: String,
    /// `error_description`, if any.
    pub description: Option<String>,
    /// Extra JSON members (`ticket`, `required_claims`, `redirect_user`, `interval`).
    pub extra: Map<String, Value>,
    /// A `WWW-Authenticate` header value, if the error calls for one.
    pub www_authenticate: Option<String>,
}

impl ProtocolError {
    /// An error with a status and code.
    pub fn new(status: u16, error: &str, description: impl Into<Option<String>>) -> Self {
        Self {
            status,
            error: error.to_owned(),
            description: description.into(),
            extra: Map::new(),
            www_authenticate: None,
        }
    }

    /// Adds a JSON member.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// RFC 6749 §5.2 `invalid_request` (400).
    pub fn invalid_request(desc: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", Some(desc.into()))
    }

    /// RFC 6749 §5.2 `invalid_client`: 401 with a `Basic` challenge.
    pub fn invalid_client(desc: impl Into<String>) -> Self {
        let mut e = Self::new(401, "invalid_client", Some(desc.into()));
        e.www_authenticate = Some("Basic realm=\"uma\"".to_owned());
        e
    }

    /// `invalid_grant` (400; UMA Grant §3.3.6).
    pub fn invalid_grant(desc: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", Some(desc.into()))
    }

    /// `invalid_scope` (400).
    pub fn invalid_scope(desc: impl Into<String>) -> Self {
        Self::new(400, "invalid_scope", Some(desc.into()))
    }

    /// RFC 6749 `unauthorized_client` (400).
    pub fn unauthorized_client(desc: impl Into<String>) -> Self {
        Self::new(400, "unauthorized_client", Some(desc.into()))
    }

    /// RFC 6749 `unsupported_grant_type` (400).
    pub fn unsupported_grant_type(grant: &str) -> Self {
        Self::new(
            400,
            "unsupported_grant_type",
            Some(format!("grant type `{grant}` is not supported")),
        )
    }

    /// RFC 6750 §3.1 `invalid_token` (401) with a `Bearer` challenge naming the error: a bearer
    /// token was sent and is unknown, expired, revoked or malformed.
    pub fn invalid_token() -> Self {
        let mut e = Self::new(401, "invalid_token", Some("a valid PAT is required".to_owned()));
        e.www_authenticate = Some("Bearer realm=\"uma\", error=\"invalid_token\"".to_owned());
        e
    }

    /// RFC 6750 §3 / §3.1: 401 with a bare `Bearer` challenge for a request that carried no
    /// authentication information at all (no `Authorization` header, or one of another scheme).
    /// Such an answer SHOULD NOT include an error code or other error information, so the code
    /// is empty and the response has no body (see [`ProtocolError::has_code`]).
    pub fn no_credentials() -> Self {
        let mut e = Self::new(401, "", None);
        e.www_authenticate = Some("Bearer realm=\"uma\"".to_owned());
        e
    }

    /// Whether the error has an `error` code; without one the response carries no body.
    pub fn has_code(&self) -> bool {
        !self.error.is_empty()
    }

    /// RFC 6750 §3.1 `insufficient_scope` (403).
    pub fn insufficient_scope(scope: &str) -> Self {
        let mut e = Self::new(
            403,
            "insufficient_scope",
            Some(format!("the token lacks scope `{scope}`")),
        );
        e.www_authenticate = Some(format!(
            "Bearer realm=\"uma\", error=\"insufficient_scope\", scope=\"{scope}\""
        ));
        e
    }

    /// FedAuthz §3.2 `not_found` (404).
    pub fn not_found(desc: impl Into<String>) -> Self {
        Self::new(404, "not_found", Some(desc.into()))
    }

    /// FedAuthz §3.2 `unsupported_method_type` (405).
    pub fn unsupported_method() -> Self {
        Self::new(
            405,
            "unsupported_method_type",
            Some("method not supported on this endpoint".to_owned()),
        )
    }

    /// FedAuthz §4.3 `invalid_resource_id` (400).
    pub fn invalid_resource_id(id: &str) -> Self {
        Self::new(
            400,
            "invalid_resource_id",
            Some(format!(
                "resource `{id}` is not registered by this resource server for this owner"
            )),
        )
    }

    /// UMA Grant §3.3.6 `request_denied` (403).
    pub fn request_denied() -> Self {
        Self::new(
            403,
            "request_denied",
            Some("the client is not authorized to have these permissions".to_owned()),
        )
    }

    /// RFC 7591 §3.2.2 `invalid_client_metadata` (400).
    pub fn invalid_client_metadata(desc: impl Into<String>) -> Self {
        Self::new(400, "invalid_client_metadata", Some(desc.into()))
    }

    /// RFC 7591 §3.2.2 `invalid_redirect_uri` (400).
    pub fn invalid_redirect_uri(desc: impl Into<String>) -> Self {
        Self::new(400, "invalid_redirect_uri", Some(desc.into()))
    }

    /// A failure of the AS itself (500); the cause is logged, not shown.
    pub fn server_error() -> Self {
        Self::new(500, "server_error", Some("internal error".to_owned()))
    }

    /// The JSON body: `error`, `error_description` and the extra members. Meaningful only for
    /// an error that [`has a code`](ProtocolError::has_code).
    pub fn body(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("error".into(), json!(self.error));
        if let Some(d) = &self.description {
            m.insert("error_description".into(), json!(d));
        }
        Value::Object(m)
    }
}

impl From<StoreError> for ProtocolError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, source = ?std::error::Error::source(&e), "store failure");
        Self::server_error()
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.has_code() {
            write!(f, "{} {}", self.status, self.error)?;
        } else {
            write!(f, "{} (no error code)", self.status)?;
        }
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProtocolError {}
