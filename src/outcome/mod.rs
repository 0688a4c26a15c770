//! The result model: what a run found, as the engine produces it and every report format reads
//! it. `report.json` is this model serialized (`fixtures/schemas/report.schema.json`).
//!
//! A check is one assertion about one requirement. A check that could not be made (the target did
//! not answer, a set-up step failed, a variable was missing) is a [`CheckKind::Harness`] check
//! with the verdict [`Verdict::Error`] and no requirement: could not test is never a spec failure.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::catalogue::RequirementId;

mod applied;
use crate::uma::Role;
pub use applied::{BaselineEntryResult, BaselineResult, EntryState, KnownFailure};

/// A verdict, of a check or of a scenario. Ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The requirement held.
    Pass,
    /// The target does not claim the capability, an optional behaviour is not offered, or the
    /// check's premise did not happen.
    Skip,
    /// A person must look.
    Review,
    /// A SHOULD (or, without `--strict`, a declarative requirement) did not hold.
    Warn,
    /// The harness could not run the check (unreachable target, bad set-up). Never a spec failure.
    Error,
    /// A MUST did not hold.
    Fail,
}

impl Verdict {
    /// `pass`, `fail`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Skip => "skip",
            Self::Review => "review",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::Fail => "fail",
        }
    }
}

/// What a check's verdict counts towards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// UMA conformance.
    Uma,
    /// A profile (PKCE and `iss` on claims gathering, DPoP): counted apart, never UMA conformance.
    Profile,
    /// The harness could not test (an `error` without a requirement).
    Harness,
}

/// One recorded HTTP exchange.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Exchange {
    /// The step index (0-based, includes first).
    pub step: usize,
    /// Request method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Request headers (name, value).
    pub request_headers: Vec<(String, String)>,
    /// Request body, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// Response status (absent if no response came).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// Response body, as text (truncated to 16 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    /// Transport error, if no response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_error: Option<String>,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Set when the harness did not send this request but observed it: the target's request to
    /// a counterpart (`target → counterpart as`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// Set when the exchange is a run of a client's `start_command` (method `EXEC`, the command
    /// line as the URL, stdout as the response body): how it ended and what it wrote to stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandRun>,
}

/// How a command the harness ran ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct CommandRun {
    /// Its exit status (absent when it was killed by a signal or the timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// What it wrote to stderr (the first 16 KiB, as text).
    pub stderr: String,
    /// Whether the harness killed it at its timeout.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
}

/// One check: one assertion about one requirement (or, for a harness error, about none).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct CheckResult {
    /// The requirement ID; absent for a harness error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<RequirementId>,
    /// UMA conformance, a profile, or the harness.
    pub kind: CheckKind,
    /// What was checked.
    pub title: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What the spec expects.
    pub expected: String,
    /// What the target did.
    pub actual: String,
    /// Where: `suites/as/…yaml:line:col`.
    pub location: String,
    /// Step index.
    pub step: usize,
    /// Index into the scenario's `exchanges` of the response checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<usize>,
}

impl CheckResult {
    /// The requirement ID as text (`-` for a harness error).
    pub fn requirement_str(&self) -> &str {
        self.requirement.as_ref().map_or("-", RequirementId::as_str)
    }
}

/// One scenario (one trial).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct ScenarioResult {
    /// Scenario ID.
    pub id: String,
    /// Trial name.
    pub trial: String,
    /// Role under test.
    pub role: Role,
    /// Area.
    pub area: String,
    /// Title.
    pub title: String,
    /// File.
    pub file: String,
    /// Requirements cited.
    pub requirements: Vec<RequirementId>,
    /// Verdict: the worst of its checks.
    pub verdict: Verdict,
    /// Why it was skipped or errored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Where the spec allows several behaviours: which one the target chose.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub choices: BTreeMap<String, String>,
    /// Checks.
    pub checks: Vec<CheckResult>,
    /// HTTP exchanges.
    pub exchanges: Vec<Exchange>,
}

/// Counts per verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Counts {
    /// pass.
    pub pass: usize,
    /// fail.
    pub fail: usize,
    /// warn.
    pub warn: usize,
    /// skip.
    pub skip: usize,
    /// review.
    pub review: usize,
    /// error.
    pub error: usize,
}

impl Counts {
    /// Adds one verdict.
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Warn => self.warn += 1,
            Verdict::Skip => self.skip += 1,
            Verdict::Review => self.review += 1,
            Verdict::Error => self.error += 1,
        }
    }
    /// The total.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.warn + self.skip + self.review + self.error
    }
}

/// The summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Summary {
    /// Scenarios per verdict.
    pub scenarios: Counts,
    /// UMA conformance checks per verdict.
    pub checks: Counts,
    /// Profile checks per verdict (not UMA conformance).
    pub profile_checks: Counts,
    /// Harness errors (checks that could not be made).
    pub harness_errors: usize,
    /// The slowest scenarios, slowest first (at most [`SLOWEST`]; empty in the stable
    /// reference report, whose times are zeroed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slowest: Vec<Timing>,
}

/// How many scenarios [`Summary::slowest`] lists.
pub const SLOWEST: usize = 10;

/// One scenario's time, for [`Summary::slowest`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Timing {
    /// The scenario's trial name.
    pub trial: String,
    /// Its duration in milliseconds (the scenario's `duration_ms`).
    pub duration_ms: u64,
}

/// How bad a preflight problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The run cannot proceed.
    Error,
    /// Some scenarios will be skipped or may not mean what they say.
    Warning,
}

/// A configuration problem found by the preflight, with its fix.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Problem {
    /// `error` (the run cannot proceed) or `warning`.
    pub severity: Severity,
    /// What is wrong.
    pub what: String,
    /// How to fix it.
    pub fix: String,
}

impl Problem {
    /// A problem that stops the run.
    pub fn error(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            what: what.into(),
            fix: fix.into(),
        }
    }

    /// A problem that does not.
    pub fn warning(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            what: what.into(),
            fix: fix.into(),
        }
    }
}

/// The preflight's findings.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Preflight {
    /// Whether the target was reached and its discovery document read.
    pub reachable: bool,
    /// The discovery URL used.
    pub discovery_url: String,
    /// Capabilities derived (from discovery and the profile's claims).
    pub capabilities: Vec<String>,
    /// Configuration problems, apart from conformance results.
    pub problems: Vec<Problem>,
}

impl Preflight {
    /// Whether a problem stops the run.
    pub fn blocks(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

/// Run metadata.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct RunInfo {
    /// Harness name.
    pub harness: String,
    /// Harness version.
    pub version: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Milliseconds.
    pub duration_ms: u64,
    /// `--strict`.
    pub strict: bool,
    /// `--gate-profiles`: failures of profile checks (PKCE, `iss`) fail the run too. Without it
    /// the exit code follows UMA conformance alone; profile results are reported apart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gate_profiles: bool,
    /// `--jobs`.
    pub jobs: usize,
    /// `--filter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// SHA-256 of every suite file (path and content), hex.
    pub suites_hash: String,
    /// Quirks enabled on an embedded reference target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<String>,
    /// Variants (conformant alternatives) taken by an embedded reference target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
    /// SHA-256 of the requirement catalogue file, hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub catalogue_hash: String,
    /// `--shard K/N`: this report holds one share of the scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// What was tested: the product and version the target profile names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tested: Option<Tested>,
    /// Set when the target's TLS certificates were not verified (`tls.insecure_skip_verify` in
    /// the profile): the warning every format of the report shows first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_tls: Option<String>,
}

/// The product under test, as its target profile names it (`product`, `version`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Tested {
    /// The product.
    pub product: String,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl std::fmt::Display for Tested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{} {v}", self.product),
            None => f.write_str(&self.product),
        }
    }
}

/// `report.json`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Report {
    /// The schema of this file.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Run metadata.
    pub run: RunInfo,
    /// The target profile, secrets redacted.
    #[schemars(with = "Value")]
    pub target: Value,
    /// The preflight.
    pub preflight: Preflight,
    /// Counts.
    pub summary: Summary,
    /// Every scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Set when the run was interrupted (Ctrl-C, SIGTERM): `scenarios` holds those finished.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    /// The baseline (known failures) applied, with `--baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineResult>,
}

/// The `$schema` of `report.json`.
pub const REPORT_SCHEMA: &str = "https://uma-conformance.dev/schemas/report.schema.json";

impl Report {
    /// Recomputes the summary from the scenarios.
    pub fn summarise(&mut self) {
        let mut s = Summary::default();
        for sc in &self.scenarios {
            s.scenarios.add(sc.verdict);
            for c in &sc.checks {
                match c.kind {
                    CheckKind::Profile => s.profile_checks.add(c.verdict),
                    CheckKind::Uma => s.checks.add(c.verdict),
                    CheckKind::Harness => s.harness_errors += 1,
                }
            }
        }
        let mut times: Vec<Timing> = self
            .scenarios
            .iter()
            .filter(|sc| sc.duration_ms > 0)
            .map(|sc| Timing {
                trial: sc.trial.clone(),
                duration_ms: sc.duration_ms,
            })
            .collect();
        times.sort_by(|a, b| b.duration_ms.cmp(&a.duration_ms).then_with(|| a.trial.cmp(&b.trial)));
        times.truncate(SLOWEST);
        s.slowest = times;
        self.summary = s;
    }

    /// Whether a check counts as a failure of the run: a failed UMA or profile check.
    pub fn is_failure(c: &CheckResult) -> bool {
        c.verdict == Verdict::Fail && c.kind != CheckKind::Harness
    }

    /// The known-failure entry covering a check (`None` without a baseline).
    pub fn known(&self, scenario: &ScenarioResult, check: Option<usize>) -> Option<&BaselineEntryResult> {
        self.baseline.as_ref()?.covering(&scenario.id, check)
    }

    /// Failed checks that decide the exit code: the failures no baseline entry covers, without
    /// profile checks unless the run gates on them (`--gate-profiles`).
    pub fn gating_failures(&self) -> impl Iterator<Item = (&ScenarioResult, usize)> {
        self.new_failures()
            .filter(|(s, i)| self.run.gate_profiles || s.checks[*i].kind != CheckKind::Profile)
    }

    /// Failed checks no baseline entry covers: `(scenario, check index)`.
    pub fn new_failures(&self) -> impl Iterator<Item = (&ScenarioResult, usize)> {
        self.scenarios.iter().flat_map(move |s| {
            s.checks
                .iter()
                .enumerate()
                .filter(|(_, c)| Self::is_failure(c))
                .filter(move |(i, _)| self.known(s, Some(*i)).is_none())
                .map(move |(i, _)| (s, i))
        })
    }

    /// Scenarios that ended in `error` (could not test) and that no baseline entry covers.
    pub fn new_errors(&self) -> impl Iterator<Item = &ScenarioResult> {
        let known = |s: &ScenarioResult| {
            self.baseline
                .as_ref()
                .is_some_and(|b| b.known.iter().any(|k| k.scenario == s.id))
        };
        self.scenarios
            .iter()
            .filter(move |s| s.verdict == Verdict::Error && !known(s))
    }
}

/// The verdict of a scenario from its checks: the worst one, `pass` if none failed, `skip` if
/// every check was skipped.
pub fn scenario_verdict(checks: &[CheckResult]) -> Verdict {
    let worst = checks.iter().map(|c| c.verdict).max();
    match worst {
        None => Verdict::Pass,
        Some(Verdict::Skip) if checks.iter().all(|c| c.verdict == Verdict::Skip) => Verdict::Skip,
        Some(Verdict::Skip) => Verdict::Pass,
        Some(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(verdict: Verdict) -> CheckResult {
        CheckResult {
            requirement: Some(RequirementId::new("G-AS-01")),
            kind: CheckKind::Uma,
            title: String::new(),
            verdict,
            expected: String::new(),
            actual: String::new(),
            location: String::new(),
            step: 0,
            exchange: None,
        }
    }

    #[test]
    fn a_scenario_takes_the_worst_verdict_of_its_checks() {
        assert_eq!(scenario_verdict(&[]), Verdict::Pass);
        assert_eq!(scenario_verdict(&[check(Verdict::Skip)]), Verdict::Skip);
        assert_eq!(
            scenario_verdict(&[check(Verdict::Skip), check(Verdict::Pass)]),
            Verdict::Pass
        );
        assert_eq!(
            scenario_verdict(&[check(Verdict::Warn), check(Verdict::Fail), check(Verdict::Error)]),
            Verdict::Fail
        );
    }

    #[test]
    fn harness_errors_are_counted_apart_from_conformance() {
        let mut err = check(Verdict::Error);
        err.kind = CheckKind::Harness;
        err.requirement = None;
        let mut r = Report {
            scenarios: vec![ScenarioResult {
                id: "as/x/y".into(),
                trial: "as::x::y".into(),
                role: Role::As,
                area: "x".into(),
                title: String::new(),
                file: String::new(),
                requirements: Vec::new(),
                verdict: Verdict::Error,
                reason: None,
                duration_ms: 0,
                choices: BTreeMap::new(),
                checks: vec![check(Verdict::Pass), err],
                exchanges: Vec::new(),
            }],
            ..Report::default()
        };
        r.summarise();
        assert_eq!(r.summary.checks.pass, 1);
        assert_eq!(r.summary.checks.error, 0);
        assert_eq!(r.summary.harness_errors, 1);
    }
}
