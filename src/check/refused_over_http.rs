//! `refused-over-http` (G-ALL-03): the token endpoint does not serve a request sent to it in
//! plain HTTP (RFC 6749 §3.2: "the authorization server MUST require the use of TLS").
//!
//! It judges the answer of a `plaintext` step, which sent a token request with made-up client
//! credentials over plain HTTP to the host and port of the https token endpoint. Refusing takes
//! many forms and all pass: no connection, a failed or reset exchange (the TLS server read
//! plain text), a redirect, an answer that is not an OAuth token response (a web server's "plain
//! HTTP request sent to HTTPS port" page), or `invalid_request`. It fails only when the AS
//! evidently processed the token request: an access token, or an OAuth error that only
//! evaluating the request can give (`invalid_client` for the made-up client, and the like).
//! Skipped when the endpoint is not an https URL (the premise) or the profile allows http.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefusedOverHttp {}

/// OAuth errors only an AS that evaluated the token request answers (RFC 6749 §5.2).
const PROCESSED: &[&str] = &[
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

impl Evaluate for RefusedOverHttp {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let title = "the token endpoint does not serve a request sent in plain HTTP";
        let expected = "no connection, a failed exchange, a redirect, or an answer that is no token response";
        let probe = input.response.extra.get("plaintext").cloned().unwrap_or(Value::Null);
        if let Some(why) = probe.get("skipped").and_then(Value::as_str) {
            return Ok(Evaluation::one(title, None, expected, format!("not probed: {why}")));
        }
        if input.facts.allow_http {
            return Ok(Evaluation::one(
                title,
                None,
                expected,
                "skipped: the profile allows http for a loopback test deployment",
            ));
        }
        if let Some(err) = probe.get("transport_error").and_then(Value::as_str) {
            return Ok(Evaluation::one(
                title,
                Some(true),
                expected,
                format!("no HTTP answer: {err}"),
            ));
        }
        let status = input.response.status;
        let json = input.response.json.as_ref();
        let token = json.and_then(|j| j.get("access_token")).is_some();
        let error = json.and_then(|j| j.get("error")).and_then(Value::as_str);
        let processed = token || error.is_some_and(|e| PROCESSED.contains(&e));
        let actual = match (token, error) {
            (true, _) => format!("HTTP {status} with an access_token"),
            (false, Some(e)) => format!("HTTP {status}, error {}", crate::diagnostic::printable(e)),
            (false, None) => format!("HTTP {status}, not an OAuth token response"),
        };
        Ok(Evaluation::one(title, Some(!processed), expected, actual))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    fn probed(status: u16, body: serde_json::Value) -> Response {
        let mut r = Response::of_json(body);
        r.status = status;
        r.extra
            .insert("plaintext".into(), json!({"url": "http://as.test:443/token"}));
        r
    }

    #[test]
    fn an_answer_that_evaluated_the_request_fails() {
        let r = probed(401, json!({"error": "invalid_client"}));
        assert_eq!(oks(&eval("refused-over-http", &r, &facts(), &[])), [Some(false)]);
        let r = probed(200, json!({"access_token": "x", "token_type": "Bearer"}));
        assert_eq!(oks(&eval("refused-over-http", &r, &facts(), &[])), [Some(false)]);
    }

    #[test]
    fn every_way_of_refusing_passes() {
        let mut r = Response::default();
        r.extra
            .insert("plaintext".into(), json!({"transport_error": "connection closed"}));
        assert_eq!(oks(&eval("refused-over-http", &r, &facts(), &[])), [Some(true)]);
        let r = probed(
            400,
            json!({"error": "invalid_request", "error_description": "TLS required"}),
        );
        assert_eq!(oks(&eval("refused-over-http", &r, &facts(), &[])), [Some(true)]);
        let mut page = probed(400, json!(null));
        page.json = None;
        assert_eq!(oks(&eval("refused-over-http", &page, &facts(), &[])), [Some(true)]);
    }

    #[test]
    fn no_probe_or_a_loopback_http_profile_skips() {
        let mut r = Response::default();
        r.extra
            .insert("plaintext".into(), json!({"skipped": "the endpoint is http"}));
        assert_eq!(oks(&eval("refused-over-http", &r, &facts(), &[])), [None]);
        let mut f = facts();
        f.allow_http = true;
        let r = probed(401, json!({"error": "invalid_client"}));
        assert_eq!(oks(&eval("refused-over-http", &r, &f, &[])), [None]);
    }
}
