//! `permission-request-one-owner` (F-RS-14): each permission request asks only for resources of
//! the one resource owner its PAT stands for (FedAuthz §4: "The PAT provided in the API request
//! enables the authorization server to map the resource server's request to the appropriate
//! resource owner. It is only possible to request permissions for access to the resources of a
//! single resource owner, protected by a single authorization server, at a time.").
//!
//! Owners are never guessed from token strings (an RS may renew its PAT, so one owner can
//! present several PATs): the recorder notes, for each call, the owner its PAT stands for as the
//! counterpart AS resolved it (`pat_owner`), and a resource's owner is the `pat_owner` of the
//! registration call that created it. A request whose PAT owner, or one of whose resources'
//! owner, is not known is not judged; skipped when no request could be judged, or when the RS
//! sent none. The pattern the RS used (one owner, or several owners with a request each) is
//! recorded as the choice `permission-owners`.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::permission_request_registered::replay;
use super::{CheckError, CheckInput, Evaluate, Evaluation, flat_requests};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionRequestOneOwner {
    /// Recorded requests at the permission endpoint.
    pub requests: Tpl,
    /// Recorded requests at the resource registration endpoint, from the start of the run
    /// (`traffic: { at: resource_registration_endpoint, since: 0 }`).
    pub registrations: Tpl,
}

/// What one permission request shows about owners.
enum Judged {
    /// Every resource's owner and the PAT's owner are known: the resources by owner.
    Known {
        pat_owner: String,
        by_owner: BTreeMap<String, BTreeSet<String>>,
    },
    /// Something could not be known; what.
    Unknown(&'static str),
}

fn judge(request: &Value, owners: &BTreeMap<String, Option<&str>>) -> Judged {
    let Some(pat_owner) = request.get("pat_owner").and_then(Value::as_str) else {
        return Judged::Unknown("the counterpart AS did not resolve the PAT of a request to a resource owner");
    };
    let mut by_owner: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in request
        .get("permissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = p.get("resource_id").and_then(Value::as_str) else {
            continue;
        };
        match owners.get(id).copied().flatten() {
            Some(owner) => {
                by_owner.entry(owner.to_string()).or_default().insert(id.to_string());
            }
            None => {
                return Judged::Unknown(
                    "a requested resource's owner is not known (not registered while the harness watched, or its PAT not resolved)",
                );
            }
        }
    }
    if by_owner.is_empty() {
        return Judged::Unknown("a request named no resource");
    }
    Judged::Known {
        pat_owner: pat_owner.to_string(),
        by_owner,
    }
}

impl Evaluate for PermissionRequestOneOwner {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let reqs = flat_requests(input, &self.requests, "permission-request-one-owner")?;
        let calls = flat_requests(input, &self.registrations, "permission-request-one-owner")?;
        let owners: BTreeMap<String, Option<&str>> = replay(&calls).into_iter().map(|(id, r)| (id, r.owner)).collect();
        let title = "each permission request asks only for resources of the owner its PAT stands for";
        let expected =
            "every resource_id of a request registered with a PAT of the same resource owner as the request's PAT";
        if reqs.is_empty() {
            return Ok(Evaluation::one(
                title,
                None,
                expected,
                "the RS sent no permission request while the harness watched",
            ));
        }
        let mut problems = BTreeSet::new();
        let mut unknown = BTreeSet::new();
        let mut seen_owners = BTreeSet::new();
        for r in &reqs {
            match judge(r, &owners) {
                Judged::Unknown(why) => {
                    unknown.insert(why);
                }
                Judged::Known { pat_owner, by_owner } => {
                    for (owner, ids) in &by_owner {
                        if *owner != pat_owner {
                            problems.insert(format!(
                                "a request whose PAT stands for {pat_owner} names resources of {owner}: {}",
                                ids.iter().cloned().collect::<Vec<_>>().join(", ")
                            ));
                        }
                    }
                    seen_owners.insert(pat_owner);
                }
            }
        }
        if problems.is_empty() && seen_owners.is_empty() {
            return Ok(Evaluation::one(
                title,
                None,
                expected,
                format!(
                    "no permission request could be judged: {}",
                    unknown.into_iter().collect::<Vec<_>>().join("; ")
                ),
            ));
        }
        let ok = problems.is_empty();
        let actual = if !ok {
            problems.into_iter().take(5).collect::<Vec<_>>().join("; ")
        } else if unknown.is_empty() {
            // No count: run-wide traffic grows with concurrent scenarios, and the report must be reproducible.
            "every request names resources of its PAT's owner only".to_string()
        } else {
            format!(
                "every judged request names resources of its PAT's owner only; others could not be judged: {}",
                unknown.into_iter().collect::<Vec<_>>().join("; ")
            )
        };
        let mut e = Evaluation::one(title, Some(ok), expected, actual);
        if ok {
            e.choices.push((
                "permission-owners".into(),
                if seen_owners.len() == 1 {
                    "one owner".to_string()
                } else {
                    "several owners, a request each".to_string()
                },
            ));
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use super::*;
    use serde_json::json;

    fn regs() -> Value {
        json!([
            {"method": "POST", "path": "/rreg", "status": 201, "pat_owner": "alice", "json": {"resource_scopes": ["view"]}, "response": {"_id": "a1"}},
            {"method": "POST", "path": "/rreg", "status": 201, "pat_owner": "alice", "json": {"resource_scopes": ["view"]}, "response": {"_id": "a2"}},
            {"method": "POST", "path": "/rreg", "status": 201, "pat_owner": "bob", "json": {"resource_scopes": ["view"]}, "response": {"_id": "b1"}},
            {"method": "PUT", "path": "/rreg/b1", "status": 200, "json": {"resource_scopes": ["view", "edit"]}},
            {"method": "POST", "path": "/rreg", "status": 201, "json": {"resource_scopes": ["view"]}, "response": {"_id": "x1"}}
        ])
    }

    fn request(owner: Option<&str>, ids: &[&str]) -> Value {
        let perms: Vec<Value> = ids
            .iter()
            .map(|id| json!({"resource_id": id, "resource_scopes": ["view"]}))
            .collect();
        let mut r = json!({"permissions": perms});
        if let Some(o) = owner {
            r["pat_owner"] = json!(o);
        }
        r
    }

    fn run(requests: Value, registrations: Value) -> (Vec<Option<bool>>, Evaluation) {
        let e = eval(
            "permission-request-one-owner: { requests: $p, registrations: $g }",
            &Response::default(),
            &facts(),
            &[("p", requests), ("g", registrations)],
        );
        (oks(&e), e)
    }

    #[test]
    fn requests_within_the_pat_owners_resources_pass_and_record_the_pattern() {
        // Two owners, a request each (the same owner may present renewed PATs: only owners count).
        let (ok, e) = run(
            json!([
                request(Some("alice"), &["a1", "a2"]),
                request(Some("bob"), &["b1"]),
                request(Some("alice"), &["a2"])
            ]),
            regs(),
        );
        assert_eq!(ok, [Some(true)]);
        assert_eq!(
            e.choices,
            [(
                "permission-owners".to_string(),
                "several owners, a request each".to_string()
            )]
        );
        let (ok, e) = run(json!([request(Some("alice"), &["a1"])]), regs());
        assert_eq!(ok, [Some(true)]);
        assert_eq!(e.choices[0].1, "one owner");
    }

    #[test]
    fn a_request_mixing_owners_fails_and_names_the_resources_and_owners() {
        let (ok, e) = run(
            json!([request(Some("alice"), &["a1"]), request(Some("alice"), &["a1", "b1"])]),
            regs(),
        );
        assert_eq!(ok, [Some(false)]);
        let actual = &e.assertions[0].actual;
        assert!(
            actual.contains("alice") && actual.contains("bob") && actual.contains("b1"),
            "{actual}"
        );
        assert!(e.choices.is_empty());
        // Another owner's resource alone, with this owner's PAT.
        assert_eq!(run(json!([request(Some("bob"), &["a1"])]), regs()).0, [Some(false)]);
    }

    #[test]
    fn unknown_owners_are_not_judged_and_nothing_to_judge_is_a_skip() {
        // The PAT was not resolved.
        assert_eq!(run(json!([request(None, &["a1", "b1"])]), regs()).0, [None]);
        // A resource whose registration's PAT was not resolved, or not registered in the run.
        assert_eq!(run(json!([request(Some("alice"), &["x1"])]), regs()).0, [None]);
        assert_eq!(run(json!([request(Some("alice"), &["a1"])]), json!([])).0, [None]);
        // No permission request at all.
        assert_eq!(run(json!([]), regs()).0, [None]);
        // A judged request passes although another could not be judged.
        let (ok, e) = run(json!([request(Some("alice"), &["a1"]), request(None, &["b1"])]), regs());
        assert_eq!(ok, [Some(true)]);
        assert!(e.assertions[0].actual.contains("could not be judged"));
    }
}
