//! Baselines (known failures): a YAML file listing the failures a CI pipeline accepts for now,
//! each with a reason and an optional expiry date (`fixtures/schemas/baseline.schema.json`).
//!
//! An entry names a scenario (every failure of that scenario is known) or a check of it (the
//! scenario id and the requirement ID, optionally the check's title). Applied to a [`Report`]:
//!
//! - a failure an entry lists is *known*: it does not fail the run;
//! - a failure no entry lists is *new*: exit 1;
//! - an entry whose failure now passes, or whose `expires` date is past, is *stale*: exit 4
//!   (an expired entry still covers its failures: the list needs care, the product did not
//!   regress);
//! - an entry whose scenario did not run (filtered out, skipped, another shard) says nothing.
//!
//! `--write-baseline` writes the current failures as a starting file ([`write`]).

use std::path::Path;

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalogue::RequirementId;
use crate::diagnostic::{Diagnostic, Location, find_after};
use crate::outcome::{BaselineEntryResult, BaselineResult, EntryState, KnownFailure, Report, Verdict};

/// The `$schema` of a baseline file.
pub const SCHEMA: &str = "https://uma-conformance.dev/schemas/baseline.schema.json";

/// A baseline file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// What the list is for (a product, a deployment): shown in reports, not matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The known failures.
    #[serde(default)]
    pub known_failures: Vec<Entry>,
}

/// One known failure: a scenario, or one check of it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The scenario id (`as/ticket/need-info-rotates`).
    pub scenario: String,
    /// Only the checks citing this requirement (a check-level entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<RequirementId>,
    /// Only the check with this title (needs `requirement`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Why the failure is accepted (a ticket, a vendor answer).
    pub reason: String,
    /// The last day the entry is accepted (`YYYY-MM-DD`); after it the entry is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub expires: Option<Date>,
}

impl Entry {
    /// Whether the entry lists every failure of its scenario.
    pub fn is_scenario_level(&self) -> bool {
        self.requirement.is_none()
    }

    fn selects(&self, c: &crate::outcome::CheckResult) -> bool {
        match &self.requirement {
            None => true,
            Some(r) => c.requirement.as_ref() == Some(r) && self.check.as_ref().is_none_or(|t| *t == c.title),
        }
    }
}

/// A loaded baseline.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    /// The file as shown to the user.
    pub origin: String,
    /// Its content.
    pub file: BaselineFile,
    /// Its text (for positions in later diagnostics).
    text: String,
}

/// A baseline that cannot be loaded: where and why.
#[derive(Debug, thiserror::Error)]
#[error("{diagnostic}")]
pub struct BaselineError {
    /// The problem, with its `file:line:col`.
    pub diagnostic: Diagnostic,
}

impl Baseline {
    /// Reads and parses a baseline file.
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError {
            diagnostic: Diagnostic::new(Location::file(&shown), format!("failed to read the baseline: {e}")),
        })?;
        Self::parse(&text, &shown)
    }

    /// Parses baseline text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, BaselineError> {
        let file: BaselineFile = serde_saphyr::from_str(text).map_err(|e| BaselineError {
            diagnostic: Diagnostic::from_yaml(origin, text, &e),
        })?;
        for e in &file.known_failures {
            let at = |needle: &str, message: String| {
                let (line, column) = find_after(text, 1, needle)
                    .or_else(|| find_after(text, 1, &e.scenario))
                    .unwrap_or((0, 0));
                BaselineError {
                    diagnostic: Diagnostic::new(Location::new(origin, line, column), message).with_source(text),
                }
            };
            if e.reason.trim().is_empty() {
                return Err(at(
                    &e.scenario,
                    format!(
                        "the entry for `{}` has an empty `reason`: say why the failure is accepted",
                        e.scenario
                    ),
                ));
            }
            if let (Some(title), None) = (&e.check, &e.requirement) {
                return Err(at(
                    title,
                    format!(
                        "the entry for `{}` names a `check` without its `requirement`",
                        e.scenario
                    ),
                ));
            }
        }
        Ok(Self {
            origin: origin.to_string(),
            file,
            text: text.to_string(),
        })
    }

    /// Checks every entry against the suites and the catalogue: an unknown scenario id or
    /// requirement ID (a typo would list nothing, forever) is refused at its position, with a
    /// "did you mean".
    pub fn check_against<'a>(
        &self,
        scenarios: impl IntoIterator<Item = &'a str> + Clone,
        catalogue: &crate::catalogue::Catalogue,
    ) -> Result<(), BaselineError> {
        let at = |needle: &str, message: String| {
            let (line, column) = find_after(&self.text, 1, needle).unwrap_or((0, 0));
            BaselineError {
                diagnostic: Diagnostic::new(Location::new(&self.origin, line, column), message).with_source(&self.text),
            }
        };
        for e in &self.file.known_failures {
            if !scenarios.clone().into_iter().any(|s| s == e.scenario) {
                let hint = crate::diagnostic::did_you_mean(&e.scenario, scenarios.clone());
                return Err(at(
                    &e.scenario,
                    format!("no scenario has the id `{}`{hint}", e.scenario),
                ));
            }
            if let Some(r) = &e.requirement
                && catalogue.get(r.as_str()).is_none()
            {
                let hint = catalogue
                    .suggest(r.as_str())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(at(
                    r.as_str(),
                    format!("`{r}` is not in the requirement catalogue{hint}"),
                ));
            }
        }
        Ok(())
    }

    /// Marks every failure of `report` an entry lists as known and judges every entry
    /// ([`EntryState`]); `today` decides expiry.
    pub fn apply(&self, report: &mut Report, today: Date) {
        let mut result = BaselineResult {
            file: self.origin.clone(),
            today: today.to_string(),
            ..BaselineResult::default()
        };
        for (ei, entry) in self.file.known_failures.iter().enumerate() {
            let mut matched = false;
            let mut passes = false;
            if let Some(s) = report.scenarios.iter().find(|s| s.id == entry.scenario) {
                let mut failing = 0;
                for (ci, c) in s.checks.iter().enumerate() {
                    let bad = Report::is_failure(c) || c.verdict == Verdict::Error;
                    failing += usize::from(bad);
                    if !entry.selects(c) {
                        continue;
                    }
                    if bad {
                        matched = true;
                        if !result.known.iter().any(|k| k.scenario == s.id && k.check == Some(ci)) {
                            result.known.push(KnownFailure {
                                scenario: s.id.clone(),
                                check: Some(ci),
                                entry: ei,
                            });
                        }
                    } else if matches!(c.verdict, Verdict::Pass | Verdict::Warn | Verdict::Review) {
                        passes = true;
                    }
                }
                if entry.is_scenario_level() && failing == 0 {
                    match s.verdict {
                        Verdict::Error | Verdict::Fail => {
                            matched = true;
                            if !result.known.iter().any(|k| k.scenario == s.id && k.check.is_none()) {
                                result.known.push(KnownFailure {
                                    scenario: s.id.clone(),
                                    check: None,
                                    entry: ei,
                                });
                            }
                        }
                        Verdict::Pass | Verdict::Warn | Verdict::Review => passes = true,
                        Verdict::Skip => {}
                    }
                }
            }
            let state = if entry.expires.is_some_and(|d| d < today) {
                EntryState::Expired
            } else if matched {
                EntryState::Matched
            } else if passes {
                EntryState::NowPasses
            } else {
                EntryState::NotRun
            };
            result.entries.push(BaselineEntryResult {
                scenario: entry.scenario.clone(),
                requirement: entry.requirement.as_ref().map(|r| r.to_string()),
                check: entry.check.clone(),
                reason: entry.reason.clone(),
                expires: entry.expires.map(|d| d.to_string()),
                state,
            });
        }
        report.baseline = Some(result);
        let new = report.new_failures().count();
        if let Some(b) = &mut report.baseline {
            b.new_failures = new;
        }
    }
}

fn quoted(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A starting baseline listing every failure of `report`: one check-level entry per failed
/// check (scenario, requirement, title), and one scenario-level entry per scenario that failed
/// or errored without a failing check.
pub fn write(report: &Report, today: Date) -> String {
    let mut out = format!(
        "# yaml-language-server: $schema={SCHEMA}\n\
         # Known failures, written by `uma-conformance run --write-baseline` on {today}.\n\
         # Replace each reason with the real one (a ticket, a vendor answer); add `expires: YYYY-MM-DD`\n\
         # to make an entry lapse. Use it with `uma-conformance run --baseline FILE`.\n"
    );
    if let Some(t) = &report.run.tested {
        out.push_str(&format!("target: {}\n", quoted(&t.to_string())));
    }
    out.push_str("known_failures:");
    let mut any = false;
    let reason = quoted(&format!("known failure recorded on {today}"));
    for s in &report.scenarios {
        let mut listed = false;
        for c in &s.checks {
            let bad = Report::is_failure(c) || (c.verdict == Verdict::Error && c.requirement.is_some());
            let Some(r) = c.requirement.as_ref().filter(|_| bad) else {
                continue;
            };
            any = true;
            listed = true;
            out.push_str(&format!(
                "\n  - scenario: {}\n    requirement: {}\n    check: {}\n    reason: {reason}",
                quoted(&s.id),
                quoted(r.as_str()),
                quoted(&c.title)
            ));
        }
        if !listed && matches!(s.verdict, Verdict::Fail | Verdict::Error) {
            any = true;
            out.push_str(&format!("\n  - scenario: {}\n    reason: {reason}", quoted(&s.id)));
        }
    }
    if !any {
        out.push_str(" []");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_without_its_requirement_is_refused_with_its_line() {
        let text = "known_failures:\n  - scenario: as/x/y\n    check: the ticket rotated\n    reason: r\n";
        let err = Baseline::parse(text, "b.yaml").unwrap_err().to_string();
        assert!(err.contains("b.yaml:3:"), "{err}");
        assert!(err.contains("without its `requirement`"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line_and_column() {
        let text = "known_failures:\n  - scenario: as/x/y\n    reasn: r\n";
        let err = Baseline::parse(text, "b.yaml").unwrap_err().to_string();
        assert!(err.contains("b.yaml:3:5"), "{err}");
        assert!(err.contains("reasn"), "{err}");
    }

    #[test]
    fn a_misspelt_scenario_or_requirement_is_refused_with_a_suggestion() {
        let text = "known_failures:\n  - scenario: as/ticket/need-info-rotate\n    reason: r\n";
        let b = Baseline::parse(text, "b.yaml").unwrap();
        let cat = crate::catalogue::Catalogue::default();
        let err = b
            .check_against(["as/ticket/need-info-rotates", "as/x/y"], &cat)
            .unwrap_err()
            .to_string();
        assert!(err.contains("b.yaml:2:15"), "{err}");
        assert!(err.contains("did you mean `as/ticket/need-info-rotates`"), "{err}");
        let text = "known_failures:\n  - { scenario: as/x/y, requirement: T-99, reason: r }\n";
        let b = Baseline::parse(text, "b.yaml").unwrap();
        let err = b.check_against(["as/x/y"], &cat).unwrap_err().to_string();
        assert!(err.contains("`T-99` is not in the requirement catalogue"), "{err}");
    }

    #[test]
    fn an_expiry_date_is_read_as_a_date() {
        let text = "known_failures:\n  - { scenario: as/x/y, reason: r, expires: 2027-01-31 }\n";
        let b = Baseline::parse(text, "b.yaml").unwrap();
        assert_eq!(b.file.known_failures[0].expires, Some(jiff::civil::date(2027, 1, 31)));
        let bad = Baseline::parse(
            "known_failures:\n  - { scenario: a, reason: r, expires: soon }\n",
            "b.yaml",
        );
        assert!(bad.unwrap_err().to_string().contains("b.yaml:2:"));
    }
}
