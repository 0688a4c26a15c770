//! `one-token-method` (G-C-42, RFC 6750 §2): each request carries its token by one method only
//! (Authorization header, form body or query). Skipped when no request carried a token.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OneTokenMethod {
    /// Recorded requests (from a `traffic` step).
    pub requests: Tpl,
}

fn methods(r: &Value) -> usize {
    usize::from(r.get("bearer").is_some_and(|b| !b.is_null()))
        + usize::from(r.pointer("/query/access_token").is_some())
        + usize::from(r.pointer("/form/access_token").is_some())
}

impl Evaluate for OneTokenMethod {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = input.value(&self.requests)?.as_array().cloned().unwrap_or_default();
        let with_token = reqs.iter().filter(|r| methods(r) > 0).count();
        let doubled = reqs.iter().filter(|r| methods(r) > 1).count();
        Ok(Evaluation::one(
            "each request carries its token by one method only",
            if with_token == 0 { None } else { Some(doubled == 0) },
            "one of: Authorization header, form body, query",
            format!("{with_token} request(s) with a token, {doubled} with more than one method"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn a_token_in_header_and_query_fails() {
        let check = "one-token-method: { requests: $r }";
        let r = Response::default();
        let once = json!([{"bearer": "t", "query": {}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", once)])), [Some(true)]);
        let twice = json!([{"bearer": "t", "query": {"access_token": "t"}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", twice)])), [Some(false)]);
        let none = json!([{"bearer": null, "query": {}}]);
        assert_eq!(oks(&eval(check, &r, &facts(), &[("r", none)])), [None]);
    }
}
