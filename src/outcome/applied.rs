//! The baseline (known failures) as applied to a run: part of `report.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A failure the baseline lists (a known failure): which entry covers which check.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct KnownFailure {
    /// The scenario id.
    pub scenario: String,
    /// The index of the check in the scenario's `checks`; absent when the scenario failed
    /// without a failing check (it did not run, or errored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<usize>,
    /// The index of the entry in `baseline.entries`.
    pub entry: usize,
}

/// What became of one baseline entry in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EntryState {
    /// It covers at least one failure of this run.
    Matched,
    /// What it lists now passes: the entry is stale (exit 4).
    NowPasses,
    /// Its expiry date is past: the entry is stale (exit 4); its failures stay known.
    Expired,
    /// Its scenario did not run, or did not reach the listed check (filtered out, skipped,
    /// another shard): nothing to say.
    NotRun,
}

/// One baseline entry, as applied.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct BaselineEntryResult {
    /// The scenario id.
    pub scenario: String,
    /// The requirement ID of a check-level entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// The check title of a check-level entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Why the failure is accepted.
    pub reason: String,
    /// The last day it is accepted (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// What became of it.
    pub state: EntryState,
}

impl BaselineEntryResult {
    /// Whether the entry makes the baseline stale.
    pub fn is_stale(&self) -> bool {
        matches!(self.state, EntryState::NowPasses | EntryState::Expired)
    }
}

/// The baseline (known failures) applied to a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct BaselineResult {
    /// The baseline file.
    pub file: String,
    /// The day expiry was judged on (`YYYY-MM-DD`).
    pub today: String,
    /// Every entry and what became of it.
    pub entries: Vec<BaselineEntryResult>,
    /// Every failure an entry covers.
    pub known: Vec<KnownFailure>,
    /// Failures no entry covers.
    pub new_failures: usize,
}

impl BaselineResult {
    /// The entry covering a check of a scenario (`check: None`: the scenario itself).
    pub fn covering(&self, scenario: &str, check: Option<usize>) -> Option<&BaselineEntryResult> {
        self.known
            .iter()
            .find(|k| k.scenario == scenario && k.check == check)
            .and_then(|k| self.entries.get(k.entry))
    }

    /// The stale entries.
    pub fn stale(&self) -> impl Iterator<Item = &BaselineEntryResult> {
        self.entries.iter().filter(|e| e.is_stale())
    }
}
