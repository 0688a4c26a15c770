//! What a report says about the run besides its results: the product tested, the catalogue's
//! hash, the harness's git commit; and the CLI's report-file commands (`report`, `merge`,
//! `bundle`) as library calls.

use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{RunRequest, exit};
use crate::baseline::Baseline;
use crate::catalogue::Catalogue;
use crate::counterpart;
use crate::outcome::{Report, Tested};
use crate::redact::Redactor;
use crate::report::{self, Context};

/// The product and version a target profile names (`product`, `version`); the embedded
/// reference implementation names itself.
pub(crate) fn tested_of(target: &serde_json::Value) -> Option<Tested> {
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    if let Some(product) = text(target, "product") {
        return Some(Tested {
            product,
            version: text(target, "version"),
        });
    }
    target.get("roles").map(|_| Tested {
        product: counterpart::reference::REFERENCE_PRODUCT.into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
    })
}

/// SHA-256 of a file (built in or on disk), hex (empty when it cannot be read).
pub fn file_hash(path: &Path) -> String {
    crate::builtin::read(path)
        .map(|b| sha2::Sha256::digest(&b).iter().map(|x| format!("{x:02x}")).collect())
        .unwrap_or_default()
}

/// The git commit of the harness, read at run time from its checkout (`git rev-parse HEAD`,
/// with `-dirty` when the work tree differs from it), or `unknown` outside a checkout.
pub fn git_commit() -> String {
    let root = super::repo_root();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(o) => {
            let mut c = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if git(&["diff", "--quiet", "HEAD"]).is_none() {
                c.push_str("-dirty");
            }
            c
        }
        None => "unknown".into(),
    }
}

/// `0.1.0 (suites sha256 …)`: the harness version and the hash of its built-in suites (the
/// `suites_hash` of report.json), for `--version`.
pub fn long_version() -> String {
    let hash = super::suites_hash(&crate::builtin::suites());
    format!("{} (suites sha256 {hash})", env!("CARGO_PKG_VERSION"))
}

/// `export DIR`: writes the built-in suites and fixtures into `dir`; says what it wrote.
pub fn export(dir: &Path) -> Result<String, Failed> {
    let n =
        crate::builtin::export(dir).map_err(|e| (exit::ERROR, format!("cannot export into {}: {e}", dir.display())))?;
    Ok(format!(
        "wrote {n} files into {}; run them with --suites {}",
        dir.display(),
        dir.join("suites").display()
    ))
}

/// Today, for baseline expiry.
pub fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

/// The catalogue of the default request (for rendering a report read back).
pub fn default_catalogue() -> Catalogue {
    Catalogue::load(&RunRequest::default().catalogue).unwrap_or_default()
}

/// A failed report command: its exit code and message.
pub type Failed = (i32, String);

/// Reads report.json files (several are shards, joined), and applies a baseline.
pub fn gather(files: &[PathBuf], baseline: Option<&Path>) -> Result<Report, Failed> {
    let config = |e: &dyn std::fmt::Display| (exit::CONFIG, e.to_string());
    let mut reports = Vec::new();
    for f in files {
        let r = report::merge::read(f).map_err(|e| config(&e))?;
        reports.push((f.display().to_string(), r));
    }
    let mut joined = if reports.len() == 1 {
        reports.remove(0).1
    } else {
        report::merge::merge(reports).map_err(|e| config(&e))?
    };
    if let Some(path) = baseline {
        Baseline::load(path)
            .map_err(|e| config(&e))?
            .apply(&mut joined, today());
    }
    Ok(joined)
}

/// Writes every format of a report read back into `out`.
pub fn rerender(report: &Report, out: &Path) -> Result<Vec<String>, Failed> {
    let catalogue = default_catalogue();
    report::write_all(report, &Redactor::new(), &Context::new(&catalogue), out)
        .map_err(|e| (exit::ERROR, format!("{e}: {}", e.source)))
}

/// Writes the committed form of a report read back into `out`: report.json, report.html and
/// summary.md (the files of `reports/reference/`), made deterministic by
/// [`report::stable::stabilize`], so that a fresh run can be compared byte for byte.
pub fn rerender_stable(report: &Report, out: &Path) -> Result<Vec<String>, Failed> {
    let mut clean = Redactor::new().report(report);
    report::stable::stabilize(&mut clean);
    let catalogue = default_catalogue();
    let failed = |e: String| (exit::ERROR, e);
    std::fs::create_dir_all(out).map_err(|e| failed(format!("{}: {e}", out.display())))?;
    let mut written = Vec::new();
    for (name, text) in report::render_all(&clean, &Context::new(&catalogue)) {
        if super::reference::FILES.contains(&name) {
            let path = out.join(name);
            std::fs::write(&path, text).map_err(|e| failed(format!("{}: {e}", path.display())))?;
            written.push(path.display().to_string());
        }
    }
    Ok(written)
}

/// `matrix`: the reports side by side, written into `out` (`matrix.json`, `matrix.html`);
/// returns what to print: the scores, the split rows and the files.
pub fn matrix(files: &[PathBuf], out: &Path, by: report::matrix::Axis) -> Result<String, Failed> {
    let catalogue = default_catalogue();
    let hash = file_hash(&RunRequest::default().catalogue);
    let (m, written) = report::matrix_input::write(files, out, by, &Context::new(&catalogue), &hash)
        .map_err(|e| (e.exit_code(), e.to_string()))?;
    Ok(format!(
        "{}\nmatrix: {}",
        crate::diagnostic::printable(&report::matrix::console(&m)),
        written.join(", ")
    ))
}

/// Writes the evidence bundle of a report.json (or of the folder holding it) to `output`
/// (default: `evidence.tar.gz` beside it); returns the bundle and its manifest's SHA-256.
pub fn bundle(from: &Path, output: Option<PathBuf>) -> Result<(PathBuf, String), Failed> {
    let json = if from.is_dir() {
        from.join("report.json")
    } else {
        from.to_path_buf()
    };
    let report = report::merge::read(&json).map_err(|e| (exit::CONFIG, e.to_string()))?;
    let output = output.unwrap_or_else(|| json.with_file_name("evidence.tar.gz"));
    let clean = Redactor::new().report(&report);
    let catalogue_hash = if report.run.catalogue_hash.is_empty() {
        file_hash(&RunRequest::default().catalogue)
    } else {
        report.run.catalogue_hash.clone()
    };
    let catalogue = default_catalogue();
    let hash = report::bundle::write(
        &clean,
        &Context::new(&catalogue),
        &git_commit(),
        &catalogue_hash,
        &output,
    )
    .map_err(|e| (exit::ERROR, e.to_string()))?;
    Ok((output, hash))
}
