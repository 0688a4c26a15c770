//! Hand-built reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use uma_conformance::outcome::{CheckKind, CheckResult, Exchange, RequirementId, RunInfo, Tested, scenario_verdict};
use uma_conformance::{Report, Role, ScenarioResult, Verdict};

pub(crate) fn check(requirement: &str, verdict: Verdict, title: &str) -> CheckResult {
    CheckResult {
        requirement: Some(RequirementId::new(requirement)),
        kind: CheckKind::Uma,
        title: title.into(),
        verdict,
        expected: "a ticket ≠ the presented one".into(),
        actual: "the same ticket came back".into(),
        location: "suites/as/ticket/x.yaml:3:5".into(),
        step: 1,
        exchange: Some(0),
    }
}

pub(crate) fn exchange(body: &str) -> Exchange {
    Exchange {
        step: 1,
        method: "POST".into(),
        url: "http://127.0.0.1:9/token".into(),
        request_headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        request_body: Some("grant_type=x".into()),
        status: Some(403),
        response_headers: vec![("content-type".into(), "application/json".into())],
        response_body: Some(body.into()),
        ..Exchange::default()
    }
}

pub(crate) fn scenario(id: &str, checks: Vec<CheckResult>) -> ScenarioResult {
    let role: Role = id.split('/').next().unwrap_or("as").parse().unwrap_or(Role::As);
    let area = id.split('/').nth(1).unwrap_or("x").to_string();
    ScenarioResult {
        id: id.into(),
        trial: id.replace('/', "::"),
        role,
        area,
        title: format!("scenario {id}"),
        file: format!("suites/{id}.yaml"),
        requirements: checks.iter().filter_map(|c| c.requirement.clone()).collect(),
        verdict: scenario_verdict(&checks),
        reason: None,
        duration_ms: 3,
        choices: Default::default(),
        checks,
        exchanges: vec![exchange(r#"{"error":"need_info"}"#)],
    }
}

pub(crate) fn report(scenarios: Vec<ScenarioResult>) -> Report {
    let mut r = Report {
        schema: uma_conformance::outcome::REPORT_SCHEMA.into(),
        run: RunInfo {
            harness: "uma-conformance".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: "2026-12-06T00:00:00Z".into(),
            suites_hash: "ab".repeat(32),
            tested: Some(Tested {
                product: "ACME AS".into(),
                version: Some("4.2".into()),
            }),
            ..RunInfo::default()
        },
        target: serde_json::json!({"name": "acme", "role": "as", "product": "ACME AS", "version": "4.2"}),
        scenarios,
        ..Report::default()
    };
    r.summarise();
    r
}

/// A scenario `as/ticket/rotates` whose T-04 check has this verdict, and a passing one.
pub(crate) fn two(verdict: Verdict) -> Report {
    report(vec![
        scenario(
            "as/ticket/rotates",
            vec![
                check("T-04", verdict, "the new ticket differs"),
                check("T-01", Verdict::Pass, "a ticket is issued"),
            ],
        ),
        scenario("as/discovery/doc", vec![check("G-AS-01", Verdict::Pass, "discovery")]),
    ])
}

pub(crate) fn write_json(dir: &Path, name: &str, r: &Report) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(r).unwrap()).unwrap();
    p
}

pub(crate) fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_uma-conformance"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
