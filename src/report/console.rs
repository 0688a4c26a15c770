//! Console rendering: a line per scenario, and for each failure the scenario file and step,
//! the requirement, expected and actual (STYLE rule 3).

use std::fmt::Write;

use crate::outcome::{CheckResult, Report, ScenarioResult, Verdict};

/// One line for a finished scenario.
pub fn line(s: &ScenarioResult) -> String {
    let mut l = format!("{:>5}  {}", s.verdict.as_str().to_uppercase(), s.trial);
    if let Some(r) = &s.reason
        && s.verdict == Verdict::Skip
    {
        let _ = write!(l, " ({r})");
    }
    l
}

/// A failure (or warning, or error) rendered hurl-style.
pub fn finding(s: &ScenarioResult, c: &CheckResult, spec_url: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}[{}]: {}", c.verdict.as_str(), c.requirement_str(), c.title);
    let _ = writeln!(out, "  --> {}", c.location);
    let _ = writeln!(out, "   |  scenario {} (step {})", s.id, c.step + 1);
    if !c.expected.is_empty() {
        let _ = writeln!(out, "   |  expected: {}", c.expected);
    }
    let _ = writeln!(out, "   |    actual: {}", c.actual);
    if let Some(u) = spec_url {
        let _ = writeln!(out, "   = spec: {u}");
    }
    out
}

/// Every finding of a report, failures first, then errors, then warnings; a failure the
/// baseline lists says so.
pub fn findings(report: &Report, url_of: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for v in [Verdict::Fail, Verdict::Error, Verdict::Warn] {
        for s in &report.scenarios {
            for (i, c) in s.checks.iter().enumerate().filter(|(_, c)| c.verdict == v) {
                out.push_str(&finding(
                    s,
                    c,
                    c.requirement.as_ref().and_then(|r| url_of(r.as_str())).as_deref(),
                ));
                if let Some(k) = report.known(s, Some(i)) {
                    let _ = writeln!(out, "   = known failure (baseline): {}", k.reason);
                }
                out.push('\n');
            }
        }
    }
    out
}

/// The closing summary.
pub fn summary(report: &Report) -> String {
    let s = &report.summary;
    let warning = report
        .run
        .insecure_tls
        .as_ref()
        .map(|w| format!("WARNING: {w}\n"))
        .unwrap_or_default();
    let mut out = format!(
        "{warning}scenarios: {} pass, {} fail, {} warn, {} error, {} skip\nchecks:    {} pass, {} fail, {} warn, {} error, {} skip",
        s.scenarios.pass,
        s.scenarios.fail,
        s.scenarios.warn,
        s.scenarios.error,
        s.scenarios.skip,
        s.checks.pass,
        s.checks.fail,
        s.checks.warn,
        s.checks.error,
        s.checks.skip
    );
    if s.profile_checks.total() > 0 {
        let p = &s.profile_checks;
        let _ = write!(
            out,
            "\nprofile checks (not UMA conformance): {} pass, {} fail, {} warn, {} skip",
            p.pass, p.fail, p.warn, p.skip
        );
        if p.fail > 0 && !report.run.gate_profiles {
            out.push_str(" (they do not set the exit code; --gate-profiles makes them)");
        }
    }
    if s.harness_errors > 0 {
        let _ = write!(
            out,
            "\nharness errors (could not test, not conformance): {}",
            s.harness_errors
        );
    }
    if !s.slowest.is_empty() {
        let slowest: Vec<String> = s
            .slowest
            .iter()
            .take(5)
            .map(|t| format!("{} {} ms", t.trial, t.duration_ms))
            .collect();
        let _ = write!(
            out,
            "\ntime: {} ms; slowest scenarios: {}",
            report.run.duration_ms,
            slowest.join(", ")
        );
    }
    for p in &report.preflight.problems {
        let sev = match p.severity {
            crate::outcome::Severity::Error => "error",
            crate::outcome::Severity::Warning => "warning",
        };
        let _ = write!(out, "\npreflight {sev}: {}\n  fix: {}", p.what, p.fix);
    }
    out
}
