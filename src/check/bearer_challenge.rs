//! `bearer-challenge` (R6750-01): a request without valid credentials at a protected endpoint
//! gets 401 with a `Bearer` challenge.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BearerChallenge {}

impl Evaluate for BearerChallenge {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let r = input.response;
        let ch = r.header_all("www-authenticate");
        let ok = r.status == 401
            && ch
                .iter()
                .any(|c| c.trim_start().to_ascii_lowercase().starts_with("bearer"));
        Ok(Evaluation::one(
            "401 with a Bearer challenge",
            Some(ok),
            "HTTP 401 and WWW-Authenticate: Bearer …",
            format!(
                "HTTP {} {}",
                r.status,
                if ch.is_empty() {
                    "without WWW-Authenticate".to_string()
                } else {
                    ch.join(" | ")
                }
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};

    #[test]
    fn only_401_with_a_bearer_challenge_passes() {
        let good = Response {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), "Bearer realm=\"uma\"".into())],
            ..Response::default()
        };
        assert_eq!(oks(&eval("bearer-challenge", &good, &facts(), &[])), [Some(true)]);
        let forbidden = Response {
            status: 403,
            ..good.clone()
        };
        assert_eq!(oks(&eval("bearer-challenge", &forbidden, &facts(), &[])), [Some(false)]);
        let bare = Response {
            status: 401,
            ..Response::default()
        };
        assert_eq!(oks(&eval("bearer-challenge", &bare, &facts(), &[])), [Some(false)]);
    }
}
