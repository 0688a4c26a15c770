//! What a run is asked to do ([`RunRequest`]), how it can fail ([`RunError`]), and loading the
//! suites it runs.

use std::path::{Path, PathBuf};

use sha2::Digest;
use uma_reference_server::Quirk;
use uma_reference_server::variants::Variant;

use super::{exit, shard};
use crate::catalogue::{Catalogue, CatalogueError};
use crate::counterpart::{self, StartError};
use crate::profile::ProfileError;
use crate::suite::{LoadError, Scenario, SuiteRoot};
use crate::uma::Role;

/// The checkout the harness was built from (where `cargo run -- schemas` writes and `git`
/// reads the commit): the current folder when it holds `suites/` and `fixtures/`, else the
/// folder the binary was compiled in. Runs never read suites from it: they use the built-in
/// copies (`crate::builtin`) unless `--suites` names a folder.
pub fn repo_root() -> PathBuf {
    if PathBuf::from("suites").is_dir() && PathBuf::from("fixtures").is_dir() {
        return PathBuf::from(".");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// A target profile; `None` runs against the embedded reference implementation.
    pub target: Option<PathBuf>,
    /// Only scenarios whose trial name or id contains this.
    pub filter: Option<String>,
    /// `--strict`.
    pub strict: bool,
    /// `--gate-profiles`: profile check failures fail the run (exit 1) too.
    pub gate_profiles: bool,
    /// `--jobs`.
    pub jobs: usize,
    /// Quirks of the embedded reference implementation (each applies to the component of its
    /// role: AS, RS or client).
    pub quirks: Vec<Quirk>,
    /// Variants of the embedded reference implementation (conformant alternatives; each applies
    /// to the component of its role).
    pub variants: Vec<Variant>,
    /// Roles to run without a target (empty: all three).
    pub roles: Vec<Role>,
    /// The suites directory (default: the built-in suites, `crate::builtin::suites`).
    pub suites: PathBuf,
    /// The catalogue file (default: the built-in catalogue).
    pub catalogue: PathBuf,
    /// `--shard K/N`: only this share of the selected scenarios.
    pub shard: Option<shard::Shard>,
    /// `--tls`: the embedded reference components serve HTTPS with certificates of a test CA
    /// generated for the run, which the harness trusts.
    pub tls: bool,
    /// Where a run keeps files beside the report (the browser driver's screenshots): the
    /// report's folder; `None`: the system's temporary folder.
    pub artifacts: Option<PathBuf>,
}

impl Default for RunRequest {
    fn default() -> Self {
        Self {
            target: None,
            filter: None,
            strict: false,
            gate_profiles: false,
            jobs: 8,
            quirks: Vec::new(),
            variants: Vec::new(),
            roles: Vec::new(),
            suites: crate::builtin::suites(),
            catalogue: crate::builtin::catalogue(),
            shard: None,
            tls: false,
            artifacts: None,
        }
    }
}

/// Where the scenarios and the catalogue come from (every command's `--suites` and
/// `--catalogue`): by default, the copies built into the binary.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Sources {
    /// Scenario files to use instead of the suites built into this binary (a folder laid out as suites/: as/, rs/, client/).
    #[arg(long, global = true, env = "UMA_SUITES", value_name = "DIR")]
    pub suites: Option<PathBuf>,
    /// A requirement catalogue to use instead of the built-in one (fixtures/requirements.yaml).
    #[arg(long, global = true, env = "UMA_CATALOGUE", value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
}

impl Sources {
    /// The default request with these sources.
    pub fn request(&self) -> RunRequest {
        let d = RunRequest::default();
        RunRequest {
            suites: self.suites.clone().unwrap_or(d.suites),
            catalogue: self.catalogue.clone().unwrap_or(d.catalogue),
            ..d
        }
    }
}

impl RunRequest {
    /// The quirks and variants of the embedded reference.
    pub fn alterations(&self) -> counterpart::reference::Alterations {
        counterpart::reference::Alterations {
            quirks: self.quirks.clone(),
            variants: self.variants.clone(),
            tls: None,
        }
    }
}

/// Why a run could not produce a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The requirement catalogue does not load.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// A scenario file does not load.
    #[error("{0}")]
    Suites(#[from] LoadError),
    /// The target profile does not load.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A party could not be started.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The embedded reference failed its own preflight (a harness bug).
    #[error("the embedded reference failed its preflight: {0}")]
    Embedded(String),
    /// `--filter` or `--shard` selects no scenario: a usage error, never a green run.
    #[error("no scenario is selected by {0}: check the filter (`uma-conformance list` shows the names)")]
    NothingSelected(String),
    /// An output could not be written.
    #[error("failed to write {0}")]
    Write(String),
}

impl RunError {
    /// The exit code (DESIGN §3).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Catalogue(_) | Self::Suites(_) | Self::Profile(_) | Self::NothingSelected(_) => exit::CONFIG,
            Self::Start(_) | Self::Embedded(_) | Self::Write(_) => exit::ERROR,
        }
    }
}

/// Loads the catalogue and every scenario, or every problem found.
///
/// The built-in suites and catalogue are part of the binary, so they load to the same result
/// every time: they are parsed and validated once per process and copied from there (the
/// selftest starts about 180 runs; parsing and validating was about 6% of its CPU).
pub fn load(req: &RunRequest) -> Result<(Catalogue, Vec<Scenario>), RunError> {
    static BUILT_IN: std::sync::OnceLock<(Catalogue, Vec<Scenario>)> = std::sync::OnceLock::new();
    let built_in = req.suites == crate::builtin::suites() && req.catalogue == crate::builtin::catalogue();
    if built_in && let Some(loaded) = BUILT_IN.get() {
        return Ok(loaded.clone());
    }
    let catalogue = Catalogue::load(&req.catalogue)?;
    let scenarios = crate::suite::load_all(&SuiteRoot::new(&req.suites), &catalogue)?;
    if built_in {
        // Another run may have set it meanwhile, to the same result.
        let _ = BUILT_IN.set((catalogue.clone(), scenarios.clone()));
    }
    Ok((catalogue, scenarios))
}

/// SHA-256 over every suite file's path (below `dir`) and content, hex: the same for the
/// built-in suites and a checkout's `suites/` holding the same files.
pub fn suites_hash(dir: &Path) -> String {
    let mut h = sha2::Sha256::new();
    for f in crate::builtin::files_below(dir, 10_000).unwrap_or_default() {
        h.update(f.strip_prefix(dir).unwrap_or(&f).to_string_lossy().as_bytes());
        h.update(crate::builtin::read(&f).unwrap_or_default());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
