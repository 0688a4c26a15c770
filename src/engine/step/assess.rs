//! `assess`: one row of a set-math table (digest §4.3) run end to end: a client registered for
//! A, resources with D(r) and policies from F(r), a ticket for C(r), a token request for B; the
//! outcome and the introspected permissions are judged against the assessment computed here.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Run, ScenarioCtx, StepError};
use crate::catalogue::RequirementId;
use crate::check::Response;
use crate::suite::step::assess::{AssessStep, parse_row};
use crate::suite::step::introspect::IntrospectStep;
use crate::suite::step::permission::{PermissionItem, PermissionStep};
use crate::suite::step::policy::AbstractPolicy;
use crate::suite::step::register::RegisterStep;
use crate::suite::step::resource::{ResourceOp, ResourceStep};
use crate::suite::step::token::TokenStep;
use crate::suite::{Action, Capability, Expectations, Step};
use crate::template::Tpl;
use crate::uma::setmath::{self, OutcomeKind, Scopes};

fn tpl(v: Value) -> Tpl {
    Tpl::new(v)
}

fn req(id: &str) -> RequirementId {
    RequirementId::new(id)
}

impl Run for AssessStep {
    async fn run(&self, ctx: &mut ScenarioCtx<'_>, _explicit: bool) -> Result<Response, StepError> {
        let case = ctx.subst(&self.0.0)?;
        run(ctx, &case).await?;
        Ok(Response::default())
    }
}

/// Runs a row against the target and records its checks.
async fn run(ctx: &mut ScenarioCtx<'_>, case: &Value) -> Result<(), StepError> {
    let row = parse_row(case).map_err(|e| StepError::unusable(e.to_string()))?;
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
    super::execute(ctx, &step(Action::Register(reg))).await?;
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
        super::execute(ctx, &step(Action::Resource(create))).await?;
        let id = ctx.text(&json!(format!("${var}")))?;
        let mut per_scope = BTreeMap::new();
        for sc in &r.registered {
            per_scope.insert(
                sc.clone(),
                if r.satisfied.contains(sc) {
                    AbstractPolicy::Open
                } else {
                    AbstractPolicy::Deny
                },
            );
        }
        let pat = ctx.text(&json!("$pat"))?;
        crate::engine::adapter::set_policy(ctx, &pat, &id, None, &per_scope).await?;
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
    super::execute(ctx, &step(Action::Permission(perm))).await?;
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
    let resp = super::execute(ctx, &step_with_expect(Action::Token(tok))).await?;
    let by_id = |m: &BTreeMap<String, Scopes>| -> BTreeMap<String, Scopes> {
        m.iter().map(|(k, v)| (ids[k].clone(), v.clone())).collect()
    };
    let expected_desc = format!("{:?}: G = {}", a.outcome, describe(&by_id(&a.candidate)));
    match a.outcome {
        OutcomeKind::InvalidScope => {
            let ok = resp.status == 400 && resp.body("error") == Some(&json!("invalid_scope"));
            ctx.record(
                &req("G-AS-31"),
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
                    &req("G-AS-31"),
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
            if resp.status == 200 && !ctx.env.capabilities.contains(&Capability::Introspection) {
                // The granted permissions can only be read by introspection.
                for r in ["G-AS-12", "G-AS-20"] {
                    ctx.record(
                        &req(r),
                        "granted permissions (read by introspection)",
                        None,
                        describe(&by_id(&a.candidate)),
                        "not judged: the AS offers no introspection endpoint",
                        resp.exchange,
                    );
                }
            } else if resp.status == 200 {
                let rpt = ctx.text(&json!("$rpt"))?;
                let intro = introspect(ctx, &rpt).await?;
                let granted = crate::check::permissions_of(&intro);
                let requested = by_id(&a.requested);
                let satisfied = by_id(&a.satisfied);
                let mut assessment = a.clone();
                assessment.requested = requested;
                assessment.satisfied = satisfied;
                let violations = setmath::check_granted(&assessment, &granted);
                ctx.record(
                    &req("G-AS-12"),
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
                        &req("G-AS-20"),
                        "when every requested scope can be granted, the RPT holds exactly CandidateGrantedScopes(r)",
                        Some(nonempty(&granted) == nonempty(&want)),
                        describe(&want),
                        describe(&granted),
                        intro.exchange,
                    );
                } else {
                    ctx.choices.insert("O5".into(), "partial".into());
                    ctx.record(
                        &req("G-AS-12"),
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
                // G-AS-12 asks only that no more than allowed is granted; the status of each
                // error is its own requirement's business (G-AS-32, G-AS-33, G-AS-34).
                let ok = allowed.contains(&err.as_str()) && resp.body("access_token").is_none();
                if ok {
                    ctx.choices.insert("O5".into(), err.clone());
                    let status_req = match err.as_str() {
                        "need_info" => "G-AS-32",
                        "request_denied" => "G-AS-33",
                        _ => "G-AS-34",
                    };
                    ctx.record(
                        &req(status_req),
                        format!("{err} is HTTP 403"),
                        Some(resp.status == 403),
                        "HTTP 403",
                        format!("HTTP {}", resp.status),
                        resp.exchange,
                    );
                }
                ctx.record(
                    &req("G-AS-12"),
                    "partial result (O5): a partial RPT, need_info, request_denied or request_submitted",
                    Some(ok),
                    "200 partial RPT, or need_info | request_denied | request_submitted without a token",
                    status_error(&resp),
                    resp.exchange,
                );
                if ok && err != "request_denied" {
                    let rotated = resp.body("ticket").and_then(Value::as_str).is_some_and(|t| t != ticket);
                    ctx.record(
                        &req("T-04"),
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
                    &req("G-AS-20"),
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

async fn introspect(ctx: &mut ScenarioCtx<'_>, rpt: &str) -> Result<Response, StepError> {
    let step_args = IntrospectStep {
        token: tpl(json!(rpt)),
        hint: None,
        pat: None,
    };
    super::execute(ctx, &step(Action::Introspect(step_args))).await
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

fn status_error(resp: &Response) -> String {
    resp.status_line()
}

fn step(action: Action) -> Step {
    Step {
        name: None,
        when: None,
        needs: Vec::new(),
        action,
        expect: None,
        save: BTreeMap::new(),
    }
}

/// A step whose outcome the caller judges (no set-up expectation).
fn step_with_expect(action: Action) -> Step {
    let mut s = step(action);
    s.expect = Some(Expectations::Many(Vec::new()));
    s
}
