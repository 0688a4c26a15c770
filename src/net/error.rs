//! Why a guarded request or its body failed: one variant per cause, each saying what happened
//! (`no answer within 10 s`, `connection refused`, `not JSON: first bytes …`), with the
//! underlying error kept as its source.

use std::error::Error as _;
use std::time::Duration;

/// Why a request through the guarded path got no usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The URL does not parse.
    #[error("`{url}` is not a URL")]
    Url {
        /// The URL as given.
        url: String,
        /// The parser's reason.
        #[source]
        source: url::ParseError,
    },
    /// The method is not an HTTP method.
    #[error("`{0}` is not an HTTP method")]
    Method(String),
    /// The URL's origin is not allowed: nothing was sent.
    #[error("refusing to send a request to {url}: {rule}")]
    Refused {
        /// The URL.
        url: String,
        /// The rule it breaks, with the way to allow it.
        rule: String,
    },
    /// Nothing answered in time.
    #[error("no answer within {}", secs(*.limit))]
    Timeout {
        /// The per-request timeout.
        limit: Duration,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// No connection could be made in time.
    #[error("no connection within {}", secs(*.limit))]
    ConnectTimeout {
        /// The connect timeout.
        limit: Duration,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The host refused the connection: nothing listens there.
    #[error("connection refused")]
    ConnectionRefused(#[source] reqwest::Error),
    /// Another connection failure (name resolution, TLS, reset).
    #[error("cannot connect: {cause}")]
    Connect {
        /// The innermost cause, for the message.
        cause: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The request failed after the connection was made.
    #[error("the exchange failed: {cause}")]
    Exchange {
        /// The innermost cause, for the message.
        cause: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The answer's body is larger than the cap; the excess was not read.
    #[error("body larger than {limit} bytes")]
    BodyTooLarge {
        /// The cap.
        limit: usize,
    },
    /// The body broke off.
    #[error("the body broke off: {cause}")]
    Body {
        /// The innermost cause, for the message.
        cause: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The body is not JSON.
    #[error("not JSON: first bytes {first}, content-type {content_type}")]
    NotJson {
        /// The first bytes, quoted and escaped.
        first: String,
        /// The `Content-Type` (or `none`).
        content_type: String,
        /// The parser's reason.
        #[source]
        source: serde_json::Error,
    },
    /// The body is JSON but not an object.
    #[error("not a JSON object but {found}: first bytes {first}, content-type {content_type}")]
    NotObject {
        /// What it is (`an array`, `a string`, …).
        found: &'static str,
        /// The first bytes, quoted and escaped.
        first: String,
        /// The `Content-Type` (or `none`).
        content_type: String,
    },
    /// The HTTP client could not be built (a harness bug or a broken TLS set-up).
    #[error("failed to build the HTTP client")]
    Client(#[source] reqwest::Error),
}

impl NetError {
    /// Whether nothing answered at all (no connection, or no answer in time): only then does a
    /// caller say "cannot reach".
    pub fn nothing_answered(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::ConnectTimeout { .. } | Self::ConnectionRefused(_) | Self::Connect { .. }
        )
    }

    /// Classifies an error of the client.
    pub(super) fn from_client(e: reqwest::Error, timeout: Duration, connect_timeout: Duration) -> Self {
        if e.is_connect() {
            if e.is_timeout() {
                return Self::ConnectTimeout {
                    limit: connect_timeout,
                    source: e,
                };
            }
            if refused(&e) {
                return Self::ConnectionRefused(e);
            }
            return Self::Connect {
                cause: root_cause(&e),
                source: e,
            };
        }
        if e.is_timeout() {
            return Self::Timeout {
                limit: timeout,
                source: e,
            };
        }
        if e.is_body() || e.is_decode() {
            return Self::Body {
                cause: root_cause(&e),
                source: e,
            };
        }
        Self::Exchange {
            cause: root_cause(&e),
            source: e,
        }
    }
}

/// `10 s`, `1.5 s`.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn refused(e: &reqwest::Error) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// The innermost error's message: what the operating system or the TLS stack said.
fn root_cause(e: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(s) = last.source() {
        last = s;
    }
    crate::diagnostic::printable(&last.to_string())
}

/// An error and every source below it, joined with `: ` (each message once).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let m = s.to_string();
        if !parts.iter().any(|p| p.contains(&m)) {
            parts.push(m);
        }
        source = s.source();
    }
    crate::diagnostic::printable(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_number_of_seconds_is_shown_without_a_fraction() {
        assert_eq!(secs(Duration::from_secs(10)), "10 s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn a_body_over_the_cap_names_the_cap() {
        assert_eq!(
            NetError::BodyTooLarge { limit: 1_048_576 }.to_string(),
            "body larger than 1048576 bytes"
        );
    }
}
