//! The one guarded HTTP path. Every request the harness sends (the preflight, every scenario
//! step, the adapters, its own requests to its counterparts) is checked and bounded by one
//! [`Policy`]:
//!
//! - **origins**: loopback hosts by default; or exactly the profile's `allowed_origins` (plus
//!   the harness's own servers); or, with `allow_remote`, the origins of the target's own URLs
//!   (its issuer, base or start URL) and loopback hosts. A request to another origin is
//!   refused *before* anything is sent, with a message naming the URL and the rule;
//! - **body cap**: at most `max_body_bytes` (1 MiB by default) of an answer are read; the rest
//!   is never read, and the answer says so ([`Answer::cut`]);
//! - **time**: the per-request timeout (connection, request and body) and a connect timeout;
//! - **redirects** are never followed: a step that follows one sends the next request itself,
//!   through the same checks;
//! - **TLS** ([`Tls`]): the system's roots, or only the CAs a profile names (`tls.ca_file`),
//!   plus the harness's own test CA when it serves its counterparts over TLS; a client
//!   certificate for mutual TLS; certificate verification is off only when a profile says
//!   `insecure_skip_verify: true`, and every report then says so;
//! - **errors** ([`NetError`]) name the real cause: `no answer within 10 s`, `connection
//!   refused`, `not JSON: first bytes "<html>…", content-type text/html`, `body larger than
//!   1048576 bytes`.

mod error;
mod tls;

use std::time::Duration;

use serde_json::{Map, Value};

pub use error::{NetError, chain};
pub use tls::{INSECURE_WARNING, Tls, TlsError};

/// The default body cap: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// The default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many bytes of a body an error message quotes.
const FIRST_BYTES: usize = 48;

/// Whether a host is a loopback address (the only targets allowed by default).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The header the harness puts on every request it sends: the recorders of its own counterparts
/// leave such requests out, since they are not the target's traffic.
pub const HARNESS_HEADER: &str = "x-uma-conformance-harness";

/// A client builder for the guarded path: the per-request timeout (connection, request and
/// body), a connect timeout of at most 10 s, no automatic redirects, the harness's User-Agent and
/// its marker header ([`HARNESS_HEADER`]).
///
/// With the system's roots only, the TLS configuration is the one the process built once
/// (`uma_reference_server::http_client`: a client per scenario re-reading every root
/// certificate was a third of a run's CPU); with TLS settings of its own ([`Tls::apply`]) it is
/// reqwest's, since those settings are ignored on a preconfigured backend.
pub fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    client_builder_from(uma_reference_server::http_client::builder(), timeout)
}

fn client_builder_from(base: reqwest::ClientBuilder, timeout: Duration) -> reqwest::ClientBuilder {
    let mut marker = reqwest::header::HeaderMap::new();
    marker.insert(HARNESS_HEADER, reqwest::header::HeaderValue::from_static("1"));
    base.user_agent(concat!("uma-conformance/", env!("CARGO_PKG_VERSION")))
        .default_headers(marker)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(DEFAULT_TIMEOUT))
}

/// An origin (scheme, host, port), written `https://as.example:8443`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(url::Origin);

/// Why a string is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an origin ({why}); write scheme://host[:port], e.g. https://as.example:8443")]
pub struct OriginError {
    text: String,
    why: String,
}

impl Origin {
    /// Parses `scheme://host[:port]` (a trailing `/` is allowed; a path, query or fragment is
    /// not).
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let bad = |why: &str| OriginError {
            text: text.to_string(),
            why: why.to_string(),
        };
        let u = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(bad("the scheme is not http or https"));
        }
        if u.path() != "/" || u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
            return Err(bad("it has a path, a query, a fragment or a user"));
        }
        Self::of(&u).ok_or_else(|| bad("it has no host"))
    }

    /// The origin of a URL (`None` for a URL without a host).
    pub fn of(u: &url::Url) -> Option<Self> {
        let o = u.origin();
        o.is_tuple().then_some(Self(o))
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.ascii_serialization())
    }
}

/// Where requests may go.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Allowed {
    /// Any loopback host, any port (the default).
    #[default]
    Loopback,
    /// Exactly these origins.
    Origins(Vec<Origin>),
    /// The target's own origins (the origins of the URLs its profile names) and loopback hosts
    /// (`allow_remote: true`).
    Remote(Vec<Origin>),
}

/// The rules of the guarded path (see the module doc).
#[derive(Clone, Debug)]
pub struct Policy {
    allowed: Allowed,
    own: Vec<Origin>,
    max_body_bytes: usize,
    timeout: Duration,
    connect_timeout: Duration,
    tls: Tls,
}

impl Default for Policy {
    fn default() -> Self {
        Self::new(Allowed::Loopback, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT)
    }
}

impl Policy {
    /// A policy; the connect timeout is the per-request timeout, at most 10 s.
    pub fn new(allowed: Allowed, max_body_bytes: usize, timeout: Duration) -> Self {
        Self {
            allowed,
            own: Vec::new(),
            max_body_bytes,
            timeout,
            connect_timeout: timeout.min(DEFAULT_TIMEOUT),
            tls: Tls::default(),
        }
    }

    /// With these TLS settings (replacing the system's roots only if they name CAs to trust).
    pub fn with_tls(mut self, tls: Tls) -> Self {
        self.tls = tls;
        self
    }

    /// Also trusts a CA the harness itself runs (its counterparts' test CA, PEM).
    pub fn trusting_own(mut self, ca_pem: &str) -> Result<Self, TlsError> {
        self.tls = self.tls.also_trusting(ca_pem)?;
        Ok(self)
    }

    /// The TLS settings.
    pub fn tls(&self) -> &Tls {
        &self.tls
    }

    /// Also allows an origin the harness itself serves (its counterpart AS and RS).
    pub fn with_own(mut self, origin: Origin) -> Self {
        self.own.push(origin);
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The body cap.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Where requests may go.
    pub fn allowed(&self) -> &Allowed {
        &self.allowed
    }

    /// Checks a URL against the origin rule; `Ok` with the parsed URL when it may be sent to.
    pub fn check(&self, url: &str) -> Result<url::Url, NetError> {
        let u = url::Url::parse(url).map_err(|source| NetError::Url {
            url: url.to_string(),
            source,
        })?;
        let refused = |rule: String| NetError::Refused {
            url: crate::diagnostic::printable(url),
            rule,
        };
        if !matches!(u.scheme(), "http" | "https") {
            return Err(refused(format!("the scheme {} is not http or https", u.scheme())));
        }
        let Some(origin) = Origin::of(&u) else {
            return Err(refused("it has no host".into()));
        };
        if self.own.contains(&origin) {
            return Ok(u);
        }
        match &self.allowed {
            Allowed::Remote(list) if list.contains(&origin) => Ok(u),
            Allowed::Remote(_) if u.host_str().is_some_and(is_loopback_host) => Ok(u),
            Allowed::Remote(list) => Err(refused(format!(
                "its origin {origin} is not the target's ({}): `allow_remote: true` allows only the origins of the \
                 profile's own URLs; to allow more, list every origin in `allowed_origins` instead",
                list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ))),
            Allowed::Loopback if u.host_str().is_some_and(is_loopback_host) => Ok(u),
            Allowed::Loopback => Err(refused(
                "only loopback origins are allowed; list the origin in the target profile's `allowed_origins` \
                 (or set `allow_remote: true`)"
                    .into(),
            )),
            Allowed::Origins(list) if list.contains(&origin) => Ok(u),
            Allowed::Origins(list) => Err(refused(format!(
                "its origin {origin} is not in the target profile's `allowed_origins` ({})",
                list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// A client builder with the policy's timeouts, its TLS settings and no automatic redirects.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        if self.tls.is_system_default() {
            client_builder(self.timeout)
        } else if let Some(pem) = self.tls.extra_roots_only() {
            // The run's own test CA: its configuration is built once, not per scenario (reading
            // the platform's roots again for each was a twentieth of an AS run over TLS).
            client_builder_from(uma_reference_server::http_client::trusting(Some(pem)), self.timeout)
        } else {
            self.tls
                .apply(client_builder_from(reqwest::Client::builder(), self.timeout))
        }
    }

    /// A plain client of this policy (no cookies).
    pub fn client(&self) -> Result<reqwest::Client, NetError> {
        self.client_builder().build().map_err(NetError::Client)
    }

    /// Checks the request's URL, sends it, and reads at most `max_body_bytes` of the answer.
    pub async fn send(&self, http: &reqwest::Client, req: reqwest::RequestBuilder) -> Result<Answer, NetError> {
        let req = req.build().map_err(|e| self.classify(e))?;
        self.check(req.url().as_str())?;
        let mut resp = http.execute(req).await.map_err(|e| self.classify(e))?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).to_string(),
                )
            })
            .collect();
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
            cut: false,
            broke_off: None,
            max_body_bytes: self.max_body_bytes,
        };
        if resp.content_length().is_some_and(|n| n > self.max_body_bytes as u64) {
            // Announced too large: not a byte of it is read.
            answer.cut = true;
            return Ok(answer);
        }
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    let room = self.max_body_bytes - answer.body.len();
                    if c.len() > room {
                        answer.body.extend_from_slice(&c[..room]);
                        answer.cut = true;
                        // Dropping the response closes the connection: the rest is never read.
                        break;
                    }
                    answer.body.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => {
                    answer.broke_off = Some(self.classify(e));
                    break;
                }
            }
        }
        Ok(answer)
    }

    fn classify(&self, e: reqwest::Error) -> NetError {
        NetError::from_client(e, self.timeout, self.connect_timeout)
    }
}

/// An answer read through the guarded path.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, in order (values lossily decoded).
    pub headers: Vec<(String, String)>,
    /// The body, or its first `max_body_bytes` when [`Answer::cut`] is set.
    pub body: Vec<u8>,
    /// The body was larger than the cap; the rest was not read.
    pub cut: bool,
    /// The body broke off (timeout, reset) after the status line.
    pub broke_off: Option<NetError>,
    max_body_bytes: usize,
}

impl Answer {
    /// A header's value (the first, case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Content-Type`, or `none`.
    pub fn content_type(&self) -> String {
        self.header("content-type")
            .map_or_else(|| "none".to_string(), crate::diagnostic::printable)
    }

    /// Why the body is incomplete, if it is: `body larger than N bytes`, or how it broke off.
    pub fn incomplete(&self) -> Option<String> {
        if self.cut {
            return Some(
                NetError::BodyTooLarge {
                    limit: self.max_body_bytes,
                }
                .to_string(),
            );
        }
        self.broke_off.as_ref().map(|e| chain(e))
    }

    /// The whole body, or why it is not whole.
    pub fn into_whole(self) -> Result<Vec<u8>, NetError> {
        if self.cut {
            return Err(NetError::BodyTooLarge {
                limit: self.max_body_bytes,
            });
        }
        match self.broke_off {
            Some(e) => Err(e),
            None => Ok(self.body),
        }
    }

    /// The body's first bytes, quoted and escaped for messages.
    pub fn first_bytes(&self) -> String {
        first_bytes(&self.body)
    }

    /// The whole body as a JSON object, or why it is not one (cut, broken off, not JSON, not
    /// an object), each error quoting the first bytes and the content type.
    pub fn json_object(self) -> Result<Map<String, Value>, NetError> {
        let content_type = self.content_type();
        let body = self.into_whole()?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err(NetError::NotObject {
                found: json_kind(&other),
                first: first_bytes(&body),
                content_type,
            }),
            Err(source) => Err(NetError::NotJson {
                first: first_bytes(&body),
                content_type,
                source,
            }),
        }
    }
}

/// What kind of JSON value `v` is, for messages ("a number", "an object"...).
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `"<html><head>…"`: the first bytes of a body, quoted, escaped, with `…` when there is more.
pub fn first_bytes(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty)".to_string();
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(FIRST_BYTES)]);
    let shown: String = text.chars().flat_map(char::escape_debug).collect();
    let more = if body.len() > FIRST_BYTES { "…" } else { "" };
    format!("\"{shown}{more}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Allowed {
        Allowed::Origins(list.iter().map(|o| Origin::parse(o).unwrap()).collect())
    }

    #[test]
    fn loopback_hosts_pass_the_default_policy_and_others_are_refused() {
        let p = Policy::default();
        assert!(p.check("http://127.0.0.1:8080/x").is_ok());
        assert!(p.check("http://[::1]:8080/x").is_ok());
        assert!(p.check("http://localhost/x").is_ok());
        let e = p.check("https://as.example/token").unwrap_err().to_string();
        assert!(
            e.starts_with("refusing to send a request to https://as.example/token: only loopback"),
            "{e}"
        );
        assert!(e.contains("allowed_origins"), "{e}");
    }

    #[test]
    fn an_origin_list_allows_exactly_its_origins() {
        let p = Policy::new(origins(&["http://127.0.0.1:8080"]), 10, DEFAULT_TIMEOUT);
        assert!(p.check("http://127.0.0.1:8080/token").is_ok());
        let e = p.check("http://127.0.0.1:8081/token").unwrap_err().to_string();
        assert!(e.contains("its origin http://127.0.0.1:8081 is not in"), "{e}");
        assert!(
            p.check("https://127.0.0.1:8080/token").is_err(),
            "another scheme is another origin"
        );
    }

    #[test]
    fn the_harness_own_origins_are_allowed_next_to_the_list() {
        let own = Origin::parse("http://127.0.0.1:9400").unwrap();
        let p = Policy::new(origins(&["https://rs.example"]), 10, DEFAULT_TIMEOUT).with_own(own);
        assert!(p.check("http://127.0.0.1:9400/.well-known/uma2-configuration").is_ok());
        assert!(p.check("https://rs.example/photos").is_ok());
    }

    #[test]
    fn allow_remote_allows_the_target_origins_and_loopback_and_nothing_else() {
        let target = vec![Origin::parse("https://as.example").unwrap()];
        let p = Policy::new(Allowed::Remote(target), 10, DEFAULT_TIMEOUT);
        assert!(p.check("https://as.example/x").is_ok());
        assert!(p.check("http://127.0.0.1:9555/jwks").is_ok());
        let e = p.check("https://elsewhere.example/token").unwrap_err().to_string();
        assert!(e.contains("not the target's (https://as.example)"), "{e}");
        assert!(p.check("http://as.example/x").is_err());
        assert!(p.check("file:///etc/passwd").is_err());
    }

    #[test]
    fn an_origin_with_a_path_is_no_origin() {
        assert!(Origin::parse("https://as.example/realms/x").is_err());
        assert!(Origin::parse("as.example").is_err());
        assert_eq!(
            Origin::parse("https://as.example:443/").unwrap().to_string(),
            "https://as.example"
        );
    }

    #[test]
    fn first_bytes_are_quoted_escaped_and_marked_when_cut() {
        assert_eq!(first_bytes(b"<html>\n"), "\"<html>\\n\"");
        assert_eq!(first_bytes(&[b'a'; 60]), format!("\"{}…\"", "a".repeat(48)));
        assert_eq!(first_bytes(b""), "(empty)");
    }
}
