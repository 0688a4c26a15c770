//! The interop matrix (`matrix.json`, `matrix.html`): several implementations side by side.
//! Each implementation is one `report.json` (a column), named by the product and version its
//! target profile gives (`run.tested`; the target's `name` when the profile has none); each row
//! is a requirement (or, `--by scenario`, a scenario), each cell that implementation's verdict
//! with a link into its `report.html`. A row says whether the implementations *agree* (every
//! judged one passed, or every one fell short) or *split* (some passed, some did not); each
//! implementation has a score for MUST, SHOULD and profile requirements, counted apart (a
//! profile such as PKCE on claims gathering is not UMA conformance).
//!
//! A report that never exercised a requirement (another role, a filtered run, a scenario
//! skipped before any check) gives the cell `not-tested`, which is not `skip`: a skip is a
//! judgement of the report (the target does not claim the capability, with the reason).
//!
//! This file is the model (`fixtures/schemas/matrix.schema.json`). Building it from reports:
//! [`super::matrix_build`]; reading and refusing reports (another harness version, another
//! catalogue, other suites) and writing the files: [`super::matrix_input`]; the page:
//! [`super::matrix_html`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::matrix_build::{build, console, roles_of};
use crate::outcome::{Report, Verdict};
use crate::uma::Role;

/// The `$schema` of `matrix.json`.
pub const MATRIX_SCHEMA: &str = "https://uma-conformance.dev/schemas/matrix.schema.json";

/// What the rows are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// One row per requirement of the catalogue that some report exercised (catalogue order).
    #[default]
    Requirement,
    /// One row per scenario that some report ran (by trial name).
    Scenario,
}

impl std::str::FromStr for Axis {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "requirement" => Ok(Self::Requirement),
            "scenario" => Ok(Self::Scenario),
            other => Err(format!("`{other}` is not an axis: requirement or scenario")),
        }
    }
}

/// `matrix.json`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Matrix {
    /// The schema of this file.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Harness name.
    pub harness: String,
    /// Harness version (every report was written by it).
    pub version: String,
    /// SHA-256 of the requirement catalogue the verdicts cite, hex.
    pub catalogue_hash: String,
    /// What the rows are.
    pub by: Axis,
    /// The columns, in the order the reports were given.
    pub implementations: Vec<Implementation>,
    /// The rows.
    pub rows: Vec<Row>,
    /// The keys of the rows where the implementations split (some passed, some did not).
    pub split: Vec<String>,
    /// What a reader should know (reports without a recorded hash, targets without a product).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Where an implementation's name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NamedBy {
    /// The target profile's `product` and `version`.
    Profile,
    /// The target profile's `name` (it names no product).
    TargetName,
    /// Nothing: the profile has neither.
    Unnamed,
}

/// One implementation: one report, one column.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Implementation {
    /// The column's key (`i1`, `i2`, ... in the order given).
    pub id: String,
    /// The name shown: the product and version, with the quirks and variants of an embedded
    /// reference; the roles, then the report's folder, when that is not enough to tell two
    /// columns apart.
    pub label: String,
    /// The product (or the target's name).
    pub product: String,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the name comes from.
    pub named_by: NamedBy,
    /// Quirks of an embedded reference target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<String>,
    /// Variants of an embedded reference target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
    /// The roles the report tested.
    pub roles: Vec<Role>,
    /// `--strict`: declarative requirements failed instead of warned.
    pub strict: bool,
    /// The run was interrupted: some scenarios are missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    /// `--shard K/N`: the report holds one share of the scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The report.json, as given.
    pub report: String,
    /// Its report.html, relative to the matrix's folder (absent when there is none beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The report's exit code, and what it means.
    pub exit_code: i32,
    /// `pass`, `conformance failures`, ...
    pub status: String,
    /// Requirements per keyword class, counted apart.
    pub scores: Scores,
}

/// An implementation's scores: UMA MUST, SHOULD and declarative requirements, and profile
/// requirements (PKCE, `iss`: not UMA conformance), counted apart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Scores {
    /// MUST, MUST NOT, REQUIRED, SHALL (UMA conformance).
    pub must: Score,
    /// SHOULD, SHOULD NOT, RECOMMENDED (UMA conformance).
    pub should: Score,
    /// Stated without a keyword (UMA conformance; a warning unless the run was `--strict`).
    pub declarative: Score,
    /// Requirements of a profile, whatever their keyword (not UMA conformance).
    pub profile: Score,
}

/// Requirements of one class, by how they fared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Score {
    /// Testable requirements of the class for the roles the report tested.
    pub requirements: usize,
    /// Every check passed.
    pub passed: usize,
    /// A check did not hold (`fail`; `warn` for a SHOULD).
    pub failed: usize,
    /// A person must look.
    pub review: usize,
    /// A check could not be made (harness or target error).
    pub error: usize,
    /// Skipped, with a reason.
    pub skipped: usize,
    /// No scenario of the report checks it.
    pub not_tested: usize,
}

impl Score {
    /// Requirements judged: passed or failed.
    pub fn judged(&self) -> usize {
        self.passed + self.failed
    }

    pub(super) fn add(&mut self, status: CellStatus) {
        self.requirements += 1;
        match status {
            CellStatus::Pass => self.passed += 1,
            CellStatus::Fail | CellStatus::Warn => self.failed += 1,
            CellStatus::Review => self.review += 1,
            CellStatus::Error => self.error += 1,
            CellStatus::Skip => self.skipped += 1,
            CellStatus::NotTested => self.not_tested += 1,
        }
    }
}

/// One row: a requirement or a scenario across the implementations.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Row {
    /// The requirement ID or the scenario's trial name.
    pub key: String,
    /// The requirement's summary or the scenario's title.
    pub title: String,
    /// The role it binds (requirement) or tests (scenario).
    pub role: Role,
    /// The requirement's keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// The keyword class (`MUST`, `SHOULD`, `MAY`, `declarative`, `example`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// A profile requirement (not UMA conformance).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub profile: bool,
    /// The spec URL of a requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The area of a scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    /// One cell per implementation, in the order of `implementations`.
    pub cells: Vec<Cell>,
    /// Whether the implementations agree.
    pub agreement: Agreement,
    /// Cells that passed.
    pub passed: usize,
    /// Cells that did not hold (`fail` or `warn`).
    pub failed: usize,
}

/// Whether the implementations that were judged on a row agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Agreement {
    /// Some passed and some did not (fail or warn): the implementations split.
    Split,
    /// Every implementation judged passed.
    AllPass,
    /// Every implementation judged fell short.
    AllFail,
    /// None was judged (only skip, review, error or not tested).
    NoVerdict,
}

/// What a cell shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CellStatus {
    /// Every check passed.
    Pass,
    /// A MUST did not hold.
    Fail,
    /// A SHOULD (or a declarative requirement without `--strict`) did not hold.
    Warn,
    /// A person must look.
    Review,
    /// A check could not be made: could not test, never a spec failure.
    Error,
    /// The report judged it skipped (the target does not claim the capability), with a reason.
    Skip,
    /// The report never exercised it: another role, a filtered run.
    NotTested,
}

impl CellStatus {
    /// `pass`, `not-tested`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Warn => "warn",
            Self::Review => "review",
            Self::Error => "error",
            Self::Skip => "skip",
            Self::NotTested => "not-tested",
        }
    }

    pub(super) fn of(v: Verdict) -> Self {
        match v {
            Verdict::Pass => Self::Pass,
            Verdict::Fail => Self::Fail,
            Verdict::Warn => Self::Warn,
            Verdict::Review => Self::Review,
            Verdict::Error => Self::Error,
            Verdict::Skip => Self::Skip,
        }
    }
}

/// One implementation's verdict on one row.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Cell {
    /// The verdict.
    pub status: CellStatus,
    /// Why (skipped, not tested, the scenario's reason).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Checks made.
    pub checks: usize,
    /// A failure the report's baseline lists (a known failure).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known: bool,
    /// Where in the implementation's report.html (relative to the matrix's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One report to put in the matrix.
#[derive(Clone, Debug)]
pub struct Input {
    /// The report.
    pub report: Report,
    /// Its file, as given.
    pub file: String,
    /// Its report.html relative to the matrix's folder, if there is one.
    pub html: Option<String>,
}
