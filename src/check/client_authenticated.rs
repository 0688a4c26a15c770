//! `client-authenticated` (R6749-12): on a `traffic` answer, the client's first token request
//! carries client credentials (HTTP Basic, `client_secret` in the form, or a client assertion),
//! unless the client was issued no secret. Skipped without a token request.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientAuthenticated {}

const NONE: &str = "no client credentials";

impl Evaluate for ClientAuthenticated {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let public = input.facts.public_client.unwrap_or(false);
        let first = input
            .response
            .body("requests")
            .and_then(Value::as_array)
            .and_then(|a| a.first());
        let how = first.map(|r| {
            let scheme = r.get("authorization").and_then(Value::as_str).unwrap_or("");
            if scheme.eq_ignore_ascii_case("basic") {
                "HTTP Basic"
            } else if r.pointer("/form/client_secret").is_some() {
                "client_secret in the form"
            } else if r.pointer("/form/client_assertion").is_some() {
                "a client assertion"
            } else {
                NONE
            }
        });
        Ok(Evaluation::one(
            "the client authenticates at the token endpoint",
            match (public, how) {
                (true, _) | (_, None) => None,
                (false, Some(h)) => Some(h != NONE),
            },
            "client credentials (Basic, client_secret_post or an assertion)",
            how.unwrap_or("no token request"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    fn traffic(requests: serde_json::Value) -> Response {
        Response::of_json(json!({"count": 1, "requests": requests}))
    }

    #[test]
    fn basic_or_post_credentials_pass_and_none_fail() {
        let basic = traffic(json!([{"authorization": "Basic", "form": {}}]));
        assert_eq!(oks(&eval("client-authenticated", &basic, &facts(), &[])), [Some(true)]);
        let post = traffic(json!([{"authorization": null, "form": {"client_secret": "s"}}]));
        assert_eq!(oks(&eval("client-authenticated", &post, &facts(), &[])), [Some(true)]);
        let none = traffic(json!([{"authorization": "Bearer", "form": {"client_id": "c"}}]));
        assert_eq!(oks(&eval("client-authenticated", &none, &facts(), &[])), [Some(false)]);
    }

    #[test]
    fn a_public_client_or_no_request_is_skipped() {
        let none = traffic(json!([{"authorization": null, "form": {"client_id": "c"}}]));
        let mut f = facts();
        f.public_client = Some(true);
        assert_eq!(oks(&eval("client-authenticated", &none, &f, &[])), [None]);
        assert_eq!(
            oks(&eval("client-authenticated", &traffic(json!([])), &facts(), &[])),
            [None]
        );
    }
}
