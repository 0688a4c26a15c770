//! `resource-description-form` (F-RS-03): every resource description the RS sent to the
//! resource registration endpoint (create or update) is a JSON object whose `resource_scopes` is
//! an array of strings (FedAuthz §3.1, REQUIRED), and whose optional `name`, `type`,
//! `description` and `icon_uri` are strings when present. Skipped when the RS registered nothing
//! while the harness watched (it may have registered before the run).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation, flat_requests};
use crate::net::json_kind;
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceDescriptionForm {
    /// Recorded requests at the resource registration endpoint (from a `traffic` step).
    pub requests: Tpl,
}

/// Why one description is malformed, or `None`.
fn problem(body: &Value) -> Option<String> {
    let Some(o) = body.as_object() else {
        return Some("the body is not a JSON object".into());
    };
    match o.get("resource_scopes") {
        None => return Some("no resource_scopes".into()),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
        Some(Value::Array(_)) => return Some("resource_scopes holds a non-string".into()),
        Some(other) => return Some(format!("resource_scopes is {} (not an array)", json_kind(other))),
    }
    ["name", "type", "description", "icon_uri"]
        .iter()
        .find(|k| o.get(**k).is_some_and(|v| !v.is_string()))
        .map(|k| format!("{k} is not a string"))
}

impl Evaluate for ResourceDescriptionForm {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = flat_requests(input, &self.requests, "resource-description-form")?;
        let sent: Vec<&Value> = reqs
            .iter()
            .filter(|r| matches!(r.get("method").and_then(Value::as_str), Some("POST" | "PUT")))
            .collect();
        let problems: Vec<String> = sent
            .iter()
            .filter_map(|r| {
                let what = format!(
                    "{} {}",
                    r.get("method").and_then(Value::as_str).unwrap_or("?"),
                    r.get("path").and_then(Value::as_str).unwrap_or("?")
                );
                problem(r.get("json").unwrap_or(&Value::Null)).map(|p| format!("{what}: {p}"))
            })
            .collect();
        Ok(Evaluation::one(
            "the resource descriptions the RS registers are well-formed",
            if sent.is_empty() {
                None
            } else {
                Some(problems.is_empty())
            },
            "resource_scopes an array of strings; name, type, description, icon_uri strings",
            if sent.is_empty() {
                "the RS registered no resource while the harness watched".to_string()
            } else if problems.is_empty() {
                // No count: run-wide traffic grows with concurrent scenarios, and the report must be reproducible.
                "every description well-formed".to_string()
            } else {
                problems.into_iter().take(5).collect::<Vec<_>>().join("; ")
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    fn run(reqs: serde_json::Value) -> Vec<Option<bool>> {
        oks(&eval(
            "resource-description-form: { requests: $r }",
            &Response::default(),
            &facts(),
            &[("r", reqs)],
        ))
    }

    #[test]
    fn scopes_must_be_an_array_of_strings_and_optional_members_strings() {
        let ok = json!({"method": "POST", "path": "/rreg", "json": {"resource_scopes": ["view"], "name": "x"}});
        let string = json!({"method": "POST", "path": "/rreg", "json": {"resource_scopes": "view"}});
        let typed = json!({"method": "PUT", "path": "/rreg/1", "json": {"resource_scopes": [], "type": 3}});
        let read = json!({"method": "GET", "path": "/rreg/1", "json": null});
        assert_eq!(run(json!([ok.clone(), read.clone()])), [Some(true)]);
        assert_eq!(run(json!([ok.clone(), string])), [Some(false)]);
        assert_eq!(
            run(json!([[ok], [typed]])),
            [Some(false)],
            "lists of lists are flattened"
        );
        assert_eq!(run(json!([read])), [None], "nothing registered: nothing to judge");
    }
}
