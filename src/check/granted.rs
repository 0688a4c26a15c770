//! `granted` (G-AS-12): an introspection response's permissions equal (or, with
//! `subset: true`, stay within) the expected `{resource_id: [scopes]}`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation, Response};
use crate::template::{Tpl, to_text};
use crate::uma::setmath::Scopes;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Granted {
    /// The expected permissions: resource id → scopes.
    pub permissions: Tpl,
    /// Only require the granted permissions to stay within the expected ones.
    #[serde(default)]
    pub subset: Option<bool>,
}

/// The permissions of an introspection response: resource id → scopes (merged if repeated).
pub fn permissions_of(resp: &Response) -> BTreeMap<String, Scopes> {
    let mut out: BTreeMap<String, Scopes> = BTreeMap::new();
    if let Some(arr) = resp.body("permissions").and_then(Value::as_array) {
        for p in arr {
            if let Some(r) = p.get("resource_id").and_then(Value::as_str) {
                let e = out.entry(r.to_string()).or_default();
                if let Some(s) = p.get("resource_scopes").and_then(Value::as_array) {
                    e.extend(s.iter().filter_map(|x| x.as_str().map(str::to_string)));
                }
            }
        }
    }
    out
}

fn show(m: &BTreeMap<String, Scopes>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}:[{}]", v.iter().cloned().collect::<Vec<_>>().join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn nonempty(m: &BTreeMap<String, Scopes>) -> BTreeMap<String, Scopes> {
    m.iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl Evaluate for Granted {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let want: BTreeMap<String, Scopes> = match input.value(&self.permissions)? {
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| {
                    let scopes = v
                        .as_array()
                        .map(|a| a.iter().map(to_text).collect())
                        .unwrap_or_default();
                    (k.clone(), scopes)
                })
                .collect(),
            other => {
                return Err(CheckError::Argument {
                    check: "granted",
                    message: format!("`permissions` must be a map of resource id to scopes, got {other}"),
                });
            }
        };
        let subset = self.subset.unwrap_or(false);
        let resp = input.response;
        let got = permissions_of(resp);
        let ok = if subset {
            got.iter().all(|(r, s)| want.get(r).is_some_and(|w| s.is_subset(w)))
        } else {
            nonempty(&got) == nonempty(&want)
        };
        Ok(Evaluation::one(
            if subset {
                "granted permissions stay within what is allowed"
            } else {
                "granted permissions are exactly the expected ones"
            },
            Some(ok),
            show(&want),
            if resp.json.is_none() {
                "(no introspection JSON)".to_string()
            } else {
                show(&got)
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    fn intro(perms: serde_json::Value) -> Response {
        Response::of_json(json!({"active": true, "permissions": perms}))
    }

    #[test]
    fn exact_permissions_pass_and_extra_scopes_fail() {
        let vars = [("r1", json!("res-1"))];
        let check = "granted: { permissions: { $r1: [view] } }";
        let exact = intro(json!([{"resource_id": "res-1", "resource_scopes": ["view"]}]));
        assert_eq!(oks(&eval(check, &exact, &facts(), &vars)), [Some(true)]);
        let more = intro(json!([{"resource_id": "res-1", "resource_scopes": ["view", "print"]}]));
        assert_eq!(oks(&eval(check, &more, &facts(), &vars)), [Some(false)]);
    }

    #[test]
    fn a_subset_stays_within_and_an_empty_grant_is_within_anything() {
        let vars = [("r1", json!("res-1"))];
        let check = "granted: { permissions: { $r1: [view, print] }, subset: true }";
        let fewer = intro(json!([{"resource_id": "res-1", "resource_scopes": ["view"]}]));
        assert_eq!(oks(&eval(check, &fewer, &facts(), &vars)), [Some(true)]);
        let other = intro(json!([{"resource_id": "res-2", "resource_scopes": ["view"]}]));
        assert_eq!(oks(&eval(check, &other, &facts(), &vars)), [Some(false)]);
    }
}
