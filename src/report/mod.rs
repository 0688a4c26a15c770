//! Report formats. Each reads the result model (`crate::outcome`) and writes through the run's
//! [`Redactor`]; none of them knows the engine.
//!
//! - [`json`]: `report.json`, the source of truth.
//! - [`junit`]: `junit.xml` for CI.
//! - [`console`]: the lines and findings printed while and after a run.
//! - [`stable`]: deterministic output (ports, times, ids) for snapshots.
//!
//! Adding a format: write `src/report/<format>.rs` with a `render(&Report) -> String`, and add it
//! to [`FORMATS`] (see `src/AGENTS.md`).

pub mod console;
pub mod json;
pub mod junit;
pub mod stable;

use std::path::Path;

use crate::outcome::Report;
use crate::redact::Redactor;

/// A file format written into the output folder.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// The file name.
    pub file: &'static str,
    /// Renders a (redacted) report.
    pub render: fn(&Report) -> String,
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

/// Writes every format into `out`, through the redactor; returns the files written.
pub fn write_all(report: &Report, redactor: &Redactor, out: &Path) -> Result<Vec<String>, WriteError> {
    std::fs::create_dir_all(out).map_err(|source| WriteError {
        path: out.display().to_string(),
        source,
    })?;
    let clean = redactor.report(report);
    let mut written = Vec::new();
    for f in FORMATS {
        let path = out.join(f.file);
        std::fs::write(&path, (f.render)(&clean)).map_err(|source| WriteError {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
