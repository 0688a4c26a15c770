//! The report model (`report.json` is the source of truth) and its renderings: JUnit XML and
//! the console. Every output goes through a [`redact::Redactor`] first.

pub mod console;
pub mod junit;
pub mod redact;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A verdict, of a check or of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The requirement held.
    Pass,
    /// The target does not claim the capability, or an optional behaviour is not offered.
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

/// One recorded HTTP exchange (secrets redacted when written).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
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
}

/// One check: one assertion about one requirement.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct CheckReport {
    /// The requirement ID.
    pub requirement: String,
    /// `uma` or `profile` (profile results are never UMA conformance).
    pub kind: String,
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

/// One scenario (one trial).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ScenarioReport {
    /// Scenario ID.
    pub id: String,
    /// Trial name.
    pub trial: String,
    /// Role under test.
    pub role: String,
    /// Area.
    pub area: String,
    /// Title.
    pub title: String,
    /// File.
    pub file: String,
    /// Requirements cited.
    pub requirements: Vec<String>,
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
    pub checks: Vec<CheckReport>,
    /// HTTP exchanges.
    pub exchanges: Vec<Exchange>,
}

/// Counts per verdict.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
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
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct Summary {
    /// Scenarios per verdict.
    pub scenarios: Counts,
    /// UMA conformance checks per verdict.
    pub checks: Counts,
    /// Profile checks per verdict (not UMA conformance).
    pub profile_checks: Counts,
}

/// A configuration problem found by the preflight, with its fix.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Problem {
    /// `error` (the run cannot proceed) or `warning`.
    pub severity: String,
    /// What is wrong.
    pub what: String,
    /// How to fix it.
    pub fix: String,
}

/// The preflight's findings.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct PreflightReport {
    /// Whether the target was reached and its discovery document read.
    pub reachable: bool,
    /// The discovery URL used.
    pub discovery_url: String,
    /// Capabilities derived (from discovery and the profile's claims).
    pub capabilities: Vec<String>,
    /// Configuration problems, apart from conformance results.
    pub problems: Vec<Problem>,
}

/// Run metadata.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
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
}

/// `report.json`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
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
    pub preflight: PreflightReport,
    /// Counts.
    pub summary: Summary,
    /// Every scenario.
    pub scenarios: Vec<ScenarioReport>,
}

impl Report {
    /// Recomputes the summary from the scenarios.
    pub fn summarise(&mut self) {
        let mut s = Summary::default();
        for sc in &self.scenarios {
            s.scenarios.add(sc.verdict);
            for c in &sc.checks {
                if c.kind == "profile" {
                    s.profile_checks.add(c.verdict);
                } else {
                    s.checks.add(c.verdict);
                }
            }
        }
        self.summary = s;
    }
}

/// The verdict of a scenario from its checks: the worst one, `pass` if none failed, `skip` if
/// every check was skipped.
pub fn scenario_verdict(checks: &[CheckReport]) -> Verdict {
    let worst = checks.iter().map(|c| c.verdict).max();
    match worst {
        None => Verdict::Pass,
        Some(Verdict::Skip) if checks.iter().all(|c| c.verdict == Verdict::Skip) => Verdict::Skip,
        Some(Verdict::Skip) => Verdict::Pass,
        Some(v) => v,
    }
}
