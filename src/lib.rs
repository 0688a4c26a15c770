//! `uma-conformance`: the conformance test suite and interop harness for UMA 2.0 (Grant and
//! Federated Authorization).
//!
//! It runs declarative scenario files (`suites/`) against a target (an authorization server, a
//! resource server or a client), plays every counterpart itself, and reports every check with
//! its requirement ID, its verdict and the HTTP exchange behind it.
//!
//! # Running
//!
//! ```no_run
//! # async fn demo() -> Result<(), uma_conformance::RunError> {
//! // Every suite against the embedded reference implementation (AS, RS and client).
//! let report = uma_conformance::run(&uma_conformance::RunRequest::default()).await?;
//! println!("{} scenarios failed", report.summary.scenarios.fail);
//! # Ok(()) }
//! ```
//!
//! # How the crate is built
//!
//! Data flows one way: *suite + profile → engine → outcome → report*. Each module depends only
//! on the ones listed before it (a test checks the graph has no cycle):
//!
//! | module          | what it knows                                                          |
//! |-----------------|------------------------------------------------------------------------|
//! | [`builtin`]     | the suites, catalogue, schemas and fixtures built into the binary      |
//! | [`diagnostic`]  | `file:line:col` problems, "did you mean", escaping for terminals       |
//! | [`net`]         | the one guarded HTTP path: allowed origins, body cap, timeouts, errors |
//! | [`uma`]         | protocol vocabulary: roles, newtypes, constants, challenges, set math  |
//! | [`template`]    | `$variables` in scenario values                                        |
//! | [`catalogue`]   | the requirement catalogue (`fixtures/requirements.yaml`)               |
//! | [`outcome`]     | the result model: verdicts, checks, scenarios, exchanges, the report   |
//! | [`redact`]      | the run's one [`Redactor`]: no secret reaches an output                |
//! | [`baseline`]    | known failures a CI run accepts (YAML), and stale entries              |
//! | [`status`]      | exit codes, and the exit status of a report                            |
//! | [`check`]       | named checks, one file each, typed arguments, pure evaluation          |
//! | [`suite`]       | the typed scenario model, loaded and validated once                    |
//! | [`profile`]     | target profiles (AS, RS, client) and what the harness needs from them  |
//! | [`counterpart`] | every party the harness plays, and the reference implementation      |
//! | [`engine`]      | runs typed scenarios: one file per step                                |
//! | [`report`]      | report formats; reads outcomes only                                    |
//! | [`run`]         | a session: targets, counterparts, environments; the selftest          |
//! | [`formats`]     | the generated JSON Schemas of every file format                        |
//!
//! How to add a check, a step, a quirk, a capability or a report format: `src/AGENTS.md`.

pub mod baseline;
pub mod builtin;
pub mod catalogue;
pub mod check;
pub mod counterpart;
pub mod diagnostic;
pub mod engine;
pub mod formats;
pub mod net;
pub mod outcome;
pub mod profile;
pub mod redact;
pub mod report;
pub mod run;
pub mod status;
pub mod suite;
pub mod template;
pub mod uma;

pub use catalogue::{Catalogue, RequirementId};
pub use outcome::{Report, ScenarioResult, Verdict};
pub use profile::Profile;
pub use redact::Redactor;
pub use run::{RunError, RunRequest, Session, exit, load, run, run_with, selftest, validate_target};
pub use suite::Scenario;
pub use uma::Role;
