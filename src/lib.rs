//! `uma-conformance`: the conformance test suite and interop harness for UMA 2.0 (Grant and
//! Federated Authorization).
//!
//! Data flows one way: suite + target → engine → verdicts → report.
//!
//! ```no_run
//! # async fn demo() -> Result<(), uma_conformance::RunError> {
//! let report = uma_conformance::run(&uma_conformance::RunRequest::default()).await?;
//! println!("{} scenarios failed", report.summary.scenarios.fail);
//! # Ok(()) }
//! ```

pub mod catalogue;
pub mod embedded;
pub mod engine;
pub mod report;
pub mod schemas;
pub mod selftest;
pub mod suite;
pub mod target;
pub mod uma;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::Digest;

use catalogue::Catalogue;
use engine::{Env, RunOptions};
use report::{Report, RunInfo, Verdict};
use suite::{Scenario, SuiteRoot};
use target::Target;

/// Exit codes (DESIGN §3).
pub mod exit {
    /// Every check passed (warnings allowed).
    pub const PASS: i32 = 0;
    /// Conformance failures.
    pub const FAIL: i32 = 1;
    /// Configuration or usage error.
    pub const CONFIG: i32 = 2;
    /// Harness or target error.
    pub const ERROR: i32 = 3;
}

/// Whether a host is a loopback address (the only targets this build talks to).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The repository root (where `suites/` and `fixtures/` live).
pub fn repo_root() -> PathBuf {
    if PathBuf::from("suites").is_dir() && PathBuf::from("fixtures").is_dir() {
        return PathBuf::from(".");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// A target profile; `None` runs against the embedded reference AS.
    pub target: Option<PathBuf>,
    /// Only scenarios whose trial name contains this.
    pub filter: Option<String>,
    /// `--strict`.
    pub strict: bool,
    /// `--jobs`.
    pub jobs: usize,
    /// Quirks of the embedded reference AS (selftest).
    pub quirks: Vec<uma_reference_server::Quirk>,
    /// The suites directory.
    pub suites: PathBuf,
    /// The catalogue file.
    pub catalogue: PathBuf,
}

impl Default for RunRequest {
    fn default() -> Self {
        let root = repo_root();
        Self {
            target: None,
            filter: None,
            strict: false,
            jobs: 8,
            quirks: Vec::new(),
            suites: root.join("suites"),
            catalogue: root.join("fixtures/requirements.yaml"),
        }
    }
}

/// Why a run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A scenario, catalogue or profile problem (exit 2).
    #[error("configuration error:\n{0}")]
    Config(String),
    /// The harness or the target failed (exit 3).
    #[error("harness error: {0}")]
    Harness(String),
}

impl RunError {
    /// The exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Config(_) => exit::CONFIG,
            Self::Harness(_) => exit::ERROR,
        }
    }
}

/// Loads the catalogue and every scenario, or every problem found.
pub fn load(req: &RunRequest) -> Result<(Catalogue, Vec<Scenario>), RunError> {
    let catalogue = Catalogue::load(&req.catalogue).map_err(|e| RunError::Config(e.to_string()))?;
    let root = SuiteRoot {
        dir: req.suites.clone(),
    };
    let scenarios = suite::load_all(&root, &catalogue)
        .map_err(|errs| RunError::Config(errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")))?;
    Ok((catalogue, scenarios))
}

/// SHA-256 over every suite file's path and content, hex.
pub fn suites_hash(dir: &std::path::Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    let mut h = sha2::Sha256::new();
    for f in files {
        h.update(f.strip_prefix(dir).unwrap_or(&f).to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

async fn start_embedded(idp: &uma::idp::TestIdp, req: &RunRequest) -> Result<(Target, embedded::Embedded), RunError> {
    let e = embedded::start(idp, &req.quirks).await.map_err(RunError::Harness)?;
    let t = Target::from_profile(e.profile.clone(), "embedded").map_err(|e| RunError::Config(e.to_string()))?;
    Ok((t, e))
}

fn make_env(
    req: &RunRequest,
    target: Target,
    catalogue: Catalogue,
    idp: uma::idp::TestIdp,
    metadata: serde_json::Value,
    capabilities: std::collections::BTreeSet<String>,
    request_timeout: Duration,
) -> Env {
    Env {
        target,
        catalogue,
        metadata,
        capabilities,
        idp: Arc::new(idp),
        options: RunOptions {
            strict: req.strict,
            jobs: req.jobs,
            request_timeout,
            ..RunOptions::default()
        },
    }
}

/// Runs the suites and returns the report; `progress` sees each scenario as it finishes.
pub async fn run_with(
    req: &RunRequest,
    progress: impl Fn(&report::ScenarioReport) + Send + Sync + 'static,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now().to_string();
    let (catalogue, scenarios) = load(req)?;
    let loaded = match &req.target {
        Some(path) => Some(Target::load(path).map_err(|e| RunError::Config(e.to_string()))?),
        None => None,
    };
    let idp_port = loaded.as_ref().map_or(0, |t| t.profile.idp.port);
    let idp = uma::idp::TestIdp::start(idp_port)
        .await
        .map_err(|e| RunError::Harness(e.to_string()))?;
    let (target, embedded) = match loaded {
        Some(t) => (t, None),
        None => {
            let (t, e) = start_embedded(&idp, req).await?;
            (t, Some(e))
        }
    };
    let timeout = Duration::from_secs(target.profile.request_timeout_seconds.unwrap_or(10));
    let (preflight, metadata, capabilities) = target::preflight::run(&target, timeout).await;
    let mut report = Report {
        schema: "https://uma-conformance.dev/schemas/report.schema.json".into(),
        run: RunInfo {
            harness: "uma-conformance".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at,
            duration_ms: 0,
            strict: req.strict,
            jobs: req.jobs,
            filter: req.filter.clone(),
            suites_hash: suites_hash(&req.suites),
            quirks: req.quirks.iter().map(|q| q.name().to_string()).collect(),
        },
        target: target.redacted_profile(),
        preflight: preflight.clone(),
        ..Report::default()
    };
    let role = target.profile.role;
    let selected: Vec<Scenario> = scenarios
        .into_iter()
        .filter(|s| s.role == role)
        .filter(|s| {
            req.filter
                .as_ref()
                .is_none_or(|f| s.trial_name.contains(f.as_str()) || s.id.contains(f.as_str()))
        })
        .collect();
    if preflight.problems.iter().any(|p| p.severity == "error") {
        report.scenarios = selected
            .iter()
            .map(|s| report::ScenarioReport {
                id: s.id.clone(),
                trial: s.trial_name.clone(),
                role: s.role.as_str().into(),
                area: s.area.clone(),
                title: s.title.clone(),
                file: s.file.clone(),
                requirements: s.requirements.clone(),
                verdict: Verdict::Error,
                reason: Some("not run: the preflight found configuration errors".into()),
                duration_ms: 0,
                choices: Default::default(),
                checks: Vec::new(),
                exchanges: Vec::new(),
            })
            .collect();
    } else {
        let env = Arc::new(make_env(req, target, catalogue, idp, metadata, capabilities, timeout));
        report.scenarios = engine::run_all(env, selected, progress).await;
    }
    if let Some(e) = embedded {
        e.server.shutdown().await;
    }
    report.run.duration_ms = started.elapsed().as_millis() as u64;
    report.summarise();
    Ok(report)
}

/// Runs without progress output.
pub async fn run(req: &RunRequest) -> Result<Report, RunError> {
    run_with(req, |_| {}).await
}

/// The exit code of a finished run.
pub fn exit_code(report: &Report) -> i32 {
    if report.preflight.problems.iter().any(|p| p.severity == "error") {
        return exit::CONFIG;
    }
    let s = &report.summary;
    if s.checks.fail > 0 || s.profile_checks.fail > 0 {
        exit::FAIL
    } else if s.scenarios.error > 0 {
        exit::ERROR
    } else {
        exit::PASS
    }
}

/// Writes `report.json` and `junit.xml` into `out`.
pub fn write_reports(report: &Report, out: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(out.join("report.json"), json)?;
    std::fs::write(out.join("junit.xml"), report::junit::render(report))?;
    Ok(())
}

/// An embedded reference AS with everything a scenario needs, for harnesses that run scenarios
/// one by one (`tests/conformance.rs`).
#[derive(Debug)]
pub struct EmbeddedEnv {
    /// Shared run state.
    pub env: Arc<Env>,
    /// The running server.
    pub server: embedded::Embedded,
    /// Every AS scenario.
    pub scenarios: Vec<Scenario>,
}

/// Starts the embedded reference AS and the identity provider, and runs the preflight.
pub async fn embedded_env(req: &RunRequest) -> Result<EmbeddedEnv, RunError> {
    let (catalogue, scenarios) = load(req)?;
    let idp = uma::idp::TestIdp::start(0)
        .await
        .map_err(|e| RunError::Harness(e.to_string()))?;
    let (target, e) = start_embedded(&idp, req).await?;
    let timeout = Duration::from_secs(10);
    let (preflight, metadata, capabilities) = target::preflight::run(&target, timeout).await;
    if let Some(p) = preflight.problems.iter().find(|p| p.severity == "error") {
        return Err(RunError::Harness(format!("{} ({})", p.what, p.fix)));
    }
    let env = Arc::new(make_env(req, target, catalogue, idp, metadata, capabilities, timeout));
    let scenarios = scenarios
        .into_iter()
        .filter(|s| s.role == catalogue::Role::As)
        .collect();
    Ok(EmbeddedEnv {
        env,
        server: e,
        scenarios,
    })
}
