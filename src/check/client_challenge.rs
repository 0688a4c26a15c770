//! `client-challenge` (R6749-08): `invalid_client` after HTTP Basic client authentication is a
//! 401 with a `WWW-Authenticate` challenge.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChallenge {}

impl Evaluate for ClientChallenge {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let r = input.response;
        let title = "invalid_client after Basic is 401 with a challenge";
        Ok(if r.status != 401 {
            Evaluation::one(
                title,
                Some(false),
                "HTTP 401 + WWW-Authenticate",
                format!("HTTP {}", r.status),
            )
        } else {
            let ch = r.header("www-authenticate");
            Evaluation::one(
                title,
                Some(ch.is_some()),
                "WWW-Authenticate: Basic …",
                ch.unwrap_or("(absent)"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};

    #[test]
    fn a_401_needs_its_challenge() {
        let good = Response {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), "Basic realm=\"as\"".into())],
            ..Response::default()
        };
        assert_eq!(oks(&eval("client-challenge", &good, &facts(), &[])), [Some(true)]);
        let bare = Response {
            status: 401,
            ..Response::default()
        };
        assert_eq!(oks(&eval("client-challenge", &bare, &facts(), &[])), [Some(false)]);
        let bad_status = Response {
            status: 400,
            ..Response::default()
        };
        assert_eq!(
            oks(&eval("client-challenge", &bad_status, &facts(), &[])),
            [Some(false)]
        );
    }
}
