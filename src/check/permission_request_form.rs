//! `permission-request-form` (F-RS-12): every permission request the RS sent is a JSON object or
//! a non-empty array of objects, each with a `resource_id` string and a `resource_scopes` array
//! of strings (FedAuthz §4.1; both forms are allowed, the one used is recorded as the choice
//! `permission-form`). Skipped when the RS sent none while the harness watched.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation, flat_requests};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionRequestForm {
    /// Recorded requests at the permission endpoint (lists of lists are flattened).
    pub requests: Tpl,
}

fn permission_problem(p: &Value) -> Option<&'static str> {
    let Some(o) = p.as_object() else {
        return Some("a permission is not an object");
    };
    if !o.get("resource_id").is_some_and(Value::is_string) {
        return Some("a permission has no resource_id string");
    }
    match o.get("resource_scopes") {
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => None,
        Some(Value::Array(_)) => Some("resource_scopes holds a non-string"),
        Some(_) => Some("resource_scopes is not an array"),
        None => Some("a permission has no resource_scopes"),
    }
}

/// The form of a request body and what is wrong with it.
fn judge(body: &Value) -> (&'static str, Option<&'static str>) {
    match body {
        Value::Object(_) => ("object", permission_problem(body)),
        Value::Array(a) if a.is_empty() => ("array", Some("an empty array")),
        Value::Array(a) => ("array", a.iter().find_map(permission_problem)),
        Value::Null => ("none", Some("the body is not JSON")),
        _ => ("other", Some("the body is neither an object nor an array")),
    }
}

impl Evaluate for PermissionRequestForm {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = flat_requests(input, &self.requests, "permission-request-form")?;
        let mut forms = BTreeSet::new();
        let mut problems = Vec::new();
        for r in &reqs {
            let (form, problem) = judge(r.get("json").unwrap_or(&Value::Null));
            forms.insert(form);
            if let Some(p) = problem {
                problems.push(p);
            }
        }
        let mut e = Evaluation::one(
            "the RS's permission requests are well-formed",
            if reqs.is_empty() {
                None
            } else {
                Some(problems.is_empty())
            },
            "an object, or a non-empty array of objects, with resource_id and resource_scopes (an array of strings)",
            if reqs.is_empty() {
                "the RS sent no permission request while the harness watched".to_string()
            } else if problems.is_empty() {
                // No count: run-wide traffic grows with concurrent scenarios, and the report must be reproducible.
                "every request well-formed".to_string()
            } else {
                problems
                    .into_iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        );
        if !reqs.is_empty() {
            e.choices.push((
                "permission-form".into(),
                forms.into_iter().collect::<Vec<_>>().join("+"),
            ));
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
    fn objects_and_arrays_pass_and_malformed_permissions_fail() {
        let run = |v| {
            oks(&eval(
                "permission-request-form: { requests: $r }",
                &Response::default(),
                &facts(),
                &[("r", v)],
            ))
        };
        let p = json!({"resource_id": "r1", "resource_scopes": ["view"]});
        assert_eq!(
            run(json!([{"json": p.clone()}, {"json": [p.clone(), p.clone()]}])),
            [Some(true)]
        );
        assert_eq!(run(json!([{"json": []}])), [Some(false)]);
        assert_eq!(
            run(json!([{"json": {"resource_id": "r1", "resource_scopes": "view"}}])),
            [Some(false)]
        );
        assert_eq!(run(json!([{"json": [{"resource_scopes": []}]}])), [Some(false)]);
        assert_eq!(run(json!([])), [None]);
    }
}
