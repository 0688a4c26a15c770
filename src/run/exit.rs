//! Exit codes (DESIGN §3).

use crate::outcome::Report;

/// Every check passed (warnings allowed).
pub const PASS: i32 = 0;
/// Conformance failures.
pub const FAIL: i32 = 1;
/// Configuration or usage error (including preflight problems).
pub const CONFIG: i32 = 2;
/// Harness or target error (could not test).
pub const ERROR: i32 = 3;

/// The exit code of a finished run.
pub fn of(report: &Report) -> i32 {
    if report.preflight.blocks() {
        return CONFIG;
    }
    let s = &report.summary;
    if s.checks.fail > 0 || s.profile_checks.fail > 0 {
        FAIL
    } else if s.scenarios.error > 0 {
        ERROR
    } else {
        PASS
    }
}
