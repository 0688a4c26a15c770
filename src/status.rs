//! Exit codes (DESIGN §3) and the exit status of a report. `run::exit` re-exports them; they
//! live here, below `report`, so every report format can say what the run's status is.

use crate::outcome::Report;

/// Every check passed (warnings allowed), or every failure is a known one.
pub const PASS: i32 = 0;
/// Conformance failures (with `--baseline`: failures the baseline does not list).
pub const FAIL: i32 = 1;
/// Configuration or usage error (including preflight problems).
pub const CONFIG: i32 = 2;
/// Harness or target error (could not test).
pub const ERROR: i32 = 3;
/// Only known failures failed, but the baseline is stale: a listed failure now passes, or an
/// entry has expired.
pub const STALE: i32 = 4;
/// Interrupted by Ctrl-C (SIGINT): a partial report was written (128 + 2).
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM: a partial report was written (128 + 15).
pub const TERMINATED: i32 = 143;

/// The exit code of a finished run: a blocking preflight problem (2), then failures no baseline
/// entry lists (1; failures of profile checks only with `--gate-profiles`), then scenarios that could not be tested and are not listed (3), then a stale
/// baseline (4), else 0.
pub fn of(report: &Report) -> i32 {
    if report.preflight.blocks() {
        return CONFIG;
    }
    if report.gating_failures().next().is_some() {
        FAIL
    } else if report.new_errors().next().is_some() {
        ERROR
    } else if report.baseline.as_ref().is_some_and(|b| b.stale().next().is_some()) {
        STALE
    } else {
        PASS
    }
}
