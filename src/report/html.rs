//! `report.html`: one self-contained page (inline CSS and script, no external asset, no network;
//! it works from `file://`). A summary first (per role and area, UMA conformance apart from
//! profile checks), then the failures and warnings, each with its requirement, keyword, spec
//! link, expected and actual and the exchange behind it; every scenario with filters by verdict,
//! role and area; per-requirement coverage.
//!
//! Rendered by minijinja 3 (the page data goes in as `Value::from(Serde(..))`: 3.1 has no
//! `Value::from_serialize`) from `templates/report.html`, whose name turns on HTML auto-escaping:
//! everything a target sent is escaped.

use serde::Serialize;

use super::view::{self, Context, CoverageRow, CoverageTotals};
use crate::outcome::{Counts, Exchange, Report, ScenarioResult};

const TEMPLATE: &str = include_str!("templates/report.html");

/// Exchanges bodies are cut to this many bytes in the page (report.json keeps them whole).
const MAX_EXCHANGE_TEXT: usize = 8 * 1024;

#[derive(Serialize)]
struct ExchangeView {
    index: usize,
    step: usize,
    label: String,
    observed: Option<String>,
    request: String,
    response: String,
}

#[derive(Serialize)]
struct CheckView {
    index: usize,
    requirement: String,
    keyword: String,
    summary: String,
    url: String,
    kind: String,
    title: String,
    verdict: &'static str,
    expected: String,
    actual: String,
    location: String,
    step: usize,
    known: Option<String>,
    exchange: Option<ExchangeView>,
}

#[derive(Serialize)]
struct FindingView {
    scenario: String,
    trial: String,
    role: String,
    area: String,
    check: CheckView,
}

#[derive(Serialize)]
struct ScenarioView {
    anchor: String,
    id: String,
    trial: String,
    title: String,
    role: String,
    area: String,
    file: String,
    verdict: &'static str,
    reason: Option<String>,
    known: Option<String>,
    duration_ms: u64,
    choices: Vec<(String, String)>,
    checks: Vec<CheckView>,
    exchanges: Vec<ExchangeView>,
}

#[derive(Serialize)]
struct Row {
    label: String,
    counts: Counts,
}

#[derive(Serialize)]
struct Page {
    title: String,
    report: serde_json::Value,
    tested: Option<String>,
    target_name: Option<String>,
    exit_code: i32,
    status: &'static str,
    findings: Vec<FindingView>,
    roles: Vec<Row>,
    areas: Vec<Row>,
    scenarios: Vec<ScenarioView>,
    coverage: Vec<CoverageRow>,
    coverage_totals: Vec<CoverageTotals>,
    role_names: Vec<String>,
    area_names: Vec<String>,
}

fn exchange_view(i: usize, e: &Exchange) -> ExchangeView {
    ExchangeView {
        index: i,
        step: e.step + 1,
        label: format!(
            "{} {} → {}",
            e.method,
            e.url,
            e.status.map_or_else(|| "no response".to_string(), |s| s.to_string())
        ),
        observed: e.observed.clone(),
        request: view::cut(&view::request_text(e), MAX_EXCHANGE_TEXT),
        response: view::cut(&view::response_text(e), MAX_EXCHANGE_TEXT),
    }
}

fn check_view(report: &Report, ctx: &Context<'_>, s: &ScenarioResult, i: usize) -> CheckView {
    let c = &s.checks[i];
    let req = ctx.requirement(c);
    CheckView {
        index: i,
        requirement: c.requirement_str().to_string(),
        keyword: req
            .map(|r| view::keyword_str(r.keyword).to_string())
            .unwrap_or_default(),
        summary: req.map(|r| r.summary.clone()).unwrap_or_default(),
        url: req.map(|r| r.url.clone()).unwrap_or_default(),
        kind: format!("{:?}", c.kind).to_lowercase(),
        title: c.title.clone(),
        verdict: c.verdict.as_str(),
        expected: c.expected.clone(),
        actual: c.actual.clone(),
        location: c.location.clone(),
        step: c.step + 1,
        known: report.known(s, Some(i)).map(|e| e.reason.clone()),
        exchange: c.exchange.and_then(|x| s.exchanges.get(x).map(|e| exchange_view(x, e))),
    }
}

/// Renders the page.
pub fn render(report: &Report, ctx: &Context<'_>) -> String {
    let findings = view::findings(report)
        .into_iter()
        .map(|f| FindingView {
            scenario: f.scenario.id.clone(),
            trial: f.scenario.trial.clone(),
            role: f.scenario.role.as_str().to_string(),
            area: f.scenario.area.clone(),
            check: check_view(report, ctx, f.scenario, f.index),
        })
        .collect();
    let (roles, areas) = view::per_role_and_area(report);
    let mut area_names: Vec<String> = areas.keys().map(|(_, a)| a.clone()).collect();
    area_names.sort();
    area_names.dedup();
    // The worst first: failures, errors, warnings, then the rest by name.
    let mut order: Vec<&ScenarioResult> = report.scenarios.iter().collect();
    order.sort_by(|a, b| b.verdict.cmp(&a.verdict).then_with(|| a.trial.cmp(&b.trial)));
    let scenarios = order
        .into_iter()
        .map(|s| ScenarioView {
            anchor: s.trial.replace("::", "-"),
            id: s.id.clone(),
            trial: s.trial.clone(),
            title: s.title.clone(),
            role: s.role.as_str().to_string(),
            area: s.area.clone(),
            file: s.file.clone(),
            verdict: s.verdict.as_str(),
            reason: s.reason.clone(),
            known: report.known(s, None).map(|e| e.reason.clone()),
            duration_ms: s.duration_ms,
            choices: s.choices.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            checks: (0..s.checks.len()).map(|i| check_view(report, ctx, s, i)).collect(),
            exchanges: s
                .exchanges
                .iter()
                .enumerate()
                .map(|(i, e)| exchange_view(i, e))
                .collect(),
        })
        .collect();
    let (coverage, coverage_totals) = view::coverage(report, ctx);
    let (exit_code, status) = view::status(report);
    let target_name = report.target.get("name").and_then(|n| n.as_str()).map(str::to_string);
    let page = Page {
        title: match &report.run.tested {
            Some(t) => format!("UMA 2.0 conformance: {t}"),
            None => "UMA 2.0 conformance report".to_string(),
        },
        report: serde_json::json!({
            "run": report.run,
            "summary": report.summary,
            "preflight": report.preflight,
            "baseline": report.baseline,
            "incomplete": report.incomplete,
        }),
        tested: report.run.tested.as_ref().map(ToString::to_string),
        target_name,
        exit_code,
        status,
        findings,
        role_names: roles.keys().cloned().collect(),
        roles: roles.into_iter().map(|(label, counts)| Row { label, counts }).collect(),
        areas: areas
            .into_iter()
            .map(|((r, a), counts)| Row {
                label: format!("{r} / {a}"),
                counts,
            })
            .collect(),
        area_names,
        scenarios,
        coverage,
        coverage_totals,
    };
    render_page("report.html", TEMPLATE, &page)
}

/// The head (CSP, shared style) both pages start with: `{% include "head.html" %}`.
const HEAD: &str = include_str!("templates/head.html");

/// Renders a page template (its name ends in `.html`: auto-escaped) over serializable data.
pub(super) fn render_page(name: &'static str, template: &'static str, data: &impl Serialize) -> String {
    let mut env = minijinja::Environment::new();
    let rendered = env
        .add_template("head.html", HEAD)
        .and_then(|()| env.add_template(name, template))
        .and_then(|()| env.get_template(name))
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(data))));
    match rendered {
        Ok(mut s) => {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        Err(e) => error_page(&e),
    }
}

fn error_page(e: &minijinja::Error) -> String {
    // A template error is a harness bug; the page still says so rather than vanishing.
    let text = e
        .to_string()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<!doctype html><meta charset=\"utf-8\"><title>report error</title><pre>{text}</pre>\n")
}
