//! `junit.xml`: one testsuite per role, one testcase per scenario.
//!
//! - A failure or error names the requirement and its keyword in its message, and its text gives
//!   each failed check with the spec URL, where, expected, actual and the exchange behind it.
//! - Warnings (SHOULD, declarative without `--strict`) stay successes (they do not fail a run)
//!   and are written where GitLab's and GitHub's JUnit views show them: the testcase's
//!   `system-out`, and one `warning` property per warned check.
//! - A failure the baseline lists is a `skipped` testcase whose message says so and why.
//! - When the preflight stops a run, every testcase says why (the problems and their fixes).
//! - The testsuite's properties say what was tested (product, version) and by what harness.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report as JReport, TestCase, TestCaseStatus, TestSuite};

use super::view::{self, Context};
use crate::outcome::{Report, ScenarioResult, Severity, Verdict};
use crate::uma::Role;

/// Exchanges in a failure's text are cut to this many bytes each way.
const MAX_EXCHANGE_TEXT: usize = 4 * 1024;

fn check_text(report: &Report, ctx: &Context<'_>, s: &ScenarioResult, i: usize) -> String {
    let c = &s.checks[i];
    let req = ctx.requirement(c);
    let mut out = format!(
        "{} [{}]{} {}",
        c.requirement_str(),
        c.verdict.as_str(),
        req.map(|r| format!(" {}", view::keyword_str(r.keyword)))
            .unwrap_or_default(),
        c.title
    );
    if let Some(r) = req {
        out.push_str(&format!("\n  spec: {}", r.url));
    }
    out.push_str(&format!(
        "\n  --> {}\n  expected: {}\n    actual: {}",
        c.location, c.expected, c.actual
    ));
    if let Some(k) = report.known(s, Some(i)) {
        out.push_str(&format!("\n  known failure (baseline): {}", k.reason));
    }
    if let Some(e) = c.exchange.and_then(|x| s.exchanges.get(x)) {
        out.push_str("\n  exchange:\n");
        for line in view::cut(&view::request_text(e), MAX_EXCHANGE_TEXT).lines() {
            out.push_str(&format!("    > {line}\n"));
        }
        for line in view::cut(&view::response_text(e), MAX_EXCHANGE_TEXT).lines() {
            out.push_str(&format!("    < {line}\n"));
        }
    }
    out
}

/// Renders the JUnit XML of a report.
pub fn render(report: &Report, ctx: &Context<'_>) -> String {
    let mut out = JReport::new("uma-conformance");
    let preflight_stop: Option<String> = report.preflight.blocks().then(|| {
        report
            .preflight
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| format!("{} (fix: {})", p.what, p.fix))
            .collect::<Vec<_>>()
            .join("; ")
    });
    let mut roles: Vec<Role> = report.scenarios.iter().map(|s| s.role).collect();
    roles.sort();
    roles.dedup();
    for role in roles {
        let mut suite = TestSuite::new(role.as_str());
        suite.add_property(Property::new(
            "harness",
            format!("{} {}", report.run.harness, report.run.version),
        ));
        if let Some(t) = &report.run.tested {
            suite.add_property(Property::new("product", t.product.clone()));
            if let Some(v) = &t.version {
                suite.add_property(Property::new("product_version", v.clone()));
            }
        }
        suite.add_property(Property::new("suites_hash", report.run.suites_hash.clone()));
        if let Some(b) = &report.baseline {
            suite.add_property(Property::new("baseline", b.file.clone()));
        }
        if report.incomplete {
            suite.add_property(Property::new("incomplete", "true"));
        }
        if let Some(w) = &report.run.insecure_tls {
            suite.add_property(Property::new("WARNING", w.clone()));
            suite.set_system_err(format!("WARNING: {w}"));
        }
        for s in report.scenarios.iter().filter(|s| s.role == role) {
            suite.add_test_case(case(report, ctx, s, preflight_stop.as_deref()));
        }
        out.add_test_suite(suite);
    }
    out.to_string().unwrap_or_default()
}

fn case(report: &Report, ctx: &Context<'_>, s: &ScenarioResult, preflight_stop: Option<&str>) -> TestCase {
    let bad: Vec<usize> = (0..s.checks.len())
        .filter(|&i| matches!(s.checks[i].verdict, Verdict::Fail | Verdict::Error))
        .collect();
    let warned: Vec<usize> = (0..s.checks.len())
        .filter(|&i| s.checks[i].verdict == Verdict::Warn)
        .collect();
    let all_known = if bad.is_empty() {
        report.known(s, None)
    } else {
        bad.iter()
            .map(|&i| report.known(s, Some(i)))
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.into_iter().next())
    };
    let failing = matches!(s.verdict, Verdict::Fail | Verdict::Error);
    let mut status = match (s.verdict, failing.then_some(all_known).flatten()) {
        (_, Some(_)) => TestCaseStatus::skipped(),
        (Verdict::Fail, None) => TestCaseStatus::non_success(NonSuccessKind::Failure),
        (Verdict::Error, None) => TestCaseStatus::non_success(NonSuccessKind::Error),
        (Verdict::Skip, None) => TestCaseStatus::skipped(),
        _ => TestCaseStatus::success(),
    };
    if failing {
        let first = bad
            .iter()
            .copied()
            .find(|&i| s.checks[i].verdict == s.verdict)
            .or(bad.first().copied());
        let mut message = match first {
            Some(i) => {
                let c = &s.checks[i];
                let keyword = ctx
                    .requirement(c)
                    .map(|r| format!(" {}", view::keyword_str(r.keyword)))
                    .unwrap_or_default();
                status.set_type(c.requirement_str().to_string());
                format!("{}{keyword} {}: {}", c.requirement_str(), c.verdict.as_str(), c.title)
            }
            None => s.reason.clone().unwrap_or_else(|| s.verdict.as_str().to_string()),
        };
        if let Some(why) = preflight_stop {
            message = format!("not run: the preflight stopped the run: {why}");
        }
        if let Some(k) = all_known {
            message = format!("known failure (baseline: {}): {message}", k.reason);
        }
        status.set_message(message);
        let mut detail: Vec<String> = bad.iter().map(|&i| check_text(report, ctx, s, i)).collect();
        if let Some(r) = &s.reason {
            detail.insert(0, format!("reason: {r}"));
        }
        if let Some(why) = preflight_stop {
            detail.insert(0, format!("preflight: {why}"));
        }
        status.set_description(detail.join("\n"));
    } else if s.verdict == Verdict::Skip
        && let Some(r) = &s.reason
    {
        status.set_message(r.clone());
    }
    let mut case = TestCase::new(s.trial.clone(), status);
    case.set_classname(format!("{}.{}", s.role, s.area));
    case.set_time(Duration::from_millis(s.duration_ms));
    if !warned.is_empty() {
        case.set_system_out(
            warned
                .iter()
                .map(|&i| format!("warning: {}", check_text(report, ctx, s, i)))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        for &i in &warned {
            let c = &s.checks[i];
            case.add_property(Property::new(
                "warning",
                format!("{}: {}", c.requirement_str(), c.title),
            ));
        }
    }
    case
}
