//! Reading a `report.json` back (for `report` and `merge`), and joining the reports of the
//! shards of one run (`--shard K/N`) into one.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Location};
use crate::outcome::Report;

/// The version of this harness: reports of another version are refused.
pub const HARNESS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A report that cannot be read or joined.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Unreadable, or not a report (with its `file:line:col`).
    #[error("{0}")]
    Parse(Diagnostic),
    /// Written by another version of the harness.
    #[error(
        "{file} was written by uma-conformance {theirs}; this is uma-conformance {ours}: re-render it with {theirs}, or run again with {ours}"
    )]
    Version {
        /// The report.
        file: String,
        /// Its harness version.
        theirs: String,
        /// Ours.
        ours: String,
    },
    /// Two reports that are not shards of one run.
    #[error("{first} and {second} are not shards of one run: {what} differ ({a} and {b})")]
    Mismatch {
        /// The first report.
        first: String,
        /// The other.
        second: String,
        /// What differs.
        what: &'static str,
        /// The first's value.
        a: String,
        /// The other's.
        b: String,
    },
    /// One scenario in two shards.
    #[error("scenario {trial} is in both {first} and {second}: were they run with different --shard N?")]
    Duplicate {
        /// The scenario.
        trial: String,
        /// The first report.
        first: String,
        /// The other.
        second: String,
    },
}

/// Reads a `report.json`: a malformed file is reported with its `file:line:col`, a report of
/// another harness version is refused naming both versions.
pub fn read(path: &Path) -> Result<Report, ReadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ReadError::Parse(Diagnostic::new(
            Location::file(&shown),
            format!("failed to read the report: {e}"),
        ))
    })?;
    parse(&text, &shown)
}

/// Parses `report.json` text; `shown` names it in errors.
pub fn parse(text: &str, shown: &str) -> Result<Report, ReadError> {
    // The version first, so a report of another version is refused for that, not for a field.
    let version = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.pointer("/run/version").and_then(|x| x.as_str()).map(str::to_string));
    if let Some(v) = version
        && v != HARNESS_VERSION
    {
        return Err(ReadError::Version {
            file: shown.to_string(),
            theirs: v,
            ours: HARNESS_VERSION.to_string(),
        });
    }
    serde_json::from_str::<Report>(text).map_err(|e| {
        let message = e.to_string();
        // serde_json appends ` at line L column C`; the location says it.
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.clone(), |(m, _)| m.to_string());
        ReadError::Parse(
            Diagnostic::new(
                Location::new(shown, e.line() as u64, e.column() as u64),
                format!("not a uma-conformance report.json: {message}"),
            )
            .with_source(text),
        )
    })
}

/// Joins shard reports (`(file, report)`) into one: the same harness version, suites and
/// target are required, and no scenario may be in two of them.
pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, ReadError> {
    let mut it = reports.into_iter();
    let Some((first_file, mut out)) = it.next() else {
        return Ok(Report::default());
    };
    let mut from: std::collections::BTreeMap<String, String> = out
        .scenarios
        .iter()
        .map(|s| (s.trial.clone(), first_file.clone()))
        .collect();
    for (file, r) in it {
        let mismatch = |what: &'static str, a: &str, b: &str| ReadError::Mismatch {
            first: first_file.clone(),
            second: file.clone(),
            what,
            a: a.to_string(),
            b: b.to_string(),
        };
        if r.run.version != out.run.version {
            return Err(mismatch("harness versions", &out.run.version, &r.run.version));
        }
        if r.run.suites_hash != out.run.suites_hash {
            return Err(mismatch("suites hashes", &out.run.suites_hash, &r.run.suites_hash));
        }
        if r.run.strict != out.run.strict {
            return Err(mismatch(
                "--strict settings",
                &out.run.strict.to_string(),
                &r.run.strict.to_string(),
            ));
        }
        // The same target, up to the loopback ports of the embedded reference.
        let same = |a: &Report, b: &Report| {
            super::stable::stable_ports(&a.target.to_string()) == super::stable::stable_ports(&b.target.to_string())
        };
        if !same(&r, &out) {
            let name = |r: &Report| r.target.get("name").map(ToString::to_string).unwrap_or_default();
            return Err(mismatch("targets", &name(&out), &name(&r)));
        }
        for s in r.scenarios {
            if let Some(prev) = from.get(&s.trial) {
                return Err(ReadError::Duplicate {
                    trial: s.trial.clone(),
                    first: prev.clone(),
                    second: file.clone(),
                });
            }
            from.insert(s.trial.clone(), file.clone());
            out.scenarios.push(s);
        }
        for p in r.preflight.problems {
            if !out.preflight.problems.contains(&p) {
                out.preflight.problems.push(p);
            }
        }
        out.preflight.reachable &= r.preflight.reachable;
        out.incomplete |= r.incomplete;
        out.run.duration_ms = out.run.duration_ms.max(r.run.duration_ms);
        if r.run.started_at < out.run.started_at {
            out.run.started_at = r.run.started_at;
        }
    }
    out.run.shard = None;
    out.baseline = None;
    out.scenarios.sort_by(|a, b| a.trial.cmp(&b.trial));
    out.summarise();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_report_is_reported_with_its_line_and_column() {
        let err = parse("{\n  \"run\": {\n    \"harness\": 3\n", "r.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("r.json:3:"), "{err}");
    }

    #[test]
    fn a_report_of_another_version_is_refused_naming_both_versions() {
        let err = parse(r#"{"run": {"version": "0.0.1-old"}}"#, "r.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("0.0.1-old") && err.contains(HARNESS_VERSION), "{err}");
    }
}
