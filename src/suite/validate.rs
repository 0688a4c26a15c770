//! What a scenario's types cannot say, checked when it loads: every cited requirement exists,
//! every expectation cites one of the scenario's requirements, every message schema exists, every
//! step's bounds hold, every variable is set by an earlier step or built in, every table row is
//! consistent. Each problem points at its `file:line:col`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::model::{Expect, Matcher, ScenarioFile, StatusMatch};
use super::{Source, StepAt};
use crate::catalogue::{Catalogue, RequirementId};
use crate::diagnostic::{Diagnostic, Location, find_after};
use crate::template::{references_in, root_name};

/// Variables every scenario starts with (the engine sets them before the first step).
pub(super) const BUILT_INS: &[&str] = &[
    // The AS the scenario talks to: its issuer and discovery document.
    "issuer",
    "meta",
    // The scenario's requesting party (`email`, `sub`) and a random tag.
    "rqp",
    "run",
    // Epoch seconds: now, ten minutes ago, an hour ahead.
    "now",
    "past",
    "future",
    // Configured lifetimes (`ticket`, `rpt`).
    "lifetimes",
    // The profile URIs the AS uses for the harness profiles (`icg_pkce`, `icg_iss`).
    "uma_profiles",
    // The profile's client actors (`client_id`, `scopes`, `claims_redirect_uris`, `redirect_uris`).
    "rs",
    "rs2",
    "client",
    "client2",
    "target",
    "photoz",
    // RS and client targets: the counterpart AS, the counterpart RS's resource ids, the client
    // under test's registration.
    "as_issuer",
    "rs_ids",
    "target_client",
];

fn at(src: &[Source], loc: &Location, needle: Option<&str>, message: String) -> Diagnostic {
    let text = src.iter().find(|s| s.shown == loc.file).map(|s| s.text.as_str());
    let (line, column) = match (needle, text) {
        // A variable is written `$x` or `${x}`; anything else is looked for as written.
        (Some(n), Some(t)) => {
            let braced = n.strip_prefix('$').map(|name| format!("${{{name}"));
            find_after(t, loc.line, n)
                .or_else(|| braced.and_then(|b| find_after(t, loc.line, &b)))
                .unwrap_or((loc.line, loc.column))
        }
        _ => (loc.line, loc.column),
    };
    let d = Diagnostic::new(Location::new(&loc.file, line, column), message);
    match text {
        Some(t) => d.with_source(t),
        None => d,
    }
}

/// Every problem of one scenario file (with its included steps).
pub(super) fn scenario(
    file: &ScenarioFile,
    steps: &[StepAt],
    sources: &[Source],
    catalogue: &Catalogue,
) -> Vec<Diagnostic> {
    let main = sources.last().map(|s| s.shown.clone()).unwrap_or_default();
    let top = Location::file(&main);
    let mut out = Vec::new();
    if file.requirements.is_empty() {
        out.push(at(
            sources,
            &top,
            Some("requirements"),
            "a scenario cites at least one requirement".into(),
        ));
    }
    for r in &file.requirements {
        if catalogue.get(r.as_str()).is_none() {
            out.push(at(
                sources,
                &Location::new(&main, 1, 1),
                Some(r.as_str()),
                format!(
                    "requirement `{r}` is not in fixtures/requirements.yaml{}",
                    catalogue
                        .suggest(r.as_str())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    out.extend(cases(file, steps, sources, &main));
    let mut defined: BTreeSet<String> = super::validate::BUILT_INS.iter().map(|s| s.to_string()).collect();
    if !file.cases.is_empty() {
        defined.insert("case".into());
        for row in &file.cases {
            defined.extend(row.keys().cloned());
        }
    }
    for s in steps {
        let args = s.step.action.args();
        for p in args.problems() {
            out.push(at(sources, &s.location, None, p));
        }
        if let Some(exp) = &s.step.expect {
            for block in exp.blocks() {
                out.extend(block_problems(s, block, &file.requirements, sources));
            }
        }
        // Variables: every one this step names must be set by an earlier step or built in; its
        // own expectations may also use what the step itself sets.
        let (own, expected) = referenced(s);
        for (name, needle) in own {
            if !defined.contains(&name) {
                out.push(undefined(sources, s, &name, needle.as_deref(), &defined));
            }
        }
        defined.extend(args.defines());
        for (name, needle) in expected {
            if !defined.contains(&name) {
                out.push(undefined(sources, s, &name, needle.as_deref(), &defined));
            }
        }
        defined.extend(s.step.save.keys().cloned());
        if let Some(exp) = &s.step.expect {
            for block in exp.blocks() {
                if !block.one_of.is_empty() {
                    defined.insert(block.choice.clone().unwrap_or_else(|| "behaviour".into()));
                }
            }
        }
    }
    out
}

type Refs = Vec<(String, Option<String>)>;

fn undefined(
    sources: &[Source],
    s: &StepAt,
    name: &str,
    needle: Option<&str>,
    defined: &BTreeSet<String>,
) -> Diagnostic {
    at(
        sources,
        &s.location,
        needle,
        format!(
            "variable `${name}` is not set by any earlier step{}; set it with `save:` or a step's `as:` \
             (built-in variables: suites/README.md)",
            crate::diagnostic::did_you_mean(name, defined.iter().map(String::as_str)),
        ),
    )
}

/// The variables a step names: those its action and condition need before it runs, and those
/// its expectations need after.
fn referenced(s: &StepAt) -> (Refs, Refs) {
    let dollar =
        |names: Vec<String>| -> Refs { names.into_iter().map(|n| (n.clone(), Some(format!("${n}")))).collect() };
    let mut names = Vec::new();
    references_in(&s.step.action.args_value(), &mut names);
    let mut own = dollar(names);
    for n in s.step.action.args().uses() {
        own.push((n, None));
    }
    for c in s.step.when.iter().flat_map(|w| w.all()) {
        own.push((root_name(&c.var).to_string(), Some(c.var.clone())));
        for t in [&c.is, &c.is_not].into_iter().flatten() {
            own.extend(dollar(t.references()));
        }
    }
    let mut expected = Vec::new();
    if let Some(exp) = &s.step.expect {
        let v = serde_json::to_value(exp).unwrap_or(Value::Null);
        let mut names = Vec::new();
        references_in(&v, &mut names);
        expected = dollar(names);
        for block in exp.blocks() {
            for k in block.vars.keys() {
                expected.push((root_name(k).to_string(), Some(k.clone())));
            }
        }
    }
    for list in [&mut own, &mut expected] {
        list.sort();
        list.dedup();
    }
    (own, expected)
}

fn block_problems(s: &StepAt, block: &Expect, requirements: &[RequirementId], sources: &[Source]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let req = match (&block.req, requirements) {
        (Some(r), _) => Some(r.clone()),
        (None, [only]) => Some(only.clone()),
        (None, _) => None,
    };
    if let Some(r) = &block.req
        && !requirements.contains(r)
    {
        out.push(at(
            sources,
            &s.location,
            Some(&format!("req: {r}")),
            format!("`req: {r}` is not among the scenario's `requirements`; add it there"),
        ));
    }
    if block.has_plain_assertions() && req.is_none() {
        out.push(at(
            sources,
            &s.location,
            Some("expect"),
            "this expectation block needs `req:` (the scenario cites several requirements)".into(),
        ));
    }
    let mut schemas: Vec<&String> = block.schema.iter().collect();
    let mut checks: Vec<&crate::check::Check> = block.checks.iter().collect();
    for alt in &block.one_of {
        schemas.extend(alt.schema.iter());
        checks.extend(alt.checks.iter());
    }
    for name in schemas {
        if !crate::uma::messages::exists(name) {
            let names = crate::uma::messages::names();
            out.push(at(
                sources,
                &s.location,
                Some(name.as_str()),
                format!(
                    "unknown message schema `{name}`{}",
                    crate::diagnostic::did_you_mean(name, names.iter().map(String::as_str))
                ),
            ));
        }
    }
    for c in checks {
        let cited = req
            .clone()
            .unwrap_or_else(|| RequirementId::new(c.default_requirement()));
        if !requirements.contains(&cited) {
            out.push(at(
                sources,
                &s.location,
                Some(c.name()),
                format!(
                    "check `{}` cites `{cited}`, which is not among the scenario's `requirements`",
                    c.name()
                ),
            ));
        }
    }
    let matchers = block
        .headers
        .values()
        .chain(block.json.values())
        .chain(block.redirect.values())
        .chain(block.vars.values());
    for m in matchers {
        if let Matcher::Ops(ops) = m
            && ops.optional == Some(true)
            && ops.present == Some(true)
        {
            out.push(at(
                sources,
                &s.location,
                Some("optional"),
                "a matcher cannot be both `optional: true` and `present: true`".into(),
            ));
        }
    }
    if let Some(StatusMatch::Codes(c)) = &block.status
        && c.is_empty()
    {
        out.push(at(
            sources,
            &s.location,
            Some("status"),
            "`status: []` accepts nothing".into(),
        ));
    }
    out
}

fn cases(file: &ScenarioFile, steps: &[StepAt], sources: &[Source], main: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    let assesses = steps
        .iter()
        .any(|s| matches!(s.step.action, super::step::Action::Assess(_)));
    for (i, c) in file.cases.iter().enumerate() {
        let loc = Location::new(main, 1, 1);
        let name = c.get("name").and_then(Value::as_str);
        match name {
            Some(n) if names.insert(n.to_string()) => {}
            Some(n) => out.push(at(
                sources,
                &loc,
                Some(&format!("name: {n}")),
                format!("case {i}: duplicate name `{n}`"),
            )),
            None => out.push(at(
                sources,
                &loc,
                Some("cases:"),
                format!("case {i}: every case needs a `name`"),
            )),
        }
        if assesses && let Err(e) = super::step::assess::check_case(c) {
            out.push(at(
                sources,
                &loc,
                name.map(|n| format!("name: {n}")).as_deref(),
                format!("case `{}`: {e}", name.unwrap_or("?")),
            ));
        }
        for v in c.values() {
            let mut rs = Vec::new();
            references_in(v, &mut rs);
            for r in rs {
                if !super::validate::BUILT_INS.contains(&r.as_str()) {
                    out.push(at(
                        sources,
                        &loc,
                        Some(&format!("${r}")),
                        format!(
                            "case `{}`: a row may name only built-in variables; `${r}` is not one",
                            name.unwrap_or("?")
                        ),
                    ));
                }
            }
        }
    }
    out
}
