//! `issuer-matches` (R8414-01): the `issuer` in the metadata is the one the discovery URL was
//! built from.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuerMatches {}

impl Evaluate for IssuerMatches {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let want = &input.facts.issuer;
        let got = input.response.body_str("issuer").unwrap_or("(absent)");
        Ok(Evaluation::one(
            "the issuer in the metadata is the one the URL was built from",
            Some(got == want),
            want.clone(),
            got,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn the_issuer_must_be_exactly_the_configured_one() {
        let same = Response::of_json(json!({"issuer": "http://as.test"}));
        assert_eq!(oks(&eval("issuer-matches", &same, &facts(), &[])), [Some(true)]);
        let slash = Response::of_json(json!({"issuer": "http://as.test/"}));
        assert_eq!(oks(&eval("issuer-matches", &slash, &facts(), &[])), [Some(false)]);
    }
}
