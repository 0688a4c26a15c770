//! Reading the reports of a matrix and writing it: every `report.json` is read back (a report
//! of another harness version is refused), reports checked against another requirement
//! catalogue or run from other suites are refused (their verdicts would cite other
//! requirements, or come from other checks), the columns get names that tell them apart, and
//! each cell links to its report.html by a path relative to the matrix's folder.

use std::path::{Component, Path, PathBuf};

use super::matrix::{self, Axis, Input, Matrix, NamedBy};
use super::merge::{self, ReadError};
use super::view::Context;
use crate::outcome::Report;
use crate::status;

/// The stable placeholder `reference-report` writes for hashes: nothing to compare.
const HASH_PLACEHOLDER: &str = "[hash]";

/// Why a matrix cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MatrixError {
    /// A report that cannot be read, or of another harness version.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A report judged against another requirement catalogue.
    #[error(
        "{file} was checked against another requirement catalogue (sha256 {theirs}); this harness has {ours}: its verdicts may cite requirements that changed; run it again with this harness"
    )]
    Catalogue {
        /// The report.
        file: String,
        /// Its catalogue's hash.
        theirs: String,
        /// Ours.
        ours: String,
    },
    /// Two reports that ran different scenario files.
    #[error(
        "{first} and {second} ran different suites (sha256 {a} and {b}): their verdicts come from different checks; run both with one harness checkout"
    )]
    Suites {
        /// The first report.
        first: String,
        /// The other.
        second: String,
        /// The first's suites hash.
        a: String,
        /// The other's.
        b: String,
    },
    /// One report given twice.
    #[error("{file} is given twice (as {again})")]
    Twice {
        /// The report.
        file: String,
        /// The second mention.
        again: String,
    },
    /// The output could not be written.
    #[error("failed to write {path}: {source}")]
    Write {
        /// The file or folder.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl MatrixError {
    /// The exit code: 2 for a report that cannot be used, 3 when the output cannot be written.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Write { .. } => status::ERROR,
            _ => status::CONFIG,
        }
    }
}

fn known(hash: &str) -> bool {
    !hash.is_empty() && hash != HASH_PLACEHOLDER
}

/// The `report.json` a path names: the file, or the one in the folder.
pub fn report_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    }
}

/// Reads the reports (files, or folders holding a `report.json`), refusing what cannot stand
/// side by side; `out` is the matrix's folder (created), for the links to each report.html.
pub fn read_all(paths: &[PathBuf], out: &Path, catalogue_hash: &str) -> Result<Vec<Input>, MatrixError> {
    let mut inputs: Vec<(PathBuf, Input)> = Vec::new();
    for p in paths {
        let file = report_file(p);
        let shown = file.display().to_string();
        let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
        if let Some((_, first)) = inputs.iter().find(|(c, _)| *c == canonical) {
            return Err(MatrixError::Twice {
                file: first.file.clone(),
                again: shown,
            });
        }
        let report = merge::read(&file)?;
        let theirs = &report.run.catalogue_hash;
        if known(theirs) && known(catalogue_hash) && theirs != catalogue_hash {
            return Err(MatrixError::Catalogue {
                file: shown,
                theirs: theirs.clone(),
                ours: catalogue_hash.to_string(),
            });
        }
        if let Some((_, other)) = inputs.iter().find(|(_, i)| {
            known(&i.report.run.suites_hash)
                && known(&report.run.suites_hash)
                && i.report.run.suites_hash != report.run.suites_hash
        }) {
            return Err(MatrixError::Suites {
                first: other.file.clone(),
                second: shown,
                a: other.report.run.suites_hash.clone(),
                b: report.run.suites_hash.clone(),
            });
        }
        inputs.push((
            canonical,
            Input {
                report,
                file: shown,
                html: None,
            },
        ));
    }
    // The folder is made only once every report is accepted: a refusal leaves nothing behind.
    std::fs::create_dir_all(out).map_err(|source| MatrixError::Write {
        path: out.display().to_string(),
        source,
    })?;
    for (canonical, input) in &mut inputs {
        let html = canonical.with_file_name("report.html");
        input.html = html.is_file().then(|| relative_link(out, &html)).flatten();
    }
    Ok(inputs.into_iter().map(|(_, i)| i).collect())
}

/// Reads the reports, builds the matrix and writes `matrix.json` and `matrix.html` into `out`;
/// returns the matrix and the files written.
pub fn write(
    paths: &[PathBuf],
    out: &Path,
    by: Axis,
    ctx: &Context<'_>,
    catalogue_hash: &str,
) -> Result<(Matrix, Vec<String>), MatrixError> {
    let inputs = read_all(paths, out, catalogue_hash)?;
    let m = matrix::build(&inputs, ctx, by, catalogue_hash);
    let mut json = serde_json::to_string_pretty(&m).unwrap_or_default();
    json.push('\n');
    let mut written = Vec::new();
    for (name, text) in [("matrix.json", json), ("matrix.html", super::matrix_html::render(&m))] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|source| MatrixError::Write {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path.display().to_string());
    }
    Ok((m, written))
}

/// The link from the folder `from` to the file `to`: a relative URL path (`../a/report.html`),
/// each segment percent-encoded. `None` when either cannot be resolved.
pub fn relative_link(from: &Path, to: &Path) -> Option<String> {
    let from = from.canonicalize().ok()?;
    let to = to.canonicalize().ok()?;
    let a: Vec<Component<'_>> = from.components().collect();
    let b: Vec<Component<'_>> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut segments: Vec<String> = vec!["..".to_string(); a.len() - common];
    for c in &b[common..] {
        segments.push(encode_segment(&c.as_os_str().to_string_lossy()));
    }
    Some(segments.join("/"))
}

/// Percent-encodes one path segment of a URL (RFC 3986 unreserved characters stay).
fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn base_name(r: &Report) -> (String, Option<String>, NamedBy) {
    if let Some(t) = &r.run.tested {
        return (t.product.clone(), t.version.clone(), NamedBy::Profile);
    }
    match r.target.get("name").and_then(|n| n.as_str()) {
        Some(name) => (name.to_string(), None, NamedBy::TargetName),
        None => ("unnamed target".into(), None, NamedBy::Unnamed),
    }
}

/// Each column's label, product, version and where its name comes from. The label is the
/// product and version with the quirks and variants of an embedded reference; columns that
/// still look alike get their roles, then their report's folder.
pub fn labels(inputs: &[Input]) -> Vec<(String, String, Option<String>, NamedBy)> {
    let mut out: Vec<(String, String, Option<String>, NamedBy)> = inputs
        .iter()
        .map(|i| {
            let (product, version, by) = base_name(&i.report);
            let mut label = match &version {
                Some(v) => format!("{product} {v}"),
                None => product.clone(),
            };
            for (what, list) in [("quirk", &i.report.run.quirks), ("variant", &i.report.run.variants)] {
                if !list.is_empty() {
                    label.push_str(&format!(" [{what}: {}]", list.join(", ")));
                }
            }
            (label, product, version, by)
        })
        .collect();
    let suffixes: [&dyn Fn(&Input) -> String; 2] = [
        &|i| {
            let roles: Vec<&str> = matrix::roles_of(&i.report).iter().map(|r| r.as_str()).collect();
            format!(" ({})", roles.join(", "))
        },
        &|i| {
            let dir = Path::new(&i.file).parent().map(|p| p.display().to_string());
            format!(" ({})", dir.filter(|d| !d.is_empty()).unwrap_or_else(|| i.file.clone()))
        },
    ];
    for suffix in suffixes {
        let labels: Vec<String> = out.iter().map(|o| o.0.clone()).collect();
        for (n, o) in out.iter_mut().enumerate() {
            if labels.iter().filter(|l| **l == labels[n]).count() > 1 {
                o.0.push_str(&suffix(&inputs[n]));
            }
        }
    }
    out
}

/// What a reader of the matrix should know about its reports.
pub fn notes(inputs: &[Input]) -> Vec<String> {
    let mut notes = Vec::new();
    for i in inputs {
        let run = &i.report.run;
        if !known(&run.catalogue_hash) || !known(&run.suites_hash) {
            notes.push(format!(
                "{}: no catalogue or suites hash recorded (a stable report): it could not be checked to come from this harness's catalogue and suites",
                i.file
            ));
        }
        if run.tested.is_none() {
            notes.push(format!(
                "{}: the target profile names no `product` and `version`; the column is named after the target",
                i.file
            ));
        }
        if i.html.is_none() {
            notes.push(format!(
                "{}: no report.html beside it (render it with `uma-conformance report {}`): its cells have no links",
                i.file, i.file
            ));
        }
        if i.report.incomplete || run.shard.is_some() {
            notes.push(format!(
                "{}: an interrupted run or one shard: cells of the scenarios it lacks are `not-tested` (join shards with `uma-conformance merge`)",
                i.file
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_climbs_out_of_the_matrix_folder_and_encodes_its_segments() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("interop/matrix");
        let html = dir.path().join("runs/acme as #2/report.html");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(html.parent().unwrap()).unwrap();
        std::fs::write(&html, "").unwrap();
        assert_eq!(
            relative_link(&out, &html).as_deref(),
            Some("../../runs/acme%20as%20%232/report.html")
        );
        let beside = out.join("report.html");
        std::fs::write(&beside, "").unwrap();
        assert_eq!(relative_link(&out, &beside).as_deref(), Some("report.html"));
    }

    fn input(file: &str, product: Option<&str>, quirks: &[&str], role: &str) -> Input {
        let mut report = Report {
            target: serde_json::json!({"name": "a target", "role": role}),
            ..Report::default()
        };
        report.run.tested = product.map(|p| crate::outcome::Tested {
            product: p.into(),
            version: Some("1.0".into()),
        });
        report.run.quirks = quirks.iter().map(|q| q.to_string()).collect();
        Input {
            report,
            file: file.into(),
            html: None,
        }
    }

    #[test]
    fn columns_that_look_alike_get_their_roles_then_their_folder() {
        let inputs = [
            input("a/report.json", Some("acme"), &[], "as"),
            input("b/report.json", Some("acme"), &["ticket-reusable"], "as"),
            input("c/report.json", Some("acme"), &[], "client"),
            input("d/report.json", Some("acme"), &[], "client"),
            input("e/report.json", None, &[], "as"),
        ];
        let labels: Vec<String> = labels(&inputs).into_iter().map(|l| l.0).collect();
        assert_eq!(
            labels,
            [
                "acme 1.0 (as)",
                "acme 1.0 [quirk: ticket-reusable]",
                "acme 1.0 (client) (c)",
                "acme 1.0 (client) (d)",
                "a target",
            ]
        );
    }
}
