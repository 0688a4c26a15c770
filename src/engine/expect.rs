//! Expectations: status, `error`, headers, JSON paths, redirect parameters, variables, message
//! schemas, named checks, and `one_of` alternatives. Each assertion becomes one check.

use serde_json::Value;

use super::{ScenarioCtx, StepError};
use crate::catalogue::RequirementId;
use crate::check::{Assertion as Outcome, CheckInput, Response};
use crate::suite::model::{Alternative, Expect, MatchOps, Matcher, StatusMatch};
use crate::template::{lookup, select, to_text};

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(Value::String(s)) => format!("\"{s}\""),
        Some(other) => other.to_string(),
    }
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// Evaluates a matcher; returns (held, expected text).
pub fn matches(ctx: &ScenarioCtx<'_>, m: &Matcher, actual: Option<&Value>) -> Result<(bool, String), StepError> {
    match m {
        Matcher::Literal(t) => {
            let want = ctx.subst(&t.0)?;
            let ok = match (actual, &want) {
                (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
                (Some(a), b) => a == b,
                (None, _) => false,
            };
            Ok((ok, show(Some(&want))))
        }
        Matcher::Ops(ops) => ops_match(ctx, ops, actual),
    }
}

fn ops_match(ctx: &ScenarioCtx<'_>, ops: &MatchOps, actual: Option<&Value>) -> Result<(bool, String), StepError> {
    if ops.optional == Some(true) && actual.is_none_or(Value::is_null) {
        return Ok((true, "absent, or as given".into()));
    }
    let mut ok = true;
    let mut exp = Vec::new();
    if let Some(p) = ops.present {
        ok &= actual.is_some() == p;
        exp.push(if p { "present".to_string() } else { "absent".to_string() });
    }
    if let Some(t) = &ops.eq {
        let want = ctx.subst(&t.0)?;
        ok &= actual == Some(&want);
        exp.push(format!("= {}", show(Some(&want))));
    }
    if let Some(t) = &ops.ne {
        let want = ctx.subst(&t.0)?;
        ok &= actual.is_some() && actual != Some(&want);
        exp.push(format!("≠ {}", show(Some(&want))));
    }
    if let Some(t) = &ops.one_of {
        let want = as_list(&ctx.subst(&t.0)?);
        ok &= actual.is_some_and(|a| want.contains(a));
        exp.push(format!("one of {}", Value::Array(want)));
    }
    if let Some(t) = &ops.contains {
        let want = ctx.subst(&t.0)?;
        ok &= match actual {
            Some(Value::String(s)) => s.contains(&to_text(&want)),
            Some(Value::Array(a)) => a.contains(&want),
            _ => false,
        };
        exp.push(format!("contains {}", show(Some(&want))));
    }
    if let Some(t) = &ops.not_contains {
        let want = ctx.subst(&t.0)?;
        ok &= match actual {
            Some(Value::String(s)) => !s.contains(&to_text(&want)),
            Some(Value::Array(a)) => !a.contains(&want),
            _ => true,
        };
        exp.push(format!("does not contain {}", show(Some(&want))));
    }
    if let Some(t) = ops.json_type {
        ok &= actual.is_some_and(|a| t.holds(a));
        exp.push(format!("of type {}", t.as_str()));
    }
    if let Some(t) = &ops.set {
        let mut want: Vec<String> = as_list(&ctx.subst(&t.0)?).iter().map(|v| v.to_string()).collect();
        want.sort();
        want.dedup();
        let got = actual.and_then(Value::as_array).map(|a| {
            let mut g: Vec<String> = a.iter().map(|v| v.to_string()).collect();
            g.sort();
            g.dedup();
            g
        });
        ok &= got.as_ref() == Some(&want);
        exp.push(format!("the set [{}]", want.join(", ")));
    }
    if let Some(t) = &ops.subset_of {
        let want = as_list(&ctx.subst(&t.0)?);
        ok &= actual
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().all(|x| want.contains(x)));
        exp.push(format!("a subset of {}", Value::Array(want)));
    }
    if let Some(t) = &ops.starts_with {
        let want = to_text(&ctx.subst(&t.0)?);
        ok &= actual.and_then(Value::as_str).is_some_and(|s| s.starts_with(&want));
        exp.push(format!("starting with \"{want}\""));
    }
    if let Some(n) = ops.len {
        let got = match actual {
            Some(Value::String(s)) => Some(s.chars().count()),
            Some(Value::Array(a)) => Some(a.len()),
            _ => None,
        };
        ok &= got == Some(n);
        exp.push(format!("of length {n}"));
    }
    if let Some(n) = ops.min {
        ok &= actual.and_then(Value::as_f64).is_some_and(|a| a >= n);
        exp.push(format!("≥ {n}"));
    }
    if let Some(n) = ops.max {
        ok &= actual.and_then(Value::as_f64).is_some_and(|a| a <= n);
        exp.push(format!("≤ {n}"));
    }
    Ok((ok, exp.join(", ")))
}

/// Every assertion of a block (without `one_of`), as outcomes tagged with the requirement each
/// cites: plain assertions cite `block_req`; a named check cites `block_req` too, or its own
/// default when the block has none.
pub fn assertions(
    ctx: &mut ScenarioCtx<'_>,
    block: &Expect,
    resp: &Response,
    block_req: Option<&RequirementId>,
) -> Result<Vec<(RequirementId, Outcome)>, StepError> {
    let mut out = Vec::new();
    // Loading guarantees plain assertions have a requirement to cite.
    let req = block_req.cloned().unwrap_or_else(|| RequirementId::new("?"));
    if let Some(t) = &block.status {
        let want: Vec<u64> = match t {
            StatusMatch::Codes(c) => c.iter().map(|c| u64::from(*c)).collect(),
            StatusMatch::Var(v) => as_list(&ctx.subst(&v.0)?).iter().filter_map(Value::as_u64).collect(),
        };
        out.push((
            req.clone(),
            Outcome {
                title: "HTTP status".into(),
                ok: Some(want.contains(&u64::from(resp.status))),
                expected: want.iter().map(u64::to_string).collect::<Vec<_>>().join(" or "),
                actual: resp.status.to_string(),
            },
        ));
    }
    if let Some(t) = &block.error {
        let want = as_list(&ctx.subst(&t.0.0)?);
        let got = resp.body("error");
        out.push((
            req.clone(),
            Outcome {
                title: "`error` code".into(),
                ok: Some(got.is_some_and(|g| want.contains(g))),
                expected: want.iter().map(|w| show(Some(w))).collect::<Vec<_>>().join(" or "),
                actual: show(got),
            },
        ));
    }
    for (name, m) in &block.headers {
        let got = resp.header(name).map(|v| Value::String(v.to_string()));
        let (ok, expected) = matches(ctx, m, got.as_ref())?;
        out.push((
            req.clone(),
            Outcome {
                title: format!("header `{name}`"),
                ok: Some(ok),
                expected,
                actual: show(got.as_ref()),
            },
        ));
    }
    for (path, m) in &block.json {
        let got = resp.json.as_ref().and_then(|j| select(j, path));
        let (ok, expected) = matches(ctx, m, got.as_ref())?;
        let title = if path.is_empty() {
            "JSON body".to_string()
        } else {
            format!("JSON `{path}`")
        };
        out.push((
            req.clone(),
            Outcome {
                title,
                ok: Some(ok),
                expected,
                actual: if resp.json.is_none() {
                    format!("(no JSON body) {}", short(&resp.text))
                } else {
                    show(got.as_ref())
                },
            },
        ));
    }
    for (name, m) in &block.redirect {
        let got = match &resp.redirect {
            Some(r) if name == "location" => Some(Value::String(r.location.clone())),
            Some(r) => r.params.get(name).map(|v| Value::String(v.clone())),
            None => None,
        };
        let (ok, expected) = matches(ctx, m, got.as_ref())?;
        out.push((
            req.clone(),
            Outcome {
                title: format!("redirect parameter `{name}`"),
                ok: Some(ok),
                expected,
                actual: match &resp.redirect {
                    None => format!("(no redirect back; HTTP {})", resp.status),
                    Some(_) => show(got.as_ref()),
                },
            },
        ));
    }
    for (name, m) in &block.vars {
        let got = lookup(&ctx.vars, name).ok();
        let (ok, expected) = matches(ctx, m, got.as_ref())?;
        out.push((
            req.clone(),
            Outcome {
                title: format!("`${name}`"),
                ok: Some(ok),
                expected,
                actual: show(got.as_ref()),
            },
        ));
    }
    if let Some(schema) = &block.schema {
        out.push((req.clone(), schema_outcome(schema, resp)));
    }
    for c in &block.checks {
        let cited = block_req
            .cloned()
            .unwrap_or_else(|| RequirementId::new(c.default_requirement()));
        let evaluation = c.evaluate(&CheckInput {
            response: resp,
            facts: &ctx.facts,
            vars: &ctx.vars,
        })?;
        for (name, choice) in evaluation.choices {
            ctx.choices.insert(name, choice);
        }
        for o in evaluation.assertions {
            out.push((cited.clone(), o));
        }
    }
    Ok(out)
}

fn schema_outcome(name: &str, resp: &Response) -> Outcome {
    let title = format!("the body validates against the `{name}` schema");
    let Some(json) = &resp.json else {
        return Outcome::new(
            title,
            Some(false),
            format!("a JSON body matching fixtures/schemas/messages/{name}.schema.json"),
            "no JSON body",
        );
    };
    match crate::uma::messages::validate(name, json) {
        Ok(()) => Outcome::new(
            title,
            Some(true),
            format!("fixtures/schemas/messages/{name}.schema.json"),
            "valid",
        ),
        Err(crate::uma::messages::MessageError::Invalid(errors)) => Outcome::new(
            title,
            Some(false),
            format!("fixtures/schemas/messages/{name}.schema.json"),
            errors.join("; "),
        ),
        Err(e) => Outcome::new(title, None, String::new(), e.to_string()),
    }
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(120).collect();
    if t.len() < s.len() { format!("{t}…") } else { t }
}

/// The requirement a block cites: its own `req`, or the scenario's only one.
fn block_requirement(ctx: &ScenarioCtx<'_>, block: &Expect) -> Option<RequirementId> {
    match (&block.req, ctx.scenario.requirements.as_slice()) {
        (Some(r), _) => Some(r.clone()),
        (None, [only]) => Some(only.clone()),
        (None, _) => None,
    }
}

/// Evaluates one block and records its checks. When its premise (`given`) does not hold, every
/// requirement the block would judge gets one `skip` saying why, never a pass or a fail.
pub fn evaluate(ctx: &mut ScenarioCtx<'_>, block: &Expect, resp: &Response) -> Result<(), StepError> {
    let block_req = block_requirement(ctx, block);
    if let Some((expected, actual)) = premise_unmet(ctx, block, resp)? {
        not_judged(ctx, block, &expected, &actual, resp.exchange);
        return Ok(());
    }
    for (r, o) in assertions(ctx, block, resp, block_req.as_ref())? {
        ctx.record(&r, o.title, o.ok, o.expected, o.actual, resp.exchange);
    }
    if !block.one_of.is_empty()
        && let Some(req) = &block_req
    {
        evaluate_alternatives(ctx, &block.one_of, block.choice.as_deref(), req, resp)?;
    }
    Ok(())
}

/// Records one `skip` for every requirement a block would judge: its premise did not happen.
pub fn not_judged(ctx: &mut ScenarioCtx<'_>, block: &Expect, expected: &str, actual: &str, exchange: Option<usize>) {
    let block_req = block_requirement(ctx, block);
    let mut cited: Vec<RequirementId> = Vec::new();
    if block.has_plain_assertions()
        && let Some(r) = &block_req
    {
        cited.push(r.clone());
    }
    for c in &block.checks {
        cited.push(
            block_req
                .clone()
                .unwrap_or_else(|| RequirementId::new(c.default_requirement())),
        );
    }
    cited.sort();
    cited.dedup();
    for r in cited {
        ctx.record(
            &r,
            "not judged: the premise did not happen",
            None,
            expected,
            actual,
            exchange,
        );
    }
}

/// The first `given` matcher that does not hold: (what was needed, what was found). A path is
/// a redirect parameter (`redirect.error`), a header (`header.location`), a variable
/// (`vars.a_pcts`) or a JSON path of the body.
fn premise_unmet(
    ctx: &ScenarioCtx<'_>,
    block: &Expect,
    resp: &Response,
) -> Result<Option<(String, String)>, StepError> {
    for (path, m) in &block.given {
        let got = if let Some(p) = path.strip_prefix("redirect.") {
            resp.redirect
                .as_ref()
                .and_then(|r| r.params.get(p))
                .map(|v| Value::String(v.clone()))
        } else if let Some(h) = path.strip_prefix("header.") {
            resp.header(h).map(|v| Value::String(v.to_string()))
        } else if let Some(v) = path.strip_prefix("vars.") {
            lookup(&ctx.vars, v).ok()
        } else {
            resp.json.as_ref().and_then(|j| select(j, path))
        };
        let (ok, expected) = matches(ctx, m, got.as_ref())?;
        if !ok {
            let name = if path.is_empty() {
                "the body".to_string()
            } else {
                format!("`{path}`")
            };
            return Ok(Some((
                format!("{name} {expected}"),
                format!("{name}: {}", show(got.as_ref())),
            )));
        }
    }
    Ok(None)
}

fn evaluate_alternatives(
    ctx: &mut ScenarioCtx<'_>,
    alts: &[Alternative],
    choice: Option<&str>,
    req: &RequirementId,
    resp: &Response,
) -> Result<(), StepError> {
    let mut tried = Vec::new();
    for alt in alts {
        let as_block = alt.to_expect(Some(req.clone()));
        // Named checks of an alternative may cite their own requirements: evaluate them only
        // once the alternative's plain assertions hold.
        let mut plain = as_block.clone();
        plain.checks.clear();
        let outcomes = assertions(ctx, &plain, resp, Some(req))?;
        let failed: Vec<&Outcome> = outcomes
            .iter()
            .map(|(_, o)| o)
            .filter(|o| o.ok == Some(false))
            .collect();
        if failed.is_empty() {
            let name = choice.unwrap_or("behaviour").to_string();
            ctx.choices.insert(name.clone(), alt.name.clone());
            ctx.vars.insert(name, Value::String(alt.name.clone()));
            let label: Vec<String> = alts.iter().map(|a| a.name.clone()).collect();
            ctx.record(
                req,
                format!("one of the conformant behaviours ({})", label.join(", ")),
                Some(true),
                label.join(" | "),
                alt.name.clone(),
                resp.exchange,
            );
            let with_checks = Expect {
                checks: alt.checks.clone(),
                ..Expect::default()
            };
            for (r, o) in assertions(ctx, &with_checks, resp, None)? {
                ctx.record(&r, o.title, o.ok, o.expected, o.actual, resp.exchange);
            }
            return Ok(());
        }
        tried.push(format!(
            "{}: {}",
            alt.name,
            failed
                .iter()
                .map(|o| format!("{} expected {}, got {}", o.title, o.expected, o.actual))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    ctx.record(
        req,
        "one of the conformant behaviours",
        Some(false),
        alts.iter().map(|a| a.name.clone()).collect::<Vec<_>>().join(" | "),
        tried.join(" / "),
        resp.exchange,
    );
    Ok(())
}
