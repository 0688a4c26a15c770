//! `permission-request-registered` (F-RS-13): each permission the RS requests names a resource it
//! registered, and only scopes it registered for that resource (FedAuthz §4.1: MUST). What the RS
//! registered is read from its own recorded registration calls (a create's body and the `_id`
//! answered, updates and deletions). Skipped when no registration was recorded (the RS may have
//! registered before the harness watched), or when it sent no permission request.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation, flat_requests};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionRequestRegistered {
    /// Recorded requests at the permission endpoint.
    pub requests: Tpl,
    /// Recorded requests at the resource registration endpoint, from the start of the run
    /// (`traffic: { at: resource_registration_endpoint, since: 0 }`).
    pub registrations: Tpl,
}

fn scopes_of(v: &Value) -> BTreeSet<String> {
    v.get("resource_scopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// What the RS's recorded registration calls left registered: the body it last sent for a
/// resource, and the resource owner whose PAT created it (`pat_owner`, when recorded).
pub(super) struct Registered<'a> {
    /// The description last sent (create or update).
    pub body: &'a Value,
    /// The resource owner the creating call's PAT stood for, if the counterpart resolved it.
    pub owner: Option<&'a str>,
}

/// Resource id → what is registered, replayed from the registration calls in order (a create's
/// body and the `_id` answered, updates, deletions; calls that did not succeed change nothing).
pub(super) fn replay(calls: &[Value]) -> BTreeMap<String, Registered<'_>> {
    let mut out: BTreeMap<String, Registered<'_>> = BTreeMap::new();
    for c in calls {
        let status = c.get("status").and_then(Value::as_u64).unwrap_or(0);
        if !(200..300).contains(&status) {
            continue;
        }
        let path = c.get("path").and_then(Value::as_str).unwrap_or("");
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
        let body = c.get("json").unwrap_or(&Value::Null);
        let owner = c.get("pat_owner").and_then(Value::as_str);
        match c.get("method").and_then(Value::as_str) {
            Some("POST") => {
                if let Some(id) = c.pointer("/response/_id").and_then(Value::as_str) {
                    out.insert(id.to_string(), Registered { body, owner });
                }
            }
            Some("PUT") => {
                // An update does not change whose resource it is.
                let owner = out.get(&last).and_then(|r| r.owner).or(owner);
                out.insert(last, Registered { body, owner });
            }
            Some("DELETE") => {
                out.remove(&last);
            }
            _ => {}
        }
    }
    out
}

/// Resource id → registered scopes.
fn registered(calls: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    replay(calls)
        .into_iter()
        .map(|(id, r)| (id, scopes_of(r.body)))
        .collect()
}

impl Evaluate for PermissionRequestRegistered {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = flat_requests(input, &self.requests, "permission-request-registered")?;
        let calls = flat_requests(input, &self.registrations, "permission-request-registered")?;
        let known = registered(&calls);
        let title = "the RS requests permissions only on resources and scopes it registered";
        let expected = "each resource_id registered by the RS, each scope registered for it";
        if known.is_empty() || reqs.is_empty() {
            let why = if known.is_empty() {
                "no registration by the RS was recorded in this run"
            } else {
                "the RS sent no permission request while the harness watched"
            };
            return Ok(Evaluation::one(title, None, expected, why));
        }
        let mut problems = BTreeSet::new();
        for r in &reqs {
            for p in r.get("permissions").and_then(Value::as_array).into_iter().flatten() {
                let Some(id) = p.get("resource_id").and_then(Value::as_str) else {
                    continue;
                };
                match known.get(id) {
                    None => {
                        problems.insert(format!("resource {id} was not registered by the RS"));
                    }
                    Some(scopes) => {
                        for s in scopes_of(p).difference(scopes) {
                            problems.insert(format!("scope `{s}` is not registered for {id}"));
                        }
                    }
                }
            }
        }
        Ok(Evaluation::one(
            title,
            Some(problems.is_empty()),
            expected,
            if problems.is_empty() {
                // No count: run-wide traffic grows with concurrent scenarios, and the report must be reproducible.
                "every request within the registered resources and their scopes".to_string()
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

    #[test]
    fn registered_resources_and_scopes_pass_and_others_fail() {
        let regs = json!([
            {"method": "POST", "path": "/rreg", "status": 201, "json": {"resource_scopes": ["view", "print"]}, "response": {"_id": "r1"}},
            {"method": "POST", "path": "/rreg", "status": 201, "json": {"resource_scopes": ["view"]}, "response": {"_id": "r2"}},
            {"method": "PUT", "path": "/rreg/r2", "status": 200, "json": {"resource_scopes": ["view", "edit"]}},
            {"method": "POST", "path": "/rreg", "status": 400, "json": {"resource_scopes": "x"}, "response": {"error": "invalid_request"}}
        ]);
        let run = |perms: serde_json::Value, regs: serde_json::Value| {
            oks(&eval(
                "permission-request-registered: { requests: $p, registrations: $g }",
                &Response::default(),
                &facts(),
                &[("p", json!([{"permissions": perms}])), ("g", regs)],
            ))
        };
        let ok = json!([{"resource_id": "r1", "resource_scopes": ["print"]}, {"resource_id": "r2", "resource_scopes": ["edit"]}]);
        assert_eq!(run(ok.clone(), regs.clone()), [Some(true)]);
        assert_eq!(
            run(
                json!([{"resource_id": "r2", "resource_scopes": ["print"]}]),
                regs.clone()
            ),
            [Some(false)]
        );
        assert_eq!(
            run(json!([{"resource_id": "r9", "resource_scopes": []}]), regs),
            [Some(false)]
        );
        assert_eq!(
            run(ok, json!([])),
            [None],
            "nothing registered in this run: nothing to judge"
        );
    }
}
