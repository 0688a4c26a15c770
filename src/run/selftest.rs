//! `selftest`: proof that the checks can fail. Every suite runs against the reference
//! implementation once cleanly and, per quirk, the suite of the quirk's role runs against the
//! reference component that commits it (AS, RS or client). Every testable requirement of every
//! role must be broken by some quirk whose run fails a check citing it, and no quirk run may fail
//! checks of unrelated requirements (collateral a quirk declares aside).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use uma_reference_server::Quirk;

use super::{RunError, RunRequest};
use crate::catalogue::{Catalogue, Keyword};
use crate::outcome::{Report, Verdict};

/// One quirk's run.
#[derive(Clone, Debug, Serialize)]
pub struct QuirkRun {
    /// The quirk.
    pub quirk: String,
    /// The requirement it breaks.
    pub breaks: String,
    /// Declared collateral.
    pub collateral: Vec<String>,
    /// Requirements with failed (or warned) checks, with the scenarios.
    pub failed: BTreeMap<String, Vec<String>>,
    /// Whether a check citing `breaks` failed.
    pub detected: bool,
    /// Failed requirements neither broken nor declared.
    pub unrelated: Vec<String>,
    /// Scenarios that ended in `error`.
    pub errors: Vec<String>,
}

/// `selftest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Selftest {
    /// Whether the selftest passed.
    pub passed: bool,
    /// Failed requirements of the run without quirks (must be empty).
    pub baseline_failures: BTreeMap<String, Vec<String>>,
    /// One entry per quirk.
    pub quirks: Vec<QuirkRun>,
    /// Testable requirements (every role) no quirk run failed.
    pub uncovered: Vec<String>,
    /// Testable requirements (every role) that no scenario checks at all.
    pub unchecked: Vec<String>,
    /// Requirements exempt from the proof, with the reason.
    pub exempt: BTreeMap<String, String>,
}

/// Requirements the embedded (plain-http, loopback) reference cannot be shown to break. MAY and
/// OPTIONAL requirements are added by [`run`] from the catalogue.
pub fn exempt() -> BTreeMap<String, String> {
    let why = "needs TLS; the embedded reference AS runs on plain http over loopback";
    let mut m: BTreeMap<String, String> = ["F-AS-01", "R8414-03", "R9700-12", "G-ALL-03"]
        .iter()
        .map(|r| (r.to_string(), why.to_string()))
        .collect();
    for (r, why) in [
        (
            "R9207-07",
            "binds only clients that do not implement RFC 9207; the reference client implements it (the check runs for clients that do not claim profile:icg-iss)",
        ),
        (
            "ISS-06",
            "binds only clients outside the icg-iss profile; the reference client is inside it (the check runs for clients that do not claim it)",
        ),
    ] {
        m.insert(r.to_string(), why.to_string());
    }
    m
}

fn failed(report: &Report) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut errors = Vec::new();
    for s in &report.scenarios {
        if s.verdict == Verdict::Error {
            errors.push(s.trial.clone());
        }
        for c in &s.checks {
            if let Some(req) = &c.requirement
                && matches!(c.verdict, Verdict::Fail | Verdict::Warn)
            {
                let e = out.entry(req.to_string()).or_default();
                if !e.contains(&s.trial) {
                    e.push(s.trial.clone());
                }
            }
        }
    }
    (out, errors)
}

/// Runs the selftest over `quirks` (all quirks if empty).
pub async fn run(base: &RunRequest, quirks: &[Quirk]) -> Result<Selftest, RunError> {
    let catalogue = Catalogue::load(&base.catalogue)?;
    let mut req = base.clone();
    req.strict = true;
    req.target = None;
    req.quirks = Vec::new();
    req.roles = Vec::new();
    let baseline = super::run(&req).await?;
    let (baseline_failures, _) = failed(&baseline);
    let checked: BTreeSet<String> = baseline
        .scenarios
        .iter()
        .flat_map(|s| {
            s.checks
                .iter()
                .filter(|c| c.verdict != Verdict::Error)
                .filter_map(|c| c.requirement.as_ref().map(ToString::to_string))
        })
        .collect();
    let list: Vec<Quirk> = if quirks.is_empty() {
        Quirk::ALL.to_vec()
    } else {
        quirks.to_vec()
    };
    let mut set = tokio::task::JoinSet::new();
    let mut results = Vec::new();
    for (i, q) in list.iter().copied().enumerate() {
        let mut r = req.clone();
        r.quirks = vec![q];
        r.roles = vec![q.role()];
        set.spawn(async move { (i, q, super::run(&r).await) });
        if set.len() >= 4
            && let Some(j) = set.join_next().await
        {
            // bounded: at most four embedded servers at once
            results.push(j.map_err(|e| RunError::Embedded(format!("a quirk run failed: {e}")))?);
        }
    }
    while let Some(j) = set.join_next().await {
        results.push(j.map_err(|e| RunError::Embedded(format!("a quirk run failed: {e}")))?);
    }
    results.sort_by_key(|(i, _, _)| *i);
    let mut runs = Vec::new();
    let mut broken = BTreeSet::new();
    for (_, q, report) in results {
        let report = report?;
        let (f, errors) = failed(&report);
        let collateral: Vec<String> = q.collateral().iter().map(|s| s.to_string()).collect();
        let unrelated: Vec<String> = f
            .keys()
            .filter(|k| k.as_str() != q.requirement() && !collateral.contains(k))
            .cloned()
            .collect();
        for k in f.keys() {
            if k == q.requirement() || collateral.contains(k) {
                broken.insert(k.clone());
            }
        }
        runs.push(QuirkRun {
            quirk: q.name().into(),
            breaks: q.requirement().into(),
            collateral,
            detected: f.contains_key(q.requirement()),
            failed: f,
            unrelated,
            errors,
        });
    }
    let mut exempt = exempt();
    for r in catalogue
        .iter()
        .filter(|r| matches!(r.keyword, Keyword::May | Keyword::Optional))
    {
        exempt.insert(
            r.id.to_string(),
            "MAY: a permission, not an obligation; nothing can violate it (scenarios record the choice)".into(),
        );
    }
    let testable: Vec<String> = catalogue
        .iter()
        .filter(|r| r.is_testable() && !exempt.contains_key(r.id.as_str()))
        .map(|r| r.id.to_string())
        .collect();
    let uncovered: Vec<String> = testable.iter().filter(|r| !broken.contains(*r)).cloned().collect();
    let unchecked: Vec<String> = testable.iter().filter(|r| !checked.contains(*r)).cloned().collect();
    let passed = baseline_failures.is_empty()
        && uncovered.is_empty()
        && runs.iter().all(|r| r.detected && r.unrelated.is_empty());
    Ok(Selftest {
        passed,
        baseline_failures,
        quirks: runs,
        uncovered,
        unchecked,
        exempt,
    })
}
