//! `pat-bearer` (F-RS-04): every call the RS made to the protection API carries its PAT as an
//! OAuth bearer token (FedAuthz §1.3: AS and RS support bearer use of the PAT, RFC 6750): the
//! `Authorization: Bearer` header, or the `access_token` form or query parameter RFC 6750 §2.2
//! and §2.3 also define. Which one is recorded as the choice `pat-method`. Skipped when the RS
//! made no call while the harness watched.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation, flat_requests};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatBearer {
    /// Recorded requests at the protection API endpoints (lists of lists are flattened).
    pub requests: Tpl,
}

/// How a request carries a bearer token, if it does.
fn method(r: &Value) -> Option<&'static str> {
    let non_empty = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
    if non_empty(r.get("bearer")) {
        Some("header")
    } else if non_empty(r.pointer("/form/access_token")) {
        Some("form")
    } else if non_empty(r.pointer("/query/access_token")) {
        Some("query")
    } else {
        None
    }
}

impl Evaluate for PatBearer {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = flat_requests(input, &self.requests, "pat-bearer")?;
        let without: Vec<String> = reqs
            .iter()
            .filter(|r| method(r).is_none())
            .map(|r| {
                format!(
                    "{} {} ({})",
                    r.get("method").and_then(Value::as_str).unwrap_or("?"),
                    r.get("path").and_then(Value::as_str).unwrap_or("?"),
                    r.get("authorization")
                        .and_then(Value::as_str)
                        .map_or("no Authorization".to_string(), |s| format!("Authorization: {s} …"))
                )
            })
            .collect();
        let used: BTreeSet<&str> = reqs.iter().filter_map(method).collect();
        let mut e = Evaluation::one(
            "the RS presents its PAT as a bearer token on every protection API call",
            if reqs.is_empty() {
                None
            } else {
                Some(without.is_empty())
            },
            "a bearer token (Authorization: Bearer, or access_token) on each call",
            if reqs.is_empty() {
                "the RS made no protection API call while the harness watched".to_string()
            } else if without.is_empty() {
                // No count: run-wide traffic grows with concurrent scenarios, and the report must be reproducible.
                "a bearer token on every call".to_string()
            } else {
                format!(
                    "without a bearer token: {}",
                    without.into_iter().take(5).collect::<Vec<_>>().join("; ")
                )
            },
        );
        if !used.is_empty() {
            e.choices
                .push(("pat-method".into(), used.into_iter().collect::<Vec<_>>().join("+")));
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn every_call_needs_a_bearer_token_in_any_rfc6750_place() {
        let run = |v| {
            oks(&eval(
                "pat-bearer: { requests: $r }",
                &Response::default(),
                &facts(),
                &[("r", v)],
            ))
        };
        let header = json!({"method": "POST", "path": "/perm", "authorization": "Bearer", "bearer": "pat"});
        let query = json!({"method": "GET", "path": "/rreg", "query": {"access_token": "pat"}});
        let basic = json!({"method": "POST", "path": "/introspect", "authorization": "Basic", "bearer": null});
        assert_eq!(run(json!([header.clone(), query])), [Some(true)]);
        assert_eq!(run(json!([[header], [basic]])), [Some(false)]);
        assert_eq!(run(json!([])), [None]);
    }
}
