//! `selftest`: the two proofs of the checks.
//!
//! - **Sensitivity**: per quirk, the suite of the quirk's role runs against the reference
//!   component that commits it (AS, RS or client). Every testable requirement of every role must
//!   be broken by some quirk whose run fails a check citing it, and no quirk run may fail checks
//!   of unrelated requirements (collateral a quirk declares aside).
//! - **Specificity**: per variant (a conformant alternative the specs allow), the suite of the
//!   variant's role runs against the reference component that takes it. It must give no `fail`,
//!   `warn` or `error` the plain reference does not give: no check fails a conformant target,
//!   and a capability the variant takes away turns its scenarios into `skip`, never `error`.
//!
//! Every suite also runs once against the plain reference, which must pass everything. A quirk
//! that shows only over TLS (`Quirk::needs_tls`) runs against the reference served over TLS
//! (`RunRequest::tls`), so the TLS checks are judged, not skipped.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use uma_reference_server::Quirk;
use uma_reference_server::variants::Variant;

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

/// One variant's run.
#[derive(Clone, Debug, Serialize)]
pub struct VariantRun {
    /// The variant.
    pub variant: String,
    /// Its role.
    pub role: String,
    /// The requirements or digest pitfalls whose freedom it takes.
    pub freedoms: Vec<String>,
    /// Findings (`trial: verdict requirement: title`) the plain reference does not give: must be
    /// empty.
    pub new_findings: Vec<String>,
    /// Scenarios skipped under the variant that ran against the plain reference (a capability
    /// it takes away), with the reason.
    pub newly_skipped: Vec<String>,
    /// Whether the variant's run gave nothing the plain reference does not.
    pub clean: bool,
}

/// `selftest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Selftest {
    /// Whether the selftest passed (both proofs).
    pub passed: bool,
    /// Failed requirements of the run without quirks (must be empty).
    pub baseline_failures: BTreeMap<String, Vec<String>>,
    /// The sensitivity proof: one entry per quirk.
    pub quirks: Vec<QuirkRun>,
    /// The specificity proof: one entry per variant.
    pub variants: Vec<VariantRun>,
    /// Testable requirements (every role) no quirk run failed.
    pub uncovered: Vec<String>,
    /// Testable requirements (every role) that no scenario checks at all.
    pub unchecked: Vec<String>,
    /// Requirements exempt from the proof, with the reason.
    pub exempt: BTreeMap<String, String>,
}

/// Requirements the embedded reference cannot be shown to break. MAY and OPTIONAL requirements
/// are added by [`run`] from the catalogue.
pub fn exempt() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
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

/// What a selftest runs: every quirk and every variant, or only those named.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these quirks (`None`: every quirk).
    pub quirks: Option<Vec<Quirk>>,
    /// Only these variants (`None`: every variant).
    pub variants: Option<Vec<Variant>>,
}

/// The findings of a report that judge the target: `trial: verdict requirement: title`.
fn findings(report: &Report) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in &report.scenarios {
        if s.verdict == Verdict::Error && s.checks.iter().all(|c| c.verdict != Verdict::Error) {
            out.insert(format!("{}: error", s.trial), s.reason.clone().unwrap_or_default());
        }
        for c in &s.checks {
            if matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error) {
                out.insert(
                    format!(
                        "{}: {} {}: {}",
                        s.trial,
                        c.verdict.as_str(),
                        c.requirement_str(),
                        c.title
                    ),
                    c.actual.clone(),
                );
            }
        }
    }
    out
}

/// One run of the selftest: the plain reference, or the reference with one quirk or variant.
#[derive(Clone, Copy, Debug)]
enum Trial {
    Plain,
    Quirk(Quirk),
    Variant(Variant),
}

/// How many AS and RS runs go at once. Against the embedded reference nothing sleeps (its test
/// clock, a world per RS and client scenario), so such a run is CPU-bound: more at once would
/// only interleave.
const AT_ONCE: usize = 4;

/// How many client runs go at once, besides the AS and RS runs: a client run mostly waits (the
/// client's polling interval, quiet windows), so client runs have a pool of their own whose
/// waits overlap the others' work instead of holding their places.
const CLIENTS_AT_ONCE: usize = 4;

/// Runs every trial in two pools (AS and RS runs, [`AT_ONCE`]; client runs,
/// [`CLIENTS_AT_ONCE`]); the results come back in the order given.
async fn runs(req: &RunRequest, trials: Vec<Trial>) -> Result<Vec<(Trial, Report)>, RunError> {
    use std::sync::Arc;
    use tokio::sync::Semaphore;
    use uma_reference_server::Role;
    let cpu = Arc::new(Semaphore::new(AT_ONCE));
    let clients = Arc::new(Semaphore::new(CLIENTS_AT_ONCE));
    let mut set = tokio::task::JoinSet::new();
    let failed = |e: tokio::task::JoinError| RunError::Embedded(format!("a selftest run failed: {e}"));
    for (i, trial) in trials.into_iter().enumerate() {
        let mut r = req.clone();
        let role = match trial {
            Trial::Plain => None,
            Trial::Quirk(q) => {
                r.quirks = vec![q];
                r.roles = vec![q.role()];
                r.tls = q.needs_tls();
                Some(q.role())
            }
            Trial::Variant(v) => {
                r.variants = vec![v];
                r.roles = vec![v.role()];
                Some(v.role())
            }
        };
        let pool = if role == Some(Role::Client) {
            clients.clone()
        } else {
            cpu.clone()
        };
        // Each run has servers of its own, so the order they start in does not matter.
        set.spawn(async move {
            let _permit = pool.acquire_owned().await;
            (i, trial, super::run(&r).await)
        });
    }
    let mut results = Vec::new();
    while let Some(j) = set.join_next().await {
        results.push(j.map_err(failed)?);
    }
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, t, r)| r.map(|r| (t, r))).collect()
}

/// Runs the selftest: both proofs over the selection.
pub async fn run(base: &RunRequest, selection: &Selection) -> Result<Selftest, RunError> {
    let catalogue = Catalogue::load(&base.catalogue)?;
    let mut req = base.clone();
    req.strict = true;
    req.target = None;
    req.quirks = Vec::new();
    req.roles = Vec::new();
    let quirks: Vec<Quirk> = selection.quirks.clone().unwrap_or_else(|| Quirk::ALL.to_vec());
    let variants: Vec<Variant> = selection.variants.clone().unwrap_or_else(|| Variant::ALL.to_vec());
    let trials = std::iter::once(Trial::Plain)
        .chain(quirks.iter().map(|q| Trial::Quirk(*q)))
        .chain(variants.iter().map(|v| Trial::Variant(*v)));
    let mut baseline = None;
    let mut results = Vec::new();
    let mut variant_results = Vec::new();
    for (t, report) in runs(&req, trials.collect()).await? {
        match t {
            Trial::Plain => baseline = Some(report),
            Trial::Quirk(q) => results.push((q, report)),
            Trial::Variant(v) => variant_results.push((v, report)),
        }
    }
    let baseline = baseline.ok_or_else(|| RunError::Embedded("the plain reference did not run".into()))?;
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
    let mut quirk_runs = Vec::new();
    let mut broken = BTreeSet::new();
    for (q, report) in results {
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
        quirk_runs.push(QuirkRun {
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
    let variants = specificity(&baseline, variant_results);
    let passed = baseline_failures.is_empty()
        && uncovered.is_empty()
        && quirk_runs.iter().all(|r| r.detected && r.unrelated.is_empty())
        && variants.iter().all(|v| v.clean);
    Ok(Selftest {
        passed,
        baseline_failures,
        quirks: quirk_runs,
        variants,
        uncovered,
        unchecked,
        exempt,
    })
}

/// The specificity proof: every variant's run against the plain reference's.
fn specificity(baseline: &Report, results: Vec<(Variant, Report)>) -> Vec<VariantRun> {
    let plain = findings(baseline);
    let plain_skips: BTreeSet<&str> = baseline
        .scenarios
        .iter()
        .filter(|s| s.verdict == Verdict::Skip)
        .map(|s| s.trial.as_str())
        .collect();
    results
        .into_iter()
        .map(|(v, report)| {
            let new_findings: Vec<String> = findings(&report)
                .into_iter()
                .filter(|(k, _)| !plain.contains_key(k))
                .map(|(k, actual)| format!("{k} (actual: {actual})"))
                .collect();
            let newly_skipped: Vec<String> = report
                .scenarios
                .iter()
                .filter(|s| s.verdict == Verdict::Skip && !plain_skips.contains(s.trial.as_str()))
                .map(|s| format!("{}: {}", s.trial, s.reason.clone().unwrap_or_default()))
                .collect();
            VariantRun {
                variant: v.name().into(),
                role: v.role().as_str().into(),
                freedoms: v.freedoms().iter().map(|f| f.to_string()).collect(),
                clean: new_findings.is_empty(),
                new_findings,
                newly_skipped,
            }
        })
        .collect()
}
