//! `reports/reference/`: the committed report of the reference implementation. Every suite runs
//! against the embedded reference (AS, RS and client, `--strict`), the report is made
//! deterministic ([`crate::report::stable::stabilize`]) and written as report.json, report.html
//! and summary.md. `tests/reference_report.rs` regenerates it and fails when the committed copy
//! is stale.

use std::path::Path;

use super::{RunError, RunRequest, run_with};
use crate::catalogue::Catalogue;
use crate::report::{self, Context, stable};

/// The files of `reports/reference/`.
pub const FILES: &[&str] = &["report.json", "report.html", "summary.md"];

/// The command that refreshes the committed copy.
pub const COMMAND: &str = "cargo run -- reference-report";

/// The reference report's files: `(name, content)`.
pub async fn render() -> Result<Vec<(&'static str, String)>, RunError> {
    // One scenario at a time: scenarios that run at once share the reference AS, and what one
    // sees of another (a list of pending approvals) would change from run to run.
    let req = RunRequest {
        strict: true,
        jobs: 1,
        ..RunRequest::default()
    };
    let catalogue = Catalogue::load(&req.catalogue)?;
    let (report, redactor) = run_with(&req, |_| {}).await?;
    let mut clean = redactor.report(&report);
    stable::stabilize(&mut clean);
    Ok(report::render_all(&clean, &Context::new(&catalogue))
        .into_iter()
        .filter(|(f, _)| FILES.contains(f))
        .collect())
}

/// Writes them into `out`.
pub async fn write(out: &Path) -> Result<Vec<String>, RunError> {
    let files = render().await?;
    std::fs::create_dir_all(out).map_err(|e| RunError::Write(format!("{}: {e}", out.display())))?;
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| RunError::Write(format!("{}: {e}", path.display())))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
