//! `pkce-advertised` (PKCE-07, profile icg-pkce): discovery lists S256 in
//! `code_challenge_methods_supported`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PkceAdvertised {}

impl Evaluate for PkceAdvertised {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let methods = input
            .facts
            .metadata
            .get("code_challenge_methods_supported")
            .cloned()
            .unwrap_or(Value::Null);
        let ok = methods.as_array().is_some_and(|a| a.iter().any(|m| m == "S256"));
        Ok(Evaluation::one(
            "code_challenge_methods_supported lists S256",
            Some(ok),
            "[\"S256\", …]",
            methods.to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn s256_must_be_listed() {
        let mut f = facts();
        f.metadata = json!({"code_challenge_methods_supported": ["plain", "S256"]});
        assert_eq!(
            oks(&eval("pkce-advertised", &Response::default(), &f, &[])),
            [Some(true)]
        );
        f.metadata = json!({"code_challenge_methods_supported": ["plain"]});
        assert_eq!(
            oks(&eval("pkce-advertised", &Response::default(), &f, &[])),
            [Some(false)]
        );
    }
}
