//! The harness's integration tests as one binary: each file of `tests/` is a module here (their
//! tests are named `<file>::<test>`), so that a build links one test binary instead of one per
//! file (issue 13: `cargo test` < 5 min from a clean clone). Run one file's tests with
//! `cargo test --test integration -- hostile::`.
//!
//! `conformance` (every scenario as a trial, its own harness) is a binary of its own, and so is
//! `selftest` (minutes, every quirk and variant, with scenarios that poll on wall-clock
//! intervals: beside other tests on a loaded machine it saw unrelated failures). So are
//! `claims_drivers` and `remote`, for the README's `cargo test --test claims_drivers` and
//! `--test remote` (tests/alone/), but only when named: plain `cargo test` runs their tests here.
//! Cargo.toml lists the test targets (`autotests = false`): a new file of `tests/` becomes a
//! module here.

// One copy of each helper for the whole binary: `examples::free_port` hands out distinct ports
// only within one copy.
#[path = "support/browser.rs"]
mod browser;
#[path = "support/examples.rs"]
mod examples;

#[path = "architecture.rs"]
mod architecture;
#[path = "claims_drivers.rs"]
mod claims_drivers;
#[path = "clock_adapter.rs"]
mod clock_adapter;
#[path = "formats.rs"]
mod formats;
#[path = "guarded.rs"]
mod guarded;
#[path = "hostile.rs"]
mod hostile;
#[path = "html_browser.rs"]
mod html_browser;
#[path = "installable.rs"]
mod installable;
#[path = "matrix.rs"]
mod matrix;
#[path = "outputs/main.rs"]
mod outputs;
#[path = "peer_targets.rs"]
mod peer_targets;
#[path = "reference_report.rs"]
mod reference_report;
#[path = "remote.rs"]
mod remote;
#[path = "reports.rs"]
mod reports;
#[path = "secrets.rs"]
mod secrets;
#[path = "tls.rs"]
mod tls;
