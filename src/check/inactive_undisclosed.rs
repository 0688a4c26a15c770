//! `inactive-undisclosed` (R7662-03): an inactive introspection answer says nothing about the
//! token. RFC 7662 §2.2: the AS "SHOULD NOT include any additional information about an inactive
//! token, including why the token is inactive". Members that describe a token (the registered
//! introspection members, UMA's `permissions`) are such information, and so is a member that says
//! why (`reason`, `error`, `error_description`); any other member is an extension the spec allows
//! (UMA Grant §1.1, G-ALL-02) and is recorded, not judged.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InactiveUndisclosed {}

/// Members that describe a token: RFC 7662 §2.2, the IANA "OAuth Token Introspection Response"
/// registry (RFC 8693 `act`/`may_act`, RFC 8705 `cnf`, RFC 9396 `authorization_details`, RFC 9470
/// `acr`/`auth_time`) and UMA FedAuthz §5.1.1 `permissions`.
const ABOUT_THE_TOKEN: &[&str] = &[
    "scope",
    "client_id",
    "username",
    "token_type",
    "exp",
    "iat",
    "nbf",
    "sub",
    "aud",
    "iss",
    "jti",
    "cnf",
    "act",
    "may_act",
    "authorization_details",
    "acr",
    "auth_time",
    "permissions",
    // Why the token is inactive.
    "reason",
    "inactive_reason",
    "error",
    "error_description",
];

impl Evaluate for InactiveUndisclosed {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let title = "an inactive answer discloses nothing about the token";
        let Some(Value::Object(body)) = input.response.json.as_ref() else {
            return Ok(Evaluation::one(title, None, "a JSON object", "no JSON object"));
        };
        if body.get("active") != Some(&Value::Bool(false)) {
            return Ok(Evaluation::one(
                title,
                None,
                "\"active\": false",
                "the token is not reported inactive",
            ));
        }
        let about: Vec<&str> = body
            .keys()
            .map(String::as_str)
            .filter(|k| ABOUT_THE_TOKEN.contains(k))
            .collect();
        let extensions: Vec<&str> = body
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "active" && !ABOUT_THE_TOKEN.contains(k))
            .collect();
        let actual = match (about.is_empty(), extensions.is_empty()) {
            (true, true) => "only \"active\"".to_string(),
            (true, false) => format!("extension members (allowed): {}", extensions.join(", ")),
            (false, _) => format!("members about the token: {}", about.join(", ")),
        };
        Ok(Evaluation::one(
            title,
            Some(about.is_empty()),
            "no member describing the token (extension members are allowed)",
            actual,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    fn answer(v: serde_json::Value) -> Response {
        Response::of_json(v)
    }

    #[test]
    fn extension_members_pass_and_token_members_fail() {
        let run = |v| oks(&eval("inactive-undisclosed", &answer(v), &facts(), &[]));
        assert_eq!(run(json!({"active": false})), [Some(true)]);
        assert_eq!(run(json!({"active": false, "x_server": "eu-1"})), [Some(true)]);
        assert_eq!(run(json!({"active": false, "exp": 1})), [Some(false)]);
        assert_eq!(run(json!({"active": false, "permissions": []})), [Some(false)]);
        assert_eq!(run(json!({"active": false, "reason": "expired"})), [Some(false)]);
        assert_eq!(
            run(json!({"active": true, "exp": 1})),
            [None],
            "not inactive: nothing to judge"
        );
    }
}
