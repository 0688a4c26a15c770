//! `format-with-claim-token` (G-C-13): `claim_token_format` is sent only together with a
//! `claim_token` (pushing both up front, before any need_info, is fine). Skipped when no
//! request names a format.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation, recorded};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatWithClaimToken {
    /// Recorded token requests (from a `traffic` step).
    pub requests: Tpl,
}

impl Evaluate for FormatWithClaimToken {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = recorded(input, &self.requests, "format-with-claim-token")?;
        let naming: Vec<_> = reqs
            .iter()
            .filter(|r| r.pointer("/form/claim_token_format").is_some())
            .collect();
        let alone = naming
            .iter()
            .filter(|r| r.pointer("/form/claim_token").is_none())
            .count();
        Ok(Evaluation::one(
            "claim_token_format only together with claim_token",
            if naming.is_empty() { None } else { Some(alone == 0) },
            "no claim_token_format without a claim_token",
            if naming.is_empty() {
                "no claim_token_format sent".to_string()
            } else {
                format!(
                    "{} request(s) name a format, {alone} without a claim token",
                    naming.len()
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
    fn a_format_alone_fails_and_both_up_front_pass() {
        let check = "format-with-claim-token: { requests: $r }";
        let r = Response::default();
        let up_front = json!([{"form": {"ticket": "t", "claim_token": "x", "claim_token_format": "f"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", up_front)])), [Some(true)]);
        let alone = json!([{"form": {"ticket": "t", "claim_token_format": "f"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", alone)])), [Some(false)]);
        let none = json!([{"form": {"ticket": "t"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", none)])), [None]);
    }
}
