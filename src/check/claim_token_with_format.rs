//! `claim-token-with-format` (G-C-12): every token request that pushes a `claim_token` names
//! its `claim_token_format`. Skipped when the client pushed no claim token.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation, recorded};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimTokenWithFormat {
    /// Recorded token requests (from a `traffic` step).
    pub requests: Tpl,
}

impl Evaluate for ClaimTokenWithFormat {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = recorded(input, &self.requests, "claim-token-with-format")?;
        let pushing: Vec<_> = reqs
            .iter()
            .filter(|r| r.pointer("/form/claim_token").is_some())
            .collect();
        let without = pushing
            .iter()
            .filter(|r| r.pointer("/form/claim_token_format").is_none())
            .count();
        Ok(Evaluation::one(
            "a pushed claim_token comes with claim_token_format",
            if pushing.is_empty() { None } else { Some(without == 0) },
            "claim_token_format with every claim_token",
            if pushing.is_empty() {
                "no claim token pushed".to_string()
            } else {
                format!(
                    "{} request(s) push a claim token, {without} without its format",
                    pushing.len()
                )
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn a_claim_token_without_its_format_fails_and_no_push_is_skipped() {
        let check = "claim-token-with-format: { requests: $r }";
        let r = Response::default();
        let good = json!([{"form": {"claim_token": "x", "claim_token_format": "f"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", good)])), [Some(true)]);
        let bad = json!([{"form": {"ticket": "t"}}, {"form": {"claim_token": "x"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", bad)])), [Some(false)]);
        let none = json!([{"form": {"ticket": "t"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", none)])), [None]);
    }
}
