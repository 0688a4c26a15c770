//! Report formats. Each reads the result model (`crate::outcome`) and the requirement catalogue
//! (keyword, summary, spec URL) and writes through the run's [`Redactor`]; none of them knows
//! the engine.
//!
//! - [`json`]: `report.json`, the source of truth.
//! - [`junit`]: `junit.xml` for CI.
//! - [`html`]: `report.html`, one self-contained page for people.
//! - [`markdown`]: `summary.md`, a CI step summary under 64 KiB.
//! - [`console`]: the lines and findings printed while and after a run.
//! - [`stable`]: deterministic output (ports, times, ids) for snapshots and `reports/reference/`.
//! - [`view`]: what the human-facing formats compute (findings, coverage, counts).
//! - [`bundle`]: the evidence bundle (`.tar.gz` with a SHA-256 manifest) and its verification.
//! - [`merge`]: joining shard reports; reading a `report.json` back.
//! - [`matrix`]: several reports side by side (`matrix.json`, [`matrix_html`]: `matrix.html`);
//!   [`matrix_build`] builds it, [`matrix_input`] reads and checks the reports and writes both
//!   files.
//!
//! Adding a format: write `src/report/<format>.rs` with a `render(&Report, &Context) -> String`,
//! and add it to [`FORMATS`] (see `src/AGENTS.md`).

pub mod bundle;
pub mod console;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod matrix_build;
pub mod matrix_html;
pub mod matrix_input;
pub mod merge;
pub mod stable;
pub mod view;

use std::path::Path;

pub use view::Context;

use crate::outcome::Report;
use crate::redact::Redactor;

/// A file format written into the output folder.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// The file name.
    pub file: &'static str,
    /// Renders a (redacted) report.
    pub render: fn(&Report, &Context<'_>) -> String,
}

/// Every format a run writes.
pub const FORMATS: &[Format] = &[
    Format {
        file: "report.json",
        render: json::render,
    },
    Format {
        file: "junit.xml",
        render: junit::render,
    },
    Format {
        file: "report.html",
        render: html::render,
    },
    Format {
        file: "summary.md",
        render: markdown::render,
    },
];

/// Why the reports could not be written.
#[derive(Debug, thiserror::Error)]
#[error("failed to write {path}")]
pub struct WriteError {
    /// The file.
    pub path: String,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Every format of a report that has already been redacted: `(file name, content)`.
pub fn render_all(clean: &Report, ctx: &Context<'_>) -> Vec<(&'static str, String)> {
    // One thread per format: the JSON and the HTML of a whole run take tens of milliseconds each.
    std::thread::scope(|scope| {
        let rendering: Vec<_> = FORMATS
            .iter()
            .map(|f| (f.file, scope.spawn(move || (f.render)(clean, ctx))))
            .collect();
        rendering
            .into_iter()
            .map(|(file, r)| (file, r.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))))
            .collect()
    })
}

/// Writes every format into `out`, through the redactor; returns the files written.
pub fn write_all(
    report: &Report,
    redactor: &Redactor,
    ctx: &Context<'_>,
    out: &Path,
) -> Result<Vec<String>, WriteError> {
    std::fs::create_dir_all(out).map_err(|source| WriteError {
        path: out.display().to_string(),
        source,
    })?;
    let clean = redactor.report(report);
    let mut written = Vec::new();
    for (file, text) in render_all(&clean, ctx) {
        let path = out.join(file);
        std::fs::write(&path, text).map_err(|source| WriteError {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// Checks that `out` can be written (it is created if missing) before a run starts, so a
/// long run never ends without its reports.
pub fn check_writable(out: &Path) -> Result<(), WriteError> {
    let err = |path: &Path| {
        let path = path.display().to_string();
        move |source| WriteError { path, source }
    };
    std::fs::create_dir_all(out).map_err(err(out))?;
    let probe = out.join(".uma-conformance-write-probe");
    std::fs::write(&probe, b"").map_err(err(out))?;
    std::fs::remove_file(&probe).map_err(err(&probe))
}
