//! The evidence bundle: one `.tar.gz` a certifier submits and anyone can check. It holds every
//! format rendered from one (redacted) report (report.json, report.html, junit.xml, summary.md),
//! the target profile as the report has it (`target.json`, secrets redacted), and
//! `manifest.json`: the harness version and git commit, the suites and catalogue hashes, the
//! product tested, and the SHA-256 of every other file. [`verify`] re-hashes every file and
//! names the first that differs.
//!
//! The manifest proves integrity, not authorship: publish the SHA-256 of `manifest.json` (which
//! `bundle` prints) where the certifier can compare it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::view::Context;
use crate::outcome::{Report, Tested};

/// The manifest's file name inside the bundle.
pub const MANIFEST: &str = "manifest.json";

/// A bundle holds at most this many bytes once unpacked (a hostile bundle cannot fill a disk).
const MAX_UNPACKED: u64 = 512 * 1024 * 1024;

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Manifest {
    /// `uma-conformance`.
    pub harness: String,
    /// The harness version that ran.
    pub version: String,
    /// The git commit of the harness that wrote the bundle (`git rev-parse HEAD` in its
    /// checkout when it has one), or `unknown`.
    pub git_commit: String,
    /// SHA-256 of the suites that ran (from the report).
    pub suites_hash: String,
    /// SHA-256 of the requirement catalogue.
    pub catalogue_hash: String,
    /// The product tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tested: Option<Tested>,
    /// SHA-256 (hex) of every other file of the bundle.
    pub files: BTreeMap<String, String>,
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a bundle could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// I/O on the bundle file.
    #[error("failed to {what} {path}: {source}")]
    Io {
        /// `write`, `read`.
        what: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not a bundle (no manifest, a bad manifest, too large).
    #[error("{path} is not an evidence bundle: {why}")]
    NotABundle {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// A file differs from its manifest entry, is missing, or is not listed.
    #[error("{path}: {file} {why}")]
    Tampered {
        /// The bundle.
        path: String,
        /// The file inside it.
        file: String,
        /// What is wrong.
        why: String,
    },
}

fn append(tar: &mut tar::Builder<impl std::io::Write>, name: &str, data: &[u8]) -> std::io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, name, data)
}

/// The files of a bundle of `clean` (a redacted report), manifest last.
pub fn files(clean: &Report, ctx: &Context<'_>, git_commit: &str, catalogue_hash: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = super::render_all(clean, ctx)
        .into_iter()
        .map(|(n, t)| (n.to_string(), t.into_bytes()))
        .collect();
    let mut target = serde_json::to_string_pretty(&clean.target).unwrap_or_default();
    target.push('\n');
    files.push(("target.json".into(), target.into_bytes()));
    let manifest = Manifest {
        harness: clean.run.harness.clone(),
        version: clean.run.version.clone(),
        git_commit: git_commit.to_string(),
        suites_hash: clean.run.suites_hash.clone(),
        catalogue_hash: catalogue_hash.to_string(),
        tested: clean.run.tested.clone(),
        files: files.iter().map(|(n, d)| (n.clone(), sha256_hex(d))).collect(),
    };
    let mut m = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    m.push('\n');
    files.push((MANIFEST.into(), m.into_bytes()));
    files
}

/// Writes the bundle of a redacted report to `path`; returns the SHA-256 of its manifest.
pub fn write(
    clean: &Report,
    ctx: &Context<'_>,
    git_commit: &str,
    catalogue_hash: &str,
    path: &Path,
) -> Result<String, BundleError> {
    let io = |source| BundleError::Io {
        what: "write",
        path: path.display().to_string(),
        source,
    };
    let files = files(clean, ctx, git_commit, catalogue_hash);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = std::fs::File::create(path).map_err(io)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut manifest_hash = String::new();
    for (name, data) in &files {
        append(&mut tar, name, data).map_err(io)?;
        if name == MANIFEST {
            manifest_hash = sha256_hex(data);
        }
    }
    tar.into_inner().and_then(|gz| gz.finish()).map_err(io)?;
    Ok(manifest_hash)
}

/// Reads every file of a bundle.
pub fn read(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let shown = path.display().to_string();
    let not = |why: String| BundleError::NotABundle {
        path: shown.clone(),
        why,
    };
    let file = std::fs::File::open(path).map_err(|source| BundleError::Io {
        what: "read",
        path: shown.clone(),
        source,
    })?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file).take(MAX_UNPACKED));
    let mut out = BTreeMap::new();
    let entries = archive.entries().map_err(|e| not(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| not(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| not(e.to_string()))?
            .to_string_lossy()
            .to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| not(format!("{name}: {e}")))?;
        if out.insert(name.clone(), data).is_some() {
            return Err(not(format!("{name} is in it twice")));
        }
    }
    Ok(out)
}

/// Checks a bundle: every file the manifest lists is there with its SHA-256, nothing else is,
/// and the report agrees with the manifest. Returns the manifest and its SHA-256.
pub fn verify(path: &Path) -> Result<(Manifest, String), BundleError> {
    let shown = path.display().to_string();
    let files = read(path)?;
    let tampered = |file: &str, why: &str| BundleError::Tampered {
        path: shown.clone(),
        file: file.to_string(),
        why: why.to_string(),
    };
    let raw = files.get(MANIFEST).ok_or_else(|| BundleError::NotABundle {
        path: shown.clone(),
        why: format!("it has no {MANIFEST}"),
    })?;
    let manifest: Manifest = serde_json::from_slice(raw).map_err(|e| BundleError::NotABundle {
        path: shown.clone(),
        why: format!("{MANIFEST}: {e}"),
    })?;
    for (name, want) in &manifest.files {
        let Some(data) = files.get(name) else {
            return Err(tampered(name, "is listed in the manifest but missing"));
        };
        let got = sha256_hex(data);
        if &got != want {
            return Err(tampered(
                name,
                &format!("has changed: its SHA-256 is {got}, the manifest says {want}"),
            ));
        }
    }
    if let Some(extra) = files
        .keys()
        .find(|n| *n != MANIFEST && !manifest.files.contains_key(*n))
    {
        return Err(tampered(extra, "is not listed in the manifest"));
    }
    if let Some(r) = files.get("report.json") {
        let report: Report = serde_json::from_slice(r).map_err(|e| tampered("report.json", &e.to_string()))?;
        if report.run.version != manifest.version || report.run.suites_hash != manifest.suites_hash {
            return Err(tampered(
                "report.json",
                "disagrees with the manifest on the harness version or the suites hash",
            ));
        }
    }
    Ok((manifest, sha256_hex(raw)))
}
