//! What the human-facing formats (HTML, markdown, JUnit) compute from a report and the
//! catalogue: the requirement behind each check, the findings in order, counts per role and
//! area, per-requirement coverage and the exit status in words.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalogue::{Catalogue, Keyword, Requirement};
use crate::outcome::{CheckKind, CheckResult, Counts, Exchange, Report, ScenarioResult, Verdict};
use crate::status as run_exit;

/// What a renderer gets besides the (redacted) report.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The requirement catalogue: keyword, summary, spec URL, untestable and deferred reasons.
    pub catalogue: &'a Catalogue,
}

impl<'a> Context<'a> {
    /// A context over a catalogue.
    pub fn new(catalogue: &'a Catalogue) -> Self {
        Self { catalogue }
    }

    /// The requirement a check cites, if the catalogue has it.
    pub fn requirement(&self, c: &CheckResult) -> Option<&'a Requirement> {
        c.requirement.as_ref().and_then(|r| self.catalogue.get(r.as_str()))
    }
}

/// The keyword as the spec writes it (`MUST NOT`, `declarative`).
pub fn keyword_str(k: Keyword) -> &'static str {
    match k {
        Keyword::Must => "MUST",
        Keyword::MustNot => "MUST NOT",
        Keyword::Required => "REQUIRED",
        Keyword::Shall => "SHALL",
        Keyword::Should => "SHOULD",
        Keyword::ShouldNot => "SHOULD NOT",
        Keyword::Recommended => "RECOMMENDED",
        Keyword::May => "MAY",
        Keyword::Optional => "OPTIONAL",
        Keyword::Declarative => "declarative",
        Keyword::Example => "example",
    }
}

/// The keyword class coverage is counted by: `MUST`, `SHOULD`, `MAY`, `declarative`, `example`.
pub fn keyword_class(k: Keyword) -> &'static str {
    match k {
        Keyword::Must | Keyword::MustNot | Keyword::Required | Keyword::Shall => "MUST",
        Keyword::Should | Keyword::ShouldNot | Keyword::Recommended => "SHOULD",
        Keyword::May | Keyword::Optional => "MAY",
        Keyword::Declarative => "declarative",
        Keyword::Example => "example",
    }
}

/// The exit code of a report and what it means.
pub fn status(report: &Report) -> (i32, &'static str) {
    let code = run_exit::of(report);
    let words = match code {
        run_exit::PASS => "pass",
        run_exit::FAIL => "conformance failures",
        run_exit::CONFIG => "configuration problem",
        run_exit::ERROR => "could not test",
        run_exit::STALE => "stale baseline",
        _ => "unknown",
    };
    (code, words)
}

/// One finding (a failed, errored or warned check), in report order.
#[derive(Clone, Debug)]
pub struct Finding<'r> {
    /// Its scenario.
    pub scenario: &'r ScenarioResult,
    /// The index of the check in the scenario.
    pub index: usize,
    /// The check.
    pub check: &'r CheckResult,
}

/// Every failed check, then every errored one, then every warning; known failures (listed by
/// the baseline) after the new ones of the same verdict.
pub fn findings(report: &Report) -> Vec<Finding<'_>> {
    let mut out = Vec::new();
    for v in [Verdict::Fail, Verdict::Error, Verdict::Warn] {
        for known in [false, true] {
            for s in &report.scenarios {
                for (i, c) in s.checks.iter().enumerate() {
                    if c.verdict == v && report.known(s, Some(i)).is_some() == known {
                        out.push(Finding {
                            scenario: s,
                            index: i,
                            check: c,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Scenario counts per role, and per role and area.
pub fn per_role_and_area(report: &Report) -> (BTreeMap<String, Counts>, BTreeMap<(String, String), Counts>) {
    let mut roles: BTreeMap<String, Counts> = BTreeMap::new();
    let mut areas: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for s in &report.scenarios {
        roles.entry(s.role.as_str().to_string()).or_default().add(s.verdict);
        areas
            .entry((s.role.as_str().to_string(), s.area.clone()))
            .or_default()
            .add(s.verdict);
    }
    (roles, areas)
}

/// How a requirement fared in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// A check failed.
    Failed,
    /// A check could not be made.
    Error,
    /// A check warned.
    Warned,
    /// A person must look.
    Review,
    /// Every check passed.
    Passed,
    /// Every check (or the scenario citing it) was skipped, with the reason.
    Skipped,
    /// Testable, but no scenario of this run checks it.
    NotChecked,
    /// No black-box check can test it (the reason from the catalogue).
    Untestable,
    /// The harness does not check it yet (the reason from the catalogue).
    Deferred,
}

impl Coverage {
    /// `failed`, `passed`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Warned => "warned",
            Self::Review => "review",
            Self::Passed => "passed",
            Self::Skipped => "skipped",
            Self::NotChecked => "not-checked",
            Self::Untestable => "untestable",
            Self::Deferred => "deferred",
        }
    }
}

/// One requirement's coverage.
#[derive(Clone, Debug, Serialize)]
pub struct CoverageRow {
    /// Its ID.
    pub id: String,
    /// Its keyword.
    pub keyword: &'static str,
    /// Its keyword class.
    pub class: &'static str,
    /// The role it binds.
    pub role: String,
    /// A profile item (not UMA conformance).
    pub profile: bool,
    /// One line.
    pub summary: String,
    /// The spec URL.
    pub url: String,
    /// How it fared.
    pub status: Coverage,
    /// Why (skipped, untestable, deferred).
    pub reason: String,
    /// Checks made of it.
    pub checks: usize,
    /// The trials of the scenarios that checked it (or, when none did, that cite it and were
    /// skipped), for links into report.html.
    pub scenarios: Vec<String>,
}

/// Coverage counts of one keyword class.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CoverageTotals {
    /// `MUST`, `SHOULD`, ...
    pub class: &'static str,
    /// Requirements of the class (of the roles in the run).
    pub total: usize,
    /// Checked by at least one check that was made.
    pub tested: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Warned, needing review, or errored.
    pub other: usize,
    /// Skipped with a reason.
    pub skipped: usize,
    /// Not checked by this run.
    pub not_checked: usize,
    /// Untestable.
    pub untestable: usize,
    /// Deferred.
    pub deferred: usize,
}

/// Per-requirement coverage of the roles the report covers, in catalogue order, and the totals
/// per keyword class.
pub fn coverage(report: &Report, ctx: &Context<'_>) -> (Vec<CoverageRow>, Vec<CoverageTotals>) {
    let roles: BTreeSet<_> = report.scenarios.iter().map(|s| s.role.as_str().to_string()).collect();
    let mut checks: BTreeMap<&str, Vec<(&ScenarioResult, &CheckResult)>> = BTreeMap::new();
    let mut cited_by_skipped: BTreeMap<&str, &ScenarioResult> = BTreeMap::new();
    for s in &report.scenarios {
        for c in &s.checks {
            if let Some(r) = &c.requirement {
                checks.entry(r.as_str()).or_default().push((s, c));
            }
        }
        if s.checks.is_empty() && s.verdict == Verdict::Skip {
            for r in &s.requirements {
                cited_by_skipped.entry(r.as_str()).or_insert(s);
            }
        }
    }
    let mut rows = Vec::new();
    for r in ctx.catalogue.iter() {
        if !roles.contains(r.role.as_str()) {
            continue;
        }
        let made = checks.get(r.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let worst = made.iter().map(|(_, c)| c.verdict).max();
        let all_skipped = !made.is_empty() && made.iter().all(|(_, c)| c.verdict == Verdict::Skip);
        let (status, reason) = if let Some(u) = &r.untestable {
            (Coverage::Untestable, u.clone())
        } else if let Some(d) = &r.deferred {
            (Coverage::Deferred, d.clone())
        } else if made.is_empty() {
            match cited_by_skipped.get(r.id.as_str()) {
                Some(s) => (Coverage::Skipped, s.reason.clone().unwrap_or_default()),
                None => (Coverage::NotChecked, String::new()),
            }
        } else if all_skipped {
            let (s, c) = made[0];
            (Coverage::Skipped, s.reason.clone().unwrap_or_else(|| c.actual.clone()))
        } else {
            let st = match worst {
                Some(Verdict::Fail) => Coverage::Failed,
                Some(Verdict::Error) => Coverage::Error,
                Some(Verdict::Warn) => Coverage::Warned,
                Some(Verdict::Review) => Coverage::Review,
                _ => Coverage::Passed,
            };
            (st, String::new())
        };
        let mut scenarios: Vec<String> = made.iter().map(|(s, _)| s.trial.clone()).collect();
        if made.is_empty()
            && let Some(s) = cited_by_skipped.get(r.id.as_str())
        {
            scenarios.push(s.trial.clone());
        }
        scenarios.dedup();
        rows.push(CoverageRow {
            id: r.id.to_string(),
            keyword: keyword_str(r.keyword),
            class: keyword_class(r.keyword),
            role: r.role.as_str().to_string(),
            profile: r.is_profile(),
            summary: r.summary.clone(),
            url: r.url.clone(),
            status,
            reason,
            checks: made.len(),
            scenarios,
        });
    }
    let mut totals: Vec<CoverageTotals> = ["MUST", "SHOULD", "MAY", "declarative", "example"]
        .into_iter()
        .map(|class| CoverageTotals {
            class,
            ..CoverageTotals::default()
        })
        .collect();
    for row in &rows {
        let Some(t) = totals.iter_mut().find(|t| t.class == row.class) else {
            continue;
        };
        t.total += 1;
        match row.status {
            Coverage::Passed => t.passed += 1,
            Coverage::Failed => t.failed += 1,
            Coverage::Warned | Coverage::Review | Coverage::Error => t.other += 1,
            Coverage::Skipped => t.skipped += 1,
            Coverage::NotChecked => t.not_checked += 1,
            Coverage::Untestable => t.untestable += 1,
            Coverage::Deferred => t.deferred += 1,
        }
        if matches!(
            row.status,
            Coverage::Passed | Coverage::Failed | Coverage::Warned | Coverage::Review | Coverage::Error
        ) {
            t.tested += 1;
        }
    }
    totals.retain(|t| t.total > 0);
    (rows, totals)
}

/// Whether a check counts towards UMA conformance (not a profile, not the harness).
pub fn is_uma(c: &CheckResult) -> bool {
    c.kind == CheckKind::Uma
}

/// An exchange's request as text: request line, headers, blank line, body.
pub fn request_text(e: &Exchange) -> String {
    let mut out = format!("{} {}\n", e.method, e.url);
    for (k, v) in &e.request_headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    if let Some(b) = &e.request_body {
        out.push('\n');
        out.push_str(b);
    }
    out
}

/// An exchange's response as text: status, headers, blank line, body (or the transport error).
pub fn response_text(e: &Exchange) -> String {
    let mut out = match (e.status, &e.transport_error) {
        (Some(s), _) => format!("HTTP {s}\n"),
        (None, Some(t)) => format!("no response: {t}\n"),
        (None, None) => "no response\n".to_string(),
    };
    for (k, v) in &e.response_headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    if let Some(b) = &e.response_body {
        out.push('\n');
        out.push_str(b);
    }
    out
}

/// Cuts a text to at most `max` bytes (at a character boundary), saying how much was left out.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes]", &s[..end], s.len() - end)
}
