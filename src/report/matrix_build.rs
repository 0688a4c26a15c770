//! Building the interop matrix ([`super::matrix::Matrix`]) from reports read back: one column
//! per report, one row per requirement (catalogue order) or scenario, each cell the report's
//! verdict; the agreement of each row and each implementation's scores.

use std::collections::{BTreeMap, BTreeSet};

use super::matrix::{
    Agreement, Axis, Cell, CellStatus, Implementation, Input, MATRIX_SCHEMA, Matrix, Row, Score, Scores,
};
use super::view::{self, Context, Coverage, CoverageRow};
use crate::catalogue::Requirement;
use crate::outcome::{Report, ScenarioResult};
use crate::uma::Role;

/// The roles a report tested: those of its scenarios, or the target's `role` when none ran.
pub fn roles_of(report: &Report) -> Vec<Role> {
    let mut roles: BTreeSet<Role> = report.scenarios.iter().map(|s| s.role).collect();
    if roles.is_empty()
        && let Some(r) = report.target.get("role").and_then(|r| r.as_str())
        && let Some(role) = Role::ALL.into_iter().find(|x| x.as_str() == r)
    {
        roles.insert(role);
    }
    Role::ALL.into_iter().filter(|r| roles.contains(r)).collect()
}

/// Builds the matrix of some reports, each read back and checked by `matrix_input`.
pub fn build(inputs: &[Input], ctx: &Context<'_>, by: Axis, catalogue_hash: &str) -> Matrix {
    let columns: Vec<Column<'_>> = inputs.iter().map(|i| Column::of(i, ctx)).collect();
    let names = super::matrix_input::labels(inputs);
    let mut implementations = Vec::new();
    for (n, (col, (label, product, version, named_by))) in columns.iter().zip(names).enumerate() {
        let input = col.input;
        let (exit_code, status) = view::status(&input.report);
        let mut scores = Scores::default();
        for r in ctx.catalogue.iter().filter(|r| r.is_testable()) {
            let score = if r.is_profile() {
                &mut scores.profile
            } else {
                match view::keyword_class(r.keyword) {
                    "MUST" => &mut scores.must,
                    "SHOULD" => &mut scores.should,
                    "declarative" => &mut scores.declarative,
                    _ => continue,
                }
            };
            if col.roles.contains(&r.role) {
                score.add(col.requirement_cell(r).status);
            }
        }
        implementations.push(Implementation {
            id: format!("i{}", n + 1),
            label,
            product,
            version,
            named_by,
            quirks: input.report.run.quirks.clone(),
            variants: input.report.run.variants.clone(),
            roles: col.roles.clone(),
            strict: input.report.run.strict,
            incomplete: input.report.incomplete,
            shard: input.report.run.shard.clone(),
            report: input.file.clone(),
            html: input.html.clone(),
            exit_code,
            status: status.to_string(),
            scores,
        });
    }
    let rows = match by {
        Axis::Requirement => requirement_rows(&columns, ctx),
        Axis::Scenario => scenario_rows(&columns),
    };
    Matrix {
        schema: MATRIX_SCHEMA.into(),
        harness: env!("CARGO_PKG_NAME").into(),
        version: super::merge::HARNESS_VERSION.into(),
        catalogue_hash: catalogue_hash.into(),
        by,
        split: rows
            .iter()
            .filter(|r| r.agreement == Agreement::Split)
            .map(|r| r.key.clone())
            .collect(),
        notes: super::matrix_input::notes(inputs),
        implementations,
        rows,
    }
}

/// A report prepared for lookups.
struct Column<'a> {
    input: &'a Input,
    roles: Vec<Role>,
    coverage: BTreeMap<String, CoverageRow>,
    scenarios: BTreeMap<&'a str, &'a ScenarioResult>,
    /// Requirements with a failing check the baseline lists.
    known: BTreeSet<String>,
}

impl<'a> Column<'a> {
    fn of(input: &'a Input, ctx: &Context<'_>) -> Self {
        let report = &input.report;
        let mut known = BTreeSet::new();
        for s in &report.scenarios {
            for (i, c) in s.checks.iter().enumerate() {
                if let Some(r) = &c.requirement
                    && Report::is_failure(c)
                    && report.known(s, Some(i)).is_some()
                {
                    known.insert(r.to_string());
                }
            }
        }
        Self {
            input,
            roles: roles_of(report),
            coverage: view::coverage(report, ctx)
                .0
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect(),
            scenarios: report.scenarios.iter().map(|s| (s.trial.as_str(), s)).collect(),
            known,
        }
    }

    fn link(&self, anchor: &str) -> Option<String> {
        self.input.html.as_ref().map(|h| format!("{h}#{anchor}"))
    }

    fn requirement_cell(&self, r: &Requirement) -> Cell {
        let id = r.id.as_str();
        let Some(c) = self.coverage.get(id).filter(|_| self.roles.contains(&r.role)) else {
            return Cell {
                status: CellStatus::NotTested,
                reason: format!("the report tested no {} scenario", r.role),
                checks: 0,
                known: false,
                link: None,
            };
        };
        let (status, reason) = match c.status {
            Coverage::Failed => (CellStatus::Fail, String::new()),
            Coverage::Error => (CellStatus::Error, String::new()),
            Coverage::Warned => (CellStatus::Warn, String::new()),
            Coverage::Review => (CellStatus::Review, String::new()),
            Coverage::Passed => (CellStatus::Pass, String::new()),
            Coverage::Skipped => (CellStatus::Skip, c.reason.clone()),
            Coverage::NotChecked => (CellStatus::NotTested, "no scenario of the report checks it".into()),
            Coverage::Untestable | Coverage::Deferred => (CellStatus::NotTested, c.reason.clone()),
        };
        Cell {
            status,
            reason,
            checks: c.checks,
            known: self.known.contains(id),
            link: self.link(&format!("req-{id}")),
        }
    }

    fn scenario_cell(&self, trial: &str) -> Cell {
        let Some(s) = self.scenarios.get(trial) else {
            return Cell {
                status: CellStatus::NotTested,
                reason: "the report did not run this scenario".into(),
                checks: 0,
                known: false,
                link: None,
            };
        };
        let report = &self.input.report;
        Cell {
            status: CellStatus::of(s.verdict),
            reason: s.reason.clone().unwrap_or_default(),
            checks: s.checks.len(),
            known: report.known(s, None).is_some() || (0..s.checks.len()).any(|i| report.known(s, Some(i)).is_some()),
            link: self.link(&s.trial.replace("::", "-")),
        }
    }
}

fn agreement(cells: &[Cell]) -> (Agreement, usize, usize) {
    let passed = cells.iter().filter(|c| c.status == CellStatus::Pass).count();
    let failed = cells
        .iter()
        .filter(|c| matches!(c.status, CellStatus::Fail | CellStatus::Warn))
        .count();
    let a = match (passed > 0, failed > 0) {
        (true, true) => Agreement::Split,
        (true, false) => Agreement::AllPass,
        (false, true) => Agreement::AllFail,
        (false, false) => Agreement::NoVerdict,
    };
    (a, passed, failed)
}

/// Testable requirements in catalogue order that at least one report exercised.
fn requirement_rows(columns: &[Column<'_>], ctx: &Context<'_>) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in ctx.catalogue.iter().filter(|r| r.is_testable()) {
        let cells: Vec<Cell> = columns.iter().map(|c| c.requirement_cell(r)).collect();
        if cells.iter().all(|c| c.status == CellStatus::NotTested) {
            continue;
        }
        let (agreement, passed, failed) = agreement(&cells);
        rows.push(Row {
            key: r.id.to_string(),
            title: r.summary.clone(),
            role: r.role,
            keyword: Some(view::keyword_str(r.keyword).into()),
            class: Some(view::keyword_class(r.keyword).into()),
            profile: r.is_profile(),
            url: Some(r.url.clone()),
            area: None,
            cells,
            agreement,
            passed,
            failed,
        });
    }
    rows
}

/// Every scenario some report ran, by trial name.
fn scenario_rows(columns: &[Column<'_>]) -> Vec<Row> {
    let mut trials: BTreeMap<&str, &ScenarioResult> = BTreeMap::new();
    for c in columns {
        for (t, s) in &c.scenarios {
            trials.entry(t).or_insert(s);
        }
    }
    trials
        .into_iter()
        .map(|(trial, s)| {
            let cells: Vec<Cell> = columns.iter().map(|c| c.scenario_cell(trial)).collect();
            let (agreement, passed, failed) = agreement(&cells);
            Row {
                key: trial.to_string(),
                title: s.title.clone(),
                role: s.role,
                keyword: None,
                class: None,
                profile: false,
                url: None,
                area: Some(s.area.clone()),
                cells,
                agreement,
                passed,
                failed,
            }
        })
        .collect()
}

/// The matrix in a few lines for the terminal: each implementation's scores, then the rows
/// that split them (escape it with `diagnostic::printable`: labels come from reports).
pub fn console(m: &Matrix) -> String {
    let width = m
        .implementations
        .iter()
        .map(|i| i.label.chars().count())
        .max()
        .unwrap_or(0);
    let score = |s: &Score| {
        let short = if s.failed > 0 {
            format!(" ({} not held)", s.failed)
        } else {
            String::new()
        };
        format!("{}/{}{short}", s.passed, s.judged())
    };
    let mut out = String::new();
    for i in &m.implementations {
        out.push_str(&format!(
            "{:4} {:width$}  MUST {:18} SHOULD {:16} declarative {:16} profiles {:14} exit {}: {}\n",
            i.id,
            i.label,
            score(&i.scores.must),
            score(&i.scores.should),
            score(&i.scores.declarative),
            score(&i.scores.profile),
            i.exit_code,
            i.status
        ));
    }
    let what = match m.by {
        Axis::Requirement => "requirement(s)",
        Axis::Scenario => "scenario(s)",
    };
    if m.split.is_empty() {
        out.push_str(&format!(
            "split: none of {} {what}: the implementations agree wherever they were judged\n",
            m.rows.len()
        ));
    } else {
        out.push_str(&format!(
            "split: {} of {} {what}: {}\n",
            m.split.len(),
            m.rows.len(),
            m.split.join(", ")
        ));
    }
    out.trim_end().to_string()
}
