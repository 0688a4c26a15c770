//! `verifier-format` (R7636-01): a `code_verifier` is 43 to 128 unreserved characters. Skipped
//! when no verifier was sent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifierFormat {
    /// The verifier.
    #[serde(default)]
    pub value: Option<Tpl>,
}

impl Evaluate for VerifierFormat {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let v = input.text_or_empty(&self.value)?;
        let ok = crate::uma::pkce::is_valid_verifier(&v);
        Ok(Evaluation::one(
            "code_verifier is 43 to 128 unreserved characters",
            if v.is_empty() { None } else { Some(ok) },
            "43–128 characters of [A-Za-z0-9-._~]",
            format!("{} characters", v.chars().count()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn short_or_reserved_characters_fail() {
        let check = "verifier-format: { value: $v }";
        let r = Response::default();
        assert_eq!(
            oks(&eval(check, &r, &facts(), &[("v", json!("a".repeat(43)))])),
            [Some(true)]
        );
        assert_eq!(
            oks(&eval(check, &r, &facts(), &[("v", json!("a".repeat(42)))])),
            [Some(false)]
        );
        assert_eq!(
            oks(&eval(
                check,
                &r,
                &facts(),
                &[("v", json!(format!("{}+", "a".repeat(43))))]
            )),
            [Some(false)]
        );
        assert_eq!(oks(&eval(check, &r, &facts(), &[("v", json!(""))])), [None]);
    }
}
