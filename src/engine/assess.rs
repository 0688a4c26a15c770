//! The `assess` step: one row of a set-math table (digest §4.3) run end to end. The row's
//! hand-written expected outcome must agree with the one computed here before the target is asked.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Resp, ScenarioCtx, StepError};
use crate::suite::model::{PermissionItem, PermissionStep, RegisterStep, ResourceOp, ResourceStep, TokenStep, Tpl};
use crate::uma::setmath::{self, Input, OutcomeKind, ResourceInput, Scopes};

fn scopes(v: Option<&Value>) -> Result<Scopes, String> {
    match v {
        None | Some(Value::Null) => Ok(Scopes::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("scope {x} is not a string"))
            })
            .collect(),
        Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_string).collect()),
        Some(other) => Err(format!("expected a list of scopes, got {other}")),
    }
}

/// A parsed table row.
#[derive(Debug)]
pub struct Row {
    /// The assessment input.
    pub input: Input,
    /// The hand-written outcome.
    pub outcome: OutcomeKind,
    /// The hand-written G(r).
    pub granted: BTreeMap<String, Scopes>,
}

/// Parses a row: `A`, `B`, `resources: {r: {C, D, F}}`, `expected: {outcome, granted}`.
pub fn parse_row(case: &Value) -> Result<Row, String> {
    let mut resources = BTreeMap::new();
    let rs = case
        .get("resources")
        .and_then(Value::as_object)
        .ok_or("a set-math row needs `resources: {name: {C, D, F}}`")?;
    for (name, r) in rs {
        resources.insert(
            name.clone(),
            ResourceInput {
                ticket: scopes(r.get("C"))?,
                registered: scopes(r.get("D"))?,
                satisfied: scopes(r.get("F"))?,
            },
        );
    }
    let input = Input {
        client_registered: scopes(case.get("A"))?,
        requested: scopes(case.get("B"))?,
        resources,
    };
    input.validate()?;
    let expected = case
        .get("expected")
        .ok_or("a set-math row needs `expected: {outcome, granted}`")?;
    let outcome: OutcomeKind = serde_json::from_value(expected.get("outcome").cloned().unwrap_or(Value::Null))
        .map_err(|_| "`expected.outcome` is success, partial or invalid-scope".to_string())?;
    let mut granted = BTreeMap::new();
    if let Some(g) = expected.get("granted").and_then(Value::as_object) {
        for (k, v) in g {
            granted.insert(k.clone(), scopes(Some(v))?);
        }
    }
    Ok(Row {
        input,
        outcome,
        granted,
    })
}

/// Checks that a row's hand-written outcome agrees with digest §4.3.
pub fn check_case(case: &BTreeMap<String, Value>) -> Result<(), String> {
    let v = Value::Object(case.clone().into_iter().collect());
    let row = parse_row(&v)?;
    let a = setmath::assess(&row.input);
    if a.outcome != row.outcome {
        return Err(format!(
            "the hand-written outcome {:?} disagrees with the computed one {:?}",
            row.outcome, a.outcome
        ));
    }
    if a.outcome != OutcomeKind::InvalidScope {
        for (r, g) in &a.candidate {
            let want = row.granted.get(r).cloned().unwrap_or_default();
            if &want != g {
                return Err(format!(
                    "resource {r}: the hand-written granted scopes {want:?} disagree with the computed G(r) {g:?}"
                ));
            }
        }
    }
    Ok(())
}

fn tpl(v: Value) -> Tpl {
    Tpl(v)
}

/// Runs a row against the target and records its checks.
pub async fn run(ctx: &mut ScenarioCtx<'_>, case: &Value) -> Result<(), StepError> {
    let row = parse_row(case).map_err(StepError)?;
    let a = setmath::assess(&row.input);
    let join = |s: &Scopes| s.iter().cloned().collect::<Vec<_>>().join(" ");
    // The client, registered for A.
    let mut meta = json!({});
    if !row.input.client_registered.is_empty() {
        meta["scope"] = json!(join(&row.input.client_registered));
    }
    let reg = RegisterStep {
        metadata: Some(tpl(meta)),
        save_as: Some("assess-client".into()),
    };
    super::steps::execute(ctx, &step_with(|s| s.register = Some(reg))).await?;
    // The resources, with D(r), and their policies from F(r).
    let mut ids = BTreeMap::new();
    for (name, r) in &row.input.resources {
        let var = format!("res_{name}");
        let create = ResourceStep {
            op: ResourceOp::Create,
            id: None,
            scopes: Some(tpl(json!(r.registered.iter().collect::<Vec<_>>()))),
            name: Some(name.clone()),
            body: None,
            raw_body: None,
            method: None,
            pat: None,
            trailing_slash: None,
            save_as: Some(var.clone()),
        };
        super::steps::execute(ctx, &step_with(|s| s.resource = Some(create))).await?;
        let id = ctx.text(&json!(format!("${var}")))?;
        let mut per_scope = BTreeMap::new();
        for sc in &r.registered {
            per_scope.insert(
                sc.clone(),
                if r.satisfied.contains(sc) { "open" } else { "deny" }.to_string(),
            );
        }
        let pat = ctx.text(&json!("$pat"))?;
        crate::target::adapter::set_policy(ctx, &pat, &id, None, &per_scope).await?;
        ids.insert(name.clone(), id);
    }
    // The ticket, with C(r).
    let items: Vec<PermissionItem> = row
        .input
        .resources
        .iter()
        .map(|(name, r)| PermissionItem {
            resource: tpl(json!(ids[name])),
            scopes: tpl(json!(r.ticket.iter().collect::<Vec<_>>())),
        })
        .collect();
    let perm = if items.len() == 1 {
        PermissionStep {
            resource: Some(items[0].resource.clone()),
            scopes: Some(items[0].scopes.clone()),
            ..PermissionStep::default()
        }
    } else {
        PermissionStep {
            permissions: Some(items),
            ..PermissionStep::default()
        }
    };
    super::steps::execute(ctx, &step_with(|s| s.permission = Some(perm))).await?;
    let ticket = ctx.text(&json!("$ticket"))?;
    // The token request, with B.
    let tok = TokenStep {
        client: Some("assess-client".into()),
        scope: if row.input.requested.is_empty() {
            None
        } else {
            Some(tpl(json!(join(&row.input.requested))))
        },
        ..TokenStep::default()
    };
    let resp = super::steps::execute(ctx, &step_with_expect(|s| s.token = Some(tok))).await?;
    let by_id = |m: &BTreeMap<String, Scopes>| -> BTreeMap<String, Scopes> {
        m.iter().map(|(k, v)| (ids[k].clone(), v.clone())).collect()
    };
    let expected_desc = format!("{:?}: G = {}", a.outcome, describe(&by_id(&a.candidate)));
    match a.outcome {
        OutcomeKind::InvalidScope => {
            let ok = resp.status == 400 && resp.body("error") == Some(&json!("invalid_scope"));
            ctx.record(
                "G-AS-31",
                format!(
                    "a requested scope matching no available scope ({}) gets invalid_scope",
                    join(&a.unmatched)
                ),
                Some(ok),
                "HTTP 400, error invalid_scope",
                status_error(&resp),
                resp.exchange,
            );
        }
        OutcomeKind::Success | OutcomeKind::Partial => {
            if !a.unregistered.is_empty() && resp.status == 400 {
                let ok = resp.body("error") == Some(&json!("invalid_scope"));
                ctx.choices.insert("O3".into(), "reject".into());
                ctx.record(
                    "G-AS-31",
                    format!(
                        "requested scopes the client is not registered for ({}) may be refused",
                        join(&a.unregistered)
                    ),
                    Some(ok),
                    "400 invalid_scope (MAY), or the scopes ignored",
                    status_error(&resp),
                    resp.exchange,
                );
                return Ok(());
            }
            if !a.unregistered.is_empty() {
                ctx.choices.insert("O3".into(), "ignore".into());
            }
            if resp.status == 200 {
                let rpt = ctx.text(&json!("$rpt"))?;
                let intro = introspect(ctx, &rpt).await?;
                let granted = super::checks::permissions_of(&intro);
                let requested = by_id(&a.requested);
                let satisfied = by_id(&a.satisfied);
                let mut assessment = a.clone();
                assessment.requested = requested;
                assessment.satisfied = satisfied;
                let violations = setmath::check_granted(&assessment, &granted);
                ctx.record(
                    "G-AS-12",
                    "granted permissions never exceed what was requested and what policy allows (granted(r) ⊆ E(r) ∩ F(r))",
                    Some(violations.is_empty()),
                    "⊆ E(r) ∩ F(r) for every resource",
                    if violations.is_empty() { describe(&granted) } else { violations.join("; ") },
                    intro.exchange,
                );
                if a.outcome == OutcomeKind::Success {
                    let want = by_id(&a.candidate);
                    let nonempty = |m: &BTreeMap<String, Scopes>| -> BTreeMap<String, Scopes> {
                        m.iter()
                            .filter(|(_, s)| !s.is_empty())
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    };
                    ctx.record(
                        "G-AS-20",
                        "when every requested scope can be granted, the RPT holds exactly CandidateGrantedScopes(r)",
                        Some(nonempty(&granted) == nonempty(&want)),
                        describe(&want),
                        describe(&granted),
                        intro.exchange,
                    );
                } else {
                    ctx.choices.insert("O5".into(), "partial".into());
                    ctx.record(
                        "G-AS-12",
                        "partial result (O5): an RPT with the scopes that passed",
                        Some(true),
                        expected_desc,
                        "200 partial RPT",
                        resp.exchange,
                    );
                }
            } else if a.outcome == OutcomeKind::Partial {
                let err = resp.body("error").and_then(Value::as_str).unwrap_or("").to_string();
                let allowed = ["need_info", "request_denied", "request_submitted"];
                let ok = resp.status == 403 && allowed.contains(&err.as_str());
                if ok {
                    ctx.choices.insert("O5".into(), err.clone());
                }
                ctx.record(
                    "G-AS-12",
                    "partial result (O5): a partial RPT, need_info, request_denied or request_submitted",
                    Some(ok),
                    "200 partial RPT, or 403 need_info | request_denied | request_submitted",
                    status_error(&resp),
                    resp.exchange,
                );
                if ok && err != "request_denied" {
                    let rotated = resp.body("ticket").and_then(Value::as_str).is_some_and(|t| t != ticket);
                    ctx.record(
                        "T-04",
                        format!("{err} carries a new ticket"),
                        Some(rotated),
                        "a ticket ≠ the presented one",
                        resp.body("ticket")
                            .map(|t| t.to_string())
                            .unwrap_or_else(|| "(absent)".into()),
                        resp.exchange,
                    );
                }
            } else {
                ctx.record(
                    "G-AS-20",
                    "when every requested scope can be granted, the AS answers 200 with an RPT",
                    Some(false),
                    expected_desc,
                    status_error(&resp),
                    resp.exchange,
                );
            }
        }
    }
    Ok(())
}

async fn introspect(ctx: &mut ScenarioCtx<'_>, rpt: &str) -> Result<Resp, StepError> {
    let step = crate::suite::model::IntrospectStep {
        token: tpl(json!(rpt)),
        hint: None,
        pat: None,
    };
    super::steps::execute(ctx, &step_with(|s| s.introspect = Some(step))).await
}

fn describe(m: &BTreeMap<String, Scopes>) -> String {
    if m.is_empty() {
        return "(none)".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}:[{}]", v.iter().cloned().collect::<Vec<_>>().join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_error(resp: &Resp) -> String {
    match resp.body("error").and_then(Value::as_str) {
        Some(e) => format!("HTTP {} error={e}", resp.status),
        None => format!("HTTP {}", resp.status),
    }
}

fn step_with(f: impl FnOnce(&mut crate::suite::model::Step)) -> crate::suite::model::Step {
    let mut s = crate::suite::model::Step::default();
    f(&mut s);
    s
}

/// A step whose outcome the caller judges (no set-up expectation).
fn step_with_expect(f: impl FnOnce(&mut crate::suite::model::Step)) -> crate::suite::model::Step {
    let mut s = step_with(f);
    s.expect = Some(crate::suite::model::Expectations::Many(Vec::new()));
    s
}
